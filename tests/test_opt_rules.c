/* The optimizer's rules (issue 4), one case each: a graph built to trigger the rule makes it fire,
 * a near miss does not, and in both the optimized function computes what the unoptimized graph
 * computes (the reference executor with every pass excluded). The optimizer runs in full here
 * (FAST_COMPILE including stabilize, blas and specialize) so no case waits for LLVM. */
#include "support.h"
#include "internal.h"

#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { N = 4 };

typedef struct {
    tj_ctx *ctx;
    tj_var *x, *y, *s, *A, *B, *row, *iv, *all[7];
} vars;

typedef tj_var *(*build_fn)(vars *v);

typedef struct {
    const char *rule;
    build_fn fire, miss;
    const char *exclude; /* a rule that would otherwise rewrite the pattern first */
} rcase;

static tj_var *K(vars *v, double c) { return tj_const(v->ctx, TJ_FLOAT64, c); }
static tj_var *second(tj_var *a, tj_var *b)
{
    return tjG_elemwise(TJ_OP_SECOND, (tj_var *[]){a, b}, 2);
}

/* ---- graphs, by pass ---- */

/* merge */
static tj_var *f_commutative(vars *v)
{
    return tj_mul(tj_add(v->x, v->y), tj_exp(tj_add(v->y, v->x)));
}
static tj_var *m_commutative(vars *v)
{
    return tj_mul(tj_sub(v->x, v->y), tj_exp(tj_sub(v->y, v->x)));
}
static tj_var *f_scalar_constant(vars *v)
{
    int64_t one = 1;
    tj_array *a = tjt_array(TJ_FLOAT64, 1, &one, (double[]){2.5});
    tj_var *c = tj_constant(v->ctx, a);
    tj_array_unref(a);
    return tj_mul(v->x, c);
}
static tj_var *m_scalar_constant(vars *v)
{
    int64_t n = N;
    tj_array *a = tjt_array(TJ_FLOAT64, 1, &n, (double[]){2.5, 1, 3, 4});
    tj_var *c = tj_constant(v->ctx, a);
    tj_array_unref(a);
    return tj_mul(v->x, c);
}
/* canonicalize */
static tj_var *f_fold(vars *v) { return tj_add(v->x, tj_mul(K(v, 2), tj_exp(K(v, 1)))); }
static tj_var *m_fold_nan(vars *v) { return tj_add(v->x, tj_log(K(v, -1))); } /* log(-1): NaN */
static tj_var *m_fold_big(vars *v)
{
    int64_t n = 100000;
    tj_array *a = tj_array_new(TJ_FLOAT64, 1, &n);
    tj_var *c = tj_constant(v->ctx, a);
    tj_array_unref(a);
    return tj_add(tj_sum(tj_exp(c), NULL, 0, false), tj_sum(v->x, NULL, 0, false));
}
static tj_var *f_mul_one(vars *v) { return tj_exp(tj_mul(v->x, K(v, 1))); }
static tj_var *m_mul_one(vars *v) { return tj_exp(tj_mul(v->x, K(v, 2))); }
static tj_var *f_add_zero(vars *v) { return tj_exp(tj_add(v->x, K(v, 0))); }
static tj_var *m_add_zero(vars *v) { return tj_exp(tj_add(v->x, K(v, 1))); }
static tj_var *f_sub_zero(vars *v) { return tj_exp(tj_sub(v->x, K(v, 0))); }
static tj_var *f_div_one(vars *v) { return tj_exp(tj_div(v->x, K(v, 1))); }
static tj_var *m_div_one(vars *v) { return tj_exp(tj_div(v->x, v->y)); }
static tj_var *f_zero_sub(vars *v) { return tj_exp(tj_sub(K(v, 0), v->x)); }
static tj_var *m_zero_sub(vars *v) { return tj_exp(tj_sub(K(v, 1), v->x)); }
/* x - x only for an integer x or one that cannot be inf or NaN (exp(x) - exp(x) is NaN at
 * x = 1000) */
