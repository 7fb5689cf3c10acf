/* Public builders for dimshuffle, transpose and shape_of (reductions: build_reduce.c; dot and
 * the other linear algebra: build_linalg.c; reshape and the rest of shape: build_reshape.c). */
#include "internal.h"

/* tj_dot: lib/build_linalg.c */

tj_var *tj_dimshuffle(tj_var *a, const int *pattern, int n)
{
    char buf[160];
    if (!tjG_live(a, "tj_dimshuffle"))
        return NULL;
    if (n < 0 || n > TJ_MAX_NDIM || (n > 0 && !pattern)) {
        tjC_error(a->ctx, TJ_ERR_VALUE, "tj_dimshuffle: pattern of length %d is invalid", n);
        return NULL;
    }
    uint32_t seen = 0, bcast = 0;
    int64_t attr[TJ_MAX_NDIM];
    bool identity = n == a->ndim;
    for (int i = 0; i < n; i++) {
        int p = pattern[i];
        if (p == -1) {
            bcast |= 1u << i;
        } else if (p < 0 || p >= a->ndim || (seen & (1u << p))) {
            tjC_error(a->ctx, TJ_ERR_VALUE,
                      "tj_dimshuffle: pattern[%d] = %d is not a new axis (-1) or an unused "
                      "axis of %s (ndim %d)",
                      i, p, tjG_describe(a, buf, sizeof buf), a->ndim);
            return NULL;
        } else {
            seen |= 1u << p;
            bcast |= ((a->bcast >> p) & 1u) << i;
        }
        identity = identity && p == i;
        attr[i] = p;
    }
    for (int d = 0; d < a->ndim; d++) {
        if (!(seen & (1u << d)) && !((a->bcast >> d) & 1)) {
            tjC_error(a->ctx, TJ_ERR_VALUE,
                      "tj_dimshuffle: axis %d of %s is dropped but is not broadcastable", d,
                      tjG_describe(a, buf, sizeof buf));
            return NULL;
        }
    }
    if (identity)
        return a;
    return tjG_make(a->ctx, TJ_OP_DIMSHUFFLE, a->dtype, n, bcast, &a, 1, attr, n, NULL);
}

tj_var *tj_transpose(tj_var *a)
{
    if (!tjG_live(a, "tj_transpose"))
        return NULL;
    int pattern[TJ_MAX_NDIM];
    for (int d = 0; d < a->ndim; d++)
        pattern[d] = a->ndim - 1 - d;
    return tj_dimshuffle(a, pattern, a->ndim);
}

tj_var *tj_shape_of(tj_var *a, int axis)
{
    char buf[160];
    if (!tjG_live(a, "tj_shape_of"))
        return NULL;
    int ax = axis < 0 ? axis + a->ndim : axis;
    if (ax < 0 || ax >= a->ndim) {
        tjC_error(a->ctx, TJ_ERR_VALUE, "tj_shape_of: axis %d is out of range for %s (ndim %d)",
                  axis, tjG_describe(a, buf, sizeof buf), a->ndim);
        return NULL;
    }
    int64_t attr = ax;
    return tjG_make(a->ctx, TJ_OP_SHAPE_OF, TJ_INT64, 0, 0, &a, 1, &attr, 1, NULL);
}
