/* Reverse-mode differentiation (theano.grad). Every op's vector-Jacobian product is written with
 * the public builders, so a gradient is an ordinary graph: it is optimized and compiled like any
 * other, and it can be differentiated again.
 *
 * Contract: the gradient for a variable v always has v's exact type (dtype, ndim, broadcast
 * pattern). Each VJP may return a term of a wider type (broadcast where v is broadcastable, or in
 * another dtype); fit() reduces it to v's type before it is accumulated. */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>

/* a 0-d constant of like's dtype; NULL-safe so rules can nest builders (sticky errors) */
static tj_var *K(tj_var *like, double value) { return like ? tjG_const_like(like, value) : NULL; }

/* ---- reducing a gradient term to the type of the variable it is for -------------------------- */

/* g reshaped to the exact type of x: leading extra axes summed away, missing leading axes added,
 * summed (keepdims) over axes where x broadcasts and g does not, filled to x's shape where g
 * broadcasts and x does not, and cast last so any sum runs in g's precision. */
static tj_var *fit(tj_var *g, tj_var *x)
{
    if (!g)
        return NULL;
    if (g->ndim > x->ndim)
        g = tjG_reduce(TJ_OP_SUM, g, tjG_axes_below(g->ndim - x->ndim), false);
    if (g && g->ndim < x->ndim) {
        int pattern[TJ_MAX_NDIM], add = x->ndim - g->ndim;
        for (int d = 0; d < x->ndim; d++)
            pattern[d] = d < add ? -1 : d - add;
        g = tj_dimshuffle(g, pattern, x->ndim);
    }
    if (g && (x->bcast & ~g->bcast))
        g = tjG_reduce(TJ_OP_SUM, g, x->bcast & ~g->bcast, true);
    if (g && (g->bcast & ~x->bcast))
        g = tjG_elemwise(TJ_OP_SECOND, (tj_var *[]){x, g}, 2);
    if (g && g->dtype != x->dtype)
        g = tj_cast(g, x->dtype);
    return g;
}

/* zeros of v's exact type (Theano's zeros_like) */
static tj_var *zeros_like(tj_var *v)
{
    tj_var *zero = K(v, 0.0);
    if (!zero || v->ndim == 0)
        return zero;
    return tjG_elemwise(TJ_OP_SECOND, (tj_var *[]){v, zero}, 2);
}

/* ---- the rules ------------------------------------------------------------------------------- */

/* sum/mean: g broadcast back over the reduced axes (mean also divided by their element count) */
static tj_var *reduce_vjp(tj_var *node, tj_var *g)
{
    tj_var *x = node->in[0];
    uint32_t mask = (uint32_t)node->attr[0];
    if (!node->attr[1]) { /* put the dropped axes back as broadcastable ones */
        int pattern[TJ_MAX_NDIM], j = 0;
        for (int d = 0; d < x->ndim; d++)
            pattern[d] = (mask >> d) & 1 ? -1 : j++;
        g = tj_dimshuffle(g, pattern, x->ndim);
    }
    if (node->op == TJ_OP_MEAN) {
        /* shapes are known only at run time: the count is a graph, not a constant; axes that are
         * broadcastable have length 1 and are left out of it */
        tj_var *count = NULL;
        for (int d = 0; d < x->ndim; d++) {
            if (!((mask >> d) & 1) || ((x->bcast >> d) & 1))
                continue;
            tj_var *len = tj_shape_of(x, d);
            count = count ? tj_mul(count, len) : len;
        }
        if (count)
            g = tj_div(g, tj_cast(count, node->dtype));
    }
    return tjG_elemwise(TJ_OP_SECOND, (tj_var *[]){x, g}, 2);
}

