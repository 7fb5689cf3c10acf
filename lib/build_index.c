/* Public builders for indexing (issue 3): basic slicing and integer indexing along one axis with
 * symbolic or literal bounds, take (integer-array indexing, Theano's AdvancedSubtensor1 on any
 * axis), and set_subtensor / inc_subtensor of any of them. Bounds that the graph fixes are kept
 * as literals in the node's attributes (so `x[1:3]` is one node with no extra inputs). */
#include "internal.h"

static int64_t clamp_big(int64_t v)
{
    if (v == TJ_OPEN || v == TJ_DYN)
        return v;
    return v > TJ_BIG ? TJ_BIG : v < -TJ_BIG ? -TJ_BIG : v;
}

static const char *kind_fn(tj_op kind)
{
    return kind == TJ_OP_SLICE ? "tj_slice" : kind == TJ_OP_INDEX ? "tj_index" : "tj_take";
}

/* The broadcast flag of a sliced broadcastable axis (length 1): as Theano, the result still has
 * length 1 when the slice starts at 0 (or is open) and stops past it (or is open), forward. */
static bool slice_keeps_bcast(const int64_t *attr)
{
    bool start0 = attr[1] == TJ_OPEN || attr[1] == 0;
    bool stop_past = attr[2] == TJ_OPEN || (attr[2] != TJ_DYN && attr[2] > 0);
    bool forward = attr[3] == TJ_OPEN || (attr[3] != TJ_DYN && attr[3] > 0);
    return start0 && stop_past && forward;
}

static tj_var *make_take(tj_var *x, int ax, tj_var *indices, const char *fn)
{
    char b1[160], b2[160];
    if (!tj_dtype_is_int(indices->dtype)) {
        tjC_error(x->ctx, TJ_ERR_TYPE, "%s: the indices %s are %s; integer indices are expected "
                  "(boolean masks are not supported)", fn,
                  tjG_describe(indices, b1, sizeof b1), tj_dtype_name(indices->dtype));
        return NULL;
    }
    int ndim = x->ndim - 1 + indices->ndim;
    if (ndim > TJ_MAX_NDIM) {
        tjC_error(x->ctx, TJ_ERR_VALUE, "%s: taking %s from %s would give %d dimensions (at most "
                  "%d)", fn, tjG_describe(indices, b1, sizeof b1),
                  tjG_describe(x, b2, sizeof b2), ndim, TJ_MAX_NDIM);
        return NULL;
    }
    tj_var *in[2] = {x, tj_cast(indices, TJ_INT64)};
    if (!in[1])
        return NULL;
    uint64_t xb = x->bcast, low = xb & ((1ull << ax) - 1), high = xb >> (ax + 1);
    uint64_t bcast = low | ((uint64_t)in[1]->bcast << ax) | (high << (ax + in[1]->ndim));
    int64_t attr = ax;
    return tjG_make(x->ctx, TJ_OP_TAKE, x->dtype, ndim, (uint32_t)bcast, in, 2, &attr, 1, NULL);
}

tj_var *tjG_subtensor(tj_op kind, tj_var *x, const int64_t *attr_in, tj_var *const *extra_in,
                      int nextra_in)
{
    const char *fn = kind_fn(kind);
    char buf[160];
    if (!tjG_live(x, fn))
        return NULL;
    for (int i = 0; i < nextra_in; i++) {
        if (!tjG_live(extra_in[i], fn))
            return NULL;
        if (extra_in[i]->ctx != x->ctx) {
            tjC_error(x->ctx, TJ_ERR_INVALID, "%s: an index operand belongs to another context "
                      "than %s", fn, tjG_describe(x, buf, sizeof buf));
            return NULL;
        }
    }
    if (x->ndim < 1) {
        tjC_error(x->ctx, TJ_ERR_TYPE, "%s: %s is 0-d; it has no axis to index", fn,
                  tjG_describe(x, buf, sizeof buf));
        return NULL;
    }
    int64_t ax = attr_in[0] < 0 ? attr_in[0] + x->ndim : attr_in[0];
    if (ax < 0 || ax >= x->ndim) {
        tjC_error(x->ctx, TJ_ERR_VALUE, "%s: axis %lld is out of range for %s (expected %d to %d)",
                  fn, (long long)attr_in[0], tjG_describe(x, buf, sizeof buf), -x->ndim,
                  x->ndim - 1);
        return NULL;
    }
    if (kind == TJ_OP_TAKE)
        return make_take(x, (int)ax, extra_in[0], fn);

    static const char *const names[] = {"", "the start", "the stop", "the step"};
    tj_var *in[4] = {x};
    int nin = 1, k = 0, nattr = kind == TJ_OP_SLICE ? 4 : 2;
    int64_t attr[4] = {ax};
    for (int j = 1; j < nattr; j++) {
        attr[j] = attr_in[j];
        if (attr[j] == TJ_DYN &&
            !tjG_int_operand(extra_in[k++], fn, kind == TJ_OP_SLICE ? names[j] : "the index",
                             &attr[j], in, &nin))
            return NULL;
    }
    if (kind == TJ_OP_SLICE) {
        for (int j = 1; j < 4; j++)
            attr[j] = clamp_big(attr[j]);
        if (attr[3] == 0) {
            tjC_error(x->ctx, TJ_ERR_VALUE, "tj_slice: the step of a slice of %s is 0; a slice "
                      "step cannot be zero", tjG_describe(x, buf, sizeof buf));
            return NULL;
        }
        uint32_t bcast = x->bcast;
        if (((bcast >> ax) & 1) && !slice_keeps_bcast(attr))
            bcast &= ~(1u << ax);
        return tjG_make(x->ctx, TJ_OP_SLICE, x->dtype, x->ndim, bcast, in, nin, attr, 4, NULL);
    }
    int64_t i = attr[1];
    if (i != TJ_DYN && (i >= TJ_BIG || i <= -TJ_BIG || (((x->bcast >> ax) & 1) && i != 0 &&
                                                         i != -1))) {
        tjC_error(x->ctx, TJ_ERR_VALUE, "tj_index: index %lld is out of bounds for axis %lld of "
                  "%s, which has length %s", (long long)i, (long long)ax,
                  tjG_describe(x, buf, sizeof buf), ((x->bcast >> ax) & 1) ? "1" : "below 2^62");
        return NULL;
    }
    uint32_t low = x->bcast & ((1u << ax) - 1), high = (uint32_t)((uint64_t)x->bcast >> (ax + 1));
    uint32_t bcast = low | (uint32_t)((uint64_t)high << ax);
    return tjG_make(x->ctx, TJ_OP_INDEX, x->dtype, x->ndim - 1, bcast, in, nin, attr, 2, NULL);
}

