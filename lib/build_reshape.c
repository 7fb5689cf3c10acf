/* Public builders for shape operations (issue 3): reshape, flatten, permute, squeeze,
 * expand_dims, concatenate/join, stack, split, alloc, zeros_like/ones_like, arange; and the
 * family's rebuild hook. Static broadcastable flags follow Theano: an axis is broadcastable when
 * the graph fixes its length to 1. */
#include "internal.h"

#include <string.h>

bool tjG_is_shape_op(tj_op op)
{
    switch (op) {
    case TJ_OP_RESHAPE: case TJ_OP_JOIN: case TJ_OP_SPLIT: case TJ_OP_ALLOC: case TJ_OP_ARANGE:
    case TJ_OP_SLICE: case TJ_OP_INDEX: case TJ_OP_TAKE: case TJ_OP_SET_SUBTENSOR:
    case TJ_OP_INC_SUBTENSOR: case TJ_OP_MATMUL:
        return true;
    default:
        return false;
    }
}

/* An exact int64 read of an integer 0-d constant (beyond 2^53 too). */
static int64_t const_int(const tj_array *a)
{
    switch (a->dtype) {
    case TJ_INT8: { int8_t v; memcpy(&v, a->data, sizeof v); return v; }
    case TJ_INT16: { int16_t v; memcpy(&v, a->data, sizeof v); return v; }
    case TJ_INT32: { int32_t v; memcpy(&v, a->data, sizeof v); return v; }
    case TJ_INT64: { int64_t v; memcpy(&v, a->data, sizeof v); return v; }
    default: { uint8_t v; memcpy(&v, a->data, sizeof v); return v; }
    }
}

bool tjG_static_int(const tj_var *v, int64_t *out)
{
    if (v->op == TJ_OP_CONSTANT && v->ndim == 0 && tj_dtype_is_int(v->dtype) && v->value) {
        *out = const_int(v->value);
        return true;
    }
    if (v->op == TJ_OP_SHAPE_OF && ((v->in[0]->bcast >> v->attr[0]) & 1)) {
        *out = 1;
        return true;
    }
    return false;
}

bool tjG_int_operand(tj_var *v, const char *fn, const char *what, int64_t *attr, tj_var **extra,
                     int *nextra)
{
    char buf[160];
    if (!tjG_live(v, fn))
        return false;
    if (v->ndim != 0 || !tj_dtype_is_int(v->dtype)) {
        tjC_error(v->ctx, TJ_ERR_TYPE, "%s: %s must be an integer scalar, but %s is a %s of %d "
                  "dimensions", fn, what, tjG_describe(v, buf, sizeof buf),
                  tj_dtype_name(v->dtype), v->ndim);
        return false;
    }
    /* literals beyond +-TJ_BIG stay symbolic: they could collide with TJ_OPEN / TJ_DYN, and
     * the executors treat them correctly (clamp, or report them out of range) */
    if (tjG_static_int(v, attr) && *attr >= -TJ_BIG && *attr <= TJ_BIG)
        return true;
    tj_var *c = tj_cast(v, TJ_INT64);
    if (!c)
        return false;
    *attr = TJ_DYN;
    extra[(*nextra)++] = c;
    return true;
}

/* ---- reshape, flatten ------------------------------------------------------------------------ */

