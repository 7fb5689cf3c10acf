/* Reference executor for reductions (sum mean prod max min all any), argmax/argmin and the
 * softmax family, plainly in C with numpy's semantics.
 *
 * Every op works lane by lane: for each output position (the kept axes, in C order) the reduced
 * elements are gathered, in C order of the reduced axes, into a contiguous buffer, and the lane
 * is reduced (or, for softmax, transformed and scattered back). Floats compute in their own dtype
 * (float32 through the f-suffixed libm calls; sums pairwise, as numpy); integers wrap through
 * uint64 as integer arithmetic does. */
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- lanes ----------------------------------------------------------------------------------- */

typedef struct {
    int nk, nr;                  /* kept and reduced axes of the input */
    int64_t kshape[TJ_MAX_NDIM]; /* kept lengths; byte strides of input and output on them */
    int64_t kin[TJ_MAX_NDIM], kout[TJ_MAX_NDIM];
    int64_t rshape[TJ_MAX_NDIM]; /* reduced lengths; byte strides of input (and output) */
    int64_t rin[TJ_MAX_NDIM], rout[TJ_MAX_NDIM];
    int64_t rlane[TJ_MAX_NDIM]; /* byte strides of the reduced axes in a contiguous lane */
    int64_t count; /* elements per lane */
    int64_t lanes; /* output positions */
} layout;

/* Splits the input's axes by mask; out_strides (NULL: none) are the byte strides of an output of
 * the input's shape (softmax). */
static void make_layout(layout *L, const tj_array *a, uint64_t mask, const int64_t *out_strides)
{
    memset(L, 0, sizeof *L);
    L->count = 1;
    L->lanes = 1;
    for (int d = 0; d < a->ndim; d++) {
        int64_t os = out_strides ? out_strides[d] : 0;
        if ((mask >> d) & 1u) {
            L->rshape[L->nr] = a->shape[d];
            L->rin[L->nr] = a->strides[d];
            L->rout[L->nr++] = os;
            L->count *= a->shape[d];
        } else {
            L->kshape[L->nk] = a->shape[d];
            L->kin[L->nk] = a->strides[d];
            L->kout[L->nk++] = os;
            L->lanes *= a->shape[d];
        }
    }
    int64_t step = (int64_t)tj_dtype_size(a->dtype);
    for (int d = L->nr - 1; d >= 0; step *= L->rshape[d--])
        L->rlane[d] = step;
}

/* Copies one lane between its strided place and the contiguous buffer `lane`, in C order of the
 * reduced axes. copy_in: lane <- in; else out <- lane (in and out are the lane's bases). */
static void lane_copy(const layout *L, tj_dtype t, char *lane, const char *in, char *out,
                      bool copy_in)
{
    if (L->nr == 0) /* a lane of one element */
        memcpy(copy_in ? lane : out, copy_in ? in : lane, tj_dtype_size(t));
    else if (copy_in)
        tjA_walk_rows(tjA_move_row, &t, lane, L->rlane, in, L->rin, L->rshape, L->nr);
    else
        tjA_walk_rows(tjA_move_row, &t, out, L->rout, lane, L->rlane, L->rshape, L->nr);
}

/* ---- integers -------------------------------------------------------------------------------- */



/* sum/prod wrap modulo 2^64 (the store wraps again to the width); max/min of bool are any/all,
 * which the 0/1 values give directly. */
static int64_t int_reduce(tj_op op, tj_dtype d, const char *lane, int64_t n)
{
    size_t es = tj_dtype_size(d);
    uint64_t acc = op == TJ_OP_PROD ? 1 : 0;
    int64_t m = 0;
    for (int64_t j = 0; j < n; j++) {
        int64_t v = tjA_load_int(d, lane + (size_t)j * es);
        switch (op) {
        case TJ_OP_SUM: acc += (uint64_t)v; break;
        case TJ_OP_PROD: acc *= (uint64_t)v; break;
        case TJ_OP_MAX: m = (j == 0 || v > m) ? v : m; break;
        case TJ_OP_MIN: m = (j == 0 || v < m) ? v : m; break;
        case TJ_OP_ALL: acc = j == 0 ? (v != 0) : (acc && v != 0); break;
        default: acc = acc || v != 0; break; /* ANY */
        }
    }
    if (op == TJ_OP_ALL && n == 0)
        return 1;
    return op == TJ_OP_MAX || op == TJ_OP_MIN ? m : (int64_t)acc;
}

