/* Canonicalize, types and shapes: constant folding through the reference executor, cast(cast x),
 * useless and nested dimshuffles, dimshuffles lifted through elementwise ops toward the leaves,
 * nested sums, reductions over length-1 axes, and shape_of answered from the inputs. */
#include "algebra.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define P TJR_P
#define V TJR_V

enum { FOLD_CAP = 1 << 16 }; /* elements: larger constants stay computations */

/* ---- constant folding ------------------------------------------------------------------------ */

/* A constant behind dimshuffles: its static shape in shape[ndim]. */
static bool const_shape(const tj_var *v, int64_t *shape)
{
    const tj_var *chain[TJ_MAX_NDIM * 4];
    int n = 0;
    while (v->op == TJ_OP_DIMSHUFFLE) {
        if (n == (int)(sizeof chain / sizeof chain[0]))
            return false;
        chain[n++] = v;
        v = v->in[0];
    }
    if (v->op != TJ_OP_CONSTANT || !v->value)
        return false;
    int64_t cur[TJ_MAX_NDIM];
    int nd = v->value->ndim;
    memcpy(cur, v->value->shape, sizeof(int64_t) * (size_t)nd);
    for (int i = n - 1; i >= 0; i--) {
        int64_t next[TJ_MAX_NDIM];
        for (int d = 0; d < chain[i]->nattr; d++)
            next[d] = chain[i]->attr[d] < 0 ? 1 : cur[chain[i]->attr[d]];
        nd = chain[i]->nattr;
        memcpy(cur, next, sizeof(int64_t) * (size_t)nd);
    }
    memcpy(shape, cur, sizeof(int64_t) * (size_t)nd);
    return true;
}

static bool foldable_op(tj_op op)
{
    return tj_op_is(op, OPF_ELEMWISE) || tj_op_is(op, OPF_REDUCE) || op == TJ_OP_DOT ||
           op == TJ_OP_DIMSHUFFLE || op == TJ_OP_SHAPE_OF || op == TJ_OP_GEMM ||
           op == TJ_OP_GEMV || op == TJ_OP_GER;
}

/* An upper bound of the result's element count, or -1 when over the cap. */
static int64_t fold_size(const tj_var *r)
{
    int64_t shapes[3][TJ_MAX_NDIM], bound = 1;
    if (r->nin > 5)
        return -1;
    int64_t maxin = 1;
    for (int i = 0; i < r->nin; i++) {
        int64_t s[TJ_MAX_NDIM], size = 1;
        if (!const_shape(r->in[i], s))
            return -1;
        for (int d = 0; d < r->in[i]->ndim; d++)
            size *= s[d];
        maxin = size > maxin ? size : maxin;
        if (i < 3)
            memcpy(shapes[i], s, sizeof s);
    }
    if (tj_op_is(r->op, OPF_ELEMWISE)) {
        for (int d = 0; d < r->ndim; d++) {
            int64_t m = 1;
            for (int i = 0; i < r->nin && i < 3; i++)
                m = shapes[i][d] > m ? shapes[i][d] : m;
            bound *= m;
            if (bound > FOLD_CAP)
                return -1;
        }
    } else if (r->op == TJ_OP_DOT || r->op == TJ_OP_GEMM || r->op == TJ_OP_GER) {
        /* the result is at most (rows of a, or its length) x (columns of b, or its length) */
        int64_t rows = shapes[0][0], cols = shapes[1][r->in[1]->ndim == 2 ? 1 : 0];
        bound = rows > FOLD_CAP || cols > FOLD_CAP ? FOLD_CAP + 1 : rows * cols;
        bound = bound > maxin ? bound : maxin;
    } else {
        bound = maxin;
    }
    return bound > FOLD_CAP ? -1 : bound;
}

static bool has_nan(const tj_array *a)
{
    if (!tj_dtype_is_float(a->dtype))
        return false;
    for (int64_t i = 0; i < a->size; i++) {
        double x = tjA_load(a->dtype, a->data, i);
        if (x != x)
            return true;
    }
    return false;
}

