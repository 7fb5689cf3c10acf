/* tj_grad: every op's VJP against central finite differences (float64, through the reference
 * executor), exact gradient types, broadcasting, the error contract, disconnected inputs,
 * consider_constant, integer wrt, higher-order gradients and very deep graphs. */
#include <criterion/criterion.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "support.h"

static tj_ctx *ctx;

static void setup(void)
{
    ctx = tj_ctx_new();
    cr_assert(ctx);
}

static void teardown(void) { tj_ctx_free(ctx); }

TestSuite(grad, .init = setup, .fini = teardown);

/* ---- helpers --------------------------------------------------------------------------------- */

/* xorshift64: fixed seeds make every check deterministic */
static double uniform(uint64_t *s, double lo, double hi)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return lo + (hi - lo) * (double)(*s >> 11) / 9007199254740992.0;
}

typedef struct {
    int ndim;
    int64_t shape[4];
    bool bcast[4]; /* must match length-1 axes of shape */
    double lo, hi;
    bool away0; /* |value| in [lo, hi] with a random sign */
} argspec;

static tj_array *random_array(uint64_t *s, int ndim, const int64_t *shape, double lo, double hi,
                              bool away0)
{
    tj_array *a = tj_array_new(TJ_FLOAT64, ndim, shape);
    cr_assert(a);
    double *p = tj_array_data(a);
    for (int64_t i = 0; i < tj_array_size(a); i++) {
        p[i] = uniform(s, lo, hi);
        if (away0 && uniform(s, 0, 1) < 0.5)
            p[i] = -p[i];
    }
    return a;
}

static tj_array *eval1(tj_var *const *in, tj_array *const *val, int n, tj_var *out)
{
    tj_array *r = NULL;
    tj_status st = tjI_eval(ctx, in, val, n, &out, 1, &r);
    cr_assert_eq(st, TJ_OK, "evaluation failed: %s", tj_errmsg(ctx));
    return r;
}

static double eval_scalar(tj_var *const *in, tj_array *const *val, int n, tj_var *out)
{
    tj_array *r = eval1(in, val, n, out);
    cr_assert_eq(tj_array_ndim(r), 0);
    double v = tj_array_get(r, NULL);
    tj_array_unref(r);
    return v;
}

/* g has exactly x's type: dtype, rank, broadcast pattern */
static void expect_type_of(tj_var *g, tj_var *x, const char *what)
{
    cr_assert(g, "%s: no gradient", what);
    cr_expect_eq(tj_var_dtype(g), tj_var_dtype(x), "%s: dtype %s, want %s", what,
                 tj_dtype_name(tj_var_dtype(g)), tj_dtype_name(tj_var_dtype(x)));
    cr_assert_eq(tj_var_ndim(g), tj_var_ndim(x), "%s: ndim %d, want %d", what, tj_var_ndim(g),
                 tj_var_ndim(x));
    for (int d = 0; d < tj_var_ndim(x); d++)
        cr_expect_eq(tj_var_broadcastable(g, d), tj_var_broadcastable(x, d),
                     "%s: broadcastable(%d) differs", what, d);
}

static bool close_enough(double num, double sym)
{
    double scale = fabs(num) > fabs(sym) ? fabs(num) : fabs(sym);
    return fabs(num - sym) <= 1e-6 * scale + 1e-8;
}

typedef tj_var *(*build_fn)(tj_var **x);

/* cost = sum(f(x...) * R) with R a fixed random constant; compares d cost/d x[i] with central
 * differences, element by element, and checks each gradient's static and runtime type. */
static void check_grad(const char *what, build_fn f, int n, const argspec *args, uint64_t seed)
{
    static const char *names[] = {"a", "b", "c", "d"};
    tj_var *x[4], *g[4];
    tj_array *val[4], *gv[4];
    uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
    for (int i = 0; i < n; i++) {
        x[i] = tj_tensor(ctx, TJ_FLOAT64, args[i].ndim, args[i].bcast, names[i]);
        val[i] = random_array(&s, args[i].ndim, args[i].shape, args[i].lo, args[i].hi,
                              args[i].away0);
    }
    tj_var *out = f(x);
    cr_assert(out, "%s: building failed: %s", what, tj_errmsg(ctx));
    tj_array *ov = eval1(x, val, n, out);
    tj_array *r = random_array(&s, tj_array_ndim(ov), tj_array_shape(ov), 0.5, 1.5, false);
    tj_var *cost = tj_sum(tj_mul(out, tj_constant(ctx, r)), NULL, 0, false);
    tj_array_unref(r);
    tj_array_unref(ov);
    cr_assert(cost, "%s: %s", what, tj_errmsg(ctx));

    tj_status st = tj_grad(cost, x, n, g);
    cr_assert_eq(st, TJ_OK, "%s: tj_grad: %s", what, tj_errmsg(ctx));
    for (int i = 0; i < n; i++) {
        char buf[64];
        snprintf(buf, sizeof buf, "%s: d/d%s", what, names[i]);
        expect_type_of(g[i], x[i], buf);
    }
    st = tjI_eval(ctx, x, val, n, g, n, gv);
    cr_assert_eq(st, TJ_OK, "%s: evaluating the gradient: %s", what, tj_errmsg(ctx));

    const double h = 1e-6;
    for (int i = 0; i < n; i++) {
        cr_assert_eq(tj_array_ndim(gv[i]), tj_array_ndim(val[i]));
        for (int d = 0; d < tj_array_ndim(val[i]); d++)
            cr_assert_eq(tj_array_shape(gv[i])[d], tj_array_shape(val[i])[d],
                         "%s: d/d%s has length %lld on axis %d, want %lld", what, names[i],
                         (long long)tj_array_shape(gv[i])[d], d,
                         (long long)tj_array_shape(val[i])[d]);
        double *p = tj_array_data(val[i]);
        for (int64_t j = 0; j < tj_array_size(val[i]); j++) {
            double v0 = p[j], xp = v0 + h, xm = v0 - h;
            p[j] = xp;
            double cp = eval_scalar(x, val, n, cost);
            p[j] = xm;
            double cm = eval_scalar(x, val, n, cost);
            p[j] = v0;
            double num = (cp - cm) / (xp - xm), sym = tjt_at(gv[i], j);
            cr_expect(close_enough(num, sym), "%s: d/d%s[%lld]: symbolic %.12g, numeric %.12g",
                      what, names[i], (long long)j, sym, num);
        }
    }
    for (int i = 0; i < n; i++) {
        tj_array_unref(val[i]);
        tj_array_unref(gv[i]);
    }
}

