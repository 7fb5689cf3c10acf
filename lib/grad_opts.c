/* Gradient options beyond tj_grad's: the gradient markers (Theano's zero_grad and
 * disconnected_grad) and the Jacobian and Hessian helpers built from repeated tj_grad calls. */
#include "internal.h"

#include <stdlib.h>

static tj_var *marker(tj_op op, tj_var *x, const char *fn)
{
    if (!tjG_live(x, fn))
        return NULL;
    return tjG_make(x->ctx, op, x->dtype, x->ndim, x->bcast, &x, 1, NULL, 0, NULL);
}

tj_var *tj_zero_grad(tj_var *x) { return marker(TJ_OP_ZERO_GRAD, x, "tj_zero_grad"); }

tj_var *tj_disconnected_grad(tj_var *x)
{
    return marker(TJ_OP_DISCONNECTED_GRAD, x, "tj_disconnected_grad");
}

tj_var *tj_stop_gradient(tj_var *x)
{
    return marker(TJ_OP_DISCONNECTED_GRAD, x, "tj_stop_gradient");
}

/* e_k of length n in dtype d, NOT broadcastable even when n == 1: multiplying it with a vector
 * then checks at run time that the vector has length n (a broadcastable length-1 constant would
 * silently stretch instead). */
static tj_var *one_hot(tj_ctx *ctx, tj_dtype d, int64_t n, int64_t k)
{
    tj_array *a = tjA_alloc(ctx, d, 1, &n, true);
    if (!a) {
        tjC_error(ctx, TJ_ERR_NOMEM, "tj_jacobian: out of memory for a row selector of %lld",
                  (long long)n);
        return NULL;
    }
    tjA_store(d, a->data, k, 1.0);
    return tjG_make(ctx, TJ_OP_CONSTANT, d, 1, 0, NULL, 0, NULL, 0, a);
}

static tj_status check_jacobian_args(tj_var *expr, tj_var *wrt, int64_t n, tj_var **out,
                                     const char *fn)
{
    char b1[160];
    if (!out) {
        tjA_error(TJ_ERR_INVALID, "%s: the result pointer is NULL", fn);
        return TJ_ERR_INVALID;
    }
    *out = NULL;
    if (!tjG_valid(expr) || !tjG_valid(wrt)) {
        tjA_error(TJ_ERR_INVALID, "%s: the %s is NULL or not a live tj_var", fn,
                  tjG_valid(expr) ? "wrt" : "expression");
        return TJ_ERR_INVALID;
    }
    tj_ctx *ctx = expr->ctx;
    if (wrt->ctx != ctx)
        return tjC_error(ctx, TJ_ERR_INVALID, "%s: wrt belongs to another context", fn);
    if (!tj_dtype_is_float(expr->dtype) || expr->ndim > 1)
        return tjC_error(ctx, TJ_ERR_TYPE,
                         "%s: the expression %s must be a float scalar or vector (flatten a "
                         "tensor first)",
                         fn, tjG_describe(expr, b1, sizeof b1));
    if (expr->ndim == 1 && wrt->ndim >= TJ_MAX_NDIM) /* a scalar's is its gradient: no new axis */
        return tjC_error(ctx, TJ_ERR_TYPE, "%s: wrt has %d dimensions; the result would exceed %d",
                         fn, wrt->ndim, TJ_MAX_NDIM);
    if (n < 0 || (expr->ndim == 1 && (n < 1 || n > (1 << 20))))
        return tjC_error(ctx, TJ_ERR_VALUE,
                         "%s: n = %lld must be the length of the vector %s (1 <= n <= 2^20); "
                         "graphs carry no static lengths, so it is given here and checked at "
                         "run time",
                         fn, (long long)n, tjG_describe(expr, b1, sizeof b1));
    return TJ_OK;
}

/* Row k of the Jacobian is the gradient of sum(expr * e_k) = expr[k]: n reverse passes that share
 * the forward graph (nodes are hash-consed); the rows are stacked along a new first axis. */
static tj_status jacobian(tj_var *expr, tj_var *wrt, int64_t n, tj_var **out,
                          const tj_grad_opts *opts, const char *fn)
{
    tj_status st = check_jacobian_args(expr, wrt, n, out, fn);
    if (st != TJ_OK)
        return st;
    if (opts && opts->nknown_grads != 0)
        return tjC_error(expr->ctx, TJ_ERR_INVALID,
                         "%s: known_grads do not apply here (only consider_constant and "
                         "disconnected_inputs do)", fn);
    if (expr->ndim == 0)
        return tj_grad_v2(expr, &wrt, 1, out, opts);
    tj_ctx *ctx = expr->ctx;
    tj_var **rows = tjC_malloc(ctx, sizeof *rows * (size_t)n);
    if (!rows)
        return tjC_error(ctx, TJ_ERR_NOMEM, "%s: out of memory for %lld rows", fn, (long long)n);
    for (int64_t k = 0; k < n && st == TJ_OK; k++) {
        tj_var *picked = tj_sum(tj_mul(expr, one_hot(ctx, expr->dtype, n, k)), NULL, 0, false);
        st = picked ? tj_grad_v2(picked, &wrt, 1, &rows[k], opts)
                    : ctx->err != TJ_OK ? ctx->err : TJ_ERR_INVALID;
    }
    if (st == TJ_OK && !(*out = tj_stack(rows, (int)n, 0)))
        st = ctx->err != TJ_OK ? ctx->err : TJ_ERR_INVALID;
    tjC_free(ctx, rows);
    return st;
}

tj_status tj_jacobian(tj_var *expr, tj_var *wrt, int64_t n, tj_var **jacobian_out,
                      const tj_grad_opts *opts)
{
    return jacobian(expr, wrt, n, jacobian_out, opts, "tj_jacobian");
}

tj_status tj_hessian(tj_var *cost, tj_var *wrt, int64_t n, tj_var **hessian_out,
                     const tj_grad_opts *opts)
{
    char buf[160];
    const char *fn = "tj_hessian";
    if (!hessian_out) {
        tjA_error(TJ_ERR_INVALID, "%s: the result pointer is NULL", fn);
        return TJ_ERR_INVALID;
    }
    *hessian_out = NULL;
    if (!tjG_valid(cost) || !tjG_valid(wrt)) {
        tjA_error(TJ_ERR_INVALID, "%s: the %s is NULL or not a live tj_var", fn,
                  tjG_valid(cost) ? "wrt" : "cost");
        return TJ_ERR_INVALID;
    }
    if (wrt->ndim != 1 || !tj_dtype_is_float(wrt->dtype))
        return tjC_error(cost->ctx, TJ_ERR_TYPE,
                         "%s: wrt %s must be a float vector (as Theano's hessian)", fn,
                         tjG_describe(wrt, buf, sizeof buf));
    if (opts && opts->nknown_grads != 0)
        return tjC_error(cost->ctx, TJ_ERR_INVALID,
                         "%s: known_grads do not apply here (only consider_constant and "
                         "disconnected_inputs do)", fn);
    tj_var *g;
    tj_status st = tj_grad_v2(cost, &wrt, 1, &g, opts);
    if (st != TJ_OK)
        return st;
    return jacobian(g, wrt, n, hessian_out, opts, fn);
}