/* The reshape of x to ndim sizes: want[d] a literal or TJ_DYN (then the next of dyn[]). */
static tj_var *reshape_core(tj_var *x, int ndim, const int64_t *want, tj_var *const *dyn,
                            const char *fn)
{
    char buf[160];
    int64_t attr[TJ_MAX_NDIM];
    tj_var *extra[TJ_MAX_NDIM + 1];
    int nextra = 0, k = 0, ninfer = 0;
    bool all_static = true;
    uint32_t bcast = 0;
    int64_t prod = 1;
    extra[nextra++] = x;
    for (int d = 0; d < ndim; d++) {
        attr[d] = want[d];
        if (want[d] == TJ_DYN && !tjG_int_operand(dyn[k++], fn, "a size", &attr[d], extra,
                                                  &nextra))
            return NULL;
        if (attr[d] == TJ_DYN) {
            all_static = false;
            continue;
        }
        if (attr[d] < -1) {
            tjC_error(x->ctx, TJ_ERR_VALUE, "%s: size %lld for axis %d of the new shape of %s is "
                      "negative (only -1, inferred, may be)", fn, (long long)attr[d], d,
                      tjG_describe(x, buf, sizeof buf));
            return NULL;
        }
        if (attr[d] == -1 && ++ninfer > 1) {
            tjC_error(x->ctx, TJ_ERR_VALUE, "%s: can only infer one size (-1) in the new shape "
                      "of %s", fn, tjG_describe(x, buf, sizeof buf));
            return NULL;
        }
        if (attr[d] == 1)
            bcast |= 1u << d;
        if (attr[d] >= 0 && __builtin_mul_overflow(prod, attr[d], &prod))
            prod = -1;
    }
    /* every axis of x broadcastable: it holds exactly one element, known now */
    if (all_static && (x->bcast & tjG_axes_below(x->ndim)) == tjG_axes_below(x->ndim)) {
        if (prod != 1) {
            tjC_error(x->ctx, TJ_ERR_VALUE, "%s: cannot reshape %s, which has 1 element, into a "
                      "shape of %lld elements", fn, tjG_describe(x, buf, sizeof buf),
                      (long long)prod);
            return NULL;
        }
        for (int d = 0; d < ndim; d++) {
            if (attr[d] == -1) {
                attr[d] = 1;
                bcast |= 1u << d;
            }
        }
    }
    return tjG_make(x->ctx, TJ_OP_RESHAPE, x->dtype, ndim, bcast, extra, nextra, attr, ndim,
                    NULL);
}

static bool check_ndim(tj_var *a, int ndim, bool list_null, const char *fn)
{
    if (ndim < 0 || ndim > TJ_MAX_NDIM || (ndim > 0 && list_null)) {
        tjC_error(a->ctx, TJ_ERR_INVALID, "%s: the new shape has %d entries%s; expected 0 to %d "
                  "entries", fn, ndim, list_null ? " but is NULL" : "", TJ_MAX_NDIM);
        return false;
    }
    return true;
}

tj_var *tj_reshape(tj_var *a, const int64_t *shape, int ndim)
{
    if (!tjG_live(a, "tj_reshape") || !check_ndim(a, ndim, !shape, "tj_reshape"))
        return NULL;
    int64_t count = (int64_t)tj_dtype_size(a->dtype); /* the bytes of the known sizes */
    for (int d = 0; d < ndim; d++) {
        char buf[160];
        if (shape[d] < -1) {
            tjC_error(a->ctx, TJ_ERR_VALUE, "tj_reshape: size %lld for axis %d of the new shape "
                      "of %s is negative (only -1, inferred, may be)", (long long)shape[d], d,
                      tjG_describe(a, buf, sizeof buf));
            return NULL;
        }
        if (shape[d] >= 0 && __builtin_mul_overflow(count, shape[d], &count)) {
            tjC_error(a->ctx, TJ_ERR_VALUE, "tj_reshape: the new shape of %s holds more bytes "
                      "than 2^63 (at axis %d, size %lld): no array has that many elements",
                      tjG_describe(a, buf, sizeof buf), d, (long long)shape[d]);
            return NULL;
        }
    }
    return reshape_core(a, ndim, shape, NULL, "tj_reshape");
}

tj_var *tj_reshape_sym(tj_var *a, tj_var *const *shape, int ndim)
{
    if (!tjG_live(a, "tj_reshape_sym") || !check_ndim(a, ndim, !shape, "tj_reshape_sym"))
        return NULL;
    int64_t want[TJ_MAX_NDIM];
    for (int d = 0; d < ndim; d++) {
        if (!tjG_live(shape[d], "tj_reshape_sym"))
            return NULL;
        want[d] = TJ_DYN;
    }
    return reshape_core(a, ndim, want, shape, "tj_reshape_sym");
}

tj_var *tj_flatten(tj_var *a, int ndim)
{
    if (!tjG_live(a, "tj_flatten"))
        return NULL;
    int keep = a->ndim > 0 ? a->ndim : 1;
    if (ndim < 1 || ndim > keep) {
        char buf[160];
        tjC_error(a->ctx, TJ_ERR_VALUE, "tj_flatten: ndim %d is out of range for %s; expected 1 "
                  "to %d", ndim, tjG_describe(a, buf, sizeof buf), keep);
        return NULL;
    }
    if (ndim == a->ndim)
        return a;
    tj_var *sizes[TJ_MAX_NDIM];
    for (int d = 0; d < ndim - 1; d++)
        sizes[d] = tj_shape_of(a, d);
    /* the last axis collects the rest: the product of their lengths, not -1, so that an empty
     * array flattens too (numpy cannot infer -1 next to a 0) */
    tj_var *last = NULL;
    for (int d = ndim - 1; d < a->ndim; d++)
        if (!((a->bcast >> d) & 1))
            last = last ? tj_mul(last, tj_shape_of(a, d)) : tj_shape_of(a, d);
    sizes[ndim - 1] = last ? last : tj_const(a->ctx, TJ_INT64, 1);
    return tj_reshape_sym(a, sizes, ndim);
}