static tj_var *f_sub_self(vars *v)
{
    tj_var *i = tj_sub(v->iv, v->iv), *c = second(v->x, K(v, 3));
    return tj_add(tj_add(tj_cast(i, TJ_FLOAT64), tj_sub(c, c)), v->y);
}
static tj_var *m_sub_self(vars *v) { return tj_add(tj_sub(tj_exp(v->x), tj_exp(v->x)), v->y); }
/* x/x only for an x that cannot be 0, inf or NaN: a constant filled to x's shape */
static tj_var *f_div_self(vars *v)
{
    tj_var *c = second(v->x, K(v, 3));
    return tj_add(tj_div(c, c), v->y);
}
static tj_var *m_div_self(vars *v) { return tj_add(tj_div(tj_exp(v->x), tj_exp(v->x)), v->y); }
static tj_var *f_neg_neg(vars *v) { return tj_exp(tj_neg(tj_neg(v->x))); }
static tj_var *m_neg_neg(vars *v) { return tj_neg(tj_exp(tj_neg(v->x))); }
static tj_var *f_exp_log(vars *v) { return tj_add(tj_exp(tj_log(v->x)), v->y); }
static tj_var *m_exp_log(vars *v) { return tj_add(tj_exp(tj_log1p(v->x)), v->y); }
static tj_var *f_log_exp(vars *v) { return tj_add(tj_log(tj_exp(v->x)), v->y); }
static tj_var *m_log_exp(vars *v) { return tj_add(tj_log(tj_exp2(v->x)), v->y); }
static tj_var *f_pow(vars *v)
{
    tj_var *t[5] = {tj_powc(v->x, 0), tj_powc(v->x, 1), tj_powc(v->x, 2), tj_powc(v->x, 0.5),
                    tj_powc(v->x, -1)};
    return tj_add_n(t, 5);
}
static tj_var *m_pow(vars *v) { return tj_add(tj_powc(v->x, 3), tj_pow(v->x, v->y)); }
static tj_var *f_add_collect(vars *v) { return tj_exp(tj_addc(tj_addc(v->x, 1), 2)); }
static tj_var *m_add_collect(vars *v) { return tj_exp(tj_addc(tj_add(v->x, v->y), 2)); }
static tj_var *f_mul_collect(vars *v) { return tj_exp(tj_mulc(tj_divc(tj_mulc(v->x, 2), 4), 3)); }
static tj_var *m_mul_collect(vars *v) { return tj_exp(tj_mulc(tj_mul(v->x, v->y), 3)); }
static tj_var *f_mul_minus_one(vars *v) { return tj_exp(tj_mulc(v->x, -1)); }
static tj_var *m_mul_minus_one(vars *v) { return tj_exp(tj_mulc(v->x, -2)); }
static tj_var *f_neg_mul_const(vars *v) { return tj_exp(tj_neg(tj_mulc(v->x, 3))); }
static tj_var *m_neg_mul_const(vars *v) { return tj_exp(tj_neg(tj_mul(v->x, v->y))); }
static tj_var *f_neg_sub(vars *v) { return tj_exp(tj_neg(tj_sub(v->x, v->y))); }
static tj_var *m_neg_sub(vars *v) { return tj_exp(tj_neg(tj_add(v->x, v->y))); }
static tj_var *f_sub_neg(vars *v) { return tj_exp(tj_sub(v->x, tj_neg(v->y))); }
static tj_var *m_sub_neg(vars *v) { return tj_exp(tj_sub(v->x, tj_exp(v->y))); }
static tj_var *f_add_neg(vars *v) { return tj_exp(tj_add(v->x, tj_neg(v->y))); }
static tj_var *m_add_neg(vars *v) { return tj_exp(tj_add(v->x, tj_exp(v->y))); }
static tj_var *f_neg_first_sub(vars *v) { return tj_exp(tj_sub(tj_neg(v->x), v->y)); }
static tj_var *m_neg_first_sub(vars *v) { return tj_exp(tj_sub(tj_exp(v->x), v->y)); }
static tj_var *f_mul_neg(vars *v) { return tj_exp(tj_mul(tj_neg(v->x), v->y)); }
static tj_var *m_mul_neg(vars *v) { return tj_exp(tj_mul(tj_exp(v->x), v->y)); }
static tj_var *f_div_neg(vars *v) { return tj_exp(tj_div(tj_neg(v->x), v->y)); }
static tj_var *m_div_neg(vars *v) { return tj_exp(tj_div(tj_exp(v->x), v->y)); }
static tj_var *f_dot_neg(vars *v) { return tj_exp(tj_dot(v->A, tj_neg(v->x))); }
static tj_var *m_dot_neg(vars *v) { return tj_exp(tj_dot(v->A, tj_exp(v->x))); }
static tj_var *f_dot_scalar(vars *v) { return tj_exp(tj_dot(v->A, tj_mul(v->s, v->x))); }
static tj_var *m_dot_scalar(vars *v) { return tj_exp(tj_dot(v->A, tj_mul(v->y, v->x))); }
/* second(exp(x), x): x checks exp(x)'s shape itself (second(y, x) keeps y's check) */
static tj_var *f_second_useless(vars *v) { return tj_exp(second(tj_exp(v->x), v->x)); }
static tj_var *m_second_useless(vars *v) { return tj_exp(second(v->x, v->s)); }
/* exp(x)'s shape is x's, which the other operand checks */
static tj_var *f_second_operand(vars *v) { return tj_mul(second(tj_exp(v->x), v->s), v->x); }
static tj_var *m_second_operand(vars *v) /* nothing else checks x's shape against y's */
{
    return tj_mul(second(v->x, v->s), v->y);
}
static tj_var *f_cast_cast(vars *v)
{
    return tj_add(tj_cast(tj_cast(v->iv, TJ_INT64), TJ_FLOAT64), v->x);
}
static tj_var *m_cast_cast(vars *v)
{
    return tj_add(tj_cast(tj_cast(v->x, TJ_FLOAT32), TJ_FLOAT64), v->y);
}
static tj_var *f_cast_useless(vars *v)
{
    int64_t d = TJ_FLOAT64;
    tj_var *c = tjG_make(v->ctx, TJ_OP_CAST, TJ_FLOAT64, 1, 0, &v->x, 1, &d, 1, NULL);
    return tj_exp(c);
}
static tj_var *m_cast_useless(vars *v) { return tj_exp(tj_cast(v->iv, TJ_FLOAT64)); }
static tj_var *f_dimshuffle_useless(vars *v)
{
    int64_t p[2] = {-1, 1};
    tj_var *d = tjG_make(v->ctx, TJ_OP_DIMSHUFFLE, TJ_FLOAT64, 2, 1, &v->row, 1, p, 2, NULL);
    return tj_add(d, v->A);
}
static tj_var *m_dimshuffle_useless(vars *v) { return tj_add(tj_transpose(v->A), v->B); }
static tj_var *f_dimshuffle_merge(vars *v)
{
    return tj_add(tj_dimshuffle(tj_dimshuffle(v->x, (int[]){0, -1}, 2), (int[]){1, 0}, 2), v->A);
}
static tj_var *m_dimshuffle_merge(vars *v)
{
    return tj_add(tj_transpose(tj_dot(v->A, v->B)), v->A);
}
static tj_var *f_dimshuffle_lift(vars *v) { return tj_add(tj_transpose(tj_exp(v->A)), v->B); }
static tj_var *m_dimshuffle_lift(vars *v)
{
    tj_var *e = tj_exp(v->A); /* read twice: lifting would compute it twice */
    return tj_add(tj_transpose(e), e);
}
static tj_var *f_reduce_reduce(vars *v)
{
    return tj_sum(tj_sum(tj_exp(v->A), (int[]){1}, 1, false), NULL, 0, false);
}
static tj_var *m_reduce_reduce(vars *v)
{
    return tj_sum(tj_exp(tj_sum(v->A, (int[]){1}, 1, false)), NULL, 0, false);
}
static tj_var *f_reduce_bcast(vars *v) { return tj_sum(tj_exp(v->row), (int[]){0}, 1, false); }
static tj_var *m_reduce_bcast(vars *v) { return tj_sum(tj_exp(v->row), (int[]){1}, 1, false); }
static tj_var *f_shape_of_lift(vars *v)
{
    return tj_mul(v->x, tj_cast(tj_shape_of(tj_exp(v->y), 0), TJ_FLOAT64));
}
static tj_var *m_shape_of_lift(vars *v)
{
    return tj_mul(v->x, tj_cast(tj_shape_of(v->y, 0), TJ_FLOAT64));
}
static tj_var *f_reshape_useless(vars *v)
{
    return tj_exp(
        tj_reshape_sym(v->A, (tj_var *[]){tj_shape_of(v->A, 0), tj_shape_of(v->A, 1)}, 2));
}
static tj_var *m_reshape_useless(vars *v) /* the axes swapped: a real reshape (square A) */
{
    return tj_exp(
        tj_reshape_sym(v->A, (tj_var *[]){tj_shape_of(v->A, 1), tj_shape_of(v->A, 0)}, 2));
}
static tj_var *f_reshape_reshape(vars *v)
{
    return tj_exp(tj_reshape(tj_reshape(v->A, (int64_t[]){16}, 1), (int64_t[]){2, 8}, 2));
}
static tj_var *m_reshape_reshape(vars *v)
{
    return tj_exp(tj_reshape(tj_exp(tj_reshape(v->A, (int64_t[]){16}, 1)), (int64_t[]){2, 8}, 2));
}
/* stabilize */
static tj_var *f_log1p(vars *v) { return tj_log(tj_addc(v->x, 1)); }
static tj_var *m_log1p(vars *v) { return tj_log(tj_addc(v->x, 2)); }
static tj_var *f_log1m(vars *v) { return tj_log(tj_rsubc(1, tj_mulc(v->x, 0.1))); }
static tj_var *m_log1m(vars *v) { return tj_log(tj_rsubc(2, tj_mulc(v->x, 0.1))); }
static tj_var *f_expm1(vars *v) { return tj_subc(tj_exp(v->x), 1); }
static tj_var *m_expm1(vars *v) { return tj_subc(tj_exp(v->x), 2); }
static tj_var *f_softplus(vars *v) { return tj_log(tj_addc(tj_exp(v->x), 1)); }
static tj_var *m_softplus(vars *v) { return tj_log(tj_addc(tj_exp2(v->x), 1)); }
static tj_var *f_log_sigmoid(vars *v) { return tj_log(tj_sigmoid(v->x)); }
static tj_var *m_log_sigmoid(vars *v) { return tj_log(tj_tanh(v->x)); }
static tj_var *f_log_1m_sigmoid(vars *v) { return tj_log(tj_rsubc(1, tj_sigmoid(v->x))); }
static tj_var *m_log_1m_sigmoid(vars *v) { return tj_log(tj_rsubc(1, tj_tanh(v->x))); }
static tj_var *f_one_minus_sigmoid(vars *v) { return tj_rsubc(1, tj_sigmoid(v->x)); }
static tj_var *m_one_minus_sigmoid(vars *v) { return tj_rsubc(2, tj_sigmoid(v->x)); }
static tj_var *f_inv_1p_exp(vars *v) { return tj_rdivc(1, tj_addc(tj_exp(tj_neg(v->x)), 1)); }
static tj_var *m_inv_1p_exp(vars *v) { return tj_rdivc(1, tj_addc(tj_exp(tj_neg(v->x)), 2)); }
static tj_var *f_exp_over(vars *v) { return tj_div(tj_exp(v->x), tj_addc(tj_exp(v->x), 1)); }
static tj_var *m_exp_over(vars *v) { return tj_div(tj_exp(v->x), tj_addc(tj_exp(v->y), 1)); }
static tj_var *f_logsumexp(vars *v) { return tj_log(tj_sum(tj_exp(v->A), (int[]){1}, 1, false)); }
static tj_var *m_logsumexp(vars *v)
{
    return tj_log(tj_addc(tj_sum(tj_exp(v->A), (int[]){1}, 1, false), 3));
}
static tj_var *f_softmax(vars *v)
{
    tj_var *e = tj_exp(v->A);
    return tj_div(e, tj_sum(e, (int[]){1}, 1, true));
}
static tj_var *m_softmax(vars *v)
{
    return tj_div(tj_exp(v->A), tj_sum(tj_exp(v->B), (int[]){1}, 1, true));
}
static tj_var *f_log_softmax(vars *v) { return tj_log(tj_softmax(v->A, 1)); }
static tj_var *m_log_softmax(vars *v) { return tj_log(tj_addc(tj_softmax(v->A, 1), 1)); }
static tj_var *f_softmax_shift(vars *v)
{
    return tj_softmax(tj_sub(v->A, tj_max(v->A, (int[]){1}, 1, true)), 1);
}
static tj_var *m_softmax_shift(vars *v) { return tj_softmax(tj_sub(v->A, v->B), 1); }
static tj_var *f_sigmoid_product(vars *v) { return tj_mul(tj_exp(v->x), tj_sigmoid(tj_neg(v->x))); }
static tj_var *m_sigmoid_product(vars *v) { return tj_mul(tj_exp(v->x), tj_sigmoid(v->x)); }
static tj_var *f_product_cancel(vars *v)
{
    tj_var *sm = tj_softmax(v->A, 1);
    return tj_mul(sm, tj_div(v->B, sm));
}
static tj_var *m_product_cancel(vars *v) { return tj_mul(v->x, tj_div(v->y, v->x)); }
/* blas */
static tj_var *f_blas_dot(vars *v) { return tj_dot(v->A, v->x); }
static tj_var *m_blas_dot(vars *v) { return tj_dot(v->y, v->x); }
static tj_var *f_lincomb(vars *v)
{
    return tj_sub(tj_mulc(tj_dot(tj_transpose(v->A), v->B), 2), tj_mul(v->B, v->s));
}
static tj_var *m_lincomb(vars *v) /* a broadcast bias stays in the kernel that adds it */
{
    return tj_add(tj_dot(v->A, v->B), tj_dimshuffle(v->x, (int[]){-1, 0}, 2));
}
static tj_var *f_dot_self(vars *v) { return tj_sum(tj_mul(v->x, v->x), NULL, 0, false); }
static tj_var *m_dot_self(vars *v) { return tj_sum(tj_mul(v->x, v->y), NULL, 0, false); }
/* specialize */
static tj_var *f_sum_scalar(vars *v) { return tj_sum(tj_mul(v->s, tj_exp(v->A)), NULL, 0, false); }
static tj_var *m_sum_scalar(vars *v)
{
    return tj_sum(tj_mul(tj_dimshuffle(v->x, (int[]){-1, 0}, 2), tj_exp(v->A)), NULL, 0, false);
}
static tj_var *f_sum_neg(vars *v) { return tj_sum(tj_neg(tj_exp(v->A)), (int[]){0}, 1, false); }
static tj_var *m_sum_neg(vars *v) { return tj_sum(tj_abs(tj_exp(v->A)), (int[]){0}, 1, false); }
static tj_var *f_mul_self(vars *v) { return tj_exp(tj_mul(v->x, v->x)); }
static tj_var *m_mul_self(vars *v) { return tj_exp(tj_mul(v->x, v->y)); }
static tj_var *f_div_const(vars *v) { return tj_exp(tj_divc(v->x, 3)); }
static tj_var *m_div_const(vars *v) { return tj_exp(tj_div(v->x, v->y)); }

