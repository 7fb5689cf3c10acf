/* Canonicalize, arithmetic: identities (x*1, x+0, x-x, x/x where safe, neg(neg x), exp(log x),
 * log(exp x), pow by constants), negations sunk toward the root so they cancel, add/mul chains
 * flattened with their constants collected, and the shape-only fill `second` removed where the
 * other operands already give the shape. Every rule keeps the node's exact type. */
#include "algebra.h"

#include <math.h>

#define P TJR_P
#define V TJR_V
#define K TJR_K
#define C TJR_C

/* x*1, x+0, x-0, x/1 -> x (broadcast by the constant when it is the one giving the shape) */
static tj_var *rw_identity(tjR_match *m)
{
    return tjR_as_root(m, m->v[0]);
}

/* 0 - x -> neg(x) */
static tj_var *rw_zero_sub(tjR_match *m) { return tjR_as_root(m, tjR_e1(TJ_OP_NEG, m->v[0])); }

/* Known finite (and, with nonzero, not 0) without evaluating: a uniform constant (behind
 * dimshuffles or a shape-giving second). */
static bool known_finite(const tj_var *v, bool nonzero)
{
    double c;
    if (v->op == TJ_OP_SECOND)
        v = v->in[1];
    return tjR_uniform(v, &c) && (!nonzero || c != 0) && isfinite(c);
}

/* x - x -> zeros with x's shape (x's runtime shape is kept through second), where x is an
 * integer or known finite: inf - inf and NaN - NaN are NaN (found by fuzz-grad: a gradient
 * graph turned a NaN into -38 / 0 = -inf, an index of INT32_MIN) */
static tj_var *rw_sub_self(tjR_match *m)
{
    tj_var *x = m->v[0];
    if (tj_dtype_is_float(x->dtype) && !known_finite(x, false))
        return NULL;
    return tjR_as_root(m, tjR_e2(TJ_OP_SECOND, x, tjR_const_like(m->root, 0)));
}

/* x / x -> 1, only where x cannot be 0, inf or NaN (0/0 and inf/inf are NaN) */
static tj_var *rw_div_self(tjR_match *m)
{
    tj_var *x = m->v[0];
    if (!known_finite(x, true))
        return NULL;
    return tjR_as_root(m, tjR_e2(TJ_OP_SECOND, x, tjR_const_like(m->root, 1)));
}

static tj_var *rw_neg_neg(tjR_match *m) { return m->v[0]; }

/* exp(log x) -> x where log is defined; NaN below 0 as before (no exp, no log) */
static tj_var *rw_exp_log(tjR_match *m)
{
    tj_var *x = m->v[0];
    tj_var *ok = tjR_e2(TJ_OP_GE, x, tjR_const_like(x, 0));
    tj_var *in[3] = {ok, x, tjR_const_like(x, NAN)};
    return ok && in[2] ? tjG_elemwise(TJ_OP_SWITCH, in, 3) : NULL;
}

static tj_var *rw_log_exp(tjR_match *m) { return m->v[0]; }

/* pow(x, c) for c in {0, 1, 2, 0.5, -1} */
static tj_var *rw_pow_const(tjR_match *m)
{
    tj_var *x = m->v[0], *r = m->root;
    double c = m->c[1];
    bool fl = tj_dtype_is_float(r->dtype);
    if (x->dtype != r->dtype)
        return NULL;
    if (c == 0)
        return tjR_as_root(m, tjR_e2(TJ_OP_SECOND, x, tjR_const_like(r, 1)));
    if (c == 1)
        return tjR_as_root(m, x);
    if (c == 2)
        return tjR_as_root(m, tjR_e1(TJ_OP_SQR, x));
    if (c == 0.5 && fl)
        return tjR_as_root(m, tjR_e1(TJ_OP_SQRT, x));
    if (c == -1 && fl)
        return tjR_as_root(m, tjR_e1(TJ_OP_INV, x));
    return NULL;
}

/* ---- negations sink toward the root, where they cancel or become a sign of a constant ---- */

