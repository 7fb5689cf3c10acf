/* verify_grad for every differentiable elementwise op, in float64 and float32, with PyTensor's
 * method and tolerances: cost = sum(f(inputs) * R) for a fixed random projection R, its symbolic
 * gradient against one-sided finite differences, element by element (float64: step 1e-7,
 * tolerance 1e-4; float32: step 3e-4, tolerance 1e-2; an element passes when its absolute or
 * its relative error is within the tolerance). Values come from the reference executor; one
 * more test compiles every gradient with the JIT and compares it with the reference's. Also:
 * the piecewise-constant ops give zero gradients, integer and boolean results none. */
#include <criterion/criterion.h>

#include "internal.h"
#include "support.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static tj_ctx *ctx;

static void setup(void)
{
    ctx = tj_ctx_new();
    cr_assert(ctx);
}

static void teardown(void) { tj_ctx_free(ctx); }

TestSuite(elemwise_grad, .init = setup, .fini = teardown, .timeout = 120);

static uint64_t rng = 88172645463325252ull;
static double unif(double lo, double hi)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return lo + (hi - lo) * (double)(rng >> 11) * 0x1p-53;
}

/* An input domain: values in [lo, hi], with a random sign when `sym` (then |v| in [lo, hi]). */
typedef struct {
    double lo, hi;
    bool sym;
} dom;

typedef struct {
    const char *name;
    int arity;
    tj_var *(*f)(tj_var **x);
    dom d[3];
} gcase;

#define U(fn)                                                                                      \
    static tj_var *g_##fn(tj_var **x) { return tj_##fn(x[0]); }
#define B(fn)                                                                                      \
    static tj_var *g_##fn(tj_var **x) { return tj_##fn(x[0], x[1]); }
U(neg)
U(abs) U(exp) U(exp2) U(expm1) U(log) U(log2) U(log10) U(log1p) U(sqrt) U(rsqrt) U(sqr) U(inv)
    U(sigmoid) U(softplus) U(tanh) U(sin) U(cos) U(tan) U(arcsin) U(arccos) U(arctan) U(sinh)
        U(cosh) U(arcsinh) U(arccosh) U(arctanh) U(erf) U(erfc) U(sign) U(floor) U(ceil) U(round)
            U(trunc) B(add) B(sub) B(mul) B(div) B(pow) B(maximum) B(minimum) B(arctan2) B(int_div)
                B(mod) static tj_var *g_clip(tj_var **x)
{
    return tj_clip(x[0], x[1], x[2]);
}
/* x * cast(cast(x, float64), dtype): float32 goes through float64 and back exactly; float64 ->
 * float32 would make the finite differences see float32's rounding steps */
static tj_var *g_cast(tj_var **x)
{
    return tj_mul(tj_cast(tj_cast(x[0], TJ_FLOAT64), tj_var_dtype(x[0])), x[0]);
}
/* the quotient of mod and int_div is locally constant: x in [2.2, 2.6], y in [1.6, 1.9] keeps
 * x / y in (1.15, 1.63); clip's x stays away from lo in [-1.2, -0.8] and hi in [0.8, 1.2] */
