/* Framed messages over a stream socket (jit/wire.h). */
#include "wire.h"

#include "backend.h"
#include "jit.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* All n bytes sent (out) or received; false when the peer is gone. A send to a closed peer is
 * an error here, never SIGPIPE in the user's process. */
static bool transfer(int fd, void *p, size_t n, bool out)
{
    char *c = p;
    while (n > 0) {
        ssize_t k = out ? send(fd, c, n, MSG_NOSIGNAL) : recv(fd, c, n, 0);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return false;
        c += k;
        n -= (size_t)k;
    }
    return true;
}

bool tjW_send(int fd, const tjY_buf *b)
{
    uint64_t len = b->len;
    return !b->oom && transfer(fd, &len, sizeof len, true) && transfer(fd, b->p, b->len, true);
}

bool tjW_recv(int fd, const tj_allocator *mem, unsigned char **p, size_t *len, bool *nomem)
{
    uint64_t n;
    *p = NULL;
    *len = 0;
    if (nomem)
        *nomem = false;
    if (!transfer(fd, &n, sizeof n, false) || n > TJW_MAX_MESSAGE)
        return false;
    unsigned char *buf = tjC_mem_malloc(mem, n ? (size_t)n : 1);
    if (!buf) { /* the message is left unread: the caller cannot use this socket any more */
        if (nomem)
            *nomem = true;
        return false;
    }
    if (!transfer(fd, buf, (size_t)n, false)) {
        tjC_mem_free(mem, buf);
        return false;
    }
    *p = buf;
    *len = (size_t)n;
    return true;
}

int tjW_request_kind(const unsigned char *msg, size_t len)
{
    tjY_reader r = {msg, len};
    int32_t kind = 0;
    return tjY_take(&r, &kind, sizeof kind) ? kind : 0;
}

static void put_i32(tjY_buf *b, int v)
{
    int32_t x = v;
    tjY_put(b, &x, sizeof x);
}

void tjW_put_request(tjY_buf *b, const unsigned char *ser, size_t serlen, int n, int groups,
                     const char *const *syms, const char *faults)
{
    put_i32(b, TJW_COMPILE);
    put_i32(b, n);
    put_i32(b, groups);
    tjY_put_blob(b, ser, serlen);
    for (int i = 0; i < n; i++)
        tjY_put_str(b, syms[i]);
    tjY_put_str(b, faults);
}

tj_status tjW_read_request(const tj_allocator *mem, const unsigned char *msg, size_t len,
                           tjW_request *req, char *err, size_t errlen)
{
    *req = (tjW_request){0};
    tjY_reader r = {msg, len};
    int32_t kind = 0, n = 0, groups = 0;
    const unsigned char *ser;
    size_t serlen;
    if (!tjY_take(&r, &kind, sizeof kind) || kind != TJW_COMPILE || !tjY_take(&r, &n, sizeof n) ||
        !tjY_take(&r, &groups, sizeof groups) ||
        !tjY_take_blob(&r, &ser, &serlen) || n < 1 || n > TJW_MAX_KERNELS || groups < 1 ||
        groups > TJW_MAX_GROUPS || groups > n)
        return tjJ_fail(err, errlen, TJ_ERR_INVALID, "malformed compile request: its kernel "
                        "and group counts were missing or out of range");
    int nk = 0;
    req->ks = tjK_deserialize(mem, ser, serlen, &nk);
    req->n = nk;
    if (!req->ks || nk != n)
        return tjJ_fail(err, errlen, TJ_ERR_INVALID, "malformed compile request: its kernels "
                        "were not %d kernels as tjK_serialize writes them", (int)n);
    req->groups = groups;
    if (!(req->syms = tjC_mem_calloc(mem, (size_t)n, sizeof *req->syms)))
        return tjJ_fail(err, errlen, TJ_ERR_NOMEM, "out of memory reading a compile request");
    bool nomem = false;
    for (int i = 0; i < n; i++)
        if (!tjY_take_str(&r, mem, &req->syms[i], TJW_MAX_SYMBOL, &nomem) || !req->syms[i][0])
            return nomem ? tjJ_fail(err, errlen, TJ_ERR_NOMEM, "out of memory reading a "
                                    "compile request")
                         : tjJ_fail(err, errlen, TJ_ERR_INVALID, "malformed compile request: "
                                    "symbol name %d was missing, empty or too long", i);
    char *faults = req->faults;
    if (!tjY_take_str(&r, NULL, &faults, sizeof req->faults - 1, &nomem) || r.left != 0)
        return tjJ_fail(err, errlen, TJ_ERR_INVALID, "malformed compile request: its fault "
                        "list was missing or too long, or bytes followed it");
    for (int i = 0; i < n; i++) {
        tj_status st = tjL_validate(req->ks[i], err, errlen);
        if (st != TJ_OK)
            return st;
    }
    return TJ_OK;
}

void tjW_request_free(const tj_allocator *mem, tjW_request *req)
{
    for (int i = 0; req->syms && i < req->n; i++)
        tjC_mem_free(mem, req->syms[i]);
    tjC_mem_free(mem, req->syms);
    tjK_free_all(mem, req->ks, req->n);
    *req = (tjW_request){0};
}

void tjW_put_assembly_request(tjY_buf *b, char *const *ir_opt, int ngroups)
{
    put_i32(b, TJW_ASSEMBLY);
    put_i32(b, ngroups);
    for (int g = 0; g < ngroups; g++)
        tjY_put_str(b, ir_opt[g]);
}

bool tjW_read_assembly_request(const tj_allocator *mem, const unsigned char *msg, size_t len,
                               char ***texts, int *ngroups)
{
    tjY_reader r = {msg, len};
    int32_t kind = 0, n = 0;
    *texts = NULL;
    *ngroups = 0;
    if (!tjY_take(&r, &kind, sizeof kind) || kind != TJW_ASSEMBLY || !tjY_take(&r, &n, sizeof n) ||
        n < 1 || n > TJW_MAX_GROUPS)
        return false;
    /* one block: the n pointers, then the texts, each NUL-terminated (their bytes are fewer
     * than the message's) */
    char **t = tjC_mem_malloc(mem, sizeof *t * (size_t)n + len + (size_t)n);
    if (!t)
        return false;
    char *at = (char *)(t + n);
    for (int g = 0; g < n; g++) {
        const unsigned char *p;
        size_t l;
        if (!tjY_take_blob(&r, &p, &l) || memchr(p, 0, l)) {
            tjC_mem_free(mem, t);
            return false;
        }
        memcpy(at, p, l);
        at[l] = '\0';
        t[g] = at;
        at += l + 1;
    }
    if (r.left != 0) {
        tjC_mem_free(mem, t);
        return false;
    }
    *texts = t;
    *ngroups = n;
    return true;
}