/* ---- axes: permute, squeeze, expand_dims ----------------------------------------------------- */

static bool norm_axis(tj_var *a, int axis, int ndim, const char *fn, int *out)
{
    int ax = axis < 0 ? axis + ndim : axis;
    if (ax < 0 || ax >= ndim) {
        char buf[160];
        tjC_error(a->ctx, TJ_ERR_VALUE, "%s: axis %d is out of range for %s (expected %d to %d)",
                  fn, axis, tjG_describe(a, buf, sizeof buf), -ndim, ndim - 1);
        return false;
    }
    *out = ax;
    return true;
}

tj_var *tj_permute(tj_var *a, const int *axes, int n)
{
    char buf[160];
    if (!tjG_live(a, "tj_permute"))
        return NULL;
    if (n != a->ndim || (n > 0 && !axes)) {
        tjC_error(a->ctx, TJ_ERR_VALUE, "tj_permute: %d axes given for %s; expected a "
                  "permutation of its %d axes", n, tjG_describe(a, buf, sizeof buf), a->ndim);
        return NULL;
    }
    int pattern[TJ_MAX_NDIM];
    uint32_t seen = 0;
    for (int i = 0; i < n; i++) {
        if (!norm_axis(a, axes[i], a->ndim, "tj_permute", &pattern[i]))
            return NULL;
        if (seen & (1u << pattern[i])) {
            tjC_error(a->ctx, TJ_ERR_VALUE, "tj_permute: axis %d is repeated in the permutation "
                      "of %s", axes[i], tjG_describe(a, buf, sizeof buf));
            return NULL;
        }
        seen |= 1u << pattern[i];
    }
    return tj_dimshuffle(a, pattern, n);
}

tj_var *tj_squeeze(tj_var *a, const int *axes, int naxes)
{
    if (!tjG_live(a, "tj_squeeze"))
        return NULL;
    if (naxes < 0 || (naxes > 0 && !axes)) {
        tjC_error(a->ctx, TJ_ERR_INVALID, "tj_squeeze: axes is NULL with naxes %d", naxes);
        return NULL;
    }
    uint32_t drop = 0;
    if (naxes == 0)
        drop = a->bcast & tjG_axes_below(a->ndim);
    for (int i = 0; i < naxes; i++) {
        int ax;
        if (!norm_axis(a, axes[i], a->ndim, "tj_squeeze", &ax))
            return NULL;
        if ((drop >> ax) & 1) {
            tjC_error(a->ctx, TJ_ERR_VALUE, "tj_squeeze: axis %d is repeated in axes", axes[i]);
            return NULL;
        }
        drop |= 1u << ax;
    }
    int64_t pattern[TJ_MAX_NDIM];
    int n = 0;
    uint32_t bcast = 0;
    for (int d = 0; d < a->ndim; d++) {
        if ((drop >> d) & 1)
            continue;
        bcast |= ((a->bcast >> d) & 1u) << n;
        pattern[n++] = d;
    }
    if (n == a->ndim)
        return a;
    /* made directly: a dropped axis that is not broadcastable is checked to have length 1 when
     * the view is made (tj_dimshuffle only drops broadcastable axes) */
    return tjG_make(a->ctx, TJ_OP_DIMSHUFFLE, a->dtype, n, bcast, &a, 1, pattern, n, NULL);
}

/* Whether a has room for one more axis; the error names a and fn (tj_stack's, not the
 * tj_expand_dims it calls). */
static bool room_for_an_axis(tj_var *a, const char *fn)
{
    if (a->ndim < TJ_MAX_NDIM)
        return true;
    char buf[160];
    tjC_error(a->ctx, TJ_ERR_VALUE, "%s: %s has %d dimensions; with one more it would have %d "
              "dimensions (at most %d)", fn, tjG_describe(a, buf, sizeof buf), a->ndim,
              a->ndim + 1, TJ_MAX_NDIM);
    return false;
}

