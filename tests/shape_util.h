/* Helpers shared by the shape, indexing and linear-algebra suites (test_shape.c, test_index.c,
 * test_linalg.c): deterministic values of every dtype, non-contiguous copies, running one
 * function with many outputs through the JIT plan (FAST_RUN) and the reference executor
 * (FAST_COMPILE), exact comparisons with values the test computes itself, error checks, and
 * gradients against float64 central differences. Static functions: each suite includes it. */
#ifndef TJ_SHAPE_UTIL_H
#define TJ_SHAPE_UTIL_H

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

static const tj_dtype all_dtypes[] = {TJ_BOOL,  TJ_INT8,  TJ_INT16,   TJ_INT32,
                                      TJ_INT64, TJ_UINT8, TJ_FLOAT32, TJ_FLOAT64};
#define NDTYPES 8

/* The value of element i (C order) of test array number `seed` in dtype dt: small integers
 * (floats with a fraction) that every dtype holds exactly. */
static double val_of(tj_dtype dt, int64_t i, int seed)
{
    int64_t base = (i * 7 + seed * 5) % 19 - 6; /* -6 .. 12 */
    switch (dt) {
    case TJ_BOOL: return (i * 7 + seed) % 3 == 0;
    case TJ_UINT8: return (double)(base + 6);
    case TJ_FLOAT32:
    case TJ_FLOAT64: return (double)base * 0.5 + 0.25;
    default: return (double)base;
    }
}

static int64_t size_of(int ndim, const int64_t *shape)
{
    int64_t n = 1;
    for (int d = 0; d < ndim; d++)
        n *= shape[d];
    return n;
}

static tj_array *vals(tj_dtype dt, int ndim, const int64_t *shape, int seed)
{
    int64_t n = size_of(ndim, shape);
    double *v = malloc(sizeof *v * (size_t)(n + 1));
    for (int64_t i = 0; i < n; i++)
        v[i] = val_of(dt, i, seed);
    tj_array *a = tjt_array(dt, ndim, shape, v);
    free(v);
    cr_assert(a);
    return a;
}

static void release_base(void *base) { tj_array_unref(base); }

/* A copy of a that is not contiguous: every axis strided by 2 (and the innermost one reversed
 * when it is longer than 1), over a bigger buffer that the view keeps alive. */
static inline tj_array *noncontig(const tj_array *a)
{
    int nd = tj_array_ndim(a);
    const int64_t *shape = tj_array_shape(a);
    int64_t big[TJ_MAX_NDIM], strides[TJ_MAX_NDIM], idx[TJ_MAX_NDIM] = {0}, bidx[TJ_MAX_NDIM];
    for (int d = 0; d < nd; d++)
        big[d] = shape[d] * 2 + 1;
    tj_array *b = tj_array_new(tj_array_dtype(a), nd, big);
    cr_assert(b);
    const int64_t *bs = tj_array_strides(b);
    char *data = (char *)tj_array_data(b);
    for (int d = 0; d < nd; d++)
        strides[d] = 2 * bs[d];
    bool rev = nd > 0 && shape[nd - 1] > 1;
    if (rev) { /* start at the far end of the last axis and walk back */
        data += 2 * (shape[nd - 1] - 1) * bs[nd - 1];
        strides[nd - 1] = -strides[nd - 1];
    }
    int64_t n = tj_array_size(a);
    for (int64_t i = 0; i < n; i++) {
        int64_t r = i;
        for (int d = nd - 1; d >= 0; d--) {
            idx[d] = r % shape[d];
            r /= shape[d];
        }
        for (int d = 0; d < nd; d++)
            bidx[d] = 2 * idx[d];
        if (rev)
            bidx[nd - 1] = 2 * (shape[nd - 1] - 1 - idx[nd - 1]);
        tj_array_set(b, bidx, tj_array_get(a, nd ? idx : NULL));
    }
    tj_array *v = tj_array_wrap(tj_array_dtype(a), nd, shape, strides, n ? data : tj_array_data(b),
                                release_base, b);
    cr_assert(v);
    if (n > 1)
        cr_assert_null(tj_array_data(v), "the copy should be strided");
    return v;
}

/* Compiles outs as functions of in in `mode` and calls it once; res[i] gets new references. */
static void run_mode(tj_mode mode, tj_var **in, tj_array **val, int nin, tj_var **outs, int nout,
                     tj_array **res)
{
    tj_function_opts o = TJ_FUNCTION_OPTS_INIT;
    o.mode = mode;
    o.on_unused_input = TJ_UNUSED_IGNORE;
    tj_fn *f = tj_function(ctx, in, nin, outs, nout, &o);
    cr_assert(f, "tj_function (%s) failed: %s",
              mode == TJ_MODE_FAST_RUN ? "FAST_RUN" : "FAST_COMPILE", tj_errmsg(ctx));
    if (mode == TJ_MODE_FAST_RUN)
        cr_assert(tj_fn_jitted(f) != tjt_jit_off(),
                  "FAST_RUN must run the compiled plan (the reference executor under TJ_JIT=off)");
    tj_status st = tj_call(f, val, res);
    cr_assert_eq(st, TJ_OK, "tj_call (%s) failed: %s",
                 mode == TJ_MODE_FAST_RUN ? "FAST_RUN" : "FAST_COMPILE", tj_errmsg(ctx));
    tj_fn_free(f);
}