static rcase cases[] = {
    {"merge_commutative", f_commutative, m_commutative, NULL},
    {"merge_scalar_constant", f_scalar_constant, m_scalar_constant, NULL},
    {"constant_fold", f_fold, m_fold_nan, NULL},
    {"constant_fold", f_fold, m_fold_big, NULL},
    {"mul_one", f_mul_one, m_mul_one, NULL},
    {"add_zero", f_add_zero, m_add_zero, NULL},
    {"sub_zero", f_sub_zero, m_add_zero, NULL},
    {"div_one", f_div_one, m_div_one, NULL},
    {"zero_sub", f_zero_sub, m_zero_sub, NULL},
    {"sub_self", f_sub_self, m_sub_self, NULL},
    {"div_self", f_div_self, m_div_self, "second_operand"},
    {"neg_neg", f_neg_neg, m_neg_neg, NULL},
    {"exp_log", f_exp_log, m_exp_log, NULL},
    {"log_exp", f_log_exp, m_log_exp, NULL},
    {"pow_const", f_pow, m_pow, NULL},
    {"add_collect", f_add_collect, m_add_collect, NULL},
    {"mul_collect", f_mul_collect, m_mul_collect, NULL},
    {"mul_minus_one", f_mul_minus_one, m_mul_minus_one, NULL},
    {"neg_mul_const", f_neg_mul_const, m_neg_mul_const, "mul_minus_one"},
    {"neg_sub", f_neg_sub, m_neg_sub, NULL},
    {"sub_neg", f_sub_neg, m_sub_neg, NULL},
    {"add_neg", f_add_neg, m_add_neg, NULL},
    {"neg_first_sub", f_neg_first_sub, m_neg_first_sub, NULL},
    {"mul_neg", f_mul_neg, m_mul_neg, NULL},
    {"div_neg", f_div_neg, m_div_neg, NULL},
    {"dot_neg", f_dot_neg, m_dot_neg, NULL},
    {"dot_scalar", f_dot_scalar, m_dot_scalar, NULL},
    {"second_useless", f_second_useless, m_second_useless, NULL},
    {"second_operand", f_second_operand, m_second_operand, NULL},
    {"cast_cast", f_cast_cast, m_cast_cast, NULL},
    {"cast_useless", f_cast_useless, m_cast_useless, NULL},
    {"dimshuffle_useless", f_dimshuffle_useless, m_dimshuffle_useless, NULL},
    {"dimshuffle_merge", f_dimshuffle_merge, m_dimshuffle_merge, NULL},
    {"dimshuffle_lift", f_dimshuffle_lift, m_dimshuffle_lift, NULL},
    {"reduce_reduce", f_reduce_reduce, m_reduce_reduce, NULL},
    {"reduce_bcast_axes", f_reduce_bcast, m_reduce_bcast, NULL},
    {"shape_of_lift", f_shape_of_lift, m_shape_of_lift, NULL},
    {"reshape_useless", f_reshape_useless, m_reshape_useless, NULL},
    {"reshape_reshape", f_reshape_reshape, m_reshape_reshape, NULL},
    {"log1p", f_log1p, m_log1p, NULL},
    {"log1m", f_log1m, m_log1m, NULL},
    {"expm1", f_expm1, m_expm1, NULL},
    {"log1p_exp_softplus", f_softplus, m_softplus, NULL},
    {"log_sigmoid", f_log_sigmoid, m_log_sigmoid, NULL},
    {"log_1m_sigmoid", f_log_1m_sigmoid, m_log_1m_sigmoid, "one_minus_sigmoid"},
    {"one_minus_sigmoid", f_one_minus_sigmoid, m_one_minus_sigmoid, NULL},
    {"inv_1p_exp_sigmoid", f_inv_1p_exp, m_inv_1p_exp, NULL},
    {"exp_over_1p_exp", f_exp_over, m_exp_over, NULL},
    {"logsumexp", f_logsumexp, m_logsumexp, NULL},
    {"softmax", f_softmax, m_softmax, NULL},
    {"log_softmax", f_log_softmax, m_log_softmax, NULL},
    {"softmax_shift", f_softmax_shift, m_softmax_shift, NULL},
    {"sigmoid_product", f_sigmoid_product, m_sigmoid_product, NULL},
    {"product_cancel", f_product_cancel, m_product_cancel, NULL},
    {"blas_dot", f_blas_dot, m_blas_dot, NULL},
    {"blas_lincomb", f_lincomb, m_lincomb, NULL},
    {"blas_dot_self", f_dot_self, m_dot_self, NULL},
    {"sum_scalar_factor", f_sum_scalar, m_sum_scalar, NULL},
    {"sum_neg", f_sum_neg, m_sum_neg, NULL},
    {"mul_self_sqr", f_mul_self, m_mul_self, NULL},
    {"div_const_inverse", f_div_const, m_div_const, NULL},
};