tj_var *tj_expand_dims(tj_var *a, int axis)
{
    if (!tjG_live(a, "tj_expand_dims") || !room_for_an_axis(a, "tj_expand_dims"))
        return NULL;
    int ax;
    if (!norm_axis(a, axis, a->ndim + 1, "tj_expand_dims", &ax))
        return NULL;
    int pattern[TJ_MAX_NDIM];
    for (int d = 0, j = 0; d <= a->ndim; d++)
        pattern[d] = d == ax ? -1 : j++;
    return tj_dimshuffle(a, pattern, a->ndim + 1);
}

/* ---- join, stack, split ---------------------------------------------------------------------- */

/* Checks a list of operands: all live, one context, one rank >= min_rank. */
static tj_ctx *list_ctx(tj_var *const *vars, int n, int min_rank, const char *fn)
{
    if (!vars || n < 1) {
        tjA_error(TJ_ERR_INVALID, "%s: needs at least one variable (got %d%s)", fn, n,
                  vars ? "" : ", vars NULL");
        return NULL;
    }
    for (int i = 0; i < n; i++)
        if (!tjG_live(vars[i], fn))
            return NULL;
    tj_ctx *ctx = vars[0]->ctx;
    char b1[160], b2[160];
    for (int i = 0; i < n; i++) {
        if (vars[i]->ctx != ctx) {
            tjC_error(ctx, TJ_ERR_INVALID, "%s: operand %d belongs to another context than "
                      "operand 0", fn, i);
            return NULL;
        }
        if (vars[i]->ndim != vars[0]->ndim) {
            tjC_error(ctx, TJ_ERR_TYPE, "%s: all operands must have the same rank, but operand "
                      "0, %s, has %d dimensions and operand %d, %s, has %d", fn,
                      tjG_describe(vars[0], b1, sizeof b1), vars[0]->ndim, i,
                      tjG_describe(vars[i], b2, sizeof b2), vars[i]->ndim);
            return NULL;
        }
    }
    if (vars[0]->ndim < min_rank) {
        tjC_error(ctx, TJ_ERR_TYPE, "%s: %s is 0-d; zero-dimensional operands cannot be "
                  "concatenated", fn, tjG_describe(vars[0], b1, sizeof b1));
        return NULL;
    }
    return ctx;
}

static tj_var *join_core(tj_var *const *vars, int n, int axis, const char *fn)
{
    tj_ctx *ctx = list_ctx(vars, n, 1, fn);
    int ax;
    if (!ctx || !norm_axis(vars[0], axis, vars[0]->ndim, fn, &ax))
        return NULL;
    if (n == 1)
        return vars[0];
    tj_dtype t = vars[0]->dtype;
    for (int i = 1; i < n; i++)
        t = tjA_promote(t, vars[i]->dtype);
    tj_var *in_buf[16];
    tj_var **in = n <= 16 ? in_buf : tjC_alloc(ctx, sizeof *in * (size_t)n);
    if (!in)
        return NULL;
    uint32_t bcast = 0;
    for (int i = 0; i < n; i++) {
        in[i] = tj_cast(vars[i], t);
        if (!in[i])
            return NULL;
        bcast |= in[i]->bcast; /* all lengths agree off the axis: one of length 1 fixes them */
    }
    bcast &= ~(1u << ax);
    int64_t attr = ax;
    return tjG_make(ctx, TJ_OP_JOIN, t, vars[0]->ndim, bcast, in, n, &attr, 1, NULL);
}

tj_var *tj_concatenate(tj_var *const *vars, int n, int axis)
{
    return join_core(vars, n, axis, "tj_concatenate");
}

tj_var *tj_join(int axis, tj_var *const *vars, int n)
{
    return join_core(vars, n, axis, "tj_join");
}

tj_var *tj_stack(tj_var *const *vars, int n, int axis)
{
    tj_ctx *ctx = list_ctx(vars, n, 0, "tj_stack");
    if (!ctx || !room_for_an_axis(vars[0], "tj_stack")) /* list_ctx checked: one rank */
        return NULL;
    int ax;
    if (!norm_axis(vars[0], axis, vars[0]->ndim + 1, "tj_stack", &ax))
        return NULL;
    tj_var *buf[16];
    tj_var **ex = n <= 16 ? buf : tjC_alloc(ctx, sizeof *ex * (size_t)n);
    if (!ex)
        return NULL;
    for (int i = 0; i < n; i++)
        if (!(ex[i] = tj_expand_dims(vars[i], ax)))
            return NULL;
    return join_core(ex, n, ax, "tj_stack");
}