tj_var *tj_slice(tj_var *x, int axis, tj_var *start, tj_var *stop, tj_var *step)
{
    tj_var *bounds[3] = {start, stop, step}, *extra[3];
    int64_t attr[4] = {axis};
    int n = 0;
    for (int j = 0; j < 3; j++) {
        attr[j + 1] = bounds[j] ? TJ_DYN : TJ_OPEN;
        if (bounds[j])
            extra[n++] = bounds[j];
    }
    return tjG_subtensor(TJ_OP_SLICE, x, attr, extra, n);
}

tj_var *tj_slicei(tj_var *x, int axis, int64_t start, int64_t stop, int64_t step)
{
    int64_t attr[4] = {axis, clamp_big(start), clamp_big(stop), clamp_big(step)};
    for (int j = 1; j < 4; j++)
        if (attr[j] == TJ_DYN) /* the literal INT64_MIN + 1: as far out as any */
            attr[j] = -TJ_BIG;
    return tjG_subtensor(TJ_OP_SLICE, x, attr, NULL, 0);
}

tj_var *tj_index(tj_var *x, int axis, tj_var *i)
{
    if (!tjG_live(i, "tj_index"))
        return NULL;
    int64_t attr[2] = {axis, TJ_DYN};
    return tjG_subtensor(TJ_OP_INDEX, x, attr, &i, 1);
}

tj_var *tj_indexi(tj_var *x, int axis, int64_t i)
{
    int64_t attr[2] = {axis, i == TJ_DYN ? -TJ_BIG : i};
    return tjG_subtensor(TJ_OP_INDEX, x, attr, NULL, 0);
}

tj_var *tj_take(tj_var *x, tj_var *indices, int axis)
{
    if (!tjG_live(indices, "tj_take"))
        return NULL;
    int64_t attr = axis;
    return tjG_subtensor(TJ_OP_TAKE, x, &attr, &indices, 1);
}

/* ---- set_subtensor / inc_subtensor ----------------------------------------------------------- */

static tj_var *set_inc(tj_var *sub, tj_var *value, tj_op op, const char *fn)
{
    char b1[160], b2[160];
    if (!tjG_live(sub, fn) || !tjG_live(value, fn))
        return NULL;
    tj_ctx *ctx = sub->ctx;
    if (sub->op != TJ_OP_SLICE && sub->op != TJ_OP_INDEX && sub->op != TJ_OP_TAKE) {
        tjC_error(ctx, TJ_ERR_INVALID, "%s: %s was not built by tj_slice, tj_index or tj_take; "
                  "pass the sub-tensor expression of the variable to modify", fn,
                  tjG_describe(sub, b1, sizeof b1));
        return NULL;
    }
    if (value->ctx != ctx) {
        tjC_error(ctx, TJ_ERR_INVALID, "%s: the value belongs to another context", fn);
        return NULL;
    }
    tj_var *x = sub->in[0];
    if (value->ndim > sub->ndim) {
        tjC_error(ctx, TJ_ERR_TYPE, "%s: the value %s has %d dimensions, more than the %d of the "
                  "selected region %s", fn, tjG_describe(value, b1, sizeof b1), value->ndim,
                  sub->ndim, tjG_describe(sub, b2, sizeof b2));
        return NULL;
    }
    value = tj_cast(value, x->dtype);
    if (value && value->ndim < sub->ndim) { /* numpy's right alignment */
        int pattern[TJ_MAX_NDIM], add = sub->ndim - value->ndim;
        for (int d = 0; d < sub->ndim; d++)
            pattern[d] = d < add ? -1 : d - add;
        value = tj_dimshuffle(value, pattern, sub->ndim);
    }
    if (!value)
        return NULL;
    tj_var *in[8];
    int64_t attr[5];
    in[0] = x;
    in[1] = value;
    for (int i = 1; i < sub->nin; i++)
        in[i + 1] = sub->in[i];
    attr[0] = sub->op;
    for (int j = 0; j < sub->nattr; j++)
        attr[j + 1] = sub->attr[j];
    return tjG_make(ctx, op, x->dtype, x->ndim, x->bcast, in, sub->nin + 1, attr, sub->nattr + 1,
                    NULL);
}

tj_var *tj_set_subtensor(tj_var *sub, tj_var *value)
{
    return set_inc(sub, value, TJ_OP_SET_SUBTENSOR, "tj_set_subtensor");
}

tj_var *tj_inc_subtensor(tj_var *sub, tj_var *value)
{
    return set_inc(sub, value, TJ_OP_INC_SUBTENSOR, "tj_inc_subtensor");
}
