/* The seed's examples end to end, through the JIT (FAST_RUN) and the reference executor
 * (FAST_COMPILE), against independently computed numbers. */
#include "support.h"

#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static tj_function_opts opts_for(tj_mode mode)
{
    tj_function_opts o = TJ_FUNCTION_OPTS_INIT;
    o.mode = mode;
    return o;
}

ParameterizedTestParameters(seed, add_mul)
{
    static tj_mode modes[] = {TJ_MODE_FAST_RUN, TJ_MODE_FAST_COMPILE, TJ_MODE_DEBUG};
    return cr_make_param_array(tj_mode, modes, 3);
}

/* 1. f = function([x, y], [x + y, x * y]); f(2, 3) -> [array(5.0, dtype=float32), array(6.0, ...)] */
ParameterizedTest(tj_mode *mode, seed, add_mul)
{
    tj_ctx *ctx = tj_ctx_new();
    tj_var *x = tj_scalar(ctx, TJ_FLOAT32, "x"), *y = tj_scalar(ctx, TJ_FLOAT32, "y");
    tj_function_opts o = opts_for(*mode);
    tj_fn *f = tj_function(ctx, (tj_var *[]){x, y}, 2, (tj_var *[]){tj_add(x, y), tj_mul(x, y)},
                           2, &o);
    cr_assert(f, "%s", tj_errmsg(ctx));
    cr_expect_eq(tj_fn_jitted(f), *mode != TJ_MODE_FAST_COMPILE && !tjt_jit_off());
    tj_array *a = tj_array_scalar(TJ_FLOAT32, 2), *b = tj_array_scalar(TJ_FLOAT32, 3), *out[2];
    cr_assert_eq(tj_call(f, (tj_array *[]){a, b}, out), TJ_OK, "%s", tj_errmsg(ctx));
    cr_expect_eq(tj_array_dtype(out[0]), TJ_FLOAT32);
    cr_expect_eq(tj_array_ndim(out[0]), 0);
    cr_expect_eq(tj_array_get(out[0], NULL), 5.0);
    cr_expect_eq(tj_array_get(out[1], NULL), 6.0);
    char *s0 = tj_array_to_string(out[0]), *s1 = tj_array_to_string(out[1]);
    cr_expect_str_eq(s0, "array(5.0, dtype=float32)");
    cr_expect_str_eq(s1, "array(6.0, dtype=float32)");
    free(s0);
    free(s1);
    for (int i = 0; i < 2; i++)
        tj_array_unref(out[i]);
    tj_array_unref(a);
    tj_array_unref(b);
    tj_ctx_free(ctx);
}

ParameterizedTestParameters(seed, sigmoid_grad)
{
    static tj_mode modes[] = {TJ_MODE_FAST_RUN, TJ_MODE_FAST_COMPILE};
    return cr_make_param_array(tj_mode, modes, 2);
}

/* 2. y = 1/(1+exp(-x)); dx = grad(y, x); f(3) -> 0.04517666 (float32), 0.045176659730912 (f64) */
ParameterizedTest(tj_mode *mode, seed, sigmoid_grad)
{
    const double expected = 0.045176659730912144; /* e^-3 / (1 + e^-3)^2 */
    tj_dtype dtypes[2] = {TJ_FLOAT32, TJ_FLOAT64};
    for (int k = 0; k < 2; k++) {
        tj_ctx *ctx = tj_ctx_new();
        tj_var *x = tj_scalar(ctx, dtypes[k], "x");
        tj_var *s = tj_rdivc(1, tj_addc(tj_exp(tj_neg(x)), 1));
        tj_var *dx;
        cr_assert_eq(tj_grad(s, &x, 1, &dx), TJ_OK, "%s", tj_errmsg(ctx));
        cr_expect_eq(tj_var_dtype(dx), dtypes[k]);
        tj_function_opts o = opts_for(*mode);
        tj_fn *f = tj_function(ctx, &x, 1, &dx, 1, &o);
        cr_assert(f, "%s", tj_errmsg(ctx));
        tj_array *in = tj_array_scalar(dtypes[k], 3), *out;
        cr_assert_eq(tj_call(f, &in, &out), TJ_OK, "%s", tj_errmsg(ctx));
        double got = tj_array_get(out, NULL);
        if (dtypes[k] == TJ_FLOAT32)
            cr_expect(tjt_ulp_f32((float)got, (float)expected) <= 4, "float32 dx = %.9g", got);
        else
            cr_expect(fabs(got - expected) < 1e-12, "float64 dx = %.17g", got);
        tj_array_unref(in);
        tj_array_unref(out);
        tj_ctx_free(ctx);
    }
}

ParameterizedTestParameters(seed, shared_update)
{
    static tj_mode modes[] = {TJ_MODE_FAST_RUN, TJ_MODE_FAST_COMPILE, TJ_MODE_DEBUG};
    return cr_make_param_array(tj_mode, modes, 3);
}