/* Part p of the split of x described by attr = {axis, p, n, sizes[n]}. */
static tj_var *split_part(tj_var *x, const int64_t *attr)
{
    int ax = (int)attr[0], n = (int)attr[2];
    uint32_t bcast = x->bcast & ~(1u << ax);
    if (attr[3 + attr[1]] == 1)
        bcast |= 1u << ax;
    return tjG_make(x->ctx, TJ_OP_SPLIT, x->dtype, x->ndim, bcast, &x, 1, attr, 3 + n, NULL);
}

tj_status tj_split(tj_var *a, const int64_t *sizes, int n, int axis, tj_var **outs)
{
    char buf[160];
    if (outs)
        for (int i = 0; i < n; i++)
            outs[i] = NULL;
    if (!tjG_live(a, "tj_split"))
        return TJ_ERR_INVALID;
    tj_ctx *ctx = a->ctx;
    if (n < 1 || !sizes || !outs)
        return tjC_error(ctx, TJ_ERR_INVALID, "tj_split: needs n >= 1 sizes and room for n "
                         "outputs (n %d, sizes %s, outs %s)", n, sizes ? "given" : "NULL",
                         outs ? "given" : "NULL");
    if (a->ndim < 1)
        return tjC_error(ctx, TJ_ERR_TYPE, "tj_split: %s is 0-d; it has no axis to split",
                         tjG_describe(a, buf, sizeof buf));
    int ax;
    if (!norm_axis(a, axis, a->ndim, "tj_split", &ax))
        return ctx->err;
    int64_t *attr = tjC_alloc(ctx, sizeof *attr * (size_t)(n + 3));
    if (!attr)
        return TJ_ERR_NOMEM;
    int ninfer = 0;
    for (int i = 0; i < n; i++) {
        if (sizes[i] < -1 || sizes[i] > TJ_BIG || (sizes[i] == -1 && ++ninfer > 1))
            return tjC_error(ctx, TJ_ERR_VALUE, "tj_split: size %lld of part %d is invalid "
                             "(sizes are >= 0, and one of them may be -1)", (long long)sizes[i],
                             i);
        attr[3 + i] = sizes[i];
    }
    attr[0] = ax;
    attr[2] = n;
    for (int i = 0; i < n; i++) {
        attr[1] = i;
        outs[i] = split_part(a, attr);
        if (!outs[i]) {
            for (int j = 0; j < n; j++)
                outs[j] = NULL;
            return ctx->err != TJ_OK ? ctx->err : TJ_ERR_NOMEM;
        }
    }
    return TJ_OK;
}

/* ---- alloc, zeros_like, ones_like, arange ---------------------------------------------------- */

static tj_var *alloc_core(tj_var *value, int ndim, const int64_t *want, tj_var *const *dyn,
                          const char *fn)
{
    char buf[160];
    if (!check_ndim(value, ndim, false, fn))
        return NULL;
    if (ndim < value->ndim) {
        tjC_error(value->ctx, TJ_ERR_VALUE, "%s: the value %s has %d dimensions, more than the "
                  "%d of the shape", fn, tjG_describe(value, buf, sizeof buf), value->ndim, ndim);
        return NULL;
    }
    int64_t attr[TJ_MAX_NDIM];
    tj_var *extra[TJ_MAX_NDIM + 1];
    int nextra = 0, k = 0;
    uint32_t bcast = 0;
    extra[nextra++] = value;
    for (int d = 0; d < ndim; d++) {
        attr[d] = want[d];
        if (want[d] == TJ_DYN && !tjG_int_operand(dyn[k++], fn, "a size", &attr[d], extra,
                                                  &nextra))
            return NULL;
        if (attr[d] != TJ_DYN && attr[d] < 0) {
            tjC_error(value->ctx, TJ_ERR_VALUE, "%s: size %lld for axis %d is negative", fn,
                      (long long)attr[d], d);
            return NULL;
        }
        if (attr[d] == 1)
            bcast |= 1u << d;
    }
    return tjG_make(value->ctx, TJ_OP_ALLOC, value->dtype, ndim, bcast, extra, nextra, attr, ndim,
                    NULL);
}

tj_var *tj_alloc(tj_var *value, tj_var *const *shape, int ndim)
{
    if (!tjG_live(value, "tj_alloc") || !check_ndim(value, ndim, !shape, "tj_alloc"))
        return NULL;
    int64_t want[TJ_MAX_NDIM];
    for (int d = 0; d < ndim; d++) {
        if (!tjG_live(shape[d], "tj_alloc"))
            return NULL;
        want[d] = TJ_DYN;
    }
    return alloc_core(value, ndim, want, shape, "tj_alloc");
}

