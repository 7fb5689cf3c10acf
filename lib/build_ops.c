/* Public builders for operations: type promotion (numpy rules, weak literals), implicit
 * dimshuffles for rank alignment, static broadcast patterns. After a builder, an elementwise
 * node's inputs all have its rank and its compute dtype (see ops.def). */
#include "internal.h"

#include <stdio.h>
#include <string.h>

/* Checks operands: all live, all from one context. Returns the context or NULL.
 * A NULL operand records in the thread's slot only: the context keeps the first failure. */
static tj_ctx *operands_ctx(tj_var *const *vs, int n, const char *fn)
{
    for (int i = 0; i < n; i++)
        if (!tjG_live(vs[i], fn))
            return NULL;
    for (int i = 1; i < n; i++) {
        if (vs[i]->ctx != vs[0]->ctx) {
            tjC_error(vs[0]->ctx, TJ_ERR_INVALID,
                      "%s: operand %d belongs to another context than operand 0", fn, i);
            return NULL;
        }
    }
    return vs[0]->ctx;
}

/* The dtype n operands compute in: numpy promotion among the typed operands, where a weak
 * literal only decides the kind (a float literal turns an integer tensor into float64, an integer
 * literal a bool tensor into int64; otherwise the tensors win). All weak: they promote. */
static tj_dtype common_dtype(tj_var *const *v, int n)
{
    int strong = -1;
    for (int i = 0; i < n; i++)
        if (!v[i]->weak)
            strong =
                strong < 0 ? (int)v[i]->dtype : (int)tjA_promote((tj_dtype)strong, v[i]->dtype);
    if (strong < 0) {
        tj_dtype t = v[0]->dtype;
        for (int i = 1; i < n; i++)
            t = tjA_promote(t, v[i]->dtype);
        return t;
    }
    tj_dtype t = (tj_dtype)strong;
    for (int i = 0; i < n; i++) {
        if (!v[i]->weak)
            continue;
        if (tj_dtype_is_float(v[i]->dtype) && !tj_dtype_is_float(t))
            t = TJ_FLOAT64;
        else if (t == TJ_BOOL && v[i]->dtype != TJ_BOOL)
            t = v[i]->dtype;
    }
    return t;
}

/* v in dtype d: a weak literal becomes a constant of d, anything else a cast node. */
static tj_var *as_dtype(tj_var *v, tj_dtype d)
{
    if (!v || (v->dtype == d && !v->weak))
        return v;
    if (v->op == TJ_OP_CONSTANT && v->ndim == 0) {
        tj_array *a = tjA_convert(v->ctx, v->value, d);
        if (!a) {
            tjC_error(v->ctx, TJ_ERR_NOMEM, "out of memory converting a literal");
            return NULL;
        }
        return tjG_make(v->ctx, TJ_OP_CONSTANT, d, 0, 0, NULL, 0, NULL, 0, a);
    }
    if (v->dtype == d)
        return v;
    int64_t attr = d;
    return tjG_make(v->ctx, TJ_OP_CAST, d, v->ndim, v->bcast, &v, 1, &attr, 1, NULL);
}

/* v with leading broadcastable axes added up to ndim (numpy's right alignment). */
static tj_var *expand_to(tj_var *v, int ndim)
{
    if (!v || v->ndim == ndim)
        return v;
    int64_t pattern[TJ_MAX_NDIM];
    int add = ndim - v->ndim;
    for (int d = 0; d < ndim; d++)
        pattern[d] = d < add ? -1 : d - add;
    uint32_t bcast = (add >= 32 ? 0 : v->bcast << add) | tjG_axes_below(add);
    return tjG_make(v->ctx, TJ_OP_DIMSHUFFLE, v->dtype, ndim, bcast, &v, 1, pattern, ndim, NULL);
}

/* Makes an elementwise node from inputs that already share a rank; result dtype `out`. */
static tj_var *elemwise_node(tj_op op, tj_dtype out, tj_var **in, int nin, const int64_t *attr,
                             int nattr)
{
    for (int i = 0; i < nin; i++)
        if (!in[i])
            return NULL;
    uint32_t bcast = ~0u;
    int ndim = in[0]->ndim;
    for (int i = 0; i < nin; i++)
        bcast &= in[i]->bcast;
    bcast &= tjG_axes_below(ndim);
    /* results of operations are strongly typed: only literals are weak */
    return tjG_make(in[0]->ctx, op, out, ndim, bcast, in, nin, attr, nattr, NULL);
}

