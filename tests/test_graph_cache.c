/* The graph cache: a graph built again (new inputs, new shared variables with new values) reuses
 * the earlier compile without optimizing, scheduling or compiling; any difference in structure,
 * constant, input type, mode or optimizer option misses; a hit computes what a fresh compile
 * computes, on its own shared variables. */
#include "support.h"

#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

typedef struct {
    tj_dtype dtype;
    tj_mode mode;
    double lr;                   /* a constant of the graph */
    const char *const *excluding; /* optimizer_excluding */
    int nexcluding;
    bool square;                 /* structure: squared error instead of absolute-free linear */
} variant;

typedef struct {
    tj_fn *fn;
    tj_var *w, *b;
} built;

/* A logistic-regression-like train step on x (n x 3), y (n): prediction sigmoid(x w + b),
 * cost mean((p - y)^2) (or mean(p - y)), updates w -= lr dw, b -= lr db. */
static built build(tj_ctx *ctx, variant v, double w0)
{
    int64_t three = 3;
    tj_array *wv = tj_array_new(v.dtype, 1, &three);
    for (int64_t i = 0; i < 3; i++)
        tj_array_set(wv, &i, w0 * (double)(i + 1));
    tj_array *bv = tj_array_scalar(v.dtype, w0 / 2);
    built r = {NULL, tj_shared(ctx, wv, "w", false), tj_shared(ctx, bv, "b", false)};
    tj_var *x = tj_matrix(ctx, v.dtype, "x"), *y = tj_vector(ctx, v.dtype, "y");
    tj_var *p = tj_sigmoid(tj_add(tj_dot(x, r.w), r.b));
    tj_var *err = tj_sub(p, y);
    tj_var *cost = tj_mean(v.square ? tj_sqr(err) : err, NULL, 0, false);
    tj_var *g[2];
    cr_assert_eq(tj_grad(cost, (tj_var *[]){r.w, r.b}, 2, g), TJ_OK, "%s", tj_errmsg(ctx));
    tj_update up[2] = {{r.w, tj_sub(r.w, tj_mulc(g[0], v.lr))},
                       {r.b, tj_sub(r.b, tj_mulc(g[1], v.lr))}};
    tj_function_opts o = TJ_FUNCTION_OPTS_INIT;
    o.mode = v.mode;
    o.updates = up;
    o.nupdates = 2;
    o.optimizer_excluding = v.excluding;
    o.noptimizer_excluding = v.nexcluding;
    r.fn = tj_function(ctx, (tj_var *[]){x, y}, 2, &cost, 1, &o);
    cr_assert(r.fn, "%s", tj_errmsg(ctx));
    tj_array_unref(wv);
    tj_array_unref(bv);
    return r;
}

static variant base(void) { return (variant){TJ_FLOAT64, TJ_MODE_FAST_RUN, 0.1, NULL, 0, true}; }

static tj_stats stats(tj_ctx *ctx)
{
    tj_stats s;
    tj_ctx_stats(ctx, &s);
    return s;
}

/* The hits a rebuilt graph makes: the cache serves compiled functions, so none with TJ_JIT=off. */
static uint64_t one_hit(void) { return tjt_jit_off() ? 0 : 1; }

static const double X[12] = {0.5, -1, 2, 1.5, 0.25, -0.5, -2, 1, 0.75, 0.1, 0.2, -0.3};
static const double Y[4] = {1, 0, 1, 0};

/* One step by hand in double: cost, then w and b after the update. */
static void step_by_hand(const variant *v, double w0, double *cost, double w[3], double *b)
{
    double wv[3] = {w0, 2 * w0, 3 * w0}, bv = w0 / 2, dw[3] = {0}, db = 0;
    *cost = 0;
    for (int i = 0; i < 4; i++) {
        double z = bv;
        for (int j = 0; j < 3; j++)
            z += X[i * 3 + j] * wv[j];
        double p = 1 / (1 + exp(-z)), e = p - Y[i];
        *cost += (v->square ? e * e : e) / 4;
        double dz = (v->square ? 2 * e : 1) / 4 * p * (1 - p);
        for (int j = 0; j < 3; j++)
            dw[j] += dz * X[i * 3 + j];
        db += dz;
    }
    for (int j = 0; j < 3; j++)
        w[j] = wv[j] - v->lr * dw[j];
    *b = bv - v->lr * db;
}