/* numpy.dot for ranks 1 and 2 */
static tj_var *dot_vjp(tj_var *node, int i, tj_var *g)
{
    static const int col[2] = {0, -1}, row[2] = {-1, 0};
    tj_var *a = node->in[0], *b = node->in[1];
    if (a->ndim == 2 && b->ndim == 2) /* C = AB: gA = g B^T, gB = A^T g */
        return i == 0 ? tj_dot(g, tj_transpose(b)) : tj_dot(tj_transpose(a), g);
    if (a->ndim == 2) /* y = Av: gA = outer(g, v), gv = A^T g */
        return i == 0 ? tj_dot(tj_dimshuffle(g, col, 2), tj_dimshuffle(b, row, 2))
                      : tj_dot(tj_transpose(a), g);
    if (b->ndim == 2) /* y = vA: gv = A g, gA = outer(v, g) */
        return i == 0 ? tj_dot(b, g) : tj_dot(tj_dimshuffle(a, col, 2), tj_dimshuffle(g, row, 2));
    return tj_mul(g, i == 0 ? b : a); /* y = x.y: g is a scalar */
}

/* the inverse dimshuffle: output axes go back to their input axes, new axes ('x', length 1) are
 * dropped, dropped broadcastable input axes come back as new ones */
static tj_var *dimshuffle_vjp(tj_var *node, tj_var *g)
{
    tj_var *x = node->in[0];
    int pattern[TJ_MAX_NDIM];
    for (int d = 0; d < x->ndim; d++)
        pattern[d] = -1;
    for (int k = 0; k < node->nattr; k++)
        if (node->attr[k] >= 0)
            pattern[node->attr[k]] = k;
    return tj_dimshuffle(g, pattern, x->ndim);
}

/* The raw VJP term of node for input i (not yet fitted to the input's type). *none is set when the
 * input gets no gradient; otherwise NULL means a builder failed (the error is recorded). */
static tj_var *rule(tj_var *node, int i, tj_var *g, bool *none)
{
    *none = false;
    if (tj_op_is(node->op, OPF_ELEMWISE)) /* grad_elemwise.c */
        return tjD_elemwise_rule(node, i, g, none);
    switch (node->op) {
    case TJ_OP_INPUT: case TJ_OP_CONSTANT: case TJ_OP_SHARED:
    case TJ_OP_SHAPE_OF:
    /* random draws are constants to grad; zero_grad passes a zero (connected) gradient and
     * disconnected_grad none (edge() already stops it) */
    case TJ_OP_RANDOM: case TJ_OP_RNG_NEXT: case TJ_OP_ZERO_GRAD: case TJ_OP_DISCONNECTED_GRAD:
        *none = true;
        return NULL;
    case TJ_OP_SUM:
    case TJ_OP_MEAN:
        return reduce_vjp(node, g);
    case TJ_OP_PROD: case TJ_OP_MAX: case TJ_OP_MIN: case TJ_OP_SOFTMAX: case TJ_OP_LOG_SOFTMAX:
    case TJ_OP_LOGSUMEXP:
        return tjD_reduce_vjp(node, g);
    case TJ_OP_DOT:
        return dot_vjp(node, i, g);
    case TJ_OP_DIMSHUFFLE:
        return dimshuffle_vjp(node, g);
    case TJ_OP_RESHAPE: case TJ_OP_JOIN: case TJ_OP_SPLIT: case TJ_OP_ALLOC: case TJ_OP_ARANGE:
    case TJ_OP_SLICE: case TJ_OP_INDEX: case TJ_OP_TAKE: case TJ_OP_SET_SUBTENSOR:
    case TJ_OP_INC_SUBTENSOR: case TJ_OP_MATMUL:
        return tjD_shape_vjp(node, i, g, none); /* grad_shape.c */
    default: {
        char buf[160];
        tjC_error(node->ctx, TJ_ERR_INVALID, "no gradient rule is defined for op '%s' (%s)",
                  tjG_ops[node->op].name, tjG_describe(node, buf, sizeof buf));
        return NULL;
    }
    }
}

/* Names the node whose gradient failed to build (for its input i; i < 0: for the node itself),
 * keeping the builder's message. */
