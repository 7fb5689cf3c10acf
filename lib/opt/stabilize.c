/* Stabilize: the rewrites users trust Theano for, so that values and gradients stay finite and
 * accurate where the written formula overflows or cancels:
 *   log(1+x) -> log1p(x)            exp(x)-1 -> expm1(x)           log(1+exp x) -> softplus(x)
 *   1/(1+exp(-x)) -> sigmoid(x)     exp(x)/(1+exp x) -> sigmoid(x)  1-sigmoid(x) -> sigmoid(-x)
 *   log(sigmoid x) -> -softplus(-x) log(1-sigmoid x) -> -softplus(x)
 *   log(sum(exp x)) -> logsumexp    exp(x)/sum(exp x) -> softmax    log(softmax) -> log_softmax
 * and two product rules for gradients, which grad builds from the unstable formula:
 *   sigmoid_product: in a product, exp(±u), sigmoid(±u) and 1+exp(±u) are powers of sigmoid(u)
 *     and sigmoid(-u) (exp(u) = sigmoid(u)/sigmoid(-u), 1+exp(u) = 1/sigmoid(-u)); the product is
 *     rebuilt with the net powers when that removes factors, and is distributed over a sum whose
 *     terms divide by them, so the divisions cancel instead of overflowing (inf * 0 = NaN);
 *   product_cancel: a softmax, sigmoid or exp that multiplies and divides a product cancels
 *     (where it underflows to 0 the written formula gives 0/0).
 * The cross-entropy of a sigmoid (or a softmax) computed from logits follows from these. */
#include "algebra.h"

#include <stdlib.h>

#define P TJR_P
#define P0 TJR_P0
#define V TJR_V
#define K TJR_K

/* -x, without stacking negations */
static tj_var *negate(tj_var *x)
{
    if (x && x->op == TJ_OP_NEG)
        return x->in[0];
    return tjR_e1(TJ_OP_NEG, x);
}

/* x for a root whose shape x has by construction (the softmax family) */
static tj_var *typed(tjR_match *m, tj_var *x) { return tjR_same_type(x, m->root) ? x : NULL; }

static bool floaty(tjR_match *m) { return tj_dtype_is_float(m->root->dtype); }

static tj_var *rw_log1p(tjR_match *m) { return tjR_as_root(m, tjR_e1(TJ_OP_LOG1P, m->v[0])); }
static tj_var *rw_log1m(tjR_match *m)
{
    return tjR_as_root(m, tjR_e1(TJ_OP_LOG1P, negate(m->v[0])));
}
static tj_var *rw_expm1(tjR_match *m) { return tjR_as_root(m, tjR_e1(TJ_OP_EXPM1, m->v[0])); }
static tj_var *rw_softplus(tjR_match *m) { return tjR_as_root(m, tjR_e1(TJ_OP_SOFTPLUS, m->v[0])); }
static tj_var *rw_sigmoid(tjR_match *m) { return tjR_as_root(m, tjR_e1(TJ_OP_SIGMOID, m->v[0])); }
static tj_var *rw_sigmoid_neg(tjR_match *m)
{
    return tjR_as_root(m, tjR_e1(TJ_OP_SIGMOID, negate(m->v[0])));
}
/* log(sigmoid x) = -softplus(-x) */
static tj_var *rw_log_sigmoid(tjR_match *m)
{
    return tjR_as_root(m, negate(tjR_e1(TJ_OP_SOFTPLUS, negate(m->v[0]))));
}
/* log(1 - sigmoid x) = -softplus(x) */
static tj_var *rw_log_1m_sigmoid(tjR_match *m)
{
    return tjR_as_root(m, negate(tjR_e1(TJ_OP_SOFTPLUS, m->v[0])));
}

/* ---- the softmax family ---- */

static int axes_of(uint32_t mask, int ndim, int *axes)
{
    int n = 0;
    for (int d = 0; d < ndim; d++)
        if ((mask >> d) & 1)
            axes[n++] = d;
    return n;
}

/* log(sum(exp x)) -> logsumexp(x) over the same axes */
static tj_var *rw_logsumexp(tjR_match *m)
{
    tj_var *s = m->root->in[0], *x = m->v[0];
    if (!floaty(m))
        return NULL;
    int axes[TJ_MAX_NDIM];
    int n = axes_of((uint32_t)s->attr[0], x->ndim, axes);
    return typed(m, tj_logsumexp(x, axes, n, s->attr[1] != 0));
}

