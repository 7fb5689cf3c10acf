/* Executing MATMUL (issue 3) for both executors: the run-time shape checks (inner dimensions,
 * batch axes under Theano's static broadcasting), then tjB_matmul (BLAS for floats). */
#include "internal.h"

tj_status tjI_eval_matmul(tj_ctx *ctx, const tj_var *node, tj_array *const *in, tj_array **out)
{
    const tj_array *a = in[0], *b = in[1];
    int r = node->ndim;
    *out = NULL;
    if (a->ndim != r || b->ndim != r || r < 2 || a->dtype != node->dtype ||
        b->dtype != node->dtype)
        return tjI_error(ctx, node, TJ_ERR_INVALID, "matmul operands must be %s arrays of rank "
                         "%d", tj_dtype_name(node->dtype), r);
    if (a->shape[r - 1] != b->shape[r - 2])
        return tjI_error(ctx, node, TJ_ERR_SHAPE, "the inner dimensions differ: %lld (the last "
                         "axis of the left operand) vs %lld (the second-to-last axis of the right "
                         "operand)", (long long)a->shape[r - 1], (long long)b->shape[r - 2]);
    int64_t shape[TJ_MAX_NDIM];
    for (int d = 0; d < r - 2; d++) {
        int64_t la = a->shape[d], lb = b->shape[d];
        bool ba = (node->in[0]->bcast >> d) & 1, bb = (node->in[1]->bcast >> d) & 1;
        if (la == lb || (la == 1 && ba) || (lb == 1 && bb)) {
            shape[d] = la == lb ? la : la == 1 && ba ? lb : la;
            continue;
        }
        return tjI_error(ctx, node, TJ_ERR_SHAPE, "batch axis %d has length %lld in the left "
                         "operand and %lld in the right (only broadcastable axes may differ)", d,
                         (long long)la, (long long)lb);
    }
    shape[r - 2] = a->shape[r - 2];
    shape[r - 1] = b->shape[r - 1];
    tj_status st = tjI_alloc(ctx, node, r, shape, out);
    if (st == TJ_OK)
        tjB_matmul(ctx, a, b, *out);
    return st;
}