static int max_ndim(tj_var *const *in, int n)
{
    int m = 0;
    for (int i = 0; i < n; i++)
        m = in[i]->ndim > m ? in[i]->ndim : m;
    return m;
}

tj_var *tjG_elemwise(tj_op op, tj_var *const *args, int nin)
{
    const char *name = tjG_ops[op].name;
    tj_ctx *ctx = operands_ctx(args, nin, name);
    if (!ctx)
        return NULL;
    tj_var *in[3];
    int ndim = max_ndim(args, nin);
    if (op == TJ_OP_SECOND) { /* a gives only the shape: dtypes are not unified */
        in[0] = expand_to(args[0], ndim);
        in[1] = expand_to(as_dtype(args[1], args[1]->dtype), ndim);
        return elemwise_node(op, in[1] ? in[1]->dtype : TJ_FLOAT64, in, 2, NULL, 0);
    }
    int first = op == TJ_OP_SWITCH ? 1 : 0; /* switch's condition is typed apart */
    tj_dtype t;
    const char *why;
    tj_dtype promoted = common_dtype(args + first, nin - first);
    if (tjG_elemwise_dtype(op, promoted, &t, &why) != TJ_OK) {
        char buf[160];
        tjC_error(ctx, TJ_ERR_TYPE, "%s: the operand %s%s%s is %s; %s %s", name,
                  tjG_describe(args[first], buf, sizeof buf),
                  nin - first > 1 ? " promoted with the other operand" : "",
                  nin - first > 2 ? "s" : "", tj_dtype_name(promoted), name, why);
        return NULL;
    }
    if (op == TJ_OP_SWITCH)
        in[0] = expand_to(as_dtype(args[0], TJ_BOOL), ndim);
    for (int i = first; i < nin; i++)
        in[i] = expand_to(as_dtype(args[i], t), ndim);
    tj_dtype out = tj_op_is(op, OPF_BOOLOUT) ? TJ_BOOL : t;
    return elemwise_node(op, out, in, nin, NULL, 0);
}

static tj_var *unary(tj_op op, tj_var *a) { return tjG_elemwise(op, &a, 1); }
static tj_var *binary(tj_op op, tj_var *a, tj_var *b)
{
    tj_var *in[2] = {a, b};
    return tjG_elemwise(op, in, 2);
}

tj_var *tj_add(tj_var *a, tj_var *b) { return binary(TJ_OP_ADD, a, b); }
tj_var *tj_sub(tj_var *a, tj_var *b) { return binary(TJ_OP_SUB, a, b); }
tj_var *tj_mul(tj_var *a, tj_var *b) { return binary(TJ_OP_MUL, a, b); }
tj_var *tj_div(tj_var *a, tj_var *b) { return binary(TJ_OP_DIV, a, b); }
tj_var *tj_pow(tj_var *a, tj_var *b) { return binary(TJ_OP_POW, a, b); }
tj_var *tj_maximum(tj_var *a, tj_var *b) { return binary(TJ_OP_MAXIMUM, a, b); }
tj_var *tj_minimum(tj_var *a, tj_var *b) { return binary(TJ_OP_MINIMUM, a, b); }
tj_var *tj_gt(tj_var *a, tj_var *b) { return binary(TJ_OP_GT, a, b); }
tj_var *tj_lt(tj_var *a, tj_var *b) { return binary(TJ_OP_LT, a, b); }
tj_var *tj_ge(tj_var *a, tj_var *b) { return binary(TJ_OP_GE, a, b); }
tj_var *tj_le(tj_var *a, tj_var *b) { return binary(TJ_OP_LE, a, b); }
tj_var *tj_eq(tj_var *a, tj_var *b) { return binary(TJ_OP_EQ, a, b); }
tj_var *tj_neq(tj_var *a, tj_var *b) { return binary(TJ_OP_NEQ, a, b); }

