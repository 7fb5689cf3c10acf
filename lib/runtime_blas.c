/* Running the optimizer's gemm, gemv and ger steps: shapes checked, the result buffer made (or
 * taken over from Z when the plan allows it in place), Z broadcast into it when beta is not 0,
 * then one BLAS call with alpha, beta and the transpose flags. Cases BLAS cannot take fall back to
 * the reference executor's evaluation. */
#include "replay.h"
#include "pool.h"

#include <string.h>

void tjS_fill_broadcast(tj_array *out, const tj_array *z)
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
    bool reads_z = tjG_blas_reads_z(node, beta);
    if (reads_z && z_inplace &&
        tjS_can_take(Z, st->inplace_refs[0], node->dtype, node->ndim, shape)) {
        *out = tjA_ref(Z); /* in place: Z's buffer becomes the result */
        return TJ_OK;
    }
    *out = tjS_out_array(ctx, mem, so, node->dtype, node->ndim, shape);
    if (!*out)
        return tjS_out_failed(ctx, st);
    if (reads_z)
        tjS_fill_broadcast(*out, Z);
    return TJ_OK;
}

tj_status tjS_blas_args(tj_ctx *ctx, const tjS_step *st, tj_array *const *in, int64_t *shape,
                        double *alpha, double *beta)
{
    const tj_var *node = st->root;
    const tj_array *A = in[0], *B = in[1], *Z = in[4];
    bool ta = node->nattr > 0 && node->attr[0], tb = node->nattr > 1 && node->attr[1];
    char buf[160];
    int64_t ka, kb;
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
    *alpha = tjS_scalar(in[2]);
    *beta = tjS_scalar(in[3]);
    if (tjG_blas_reads_z(node, *beta))
        for (int d = 0; d < node->ndim; d++)
            if (Z->shape[d] != shape[d] && Z->shape[d] != 1)
                return tjC_error(ctx, TJ_ERR_SHAPE,
                                 "%s: the added term has length %lld on axis %d, the product "
                                 "%lld",
                                 tjG_describe(node, buf, sizeof buf), (long long)Z->shape[d], d,
                                 (long long)shape[d]);
    return TJ_OK;
}

/* BLAS reads no operand that a 0 multiplies (its contract: the product when alpha is 0, y when
 * beta is 0), so an inf or NaN there would not reach the result, where numpy's 0 * inf is NaN:
 * such a call is evaluated plainly (tjI_eval_node: the product, then the scaling). Only the
 * optimizer's constant beta 0, beside a placeholder Z, may skip Z. */
static bool blas_skips(const tj_var *node, double alpha, double beta)
{
    return alpha == 0 || (beta == 0 && tjG_blas_reads_z(node, beta));
}

/* The BLAS call into out, the step's result buffer (holding Z when the step reads it); false when
 * BLAS cannot take the operands. */
static bool blas_call(tj_ctx *ctx, const tj_var *node, tj_array *const *in, double alpha,
                      double beta, tj_array *out)
{
    bool ta = node->nattr > 0 && node->attr[0], tb = node->nattr > 1 && node->attr[1];
    if (node->op == TJ_OP_GEMM)
        return tjB_gemm(ctx, ta, tb, alpha, in[0], in[1], beta, out);
    if (node->op == TJ_OP_GEMV)
        return tjB_gemv(ctx, ta, alpha, in[0], in[1], beta, out);
    if (beta != 1)
        scale(out, beta);
    return tjB_ger(ctx, alpha, in[0], in[1], out);
}

tj_status tjS_run_blas(tj_ctx *ctx, const tjS_step *st, tj_array **slots, const tjS_mem *mem)
{
    const tj_var *node = st->root;
    tj_array *in[5];
    for (int i = 0; i < 5; i++)
        in[i] = slots[st->in_slots[i]];
    int64_t shape[2];
    double alpha, beta;
    tj_status rc = tjS_blas_args(ctx, st, in, shape, &alpha, &beta);
    tj_array *out = NULL;
    if (rc == TJ_OK && !blas_skips(node, alpha, beta))
        rc = tjS_blas_out(ctx, st, in[4], shape, beta, mem, &out);
    if (rc != TJ_OK)
        return rc;
    if (mem && mem->rec)
        tjS_rec_blas(mem->rec, st, in);
    if (!out || !blas_call(ctx, node, in, alpha, beta, out)) {
        /* beyond BLAS: the reference evaluation (Z is intact unless taken over) */
        char buf[160];
        tj_array *ref = NULL;
        bool taken = out == in[4];
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

tj_status tjS_blas_replay(tj_ctx *ctx, const tjS_step *st, tj_array *const *slots)
{
    tj_array *in[5], *out = slots[st->out_slots[0]];
    for (int i = 0; i < 5; i++)
        in[i] = slots[st->in_slots[i]];
    int64_t shape[2];
    double alpha, beta;
    tj_status rc = tjS_blas_args(ctx, st, in, shape, &alpha, &beta);
    if (rc != TJ_OK)
        return rc;
    if (blas_skips(st->root, alpha, beta))
        goto plain;
    if (beta != 0 && out->data != in[4]->data) /* not in place: Z first, as tjS_blas_out */
        tjS_fill_broadcast(out, in[4]);
    if (blas_call(ctx, st->root, in, alpha, beta, out))
        return TJ_OK;
    /* the recording saw BLAS take these layouts: only a failed copy gets here */
    char buf[160];
    if (out->data == in[4]->data)
        return tjC_error(ctx, TJ_ERR_NOMEM, "%s: BLAS could not take the operands in place",
                         tjG_describe(st->root, buf, sizeof buf));
plain:;
    tj_array *ref = NULL;
    rc = tjI_eval_node(ctx, st->root, in, &ref);
    if (rc == TJ_OK)
        tjA_copy_into(out, ref);
    tjA_unref(ref);
    return rc;
}