static tj_status build_failed(tj_var *node, int i)
{
    char buf[160], where[32] = "", prev[sizeof node->ctx->errmsg];
    tj_ctx *ctx = node->ctx;
    tj_status st = ctx->err != TJ_OK ? ctx->err : TJ_ERR_INVALID;
    snprintf(prev, sizeof prev, "%s", ctx->errmsg);
    if (i >= 0)
        snprintf(where, sizeof where, " for its input %d", i);
    return tjC_error(ctx, st, "tj_grad: building the gradient of %s%s failed: %s",
                     tjG_describe(node, buf, sizeof buf), where, prev);
}

/* The contribution of node's gradient g to input i, of the input's exact type; *out = NULL when
 * the input gets none (integer operands and results, comparisons, shapes, conditions). */
static tj_status vjp(tj_var *node, int i, tj_var *g, tj_var **out)
{
    *out = NULL;
    if (!tj_dtype_is_float(node->dtype) || !tj_dtype_is_float(node->in[i]->dtype))
        return TJ_OK;
    bool none;
    tj_var *term = rule(node, i, g, &none);
    if (none)
        return TJ_OK;
    term = fit(term, node->in[i]);
    if (!term)
        return build_failed(node, i);
    *out = term;
    return TJ_OK;
}

tj_var *tjD_vjp(tj_var *node, int i, tj_var *g)
{
    if (!tjG_valid(node) || !tjG_valid(g) || i < 0 || i >= node->nin) {
        tjA_error(TJ_ERR_INVALID, "tjD_vjp: invalid node, input index %d or gradient", i);
        return NULL;
    }
    tj_var *term;
    return vjp(node, i, g, &term) == TJ_OK ? term : NULL;
}

/* ---- tj_grad --------------------------------------------------------------------------------- */

enum {
    F_WRT = 1,   /* a variable we differentiate with respect to */
    F_CONST = 2, /* in consider_constant: gradient does not flow to its inputs */
    F_REACH = 4, /* depends on some wrt: worth propagating a gradient into */
    F_LIVE = 8,  /* a source (the cost, a known_grads variable) depends on it; wrt not LIVE are
                    disconnected */
    F_KNOWN = 16, /* in known_grads: its gradient is given, not accumulated from its consumers */
};

/* Whether the gradient of v may flow into its input i. As Theano's connection patterns: a shape,
 * the shape-giving operand of second() and disconnected_grad() are disconnected, not zero. */
static bool edge(const tj_var *v, int i)
{
    return v->op != TJ_OP_SHAPE_OF && v->op != TJ_OP_DISCONNECTED_GRAD &&
           !(v->op == TJ_OP_SECOND && i == 0);
}

/* Records an argument error: in ctx when there is one, in the thread's slot otherwise (a NULL cost
 * usually comes from a failed builder whose message must stay in its context). */
static tj_status bad_arg(tj_ctx *ctx, const char *fmt, ...) TJ_PRINTF(2, 3);
static tj_status bad_arg(tj_ctx *ctx, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (!ctx) {
        tjA_error(TJ_ERR_INVALID, "tj_grad: %s", msg);
        return TJ_ERR_INVALID;
    }
    return tjC_error(ctx, TJ_ERR_INVALID, "tj_grad: %s", msg);
}