static const gcase cases[] = {
    {"neg", 1, g_neg, {{-2, 2, false}}},
    {"abs", 1, g_abs, {{0.2, 2, true}}},
    {"exp", 1, g_exp, {{-2, 2, false}}},
    {"exp2", 1, g_exp2, {{-2, 2, false}}},
    {"expm1", 1, g_expm1, {{-2, 2, false}}},
    {"log", 1, g_log, {{0.5, 3, false}}},
    {"log2", 1, g_log2, {{0.5, 3, false}}},
    {"log10", 1, g_log10, {{0.5, 3, false}}},
    {"log1p", 1, g_log1p, {{-0.5, 3, false}}},
    {"sqrt", 1, g_sqrt, {{0.5, 3, false}}},
    {"rsqrt", 1, g_rsqrt, {{0.5, 3, false}}},
    {"sqr", 1, g_sqr, {{-2, 2, false}}},
    {"inv", 1, g_inv, {{0.5, 2, true}}},
    {"sigmoid", 1, g_sigmoid, {{-4, 4, false}}},
    {"softplus", 1, g_softplus, {{-4, 4, false}}},
    {"tanh", 1, g_tanh, {{-2, 2, false}}},
    {"sin", 1, g_sin, {{-3, 3, false}}},
    {"cos", 1, g_cos, {{-3, 3, false}}},
    {"tan", 1, g_tan, {{-1.2, 1.2, false}}},
    {"arcsin", 1, g_arcsin, {{-0.9, 0.9, false}}},
    {"arccos", 1, g_arccos, {{-0.9, 0.9, false}}},
    {"arctan", 1, g_arctan, {{-3, 3, false}}},
    {"sinh", 1, g_sinh, {{-2, 2, false}}},
    {"cosh", 1, g_cosh, {{-2, 2, false}}},
    {"arcsinh", 1, g_arcsinh, {{-3, 3, false}}},
    {"arccosh", 1, g_arccosh, {{1.2, 3, false}}},
    {"arctanh", 1, g_arctanh, {{-0.9, 0.9, false}}},
    {"erf", 1, g_erf, {{-2, 2, false}}},
    {"erfc", 1, g_erfc, {{-2, 2, false}}},
    {"sign", 1, g_sign, {{0.2, 2, true}}},
    {"floor", 1, g_floor, {{0.2, 0.8, false}}},
    {"ceil", 1, g_ceil, {{1.2, 1.8, false}}},
    {"round", 1, g_round, {{0.1, 0.4, true}}},
    {"trunc", 1, g_trunc, {{1.1, 1.9, true}}},
    {"cast", 1, g_cast, {{-2, 2, false}}},
    {"add", 2, g_add, {{-2, 2, false}, {-2, 2, false}}},
    {"sub", 2, g_sub, {{-2, 2, false}, {-2, 2, false}}},
    {"mul", 2, g_mul, {{-2, 2, false}, {-2, 2, false}}},
    {"div", 2, g_div, {{-2, 2, false}, {0.5, 2, true}}},
    {"pow", 2, g_pow, {{0.5, 2, false}, {-2, 2, false}}},
    {"maximum", 2, g_maximum, {{-2, -0.5, false}, {0.5, 2, false}}},
    {"minimum", 2, g_minimum, {{-2, -0.5, false}, {0.5, 2, false}}},
    {"arctan2", 2, g_arctan2, {{-2, 2, false}, {0.5, 2, true}}},
    {"int_div", 2, g_int_div, {{2.2, 2.6, false}, {1.6, 1.9, false}}},
    {"mod", 2, g_mod, {{2.2, 2.6, true}, {1.6, 1.9, true}}},
    {"clip", 3, g_clip, {{-0.7, 0.7, false}, {-1.2, -0.8, false}, {0.8, 1.2, false}}},
    {"clip_below", 3, g_clip, {{-2, -1.3, false}, {-1.2, -0.8, false}, {0.8, 1.2, false}}},
    {"clip_above", 3, g_clip, {{1.3, 2, false}, {-1.2, -0.8, false}, {0.8, 1.2, false}}},
    /* lo > hi: numpy's clip gives hi wherever x is, so only hi has a gradient (found by
     * fuzz-grad: the rule gave g to lo as well when x < lo) */
    {"clip_crossed_below", 3, g_clip, {{-2, -1.3, false}, {0.8, 1.2, false}, {-1.2, -0.8, false}}},
    {"clip_crossed_inside", 3, g_clip, {{-0.7, 0.7, false}, {0.8, 1.2, false}, {-1.2, -0.8, false}}},
    {"clip_crossed_above", 3, g_clip, {{1.3, 2, false}, {0.8, 1.2, false}, {-1.2, -0.8, false}}},
};
#define NCASES ((int)(sizeof cases / sizeof *cases))