/* A node whose inputs are all constants becomes a constant, computed by the reference executor;
 * never a value with a NaN its inputs did not have, never one above FOLD_CAP elements. */
static tj_var *rw_fold(tjR_match *m)
{
    tj_var *r = m->root;
    tj_ctx *ctx = r->ctx;
    if (r->nin == 0 || !foldable_op(r->op) || tj_op_is(r->op, OPF_UNIQUE))
        return NULL;
    int64_t s[TJ_MAX_NDIM];
    /* dimshuffle(0-d constant) is the scalar literal form: nothing to fold */
    if (r->op == TJ_OP_DIMSHUFFLE && const_shape(r->in[0], s) && r->in[0]->ndim == 0)
        return NULL;
    if (fold_size(r) < 0)
        return NULL;
    bool nan_in = false;
    for (int i = 0; i < r->nin; i++) {
        tj_var *c = r->in[i];
        while (c->op == TJ_OP_DIMSHUFFLE)
            c = c->in[0];
        nan_in = nan_in || has_nan(c->value);
    }
    tj_array *val = NULL;
    if (tjI_eval(ctx, NULL, NULL, 0, &r, 1, &val) != TJ_OK) {
        /* a constant expression that fails (a shape error) fails at run time, as written */
        if (ctx->err == TJ_ERR_NOMEM)
            return NULL;
        ctx->err = TJ_OK;
        ctx->errmsg[0] = '\0';
        return NULL;
    }
    if ((has_nan(val) && !nan_in) || val->size > FOLD_CAP) {
        tj_array_unref(val);
        return NULL;
    }
    tj_var *res;
    if (tjR_is_scalar(r) && r->ndim > 0) { /* one element: the scalar literal form */
        tj_array *a = tjA_alloc(ctx, r->dtype, 0, NULL, false);
        if (!a) {
            tj_array_unref(val);
            tjC_error(ctx, TJ_ERR_NOMEM, "out of memory folding a constant");
            return NULL;
        }
        memcpy(a->data, val->data, tj_dtype_size(r->dtype));
        tj_array_unref(val);
        tj_var *c = tjG_make(ctx, TJ_OP_CONSTANT, r->dtype, 0, 0, NULL, 0, NULL, 0, a);
        int pattern[TJ_MAX_NDIM];
        for (int d = 0; d < r->ndim; d++)
            pattern[d] = -1;
        res = c ? tj_dimshuffle(c, pattern, r->ndim) : NULL;
    } else {
        res = tjG_make(ctx, TJ_OP_CONSTANT, r->dtype, r->ndim, r->bcast, NULL, 0, NULL, 0, val);
    }
    return res;
}

/* ---- casts ----------------------------------------------------------------------------------- */

static tj_var *rw_cast_useless(tjR_match *m)
{
    return m->v[0]->dtype == m->root->dtype ? m->v[0] : NULL;
}

/* cast(cast(x, t1), t2) -> cast(x, t2) when x -> t1 is exact (the value reaching t2 is x's) */
static tj_var *rw_cast_cast(tjR_match *m)
{
    tj_var *x = m->v[0];
    if (!tjA_can_cast_safely(x->dtype, m->root->in[0]->dtype))
        return NULL;
    return tj_cast(x, m->root->dtype);
}

/* ---- dimshuffles ----------------------------------------------------------------------------- */

static int pattern_of(const tj_var *v, int *p)
{
    for (int i = 0; i < v->nattr; i++)
        p[i] = (int)v->attr[i];
    return v->nattr;
}

/* a dimshuffle that only swaps broadcastable axes for new ones in place is x itself */
static tj_var *rw_dimshuffle_useless(tjR_match *m)
{
    tj_var *r = m->root, *x = m->v[0];
    if (r->ndim != x->ndim)
        return NULL;
    for (int i = 0; i < r->ndim; i++)
        if (r->attr[i] != i && !(r->attr[i] < 0 && ((x->bcast >> i) & 1)))
            return NULL;
    return x;
}

