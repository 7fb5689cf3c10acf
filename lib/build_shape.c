/* Public builders for reductions, dot and shape operations. */
#include "internal.h"

static bool live(tj_var *a, const char *fn)
{
    if (!a)
        return false; /* sticky: the error that produced NULL stays recorded */
    if (!tjG_valid(a)) {
        tjA_error(TJ_ERR_INVALID, "%s: the operand is not a live tj_var", fn);
        return false;
    }
    return true;
}

/* Normalizes an axis list into a bitmask; naxes 0 (or axes NULL) means all axes. */
static bool axes_mask(tj_var *a, const int *axes, int naxes, const char *fn, uint32_t *mask)
{
    char buf[160];
    if (naxes < 0 || (naxes > 0 && !axes)) {
        tjC_error(a->ctx, TJ_ERR_INVALID, "%s: axes is NULL with naxes %d", fn, naxes);
        return false;
    }
    if (naxes == 0) {
        *mask = a->ndim == 32 ? ~0u : (1u << a->ndim) - 1;
        return true;
    }
    *mask = 0;
    for (int i = 0; i < naxes; i++) {
        int ax = axes[i] < 0 ? axes[i] + a->ndim : axes[i];
        if (ax < 0 || ax >= a->ndim) {
            tjC_error(a->ctx, TJ_ERR_VALUE, "%s: axis %d is out of range for %s (ndim %d)", fn,
                      axes[i], tjG_describe(a, buf, sizeof buf), a->ndim);
            return false;
        }
        if (*mask & (1u << ax)) {
            tjC_error(a->ctx, TJ_ERR_VALUE, "%s: axis %d is repeated", fn, axes[i]);
            return false;
        }
        *mask |= 1u << ax;
    }
    return true;
}

tj_var *tjG_reduce(tj_op op, tj_var *a, uint32_t mask, bool keepdims)
{
    if (!a)
        return NULL;
    int ndim = 0;
    uint32_t bcast = 0;
    for (int d = 0; d < a->ndim; d++) {
        bool reduced = (mask >> d) & 1;
        if (reduced && !keepdims)
            continue;
        if (reduced || ((a->bcast >> d) & 1))
            bcast |= 1u << ndim;
        ndim++;
    }
    int64_t attr[2] = {mask, keepdims};
    return tjG_make(a->ctx, op, a->dtype, ndim, bcast, &a, 1, attr, 2, NULL);
}

/* numpy's accumulator: integers and bools sum in int64 (uint8 too: we have no uint64). */
static tj_dtype sum_dtype(tj_dtype d) { return tj_dtype_is_float(d) ? d : TJ_INT64; }

tj_var *tj_sum(tj_var *a, const int *axes, int naxes, bool keepdims)
{
    uint32_t mask;
    if (!live(a, "tj_sum") || !axes_mask(a, axes, naxes, "tj_sum", &mask))
        return NULL;
    return tjG_reduce(TJ_OP_SUM, tj_cast(a, sum_dtype(a->dtype)), mask, keepdims);
}

tj_var *tj_mean(tj_var *a, const int *axes, int naxes, bool keepdims)
{
    uint32_t mask;
    if (!live(a, "tj_mean") || !axes_mask(a, axes, naxes, "tj_mean", &mask))
        return NULL;
    tj_dtype t = tj_dtype_is_float(a->dtype) ? a->dtype : TJ_FLOAT64;
    return tjG_reduce(TJ_OP_MEAN, tj_cast(a, t), mask, keepdims);
}

tj_var *tj_dot(tj_var *a, tj_var *b)
{
    char ba[160], bb[160];
    if (!live(a, "tj_dot") || !live(b, "tj_dot"))
        return NULL;
    if (a->ctx != b->ctx) {
        tjC_error(a->ctx, TJ_ERR_INVALID, "tj_dot: the operands belong to different contexts");
        return NULL;
    }
    if (a->ndim < 1 || a->ndim > 2 || b->ndim < 1 || b->ndim > 2) {
        tjC_error(a->ctx, TJ_ERR_TYPE,
                  "tj_dot: %s and %s have ranks %d and %d; dot takes vectors and matrices",
                  tjG_describe(a, ba, sizeof ba), tjG_describe(b, bb, sizeof bb), a->ndim,
                  b->ndim);
        return NULL;
    }
    tj_dtype t = tjA_promote(a->dtype, b->dtype);
    if (t == TJ_BOOL)
        t = TJ_INT64; /* a count of true pairs rather than numpy's logical or */
    a = tj_cast(a, t);
    b = tj_cast(b, t);
    if (!a || !b)
        return NULL;
    int ndim = 0;
    uint32_t bcast = 0;
    if (a->ndim == 2)
        bcast |= (a->bcast & 1u) << ndim++;
    if (b->ndim == 2)
        bcast |= ((b->bcast >> 1) & 1u) << ndim++;
    tj_var *in[2] = {a, b};
    return tjG_make(a->ctx, TJ_OP_DOT, t, ndim, bcast, in, 2, NULL, 0, NULL);
}

tj_var *tj_dimshuffle(tj_var *a, const int *pattern, int n)
{
    char buf[160];
    if (!live(a, "tj_dimshuffle"))
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
    if (!live(a, "tj_transpose"))
        return NULL;
    int pattern[TJ_MAX_NDIM];
    for (int d = 0; d < a->ndim; d++)
        pattern[d] = a->ndim - 1 - d;
    return tj_dimshuffle(a, pattern, a->ndim);
}

tj_var *tj_shape_of(tj_var *a, int axis)
{
    char buf[160];
    if (!live(a, "tj_shape_of"))
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
