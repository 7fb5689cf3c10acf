/* Reference executor for the optimizer's BLAS ops (gemm, gemv, ger; see ops.def):
 *   out = alpha * op(A) . op(B) + beta * Z
 * computed plainly: the product by tjB_dot on transposed (or column/row) views, then the scaling
 * and the broadcast addition of Z element by element in the node's dtype. Z is not read when beta
 * is 0, as BLAS. This is the oracle the runtime's direct BLAS calls are checked against. */
#include "internal.h"

#include <string.h>

/* A 2-d view of a (no copy): transposed when t; a vector as a column (col) or a row. */
static void view_of(const tj_array *a, bool t, int vec_as, tj_array *v)
{
    int64_t shape[2], strides[2];
    if (a->ndim == 2) {
        shape[0] = a->shape[t ? 1 : 0], shape[1] = a->shape[t ? 0 : 1];
        strides[0] = a->strides[t ? 1 : 0], strides[1] = a->strides[t ? 0 : 1];
        tjI_view_init(v, a->dtype, 2, shape, strides, a->data);
    } else if (vec_as == 2) { /* the right operand of a gemv stays a vector */
        tjI_view_init(v, a->dtype, 1, a->shape, a->strides, a->data);
    } else if (vec_as == 1) { /* a column (m, 1) */
        shape[0] = a->shape[0], shape[1] = 1, strides[0] = a->strides[0], strides[1] = 0;
        tjI_view_init(v, a->dtype, 2, shape, strides, a->data);
    } else { /* a row (1, n) */
        shape[0] = 1, shape[1] = a->shape[0], strides[0] = 0, strides[1] = a->strides[0];
        tjI_view_init(v, a->dtype, 2, shape, strides, a->data);
    }
}

static tj_status check(tj_ctx *ctx, const tj_var *node, tj_array *const *in)
{
    static const int ranks[3][3] = {{2, 2, 2}, {2, 1, 1}, {1, 1, 2}}; /* A, B, out */
    int k = node->op == TJ_OP_GEMM ? 0 : node->op == TJ_OP_GEMV ? 1 : 2;
    if (!tj_dtype_is_float(node->dtype))
        return tjI_error(ctx, node, TJ_ERR_INVALID, "%s is defined for float32 and float64 only",
                         tjG_ops[node->op].name);
    for (int i = 0; i < 5; i++)
        if (in[i]->dtype != node->dtype)
            return tjI_error(ctx, node, TJ_ERR_INVALID, "input %d is %s, the node is %s", i,
                             tj_dtype_name(in[i]->dtype), tj_dtype_name(node->dtype));
    if (in[0]->ndim != ranks[k][0] || in[1]->ndim != ranks[k][1] || node->ndim != ranks[k][2] ||
        in[2]->ndim != 0 || in[3]->ndim != 0 || in[4]->ndim != node->ndim)
        return tjI_error(ctx, node, TJ_ERR_INVALID,
                         "%s takes ranks (%d, %d, 0, 0, %d), got (%d, %d, %d, %d, %d)",
                         tjG_ops[node->op].name, ranks[k][0], ranks[k][1], ranks[k][2],
                         in[0]->ndim, in[1]->ndim, in[2]->ndim, in[3]->ndim, in[4]->ndim);
    return TJ_OK;
}

tj_status tjI_blas(tj_ctx *ctx, const tj_var *node, tj_array *const *in, tj_array **out)
{
    tj_status st = check(ctx, node, in);
    if (st != TJ_OK)
        return st;
    bool ta = node->nattr > 0 && node->attr[0], tb = node->nattr > 1 && node->attr[1];
    tj_array a, b;
    if (node->op == TJ_OP_GER) {
        view_of(in[0], false, 1, &a);
        view_of(in[1], false, 0, &b);
    } else {
        view_of(in[0], ta, 0, &a);
        view_of(in[1], tb, 2, &b);
    }
    int64_t kb = b.shape[0], ka = a.shape[1];
    if (ka != kb)
        return tjI_error(ctx, node, TJ_ERR_SHAPE,
                         "the inner dimensions of the product differ: %lld vs %lld (after the "
                         "transpose flags)",
                         (long long)ka, (long long)kb);
    int64_t shape[2] = {a.shape[0], b.ndim == 2 ? b.shape[1] : 0};
    tj_array *d;
    if ((st = tjI_alloc(ctx, node, node->ndim, shape, &d)) != TJ_OK)
        return st;
    tjB_dot(ctx, &a, &b, d);
    double alpha = tj_array_get(in[2], NULL), beta = tj_array_get(in[3], NULL);
    const tj_array *z = in[4];
    bool reads_z = tjG_blas_reads_z(node, beta);
    if (reads_z)
        for (int ax = 0; ax < node->ndim; ax++)
            if (z->shape[ax] != d->shape[ax] && z->shape[ax] != 1) {
                long long product = (long long)d->shape[ax]; /* d is freed before the message */
                tj_array_unref(d);
                return tjI_error(ctx, node, TJ_ERR_SHAPE,
                                 "the added term has length %lld on axis %d, the product %lld",
                                 (long long)z->shape[ax], ax, product);
            }
    int64_t cols = node->ndim == 2 ? d->shape[1] : 1;
    for (int64_t i = 0; i < d->size; i++) {
        int64_t r = i / cols, c = i % cols, off = 0;
        if (reads_z) {
            off = (z->shape[0] == 1 ? 0 : r * z->strides[0]);
            if (node->ndim == 2)
                off += z->shape[1] == 1 ? 0 : c * z->strides[1];
        }
        if (node->dtype == TJ_FLOAT32) {
            float *p = (float *)d->data + i, zv = 0;
            if (reads_z)
                memcpy(&zv, z->data + off, sizeof zv);
            *p = (float)alpha * *p + (reads_z ? (float)beta * zv : 0.0f);
        } else {
            double *p = (double *)d->data + i, zv = 0;
            if (reads_z)
                memcpy(&zv, z->data + off, sizeof zv);
            *p = alpha * *p + (reads_z ? beta * zv : 0.0);
        }
    }
    *out = d;
    return TJ_OK;
}