tj_var *tj_neg(tj_var *a) { return unary(TJ_OP_NEG, a); }
tj_var *tj_abs(tj_var *a) { return unary(TJ_OP_ABS, a); }
tj_var *tj_exp(tj_var *a) { return unary(TJ_OP_EXP, a); }
tj_var *tj_log(tj_var *a) { return unary(TJ_OP_LOG, a); }
tj_var *tj_sqrt(tj_var *a) { return unary(TJ_OP_SQRT, a); }
tj_var *tj_sqr(tj_var *a) { return unary(TJ_OP_SQR, a); }
tj_var *tj_inv(tj_var *a) { return unary(TJ_OP_INV, a); }
tj_var *tj_sigmoid(tj_var *a) { return unary(TJ_OP_SIGMOID, a); }
tj_var *tj_tanh(tj_var *a) { return unary(TJ_OP_TANH, a); }
tj_var *tj_log1p(tj_var *a) { return unary(TJ_OP_LOG1P, a); }
tj_var *tj_expm1(tj_var *a) { return unary(TJ_OP_EXPM1, a); }
tj_var *tj_softplus(tj_var *a) { return unary(TJ_OP_SOFTPLUS, a); }
tj_var *tj_exp2(tj_var *a) { return unary(TJ_OP_EXP2, a); }
tj_var *tj_log2(tj_var *a) { return unary(TJ_OP_LOG2, a); }
tj_var *tj_log10(tj_var *a) { return unary(TJ_OP_LOG10, a); }
tj_var *tj_rsqrt(tj_var *a) { return unary(TJ_OP_RSQRT, a); }
tj_var *tj_sin(tj_var *a) { return unary(TJ_OP_SIN, a); }
tj_var *tj_cos(tj_var *a) { return unary(TJ_OP_COS, a); }
tj_var *tj_tan(tj_var *a) { return unary(TJ_OP_TAN, a); }
tj_var *tj_arcsin(tj_var *a) { return unary(TJ_OP_ARCSIN, a); }
tj_var *tj_arccos(tj_var *a) { return unary(TJ_OP_ARCCOS, a); }
tj_var *tj_arctan(tj_var *a) { return unary(TJ_OP_ARCTAN, a); }
tj_var *tj_sinh(tj_var *a) { return unary(TJ_OP_SINH, a); }
tj_var *tj_cosh(tj_var *a) { return unary(TJ_OP_COSH, a); }
tj_var *tj_arcsinh(tj_var *a) { return unary(TJ_OP_ARCSINH, a); }
tj_var *tj_arccosh(tj_var *a) { return unary(TJ_OP_ARCCOSH, a); }
tj_var *tj_arctanh(tj_var *a) { return unary(TJ_OP_ARCTANH, a); }
tj_var *tj_erf(tj_var *a) { return unary(TJ_OP_ERF, a); }
tj_var *tj_erfc(tj_var *a) { return unary(TJ_OP_ERFC, a); }
tj_var *tj_sign(tj_var *a) { return unary(TJ_OP_SIGN, a); }
tj_var *tj_floor(tj_var *a) { return unary(TJ_OP_FLOOR, a); }
tj_var *tj_ceil(tj_var *a) { return unary(TJ_OP_CEIL, a); }
tj_var *tj_round(tj_var *a) { return unary(TJ_OP_ROUND, a); }
tj_var *tj_trunc(tj_var *a) { return unary(TJ_OP_TRUNC, a); }
tj_var *tj_isnan(tj_var *a) { return unary(TJ_OP_ISNAN, a); }
tj_var *tj_isinf(tj_var *a) { return unary(TJ_OP_ISINF, a); }
tj_var *tj_not(tj_var *a) { return unary(TJ_OP_NOT, a); }
tj_var *tj_invert(tj_var *a) { return unary(TJ_OP_INVERT, a); }