/* 3. w = shared(1); f = function([x], w, updates=[(w, w + x)]); f(3) returns 1, then w is 4 */
ParameterizedTest(tj_mode *mode, seed, shared_update)
{
    tj_ctx *ctx = tj_ctx_new();
    tj_array *one = tj_array_scalar(TJ_INT64, 1);
    tj_var *w = tj_shared(ctx, one, "w", false);
    tj_array_unref(one);
    tj_var *x = tj_scalar(ctx, TJ_INT32, "x");
    tj_function_opts o = opts_for(*mode);
    o.updates = (tj_update[]){{w, tj_add(w, x)}};
    o.nupdates = 1;
    tj_fn *f = tj_function(ctx, &x, 1, &w, 1, &o);
    cr_assert(f, "%s", tj_errmsg(ctx));
    tj_array *three = tj_array_scalar(TJ_INT32, 3), *out;
    cr_assert_eq(tj_call(f, &three, &out), TJ_OK, "%s", tj_errmsg(ctx));
    cr_expect_eq(tj_array_dtype(out), TJ_INT64);
    cr_expect_eq(tj_array_get(out, NULL), 1.0);
    tj_array *wv = tj_shared_get(w, false);
    cr_expect_eq(tj_array_get(wv, NULL), 4.0);
    /* the returned array is private: changing it does not touch w */
    tj_array_set(out, NULL, 100);
    tj_array *wv2 = tj_shared_get(w, true);
    cr_expect_eq(tj_array_get(wv2, NULL), 4.0);
    tj_array_unref(out);
    cr_assert_eq(tj_call(f, &three, &out), TJ_OK, "%s", tj_errmsg(ctx));
    cr_expect_eq(tj_array_get(out, NULL), 4.0);
    tj_array *wv3 = tj_shared_get(w, false);
    cr_expect_eq(tj_array_get(wv3, NULL), 7.0);
    tj_array_unref(out);
    tj_array_unref(wv);
    tj_array_unref(wv2);
    tj_array_unref(wv3);
    tj_array_unref(three);
    tj_ctx_free(ctx);
}

/* ---- 4. the logistic regression, against an independent float64 implementation ---- */

enum { N = 10, FEATS = 3, STEPS = 1000 };