static const int64_t shape[2] = {3, 4};

static tj_array *random_array(tj_dtype d, dom r)
{
    double v[12];
    for (int i = 0; i < 12; i++) {
        v[i] = unif(r.lo, r.hi);
        if (r.sym && unif(0, 1) < 0.5)
            v[i] = -v[i];
    }
    return tjt_array(d, 2, shape, v);
}

static double eval_cost(tj_var *const *x, tj_array *const *val, int n, tj_var *cost)
{
    tj_array *r = NULL;
    cr_assert_eq(tjI_eval(ctx, x, val, n, &cost, 1, &r), TJ_OK, "%s", tj_errmsg(ctx));
    double c = tj_array_get(r, NULL);
    tj_array_unref(r);
    return c;
}

/* PyTensor's verify_grad for case c in dtype d; returns the built gradients in g[] */
static void verify_grad(const gcase *c, tj_dtype d, tj_var **x, tj_var **g, tj_array **val)
{
    static const char *const names[] = {"a", "b", "c"};
    double eps = d == TJ_FLOAT64 ? 1e-7 : 3e-4, tol = d == TJ_FLOAT64 ? 1e-4 : 1e-2;
    for (int i = 0; i < c->arity; i++) {
        x[i] = tj_matrix(ctx, d, names[i]);
        val[i] = random_array(d, c->d[i]);
    }
    tj_var *out = c->f(x);
    cr_assert(out, "%s: %s", c->name, tj_errmsg(ctx));
    tj_array *proj = random_array(d, (dom){0.5, 1.5, true}); /* the random projection */
    tj_var *cost = tj_sum(tj_mul(out, tj_constant(ctx, proj)), NULL, 0, false);
    tj_array_unref(proj);
    cr_assert_eq(tj_grad(cost, x, c->arity, g), TJ_OK, "%s: %s", c->name, tj_errmsg(ctx));
    double c0 = eval_cost(x, val, c->arity, cost);
    for (int i = 0; i < c->arity; i++) {
        cr_assert_eq(tj_var_dtype(g[i]), d, "%s: gradient %d is %s", c->name, i,
                     tj_dtype_name(tj_var_dtype(g[i])));
        tj_array *gv = NULL;
        cr_assert_eq(tjI_eval(ctx, x, val, c->arity, &g[i], 1, &gv), TJ_OK, "%s", tj_errmsg(ctx));
        for (int64_t k = 0; k < 12; k++) {
            int64_t idx[2] = {k / 4, k % 4};
            double v0 = tj_array_get(val[i], idx);
            tj_array_set(val[i], idx, v0 + eps);
            double step = tj_array_get(val[i], idx) - v0; /* the step as stored in the dtype */
            double num = (eval_cost(x, val, c->arity, cost) - c0) / step;
            tj_array_set(val[i], idx, v0);
            double sym = tj_array_get(gv, idx);
            double abs_err = fabs(num - sym);
            double rel_err = abs_err / fmax(fabs(num) + fabs(sym), 1e-8);
            cr_expect(abs_err <= tol || rel_err <= tol,
                      "%s %s: d/d%s[%lld] at %.9g: symbolic %.9g, numeric %.9g", c->name,
                      tj_dtype_name(d), names[i], (long long)k, v0, sym, num);
        }
        tj_array_unref(gv);
    }
}

static void verify_all(tj_dtype d)
{
    for (int c = 0; c < NCASES; c++) {
        tj_var *x[3], *g[3];
        tj_array *val[3];
        verify_grad(&cases[c], d, x, g, val);
        for (int i = 0; i < cases[c].arity; i++)
            tj_array_unref(val[i]);
    }
}

Test(elemwise_grad, verify_grad_float64) { verify_all(TJ_FLOAT64); }
Test(elemwise_grad, verify_grad_float32) { verify_all(TJ_FLOAT32); }