/* known_grads: live pairs of the context, each variable once, float gradients of its rank. */
static tj_status check_known(tj_ctx *ctx, const tj_grad_opts *o)
{
    char b1[160], b2[160];
    for (int k = 0; k < o->nknown_grads; k++) {
        tj_var *v = o->known_grads[k].var, *g = o->known_grads[k].grad;
        if (!tjG_valid(v) || v->ctx != ctx || !tjG_valid(g) || g->ctx != ctx)
            return bad_arg(ctx, "opts->known_grads[%d] has a variable or gradient that is NULL "
                                "or not a live tj_var of the cost's context", k);
        for (int j = 0; j < k; j++)
            if (o->known_grads[j].var == v)
                return bad_arg(ctx, "opts->known_grads gives %s twice (entries %d and %d)",
                               tjG_describe(v, b1, sizeof b1), j, k);
        if (!tj_dtype_is_float(g->dtype) || g->ndim != v->ndim)
            return tjC_error(ctx, TJ_ERR_TYPE,
                             "tj_grad: opts->known_grads[%d] gives %s the gradient %s; a gradient "
                             "must be a float tensor of the variable's rank %d",
                             k, tjG_describe(v, b1, sizeof b1), tjG_describe(g, b2, sizeof b2),
                             v->ndim);
    }
    return TJ_OK;
}

static tj_status check_args(tj_var *cost, tj_var *const *wrt, int nwrt, tj_var **grads,
                            const tj_grad_opts *o)
{
    char buf[160];
    if (o->nknown_grads < 0 || (o->nknown_grads > 0 && !o->known_grads))
        return bad_arg(cost && tjG_valid(cost) ? cost->ctx : NULL,
                       "opts->known_grads is NULL with nknown_grads %d", o->nknown_grads);
    /* Theano: the cost may be None when known_grads give the gradient */
    tj_var *anchor = cost ? cost : o->nknown_grads > 0 ? o->known_grads[0].var : NULL;
    if (!tjG_valid(anchor))
        return bad_arg(NULL, cost || o->nknown_grads == 0
                                 ? "the cost is NULL or not a live tj_var"
                                 : "opts->known_grads[0].var is NULL or not a live tj_var");
    tj_ctx *ctx = anchor->ctx;
    if (nwrt < 0)
        return bad_arg(ctx, "nwrt is %d", nwrt);
    if (nwrt > 0 && (!wrt || !grads))
        return bad_arg(ctx, "%s is NULL with nwrt %d", wrt ? "grads" : "wrt", nwrt);
    for (int i = 0; i < nwrt; i++) {
        if (!tjG_valid(wrt[i]))
            return bad_arg(ctx, "wrt[%d] is NULL or not a live tj_var", i);
        if (wrt[i]->ctx != ctx)
            return bad_arg(ctx, "wrt[%d] belongs to another context than the cost", i);
    }
    if (o->disconnected_inputs != TJ_DISCONNECTED_RAISE &&
        o->disconnected_inputs != TJ_DISCONNECTED_WARN &&
        o->disconnected_inputs != TJ_DISCONNECTED_IGNORE)
        return bad_arg(ctx, "opts->disconnected_inputs = %d is not a tj_disconnected value",
                       (int)o->disconnected_inputs);
    if (o->nconsider_constant < 0 || (o->nconsider_constant > 0 && !o->consider_constant))
        return bad_arg(ctx, "opts->consider_constant is NULL with nconsider_constant %d",
                       o->nconsider_constant);
    for (int i = 0; i < o->nconsider_constant; i++) {
        tj_var *c = o->consider_constant[i];
        if (!tjG_valid(c) || c->ctx != ctx)
            return bad_arg(ctx, "opts->consider_constant[%d] is not a live tj_var of the cost's "
                                "context", i);
    }
    tj_status st = check_known(ctx, o);
    if (st != TJ_OK)
        return st;
    if (cost && (cost->ndim != 0 || !tj_dtype_is_float(cost->dtype)))
        return tjC_error(ctx, TJ_ERR_TYPE,
                         "tj_grad: the cost %s must be a float scalar, but it has ndim %d and "
                         "dtype %s (reduce it with tj_sum or tj_mean first)",
                         tjG_describe(cost, buf, sizeof buf), cost->ndim,
                         tj_dtype_name(cost->dtype));
    return TJ_OK;
}

/* flag[] and acc[] are indexed by position in the sort of the sources' graph, plus one: slot 0
 * stands for every variable outside it (a wrt the cost does not use), flagged nothing and
 * without a gradient. Tables indexed by node id made each tj_grad cost O(all the nodes of the
 * context). */