/* first index of the max (argmax) or min; ties keep the first */
static int64_t int_arg(bool max, tj_dtype d, const char *lane, int64_t n)
{
    size_t es = tj_dtype_size(d);
    int64_t best = tjA_load_int(d, lane), at = 0;
    for (int64_t j = 1; j < n; j++) {
        int64_t v = tjA_load_int(d, lane + (size_t)j * es);
        if (max ? v > best : v < best) {
            best = v;
            at = j;
        }
    }
    return at;
}

/* ---- floats ---------------------------------------------------------------------------------- */

/* PW_BLOCK elements are added in order, longer runs split in halves: error grows with log n. */
enum { PW_BLOCK = 8 };

#define FLOAT_LANES(SUF, T, EXP, LOG)                                                              \
    static T sum_##SUF(const T *x, int64_t n)                                                      \
    {                                                                                              \
        if (n > PW_BLOCK) {                                                                        \
            int64_t h = n / 2;                                                                     \
            return sum_##SUF(x, h) + sum_##SUF(x + h, n - h);                                      \
        }                                                                                          \
        T acc = 0;                                                                                 \
        for (int64_t j = 0; j < n; j++)                                                            \
            acc += x[j];                                                                           \
        return acc;                                                                                \
    }                                                                                              \
    /* numpy's max/min: a NaN anywhere is the result */                                           \
    static T extreme_##SUF(bool max, const T *x, int64_t n)                                        \
    {                                                                                              \
        T m = x[0];                                                                                \
        for (int64_t j = 1; j < n && m == m; j++)                                                  \
            if ((max ? x[j] > m : x[j] < m) || x[j] != x[j])                                       \
                m = x[j];                                                                          \
        return m;                                                                                  \
    }                                                                                              \
    /* sum of exp(x - m), pairwise: the terms go to e (n elements of scratch) */                  \
    static T sumexp_##SUF(const T *x, int64_t n, T m, T *e)                                        \
    {                                                                                              \
        for (int64_t j = 0; j < n; j++)                                                            \
            e[j] = EXP(x[j] - m);                                                                  \
        return sum_##SUF(e, n);                                                                    \
    }                                                                                              \
    /* m + log(sum(exp(x - m))) with an infinite max replaced by 0 (all -inf gives -inf) */       \
    static T lse_##SUF(const T *x, int64_t n, T *e)                                                \
    {                                                                                              \
        T m = extreme_##SUF(true, x, n);                                                           \
        if (m - m != 0 && m == m)                                                                  \
            m = 0;                                                                                 \
        return m + LOG(sumexp_##SUF(x, n, m, e));                                                  \
    }                                                                                              \
    static T reduce_##SUF(tj_op op, const T *x, int64_t n, T *e)                                   \
    {                                                                                              \
        T acc = 1;                                                                                 \
        switch (op) {                                                                              \
        case TJ_OP_SUM: return sum_##SUF(x, n);                                                    \
        case TJ_OP_MEAN: return sum_##SUF(x, n) / (T)n; /* 0/0: the mean of nothing is NaN */     \
        case TJ_OP_MAX: return extreme_##SUF(true, x, n);                                          \
        case TJ_OP_MIN: return extreme_##SUF(false, x, n);                                         \
        case TJ_OP_LOGSUMEXP: return lse_##SUF(x, n, e);                                           \
        default: /* PROD */                                                                        \
            for (int64_t j = 0; j < n; j++)                                                        \
                acc *= x[j];                                                                       \
            return acc;                                                                            \
        }                                                                                          \
    }                                                                                              \
    /* the first index of the extreme; NaN is the extreme of both, the first NaN wins */          \
    static int64_t arg_##SUF(bool max, const T *x, int64_t n)                                      \
    {                                                                                              \
        int64_t at = 0;                                                                            \
        for (int64_t j = 1; j < n && x[at] == x[at]; j++)                                          \
            if ((max ? x[j] > x[at] : x[j] < x[at]) || x[j] != x[j])                               \
                at = j;                                                                            \
        return at;                                                                                 \
    }                                                                                              \
    /* softmax = exp(x - max) / sum(exp(x - max)); log_softmax = (x - max) - log(sum(...)) */    \
    static void softmax_##SUF(bool log_out, T *x, int64_t n, T *e)                                 \
    {                                                                                              \
        T m = extreme_##SUF(true, x, n);                                                           \
        T s = sumexp_##SUF(x, n, m, e), ls = LOG(s);                                               \
        for (int64_t j = 0; j < n; j++)                                                            \
            x[j] = log_out ? (x[j] - m) - ls : EXP(x[j] - m) / s;                                  \
    }

FLOAT_LANES(f32, float, expf, logf)
FLOAT_LANES(f64, double, exp, log)

/* ---- checks ---------------------------------------------------------------------------------- */

static bool is_arg(tj_op op) { return op == TJ_OP_ARGMAX || op == TJ_OP_ARGMIN; }
static bool is_softmax(tj_op op) { return op == TJ_OP_SOFTMAX || op == TJ_OP_LOG_SOFTMAX; }

/* Which input dtypes each op takes (the builders cast everything else), and the result's. */
static tj_status check_node(tj_ctx *ctx, const tj_var *node, const tj_array *a)
{
    tj_op op = node->op;
    tj_dtype d = a->dtype;
    bool ok;
    switch (op) {
    case TJ_OP_SUM:
    case TJ_OP_PROD: ok = d != TJ_BOOL; break;
    case TJ_OP_MEAN:
    case TJ_OP_SOFTMAX:
    case TJ_OP_LOG_SOFTMAX:
    case TJ_OP_LOGSUMEXP: ok = tj_dtype_is_float(d); break;
    case TJ_OP_ALL:
    case TJ_OP_ANY: ok = d == TJ_BOOL; break;
    default: ok = true; break; /* MAX MIN ARGMAX ARGMIN */
    }
    if (!ok)
        return tjI_error(ctx, node, TJ_ERR_INVALID, "%s is not defined for %s (a cast is missing)",
                         tjG_ops[op].name, tj_dtype_name(d));
    tj_dtype want = is_arg(op) ? TJ_INT64 : d;
    if (node->dtype != want)
        return tjI_error(ctx, node, TJ_ERR_INVALID, "the input is %s, so %s gives %s, not %s",
                         tj_dtype_name(d), tjG_ops[op].name, tj_dtype_name(want),
                         tj_dtype_name(node->dtype));
    return TJ_OK;
}

/* The reduced axes as a mask and the output shape; checks the attributes against the node. */
static tj_status output_shape(tj_ctx *ctx, const tj_var *node, const tj_array *a, uint64_t *mask,
                              int *ndim, int64_t *shape)
{
    tj_op op = node->op;
    if (is_softmax(op)) {
        if (node->nattr < 1 || node->attr[0] < 0 || node->attr[0] >= a->ndim)
            return tjI_error(ctx, node, TJ_ERR_INVALID, "the softmax axis is out of range for "
                             "rank %d", a->ndim);
        *mask = 1ull << node->attr[0];
        *ndim = a->ndim;
        memcpy(shape, a->shape, sizeof *shape * (size_t)a->ndim);
        return TJ_OK;
    }
    if (node->nattr < 2)
        return tjI_error(ctx, node, TJ_ERR_INVALID, "a reduction needs its axis mask and keepdims");
    *mask = (uint64_t)node->attr[0];
    bool keep = node->attr[1] != 0;
    if (a->ndim < 64 && (*mask >> a->ndim) != 0)
        return tjI_error(ctx, node, TJ_ERR_INVALID, "axis mask 0x%llx exceeds the input rank %d",
                         (unsigned long long)*mask, a->ndim);
    uint64_t all = a->ndim >= 64 ? ~0ull : (1ull << a->ndim) - 1;
    if (is_arg(op) && *mask != all && __builtin_popcountll(*mask) != 1)
        return tjI_error(ctx, node, TJ_ERR_INVALID, "%s takes one axis or all of them",
                         tjG_ops[op].name);
    int on = 0;
    for (int d = 0; d < a->ndim; d++) {
        bool red = (*mask >> d) & 1u;
        if (red && !keep)
            continue;
        shape[on++] = red ? 1 : a->shape[d];
    }
    if (on != node->ndim)
        return tjI_error(ctx, node, TJ_ERR_INVALID, "the reduction gives rank %d, the node has %d",
                         on, node->ndim);
    *ndim = on;
    return TJ_OK;
}

/* numpy raises for reductions without an identity over nothing, when there is a result to make */
static bool needs_element(tj_op op)
{
    return op == TJ_OP_MAX || op == TJ_OP_MIN || is_arg(op) || is_softmax(op) ||
           op == TJ_OP_LOGSUMEXP;
}

/* ---- the driver ------------------------------------------------------------------------------ */

/* Reduces (or transforms) one gathered lane and writes the result(s) at o; scratch holds n
 * elements of d (the terms of a pairwise sum of exponentials). */
static void do_lane(tj_op op, tj_dtype d, char *lane, int64_t n, char *o, char *scratch)
{
    if (is_arg(op)) {
        bool max = op == TJ_OP_ARGMAX;
        int64_t at = d == TJ_FLOAT32   ? arg_f32(max, (const float *)lane, n)
                     : d == TJ_FLOAT64 ? arg_f64(max, (const double *)lane, n)
                                       : int_arg(max, d, lane, n);
        memcpy(o, &at, sizeof at);
    } else if (is_softmax(op)) {
        if (d == TJ_FLOAT32)
            softmax_f32(op == TJ_OP_LOG_SOFTMAX, (float *)lane, n, (float *)scratch);
        else
            softmax_f64(op == TJ_OP_LOG_SOFTMAX, (double *)lane, n, (double *)scratch);
    } else if (d == TJ_FLOAT32) {
        float v = reduce_f32(op, (const float *)lane, n, (float *)scratch);
        memcpy(o, &v, sizeof v);
    } else if (d == TJ_FLOAT64) {
        double v = reduce_f64(op, (const double *)lane, n, (double *)scratch);
        memcpy(o, &v, sizeof v);
    } else {
        tjA_store_int(d, o, int_reduce(op, d, lane, n));
    }
}

tj_status tjI_reduce(tj_ctx *ctx, const tj_var *node, tj_array *const *in, tj_array **out)
{
    const tj_array *a = in[0];
    tj_op op = node->op;
    uint64_t mask = 0;
    int on = 0;
    int64_t oshape[TJ_MAX_NDIM];
    tj_status st = check_node(ctx, node, a);
    if (st == TJ_OK)
        st = output_shape(ctx, node, a, &mask, &on, oshape);
    if (st != TJ_OK)
        return st;
    tj_array *res;
    if ((st = tjI_alloc(ctx, node, on, oshape, &res)) != TJ_OK)
        return st;
    *out = res;
    layout L;
    make_layout(&L, a, mask, is_softmax(op) ? res->strides : NULL);
    /* (softmax of an empty axis raises too, as scipy's: its max has a place to fill) */
    if (L.lanes > 0 && L.count == 0 && needs_element(op))
        return tjI_error(ctx, node, TJ_ERR_VALUE,
                         "%s of an empty axis: numpy raises (a zero-size reduction has no "
                         "identity)",
                         tjG_ops[op].name);
    if (L.lanes == 0 || res->size == 0)
        return TJ_OK;
    size_t es = tj_dtype_size(a->dtype), os = tj_dtype_size(res->dtype);
    /* The output is not empty, so every lane exists and the lane is at most the input's size. */
    /* the lane, then as much scratch (softmax and logsumexp keep their terms there) */
    char *lane = tjC_malloc(ctx, L.count ? 2 * (size_t)L.count * es : 1);
    if (!lane)
        return tjI_error(ctx, node, TJ_ERR_NOMEM, "out of memory for a lane of %lld elements",
                         (long long)L.count);
    char *scratch = lane + (size_t)L.count * es;
    int64_t idx[TJ_MAX_NDIM] = {0}, off_in = 0, off_out = 0;
    for (int64_t i = 0; i < L.lanes; i++) {
        lane_copy(&L, a->dtype, lane, a->data + off_in, NULL, true);
        if (is_softmax(op)) {
            do_lane(op, a->dtype, lane, L.count, NULL, scratch);
            lane_copy(&L, a->dtype, lane, NULL, res->data + off_out, false);
        } else {
            do_lane(op, a->dtype, lane, L.count, res->data + (size_t)i * os, scratch);
        }
        for (int d = L.nk - 1; d >= 0; d--) {
            off_in += L.kin[d];
            off_out += L.kout[d];
            if (++idx[d] < L.kshape[d])
                break;
            off_in -= L.kshape[d] * L.kin[d];
            off_out -= L.kshape[d] * L.kout[d];
            idx[d] = 0;
        }
    }
    tjC_free(ctx, lane);
    return TJ_OK;
}
