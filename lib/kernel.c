/* The canonical byte form of kernel descriptions: the identity of compiled code, used as the
 * in-memory cache key (lib/code_cache.c) and hashed into the disk cache key (jit/objcache.c). */
#include "kernel.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    const tj_allocator *mem;
    unsigned char *p;
    size_t len, cap;
    bool oom;
} sbuf;

static void put(sbuf *b, const void *data, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n > b->cap) {
        size_t cap = (b->cap ? b->cap * 2 : 256) + n;
        unsigned char *p = tjC_mem_realloc(b->mem, b->p, cap);
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

unsigned char *tjK_serialize(const tj_allocator *mem, const tjK_kernel *const *kernels, int n,
                             size_t *len)
{
    sbuf b = {.mem = mem};
    put(&b, &n, sizeof n);
    for (int i = 0; i < n; i++) {
        const tjK_kernel *k = kernels[i];
        int hdr[5] = {k->nin, k->nout, k->ncode, k->reduce, k->flat};
        put(&b, hdr, sizeof hdr);
        put(&b, k->dtype, sizeof *k->dtype * (size_t)(k->nin + k->nout));
        put(&b, k->scalar, sizeof *k->scalar * (size_t)k->nin);
        for (int j = 0; j < k->ncode; j++) {
            const tjK_instr *in = &k->code[j];
            int w[5] = {in->op, in->dtype, in->args[0], in->args[1], in->args[2]};
            put(&b, w, sizeof w);
            put(&b, &in->value, sizeof in->value);
        }
        put(&b, k->out_instr, sizeof *k->out_instr * (size_t)k->nout);
    }
    if (b.oom) {
        tjC_mem_free(mem, b.p);
        return NULL;
    }
    *len = b.len;
    return b.p;
}