#define AT(v) ((size_t)(tjG_pos(v) + 1))

/* Marks which nodes depend on a wrt (REACH, inputs first) and which a source depends on (LIVE,
 * from the sources down); both stop at consider_constant nodes and disconnected edges. */
static void mark(tj_var **order, size_t n, tj_var *const *sources, int nsources,
                 unsigned char *flag)
{
    for (size_t k = 0; k < n; k++) {
        tj_var *v = order[k];
        if (flag[AT(v)] & F_WRT)
            flag[AT(v)] |= F_REACH;
        if (flag[AT(v)] & F_CONST)
            continue;
        for (int i = 0; i < v->nin; i++)
            if (edge(v, i) && (flag[AT(v->in[i])] & F_REACH))
                flag[AT(v)] |= F_REACH;
    }
    for (int s = 0; s < nsources; s++)
        flag[AT(sources[s])] |= F_LIVE;
    for (size_t k = n; k-- > 0;) {
        tj_var *v = order[k];
        if (!(flag[AT(v)] & F_LIVE) || (flag[AT(v)] & F_CONST))
            continue;
        for (int i = 0; i < v->nin; i++)
            if (edge(v, i))
                flag[AT(v->in[i])] |= F_LIVE;
    }
}

/* Applies the disconnected_inputs policy to every wrt the cost does not depend on. */
static tj_status check_connected(tj_var *const *wrt, int nwrt, const unsigned char *flag,
                                 tj_disconnected policy)
{
    char buf[160];
    for (int i = 0; i < nwrt; i++) {
        if (flag[AT(wrt[i])] & F_LIVE)
            continue;
        tjG_describe(wrt[i], buf, sizeof buf);
        if (policy == TJ_DISCONNECTED_RAISE)
            return tjC_error(wrt[i]->ctx, TJ_ERR_DISCONNECTED,
                             "tj_grad: the cost does not depend on wrt[%d] %s (it is not in the "
                             "cost's graph, or only reaches it through constants, shapes or "
                             "disconnected_grad); use TJ_DISCONNECTED_WARN or _IGNORE to get a "
                             "zero gradient",
                             i, buf);
        if (policy == TJ_DISCONNECTED_WARN)
            tjC_log(wrt[i]->ctx, "tj_grad: the cost does not depend on wrt[%d] %s; its gradient "
                                 "is zero", i, buf);
    }
    return TJ_OK;
}

/* Seeds the gradients of the sources: 1 for the cost unless known_grads gives it, each known
 * gradient fitted to its variable's exact type. */
static tj_status seed(tj_var *cost, const tj_grad_opts *o, const unsigned char *flag,
                      tj_var **acc)
{
    for (int k = 0; k < o->nknown_grads; k++) {
        tj_var *v = o->known_grads[k].var;
        if (!(flag[AT(v)] & F_REACH))
            continue;
        if (!(acc[AT(v)] = fit(o->known_grads[k].grad, v)))
            return build_failed(v, -1);
    }
    if (cost && !(flag[AT(cost)] & F_KNOWN) && (flag[AT(cost)] & F_REACH) &&
        !(acc[AT(cost)] = K(cost, 1.0)))
        return build_failed(cost, -1);
    return TJ_OK;
}

/* Walks the sources' graph from the last node down, accumulating the gradient of each node in
 * acc[id]; a known_grads variable keeps its given gradient. */
static tj_status backprop(tj_var **order, size_t n, const unsigned char *flag, tj_var **acc)
{
    for (size_t k = n; k-- > 0;) {
        tj_var *v = order[k], *g = acc[AT(v)];
        if (!g || (flag[AT(v)] & F_CONST))
            continue;
        for (int i = 0; i < v->nin; i++) {
            tj_var *in = v->in[i], *term;
            if (!edge(v, i) || !(flag[AT(in)] & F_REACH) || (flag[AT(in)] & F_KNOWN))
                continue;
            tj_status st = vjp(v, i, g, &term);
            if (st != TJ_OK)
                return st;
            if (!term)
                continue;
            acc[AT(in)] = acc[AT(in)] ? tj_add(acc[AT(in)], term) : term;
            if (!acc[AT(in)])
                return build_failed(v, i);
        }
    }
    return TJ_OK;
}