static tj_var *rw_neg_sub(tjR_match *m) { return tjR_e2(TJ_OP_SUB, m->v[1], m->v[0]); }
static tj_var *rw_sub_neg(tjR_match *m) { return tjR_e2(TJ_OP_ADD, m->v[0], m->v[1]); }
static tj_var *rw_add_neg(tjR_match *m) { return tjR_e2(TJ_OP_SUB, m->v[0], m->v[1]); }
static tj_var *rw_neg_first_sub(tjR_match *m)
{
    return tjR_e1(TJ_OP_NEG, tjR_e2(TJ_OP_ADD, m->v[0], m->v[1]));
}
static tj_var *rw_mul_neg(tjR_match *m)
{
    return tjR_e1(TJ_OP_NEG, tjR_e2(TJ_OP_MUL, m->v[0], m->v[1]));
}
static tj_var *rw_div_neg(tjR_match *m)
{
    return tjR_e1(TJ_OP_NEG, tjR_e2(TJ_OP_DIV, m->v[0], m->v[1]));
}
static tj_var *rw_mul_minus_one(tjR_match *m)
{
    return tjR_as_root(m, tjR_e1(TJ_OP_NEG, m->v[0]));
}

/* neg(x * c) -> x * (-c) */
static tj_var *rw_neg_mul_const(tjR_match *m)
{
    if (m->root->dtype == TJ_BOOL)
        return NULL;
    return tjR_e2(TJ_OP_MUL, m->v[0], tjR_const_like(m->root, -m->c[1]));
}

/* dot(-a, b) and dot(a, -b) -> -dot(a, b): the negation becomes part of a BLAS alpha */
static tj_var *rw_dot_neg(tjR_match *m) { return tjR_e1(TJ_OP_NEG, tj_dot(m->v[0], m->v[1])); }

/* dot(a, s * b) with s a scalar -> s * dot(a, b) (the scalar becomes a BLAS alpha) */
static tj_var *rw_dot_scalar(tjR_match *m)
{
    tj_var *r = m->root;
    for (int side = 0; side < 2; side++) {
        tj_var *op = r->in[side];
        if (op->op != TJ_OP_MUL || tjR_clients(m->run, op) != 1)
            continue;
        for (int j = 0; j < 2; j++) {
            tj_var *s = tjR_scalar_of(op->in[j]);
            if (!s || tjR_is_scalar(op->in[1 - j]))
                continue;
            tj_var *d = side ? tj_dot(r->in[0], op->in[1 - j]) : tj_dot(op->in[1 - j], r->in[1]);
            if (!d)
                return NULL;
            return tjR_e2(TJ_OP_MUL, d, s);
        }
    }
    return NULL;
}

/* ---- chains: constants collected ---- */

/* add/sub trees: two or more constants fold into one; a constant 0 disappears */
static tj_var *rw_add_collect(tjR_match *m)
{
    tj_var *r = m->root;
    if (r->dtype == TJ_BOOL)
        return NULL;
    tjR_sum s;
    tjR_sum_of(m->run, r, true, &s);
    if (s.full || s.nconst == 0 || (s.nconst == 1 && s.k != 0) || s.n == 0)
        return NULL;
    return tjR_as_root(m, tjR_sum_build(r, &s));
}

/* mul/div trees: constants and negations fold into one constant */
static tj_var *rw_mul_collect(tjR_match *m)
{
    tj_var *r = m->root;
    if (r->dtype == TJ_BOOL)
        return NULL;
    tjR_product p;
    tjR_product_of(m->run, r, TJR_THROUGH_DIV | TJR_ABSORB_CONST, &p);
    if (p.full || p.n == 0 || p.nconst == 0 || (p.nconst == 1 && p.nneg == 0))
        return NULL;
    if (p.ncancel) /* x * ... / x: not safe where x may be 0 or inf (see div_self) */
        return NULL;
    if (!tj_dtype_is_float(r->dtype) && p.k != floor(p.k))
        return NULL;
    return tjR_as_root(m, tjR_product_build(r, &p));
}

/* ---- second(x, y): y broadcast to x's shape (gradients are full of them) ---- */

/* second(x, y) -> y, with only those shape leaves of x that y does not check (none: y itself;
 * an elementwise x never needs computing for its shape) */
static tj_var *rw_second_useless(tjR_match *m)
{
    tj_var *r = m->root, *n = tjR_as_root(m, m->v[1]);
    return n == r ? NULL : n;
}