/* argument shapes */
#define M34(lo, hi) {2, {3, 4}, {false, false}, lo, hi, false}
#define M31(lo, hi) {2, {3, 1}, {false, true}, lo, hi, false}
#define M14(lo, hi) {2, {1, 4}, {true, false}, lo, hi, false}
#define V4(lo, hi) {1, {4}, {false}, lo, hi, false}
#define V3(lo, hi) {1, {3}, {false}, lo, hi, false}
#define S0(lo, hi) {0, {0}, {false}, lo, hi, false}
#define T234(lo, hi) {3, {2, 3, 4}, {false, false, false}, lo, hi, false}

static const argspec m34 = M34(-2, 2), m34pos = M34(0.5, 2), m31 = M31(-2, 2),
                     m14 = M14(-2, 2), v4 = V4(-2, 2), s0 = S0(-2, 2),
                     s0pos = S0(0.5, 2), t234 = T234(-2, 2);
static const argspec m34away = {2, {3, 4}, {false, false}, 0.5, 2, true};

/* ---- unary elementwise ----------------------------------------------------------------------- */

static tj_var *f_neg(tj_var **x) { return tj_neg(x[0]); }
static tj_var *f_abs(tj_var **x) { return tj_abs(x[0]); }
static tj_var *f_exp(tj_var **x) { return tj_exp(x[0]); }
static tj_var *f_log(tj_var **x) { return tj_log(x[0]); }
static tj_var *f_sqrt(tj_var **x) { return tj_sqrt(x[0]); }
static tj_var *f_sqr(tj_var **x) { return tj_sqr(x[0]); }
static tj_var *f_inv(tj_var **x) { return tj_inv(x[0]); }
static tj_var *f_sigmoid(tj_var **x) { return tj_sigmoid(x[0]); }
static tj_var *f_tanh(tj_var **x) { return tj_tanh(x[0]); }
static tj_var *f_self_mul(tj_var **x) { return tj_mul(x[0], x[0]); }
/* float64 -> float64 casts are identities; a float path through float32 is checked apart */
static tj_var *f_cast(tj_var **x) { return tj_mul(tj_cast(x[0], TJ_FLOAT64), x[0]); }

Test(grad, unary_ops)
{
    check_grad("neg", f_neg, 1, &m34, 1);
    check_grad("abs", f_abs, 1, &m34away, 2);
    check_grad("exp", f_exp, 1, &m34, 3);
    check_grad("log", f_log, 1, &m34pos, 4);
    check_grad("sqrt", f_sqrt, 1, &m34pos, 5);
    check_grad("sqr", f_sqr, 1, &m34, 6);
    check_grad("inv", f_inv, 1, &m34away, 7);
    check_grad("sigmoid", f_sigmoid, 1, &m34, 8);
    check_grad("tanh", f_tanh, 1, &m34, 9);
    check_grad("x*x", f_self_mul, 1, &m34, 10);
    check_grad("cast", f_cast, 1, &m34, 11);
    check_grad("sigmoid scalar", f_sigmoid, 1, &s0, 12);
}

Test(grad, abs_is_zero_at_zero)
{
    tj_var *x = tj_vector(ctx, TJ_FLOAT64, "x"), *g;
    cr_assert_eq(tj_grad(tj_sum(tj_abs(x), NULL, 0, false), &x, 1, &g), TJ_OK, "%s",
                 tj_errmsg(ctx));
    tj_array *xv = tjt_array(TJ_FLOAT64, 1, (int64_t[]){3}, (double[]){-1.5, 0.0, 2.0});
    tj_array *gv = eval1(&x, &xv, 1, g);
    cr_expect_eq(tjt_at(gv, 0), -1.0);
    cr_expect_eq(tjt_at(gv, 1), 0.0);
    cr_expect_eq(tjt_at(gv, 2), 1.0);
    tj_array_unref(xv);
    tj_array_unref(gv);
}

/* ---- binary elementwise, with and without broadcasting --------------------------------------- */

static tj_var *f_add(tj_var **x) { return tj_add(x[0], x[1]); }
static tj_var *f_sub(tj_var **x) { return tj_sub(x[0], x[1]); }
static tj_var *f_mul(tj_var **x) { return tj_mul(x[0], x[1]); }
static tj_var *f_div(tj_var **x) { return tj_div(x[0], x[1]); }
static tj_var *f_pow(tj_var **x) { return tj_pow(x[0], x[1]); }
static tj_var *f_max(tj_var **x) { return tj_maximum(x[0], x[1]); }
static tj_var *f_min(tj_var **x) { return tj_minimum(x[0], x[1]); }

Test(grad, binary_same_shape)
{
    check_grad("add", f_add, 2, (argspec[]){m34, m34}, 20);
    check_grad("sub", f_sub, 2, (argspec[]){m34, m34}, 21);
    check_grad("mul", f_mul, 2, (argspec[]){m34, m34}, 22);
    check_grad("div", f_div, 2, (argspec[]){m34, m34away}, 23);
    check_grad("pow", f_pow, 2, (argspec[]){m34pos, M34(-1.5, 1.5)}, 24);
    check_grad("maximum", f_max, 2, (argspec[]){m34, m34}, 25);
    check_grad("minimum", f_min, 2, (argspec[]){m34, m34}, 26);
}

