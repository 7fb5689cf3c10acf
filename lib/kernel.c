/* The canonical byte form of kernel descriptions: the identity of compiled code, used as the
 * in-memory cache key (lib/code_cache.c), hashed into the disk cache key (jit/objcache.c) and
 * sent to the compile server (jit/remote.c, jit/server.c), which reads it back. */
#include "kernel.h"
#include "bytes.h"

#include <stdlib.h>
#include <string.h>

unsigned char *tjK_serialize(const tj_allocator *mem, const tjK_kernel *const *kernels, int n,
                             size_t *len)
{
    tjY_buf b = {.mem = mem};
    tjY_put(&b, &n, sizeof n);
    for (int i = 0; i < n; i++) {
        const tjK_kernel *k = kernels[i];
        int hdr[5] = {k->nin, k->nout, k->ncode, k->reduce, k->flat};
        tjY_put(&b, hdr, sizeof hdr);
        tjY_put(&b, k->dtype, sizeof *k->dtype * (size_t)(k->nin + k->nout));
        tjY_put(&b, k->scalar, sizeof *k->scalar * (size_t)k->nin);
        for (int j = 0; j < k->ncode; j++) {
            const tjK_instr *in = &k->code[j];
            int w[5] = {in->op, in->dtype, in->args[0], in->args[1], in->args[2]};
            tjY_put(&b, w, sizeof w);
            tjY_put(&b, &in->value, sizeof in->value);
        }
        tjY_put(&b, k->out_instr, sizeof *k->out_instr * (size_t)k->nout);
    }
    if (b.oom) {
        tjC_mem_free(mem, b.p);
        return NULL;
    }
    *len = b.len;
    return b.p;
}

/* ---- reading it back (the compile server) ---------------------------------------------------- */

/* One kernel and its arrays in one block; NULL when the bytes are malformed or memory is out. */
static tjK_kernel *read_kernel(const tj_allocator *mem, tjY_reader *b)
{
    enum { MAX_OPERANDS = 1 << 16, MAX_CODE = 1 << 24 };
    int hdr[5];
    if (!tjY_take(b, hdr, sizeof hdr) || hdr[0] < 0 || hdr[1] < 0 || hdr[2] < 0 ||
        hdr[0] > MAX_OPERANDS || hdr[1] > MAX_OPERANDS - hdr[0] || hdr[2] > MAX_CODE)
        return NULL;
    size_t nops = (size_t)(hdr[0] + hdr[1]), ncode = (size_t)hdr[2];
    /* the arrays must be in the bytes left before any memory is taken for them: a forged count
     * must not cost a large block */
    size_t need = nops * sizeof(tj_dtype) + (size_t)hdr[0] +
                  ncode * (5 * sizeof(int) + sizeof(double)) + (size_t)hdr[1] * sizeof(int32_t);
    if (need > b->left)
        return NULL;
    size_t bytes = sizeof(tjK_kernel) + ncode * sizeof(tjK_instr) + nops * sizeof(tj_dtype) +
                   (size_t)hdr[1] * sizeof(int32_t) + (size_t)hdr[0] * sizeof(bool);
    tjK_kernel *k = tjC_mem_calloc(mem, 1, bytes);
    if (!k)
        return NULL;
    /* the arrays after the header, most aligned first */
    k->code = (tjK_instr *)(k + 1);
    k->dtype = (tj_dtype *)(k->code + ncode);
    k->out_instr = (int32_t *)(k->dtype + nops);
    k->scalar = (bool *)(k->out_instr + hdr[1]);
    k->nin = hdr[0];
    k->nout = hdr[1];
    k->ncode = hdr[2];
    k->reduce = hdr[3];
    k->flat = hdr[4] != 0;
    bool ok = tjY_take(b, k->dtype, sizeof *k->dtype * nops);
    _Static_assert(sizeof(bool) == 1, "tjK_serialize writes the scalar flags as bytes");
    for (int i = 0; ok && i < k->nin; i++) { /* as bytes: a bool holding 2 would be undefined */
        unsigned char flag;
        ok = tjY_take(b, &flag, 1);
        k->scalar[i] = flag != 0;
    }
    for (int j = 0; ok && j < k->ncode; j++) {
        int w[5];
        tjK_instr *in = &k->code[j];
        ok = tjY_take(b, w, sizeof w) && tjY_take(b, &in->value, sizeof in->value);
        *in = (tjK_instr){w[0], (tj_dtype)w[1], {w[2], w[3], w[4]}, in->value};
    }
    ok = ok && tjY_take(b, k->out_instr, sizeof *k->out_instr * (size_t)k->nout);
    if (!ok) {
        tjC_mem_free(mem, k);
        return NULL;
    }
    return k;
}

tjK_kernel **tjK_deserialize(const tj_allocator *mem, const unsigned char *p, size_t len, int *n)
{
    tjY_reader b = {p, len};
    int count;
    *n = 0;
    if (!tjY_take(&b, &count, sizeof count) || count < 1 || (size_t)count > len)
        return NULL;
    tjK_kernel **ks = tjC_mem_calloc(mem, (size_t)count, sizeof *ks);
    for (int i = 0; ks && i < count; i++) {
        if (!(ks[i] = read_kernel(mem, &b))) {
            tjK_free_all(mem, ks, i);
            return NULL;
        }
    }
    if (ks && b.left != 0) { /* trailing bytes: not what tjK_serialize wrote */
        tjK_free_all(mem, ks, count);
        return NULL;
    }
    *n = ks ? count : 0;
    return ks;
}

void tjK_free_all(const tj_allocator *mem, tjK_kernel **kernels, int n)
{
    for (int i = 0; kernels && i < n; i++)
        tjC_mem_free(mem, kernels[i]);
    tjC_mem_free(mem, kernels);
}