static tj_var *rw_dimshuffle_merge(tjR_match *m)
{
    tj_var *r = m->root, *mid = r->in[0], *x = m->v[0];
    int q[TJ_MAX_NDIM], p[TJ_MAX_NDIM], c[TJ_MAX_NDIM];
    int n = pattern_of(r, q);
    pattern_of(mid, p);
    for (int i = 0; i < n; i++)
        c[i] = q[i] < 0 ? -1 : p[q[i]];
    return tj_dimshuffle(x, c, n);
}

enum { LIFT_DEPTH = 512 }; /* levels one firing lifts through (a C stack frame each) */

/* v with the dimshuffle p pushed below it through every elementwise node of one consumer */
static tj_var *lift_through(tjR_run *run, tj_var *v, const int *p, int n, int depth)
{
    if (depth >= LIFT_DEPTH || !tj_op_is(v->op, OPF_ELEMWISE) || v->nin > 3 ||
        tjR_clients(run, v) != 1)
        return tj_dimshuffle(v, p, n);
    tj_var *in[3];
    for (int i = 0; i < v->nin; i++)
        if (!(in[i] = lift_through(run, v->in[i], p, n, depth + 1)))
            return NULL;
    return tjG_rebuild(v, in, false);
}

/* dimshuffle(f(g(a), b)) -> f(g(dimshuffle(a)), dimshuffle(b)) through the elementwise nodes
 * that have no other consumer: transposes move to the leaves, where BLAS takes them as flags
 * and kernels as strides. All levels at once: a sweep visits inputs first, so a level per
 * firing took a sweep per level, and the transpose of a chain of 40 ops never reached the
 * fixpoint. */
static tj_var *rw_dimshuffle_lift(tjR_match *m)
{
    tj_var *r = m->root, *e = m->v[0];
    if (!tj_op_is(e->op, OPF_ELEMWISE) || e->nin > 3 || tjR_clients(m->run, e) != 1)
        return NULL;
    int p[TJ_MAX_NDIM];
    int n = pattern_of(r, p);
    return lift_through(m->run, e, p, n, 0);
}

/* ---- reductions ------------------------------------------------------------------------------ */

/* reduce(x, mask, keepdims=true) then the axes the root drops removed: keep[] lists, in order,
 * the axes of x that survive in the root. */
static tj_var *reduce_then_drop(tj_op op, tj_var *x, uint32_t mask, const int *keep, int nkeep)
{
    tj_var *s = mask ? tjG_reduce(op, x, mask, true) : x;
    return s ? tj_dimshuffle(s, keep, nkeep) : NULL;
}

/* sum(sum(x, a), b) -> sum(x, a | b); the same for mean (equal-size groups) */
static tj_var *rw_reduce_reduce(tjR_match *m)
{
    tj_var *r = m->root, *inner = r->in[0], *x = m->v[0];
    if (inner->op != r->op || tjR_clients(m->run, inner) != 1)
        return NULL;
    uint32_t a = (uint32_t)inner->attr[0], b = (uint32_t)r->attr[0];
    bool ki = inner->attr[1] != 0, ko = r->attr[1] != 0;
    /* x's axis of each of the inner result's axes */
    int mid_axis[TJ_MAX_NDIM], nmid = 0;
    for (int d = 0; d < x->ndim; d++)
        if (ki || !((a >> d) & 1))
            mid_axis[nmid++] = d;
    uint32_t comb = a, dropped = ki ? 0 : a;
    for (int j = 0; j < nmid; j++)
        if ((b >> j) & 1) {
            comb |= 1u << mid_axis[j];
            if (!ko)
                dropped |= 1u << mid_axis[j];
        }
    int keep[TJ_MAX_NDIM], nkeep = 0;
    for (int d = 0; d < x->ndim; d++)
        if (!((dropped >> d) & 1))
            keep[nkeep++] = d;
    return reduce_then_drop(r->op, x, comb, keep, nkeep);
}