static tj_var *fill_like(tj_var *a, double v, const char *fn)
{
    if (!tjG_live(a, fn))
        return NULL;
    return tjG_elemwise(TJ_OP_SECOND, (tj_var *[]){a, tjG_const_like(a, v)}, 2);
}

tj_var *tj_zeros_like(tj_var *a) { return fill_like(a, 0.0, "tj_zeros_like"); }
tj_var *tj_ones_like(tj_var *a) { return fill_like(a, 1.0, "tj_ones_like"); }

tj_var *tj_arange(tj_var *start, tj_var *stop, tj_var *step, tj_dtype dtype)
{
    char buf[160];
    if (!tjG_live(stop, "tj_arange"))
        return NULL;
    tj_ctx *ctx = stop->ctx;
    if (!tj_dtype_valid((int)dtype) || dtype == TJ_BOOL) {
        tjC_error(ctx, TJ_ERR_TYPE, "tj_arange: dtype %s is not allowed (a numeric dtype is "
                  "expected)", tj_dtype_valid((int)dtype) ? tj_dtype_name(dtype) : "invalid");
        return NULL;
    }
    tj_var *in[3] = {start, stop, step};
    bool is_float = tj_dtype_is_float(dtype);
    for (int i = 0; i < 3; i++) {
        if (!in[i])
            continue;
        if (!tjG_live(in[i], "tj_arange"))
            return NULL;
        if (in[i]->ctx != ctx || in[i]->ndim != 0 || in[i]->dtype == TJ_BOOL) {
            tjC_error(ctx, TJ_ERR_TYPE, "tj_arange: %s must be a numeric scalar of the same "
                      "context, but it is %s", i == 0 ? "start" : i == 1 ? "stop" : "step",
                      tjG_describe(in[i], buf, sizeof buf));
            return NULL;
        }
        is_float = is_float || tj_dtype_is_float(in[i]->dtype);
    }
    tj_dtype cd = is_float ? TJ_FLOAT64 : TJ_INT64;
    for (int i = 0; i < 3; i++) {
        in[i] = in[i] ? tj_cast(in[i], cd) : tj_const(ctx, cd, i == 0 ? 0.0 : 1.0);
        if (!in[i])
            return NULL;
    }
    return tjG_make(ctx, TJ_OP_ARANGE, dtype, 1, 0, in, 3, NULL, 0, NULL);
}

/* ---- rebuilding with new input types --------------------------------------------------------- */

tj_var *tjG_rebuild_shape(tj_var *node, tj_var *const *in)
{
    const int64_t *attr = node->attr;
    switch (node->op) {
    case TJ_OP_RESHAPE:
        return reshape_core(in[0], node->ndim, attr, in + 1, "reshape");
    case TJ_OP_ALLOC:
        return alloc_core(in[0], node->ndim, attr, in + 1, "alloc");
    case TJ_OP_JOIN:
        return join_core(in, node->nin, (int)attr[0], "join");
    case TJ_OP_SPLIT:
        return split_part(in[0], attr);
    case TJ_OP_ARANGE:
        return tj_arange(in[0], in[1], in[2], node->dtype);
    case TJ_OP_SLICE:
    case TJ_OP_INDEX:
    case TJ_OP_TAKE:
        return tjG_subtensor(node->op, in[0], attr, in + 1, node->nin - 1);
    case TJ_OP_SET_SUBTENSOR:
    case TJ_OP_INC_SUBTENSOR: {
        tj_var *sub = tjG_subtensor((tj_op)attr[0], in[0], attr + 1, in + 2, node->nin - 2);
        return node->op == TJ_OP_SET_SUBTENSOR ? tj_set_subtensor(sub, in[1])
                                               : tj_inc_subtensor(sub, in[1]);
    }
    case TJ_OP_MATMUL: {
        tj_dtype t = tjA_promote(in[0]->dtype, in[1]->dtype);
        t = t == TJ_BOOL ? TJ_INT64 : t; /* as tj_dot and tj_matmul */
        return tjG_matmul(tj_cast(in[0], t), tj_cast(in[1], t));
    }
    default:
        tjC_error(node->ctx, TJ_ERR_INVALID, "internal error: %s is not a shape op",
                  tjG_ops[node->op].name);
        return NULL;
    }
}