/* ---- the harness ---- */

static void make_vars(vars *v)
{
    v->ctx = tj_ctx_new();
    v->x = tj_vector(v->ctx, TJ_FLOAT64, "x");
    v->y = tj_vector(v->ctx, TJ_FLOAT64, "y");
    v->s = tj_scalar(v->ctx, TJ_FLOAT64, "s");
    v->A = tj_matrix(v->ctx, TJ_FLOAT64, "A");
    v->B = tj_matrix(v->ctx, TJ_FLOAT64, "B");
    v->row = tj_tensor(v->ctx, TJ_FLOAT64, 2, (bool[]){true, false}, "row");
    v->iv = tj_vector(v->ctx, TJ_INT32, "iv");
    tj_var *all[7] = {v->x, v->y, v->s, v->A, v->B, v->row, v->iv};
    memcpy(v->all, all, sizeof all);
}

static tj_array **make_data(void)
{
    static const double xs[N] = {0.3, 1.7, 2.5, 0.9}, ys[N] = {1.1, 0.4, 2.2, 1.3};
    double a[N * N], b[N * N];
    for (int i = 0; i < N * N; i++) {
        a[i] = 0.25 * sin(1.0 + i) + 0.5;
        b[i] = 0.5 * cos(0.5 * i) - 0.1;
    }
    int64_t n = N, mshape[2] = {N, N}, rshape[2] = {1, N};
    tj_array **d = malloc(sizeof *d * 7);
    d[0] = tjt_array(TJ_FLOAT64, 1, &n, xs);
    d[1] = tjt_array(TJ_FLOAT64, 1, &n, ys);
    d[2] = tj_array_scalar(TJ_FLOAT64, 0.7);
    d[3] = tjt_array(TJ_FLOAT64, 2, mshape, a);
    d[4] = tjt_array(TJ_FLOAT64, 2, mshape, b);
    d[5] = tjt_array(TJ_FLOAT64, 2, rshape, ys);
    d[6] = tjt_array(TJ_INT32, 1, &n, (double[]){3, -1, 7, 2});
    return d;
}

