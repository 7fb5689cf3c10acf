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
