/* Vector-Jacobian products of prod, max, min and the softmax family, written with the public
 * builders (so they compile like any graph and can be differentiated again). lib/grad.c calls
 * tjD_reduce_vjp from its per-op dispatch and fits the term to the input's type. all/any,
 * argmax/argmin give bool/int64 results and get no gradient (grad.c stops at them). */
#include "internal.h"

static tj_var *K(tj_var *like, double value) { return like ? tjG_const_like(like, value) : NULL; }

/* v (a reduction's result or its gradient) with the reduced axes back as broadcastable ones, so
 * it broadcasts against the reduction's input. */
static tj_var *restore(tj_var *node, tj_var *v)
{
    tj_var *x = node->in[0];
    uint32_t mask = (uint32_t)node->attr[0];
    if (!v || node->attr[1])
        return v;
    int pattern[TJ_MAX_NDIM], j = 0;
    for (int d = 0; d < x->ndim; d++)
        pattern[d] = (mask >> d) & 1 ? -1 : j++;
    return tj_dimshuffle(v, pattern, x->ndim);
}

/* PyTensor's Prod.L_op: g * prod / x where the group has no zero; where it has exactly one,
 * the zero's position gets g * (product of the others) and the rest 0; with two or more zeros
 * every position gets 0. */
static tj_var *prod_vjp(tj_var *node, tj_var *g)
{
    tj_var *x = node->in[0];
    uint32_t mask = (uint32_t)node->attr[0];
    tj_var *p = restore(node, node), *gb = restore(node, g);
    tj_var *is0 = tj_eq(x, K(x, 0.0));
    tj_var *nzeros = tjG_reduce(TJ_OP_SUM, tj_cast(is0, TJ_INT64), mask, true);
    tj_var *none = tj_eq(nzeros, tj_const(node->ctx, TJ_INT64, 0));
    tj_var *one = tj_eq(nzeros, tj_const(node->ctx, TJ_INT64, 1));
    tj_var *plain = tj_div(tj_mul(gb, p), x);
    /* the product without zeros (zeros count as 1): for a group with one zero, the others */
    tj_var *others = tjG_reduce(TJ_OP_PROD, tj_switch(is0, K(x, 1.0), x), mask, true);
    tj_var *single = tj_switch(one, tj_switch(is0, tj_mul(others, gb), K(x, 0.0)), K(x, 0.0));
    return tj_switch(none, plain, single);
}

/* JAX's rule: the positions equal to the extreme share g evenly, the rest get 0 (NaN positions
 * compare unequal). Theano's gave each tie all of g, so max(concatenate([x, x])) had twice the
 * derivative of x (found by fuzz-grad); an even share is a subgradient at any tie. */
static tj_var *extreme_vjp(tj_var *node, tj_var *g)
{
    tj_var *x = node->in[0];
    tj_var *at = tj_eq(x, restore(node, node));
    tj_var *ties = tjG_reduce(TJ_OP_SUM, tj_cast(at, tj_var_dtype(g)), (uint32_t)node->attr[0],
                              true);
    return tj_switch(at, tj_div(restore(node, g), ties), K(g, 0.0));
}

tj_var *tjD_reduce_vjp(tj_var *node, tj_var *g)
{
    tj_var *x = node->in[0];
    switch (node->op) {
    case TJ_OP_PROD:
        return prod_vjp(node, g);
    case TJ_OP_MAX:
    case TJ_OP_MIN:
        return extreme_vjp(node, g);
    case TJ_OP_SOFTMAX: { /* s (g - sum(g s)) */
        tj_var *gs = tj_mul(g, node);
        uint32_t axis = 1u << node->attr[0];
        return tj_sub(gs, tj_mul(node, tjG_reduce(TJ_OP_SUM, gs, axis, true)));
    }
    case TJ_OP_LOG_SOFTMAX: /* g - softmax sum(g) */
        return tj_sub(g, tj_mul(tj_exp(node), tjG_reduce(TJ_OP_SUM, g, 1u << node->attr[0], true)));
    case TJ_OP_LOGSUMEXP: { /* g softmax(x) over the reduced axes */
        /* as exp(x - m) / sum(exp(x - m)), not exp(x - lse): x - lse would round at the
         * magnitude of x (float32 at |x| = 1000: 3e-5 relative), x - m is exact near the max */
        uint32_t mask = (uint32_t)node->attr[0];
        tj_var *e = tj_exp(tj_sub(x, tjG_reduce(TJ_OP_MAX, x, mask, true)));
        return tj_mul(restore(node, g), tj_div(e, tjG_reduce(TJ_OP_SUM, e, mask, true)));
    }
    default: {
        char buf[160];
        tjC_error(node->ctx, TJ_ERR_INVALID, "no gradient rule is defined for op '%s' (%s)",
                  tjG_ops[node->op].name, tjG_describe(node, buf, sizeof buf));
        return NULL;
    }
    }
}
