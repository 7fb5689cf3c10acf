/* Specialize: cheaper forms of the canonical graph.
 *   sum(a * X) -> a * sum(X) when a is broadcast along the summed axes (also mean)
 *   sum(-X) -> -sum(X) (also mean)       x * x -> sqr(x)
 *   x / c -> x * (1/c) for a float constant c (a multiply instead of a divide per element) */
#include "algebra.h"

#include <math.h>

#define P TJR_P
#define V TJR_V
#define C TJR_C

/* The axes of x that survive a reduction (keepdims keeps them all) */
static int kept_axes(const tj_var *red, int *keep)
{
    uint32_t mask = (uint32_t)red->attr[0];
    int n = 0;
    for (int d = 0; d < red->in[0]->ndim; d++)
        if (red->attr[1] || !((mask >> d) & 1))
            keep[n++] = d;
    return n;
}

static tj_var *rw_sum_scalar_factor(tjR_match *m)
{
    tj_var *r = m->root, *prod = r->in[0];
    uint32_t mask = (uint32_t)r->attr[0];
    if (tjR_clients(m->run, prod) != 1)
        return NULL;
    for (int i = 0; i < 2; i++) {
        tj_var *a = prod->in[i], *x = prod->in[1 - i];
        /* a constant along the reduced axes; x must give the product its full shape */
        if ((a->bcast & mask) != mask || (x->bcast & ~a->bcast) != 0 || tjR_is_scalar(x))
            continue;
        if (!tjR_same_type(x, prod))
            continue;
        int keep[TJ_MAX_NDIM];
        int n = kept_axes(r, keep);
        tj_var *a2 = tj_dimshuffle(a, keep, n);
        tj_var *s = tjG_reduce(r->op, x, mask, r->attr[1] != 0);
        tj_var *res = tjR_e2(TJ_OP_MUL, a2, s);
        if (tjR_same_type(res, r))
            return res;
    }
    return NULL;
}

static tj_var *rw_sum_neg(tjR_match *m)
{
    tj_var *r = m->root;
    if (tjR_clients(m->run, r->in[0]) != 1)
        return NULL;
    return tjR_e1(TJ_OP_NEG, tjG_reduce(r->op, m->v[0], (uint32_t)r->attr[0], r->attr[1] != 0));
}

static tj_var *rw_mul_self(tjR_match *m) /* (bool: x * x is x and x, not a square) */
{
    return m->root->dtype == TJ_BOOL ? NULL : tjR_e1(TJ_OP_SQR, m->v[0]);
}

static tj_var *rw_div_const(tjR_match *m)
{
    tj_var *r = m->root;
    double c = m->c[1], inv = 1.0 / c;
    if (!tj_dtype_is_float(r->dtype) || c == 0 || !isfinite(c) || !isfinite(inv))
        return NULL;
    if (r->dtype == TJ_FLOAT32 && !isfinite((float)inv))
        return NULL;
    tj_var *res = tjR_e2(TJ_OP_MUL, m->v[0], tjR_const_like(r, inv));
    return tjR_same_type(res, r) ? res : NULL;
}

static const tjR_rule rules[] = {
    {"sum_scalar_factor", P(SUM, P(MUL, V(0), V(1))), rw_sum_scalar_factor, 0},
    {"sum_scalar_factor", P(MEAN, P(MUL, V(0), V(1))), rw_sum_scalar_factor, 0},
    {"sum_neg", P(SUM, P(NEG, V(0))), rw_sum_neg, 0},
    {"sum_neg", P(MEAN, P(NEG, V(0))), rw_sum_neg, 0},
    {"mul_self_sqr", P(MUL, V(0), V(0)), rw_mul_self, 0},
    {"div_const_inverse", P(DIV, V(0), C(1)), rw_div_const, 0},
};

const tjR_family tjR_specialize_rules = {"specialize", rules, sizeof rules / sizeof rules[0]};