/* Every gradient above compiled once with the JIT (one function per dtype, all gradients as
 * outputs) gives the reference executor's values. */
static void jit_matches(tj_dtype d)
{
    tj_var *ins[3 * NCASES], *outs[3 * NCASES];
    tj_array *vals[3 * NCASES];
    int nin = 0, nout = 0;
    for (int c = 0; c < NCASES; c++) {
        tj_var *x[3], *g[3];
        tj_array *val[3];
        verify_grad(&cases[c], d, x, g, val);
        for (int i = 0; i < cases[c].arity; i++) {
            ins[nin] = x[i];
            vals[nin++] = val[i];
            outs[nout++] = g[i];
        }
    }
    tj_function_opts o = TJ_FUNCTION_OPTS_INIT;
    o.on_unused_input = TJ_UNUSED_IGNORE;
    tj_fn *fn = tj_function(ctx, ins, nin, outs, nout, &o);
    cr_assert(fn, "%s", tj_errmsg(ctx));
    tj_array **got = calloc((size_t)nout, sizeof *got), **ref = calloc((size_t)nout, sizeof *ref);
    cr_assert_eq(tj_call(fn, vals, got), TJ_OK, "%s", tj_errmsg(ctx));
    cr_assert_eq(tjI_eval(ctx, ins, vals, nin, outs, nout, ref), TJ_OK, "%s", tj_errmsg(ctx));
    for (int o2 = 0; o2 < nout; o2++) {
        for (int64_t k = 0; k < tj_array_size(ref[o2]); k++) {
            double a = tjt_at(got[o2], k), b = tjt_at(ref[o2], k);
            uint64_t u = d == TJ_FLOAT32 ? tjt_ulp_f32((float)a, (float)b) : tjt_ulp_f64(a, b);
            cr_expect(u <= 16 || fabs(a - b) <= 1e-6 * fabs(b),
                      "gradient %d [%lld]: JIT %.17g, reference %.17g", o2, (long long)k, a, b);
        }
        tj_array_unref(got[o2]);
        tj_array_unref(ref[o2]);
    }
    free(got);
    free(ref);
    for (int i = 0; i < nin; i++)
        tj_array_unref(vals[i]);
    tj_fn_free(fn);
}

Test(elemwise_grad, jit_gradients_float64) { jit_matches(TJ_FLOAT64); }
Test(elemwise_grad, jit_gradients_float32) { jit_matches(TJ_FLOAT32); }

/* The piecewise-constant ops give exact zeros (not a disconnection), integer results none. */
Test(elemwise_grad, zeros_and_none)
{
    tj_var *x = tj_vector(ctx, TJ_FLOAT64, "x"), *y = tj_vector(ctx, TJ_FLOAT64, "y");
    tj_var *(*zero_ops[])(tj_var *) = {tj_sign, tj_floor, tj_ceil, tj_round, tj_trunc};
    for (size_t i = 0; i < 5; i++) {
        tj_var *g;
        cr_assert_eq(tj_grad(tj_sum(zero_ops[i](x), NULL, 0, false), &x, 1, &g), TJ_OK, "%s",
                     tj_errmsg(ctx));
        double v[3] = {0.5, -1.7, 2.5};
        int64_t n = 3;
        tj_array *a = tjt_array(TJ_FLOAT64, 1, &n, v), *r = NULL;
        cr_assert_eq(tjI_eval(ctx, &x, &a, 1, &g, 1, &r), TJ_OK, "%s", tj_errmsg(ctx));
        for (int k = 0; k < 3; k++)
            cr_expect_eq(tjt_at(r, k), 0.0);
        tj_array_unref(a);
        tj_array_unref(r);
    }
    /* int_div's gradient is zero for both operands */
    tj_var *gg[2];
    cr_assert_eq(tj_grad(tj_sum(tj_int_div(x, y), NULL, 0, false), (tj_var *[]){x, y}, 2, gg),
                 TJ_OK);
    /* the cost reaches x only through a comparison: disconnected, zeros with IGNORE */
    tj_grad_opts o = TJ_GRAD_OPTS_INIT;
    o.disconnected_inputs = TJ_DISCONNECTED_IGNORE;
    tj_var *c =
        tj_sum(tj_cast(tj_and(tj_isnan(x), tj_not(tj_isinf(x))), TJ_FLOAT64), NULL, 0, false);
    tj_var *g;
    cr_assert_eq(tj_grad_v2(c, &x, 1, &g, &o), TJ_OK, "%s", tj_errmsg(ctx));
    cr_assert(g);
    /* integer clip: its gradient is zeros for the (integer) wrt */
    tj_var *i = tj_vector(ctx, TJ_INT32, "i");
    tj_var *ci = tj_sum(tj_cast(tj_clipc(i, 0, 5), TJ_FLOAT64), NULL, 0, false);
    cr_assert_eq(tj_grad_v2(ci, &i, 1, &g, &o), TJ_OK, "%s", tj_errmsg(ctx));
    cr_expect_eq(tj_var_dtype(g), TJ_INT32);
}