/* The call of a function expected to fail at run time with `code` and a message containing
 * `needle`, in both modes. */
static inline void run_fails(tj_var **in, tj_array **val, int nin, tj_var *out, tj_status code,
                      const char *needle)
{
    for (int m = 0; m < 2; m++) {
        tj_function_opts o = TJ_FUNCTION_OPTS_INIT;
        o.mode = m ? TJ_MODE_FAST_COMPILE : TJ_MODE_FAST_RUN;
        o.on_unused_input = TJ_UNUSED_IGNORE;
        tj_fn *f = tj_function(ctx, in, nin, &out, 1, &o);
        cr_assert(f, "tj_function failed: %s", tj_errmsg(ctx));
        tj_array *r = NULL;
        tj_status st = tj_call(f, val, &r);
        cr_expect_eq(st, code, "mode %d: status %s, want %s (%s)", m, tj_status_name(st),
                     tj_status_name(code), tj_errmsg(ctx));
        cr_expect(strstr(tj_errmsg(ctx), needle), "mode %d: message \"%s\" lacks \"%s\"", m,
                  tj_errmsg(ctx), needle);
        cr_expect_null(r);
        tj_fn_free(f);
        tj_clear_error(ctx);
    }
}

/* The last builder failed with `code` and a message containing `needle`. */
static inline void built_fails(tj_var *v, tj_status code, const char *needle)
{
    cr_expect_null(v);
    cr_expect_eq(tj_errcode(ctx), code, "status %s, want %s (%s)", tj_status_name(tj_errcode(ctx)),
                 tj_status_name(code), tj_errmsg(ctx));
    cr_expect(strstr(tj_errmsg(ctx), needle), "message \"%s\" lacks \"%s\"", tj_errmsg(ctx),
              needle);
    tj_clear_error(ctx);
}

#define MAXOUT 64

/* Runs outs in both modes: r[0] FAST_RUN, r[1] FAST_COMPILE. */
typedef struct {
    tj_array *r[2][MAXOUT];
    int n;
} results;

static void run_both(tj_var **in, tj_array **val, int nin, tj_var **outs, int nout, results *res)
{
    cr_assert(nout <= MAXOUT);
    for (int i = 0; i < nout; i++)
        cr_assert(outs[i], "output %d failed to build: %s", i, tj_errmsg(ctx));
    run_mode(TJ_MODE_FAST_RUN, in, val, nin, outs, nout, res->r[0]);
    run_mode(TJ_MODE_FAST_COMPILE, in, val, nin, outs, nout, res->r[1]);
    res->n = nout;
}

static void results_free(results *res)
{
    for (int m = 0; m < 2; m++)
        for (int i = 0; i < res->n; i++)
            tj_array_unref(res->r[m][i]);
}

/* got has dtype dt, shape (ndim, shape) and values want (C order), within tol (0: exact). */
static void expect_arr_tol(const tj_array *got, tj_dtype dt, int ndim, const int64_t *shape,
                           const double *want, double tol, const char *what)
{
    cr_assert(got, "%s: no result", what);
    cr_assert_eq(tj_array_dtype(got), dt, "%s: dtype %s, want %s", what,
                 tj_dtype_name(tj_array_dtype(got)), tj_dtype_name(dt));
    cr_assert_eq(tj_array_ndim(got), ndim, "%s: ndim %d, want %d", what, tj_array_ndim(got), ndim);
    for (int d = 0; d < ndim; d++)
        cr_assert_eq(tj_array_shape(got)[d], shape[d], "%s: length %lld on axis %d, want %lld",
                     what, (long long)tj_array_shape(got)[d], d, (long long)shape[d]);
    int64_t n = size_of(ndim, shape);
    for (int64_t i = 0; i < n; i++) {
        double g = tjt_at(got, i), w = want[i];
        bool ok = tol == 0 ? g == w : fabs(g - w) <= tol * (1 + fabs(w));
        cr_expect(ok, "%s: element %lld is %.17g, want %.17g", what, (long long)i, g, w);
        if (!ok)
            return;
    }
}

static inline void expect_arr(const tj_array *got, tj_dtype dt, int ndim, const int64_t *shape,
                       const double *want, const char *what)
{
    expect_arr_tol(got, dt, ndim, shape, want, 0, what);
}