/* The axis of a denominator sum(exp(x), axis) that keeps the summed axis in place (keepdims, or
 * a dimshuffle putting it back), or -1. */
static int softmax_axis(const tj_var *den, const tj_var *e)
{
    const tj_var *s = den;
    int pattern_ok = 1;
    if (den->op == TJ_OP_DIMSHUFFLE) {
        s = den->in[0];
        if (s->op != TJ_OP_SUM || s->attr[1] || den->ndim != e->ndim)
            return -1;
        uint32_t mask = (uint32_t)s->attr[0];
        int j = 0;
        for (int d = 0; d < den->ndim; d++) {
            bool red = (mask >> d) & 1;
            pattern_ok = pattern_ok && (red ? den->attr[d] == -1 : den->attr[d] == j);
            j += !red;
        }
    } else if (den->op != TJ_OP_SUM || !den->attr[1]) {
        return -1;
    }
    if (!pattern_ok || s->in[0] != e)
        return -1;
    uint32_t mask = (uint32_t)s->attr[0];
    if (mask == 0 || (mask & (mask - 1)))
        return -1; /* softmax is along one axis */
    int axis = 0;
    while (!((mask >> axis) & 1))
        axis++;
    return axis;
}

/* exp(x) / sum(exp(x), axis, keepdims) -> softmax(x, axis) */
static tj_var *rw_softmax(tjR_match *m)
{
    tj_var *r = m->root, *e = r->in[0];
    if (!floaty(m))
        return NULL;
    int axis = softmax_axis(r->in[1], e);
    return axis < 0 ? NULL : typed(m, tj_softmax(m->v[0], axis));
}

static tj_var *rw_log_softmax(tjR_match *m)
{
    return typed(m, tj_log_softmax(m->v[0], (int)m->root->in[0]->attr[0]));
}

/* softmax(x - c) -> softmax(x) where c is constant along the axis (the op subtracts the max) */
static tj_var *rw_softmax_shift(tjR_match *m)
{
    tj_var *r = m->root, *c = m->v[1];
    int axis = (int)r->attr[0];
    if (!((c->bcast >> axis) & 1) || !tjR_same_type(m->v[0], r->in[0]))
        return NULL;
    return typed(m, r->op == TJ_OP_SOFTMAX ? tj_softmax(m->v[0], axis)
                                           : tj_log_softmax(m->v[0], axis));
}

/* ---- sigmoid algebra in products ---- */

typedef struct {
    tj_var *base; /* u */
    int p, q;     /* net powers of sigmoid(u), sigmoid(-u) */
    int count;    /* sum of |exponent| of the family factors as written */
} family;

/* (u, +1) for u, (u, -1) for neg(u) */
static tj_var *strip(tj_var *a, int *sign)
{
    *sign = 1;
    if (a->op == TJ_OP_NEG) {
        *sign = -1;
        return a->in[0];
    }
    return a;
}

/* Whether f is exp(±u), sigmoid(±u), 1+exp(±u) or 1-sigmoid(±u): its base and its powers of
 * sigmoid(u) (dp) and sigmoid(-u) (dq). */
static bool classify(tj_var *f, tj_var **base, int *dp, int *dq)
{
    int s;
    double c;
    *dp = *dq = 0;
    if (f->op == TJ_OP_SIGMOID) {
        *base = strip(f->in[0], &s);
        *(s > 0 ? dp : dq) = 1;
        return true;
    }
    if (f->op == TJ_OP_EXP) { /* exp(u) = sigmoid(u) / sigmoid(-u) */
        *base = strip(f->in[0], &s);
        *dp = s, *dq = -s;
        return true;
    }
    if (f->op == TJ_OP_ADD || f->op == TJ_OP_SUB) {
        for (int i = 0; i < 2; i++) {
            tj_var *a = f->in[i], *b = f->in[1 - i];
            if (!tjR_uniform(a, &c) || c != 1 || (f->op == TJ_OP_SUB && i == 1))
                continue;
            if (f->op == TJ_OP_ADD && b->op == TJ_OP_EXP) { /* 1+exp(u) = 1/sigmoid(-u) */
                *base = strip(b->in[0], &s);
                *(s > 0 ? dq : dp) = -1;
                return true;
            }
            if (f->op == TJ_OP_SUB && b->op == TJ_OP_SIGMOID) { /* 1-sigmoid(u) = sigmoid(-u) */
                *base = strip(b->in[0], &s);
                *(s > 0 ? dq : dp) = 1;
                return true;
            }
        }
    }
    return false;
}

