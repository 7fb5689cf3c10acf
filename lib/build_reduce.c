/* Public builders for reductions (numpy semantics), argmax/argmin, variance/std and the stable
 * softmax family. The builders decide every dtype (numpy's accumulators), so the executors and
 * kernels see a reduction whose input already has the node's dtype (see ops.def). */
#include "internal.h"

/* Normalizes an axis list into a bitmask; naxes 0 (or axes NULL) means all axes. */
static bool axes_mask(tj_var *a, const int *axes, int naxes, const char *fn, uint32_t *mask)
{
    char buf[160];
    if (naxes < 0 || (naxes > 0 && !axes)) {
        tjC_error(a->ctx, TJ_ERR_INVALID, "%s: axes is NULL with naxes %d", fn, naxes);
        return false;
    }
    if (naxes == 0) {
        *mask = tjG_axes_below(a->ndim);
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

/* The result dtype of reduction op over an input of dtype d (already cast by the builder). */
static tj_dtype result_dtype(tj_op op, tj_dtype d)
{
    return op == TJ_OP_ARGMAX || op == TJ_OP_ARGMIN ? TJ_INT64 : d;
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
    return tjG_make(a->ctx, op, result_dtype(op, a->dtype), ndim, bcast, &a, 1, attr, 2, NULL);
}

/* numpy's accumulator: integers and bools sum and multiply in int64 (uint8 too: we have no
 * uint64). */
static tj_dtype acc_dtype(tj_dtype d) { return tj_dtype_is_float(d) ? d : TJ_INT64; }
/* numpy: means and variances of integers and bools are float64 */
static tj_dtype mean_dtype(tj_dtype d) { return tj_dtype_is_float(d) ? d : TJ_FLOAT64; }
/* numpy's float functions of integers (float16 does not exist here: float32 for small ones) */
static tj_dtype float_of(tj_dtype d)
{
    if (tj_dtype_is_float(d))
        return d;
    return d == TJ_INT32 || d == TJ_INT64 ? TJ_FLOAT64 : TJ_FLOAT32;
}

/* a reduction of a cast to dtype t over the given axes */
static tj_var *reduce_as(tj_op op, tj_var *a, tj_dtype t, const int *axes, int naxes,
                         bool keepdims, const char *fn)
{
    uint32_t mask;
    if (!tjG_live(a, fn) || !axes_mask(a, axes, naxes, fn, &mask))
        return NULL;
    return tjG_reduce(op, tj_cast(a, t), mask, keepdims);
}

tj_var *tj_sum(tj_var *a, const int *axes, int naxes, bool keepdims)
{
    return reduce_as(TJ_OP_SUM, a, a && tjG_valid(a) ? acc_dtype(a->dtype) : TJ_INT64, axes,
                     naxes, keepdims, "tj_sum");
}

tj_var *tj_prod(tj_var *a, const int *axes, int naxes, bool keepdims)
{
    return reduce_as(TJ_OP_PROD, a, a && tjG_valid(a) ? acc_dtype(a->dtype) : TJ_INT64, axes,
                     naxes, keepdims, "tj_prod");
}

tj_var *tj_mean(tj_var *a, const int *axes, int naxes, bool keepdims)
{
    return reduce_as(TJ_OP_MEAN, a, a && tjG_valid(a) ? mean_dtype(a->dtype) : TJ_FLOAT64, axes,
                     naxes, keepdims, "tj_mean");
}

tj_var *tj_max(tj_var *a, const int *axes, int naxes, bool keepdims)
{
    return reduce_as(TJ_OP_MAX, a, a && tjG_valid(a) ? a->dtype : TJ_BOOL, axes, naxes, keepdims,
                     "tj_max");
}

tj_var *tj_min(tj_var *a, const int *axes, int naxes, bool keepdims)
{
    return reduce_as(TJ_OP_MIN, a, a && tjG_valid(a) ? a->dtype : TJ_BOOL, axes, naxes, keepdims,
                     "tj_min");
}

tj_var *tj_all(tj_var *a, const int *axes, int naxes, bool keepdims)
{
    return reduce_as(TJ_OP_ALL, a, TJ_BOOL, axes, naxes, keepdims, "tj_all");
}

tj_var *tj_any(tj_var *a, const int *axes, int naxes, bool keepdims)
{
    return reduce_as(TJ_OP_ANY, a, TJ_BOOL, axes, naxes, keepdims, "tj_any");
}

/* ---- variance and standard deviation --------------------------------------------------------- */

/* The number of elements the mask reduces, as an int64 scalar graph (shapes are known only at
 * run time); broadcastable axes have length 1 and are left out. */
static tj_var *reduced_count(tj_var *x, uint32_t mask)
{
    tj_var *count = NULL;
    for (int d = 0; d < x->ndim; d++) {
        if (!((mask >> d) & 1) || ((x->bcast >> d) & 1))
            continue;
        tj_var *len = tj_shape_of(x, d);
        count = count ? tj_mul(count, len) : len;
    }
    return count ? count : tj_const(x->ctx, TJ_INT64, 1);
}

/* numpy.var: the mean squared deviation from the mean (two passes, so no cancellation), or with
 * ddof > 0 the sum of squares over max(N - ddof, 0) as numpy's _var. */
static tj_var *variance(tj_var *a, const int *axes, int naxes, bool keepdims, int ddof,
                        const char *fn)
{
    uint32_t mask;
    if (!tjG_live(a, fn) || !axes_mask(a, axes, naxes, fn, &mask))
        return NULL;
    if (ddof < 0) {
        tjC_error(a->ctx, TJ_ERR_VALUE, "%s: ddof is %d; it must be >= 0", fn, ddof);
        return NULL;
    }
    tj_var *x = tj_cast(a, mean_dtype(a->dtype));
    tj_var *dev = tj_sqr(tj_sub(x, tjG_reduce(TJ_OP_MEAN, x, mask, true)));
    if (ddof == 0)
        return tjG_reduce(TJ_OP_MEAN, dev, mask, keepdims);
    if (!x)
        return NULL;
    tj_var *n = tj_maximum(tj_sub(reduced_count(x, mask), tj_const(a->ctx, TJ_INT64, ddof)),
                           tj_const(a->ctx, TJ_INT64, 0));
    return tj_div(tjG_reduce(TJ_OP_SUM, dev, mask, keepdims), tj_cast(n, x->dtype));
}

tj_var *tj_variance(tj_var *a, const int *axes, int naxes, bool keepdims)
{
    return variance(a, axes, naxes, keepdims, 0, "tj_variance");
}

tj_var *tj_variance_ddof(tj_var *a, const int *axes, int naxes, bool keepdims, int ddof)
{
    return variance(a, axes, naxes, keepdims, ddof, "tj_variance_ddof");
}

tj_var *tj_std(tj_var *a, const int *axes, int naxes, bool keepdims)
{
    return tj_sqrt(variance(a, axes, naxes, keepdims, 0, "tj_std"));
}

tj_var *tj_std_ddof(tj_var *a, const int *axes, int naxes, bool keepdims, int ddof)
{
    return tj_sqrt(variance(a, axes, naxes, keepdims, ddof, "tj_std_ddof"));
}

/* ---- argmax / argmin ------------------------------------------------------------------------- */

static tj_var *arg_reduce(tj_op op, tj_var *a, int axis, bool keepdims, const char *fn)
{
    char buf[160];
    if (!tjG_live(a, fn))
        return NULL;
    uint32_t mask;
    if (axis == TJ_AXIS_ALL) {
        mask = tjG_axes_below(a->ndim);
    } else {
        int ax = axis < 0 ? axis + a->ndim : axis;
        if (ax < 0 || ax >= a->ndim) {
            tjC_error(a->ctx, TJ_ERR_VALUE,
                      "%s: axis %d is out of range for %s (ndim %d); TJ_AXIS_ALL takes the "
                      "flattened array",
                      fn, axis, tjG_describe(a, buf, sizeof buf), a->ndim);
            return NULL;
        }
        mask = 1u << ax;
    }
    return tjG_reduce(op, a, mask, keepdims);
}

tj_var *tj_argmax(tj_var *a, int axis, bool keepdims)
{
    return arg_reduce(TJ_OP_ARGMAX, a, axis, keepdims, "tj_argmax");
}

tj_var *tj_argmin(tj_var *a, int axis, bool keepdims)
{
    return arg_reduce(TJ_OP_ARGMIN, a, axis, keepdims, "tj_argmin");
}

/* ---- the softmax family ---------------------------------------------------------------------- */

static tj_var *softmax_like(tj_op op, tj_var *a, int axis, const char *fn)
{
    char buf[160];
    if (!tjG_live(a, fn))
        return NULL;
    int ax = axis < 0 ? axis + a->ndim : axis;
    if (ax < 0 || ax >= a->ndim) {
        tjC_error(a->ctx, TJ_ERR_VALUE, "%s: axis %d is out of range for %s (ndim %d)", fn, axis,
                  tjG_describe(a, buf, sizeof buf), a->ndim);
        return NULL;
    }
    tj_var *x = tj_cast(a, float_of(a->dtype));
    if (!x)
        return NULL;
    int64_t attr = ax;
    return tjG_make(x->ctx, op, x->dtype, x->ndim, x->bcast, &x, 1, &attr, 1, NULL);
}

tj_var *tj_softmax(tj_var *a, int axis)
{
    return softmax_like(TJ_OP_SOFTMAX, a, axis, "tj_softmax");
}

tj_var *tj_log_softmax(tj_var *a, int axis)
{
    return softmax_like(TJ_OP_LOG_SOFTMAX, a, axis, "tj_log_softmax");
}

tj_var *tj_logsumexp(tj_var *a, const int *axes, int naxes, bool keepdims)
{
    return reduce_as(TJ_OP_LOGSUMEXP, a, a && tjG_valid(a) ? float_of(a->dtype) : TJ_FLOAT64,
                     axes, naxes, keepdims, "tj_logsumexp");
}

/* ---- rebuilding ------------------------------------------------------------------------------ */

tj_var *tjG_rebuild_reduce(tj_var *node, tj_var *in)
{
    if (!in)
        return NULL;
    tj_dtype d = in->dtype, t;
    switch (node->op) {
    case TJ_OP_SUM: case TJ_OP_PROD: t = acc_dtype(d); break;
    case TJ_OP_MEAN: t = mean_dtype(d); break;
    case TJ_OP_ALL: case TJ_OP_ANY: t = TJ_BOOL; break;
    case TJ_OP_SOFTMAX: case TJ_OP_LOG_SOFTMAX: case TJ_OP_LOGSUMEXP: t = float_of(d); break;
    default: t = d; break; /* MAX MIN ARGMAX ARGMIN */
    }
    tj_var *x = tj_cast(in, t);
    if (!x || (node->op != TJ_OP_SOFTMAX && node->op != TJ_OP_LOG_SOFTMAX))
        return tjG_reduce(node->op, x, (uint32_t)node->attr[0], node->attr[1] != 0);
    return tjG_make(x->ctx, node->op, x->dtype, x->ndim, x->bcast, &x, 1, node->attr, 1, NULL);
}