Test(grad, binary_broadcasting)
{
    /* (3,1) op (1,4): each gradient summed back to its own broadcastable shape */
    check_grad("add (3,1)+(1,4)", f_add, 2, (argspec[]){m31, m14}, 30);
    check_grad("sub (3,1)-(1,4)", f_sub, 2, (argspec[]){m31, m14}, 31);
    check_grad("mul (3,1)*(1,4)", f_mul, 2, (argspec[]){m31, m14}, 32);
    check_grad("div (3,1)/(1,4)", f_div, 2,
               (argspec[]){m31, {2, {1, 4}, {true, false}, 0.5, 2, true}}, 33);
    check_grad("pow (3,4)^(1,4)", f_pow, 2, (argspec[]){m34pos, m14}, 34);
    check_grad("maximum (3,1),(1,4)", f_max, 2, (argspec[]){m31, m14}, 35);
    check_grad("minimum (3,4),(1,4)", f_min, 2, (argspec[]){m34, m14}, 36);
    /* (4,) op (3,4): rank alignment inserts a dimshuffle the gradient goes back through */
    check_grad("add (4,)+(3,4)", f_add, 2, (argspec[]){v4, m34}, 37);
    check_grad("mul (3,4)*(4,)", f_mul, 2, (argspec[]){m34, v4}, 38);
    check_grad("maximum (4,),(3,4)", f_max, 2, (argspec[]){v4, m34}, 39);
    /* scalars with matrices */
    check_grad("add scalar+matrix", f_add, 2, (argspec[]){s0, m34}, 40);
    check_grad("sub matrix-scalar", f_sub, 2, (argspec[]){m34, s0}, 41);
    check_grad("mul scalar*matrix", f_mul, 2, (argspec[]){s0, m34}, 42);
    check_grad("div scalar/matrix", f_div, 2, (argspec[]){s0, m34away}, 43);
    check_grad("pow matrix^scalar", f_pow, 2, (argspec[]){m34pos, s0}, 44);
    check_grad("pow scalar^matrix", f_pow, 2, (argspec[]){s0pos, m34}, 45);
}

Test(grad, maximum_ties_go_to_the_first)
{
    tj_var *a = tj_vector(ctx, TJ_FLOAT64, "a"), *b = tj_vector(ctx, TJ_FLOAT64, "b");
    tj_var *wrt[2] = {a, b}, *g[2];
    tj_var *cost = tj_add(tj_sum(tj_maximum(a, b), NULL, 0, false),
                          tj_mulc(tj_sum(tj_minimum(a, b), NULL, 0, false), 10.0));
    cr_assert_eq(tj_grad(cost, wrt, 2, g), TJ_OK, "%s", tj_errmsg(ctx));
    tj_array *v[2] = {tjt_array(TJ_FLOAT64, 1, (int64_t[]){3}, (double[]){1, 2, 3}),
                      tjt_array(TJ_FLOAT64, 1, (int64_t[]){3}, (double[]){0, 2, 4})};
    tj_array *gv[2];
    cr_assert_eq(tjI_eval(ctx, wrt, v, 2, g, 2, gv), TJ_OK, "%s", tj_errmsg(ctx));
    /* a > b: max to a, min to b; tie: both to a; a < b: max to b, min to a */
    double wa[3] = {1, 11, 10}, wb[3] = {10, 0, 1};
    for (int i = 0; i < 3; i++) {
        cr_expect_eq(tjt_at(gv[0], i), wa[i], "d/da[%d] = %g", i, tjt_at(gv[0], i));
        cr_expect_eq(tjt_at(gv[1], i), wb[i], "d/db[%d] = %g", i, tjt_at(gv[1], i));
    }
    for (int i = 0; i < 2; i++) {
        tj_array_unref(v[i]);
        tj_array_unref(gv[i]);
    }
}

Test(grad, pow_exponent_gradient_is_zero_at_zero_base)
{
    tj_var *a = tj_vector(ctx, TJ_FLOAT64, "a"), *b = tj_vector(ctx, TJ_FLOAT64, "b");
    tj_var *wrt[2] = {a, b}, *g[2];
    cr_assert_eq(tj_grad(tj_sum(tj_pow(a, b), NULL, 0, false), wrt, 2, g), TJ_OK, "%s",
                 tj_errmsg(ctx));
    tj_array *v[2] = {tjt_array(TJ_FLOAT64, 1, (int64_t[]){2}, (double[]){0, 2}),
                      tjt_array(TJ_FLOAT64, 1, (int64_t[]){2}, (double[]){2, 3})};
    tj_array *gb = eval1(wrt, v, 2, g[1]);
    cr_expect_eq(tjt_at(gb, 0), 0.0, "d/db at a = 0 is %g", tjt_at(gb, 0));
    cr_expect(fabs(tjt_at(gb, 1) - 8 * log(2.0)) < 1e-12);
    tj_array_unref(gb);
    tj_array_unref(v[0]);
    tj_array_unref(v[1]);
}

/* ---- second, switch, comparisons ------------------------------------------------------------- */

static tj_var *f_second(tj_var **x)
{
    /* the first operand only gives the shape: a constant, so the check covers b alone */
    tj_array *zeros = tj_array_new(TJ_FLOAT64, 2, (int64_t[]){3, 4});
    tj_var *shape = tj_constant(ctx, zeros);
    tj_array_unref(zeros);
    return tjG_elemwise(TJ_OP_SECOND, (tj_var *[]){shape, x[0]}, 2);
}

static tj_array *cond_value(void)
{
    static const double c[12] = {1, 0, 0, 1, 1, 1, 0, 0, 0, 1, 0, 1};
    return tjt_array(TJ_BOOL, 2, (int64_t[]){3, 4}, c);
}

static tj_var *f_switch_const(tj_var **x)
{
    tj_array *c = cond_value();
    tj_var *v = tj_switch(tj_constant(ctx, c), x[0], x[1]);
    tj_array_unref(c);
    return v;
}

static tj_var *f_switch_cmp(tj_var **x)
{
    return tj_switch(tj_gt(x[0], x[1]), tj_mul(x[0], x[1]), tj_sqr(x[1]));
}

/* comparisons pass no gradient but stay connected (zeros, not an error) */
static tj_var *f_cmp(tj_var **x)
{
    return tj_mul(x[0], tj_cast(tj_ge(x[0], x[1]), TJ_FLOAT64));
}