tj_var *tj_int_div(tj_var *a, tj_var *b) { return binary(TJ_OP_INT_DIV, a, b); }
tj_var *tj_mod(tj_var *a, tj_var *b) { return binary(TJ_OP_MOD, a, b); }
tj_var *tj_arctan2(tj_var *y, tj_var *x) { return binary(TJ_OP_ARCTAN2, y, x); }
tj_var *tj_and(tj_var *a, tj_var *b) { return binary(TJ_OP_AND, a, b); }
tj_var *tj_or(tj_var *a, tj_var *b) { return binary(TJ_OP_OR, a, b); }
tj_var *tj_xor(tj_var *a, tj_var *b) { return binary(TJ_OP_XOR, a, b); }

tj_var *tj_clip(tj_var *x, tj_var *lo, tj_var *hi)
{
    tj_var *in[3] = {x, lo, hi};
    return tjG_elemwise(TJ_OP_CLIP, in, 3);
}

tj_var *tj_switch(tj_var *cond, tj_var *a, tj_var *b)
{
    tj_var *in[3] = {cond, a, b};
    return tjG_elemwise(TJ_OP_SWITCH, in, 3);
}

tj_var *tj_cast(tj_var *a, tj_dtype dtype)
{
    if (!tjG_live(a, "tj_cast"))
        return NULL;
    if (!tj_dtype_valid((int)dtype)) {
        tjC_error(a->ctx, TJ_ERR_TYPE, "tj_cast: dtype %d is not a tj_dtype", (int)dtype);
        return NULL;
    }
    return as_dtype(a, dtype);
}

/* an integral literal is a Python int (it keeps integer tensors integer), any other a float */
static tj_var *lit_of(tj_ctx *ctx, double c)
{
    bool integral = c >= -9.2e18 && c <= 9.2e18 && c == (double)(int64_t)c;
    return integral ? tj_lit_int(ctx, (int64_t)c) : tj_lit(ctx, c);
}

static tj_var *with_lit(tj_var *a, double c, tj_op op, bool lit_first)
{
    if (!tjG_live(a, tjG_ops[op].name))
        return NULL;
    tj_var *k = lit_of(a->ctx, c);
    return lit_first ? binary(op, k, a) : binary(op, a, k);
}

tj_var *tj_addc(tj_var *a, double c) { return with_lit(a, c, TJ_OP_ADD, false); }
tj_var *tj_subc(tj_var *a, double c) { return with_lit(a, c, TJ_OP_SUB, false); }
tj_var *tj_mulc(tj_var *a, double c) { return with_lit(a, c, TJ_OP_MUL, false); }
tj_var *tj_divc(tj_var *a, double c) { return with_lit(a, c, TJ_OP_DIV, false); }
tj_var *tj_powc(tj_var *a, double c) { return with_lit(a, c, TJ_OP_POW, false); }
tj_var *tj_int_divc(tj_var *a, double c) { return with_lit(a, c, TJ_OP_INT_DIV, false); }
tj_var *tj_modc(tj_var *a, double c) { return with_lit(a, c, TJ_OP_MOD, false); }
tj_var *tj_clipc(tj_var *a, double lo, double hi)
{
    if (!tjG_live(a, "tj_clipc"))
        return NULL;
    return tj_clip(a, lit_of(a->ctx, lo), lit_of(a->ctx, hi));
}
tj_var *tj_rsubc(double c, tj_var *a) { return with_lit(a, c, TJ_OP_SUB, true); }
tj_var *tj_rdivc(double c, tj_var *a) { return with_lit(a, c, TJ_OP_DIV, true); }

static tj_var *nary(tj_var *const *vars, int n, tj_op op, const char *fn)
{
    if (!vars || n < 1) {
        tjA_error(TJ_ERR_INVALID, "%s: needs at least one variable (got %d)", fn, n);
        return NULL;
    }
    if (n == 1 && !tjG_live(vars[0], fn))
        return NULL;
    tj_var *acc = vars[0];
    for (int i = 1; i < n; i++)
        acc = binary(op, acc, vars[i]);
    return acc;
}

tj_var *tj_add_n(tj_var *const *vars, int n) { return nary(vars, n, TJ_OP_ADD, "tj_add_n"); }
tj_var *tj_mul_n(tj_var *const *vars, int n) { return nary(vars, n, TJ_OP_MUL, "tj_mul_n"); }
