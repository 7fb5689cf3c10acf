/* The seed's logistic regression through the optimizer (issue 4): its cross-entropy and gradient
 * stay finite and accurate for logits of +-40 and +-100 in float64 and float32, and the compiled
 * train function is one gemv for dot(x, w), one transposed gemv (flag, no transpose copy) for the
 * gradient that also applies the update, and a handful of fused kernels. */
#include "support.h"

#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    tj_ctx *ctx;
    tj_var *x, *y, *w, *b, *prediction, *xent, *cost, *g[2];
} logreg;

/* Theano's tutorial, as the seed writes it */
static void build(logreg *m, tj_dtype dt, int64_t feats, const double *w0)
{
    m->ctx = tj_ctx_new();
    m->x = tj_matrix(m->ctx, dt, "x");
    m->y = tj_vector(m->ctx, dt, "y");
    tj_array *wa = tjt_array(dt, 1, &feats, w0), *ba = tj_array_scalar(dt, 0);
    m->w = tj_shared(m->ctx, wa, "w", false);
    m->b = tj_shared(m->ctx, ba, "b", false);
    tj_array_unref(wa);
    tj_array_unref(ba);
    tj_var *p_1 = tj_rdivc(1, tj_addc(tj_exp(tj_sub(tj_neg(tj_dot(m->x, m->w)), m->b)), 1));
    m->prediction = tj_gt(p_1, tj_lit(m->ctx, 0.5));
    m->xent = tj_sub(tj_mul(tj_neg(m->y), tj_log(p_1)),
                     tj_mul(tj_rsubc(1, m->y), tj_log(tj_rsubc(1, p_1))));
    m->cost = tj_add(tj_mean(m->xent, NULL, 0, false),
                     tj_mulc(tj_sum(tj_powc(m->w, 2), NULL, 0, false), 0.01));
    cr_assert_eq(tj_grad(m->cost, (tj_var *[]){m->w, m->b}, 2, m->g), TJ_OK, "%s",
                 tj_errmsg(m->ctx));
}

/* log(1 + exp(z)) without overflow, in float64 */
static double softplus(double z) { return log1p(exp(-fabs(z))) + fmax(z, 0); }
static double sigmoid(double z) { return z >= 0 ? 1 / (1 + exp(-z)) : exp(z) / (1 + exp(z)); }

enum { NS = 8 };

ParameterizedTestParameters(opt_logreg, stable_for_large_logits)
{
    static int cfg[] = {0, 1, 2, 3}; /* float64/float32 x FAST_RUN/DEBUG */
    return cr_make_param_array(int, cfg, 4);
}