Test(grad, second_switch_comparisons)
{
    check_grad("second (1,4) filled to (3,4)", f_second, 1, &m14, 50);
    check_grad("second scalar filled to (3,4)", f_second, 1, &s0, 51);
    check_grad("switch const cond (3,4),(1,4)", f_switch_const, 2, (argspec[]){m34, m14}, 52);
    check_grad("switch const cond scalar,(3,1)", f_switch_const, 2, (argspec[]){s0, m31}, 53);
    check_grad("switch(a>b, a*b, b^2)", f_switch_cmp, 2, (argspec[]){m34, m14}, 54);
    check_grad("a * (a >= b)", f_cmp, 2, (argspec[]){m34, m34}, 55);
}

/* ---- reductions ------------------------------------------------------------------------------ */

static const int ax0[] = {0}, ax1[] = {1}, ax02[] = {0, 2}, axm1[] = {-1};
static tj_var *f_sum_0(tj_var **x) { return tj_sum(x[0], ax0, 1, false); }
static tj_var *f_sum_0k(tj_var **x) { return tj_sum(x[0], ax0, 1, true); }
static tj_var *f_sum_1(tj_var **x) { return tj_sum(x[0], ax1, 1, false); }
static tj_var *f_sum_02(tj_var **x) { return tj_sum(x[0], ax02, 2, false); }
static tj_var *f_sum_02k(tj_var **x) { return tj_sum(x[0], ax02, 2, true); }
static tj_var *f_sum_all(tj_var **x) { return tj_sum(x[0], NULL, 0, false); }
static tj_var *f_sum_allk(tj_var **x) { return tj_sum(x[0], NULL, 0, true); }
static tj_var *f_mean_0(tj_var **x) { return tj_mean(x[0], ax0, 1, false); }
static tj_var *f_mean_1k(tj_var **x) { return tj_mean(x[0], ax1, 1, true); }
static tj_var *f_mean_02(tj_var **x) { return tj_mean(x[0], ax02, 2, false); }
static tj_var *f_mean_02k(tj_var **x) { return tj_mean(x[0], ax02, 2, true); }
static tj_var *f_mean_last(tj_var **x) { return tj_mean(x[0], axm1, 1, false); }
static tj_var *f_mean_all(tj_var **x) { return tj_mean(x[0], NULL, 0, false); }
/* a reduction then broadcast back against the input: gradients meet from two paths */
static tj_var *f_center(tj_var **x) { return tj_sqr(tj_sub(x[0], tj_mean(x[0], ax1, 1, true))); }

Test(grad, sum_and_mean)
{
    const argspec t1 = {3, {2, 1, 4}, {false, true, false}, -2, 2, false};
    check_grad("sum axis 0", f_sum_0, 1, &t234, 60);
    check_grad("sum axis 0 keepdims", f_sum_0k, 1, &t234, 61);
    check_grad("sum axis 1", f_sum_1, 1, &t234, 62);
    check_grad("sum axes 0,2", f_sum_02, 1, &t234, 63);
    check_grad("sum axes 0,2 keepdims", f_sum_02k, 1, &t234, 64);
    check_grad("sum all", f_sum_all, 1, &t234, 65);
    check_grad("sum all keepdims", f_sum_allk, 1, &m34, 66);
    check_grad("sum of a scalar", f_sum_all, 1, &s0, 67);
    check_grad("sum over a broadcastable axis", f_sum_1, 1, &t1, 68);
    check_grad("mean axis 0", f_mean_0, 1, &t234, 70);
    check_grad("mean axis 1 keepdims", f_mean_1k, 1, &t234, 71);
    check_grad("mean axes 0,2", f_mean_02, 1, &t234, 72);
    check_grad("mean axes 0,2 keepdims", f_mean_02k, 1, &t234, 73);
    check_grad("mean axis -1", f_mean_last, 1, &m34, 74);
    check_grad("mean all", f_mean_all, 1, &t234, 75);
    check_grad("mean over a broadcastable axis", f_mean_02k, 1, &t1, 76);
    check_grad("mean of a scalar", f_mean_all, 1, &s0, 77);
    check_grad("x - mean(x) squared", f_center, 1, &m34, 78);
}

/* ---- dot ------------------------------------------------------------------------------------- */

static tj_var *f_dot(tj_var **x) { return tj_dot(x[0], x[1]); }

Test(grad, dot_all_ranks)
{
    const argspec m42 = {2, {4, 2}, {false, false}, -2, 2, false};
    check_grad("dot mat.mat", f_dot, 2, (argspec[]){m34, m42}, 80);
    check_grad("dot mat.vec", f_dot, 2, (argspec[]){m34, v4}, 81);
    check_grad("dot vec.mat", f_dot, 2, (argspec[]){V3(-2, 2), m34}, 82);
    check_grad("dot vec.vec", f_dot, 2, (argspec[]){v4, v4}, 83);
    check_grad("dot (1,4).(4,2)", f_dot, 2, (argspec[]){m14, m42}, 84);
}

/* ---- dimshuffle ------------------------------------------------------------------------------ */

static tj_var *f_transpose(tj_var **x) { return tj_transpose(x[0]); }
static tj_var *f_permute(tj_var **x) { return tj_dimshuffle(x[0], (int[]){2, 0, 1}, 3); }
static tj_var *f_newaxis(tj_var **x) { return tj_dimshuffle(x[0], (int[]){1, -1, 0, -1}, 4); }
static tj_var *f_drop(tj_var **x) { return tj_dimshuffle(x[0], (int[]){2, 0}, 2); }
static tj_var *f_drop_add(tj_var **x) { return tj_dimshuffle(x[0], (int[]){1, -1}, 2); }
/* a transposed operand broadcast against a matrix */
static tj_var *f_t_mul(tj_var **x) { return tj_mul(tj_transpose(x[0]), x[1]); }

Test(grad, dimshuffle)
{
    const argspec t314 = {3, {3, 1, 4}, {false, true, false}, -2, 2, false};
    check_grad("transpose", f_transpose, 1, &m34, 90);
    check_grad("permute 2,0,1", f_permute, 1, &t234, 91);
    check_grad("new axes 1,x,0,x", f_newaxis, 1, &m34, 92);
    check_grad("drop a broadcastable axis", f_drop, 1, &t314, 93);
    check_grad("drop and add 1,x", f_drop_add, 1, &m14, 94);
    check_grad("transpose(a) * b", f_t_mul, 2,
               (argspec[]){{2, {4, 1}, {false, true}, -2, 2, false}, m34}, 95);
}