/* reductions over length-1 (broadcastable) axes: those axes are dropped from the reduction */
static tj_var *rw_reduce_bcast_axes(tjR_match *m)
{
    tj_var *r = m->root, *x = m->v[0];
    if (r->op != TJ_OP_SUM && r->op != TJ_OP_MEAN && r->op != TJ_OP_PROD &&
        r->op != TJ_OP_MAX && r->op != TJ_OP_MIN && r->op != TJ_OP_ALL && r->op != TJ_OP_ANY)
        return NULL;
    uint32_t mask = (uint32_t)r->attr[0], trivial = mask & x->bcast;
    if (!trivial)
        return NULL;
    bool keepdims = r->attr[1] != 0;
    int keep[TJ_MAX_NDIM], nkeep = 0;
    for (int d = 0; d < x->ndim; d++)
        if (keepdims || !((mask >> d) & 1))
            keep[nkeep++] = d;
    return reduce_then_drop(r->op, x, mask & ~trivial, keep, nkeep);
}

/* ---- shape_of -------------------------------------------------------------------------------- */

/* One step down: the (node, axis) whose length is axis `*axis` of v, or NULL. */
static tj_var *shape_source(tj_var *v, int *axis)
{
    int a = *axis;
    if (tj_op_is(v->op, OPF_ELEMWISE)) {
        for (int i = 0; i < v->nin; i++)
            if (v->in[i]->ndim == v->ndim && !((v->in[i]->bcast >> a) & 1))
                return v->in[i];
        return NULL;
    }
    switch (v->op) {
    case TJ_OP_DIMSHUFFLE:
        *axis = (int)v->attr[a];
        return v->attr[a] >= 0 ? v->in[0] : NULL;
    case TJ_OP_SUM:
    case TJ_OP_MEAN:
    case TJ_OP_PROD:
    case TJ_OP_MAX:
    case TJ_OP_MIN:
    case TJ_OP_ALL:
    case TJ_OP_ANY: {
        uint32_t mask = (uint32_t)v->attr[0];
        int j = 0;
        for (int d = 0; d < v->in[0]->ndim; d++) {
            bool red = (mask >> d) & 1;
            if (red && !v->attr[1])
                continue;
            if (j++ == a) {
                *axis = d;
                return red ? NULL : v->in[0];
            }
        }
        return NULL;
    }
    case TJ_OP_DOT:
        if (v->in[0]->ndim == 2 && a == 0) {
            *axis = 0;
            return v->in[0];
        }
        *axis = 1;
        return v->in[1]->ndim == 2 ? v->in[1] : NULL;
    case TJ_OP_GEMM:
        *axis = a == 0 ? (v->attr[0] ? 1 : 0) : (v->attr[1] ? 0 : 1);
        return v->in[a == 0 ? 0 : 1];
    case TJ_OP_GEMV:
        *axis = v->attr[0] ? 1 : 0;
        return v->in[0];
    case TJ_OP_GER:
        *axis = 0;
        return v->in[a];
    default:
        return NULL;
    }
}

/* shape_of(v, axis) from the graph's leaves (or the first node it cannot see through), in one
 * step: a shape never waits for (or keeps alive) a computed value. */
static tj_var *rw_shape_of_lift(tjR_match *m)
{
    tj_var *r = m->root, *v = m->v[0];
    int axis = (int)r->attr[0];
    if ((v->bcast >> axis) & 1)
        return tjR_const(r->ctx, TJ_INT64, 1);
    tj_var *src = v;
    for (;;) { /* iterative: a chain of layers may be long */
        int a = axis;
        tj_var *next = shape_source(src, &a);
        if (!next)
            break;
        src = next;
        axis = a;
    }
    return src == v ? NULL : tj_shape_of(src, axis);
}

/* ---- reshape --------------------------------------------------------------------------------- */

/* The node and axis whose length (x, axis) is, as far as the graph shows it. */
static void length_source(tj_var **x, int *axis)
{
    for (;;) {
        int a = *axis;
        tj_var *next = shape_source(*x, &a);
        if (!next)
            return;
        *x = next;
        *axis = a;
    }
}

