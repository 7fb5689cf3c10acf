/* Byte buffers (lib/bytes.h). */
#include "bytes.h"

#include <string.h>

void tjY_put(tjY_buf *b, const void *data, size_t n)
{
    if (b->oom || n == 0)
        return;
    if (n > b->cap - b->len) {
        size_t cap = (b->cap ? b->cap * 2 : 256) + n;
        unsigned char *p = cap > b->cap ? tjC_mem_realloc(b->mem, b->p, cap) : NULL;
        if (!p) {
            b->oom = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, data, n);
    b->len += n;
}

void tjY_put_blob(tjY_buf *b, const void *data, size_t n)
{
    uint64_t len = n;
    tjY_put(b, &len, sizeof len);
    tjY_put(b, data, n);
}

void tjY_put_str(tjY_buf *b, const char *s)
{
    tjY_put_blob(b, s ? s : "", s ? strlen(s) : 0);
}

bool tjY_take(tjY_reader *r, void *out, size_t n)
{
    if (n > r->left)
        return false;
    if (n)
        memcpy(out, r->p, n);
    r->p += n;
    r->left -= n;
    return true;
}

bool tjY_take_blob(tjY_reader *r, const unsigned char **p, size_t *n)
{
    uint64_t len;
    if (!tjY_take(r, &len, sizeof len) || len > r->left)
        return false;
    *p = r->p;
    *n = (size_t)len;
    r->p += len;
    r->left -= (size_t)len;
    return true;
}

bool tjY_take_str(tjY_reader *r, const tj_allocator *mem, char **out, size_t max, bool *nomem)
{
    const unsigned char *p;
    size_t len;
    if (!tjY_take_blob(r, &p, &len) || len > max)
        return false;
    if (mem && !(*out = tjC_mem_malloc(mem, len + 1)))
        return !(*nomem = true);
    memcpy(*out, p, len);
    (*out)[len] = '\0';
    return true;
}