/* clip with lo == hi is hi whatever x is: x gets no gradient and the bounds together get all of
 * it, so clip(x, b, b) = b has derivative 1 by b and 0 by x at every x, x == b included (found by
 * fuzz-grad: the x == lo == hi tie gave g to x). With separate bounds of equal value the result
 * moves with hi from below (lo's too when x < lo): hi takes g unless x < lo. */
Test(elemwise_grad, clip_with_equal_bounds)
{
    tj_ctx *ctx = tj_ctx_new();
    tj_var *x = tj_vector(ctx, TJ_FLOAT64, "x"), *b = tj_vector(ctx, TJ_FLOAT64, "b");
    tj_var *lo = tj_vector(ctx, TJ_FLOAT64, "lo"), *hi = tj_vector(ctx, TJ_FLOAT64, "hi");
    tj_var *g[5];
    tj_var *same = tj_sum(tj_clip(x, b, b), NULL, 0, false);
    tj_var *apart = tj_sum(tj_clip(x, lo, hi), NULL, 0, false);
    cr_assert_eq(tj_grad(same, (tj_var *[]){x, b}, 2, g), TJ_OK, "%s", tj_errmsg(ctx));
    cr_assert_eq(tj_grad(apart, (tj_var *[]){x, lo, hi}, 3, g + 2), TJ_OK, "%s", tj_errmsg(ctx));
    tj_fn *f = tj_function(ctx, (tj_var *[]){x, b, lo, hi}, 4, g, 5, NULL);
    cr_assert(f, "%s", tj_errmsg(ctx));
    int64_t n = 3;
    tj_array *xv = tjt_array(TJ_FLOAT64, 1, &n, (double[]){-1, 0.5, 2}),
             *bv = tjt_array(TJ_FLOAT64, 1, &n, (double[]){0.5, 0.5, 0.5}), *r[5];
    cr_assert_eq(tj_call(f, (tj_array *[]){xv, bv, bv, bv}, r), TJ_OK, "%s", tj_errmsg(ctx));
    static const double want[5][3] = {
        {0, 0, 0}, {1, 1, 1}, /* clip(x, b, b): by x, by b */
        {0, 0, 0}, {1, 0, 0}, {0, 1, 1}, /* clip(x, lo, hi), lo == hi: by x, lo, hi */
    };
    for (int k = 0; k < 5; k++) {
        for (int e = 0; e < 3; e++)
            cr_expect_eq(tjt_at(r[k], e), want[k][e], "gradient %d [%d]", k, e);
        tj_array_unref(r[k]);
    }
    tj_array_unref(xv);
    tj_array_unref(bv);
    tj_ctx_free(ctx);
}