static uint64_t rng = 12345;
static double uniform01(void)
{
    uint64_t z = (rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return ((double)(z >> 11) + 0.5) / 9007199254740992.0;
}
static double randn(void)
{
    return sqrt(-2.0 * log(uniform01())) * cos(6.283185307179586 * uniform01());
}

/* One training step with the hand-derived gradient:
 *   z = Xw + b, p = sigmoid(z), xent_i = -y log p - (1-y) log(1-p)
 *   cost = mean(xent) + 0.01 |w|^2
 *   d cost/d z_i = (p_i - y_i)/N, gw = X^T dz + 0.02 w, gb = sum dz */
static double reference_step(const double *X, const double *y, double *w, double *b)
{
    double dz[N], cost = 0, gw[FEATS] = {0}, gb = 0;
    for (int i = 0; i < N; i++) {
        double z = *b;
        for (int j = 0; j < FEATS; j++)
            z += X[i * FEATS + j] * w[j];
        double p = 1 / (1 + exp(-z));
        cost += (-y[i] * log(p) - (1 - y[i]) * log(1 - p)) / N;
        dz[i] = (p - y[i]) / N;
    }
    for (int j = 0; j < FEATS; j++)
        cost += 0.01 * w[j] * w[j];
    for (int i = 0; i < N; i++) {
        gb += dz[i];
        for (int j = 0; j < FEATS; j++)
            gw[j] += X[i * FEATS + j] * dz[i];
    }
    for (int j = 0; j < FEATS; j++)
        w[j] -= 0.1 * (gw[j] + 0.02 * w[j]);
    *b -= 0.1 * gb;
    return cost;
}

ParameterizedTestParameters(seed, logistic_regression)
{
    static tj_mode modes[] = {TJ_MODE_FAST_RUN, TJ_MODE_FAST_COMPILE};
    return cr_make_param_array(tj_mode, modes, 2);
}

ParameterizedTest(tj_mode *mode, seed, logistic_regression)
{
    double X[N * FEATS], y[N], w_ref[FEATS], b_ref = 0;
    for (int i = 0; i < N * FEATS; i++)
        X[i] = randn();
    for (int i = 0; i < N; i++)
        y[i] = uniform01() < 0.5 ? 0 : 1;
    for (int j = 0; j < FEATS; j++)
        w_ref[j] = randn();

    tj_ctx *ctx = tj_ctx_new();
    tj_var *x = tj_matrix(ctx, TJ_FLOAT64, "x"), *yv = tj_vector(ctx, TJ_FLOAT64, "y");
    int64_t nf = FEATS, xs[2] = {N, FEATS}, n = N;
    tj_array *w0 = tj_array_from_data(TJ_FLOAT64, 1, &nf, w_ref);
    tj_array *b0 = tj_array_scalar(TJ_FLOAT64, 0);
    tj_var *w = tj_shared(ctx, w0, "w", false), *b = tj_shared(ctx, b0, "b", false);
    tj_array_unref(w0);
    tj_array_unref(b0);
    tj_var *p_1 = tj_rdivc(1, tj_addc(tj_exp(tj_sub(tj_neg(tj_dot(x, w)), b)), 1));
    tj_var *prediction = tj_gt(p_1, tj_lit(ctx, 0.5));
    tj_var *xent = tj_sub(tj_mul(tj_neg(yv), tj_log(p_1)),
                          tj_mul(tj_rsubc(1, yv), tj_log(tj_rsubc(1, p_1))));
    tj_var *cost = tj_add(tj_mean(xent, NULL, 0, false),
                          tj_mulc(tj_sum(tj_powc(w, 2), NULL, 0, false), 0.01));
    tj_var *g[2];
    cr_assert_eq(tj_grad(cost, (tj_var *[]){w, b}, 2, g), TJ_OK, "%s", tj_errmsg(ctx));
    tj_function_opts o = opts_for(*mode);
    o.updates = (tj_update[]){{w, tj_sub(w, tj_mulc(g[0], 0.1))}, {b, tj_sub(b, tj_mulc(g[1], 0.1))}};
    o.nupdates = 2;
    tj_fn *train = tj_function(ctx, (tj_var *[]){x, yv}, 2,
                               (tj_var *[]){prediction, xent, cost}, 3, &o);
    cr_assert(train, "%s", tj_errmsg(ctx));
    tj_array *XA = tj_array_from_data(TJ_FLOAT64, 2, xs, X);
    tj_array *YA = tj_array_from_data(TJ_FLOAT64, 1, &n, y);
    double first = 0, last = 0;
    for (int s = 0; s < STEPS; s++) {
        double ref_cost = reference_step(X, y, w_ref, &b_ref);
        tj_array *out[3];
        cr_assert_eq(tj_call(train, (tj_array *[]){XA, YA}, out), TJ_OK, "%s", tj_errmsg(ctx));
        double c = tj_array_get(out[2], NULL);
        cr_assert(fabs(c - ref_cost) <= 1e-9 * fmax(1, fabs(ref_cost)),
                  "step %d: cost %.17g, reference %.17g", s, c, ref_cost);
        if (s == 0)
            first = c;
        last = c;
        cr_expect_eq(tj_array_dtype(out[0]), TJ_BOOL);
        for (int k = 0; k < 3; k++)
            tj_array_unref(out[k]);
    }
    cr_expect_lt(last, first, "the cost must decrease: %g -> %g", first, last);
    tj_array *wf = tj_shared_get(w, false), *bf = tj_shared_get(b, false);
    for (int64_t j = 0; j < FEATS; j++)
        cr_expect(fabs(tj_array_get(wf, &j) - w_ref[j]) < 1e-9, "w[%lld] = %.17g vs %.17g",
                  (long long)j, tj_array_get(wf, &j), w_ref[j]);
    cr_expect(fabs(tj_array_get(bf, NULL) - b_ref) < 1e-9, "b = %.17g vs %.17g",
              tj_array_get(bf, NULL), b_ref);
    tj_array_unref(wf);
    tj_array_unref(bf);
    tj_array_unref(XA);
    tj_array_unref(YA);
    tj_ctx_free(ctx);
}

/* The same graph compiled twice compiles once, and both functions agree. */
Test(seed, code_cache_shares_compiled_code)
{
    tj_ctx *ctx = tj_ctx_new();
    tj_fn *f[2];
    for (int k = 0; k < 2; k++) {
        tj_var *x = tj_vector(ctx, TJ_FLOAT32, k ? "x2" : "x");
        tj_var *e = tj_tanh(tj_mul(tj_exp(x), tj_lit(ctx, 0.5)));
        f[k] = tj_function(ctx, &x, 1, &e, 1, NULL);
        cr_assert(f[k], "%s", tj_errmsg(ctx));
    }
    tj_stats st;
    tj_ctx_stats(ctx, &st);
    /* made once (by LLVM, or loaded from a disk cache a previous run left), then shared */
    cr_expect_eq(st.llvm_compiles + st.disk_cache_hits, !tjt_jit_off());
    cr_expect_eq(st.cache_hits, !tjt_jit_off());
    int64_t n = 5;
    tj_array *in = tjt_array(TJ_FLOAT32, 1, &n, (double[]){-2, -0.5, 0, 0.5, 2}), *o[2];
    for (int k = 0; k < 2; k++)
        cr_assert_eq(tj_call(f[k], &in, &o[k]), TJ_OK, "%s", tj_errmsg(ctx));
    for (int64_t i = 0; i < n; i++) {
        double xi = tjt_at(in, i);
        cr_expect_eq(tjt_at(o[0], i), tjt_at(o[1], i));
        cr_expect(fabs(tjt_at(o[0], i) - tanh(exp(xi) * 0.5)) < 1e-6);
    }
    tj_array_unref(o[0]);
    tj_array_unref(o[1]);
    tj_array_unref(in);
    tj_ctx_free(ctx);
}