/* One feature with w = 1, b = 0: the logits are the data. */
ParameterizedTest(int *cfg, opt_logreg, stable_for_large_logits)
{
    tj_dtype dt = *cfg & 1 ? TJ_FLOAT32 : TJ_FLOAT64;
    tj_mode mode = *cfg & 2 ? TJ_MODE_DEBUG : TJ_MODE_FAST_RUN;
    static const double z[NS] = {40, -40, 100, -100, 40, -40, 100, -100};
    static const double yv[NS] = {1, 0, 0, 1, 0, 1, 1, 0};
    logreg m;
    build(&m, dt, 1, (double[]){1});
    tj_function_opts o = TJ_FUNCTION_OPTS_INIT;
    o.mode = mode;
    tj_fn *f = tj_function(m.ctx, (tj_var *[]){m.x, m.y}, 2,
                           (tj_var *[]){m.xent, m.cost, m.g[0], m.g[1]}, 4, &o);
    cr_assert(f, "%s", tj_errmsg(m.ctx));
    int64_t xs[2] = {NS, 1}, n = NS;
    tj_array *X = tjt_array(dt, 2, xs, z), *Y = tjt_array(dt, 1, &n, yv), *out[4];
    cr_assert_eq(tj_call(f, (tj_array *[]){X, Y}, out), TJ_OK, "%s", tj_errmsg(m.ctx));
    /* independent float64 values: xent_i = y softplus(-z) + (1-y) softplus(z),
     * d cost/dw = mean((p - y) x) + 0.02 w, d cost/db = mean(p - y) */
    double cost = 0, gw = 0.02, gb = 0;
    for (int i = 0; i < NS; i++) {
        double xe = yv[i] * softplus(-z[i]) + (1 - yv[i]) * softplus(z[i]);
        double got = tjt_at(out[0], i);
        cr_expect(isfinite(got), "xent[%d] is %g", i, got);
        /* float32 holds softplus(-100) = 3.7e-44 as a denormal: a few of its steps apart */
        double tol = dt == TJ_FLOAT32 ? 2e-6 * xe + 4 * 1.401298464e-45 : 1e-12 * xe;
        cr_expect(fabs(got - xe) <= tol, "%s xent[%d] (z %g, y %g) = %.9g, expected %.9g",
                  tj_dtype_name(dt), i, z[i], yv[i], got, xe);
        cost += xe / NS;
        gw += (sigmoid(z[i]) - yv[i]) * z[i] / NS;
        gb += (sigmoid(z[i]) - yv[i]) / NS;
    }
    cost += 0.01;
    double tol = dt == TJ_FLOAT32 ? 1e-5 : 1e-12;
    double got_cost = tjt_at(out[1], 0), got_gw = tjt_at(out[2], 0), got_gb = tjt_at(out[3], 0);
    cr_expect(fabs(got_cost - cost) <= tol * fabs(cost), "cost %.17g vs %.17g", got_cost, cost);
    cr_expect(fabs(got_gw - gw) <= tol * fmax(1, fabs(gw)), "gw %.17g vs %.17g", got_gw, gw);
    cr_expect(fabs(got_gb - gb) <= tol * fmax(1, fabs(gb)), "gb %.17g vs %.17g", got_gb, gb);
    /* as written (every rewrite excluded), the same function overflows: what stabilize fixes */
    tj_function_opts raw = o;
    raw.mode = TJ_MODE_FAST_COMPILE;
    raw.optimizer_excluding = (const char *const[]){"merge", "canonicalize"};
    raw.noptimizer_excluding = 2;
    tj_fn *r = tj_function(m.ctx, (tj_var *[]){m.x, m.y}, 2,
                           (tj_var *[]){m.xent, m.cost, m.g[0], m.g[1]}, 4, &raw);
    cr_assert(r, "%s", tj_errmsg(m.ctx));
    tj_array *rout[4];
    cr_assert_eq(tj_call(r, (tj_array *[]){X, Y}, rout), TJ_OK, "%s", tj_errmsg(m.ctx));
    cr_expect(!isfinite(tjt_at(rout[1], 0)) || !isfinite(tjt_at(rout[2], 0)),
              "the unoptimized cost/gradient are finite: the data does not exercise stability");
    for (int k = 0; k < 4; k++) {
        tj_array_unref(out[k]);
        tj_array_unref(rout[k]);
    }
    tj_array_unref(X);
    tj_array_unref(Y);
    tj_ctx_free(m.ctx);
}

static int count(const char *text, const char *what)
{
    int n = 0;
    for (const char *p = text; (p = strstr(p, what)); p++)
        n++;
    return n;
}

/* The train function of the seed: updates w and b with the gradient. */
Test(opt_logreg, blas_calls_and_kernel_count)
{
    logreg m;
    build(&m, TJ_FLOAT64, 3, (double[]){0.5, -0.25, 1});
    tj_function_opts o = TJ_FUNCTION_OPTS_INIT;
    o.updates = (tj_update[]){{m.w, tj_sub(m.w, tj_mulc(m.g[0], 0.1))},
                              {m.b, tj_sub(m.b, tj_mulc(m.g[1], 0.1))}};
    o.nupdates = 2;
    o.name = "train";
    tj_fn *f = tj_function(m.ctx, (tj_var *[]){m.x, m.y}, 2,
                           (tj_var *[]){m.prediction, m.xent, m.cost}, 3, &o);
    cr_assert(f, "%s", tj_errmsg(m.ctx));
    char *g = tj_fn_graph(f), *rw = tj_fn_rewrites(f);
    cr_assert(g && rw);
    char *steps = strstr(g, "\nSteps:\n");
    cr_assert(steps, "%s", g);
    *steps = '\0'; /* g: the optimized graph; steps + 8: the step list */
    int gemv_plain = count(g, "gemv{no_trans"), gemv_trans = count(g, "gemv{trans");
    int kernels = count(steps + 8, "\nkernel node") + !strncmp(steps + 8, "kernel node", 11);
    printf("logistic regression train function: %d gemv, %d transposed gemv, %d kernel steps, "
           "%d dot\n",
           gemv_plain, gemv_trans, kernels, count(steps + 8, "(dot float64"));
    cr_expect_eq(gemv_plain, 1, "one gemv for dot(x, w):\n%s", g);
    cr_expect_eq(gemv_trans, 1, "one transposed gemv for the gradient:\n%s", g);
    /* the transposed gemv reads x itself, and it is the update of w (alpha, beta absorbed) */
    cr_expect(strstr(g, "Update of w:\ngemv{trans, alpha=-0.1, beta=0.998}") &&
                  strstr(g, "gemv{trans, alpha=-0.1, beta=0.998} [id T] float64 (?)\n |x [id"),
              "%s", g);
    cr_expect_eq(count(g, "dimshuffle{1,0}"), 0, "no transpose left:\n%s", g);
    /* (p, xent, gradient) in one kernel; mean and sum reductions; cost and b's update in one */
    cr_expect_eq(kernels, 4, "kernel steps:\n%s", steps + 8);
    cr_expect_gt(tj_fn_rewrite_count(f, "stabilize"), 0);
    cr_expect_gt(tj_fn_rewrite_count(f, "sigmoid_product"), 0, "%s", rw);
    free(g);
    free(rw);
    tj_ctx_free(m.ctx);
}