/* output i of both modes */
static void expect_out(const results *res, int i, tj_dtype dt, int ndim, const int64_t *shape,
                       const double *want, double tol, const char *what)
{
    char buf[256];
    for (int m = 0; m < 2; m++) {
        snprintf(buf, sizeof buf, "%s [%s]", what, m ? "FAST_COMPILE" : "FAST_RUN");
        expect_arr_tol(res->r[m][i], dt, ndim, shape, want, tol, buf);
    }
}

/* ---- gradients ------------------------------------------------------------------------------- */

static double uniform(uint64_t *s, double lo, double hi)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return lo + (hi - lo) * (double)(*s >> 11) / 9007199254740992.0;
}

static tj_array *random_array(uint64_t *s, int ndim, const int64_t *shape)
{
    tj_array *a = tj_array_new(TJ_FLOAT64, ndim, shape);
    cr_assert(a);
    double *p = tj_array_data(a);
    for (int64_t i = 0; i < tj_array_size(a); i++)
        p[i] = uniform(s, -2, 2);
    return a;
}

typedef struct {
    int ndim;
    int64_t shape[4];
    bool bcast[4]; /* must match length-1 axes of shape */
} argspec;

typedef tj_var *(*build_fn)(tj_var **x);

static double eval_cost(tj_var **x, tj_array **val, int n, tj_var *cost)
{
    tj_array *r = NULL;
    cr_assert_eq(tjI_eval(ctx, x, val, n, &cost, 1, &r), TJ_OK, "%s", tj_errmsg(ctx));
    double v = tj_array_get(r, NULL);
    tj_array_unref(r);
    return v;
}

/* cost = sum(f(x...) * R) with R a fixed random constant: d cost/d x[i] from tj_grad, evaluated
 * by the compiled plan and by the reference executor, against float64 central differences (the
 * ops here are linear in each operand, so the difference is exact up to rounding). */
static inline void check_grad(const char *what, build_fn f, int n, const argspec *args,
                              uint64_t seed)
{
    static const char *names[] = {"a", "b", "c", "d"};
    tj_var *x[4], *g[4];
    tj_array *val[4];
    results gv;
    uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
    for (int i = 0; i < n; i++) {
        x[i] = tj_tensor(ctx, TJ_FLOAT64, args[i].ndim, args[i].bcast, names[i]);
        val[i] = random_array(&s, args[i].ndim, args[i].shape);
    }
    tj_var *out = f(x);
    cr_assert(out, "%s: building failed: %s", what, tj_errmsg(ctx));
    tj_array *ov = NULL;
    cr_assert_eq(tjI_eval(ctx, x, val, n, &out, 1, &ov), TJ_OK, "%s: %s", what, tj_errmsg(ctx));
    tj_array *r = random_array(&s, tj_array_ndim(ov), tj_array_shape(ov));
    tj_var *cost = tj_sum(tj_mul(out, tj_constant(ctx, r)), NULL, 0, false);
    tj_array_unref(r);
    tj_array_unref(ov);
    cr_assert(cost, "%s: %s", what, tj_errmsg(ctx));
    cr_assert_eq(tj_grad(cost, x, n, g), TJ_OK, "%s: tj_grad: %s", what, tj_errmsg(ctx));
    for (int i = 0; i < n; i++) {
        cr_assert_eq(tj_var_ndim(g[i]), args[i].ndim, "%s: gradient rank", what);
        cr_assert_eq(tj_var_dtype(g[i]), TJ_FLOAT64, "%s: gradient dtype", what);
    }
    run_both(x, val, n, g, n, &gv);
    const double h = 1e-6;
    for (int i = 0; i < n; i++) {
        double *p = tj_array_data(val[i]);
        for (int64_t j = 0; j < tj_array_size(val[i]); j++) {
            double v0 = p[j], xp = v0 + h, xm = v0 - h;
            p[j] = xp;
            double cp = eval_cost(x, val, n, cost);
            p[j] = xm;
            double cm = eval_cost(x, val, n, cost);
            p[j] = v0;
            double num = (cp - cm) / (xp - xm);
            for (int m = 0; m < 2; m++) {
                cr_assert_eq(tj_array_size(gv.r[m][i]), tj_array_size(val[i]),
                             "%s: d/d%s has the wrong size", what, names[i]);
                double sym = tjt_at(gv.r[m][i], j);
                cr_expect(fabs(num - sym) <= 1e-6 * fmax(fabs(num), fabs(sym)) + 1e-8,
                          "%s [%s]: d/d%s[%lld]: symbolic %.12g, numeric %.12g", what,
                          m ? "FAST_COMPILE" : "FAST_RUN", names[i], (long long)j, sym, num);
            }
        }
    }
    results_free(&gv);
    for (int i = 0; i < n; i++)
        tj_array_unref(val[i]);
}

#endif