/* ---- composite and higher order -------------------------------------------------------------- */

/* the seed's logistic regression loss: mean(-y log p - (1-y) log(1-p)) + 0.01 sum(w^2) */
static tj_var *f_logreg(tj_var **x)
{
    tj_array *yv = tjt_array(TJ_FLOAT64, 1, (int64_t[]){3}, (double[]){1, 0, 1});
    tj_var *y = tj_constant(ctx, yv);
    tj_array_unref(yv);
    tj_var *p = tj_sigmoid(tj_add(tj_dot(x[0], x[1]), x[2]));
    tj_var *xent = tj_sub(tj_neg(tj_mul(y, tj_log(p))),
                          tj_mul(tj_rsubc(1, y), tj_log(tj_rsubc(1, p))));
    tj_var *l2 = tj_mulc(tj_sum(tj_sqr(x[1]), NULL, 0, false), 0.01);
    return tj_add(tj_mean(xent, NULL, 0, false), l2);
}

Test(grad, logistic_regression)
{
    check_grad("logistic regression", f_logreg, 3, (argspec[]){m34, v4, s0}, 100);
}

/* second-order: the gradient itself checked against finite differences */
static tj_var *grad_of(tj_var *cost, tj_var *const *wrt, int n)
{
    tj_var *g[4];
    tj_status st = tj_grad(cost, wrt, n, g);
    cr_assert_eq(st, TJ_OK, "inner tj_grad: %s", tj_errmsg(ctx));
    tj_var *acc = g[0];
    for (int i = 1; i < n; i++)
        acc = tj_add(acc, g[i]);
    return acc;
}

static tj_var *f_gg_tanh(tj_var **x)
{
    return grad_of(tj_sum(tj_mul(tj_tanh(x[0]), x[0]), NULL, 0, false), x, 1);
}
static tj_var *f_gg_sigmoid_div(tj_var **x)
{
    return grad_of(tj_sum(tj_div(tj_sigmoid(x[0]), x[1]), NULL, 0, false), x, 2);
}
static tj_var *f_gg_mean(tj_var **x)
{
    return grad_of(tj_sum(tj_sqr(tj_mean(x[0], ax1, 1, false)), NULL, 0, false), x, 1);
}
static tj_var *f_gg_dot(tj_var **x)
{
    return grad_of(tj_sum(tj_tanh(tj_dot(x[0], x[1])), NULL, 0, false), x + 1, 1);
}
static tj_var *f_gg_pow(tj_var **x)
{
    return grad_of(tj_sum(tj_pow(x[0], x[1]), NULL, 0, false), x, 2);
}
static tj_var *f_gg_max(tj_var **x)
{
    return grad_of(tj_sum(tj_mul(tj_maximum(x[0], x[1]), tj_abs(x[0])), NULL, 0, false), x, 2);
}
static tj_var *f_gg_bcast(tj_var **x)
{
    return grad_of(tj_sum(tj_exp(tj_mul(x[0], tj_transpose(x[1]))), NULL, 0, false), x, 1);
}

Test(grad, second_order)
{
    const argspec m42 = {2, {4, 2}, {false, false}, -1, 1, false};
    check_grad("d/dx of grad tanh(x)*x", f_gg_tanh, 1, &m34, 110);
    check_grad("grad of sigmoid(a)/b", f_gg_sigmoid_div, 2, (argspec[]){m34, m34away}, 111);
    check_grad("grad of sum(mean(x,1)^2)", f_gg_mean, 1, &t234, 112);
    check_grad("grad of sum(tanh(dot(A,B))) wrt B", f_gg_dot, 2,
               (argspec[]){M34(-1, 1), m42}, 113);
    check_grad("grad of pow", f_gg_pow, 2, (argspec[]){m34pos, m34}, 114);
    check_grad("grad of maximum(a,b)*|a|", f_gg_max, 2, (argspec[]){m34away, m34}, 115);
    check_grad("grad of exp(a * b^T) wrt a (3,1)", f_gg_bcast, 2,
               (argspec[]){m31, {2, {4, 3}, {false, false}, -1, 1, false}}, 116);
}

Test(grad, second_derivative_of_cube)
{
    tj_var *x = tj_scalar(ctx, TJ_FLOAT64, "x"), *g, *gg;
    tj_var *cubes[2] = {tj_powc(x, 3), tj_mul(x, tj_mul(x, x))};
    tj_array *xv = tj_array_scalar(TJ_FLOAT64, 2.0);
    for (int k = 0; k < 2; k++) {
        cr_assert_eq(tj_grad(cubes[k], &x, 1, &g), TJ_OK, "%s", tj_errmsg(ctx));
        cr_assert_eq(tj_grad(g, &x, 1, &gg), TJ_OK, "%s", tj_errmsg(ctx));
        expect_type_of(gg, x, "d2/dx2");
        cr_expect(fabs(eval_scalar(&x, &xv, 1, g) - 12.0) < 1e-12, "d/dx x^3 at 2");
        double v = eval_scalar(&x, &xv, 1, gg);
        cr_expect(fabs(v - 12.0) < 1e-12, "d2/dx2 x^3 at 2 = %.17g (form %d)", v, k);
    }
    tj_array_unref(xv);
}

/* ---- the seed's example ---------------------------------------------------------------------- */

static double sigmoid_grad_at_3(tj_dtype dt, bool builtin)
{
    tj_var *x = tj_scalar(ctx, dt, "x"), *g;
    tj_var *y = builtin ? tj_sigmoid(x) : tj_rdivc(1, tj_addc(tj_exp(tj_neg(x)), 1));
    cr_assert_eq(tj_var_dtype(y), dt);
    cr_assert_eq(tj_grad(y, &x, 1, &g), TJ_OK, "%s", tj_errmsg(ctx));
    expect_type_of(g, x, "dy/dx");
    tj_array *xv = tj_array_scalar(dt, 3.0);
    double v = eval_scalar(&x, &xv, 1, g);
    tj_array_unref(xv);
    return v;
}