static const char *const full_optimizer[] = {"stabilize", "blas", "specialize"};
static const char *const no_optimizer[] = {"merge", "canonicalize"};

static tj_fn *compile(vars *v, tj_var *out, bool optimize, const char *exclude)
{
    tj_function_opts o = TJ_FUNCTION_OPTS_INIT;
    o.mode = TJ_MODE_FAST_COMPILE;
    o.on_unused_input = TJ_UNUSED_IGNORE;
    const char *ex[1] = {exclude};
    if (optimize) {
        o.optimizer_including = full_optimizer;
        o.noptimizer_including = 3;
        o.optimizer_excluding = ex;
        o.noptimizer_excluding = exclude ? 1 : 0;
    } else {
        o.optimizer_excluding = no_optimizer;
        o.noptimizer_excluding = 2;
    }
    return tj_function(v->ctx, v->all, 7, &out, 1, &o);
}

static void check(const rcase *c, bool fire)
{
    vars v;
    make_vars(&v);
    tj_var *out = (fire ? c->fire : c->miss)(&v);
    cr_assert(out, "%s: building the graph failed: %s", c->rule, tj_errmsg(v.ctx));
    tj_fn *opt = compile(&v, out, true, c->exclude), *ref = compile(&v, out, false, NULL);
    cr_assert(opt && ref, "%s: %s", c->rule, tj_errmsg(v.ctx));
    int count = tj_fn_rewrite_count(opt, c->rule);
    char *log = tj_fn_rewrites(opt);
    if (fire)
        cr_expect_gt(count, 0, "rule %s did not fire:\n%s", c->rule, log);
    else
        cr_expect_eq(count, 0, "rule %s fired on its near miss:\n%s", c->rule, log);
    cr_expect_eq(tj_fn_rewrite_count(ref, NULL), 0);
    tj_array **data = make_data(), *a, *b;
    cr_assert_eq(tj_call(opt, data, &a), TJ_OK, "%s: %s", c->rule, tj_errmsg(v.ctx));
    cr_assert_eq(tj_call(ref, data, &b), TJ_OK, "%s: %s", c->rule, tj_errmsg(v.ctx));
    cr_assert_eq(tj_array_size(a), tj_array_size(b));
    for (int64_t i = 0; i < tj_array_size(a); i++) {
        double p = tjt_at(a, i), q = tjt_at(b, i);
        cr_expect(fabs(p - q) <= 1e-12 * fmax(1, fabs(q)) || (isnan(p) && isnan(q)),
                  "%s (%s): element %lld is %.17g optimized, %.17g as written\n%s", c->rule,
                  fire ? "fires" : "near miss", (long long)i, p, q, log);
    }
    free(log);
    tj_array_unref(a);
    tj_array_unref(b);
    for (int i = 0; i < 7; i++)
        tj_array_unref(data[i]);
    free(data);
    tj_ctx_free(v.ctx);
}

/* parameters are indices: a test may run in a fresh process image, where pointers differ */
enum { NCASES = sizeof cases / sizeof cases[0] };
static int indices[NCASES];

ParameterizedTestParameters(opt_rules, fires)
{
    for (int i = 0; i < NCASES; i++)
        indices[i] = i;
    return cr_make_param_array(int, indices, NCASES);
}
ParameterizedTest(int *i, opt_rules, fires) { check(&cases[*i], true); }

ParameterizedTestParameters(opt_rules, near_miss_does_not)
{
    for (int i = 0; i < NCASES; i++)
        indices[i] = i;
    return cr_make_param_array(int, indices, NCASES);
}
ParameterizedTest(int *i, opt_rules, near_miss_does_not) { check(&cases[*i], false); }