/* An elementwise op reading second(x, y) reads y itself where the op's other operands and y
 * already check x's shape (and give the result's type); where they are all scalars, the second
 * moves above the op (with only x's shape leaves), so that the op works on scalars. Elsewhere
 * the second stays: it costs a fused kernel nothing, and moving it up would only move it. */
static tj_var *rw_second_operand(tjR_match *m)
{
    tj_var *r = m->root;
    if (!tj_op_is(r->op, OPF_ELEMWISE) || r->nin > 3)
        return NULL;
    for (int i = 0; i < r->nin; i++) {
        tj_var *s = r->in[i];
        if (s->op != TJ_OP_SECOND)
            continue;
        bool scalars = true;
        tj_var *in[3];
        for (int j = 0; j < r->nin; j++) {
            in[j] = r->in[j];
            scalars = scalars && (j == i || tjR_is_scalar(r->in[j]));
        }
        in[i] = s->in[1];
        tj_var *inner = tjG_rebuild(r, in, false);
        tj_var *n = tjR_keep_shape_checks(r, inner);
        bool lift = scalars && r->op != TJ_OP_SECOND && !tjR_is_scalar(s->in[0]);
        if (n && (n == inner || lift))
            return n;
    }
    return NULL;
}

static const tjR_rule rules[] = {
    {"mul_one", P(MUL, V(0), K(1)), rw_identity, 0},
    {"add_zero", P(ADD, V(0), K(0)), rw_identity, 0},
    {"sub_zero", P(SUB, V(0), K(0)), rw_identity, 0},
    {"div_one", P(DIV, V(0), K(1)), rw_identity, 0},
    {"zero_sub", P(SUB, K(0), V(0)), rw_zero_sub, 0},
    {"sub_self", P(SUB, V(0), V(0)), rw_sub_self, 0},
    {"div_self", P(DIV, V(0), V(0)), rw_div_self, 0},
    {"neg_neg", P(NEG, P(NEG, V(0))), rw_neg_neg, 0},
    {"exp_log", P(EXP, P(LOG, V(0))), rw_exp_log, 0},
    {"log_exp", P(LOG, P(EXP, V(0))), rw_log_exp, 0},
    {"pow_const", P(POW, V(0), C(1)), rw_pow_const, 0},
    {"add_collect", TJR_P0(ADD), rw_add_collect, 0},
    {"add_collect", TJR_P0(SUB), rw_add_collect, 0},
    {"mul_collect", TJR_P0(MUL), rw_mul_collect, 0},
    {"mul_collect", TJR_P0(DIV), rw_mul_collect, 0},
    {"mul_minus_one", P(MUL, V(0), K(-1)), rw_mul_minus_one, 0},
    {"neg_mul_const", P(NEG, P(MUL, V(0), C(1))), rw_neg_mul_const, 0},
    {"neg_sub", P(NEG, P(SUB, V(0), V(1))), rw_neg_sub, 0},
    {"sub_neg", P(SUB, V(0), P(NEG, V(1))), rw_sub_neg, 0},
    {"add_neg", P(ADD, V(0), P(NEG, V(1))), rw_add_neg, 0},
    {"neg_first_sub", P(SUB, P(NEG, V(0)), V(1)), rw_neg_first_sub, 0},
    {"mul_neg", P(MUL, P(NEG, V(0)), V(1)), rw_mul_neg, 0},
    {"div_neg", P(DIV, P(NEG, V(0)), V(1)), rw_div_neg, 0},
    {"div_neg", P(DIV, V(0), P(NEG, V(1))), rw_div_neg, 0},
    {"dot_neg", P(DOT, P(NEG, V(0)), V(1)), rw_dot_neg, 0},
    {"dot_neg", P(DOT, V(0), P(NEG, V(1))), rw_dot_neg, 0},
    {"dot_scalar", TJR_P0(DOT), rw_dot_scalar, 0},
    {"second_useless", P(SECOND, V(0), V(1)), rw_second_useless, 0},
    {"second_operand", TJR_ANY, rw_second_operand, 0},
};

const tjR_family tjR_canonicalize_rules = {"canonicalize", rules, sizeof rules / sizeof rules[0]};