static void check_step(tj_ctx *ctx, const variant *v, built f, double w0)
{
    tj_array *x = tjt_array(v->dtype, 2, (int64_t[]){4, 3}, X);
    tj_array *y = tjt_array(v->dtype, 1, (int64_t[]){4}, Y);
    tj_array *c;
    cr_assert_eq(tj_call(f.fn, (tj_array *[]){x, y}, &c), TJ_OK, "%s", tj_errmsg(ctx));
    double cost, w[3], b;
    step_by_hand(v, w0, &cost, w, &b);
    double tol = v->dtype == TJ_FLOAT32 ? 1e-5 : 1e-12;
    cr_expect(fabs(tjt_at(c, 0) - cost) < tol, "cost %g, by hand %g", tjt_at(c, 0), cost);
    tj_array *wa = tj_shared_get(f.w, true), *ba = tj_shared_get(f.b, true);
    for (int j = 0; j < 3; j++)
        cr_expect(fabs(tjt_at(wa, j) - w[j]) < tol, "w[%d] %g, by hand %g", j, tjt_at(wa, j), w[j]);
    cr_expect(fabs(tj_array_get(ba, NULL) - b) < tol);
    tj_array_unref(wa);
    tj_array_unref(ba);
    tj_array_unref(c);
    tj_array_unref(x);
    tj_array_unref(y);
}

/* Built again with new shared variables holding other values: a hit, and it trains its own
 * variables (the first function's are left alone). */
Test(graph_cache, rebuilt_graph_hits)
{
    tj_ctx *ctx = tj_ctx_new();
    variant v = base();
    built a = build(ctx, v, 0.3);
    tj_stats s0 = stats(ctx);
    built b = build(ctx, v, -0.7);
    tj_stats s1 = stats(ctx);
    cr_expect_eq(s1.graph_cache_hits, s0.graph_cache_hits + one_hit());
    cr_expect_eq(s1.llvm_compiles, s0.llvm_compiles);
    cr_expect_eq(tj_fn_rewrite_count(b.fn, NULL), tj_fn_rewrite_count(a.fn, NULL));
    check_step(ctx, &v, b, -0.7);
    tj_array *wa = tj_shared_get(a.w, true);
    cr_expect_eq(tjt_at(wa, 2), 0.3 * 3, "the hit must not update the first function's w");
    tj_array_unref(wa);
    check_step(ctx, &v, a, 0.3);
    /* the entry outlives the function that made it */
    tj_fn_free(a.fn);
    built c = build(ctx, v, 0.05);
    cr_expect_eq(stats(ctx).graph_cache_hits, s1.graph_cache_hits + one_hit());
    check_step(ctx, &v, c, 0.05);
    tj_ctx_free(ctx);
}

/* Each difference misses: a constant's value, the structure, the input dtype, the mode, an
 * optimizer option. And every miss still computes the right step. */
Test(graph_cache, differences_miss)
{
    static const char *const no_fusion[] = {"fusion"};
    variant vs[6];
    for (int k = 0; k < 6; k++)
        vs[k] = base();
    vs[1].lr = 0.2;
    vs[2].square = false;
    vs[3].dtype = TJ_FLOAT32;
    vs[4].mode = TJ_MODE_DEBUG;
    vs[5].excluding = no_fusion;
    vs[5].nexcluding = 1;
    tj_ctx *ctx = tj_ctx_new();
    for (int k = 0; k < 6; k++) {
        built f = build(ctx, vs[k], 0.4);
        cr_expect_eq(stats(ctx).graph_cache_hits, 0, "variant %d hit", k);
        check_step(ctx, &vs[k], f, 0.4);
    }
    tj_ctx_free(ctx);
}

/* A hit gives bit for bit what a fresh compile in another context gives. */
Test(graph_cache, hit_equals_fresh_compile)
{
    variant v = base();
    tj_ctx *fresh = tj_ctx_new(), *ctx = tj_ctx_new();
    built f0 = build(fresh, v, 0.9);
    build(ctx, v, 0.1);
    built f1 = build(ctx, v, 0.9);
    cr_assert_eq(stats(ctx).graph_cache_hits, one_hit());
    cr_assert_eq(stats(fresh).graph_cache_hits, 0);
    tj_array *x = tjt_array(v.dtype, 2, (int64_t[]){4, 3}, X);
    tj_array *y = tjt_array(v.dtype, 1, (int64_t[]){4}, Y);
    for (int step = 0; step < 3; step++) {
        tj_array *c0, *c1;
        cr_assert_eq(tj_call(f0.fn, (tj_array *[]){x, y}, &c0), TJ_OK, "%s", tj_errmsg(fresh));
        cr_assert_eq(tj_call(f1.fn, (tj_array *[]){x, y}, &c1), TJ_OK, "%s", tj_errmsg(ctx));
        cr_expect_eq(tjt_at(c0, 0), tjt_at(c1, 0), "step %d", step);
        tj_array *w0 = tj_shared_get(f0.w, true), *w1 = tj_shared_get(f1.w, true);
        for (int j = 0; j < 3; j++)
            cr_expect_eq(tjt_at(w0, j), tjt_at(w1, j));
        tj_array_unref(w0);
        tj_array_unref(w1);
        tj_array_unref(c0);
        tj_array_unref(c1);
    }
    tj_array_unref(x);
    tj_array_unref(y);
    tj_ctx_free(fresh);
    tj_ctx_free(ctx);
}