Test(grad, seed_sigmoid_example)
{
    for (int builtin = 0; builtin < 2; builtin++) {
        /* the seed's form 1/(1+exp(-x)) gives Theano's float32 value exactly; sigmoid's
         * s*(1-s) rounds differently by one ulp */
        double f32 = sigmoid_grad_at_3(TJ_FLOAT32, builtin);
        cr_expect(fabs(f32 - 0.04517666) <= 1e-7, "float32 (builtin %d): %.9g", builtin, f32);
        cr_expect_leq(tjt_ulp_f32((float)f32, 0.04517666f), (uint64_t)builtin,
                      "float32 (builtin %d): %.9g", builtin, f32);
        double f64 = sigmoid_grad_at_3(TJ_FLOAT64, builtin);
        cr_expect(fabs(f64 - 0.045176659730912) <= 1e-12, "float64 (builtin %d): %.17g", builtin,
                  f64);
    }
}

/* ---- types ----------------------------------------------------------------------------------- */

Test(grad, gradient_has_the_exact_type_of_its_wrt)
{
    /* a (1,4) bias added to a (3,4) float32 product with a float64 constant on the path */
    tj_var *x = tj_matrix(ctx, TJ_FLOAT32, "x");
    tj_var *b = tj_tensor(ctx, TJ_FLOAT32, 2, (bool[]){true, false}, "b");
    tj_var *v = tj_tensor(ctx, TJ_FLOAT32, 1, NULL, "v");
    tj_var *z = tj_mul(tj_add(tj_add(x, b), v), tj_const(ctx, TJ_FLOAT64, 0.5));
    cr_assert_eq(tj_var_dtype(z), TJ_FLOAT64);
    tj_var *cost = tj_sum(tj_cast(z, TJ_FLOAT32), NULL, 0, false);
    tj_var *wrt[3] = {x, b, v}, *g[3];
    cr_assert_eq(tj_grad(cost, wrt, 3, g), TJ_OK, "%s", tj_errmsg(ctx));
    expect_type_of(g[0], x, "d/dx");
    expect_type_of(g[1], b, "d/db");
    expect_type_of(g[2], v, "d/dv");

    tj_array *vals[3] = {tj_array_new(TJ_FLOAT32, 2, (int64_t[]){3, 4}),
                         tj_array_new(TJ_FLOAT32, 2, (int64_t[]){1, 4}),
                         tj_array_new(TJ_FLOAT32, 1, (int64_t[]){4})};
    tj_array *gv[3];
    cr_assert_eq(tjI_eval(ctx, wrt, vals, 3, g, 3, gv), TJ_OK, "%s", tj_errmsg(ctx));
    cr_expect_eq(tj_array_dtype(gv[1]), TJ_FLOAT32);
    cr_expect_eq(tj_array_shape(gv[1])[0], 1);
    cr_expect_eq(tjt_at(gv[0], 5), 0.5f);
    cr_expect_eq(tjt_at(gv[1], 2), 1.5f);
    cr_expect_eq(tjt_at(gv[2], 3), 1.5f);
    for (int i = 0; i < 3; i++) {
        tj_array_unref(vals[i]);
        tj_array_unref(gv[i]);
    }
}

Test(grad, vjp_of_a_broadcast_operand_has_its_type)
{
    tj_var *a = tj_tensor(ctx, TJ_FLOAT64, 2, (bool[]){true, false}, "a");
    tj_var *m = tj_matrix(ctx, TJ_FLOAT64, "m");
    tj_var *node = tj_add(a, m), *g = tj_matrix(ctx, TJ_FLOAT64, "g");
    cr_assert_eq(node->op, TJ_OP_ADD);
    tj_var *ga = tjD_vjp(node, 0, g);
    expect_type_of(ga, a, "vjp add input 0");
    cr_expect_eq(ga->op, TJ_OP_SUM);
    cr_expect_eq(tjD_vjp(node, 1, g), g, "a same-type operand gets g itself");
    tj_var *cmp = tj_gt(a, m);
    cr_expect_null(tjD_vjp(cmp, 0, g));
    cr_expect_eq(tj_errcode(ctx), TJ_OK, "no gradient is not an error: %s", tj_errmsg(ctx));
}

Test(grad, float32_cast_path)
{
    /* float32 x used through a float64 cast: the gradient is cast back to float32 */
    tj_var *x = tj_vector(ctx, TJ_FLOAT32, "x"), *g;
    tj_array *rv = tjt_array(TJ_FLOAT64, 1, (int64_t[]){3}, (double[]){0.25, -2, 3.5});
    tj_var *cost = tj_sum(tj_mul(tj_cast(x, TJ_FLOAT64), tj_constant(ctx, rv)), NULL, 0, false);
    cr_assert_eq(tj_grad(cost, &x, 1, &g), TJ_OK, "%s", tj_errmsg(ctx));
    expect_type_of(g, x, "d/dx");
    tj_array *xv = tj_array_new(TJ_FLOAT32, 1, (int64_t[]){3});
    tj_array *gv = eval1(&x, &xv, 1, g);
    cr_expect_eq(tj_array_dtype(gv), TJ_FLOAT32);
    for (int i = 0; i < 3; i++)
        cr_expect_eq(tjt_at(gv, i), tjt_at(rv, i));
    tj_array_unref(rv);
    tj_array_unref(xv);
    tj_array_unref(gv);
}

/* ---- errors and options ---------------------------------------------------------------------- */

Test(grad, non_scalar_cost_is_a_type_error)
{
    tj_var *x = tj_vector(ctx, TJ_FLOAT64, "x"), *g = (tj_var *)&g;
    tj_var *y = tj_exp(x);
    tj_var_set_name(y, "y");
    cr_expect_eq(tj_grad(y, &x, 1, &g), TJ_ERR_TYPE);
    cr_expect_eq(tj_errcode(ctx), TJ_ERR_TYPE);
    cr_expect_null(g);
    const char *msg = tj_errmsg(ctx);
    cr_expect(strstr(msg, "'y'"), "the message names the cost: %s", msg);
    cr_expect(strstr(msg, "ndim 1"), "the message gives the rank: %s", msg);
    cr_expect(strstr(msg, "float64"), "the message gives the dtype: %s", msg);

    tj_clear_error(ctx);
    tj_var *i = tj_scalar(ctx, TJ_INT32, "i");
    cr_expect_eq(tj_grad(i, &i, 1, &g), TJ_ERR_TYPE);
    cr_expect(strstr(tj_errmsg(ctx), "int32"), "%s", tj_errmsg(ctx));
}

