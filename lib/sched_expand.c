/* Before scheduling: the softmax family, which no kernel computes directly, is rewritten into
 * max/sum reductions and elementwise ops that the scheduler fuses into kernels:
 *   softmax(x)     = exp(x - m) / s             m = max(x, axis, keepdims)
 *   log_softmax(x) = (x - m) - log(s)           s = sum(exp(x - m), axis, keepdims)
 *   logsumexp(x)   = m0 + log(sum(exp(x - m0))) m0 = m where finite, else 0
 * which is 3 kernels over x's size (max; sum absorbing sub and exp; the final elementwise pass)
 * plus, for log_softmax and logsumexp, a small one over the reduced shape. The reference
 * executor computes the same formulas directly (interp_reduce.c). */
#include "function.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static bool expandable(tj_op op)
{
    return op == TJ_OP_SOFTMAX || op == TJ_OP_LOG_SOFTMAX || op == TJ_OP_LOGSUMEXP;
}

/* sum(exp(x - m)) with the difference written -(m - x): bit for bit the same value (IEEE
 * subtraction is antisymmetric), but a different node from the x - m of the final pass. Shared,
 * it would have two consumer groups and the scheduler would materialize it in memory; apart, the
 * sum kernel computes its own copy in registers. */
static tj_var *sum_exp(tj_var *x, tj_var *m, uint32_t mask)
{
    return tjG_reduce(TJ_OP_SUM, tj_exp(tj_neg(tj_sub(m, x))), mask, true);
}

static tj_var *expand(tj_var *v, tj_var *x)
{
    bool softmax = v->op != TJ_OP_LOGSUMEXP;
    uint32_t mask = softmax ? 1u << v->attr[0] : (uint32_t)v->attr[0];
    tj_var *m = tjG_reduce(TJ_OP_MAX, x, mask, true);
    if (v->op == TJ_OP_SOFTMAX)
        return tj_div(tj_exp(tj_sub(x, m)), sum_exp(x, m, mask));
    if (v->op == TJ_OP_LOG_SOFTMAX)
        return tj_sub(tj_sub(x, m), tj_log(sum_exp(x, m, mask)));
    tj_var *m0 = tj_switch(tj_lt(tj_abs(m), tjG_const_like(x, INFINITY)), m,
                           tjG_const_like(x, 0.0));
    tj_var *r = tj_add(m0, tj_log(sum_exp(x, m0, mask)));
    if (!r || v->attr[1])
        return r;
    int pattern[TJ_MAX_NDIM], n = 0;
    for (int d = 0; d < x->ndim; d++)
        if (!((mask >> d) & 1))
            pattern[n++] = d;
    return tj_dimshuffle(r, pattern, n);
}

tj_status tjS_expand(tj_ctx *ctx, tj_var *const *outs, int nouts, tj_var **new_outs)
{
    size_t n;
    for (int i = 0; i < nouts; i++)
        new_outs[i] = outs[i];
    tj_var **topo = tjG_toposort(ctx, outs, nouts, &n);
    if (!topo)
        return ctx->err;
    bool any = false;
    for (size_t k = 0; k < n && !any; k++)
        any = expandable(topo[k]->op);
    if (!any) {
        tjC_free(ctx, topo);
        return TJ_OK;
    }
    /* topo position -> the node's rewritten form (tjG_pos; expand builds, it does not sort) */
    tj_var **map = tjC_calloc(ctx, n + 1, sizeof *map), **in = NULL;
    int in_cap = 0;
    tj_status rc = TJ_OK;
    char buf[160];
    if (!map)
        rc = tjC_error(ctx, TJ_ERR_NOMEM, "out of memory expanding a graph of %zu nodes", n);
    for (size_t k = 0; k < n && rc == TJ_OK; k++) {
        tj_var *v = topo[k];
        if (v->nin == 0)
            continue;
        if (v->nin > in_cap) {
            tj_var **p = tjC_realloc(ctx, in, sizeof *p * (size_t)v->nin);
            if (!p) {
                rc = tjC_error(ctx, TJ_ERR_NOMEM, "out of memory expanding a graph");
                break;
            }
            in = p;
            in_cap = v->nin;
        }
        bool changed = false;
        for (int i = 0; i < v->nin; i++) {
            tj_var *r = map[tjG_pos(v->in[i])];
            in[i] = r ? r : v->in[i];
            changed = changed || r;
        }
        tj_var *r;
        if (expandable(v->op))
            r = expand(v, in[0]);
        else if (changed) /* inputs of unchanged types: the node's own type and attributes */
            r = tjG_make(ctx, v->op, v->dtype, v->ndim, v->bcast, in, v->nin, v->attr, v->nattr,
                         NULL);
        else
            continue;
        if (!r) {
            char prev[sizeof ctx->errmsg];
            snprintf(prev, sizeof prev, "%s", ctx->errmsg);
            rc = tjC_error(ctx, ctx->err != TJ_OK ? ctx->err : TJ_ERR_INVALID,
                           "scheduling %s: rewriting it failed: %s",
                           tjG_describe(v, buf, sizeof buf), prev);
        } else if (r->dtype != v->dtype || r->ndim != v->ndim || r->bcast != v->bcast)
            rc = tjC_error(ctx, TJ_ERR_INVALID,
                           "internal error: the expansion of %s changed its type",
                           tjG_describe(v, buf, sizeof buf));
        else
            map[k] = r;
    }
    for (int i = 0; i < nouts && rc == TJ_OK; i++)
        if (map[tjG_pos(outs[i])])
            new_outs[i] = map[tjG_pos(outs[i])];
    tjC_free(ctx, in);
    tjC_free(ctx, map);
    tjC_free(ctx, topo);
    return rc;
}