/* reshape(x, shape of x) -> x: every size is x's own length on that axis (a shape_of of it, or 1
 * on a broadcastable axis), at most one inferred (-1) */
static tj_var *rw_reshape_useless(tjR_match *m)
{
    tj_var *r = m->root, *x = r->in[0];
    if (r->ndim != x->ndim || !tjR_same_type(r, x) || r->nattr != r->ndim)
        return NULL;
    int dyn = 1, inferred = 0;
    for (int d = 0; d < r->ndim; d++) {
        int64_t a = r->attr[d];
        if (a == -1) {
            inferred++;
            continue;
        }
        if (a == 1 && ((x->bcast >> d) & 1))
            continue;
        if (a != TJ_DYN || dyn >= r->nin)
            return NULL;
        tj_var *s = r->in[dyn++];
        while (s->op == TJ_OP_CAST && s->in[0]->dtype == TJ_INT64)
            s = s->in[0];
        if (s->op != TJ_OP_SHAPE_OF)
            return NULL;
        tj_var *p = s->in[0], *q = x;
        int pa = (int)s->attr[0], qa = d;
        length_source(&p, &pa);
        length_source(&q, &qa);
        if (p != q || pa != qa)
            return NULL;
    }
    return inferred <= 1 ? x : NULL;
}

/* reshape(reshape(x, s1), s2) -> reshape(x, s2): the sizes never depend on the middle shape */
static tj_var *rw_reshape_reshape(tjR_match *m)
{
    tj_var *r = m->root, *inner = r->in[0];
    if (inner->op != TJ_OP_RESHAPE || tjR_clients(m->run, inner) != 1 ||
        r->nin > TJ_MAX_NDIM + 1)
        return NULL;
    tj_var *in[TJ_MAX_NDIM + 1];
    for (int i = 0; i < r->nin; i++)
        in[i] = r->in[i];
    in[0] = inner->in[0];
    return tjG_rebuild(r, in, true);
}

static const tjR_rule rules[] = {
    {"constant_fold", TJR_ANY, rw_fold, 0},
    {"cast_useless", P(CAST, V(0)), rw_cast_useless, 0},
    {"cast_cast", P(CAST, P(CAST, V(0))), rw_cast_cast, 0},
    {"dimshuffle_useless", P(DIMSHUFFLE, V(0)), rw_dimshuffle_useless, 0},
    {"dimshuffle_merge", P(DIMSHUFFLE, P(DIMSHUFFLE, V(0))), rw_dimshuffle_merge, 0},
    {"dimshuffle_lift", P(DIMSHUFFLE, V(0)), rw_dimshuffle_lift, 0},
    {"reduce_reduce", P(SUM, TJR_P(SUM, V(0))), rw_reduce_reduce, 0},
    {"reduce_reduce", P(MEAN, TJR_P(MEAN, V(0))), rw_reduce_reduce, 0},
    {"reduce_bcast_axes", P(SUM, V(0)), rw_reduce_bcast_axes, 0},
    {"reduce_bcast_axes", P(MEAN, V(0)), rw_reduce_bcast_axes, 0},
    {"reduce_bcast_axes", P(PROD, V(0)), rw_reduce_bcast_axes, 0},
    {"reduce_bcast_axes", P(MAX, V(0)), rw_reduce_bcast_axes, 0},
    {"reduce_bcast_axes", P(MIN, V(0)), rw_reduce_bcast_axes, 0},
    {"reduce_bcast_axes", P(ALL, V(0)), rw_reduce_bcast_axes, 0},
    {"reduce_bcast_axes", P(ANY, V(0)), rw_reduce_bcast_axes, 0},
    {"shape_of_lift", P(SHAPE_OF, V(0)), rw_shape_of_lift, 0},
    {"reshape_useless", TJR_P0(RESHAPE), rw_reshape_useless, 0},
    {"reshape_reshape", TJR_P0(RESHAPE), rw_reshape_reshape, 0},
};

const tjR_family tjR_canon_shape_rules = {"canonicalize", rules, sizeof rules / sizeof rules[0]};