Test(grad, invalid_arguments)
{
    tj_var *x = tj_scalar(ctx, TJ_FLOAT64, "x"), *g = (tj_var *)&g, *nul = NULL;
    cr_expect_eq(tj_grad(NULL, &x, 1, &g), TJ_ERR_INVALID);
    cr_expect_eq(tj_errcode(NULL), TJ_ERR_INVALID);
    cr_expect_null(g);
    cr_expect_eq(tj_errcode(ctx), TJ_OK, "a NULL cost leaves the context's error alone");
    g = (tj_var *)&g;
    cr_expect_eq(tj_grad(tj_exp(x), &nul, 1, &g), TJ_ERR_INVALID);
    cr_expect_eq(tj_errcode(ctx), TJ_ERR_INVALID);
    cr_expect_null(g);
    cr_expect_eq(tj_grad(tj_exp(x), &x, 1, NULL), TJ_ERR_INVALID);
    cr_expect_eq(tj_grad(tj_exp(x), NULL, 1, &g), TJ_ERR_INVALID);
    cr_expect_eq(tj_grad(tj_exp(x), &x, -1, &g), TJ_ERR_INVALID);
    tj_ctx *other = tj_ctx_new();
    tj_var *y = tj_scalar(other, TJ_FLOAT64, "y");
    cr_expect_eq(tj_grad(tj_exp(x), &y, 1, &g), TJ_ERR_INVALID);
    cr_expect(strstr(tj_errmsg(ctx), "context"), "%s", tj_errmsg(ctx));
    tj_ctx_free(other);
    tj_grad_opts o = TJ_GRAD_OPTS_INIT;
    o.nconsider_constant = 1;
    cr_expect_eq(tj_grad_v2(tj_exp(x), &x, 1, &g, &o), TJ_ERR_INVALID);
    cr_expect_eq(tj_grad(tj_exp(x), &x, 0, NULL), TJ_OK, "nothing to differentiate");
}

static char logged[1024];
static int nlogged;
static void capture(void *user, const char *message)
{
    (void)user;
    snprintf(logged, sizeof logged, "%s", message);
    nlogged++;
}

Test(grad, disconnected_inputs)
{
    tj_var *x = tj_vector(ctx, TJ_FLOAT64, "x");
    tj_var *y = tj_tensor(ctx, TJ_FLOAT32, 2, (bool[]){false, true}, "y");
    tj_var *cost = tj_sum(tj_exp(x), NULL, 0, false), *wrt[2] = {x, y};
    tj_var *g[2] = {(tj_var *)&g, (tj_var *)&g};
    tj_ctx_set_log(ctx, capture, NULL);

    cr_expect_eq(tj_grad(cost, wrt, 2, g), TJ_ERR_DISCONNECTED);
    cr_expect(strstr(tj_errmsg(ctx), "'y'"), "names the input: %s", tj_errmsg(ctx));
    cr_expect(g[0] == NULL && g[1] == NULL, "grads are NULL on failure");

    tj_clear_error(ctx);
    tj_grad_opts o = TJ_GRAD_OPTS_INIT;
    o.disconnected_inputs = TJ_DISCONNECTED_WARN;
    cr_assert_eq(tj_grad_v2(cost, wrt, 2, g, &o), TJ_OK, "%s", tj_errmsg(ctx));
    cr_expect_eq(nlogged, 1);
    cr_expect(strstr(logged, "'y'"), "the warning names the input: %s", logged);
    expect_type_of(g[1], y, "zeros for y");
    tj_array *yv = tj_array_new(TJ_FLOAT32, 2, (int64_t[]){2, 1});
    tj_array_set(yv, (int64_t[]){1, 0}, 7.0);
    tj_array *gy = eval1(&y, &yv, 1, g[1]);
    cr_expect_eq(tj_array_shape(gy)[0], 2);
    cr_expect_eq(tjt_at(gy, 0), 0.0);
    cr_expect_eq(tjt_at(gy, 1), 0.0);
    tj_array_unref(gy);
    tj_array_unref(yv);

    o.disconnected_inputs = TJ_DISCONNECTED_IGNORE;
    cr_assert_eq(tj_grad_v2(cost, wrt, 2, g, &o), TJ_OK, "%s", tj_errmsg(ctx));
    cr_expect_eq(nlogged, 1, "ignore does not log");
    expect_type_of(g[1], y, "zeros for y");
    cr_expect_eq(tj_errcode(ctx), TJ_OK);
}

Test(grad, only_a_shape_is_disconnected)
{
    /* as in Theano: the gradient of sum(x) is fill(x, 1), which does not depend on x's values */
    tj_var *x = tj_vector(ctx, TJ_FLOAT64, "x"), *g, *gg;
    cr_assert_eq(tj_grad(tj_sum(x, NULL, 0, false), &x, 1, &g), TJ_OK);
    tj_var *cost2 = tj_sum(g, NULL, 0, false);
    cr_expect_eq(tj_grad(cost2, &x, 1, &gg), TJ_ERR_DISCONNECTED, "%s", tj_errmsg(ctx));
    tj_var *len = tj_cast(tj_shape_of(x, 0), TJ_FLOAT64);
    cr_expect_eq(tj_grad(len, &x, 1, &gg), TJ_ERR_DISCONNECTED, "%s", tj_errmsg(ctx));
}