/* The cross-entropy of a softmax computed from logits: -sum(y * log(softmax(z))) and its gradient
 * stay finite for logits +-100 (log(softmax) -> log_softmax, and the gradient's s * (g / s)
 * cancels instead of dividing by an underflowed probability). */
Test(opt_logreg, softmax_cross_entropy_from_logits)
{
    for (int dt = 0; dt < 2; dt++) {
        tj_dtype d = dt ? TJ_FLOAT32 : TJ_FLOAT64;
        tj_ctx *ctx = tj_ctx_new();
        tj_var *z = tj_matrix(ctx, d, "z"), *y = tj_matrix(ctx, d, "y");
        tj_var *xent = tj_neg(tj_sum(tj_mul(y, tj_log(tj_softmax(z, 1))), (int[]){1}, 1, false));
        tj_var *cost = tj_sum(xent, NULL, 0, false), *gz;
        cr_assert_eq(tj_grad(cost, &z, 1, &gz), TJ_OK, "%s", tj_errmsg(ctx));
        tj_fn *f = tj_function(ctx, (tj_var *[]){z, y}, 2, (tj_var *[]){xent, gz}, 2, NULL);
        cr_assert(f, "%s", tj_errmsg(ctx));
        cr_expect_gt(tj_fn_rewrite_count(f, "log_softmax"), 0);
        double zs[6] = {100, -100, 0, -100, 100, 40}, ys[6] = {0, 1, 0, 1, 0, 0};
        int64_t s[2] = {2, 3};
        tj_array *Z = tjt_array(d, 2, s, zs), *Y = tjt_array(d, 2, s, ys), *out[2];
        cr_assert_eq(tj_call(f, (tj_array *[]){Z, Y}, out), TJ_OK, "%s", tj_errmsg(ctx));
        for (int r = 0; r < 2; r++) {
            double m = fmax(zs[3 * r], fmax(zs[3 * r + 1], zs[3 * r + 2])), se = 0;
            for (int j = 0; j < 3; j++)
                se += exp(zs[3 * r + j] - m);
            double lse = m + log(se), want = 0;
            for (int j = 0; j < 3; j++)
                want -= ys[3 * r + j] * (zs[3 * r + j] - lse);
            double got = tjt_at(out[0], r);
            cr_expect(isfinite(got) && fabs(got - want) <= 1e-5 * fabs(want),
                      "%s xent[%d] %.9g vs %.9g", tj_dtype_name(d), r, got, want);
            for (int j = 0; j < 3; j++) { /* d xent / d z = softmax(z) - y (rows of y sum to 1) */
                double g = exp(zs[3 * r + j] - lse) - ys[3 * r + j], gg = tjt_at(out[1], 3 * r + j);
                cr_expect(isfinite(gg) && fabs(gg - g) <= 1e-5, "%s grad[%d,%d] %.9g vs %.9g",
                          tj_dtype_name(d), r, j, gg, g);
            }
        }
        tj_array_unref(out[0]);
        tj_array_unref(out[1]);
        tj_array_unref(Z);
        tj_array_unref(Y);
        tj_ctx_free(ctx);
    }
}