/* The family view of product p for base u; the other factors are copied to rest. */
static void family_of(const tjR_product *p, tj_var *u, family *fam, tjR_product *rest)
{
    *fam = (family){.base = u};
    *rest = *p;
    rest->n = 0;
    for (int i = 0; i < p->n; i++) {
        tj_var *b;
        int dp, dq;
        if (p->e[i] != 0 && classify(p->f[i], &b, &dp, &dq) && b == u) {
            fam->p += dp * p->e[i];
            fam->q += dq * p->e[i];
            fam->count += abs(p->e[i]);
            continue;
        }
        rest->f[rest->n] = p->f[i];
        rest->e[rest->n++] = p->e[i];
    }
}

/* rest * sigmoid(u)^p * sigmoid(-u)^q */
static tj_var *with_family(tj_var *root, tjR_product *rest, tj_var *u, int p, int q)
{
    tj_var *su = p ? tjR_e1(TJ_OP_SIGMOID, u) : NULL,
           *sn = q ? tjR_e1(TJ_OP_SIGMOID, negate(u)) : NULL;
    if ((p && !su) || (q && !sn) || rest->n + 2 > TJR_MAX_FACTORS)
        return NULL;
    if (p) {
        rest->f[rest->n] = su;
        rest->e[rest->n++] = p;
    }
    if (q) {
        rest->f[rest->n] = sn;
        rest->e[rest->n++] = q;
    }
    return tjR_product_build(root, rest);
}

enum {
    PRODUCT_FLAGS = TJR_THROUGH_DIV | TJR_THROUGH_POWER | TJR_ABSORB_CONST | TJR_THROUGH_SECOND
};

/* distributes the family powers (p, q) of base u over the sum factor `sum` (exponent 1) of the
 * product `rest`, when every term then divides by nothing of the family */
static tj_var *distribute(tjR_match *m, tj_var *sum, tjR_product *rest, const family *fam)
{
    tj_var *r = m->root;
    tjR_sum s;
    tjR_sum_of(m->run, sum, false, &s);
    if (s.full || s.n < 2)
        return NULL;
    bool helps = false;
    tjR_product terms[TJR_MAX_FACTORS];
    family tf[TJR_MAX_FACTORS];
    for (int i = 0; i < s.n; i++) {
        tjR_product tp, trest;
        tjR_product_of(m->run, s.t[i], PRODUCT_FLAGS, &tp);
        if (tp.full)
            return NULL;
        family_of(&tp, fam->base, &tf[i], &trest);
        if (fam->p + tf[i].p < 0 || fam->q + tf[i].q < 0)
            return NULL;
        helps = helps || tf[i].p < 0 || tf[i].q < 0;
        /* the term's other factors times the product's other factors */
        if (trest.n + rest->n > TJR_MAX_FACTORS)
            return NULL;
        for (int j = 0; j < rest->n; j++) {
            trest.f[trest.n] = rest->f[j];
            trest.e[trest.n++] = rest->e[j];
        }
        trest.k *= rest->k;
        trest.neg = trest.neg != rest->neg;
        terms[i] = trest;
    }
    if (!helps)
        return NULL;
    tj_var *acc = NULL;
    for (int i = 0; i < s.n; i++) {
        tj_var *t = with_family(r, &terms[i], fam->base, fam->p + tf[i].p, fam->q + tf[i].q);
        if (!t)
            return NULL;
        if (!acc)
            acc = s.s[i] > 0 ? t : negate(t);
        else
            acc = tjR_e2(s.s[i] > 0 ? TJ_OP_ADD : TJ_OP_SUB, acc, t);
    }
    return acc;
}