Test(grad, integer_wrt_gets_zeros)
{
    tj_var *i = tj_vector(ctx, TJ_INT32, "i"), *x = tj_vector(ctx, TJ_FLOAT64, "x");
    tj_var *cost = tj_sum(tj_mul(tj_cast(i, TJ_FLOAT64), x), NULL, 0, false);
    tj_var *wrt[2] = {i, x}, *g[2];
    cr_assert_eq(tj_grad(cost, wrt, 2, g), TJ_OK, "%s", tj_errmsg(ctx));
    expect_type_of(g[0], i, "d/di");
    tj_array *v[2] = {tjt_array(TJ_INT32, 1, (int64_t[]){3}, (double[]){4, 5, 6}),
                      tjt_array(TJ_FLOAT64, 1, (int64_t[]){3}, (double[]){1, 2, 3})};
    tj_array *gv[2];
    cr_assert_eq(tjI_eval(ctx, wrt, v, 2, g, 2, gv), TJ_OK, "%s", tj_errmsg(ctx));
    cr_expect_eq(tj_array_dtype(gv[0]), TJ_INT32);
    for (int k = 0; k < 3; k++) {
        cr_expect_eq(tjt_at(gv[0], k), 0.0);
        cr_expect_eq(tjt_at(gv[1], k), 4.0 + k);
    }
    for (int k = 0; k < 2; k++) {
        tj_array_unref(v[k]);
        tj_array_unref(gv[k]);
    }
}

Test(grad, integer_path_passes_no_gradient)
{
    /* x reaches the cost only through an integer cast: connected, with a zero gradient */
    tj_var *x = tj_vector(ctx, TJ_FLOAT64, "x"), *g;
    tj_var *cost = tj_sum(tj_cast(tj_cast(x, TJ_INT32), TJ_FLOAT64), NULL, 0, false);
    cr_assert_eq(tj_grad(cost, &x, 1, &g), TJ_OK, "%s", tj_errmsg(ctx));
    expect_type_of(g, x, "d/dx");
    tj_array *xv = tjt_array(TJ_FLOAT64, 1, (int64_t[]){2}, (double[]){1.5, -2.5});
    tj_array *gv = eval1(&x, &xv, 1, g);
    cr_expect_eq(tjt_at(gv, 0), 0.0);
    cr_expect_eq(tjt_at(gv, 1), 0.0);
    tj_array_unref(xv);
    tj_array_unref(gv);
}

Test(grad, consider_constant)
{
    tj_var *x = tj_vector(ctx, TJ_FLOAT64, "x"), *g;
    tj_var *y = tj_mulc(x, 2.0);
    tj_var *cost = tj_sum(tj_mul(x, y), NULL, 0, false); /* 2 x^2 */
    tj_array *xv = tjt_array(TJ_FLOAT64, 1, (int64_t[]){2}, (double[]){1.5, -3});

    cr_assert_eq(tj_grad(cost, &x, 1, &g), TJ_OK, "%s", tj_errmsg(ctx));
    tj_array *gv = eval1(&x, &xv, 1, g);
    cr_expect_eq(tjt_at(gv, 0), 6.0);
    cr_expect_eq(tjt_at(gv, 1), -12.0);
    tj_array_unref(gv);

    tj_grad_opts o = TJ_GRAD_OPTS_INIT;
    o.consider_constant = &y;
    o.nconsider_constant = 1;
    cr_assert_eq(tj_grad_v2(cost, &x, 1, &g, &o), TJ_OK, "%s", tj_errmsg(ctx));
    gv = eval1(&x, &xv, 1, g);
    cr_expect_eq(tjt_at(gv, 0), 3.0, "only the direct path: d/dx x * y = y");
    cr_expect_eq(tjt_at(gv, 1), -6.0);
    tj_array_unref(gv);

    /* a wrt reached only through a constant is disconnected */
    cr_expect_eq(tj_grad_v2(tj_sum(y, NULL, 0, false), &x, 1, &g, &o), TJ_ERR_DISCONNECTED);
    /* a constant variable may itself be differentiated with respect to */
    tj_var *gyv;
    cr_assert_eq(tj_grad_v2(cost, &y, 1, &gyv, &o), TJ_OK, "%s", tj_errmsg(ctx));
    gv = eval1(&x, &xv, 1, gyv);
    cr_expect_eq(tjt_at(gv, 1), -3.0);
    tj_array_unref(gv);
    /* ... and its gradient still stops there when the variable under it is a wrt too */
    tj_var *wrt[2] = {x, y}, *g2[2];
    cr_assert_eq(tj_grad_v2(cost, wrt, 2, g2, &o), TJ_OK, "%s", tj_errmsg(ctx));
    gv = eval1(&x, &xv, 1, g2[0]);
    cr_expect_eq(tjt_at(gv, 1), -6.0, "d/dx is y alone: %g", tjt_at(gv, 1));
    tj_array_unref(gv);
    tj_array_unref(xv);
}

Test(grad, intermediate_and_cost_as_wrt)
{
    tj_var *x = tj_vector(ctx, TJ_FLOAT64, "x");
    tj_var *y = tj_mulc(x, 3.0);
    tj_var *cost = tj_sum(tj_sqr(y), NULL, 0, false);
    tj_var *wrt[3] = {y, cost, x}, *g[3];
    cr_assert_eq(tj_grad(cost, wrt, 3, g), TJ_OK, "%s", tj_errmsg(ctx));
    expect_type_of(g[1], cost, "d cost/d cost");
    tj_array *xv = tjt_array(TJ_FLOAT64, 1, (int64_t[]){2}, (double[]){1, 2});
    tj_array *gv[3];
    cr_assert_eq(tjI_eval(ctx, &x, &xv, 1, g, 3, gv), TJ_OK, "%s", tj_errmsg(ctx));
    cr_expect_eq(tjt_at(gv[0], 1), 12.0, "2y");
    cr_expect_eq(tjt_at(gv[1], 0), 1.0);
    cr_expect_eq(tjt_at(gv[2], 1), 36.0, "18x");
    for (int k = 0; k < 3; k++)
        tj_array_unref(gv[k]);
    tj_array_unref(xv);
}

/* ---- scale ----------------------------------------------------------------------------------- */

Test(grad, chain_of_100000_additions, .timeout = 120)
{
    tj_var *x = tj_scalar(ctx, TJ_FLOAT64, "x"), *g;
    tj_var *c = x;
    for (int k = 0; k < 100000; k++)
        c = tj_add(c, x);
    cr_assert(c, "%s", tj_errmsg(ctx));
    cr_assert_eq(tj_grad(c, &x, 1, &g), TJ_OK, "%s", tj_errmsg(ctx));
    tj_array *xv = tj_array_scalar(TJ_FLOAT64, 0.5);
    cr_expect_eq(eval_scalar(&x, &xv, 1, g), 100001.0);
    tj_array_unref(xv);
}
