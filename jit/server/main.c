/* tensorjit-llvm-server: compiles kernels for the core in a process of its own (jit/remote.c
 * starts it at the first compile from scratch and keeps it), so a process that uses tensorjit
 * never maps libLLVM (~46 MB resident) and an LLVM crash costs one compile, not the user's
 * process. It links the same lowering as the plugin (jit/llvm/) and answers over fd 3 in the
 * messages of jit/wire.h; stdin is /dev/null. It exits when the core closes the socket, or
 * after $TJ_COMPILE_SERVER_IDLE seconds without a request (default 30; 0: never), which gives
 * LLVM's memory back to a program that has finished compiling; the core then starts another
 * when it next needs one. With $TJ_COMPILE_SERVER_RECORD=DIR it also writes each request it
 * receives to DIR/request-<hash>.bin (the fuzz-server target's seeds, tools/fuzz/). */
#include "../backend.h"
#include "../digest.h"
#include "../jit.h"
#include "../wire.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jit_build_id.h"

const tjJ_backend *tjJ_llvm_backend(void);

enum { FD = 3 };

static const tj_allocator mem; /* the C library's */

static bool answer(tj_status st, const char *msg, const tjJ_artifacts *art)
{
    tjY_buf b = {.mem = &mem};
    int32_t status = st, groups = st == TJ_OK ? art->ngroups : 0;
    tjY_put(&b, &status, sizeof status);
    tjY_put_str(&b, msg);
    tjY_put(&b, &groups, sizeof groups);
    for (int g = 0; g < groups; g++) {
        tjY_put_str(&b, art->ir[g]);
        tjY_put_str(&b, art->ir_opt[g]);
        tjY_put_blob(&b, art->obj[g].p, art->obj[g].len);
    }
    bool ok = tjW_send(FD, &b);
    tjC_mem_free(&mem, b.p);
    return ok;
}

/* One request: read back and checked, compiled, answered. false: the core is gone (or an answer
 * could not be sent). */
static bool serve(const tjJ_backend *be, const unsigned char *msg, size_t len)
{
    char err[1024] = "";
    tjW_request req;
    tj_status st = tjW_read_request(&mem, msg, len, &req, err, sizeof err);
    if (st == TJ_OK) { /* the core's test hook for this compile (jit/util.c) */
        if (req.faults[0])
            setenv("TJ_JIT_FAULT", req.faults, 1);
        else
            unsetenv("TJ_JIT_FAULT");
        if (tjJ_fault("server")) /* the server dies as a crashing LLVM would */
            abort();
    }
    tjJ_artifacts art = {0};
    if (st == TJ_OK && !tjJ_artifacts_alloc(&mem, &art, req.groups))
        st = tjJ_fail(err, sizeof err, TJ_ERR_NOMEM, "out of memory");
    if (st == TJ_OK)
        st = be->compile((const tjK_kernel *const *)req.ks, req.n, (const char *const *)req.syms,
                         &art, err, sizeof err);
    bool sent = answer(st, err, &art);
    tjJ_artifacts_free(&art);
    tjW_request_free(&mem, &req);
    return sent;
}

/* An assembly request: the module's optimized IR texts as native assembly. */
static bool serve_assembly(const tjJ_backend *be, const unsigned char *msg, size_t len)
{
    char **texts;
    int ngroups;
    char *text = NULL;
    tjY_buf b = {.mem = &mem};
    int32_t status = TJ_ERR_INVALID;
    const char *why = "malformed assembly request";
    if (tjW_read_assembly_request(&mem, msg, len, &texts, &ngroups)) {
        text = be->assembly(texts, ngroups);
        status = text ? TJ_OK : TJ_ERR_JIT;
        why = text ? "" : "LLVM could not print the assembly";
        tjC_mem_free(&mem, texts);
    }
    tjY_put(&b, &status, sizeof status);
    tjY_put_str(&b, why);
    tjY_put_str(&b, text);
    free(text);
    bool ok = tjW_send(FD, &b);
    tjC_mem_free(&mem, b.p);
    return ok;
}

/* Writes the request to $TJ_COMPILE_SERVER_RECORD/request-<tjY_hash of its bytes>.bin. */
static void record(const unsigned char *msg, size_t len)
{
    const char *dir = getenv("TJ_COMPILE_SERVER_RECORD");
    if (!dir || !*dir)
        return;
    char path[4096];
    snprintf(path, sizeof path, "%s/request-%016llx.bin", dir,
             (unsigned long long)tjY_hash(msg, len));
    FILE *f = fopen(path, "wb");
    if (f) {
        fwrite(msg, 1, len, f);
        fclose(f);
    }
}

/* How long to wait for a request before exiting, in milliseconds (-1: forever). */
static int idle_ms(void)
{
    const char *env = getenv("TJ_COMPILE_SERVER_IDLE");
    char *end;
    double s = env && *env ? strtod(env, &end) : 30;
    if (env && *env && (*end || !(s >= 0) || s > 86400))
        s = 30;
    return s == 0 ? -1 : (int)(s * 1000);
}

int main(void)
{
    const tjJ_backend *be = tjJ_llvm_backend();
    tjY_buf hello = {.mem = &mem};
    int32_t abi = TJJ_BACKEND_ABI;
    tjY_put(&hello, &abi, sizeof abi);
    tjY_put_str(&hello, TJ_JIT_BUILD_ID);
    tjY_put_str(&hello, "");
    const char *host = tjJ_host_id(); /* the CPU this server's LLVM will compile for */
    if (tjJ_fault("cpu")) /* test hook: a server that sees another CPU (as under valgrind) */
        host = "another CPU";
    tjY_put_str(&hello, host);
    bool ok = tjW_send(FD, &hello);
    tjC_mem_free(&mem, hello.p);
    int idle = idle_ms();
    while (ok) {
        unsigned char *msg;
        size_t len;
        struct pollfd p = {.fd = FD, .events = POLLIN};
        int ready;
        while ((ready = poll(&p, 1, idle)) < 0) /* EINTR */
            ;
        if (ready == 0 || !tjW_recv(FD, &mem, &msg, &len, NULL))
            break; /* idle, or the core closed the socket */
        record(msg, len);
        ok = tjW_request_kind(msg, len) == TJW_ASSEMBLY ? serve_assembly(be, msg, len)
                                                        : serve(be, msg, len);
        tjC_mem_free(&mem, msg);
    }
    /* LLVM's process-lifetime state is the OS's to reclaim: skip exit handlers (and a leak
     * checker's report of it in sanitizer builds) */
    _exit(0);
}