static tj_var *rw_sigmoid_product(tjR_match *m)
{
    tj_var *r = m->root;
    if (!floaty(m))
        return NULL;
    tjR_product p;
    tjR_product_of(m->run, r, PRODUCT_FLAGS, &p);
    if (p.full)
        return NULL;
    for (int i = 0; i < p.n; i++) {
        tj_var *u;
        int dp, dq;
        if (p.e[i] == 0 || !classify(p.f[i], &u, &dp, &dq))
            continue;
        family fam;
        tjR_product rest;
        family_of(&p, u, &fam, &rest);
        if (abs(fam.p) + abs(fam.q) < fam.count) {
            tj_var *n = tjR_as_root(m, with_family(r, &rest, u, fam.p, fam.q));
            if (n)
                return n;
        }
        /* a sum factor whose terms divide by the family: distribute the product over it */
        for (int j = 0; j < rest.n; j++) {
            tj_var *f = rest.f[j];
            if (rest.e[j] != 1 || (f->op != TJ_OP_ADD && f->op != TJ_OP_SUB) ||
                tjR_clients(m->run, f) != 1 || f->dtype != r->dtype || f->ndim != r->ndim)
                continue;
            tjR_product others = rest;
            others.n = 0;
            for (int k = 0; k < rest.n; k++)
                if (k != j) {
                    others.f[others.n] = rest.f[k];
                    others.e[others.n++] = rest.e[k];
                }
            tj_var *n = tjR_as_root(m, distribute(m, f, &others, &fam));
            if (n)
                return n;
        }
    }
    return NULL;
}

/* a softmax, sigmoid or exp that multiplies and divides cancels (its 0 is an underflow) */
static tj_var *rw_product_cancel(tjR_match *m)
{
    tj_var *r = m->root;
    if (!floaty(m))
        return NULL;
    tjR_product p;
    tjR_product_of(m->run, r, PRODUCT_FLAGS, &p);
    if (p.full || p.ncancel == 0)
        return NULL;
    bool any = false;
    for (int i = 0; i < p.n; i++) {
        tj_op op = p.f[i]->op;
        bool positive = op == TJ_OP_SOFTMAX || op == TJ_OP_SIGMOID || op == TJ_OP_EXP;
        if (p.e[i] == 0 && !positive)
            return NULL; /* an x/x that may be 0/0 for a good reason: not ours to cancel */
        any = any || p.e[i] == 0;
    }
    return any ? tjR_as_root(m, tjR_product_build(r, &p)) : NULL;
}

static const tjR_rule rules[] = {
    {"log1p_exp_softplus", P(LOG1P, P(EXP, V(0))), rw_softplus, 0},
    {"log1p_exp_softplus", P(LOG, P(ADD, K(1), P(EXP, V(0)))), rw_softplus, 0},
    {"log_sigmoid", P(LOG, P(SIGMOID, V(0))), rw_log_sigmoid, 0},
    {"log_1m_sigmoid", P(LOG, P(SUB, K(1), P(SIGMOID, V(0)))), rw_log_1m_sigmoid, 0},
    {"log1p", P(LOG, P(ADD, K(1), V(0))), rw_log1p, 0},
    {"log1m", P(LOG, P(SUB, K(1), V(0))), rw_log1m, 0},
    {"expm1", P(SUB, P(EXP, V(0)), K(1)), rw_expm1, 0},
    {"expm1", P(ADD, P(EXP, V(0)), K(-1)), rw_expm1, 0},
    {"one_minus_sigmoid", P(SUB, K(1), P(SIGMOID, V(0))), rw_sigmoid_neg, 0},
    {"inv_1p_exp_sigmoid", P(DIV, K(1), P(ADD, K(1), P(EXP, V(0)))), rw_sigmoid_neg, 0},
    {"inv_1p_exp_sigmoid", P(INV, P(ADD, K(1), P(EXP, V(0)))), rw_sigmoid_neg, 0},
    {"exp_over_1p_exp", P(DIV, P(EXP, V(0)), P(ADD, K(1), P(EXP, V(0)))), rw_sigmoid, 0},
    {"logsumexp", P(LOG, P(SUM, P(EXP, V(0)))), rw_logsumexp, 0},
    {"softmax", P(DIV, P(EXP, V(0)), V(1)), rw_softmax, 0},
    {"log_softmax", P(LOG, P(SOFTMAX, V(0))), rw_log_softmax, 0},
    {"softmax_shift", P(SOFTMAX, P(SUB, V(0), V(1))), rw_softmax_shift, 0},
    {"softmax_shift", P(LOG_SOFTMAX, P(SUB, V(0), V(1))), rw_softmax_shift, 0},
    {"sigmoid_product", P0(MUL), rw_sigmoid_product, 0},
    {"sigmoid_product", P0(DIV), rw_sigmoid_product, 0},
    {"product_cancel", P0(MUL), rw_product_cancel, 0},
    {"product_cancel", P0(DIV), rw_product_cancel, 0},
};

const tjR_family tjR_stabilize_rules = {"stabilize", rules, sizeof rules / sizeof rules[0]};