tj_status tj_grad_v2(tj_var *cost, tj_var *const *wrt, int nwrt, tj_var **grads,
                     const tj_grad_opts *opts)
{
    tj_grad_opts o = TJ_GRAD_OPTS_INIT;
    if (opts)
        o = *opts;
    if (grads)
        for (int i = 0; i < nwrt; i++)
            grads[i] = NULL;
    tj_status st = check_args(cost, wrt, nwrt, grads, &o);
    if (st != TJ_OK || nwrt == 0)
        return st;

    tj_ctx *ctx = cost ? cost->ctx : o.known_grads[0].var->ctx;
    size_t n = 0;
    int nsources = 0;
    tj_var **sources = tjC_malloc(ctx, sizeof *sources * (size_t)(o.nknown_grads + 1));
    tj_var **order = NULL, **acc = NULL;
    unsigned char *flag = NULL;
    if (sources) {
        if (cost)
            sources[nsources++] = cost;
        for (int k = 0; k < o.nknown_grads; k++)
            sources[nsources++] = o.known_grads[k].var;
        order = tjG_toposort(ctx, sources, nsources, &n);
    }
    if (order) { /* the vjp builders below build, they do not sort: positions stay valid */
        flag = tjC_calloc(ctx, n + 1, 1);
        acc = tjC_calloc(ctx, n + 1, sizeof *acc);
    }
    if (!sources || !order || !flag || !acc) {
        st = tjC_error(ctx, TJ_ERR_NOMEM, "tj_grad: out of memory for a graph of %zu nodes", n);
        goto done;
    }
    for (int i = 0; i < nwrt; i++)
        flag[AT(wrt[i])] |= F_WRT;
    for (int i = 0; i < o.nconsider_constant; i++)
        flag[AT(o.consider_constant[i])] |= F_CONST;
    for (int k = 0; k < o.nknown_grads; k++)
        flag[AT(o.known_grads[k].var)] |= F_KNOWN;
    flag[0] = 0; /* what was set on variables outside the graph */
    uint64_t sort = ctx->sorts;
    mark(order, n, sources, nsources, flag);
    st = check_connected(wrt, nwrt, flag, o.disconnected_inputs);
    if (st == TJ_OK)
        st = seed(cost, &o, flag, acc);
    if (st == TJ_OK)
        st = backprop(order, n, flag, acc);
    if (st == TJ_OK && ctx->sorts != sort) /* positions gone (AT reads slot 0): a bug */
        st = tjC_error(ctx, TJ_ERR_INVALID, "internal error: a gradient builder sorted the graph "
                       "while tj_grad walked it");
    for (int i = 0; i < nwrt && st == TJ_OK; i++) {
        tj_var *w = wrt[i];
        /* integer wrt, or a wrt connected only through non-differentiable ops: zeros */
        grads[i] = tj_dtype_is_float(w->dtype) && acc[AT(w)] ? acc[AT(w)] : zeros_like(w);
        if (!grads[i])
            st = build_failed(w, -1);
    }
done:
    if (st != TJ_OK)
        for (int i = 0; i < nwrt; i++)
            grads[i] = NULL;
    tjC_free(ctx, sources);
    tjC_free(ctx, order);
    tjC_free(ctx, flag);
    tjC_free(ctx, acc);
    return st;
}

tj_status tj_grad(tj_var *cost, tj_var *const *wrt, int nwrt, tj_var **grads)
{
    return tj_grad_v2(cost, wrt, nwrt, grads, NULL);
}
