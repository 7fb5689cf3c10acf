/* Running the optimizer's gemm, gemv and ger steps: shapes checked, the result buffer made (or
 * taken over from Z when the plan allows it in place), Z broadcast into it when beta is not 0,
 * then one BLAS call with alpha, beta and the transpose flags. Cases BLAS cannot take fall back to
 * the reference executor's evaluation. */
#include "function.h"
#include "pool.h"

#include <string.h>

/* out (contiguous, rank 1 or 2) = z broadcast over length-1 axes */
static void fill_broadcast(tj_array *out, const tj_array *z)
{
    size_t es = tjA_es(out->dtype);
    int64_t rows = out->shape[0], cols = out->ndim == 2 ? out->shape[1] : 1;
    int64_t s0 = z->shape[0] == 1 ? 0 : z->strides[0];
    int64_t s1 = out->ndim == 2 && z->shape[1] != 1 ? z->strides[1] : 0;
    char *o = out->data;
    for (int64_t r = 0; r < rows; r++)
        for (int64_t c = 0; c < cols; c++, o += es)
            memcpy(o, z->data + r * s0 + c * s1, es);
}

static void scale(tj_array *a, double beta)
{
    for (int64_t i = 0; i < a->size; i++) {
        if (a->dtype == TJ_FLOAT32)
            ((float *)a->data)[i] = beta == 0 ? 0.0f : ((float *)a->data)[i] * (float)beta;
        else
            ((double *)a->data)[i] = beta == 0 ? 0.0 : ((double *)a->data)[i] * beta;
    }
}

bool tjS_can_take(const tj_array *a, int refs, tj_dtype dtype, int ndim, const int64_t *shape)
{
    if (atomic_load(&a->refcount) != refs || !a->owns_data || a->release || a->dtype != dtype ||
        a->ndim != ndim || !tjA_is_contiguous(a))
        return false;
    return tjA_same_shape(ndim, a->shape, shape);
}

tj_status tjS_blas_out(tj_ctx *ctx, const tjS_step *st, tj_array *Z, const int64_t *shape,
                       double beta, const tjS_mem *mem, tj_array **out)
{
    const tj_var *node = st->root;
    int so = st->out_slots[0];
    bool z_inplace = st->inplace && st->inplace[0] == 4 && !(mem && mem->into && mem->into[so]);
    if (beta != 0 && z_inplace &&
        tjS_can_take(Z, st->inplace_refs[0], node->dtype, node->ndim, shape)) {
        *out = tjA_ref(Z); /* in place: Z's buffer becomes the result */
        return TJ_OK;
    }
    *out = tjS_out_array(ctx, mem, so, node->dtype, node->ndim, shape);
    if (!*out) {
        char buf[160];
        return tjC_error(ctx, TJ_ERR_NOMEM, "out of memory for the result of %s",
                         tjG_describe(node, buf, sizeof buf));
    }
    if (beta != 0)
        fill_broadcast(*out, Z);
    return TJ_OK;
}

tj_status tjS_run_blas(tj_ctx *ctx, const tjS_step *st, tj_array **slots, const tjS_mem *mem)
{
    const tj_var *node = st->root;
    tj_array *in[5];
    for (int i = 0; i < 5; i++)
        in[i] = slots[st->in_slots[i]];
    tj_array *A = in[0], *B = in[1], *Z = in[4];
    bool ta = node->nattr > 0 && node->attr[0], tb = node->nattr > 1 && node->attr[1];
    char buf[160];
    int64_t shape[2], ka, kb;
    if (node->op == TJ_OP_GER) {
        shape[0] = A->shape[0], shape[1] = B->shape[0], ka = kb = 1;
    } else {
        shape[0] = A->shape[ta ? 1 : 0];
        ka = A->shape[ta ? 0 : 1];
        kb = B->ndim == 2 ? B->shape[tb ? 1 : 0] : B->shape[0];
        if (B->ndim == 2)
            shape[1] = B->shape[tb ? 0 : 1];
    }
    if (ka != kb)
        return tjC_error(ctx, TJ_ERR_SHAPE,
                         "%s: the inner dimensions differ: %lld (of the left operand) vs %lld (of "
                         "the right operand)",
                         tjG_describe(node, buf, sizeof buf), (long long)ka, (long long)kb);
    double alpha = tj_array_get(in[2], NULL), beta = tj_array_get(in[3], NULL);
    if (beta != 0)
        for (int d = 0; d < node->ndim; d++)
            if (Z->shape[d] != shape[d] && Z->shape[d] != 1)
                return tjC_error(ctx, TJ_ERR_SHAPE,
                                 "%s: the added term has length %lld on axis %d, the product "
                                 "%lld",
                                 tjG_describe(node, buf, sizeof buf), (long long)Z->shape[d], d,
                                 (long long)shape[d]);
    tj_array *out;
    tj_status rc = tjS_blas_out(ctx, st, Z, shape, beta, mem, &out);
    if (rc != TJ_OK)
        return rc;
    bool ok;
    tjP_blas_threads(tjP_threads(ctx));
    if (node->op == TJ_OP_GEMM) {
        ok = tjB_gemm(ctx, ta, tb, alpha, A, B, beta, out);
    } else if (node->op == TJ_OP_GEMV) {
        ok = tjB_gemv(ctx, ta, alpha, A, B, beta, out);
    } else {
        if (beta != 1)
            scale(out, beta);
        ok = tjB_ger(ctx, alpha, A, B, out);
    }
    if (!ok) { /* beyond BLAS: the reference evaluation (Z is intact unless taken over) */
        tj_array *ref = NULL;
        bool taken = out == Z;
        tjA_unref(out);
        if (taken)
            return tjC_error(ctx, TJ_ERR_NOMEM, "%s: BLAS could not take the operands in place",
                             tjG_describe(node, buf, sizeof buf));
        rc = tjI_eval_node(ctx, node, in, &ref);
        if (rc != TJ_OK)
            return rc;
        out = ref;
    }
    slots[st->out_slots[0]] = out;
    return TJ_OK;
}
