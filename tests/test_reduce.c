/* Reductions (sum prod mean max min all any variance std argmax argmin) and the softmax family,
 * through the JIT (FAST_RUN) and the reference executor (FAST_COMPILE), against values the test
 * computes itself with plain loops in double / int64: every op x dtype x axis subset of a 3-d
 * array (negative axes, keepdims on and off), strided inputs, empty axes, NaN, ties, float32
 * accuracy over 10^7 terms, and softmax stability for logits of +-1000. */
#include <criterion/criterion.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

static tj_ctx *ctx;

static void setup(void)
{
    ctx = tj_ctx_new();
    cr_assert(ctx);
}

static void teardown(void) { tj_ctx_free(ctx); }

TestSuite(reduce, .init = setup, .fini = teardown);

/* ---- helpers --------------------------------------------------------------------------------- */

static uint64_t next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static double uniform(uint64_t *s, double lo, double hi)
{
    return lo + (hi - lo) * (double)(next(s) >> 11) / 9007199254740992.0;
}

/* Element i (C order) of a contiguous result, exactly: integers through int64, never double. */
static int64_t int_at(tj_array *a, int64_t i)
{
    const char *p = tj_array_data(a);
    cr_assert(p, "results are contiguous");
    switch (tj_array_dtype(a)) {
    case TJ_BOOL: return p[i] != 0;
    case TJ_INT8: return ((const int8_t *)p)[i];
    case TJ_UINT8: return ((const uint8_t *)p)[i];
    case TJ_INT16: return ((const int16_t *)p)[i];
    case TJ_INT32: return ((const int32_t *)p)[i];
    case TJ_INT64: return ((const int64_t *)p)[i];
    default: cr_assert_fail("int_at of a float array"); return 0;
    }
}

/* Writes v (exact for integers) into element i of a contiguous buffer of dtype d. */
static void put(tj_dtype d, void *buf, int64_t i, double fv, int64_t iv)
{
    char *p = buf;
    switch (d) {
    case TJ_BOOL: p[i] = iv != 0; break;
    case TJ_INT8: ((int8_t *)p)[i] = (int8_t)iv; break;
    case TJ_UINT8: ((uint8_t *)p)[i] = (uint8_t)iv; break;
    case TJ_INT16: ((int16_t *)p)[i] = (int16_t)iv; break;
    case TJ_INT32: ((int32_t *)p)[i] = (int32_t)iv; break;
    case TJ_INT64: ((int64_t *)p)[i] = iv; break;
    case TJ_FLOAT32: ((float *)p)[i] = (float)fv; break;
    default: ((double *)p)[i] = fv; break;
    }
}

static bool is_float(tj_dtype d) { return d == TJ_FLOAT32 || d == TJ_FLOAT64; }

/* |got - want| within rtol relative (and atol absolute); NaN matches NaN, inf matches inf. */
static bool near(double got, double want, double rtol, double atol)
{
    if (isnan(want) || isnan(got))
        return isnan(want) && isnan(got);
    if (isinf(want) || isinf(got))
        return got == want;
    return fabs(got - want) <= rtol * fabs(want) + atol;
}

/* Two functions of the same outputs: the JIT's and the reference executor's. */
typedef struct {
    tj_fn *jit, *ref;
} fpair;

static fpair both(tj_var *const *in, int nin, tj_var *const *outs, int nout)
{
    for (int i = 0; i < nout; i++)
        cr_assert(outs[i], "output %d failed to build: %s", i, tj_errmsg(ctx));
    tj_function_opts o = TJ_FUNCTION_OPTS_INIT;
    o.on_unused_input = TJ_UNUSED_IGNORE;
    fpair f;
    f.jit = tj_function(ctx, in, nin, outs, nout, &o);
    cr_assert(f.jit, "compile: %s", tj_errmsg(ctx));
    cr_assert(tj_fn_jitted(f.jit) != tjt_jit_off(), "the FAST_RUN function must be jitted "
              "(unless TJ_JIT=off)");
    o.mode = TJ_MODE_FAST_COMPILE;
    f.ref = tj_function(ctx, in, nin, outs, nout, &o);
    cr_assert(f.ref, "compile (reference): %s", tj_errmsg(ctx));
    return f;
}

static void call(tj_fn *f, tj_array *const *in, tj_array **out, const char *what)
{
    tj_status st = tj_call(f, in, out);
    cr_assert_eq(st, TJ_OK, "%s: %s", what, tj_errmsg(ctx));
}

static void unref_all(tj_array **a, int n)
{
    for (int i = 0; i < n; i++)
        tj_array_unref(a[i]);
}

/* ---- every op x dtype x axis subset ---------------------------------------------------------- */

enum { OP_SUM, OP_PROD, OP_MEAN, OP_MAX, OP_MIN, OP_ALL, OP_ANY, OP_VAR, OP_STD, NOPS };
static const char *const op_names[NOPS] = {"sum", "prod", "mean", "max",  "min",
                                          "all", "any",  "var",  "std"};
typedef tj_var *(*reduce_fn)(tj_var *, const int *, int, bool);
static const reduce_fn op_fns[NOPS] = {tj_sum, tj_prod, tj_mean,     tj_max, tj_min,
                                       tj_all, tj_any,  tj_variance, tj_std};

/* axis lists (negative ones too) and the mask each means for a 3-d input */
typedef struct {
    int axes[3], n;
    unsigned mask;
} axset;
static const axset axsets[] = {
    {{0}, 0, 7},         {{0}, 1, 1},          {{-2}, 1, 2},       {{2}, 1, 4},
    {{0, -1}, 2, 5},     {{-3, 1}, 2, 3},      {{2, 1}, 2, 6},     {{1, -1, 0}, 3, 7},
};
#define NAX (int)(sizeof axsets / sizeof *axsets)

/* numpy's result dtype of op over dtype d */
static tj_dtype result_dtype(int op, tj_dtype d)
{
    switch (op) {
    case OP_SUM:
    case OP_PROD: return is_float(d) ? d : TJ_INT64;
    case OP_MEAN:
    case OP_VAR:
    case OP_STD: return is_float(d) ? d : TJ_FLOAT64;
    case OP_ALL:
    case OP_ANY: return TJ_BOOL;
    default: return d;
    }
}

/* The expected value of op over the lane v[0..n) (C order of the reduced axes): floats in double,
 * integers exactly (sum/prod wrapping modulo 2^64 as numpy's int64). */
static void expect_lane(int op, tj_dtype d, const double *fv, const int64_t *iv, int n,
                        double *f, int64_t *i)
{
    double s = 0, p = 1, mx = -INFINITY, mn = INFINITY;
    uint64_t is = 0, ip = 1;
    int64_t imx = INT64_MIN, imn = INT64_MAX;
    bool all = true, any = false;
    for (int j = 0; j < n; j++) {
        double x = fv[j];
        s += x;
        p *= x;
        mx = x > mx || isnan(x) || isnan(mx) ? (isnan(mx) ? mx : x) : mx;
        mn = x < mn || isnan(x) || isnan(mn) ? (isnan(mn) ? mn : x) : mn;
        is += (uint64_t)iv[j];
        ip *= (uint64_t)iv[j];
        imx = iv[j] > imx ? iv[j] : imx;
        imn = iv[j] < imn ? iv[j] : imn;
        all = all && x != 0;
        any = any || x != 0;
    }
    double mean = s / n, ss = 0;
    for (int j = 0; j < n; j++)
        ss += (fv[j] - mean) * (fv[j] - mean);
    bool fl = is_float(d);
    switch (op) {
    case OP_SUM: *f = s, *i = (int64_t)is; break;
    case OP_PROD: *f = p, *i = (int64_t)ip; break;
    case OP_MEAN: *f = mean; break;
    case OP_MAX: *f = mx, *i = fl ? 0 : imx; break;
    case OP_MIN: *f = mn, *i = fl ? 0 : imn; break;
    case OP_ALL: *i = all; break;
    case OP_ANY: *i = any; break;
    case OP_VAR: *f = ss / n; break;
    default: *f = sqrt(ss / n); break;
    }
}

/* Values for dtype d: ranges where sums and products are interesting; integer products wrap. */
static void fill_values(tj_dtype d, uint64_t *s, double *fv, int64_t *iv, int n)
{
    for (int j = 0; j < n; j++) {
        int64_t k;
        switch (d) {
        case TJ_BOOL: k = uniform(s, 0, 1) < 0.8; break;
        case TJ_INT8: k = (int64_t)(next(s) % 7) - 3; break;
        case TJ_UINT8: k = (int64_t)(next(s) % 6); break;
        case TJ_INT32: k = (int64_t)(next(s) % 2001) - 1000; break;
        case TJ_INT64: k = (int64_t)(next(s) >> 24) - ((int64_t)1 << 39); break;
        default: k = 0; break;
        }
        iv[j] = k;
        fv[j] = is_float(d) ? uniform(s, -2.0, 2.0) : (double)k;
        if (d == TJ_FLOAT32)
            fv[j] = (float)fv[j];
    }
}

/* x (2,3,4) of dtype d holding the values, C-contiguous or through strides (laid out as (4,3,2)) */
static tj_array *make_input(tj_dtype d, const double *fv, const int64_t *iv, bool strided,
                            void **buf)
{
    int64_t shape[3] = {2, 3, 4};
    size_t es = tj_dtype_size(d);
    *buf = calloc(24, es);
    for (int a = 0; a < 2; a++)
        for (int b = 0; b < 3; b++)
            for (int c = 0; c < 4; c++) {
                int logical = (a * 3 + b) * 4 + c, at = strided ? (c * 3 + b) * 2 + a : logical;
                put(d, *buf, at, fv[logical], iv[logical]);
            }
    int64_t st[3] = {(int64_t)es, 2 * (int64_t)es, 6 * (int64_t)es};
    tj_array *x = tj_array_wrap(d, 3, shape, strided ? st : NULL, *buf, NULL, NULL);
    cr_assert(x);
    return x;
}

/* Calls fn for each output position of a reduction of the (2,3,4) values over mask, in C order,
 * with the lane of reduced elements in C order of the reduced axes. */
typedef void (*lane_fn)(void *arg, int64_t o, const double *lf, const int64_t *li, int n);
static void for_lanes(unsigned mask, const double *fv, const int64_t *iv, lane_fn fn, void *arg)
{
    int64_t o = 0;
    for (int a = 0; a < 2; a++)
        for (int b = 0; b < 3; b++)
            for (int c = 0; c < 4; c++) {
                int idx[3] = {a, b, c};
                bool first = true; /* each kept position once: at reduced index 0 */
                for (int k = 0; k < 3; k++)
                    first = first && (!((mask >> k) & 1) || idx[k] == 0);
                if (!first)
                    continue;
                double lf[24];
                int64_t li[24];
                int n = 0;
                for (int a2 = 0; a2 < 2; a2++)
                    for (int b2 = 0; b2 < 3; b2++)
                        for (int c2 = 0; c2 < 4; c2++) {
                            int j[3] = {a2, b2, c2};
                            bool in_lane = true;
                            for (int k = 0; k < 3; k++)
                                in_lane = in_lane && (((mask >> k) & 1) || j[k] == idx[k]);
                            if (in_lane) {
                                lf[n] = fv[(a2 * 3 + b2) * 4 + c2];
                                li[n++] = iv[(a2 * 3 + b2) * 4 + c2];
                            }
                        }
                fn(arg, o++, lf, li, n);
            }
}

/* The result's dtype, rank and shape for a reduction of (2,3,4) over mask. */
static void check_shape(tj_array *r, tj_dtype rd, unsigned mask, bool keep, const char *what)
{
    static const int64_t shape[3] = {2, 3, 4};
    cr_assert_eq(tj_array_dtype(r), rd, "%s: dtype %s, want %s", what,
                 tj_dtype_name(tj_array_dtype(r)), tj_dtype_name(rd));
    int od = 0;
    for (int k = 0; k < 3; k++) {
        bool red = (mask >> k) & 1;
        if (red && !keep)
            continue;
        cr_assert(od < tj_array_ndim(r), "%s: rank %d is too small", what, tj_array_ndim(r));
        cr_assert_eq(tj_array_shape(r)[od], red ? 1 : shape[k], "%s: shape[%d]", what, od);
        od++;
    }
    cr_assert_eq(tj_array_ndim(r), od, "%s: ndim", what);
}

typedef struct {
    tj_array *r;
    int op;
    tj_dtype d, rd;
    const char *what;
} lane_check;

static void check_lane(void *arg, int64_t o, const double *lf, const int64_t *li, int n)
{
    lane_check *c = arg;
    double wf = 0;
    int64_t wi = 0;
    expect_lane(c->op, c->d, lf, li, n, &wf, &wi);
    if (is_float(c->rd)) {
        /* float32: 24 terms of magnitude <= 2 rounded in float32 */
        double tol = c->rd == TJ_FLOAT32 ? 1e-5 : 1e-12, got = tjt_at(c->r, o);
        cr_expect(near(got, wf, tol, tol), "%s [%lld]: %.17g, want %.17g", c->what, (long long)o,
                  got, wf);
    } else { /* integers and bool: exact */
        int64_t got = int_at(c->r, o);
        cr_expect_eq(got, wi, "%s [%lld]: %lld, want %lld", c->what, (long long)o,
                     (long long)got, (long long)wi);
    }
}

/* Checks result r of op over axis set ax (keepdims keep) against the loops. */
static void check_result(tj_array *r, int op, tj_dtype d, const axset *ax, bool keep,
                         const double *fv, const int64_t *iv, const char *path)
{
    char what[160];
    snprintf(what, sizeof what, "%s %s %s axes mask %u keepdims %d", path, op_names[op],
             tj_dtype_name(d), ax->mask, keep);
    lane_check c = {r, op, d, result_dtype(op, d), what};
    check_shape(r, c.rd, ax->mask, keep, what);
    for_lanes(ax->mask, fv, iv, check_lane, &c);
}

/* One dtype: a function holding every op x axis set x keepdims, run on a contiguous and a
 * strided input through both executors. */
static void every_reduction(tj_dtype d, uint64_t seed)
{
    enum { NOUT = NOPS * NAX * 2 };
    tj_var *x = tj_tensor(ctx, d, 3, NULL, "x"), *outs[NOUT];
    int k = 0;
    for (int op = 0; op < NOPS; op++)
        for (int a = 0; a < NAX; a++)
            for (int keep = 0; keep < 2; keep++)
                outs[k++] = op_fns[op](x, axsets[a].n ? axsets[a].axes : NULL, axsets[a].n, keep);
    fpair f = both(&x, 1, outs, NOUT);
    double fv[24];
    int64_t iv[24];
    uint64_t s = seed;
    fill_values(d, &s, fv, iv, 24);
    for (int strided = 0; strided < 2; strided++) {
        void *buf;
        tj_array *in = make_input(d, fv, iv, strided, &buf), *rj[NOUT], *rr[NOUT];
        call(f.jit, &in, rj, "jit");
        call(f.ref, &in, rr, "reference");
        k = 0;
        for (int op = 0; op < NOPS; op++)
            for (int a = 0; a < NAX; a++)
                for (int keep = 0; keep < 2; keep++, k++) {
                    check_result(rj[k], op, d, &axsets[a], keep, fv, iv,
                                 strided ? "jit strided" : "jit");
                    check_result(rr[k], op, d, &axsets[a], keep, fv, iv,
                                 strided ? "reference strided" : "reference");
                }
        unref_all(rj, NOUT);
        unref_all(rr, NOUT);
        tj_array_unref(in);
        free(buf);
    }
}

Test(reduce, every_op_bool) { every_reduction(TJ_BOOL, 11); }
Test(reduce, every_op_int8) { every_reduction(TJ_INT8, 12); }
Test(reduce, every_op_uint8) { every_reduction(TJ_UINT8, 13); }
Test(reduce, every_op_int32) { every_reduction(TJ_INT32, 14); }
Test(reduce, every_op_int64) { every_reduction(TJ_INT64, 15); }
Test(reduce, every_op_float32) { every_reduction(TJ_FLOAT32, 16); }
Test(reduce, every_op_float64) { every_reduction(TJ_FLOAT64, 17); }

/* ---- argmax / argmin ------------------------------------------------------------------------- */

typedef struct {
    tj_array *r;
    bool max;
    const char *what;
} arg_check;

/* numpy: the first occurrence of the extreme; NaN is the extreme of both, the first NaN wins */
static void check_arg_lane(void *arg, int64_t o, const double *lf, const int64_t *li, int n)
{
    (void)li;
    arg_check *c = arg;
    int at = 0;
    for (int j = 1; j < n && !isnan(lf[at]); j++)
        if ((c->max ? lf[j] > lf[at] : lf[j] < lf[at]) || isnan(lf[j]))
            at = j;
    int64_t got = int_at(c->r, o);
    cr_expect_eq(got, at, "%s [%lld]: %lld, want %d", c->what, (long long)o, (long long)got, at);
}

/* Values from {0, 1, 2} (many ties), NaNs in float inputs when nan; every axis, -1 and all. */
static void check_args(tj_dtype d, bool nan, uint64_t seed)
{
    static const int axes[] = {0, 1, 2, -1, TJ_AXIS_ALL};
    static const unsigned masks[] = {1, 2, 4, 4, 7};
    tj_var *x = tj_tensor(ctx, d, 3, NULL, "x"), *outs[20];
    int k = 0;
    for (int a = 0; a < 5; a++)
        for (int keep = 0; keep < 2; keep++) {
            outs[k++] = tj_argmax(x, axes[a], keep);
            outs[k++] = tj_argmin(x, axes[a], keep);
        }
    fpair f = both(&x, 1, outs, 20);
    double fv[24];
    int64_t iv[24];
    uint64_t s = seed;
    for (int j = 0; j < 24; j++) {
        iv[j] = d == TJ_BOOL ? (int64_t)(next(&s) % 2) : (int64_t)(next(&s) % 3);
        fv[j] = (double)iv[j];
        if (nan && (j == 5 || j == 9 || j == 14 || j == 22))
            fv[j] = NAN;
    }
    for (int strided = 0; strided < 2; strided++) {
        void *buf;
        tj_array *in = make_input(d, fv, iv, strided, &buf), *r[2][20];
        call(f.jit, &in, r[0], "jit");
        call(f.ref, &in, r[1], "reference");
        for (int e = 0; e < 2; e++) {
            k = 0;
            for (int a = 0; a < 5; a++)
                for (int keep = 0; keep < 2; keep++)
                    for (int m = 0; m < 2; m++, k++) {
                        char what[160];
                        snprintf(what, sizeof what, "%s%s arg%s %s axis %d keepdims %d",
                                 e ? "reference" : "jit", strided ? " strided" : "",
                                 m ? "min" : "max", tj_dtype_name(d), axes[a], keep);
                        check_shape(r[e][k], TJ_INT64, masks[a], keep, what);
                        arg_check c = {r[e][k], m == 0, what};
                        for_lanes(masks[a], fv, iv, check_arg_lane, &c);
                    }
            unref_all(r[e], 20);
        }
        tj_array_unref(in);
        free(buf);
    }
}

Test(reduce, argmax_argmin_first_occurrence_on_ties)
{
    tj_dtype types[] = {TJ_BOOL, TJ_INT8, TJ_UINT8, TJ_INT32, TJ_INT64, TJ_FLOAT32, TJ_FLOAT64};
    for (int t = 0; t < 7; t++)
        check_args(types[t], false, 100 + (uint64_t)t);
}

Test(reduce, argmax_argmin_nan_wins)
{
    check_args(TJ_FLOAT32, true, 200);
    check_args(TJ_FLOAT64, true, 201);
}

/* ---- NaN and infinities ---------------------------------------------------------------------- */

Test(reduce, nan_propagates_and_counts_as_true)
{
    for (int t = 0; t < 2; t++) {
        tj_dtype d = t ? TJ_FLOAT64 : TJ_FLOAT32;
        tj_var *x = tj_matrix(ctx, d, "x");
        int ax1[1] = {1};
        tj_var *outs[] = {tj_max(x, ax1, 1, false), tj_min(x, ax1, 1, false),
                          tj_sum(x, ax1, 1, false), tj_prod(x, ax1, 1, false),
                          tj_all(x, ax1, 1, false), tj_any(x, ax1, 1, false),
                          tj_max(x, NULL, 0, false), tj_logsumexp(x, ax1, 1, false)};
        fpair f = both(&x, 1, outs, 8);
        /* rows: NaN last, NaN first, -inf only, mixed with +inf, zeros */
        double v[5][3] = {{1, 5, NAN},
                          {NAN, -2, 7},
                          {-INFINITY, -INFINITY, -INFINITY},
                          {-1, INFINITY, 3},
                          {0, 0, 0}};
        tj_array *in = tjt_array(d, 2, (int64_t[]){5, 3}, &v[0][0]);
        double want[8][5] = {{NAN, NAN, -INFINITY, INFINITY, 0},
                             {NAN, NAN, -INFINITY, -1, 0},
                             {NAN, NAN, -INFINITY, INFINITY, 0},
                             {NAN, NAN, -INFINITY, -INFINITY, 0},
                             {1, 1, 1, 1, 0}, /* NaN and inf are true */
                             {1, 1, 1, 1, 0},
                             {NAN, 0, 0, 0, 0},
                             {NAN, NAN, -INFINITY, INFINITY, log(3.0)}};
        tj_array *r[2][8];
        call(f.jit, &in, r[0], "jit");
        call(f.ref, &in, r[1], "reference");
        for (int e = 0; e < 2; e++) {
            for (int o = 0; o < 8; o++) {
                int64_t n = o == 6 ? 1 : 5;
                for (int64_t i = 0; i < n; i++) {
                    double got = tjt_at(r[e][o], i);
                    cr_expect(near(got, want[o][i], 1e-6, 0), "%s %s output %d [%lld]: %g, want %g",
                              e ? "reference" : "jit", tj_dtype_name(d), o, (long long)i, got,
                              want[o][i]);
                }
            }
            unref_all(r[e], 8);
        }
        tj_array_unref(in);
    }
}

/* ---- empty reductions ------------------------------------------------------------------------ */

Test(reduce, empty_axes_give_identities)
{
    tj_dtype types[] = {TJ_FLOAT32, TJ_INT32}; /* the identities are per dtype: bool in every_op */
    for (int t = 0; t < 2; t++) {
        tj_dtype d = types[t];
        tj_var *x = tj_tensor(ctx, d, 3, NULL, "x");
        int ax1[1] = {1};
        tj_var *outs[] = {tj_sum(x, ax1, 1, false),      tj_prod(x, ax1, 1, false),
                          tj_mean(x, ax1, 1, true),      tj_all(x, ax1, 1, false),
                          tj_any(x, ax1, 1, false),      tj_variance(x, ax1, 1, false),
                          tj_sum(x, NULL, 0, false),     tj_max(x, (int[]){0}, 1, false)};
        fpair f = both(&x, 1, outs, 8);
        tj_array *in = tj_array_new(d, 3, (int64_t[]){2, 0, 3});
        /* max over axis 0 of (2, 0, 3): the result is empty, so there is nothing to raise for */
        double want[6] = {0, 1, NAN, 1, 0, NAN};
        tj_array *r[2][8];
        call(f.jit, &in, r[0], "jit");
        call(f.ref, &in, r[1], "reference");
        for (int e = 0; e < 2; e++) {
            for (int o = 0; o < 6; o++) {
                cr_assert_eq(tj_array_size(r[e][o]), 6, "output %d has 6 elements", o);
                for (int64_t i = 0; i < 6; i++)
                    cr_expect(near(tjt_at(r[e][o], i), want[o], 0, 0),
                              "%s %s output %d [%lld]: %g, want %g", e ? "reference" : "jit",
                              tj_dtype_name(d), o, (long long)i, tjt_at(r[e][o], i), want[o]);
            }
            cr_expect_eq(tjt_at(r[e][6], 0), 0.0);
            cr_expect(tj_array_ndim(r[e][7]) == 2 && tj_array_size(r[e][7]) == 0);
            unref_all(r[e], 8);
        }
        tj_array_unref(in);
    }
}

Test(reduce, empty_max_min_argmax_softmax_raise)
{
    tj_var *x = tj_matrix(ctx, TJ_FLOAT64, "x");
    int ax1[1] = {1};
    tj_var *bad[] = {tj_min(x, ax1, 1, false), tj_argmax(x, 1, false),
                     tj_argmin(x, TJ_AXIS_ALL, false), tj_log_softmax(x, -1)};
    tj_array *in = tj_array_new(TJ_FLOAT64, 2, (int64_t[]){3, 0});
    for (int k = 0; k < 4; k++) {
        fpair f = both(&x, 1, &bad[k], 1);
        tj_fn *fs[2] = {f.jit, f.ref};
        for (int e = 0; e < 2; e++) {
            tj_array *r = NULL;
            cr_expect_eq(tj_call(fs[e], &in, &r), TJ_ERR_VALUE, "%s output %d must fail",
                         e ? "reference" : "jit", k);
            cr_expect(strstr(tj_errmsg(ctx), "empty"), "the message says why: %s",
                      tj_errmsg(ctx));
            cr_expect_null(r);
            tj_clear_error(ctx);
        }
    }
    tj_array_unref(in);
    /* (0, 3) along axis 1: no result to make, no error */
    tj_var *ok[] = {tj_max(x, ax1, 1, false), tj_argmax(x, 1, true), tj_softmax(x, 1)};
    fpair f = both(&x, 1, ok, 3);
    in = tj_array_new(TJ_FLOAT64, 2, (int64_t[]){0, 3});
    tj_array *r[3];
    call(f.jit, &in, r, "jit");
    for (int k = 0; k < 3; k++)
        cr_expect_eq(tj_array_size(r[k]), 0);
    unref_all(r, 3);
    call(f.ref, &in, r, "reference");
    unref_all(r, 3);
    tj_array_unref(in);
}

/* ---- float32 accuracy ------------------------------------------------------------------------ */

static void release_free(void *p) { free(p); }

Test(reduce, float32_sums_of_ten_million_terms)
{
    enum { N = 10000000 };
    float *ones = malloc(sizeof *ones * N), *tenth = malloc(sizeof *tenth * N);
    cr_assert(ones && tenth);
    for (int i = 0; i < N; i++) {
        ones[i] = 1.0f;
        tenth[i] = 0.1f;
    }
    tj_var *v = tj_vector(ctx, TJ_FLOAT32, "v"), *w = tj_vector(ctx, TJ_FLOAT32, "w");
    tj_var *rows = tj_matrix(ctx, TJ_FLOAT32, "rows"), *cols = tj_matrix(ctx, TJ_FLOAT32, "cols");
    int ax0[1] = {0}, ax1[1] = {1};
    tj_var *in[] = {v, w, rows, cols};
    tj_var *outs[] = {tj_sum(v, NULL, 0, false),    tj_sum(w, NULL, 0, false),
                      tj_mean(w, NULL, 0, false),   tj_sum(rows, ax1, 1, false),
                      tj_sum(cols, ax0, 1, false),  tj_sum(rows, NULL, 0, false),
                      tj_mean(cols, ax0, 1, false)};
    fpair f = both(in, 4, outs, 7);
    int64_t n = N, rshape[2] = {2, N / 2}, cshape[2] = {N / 2, 2};
    tj_array *a[4];
    a[0] = tj_array_wrap(TJ_FLOAT32, 1, &n, NULL, ones, release_free, ones);
    a[1] = tj_array_wrap(TJ_FLOAT32, 1, &n, NULL, tenth, NULL, NULL);
    a[2] = tj_array_wrap(TJ_FLOAT32, 2, rshape, NULL, tenth, NULL, NULL);
    a[3] = tj_array_wrap(TJ_FLOAT32, 2, cshape, NULL, tenth, NULL, NULL);
    /* the same data as rows through strides (the transpose of cols): no axis coalesces */
    tj_array *t = tj_array_wrap(TJ_FLOAT32, 2, rshape, (int64_t[]){4, 8}, tenth, release_free,
                                tenth);
    double x = (double)0.1f;
    for (int strided = 0; strided < 2; strided++) {
        if (strided) {
            tj_array_unref(a[2]);
            a[2] = t;
        }
        for (int e = 0; e < 2; e++) {
            tj_array *r[7];
            call(e ? f.ref : f.jit, a, r, e ? "reference" : "jit");
            const char *who = e ? "reference" : "jit";
            cr_expect_eq(tjt_at(r[0], 0), (double)N, "%s: 10^7 ones sum to %.9g", who,
                         tjt_at(r[0], 0));
            double want[7] = {N, N * x, x, N / 2 * x, N / 2 * x, N * x, x};
            for (int o = 1; o < 7; o++)
                for (int64_t i = 0; i < tj_array_size(r[o]); i++)
                    cr_expect(near(tjt_at(r[o], i), want[o], 1e-5, 0),
                              "%s%s output %d [%lld]: %.9g, want %.9g", who,
                              strided ? " strided" : "", o, (long long)i, tjt_at(r[o], i),
                              want[o]);
            unref_all(r, 7);
        }
    }
    unref_all(a, 4);
}

/* ---- softmax, log_softmax, logsumexp --------------------------------------------------------- */

/* log(sum(exp(v))) in double, max-subtracted */
static double lse(const double *v, int n)
{
    double m = -INFINITY, s = 0;
    for (int j = 0; j < n; j++)
        m = v[j] > m ? v[j] : m;
    for (int j = 0; j < n; j++)
        s += exp(v[j] - m);
    return m + log(s);
}

typedef struct {
    tj_array *r;
    const char *what;
    double tol;
} lse_check;

static void check_lse_lane(void *arg, int64_t o, const double *lf, const int64_t *li, int n)
{
    (void)li;
    lse_check *c = arg;
    double got = tjt_at(c->r, o), want = lse(lf, n);
    cr_expect(near(got, want, c->tol, c->tol), "%s [%lld]: %.17g, want %.17g", c->what,
              (long long)o, got, want);
}

/* softmax/log_softmax of x (2,3,4) along axis: element (a,b,c) against the lane through it */
static void check_softmax(tj_array *r, bool log_out, int axis, const double *fv, double tol,
                          const char *what)
{
    cr_assert_eq(tj_array_ndim(r), 3, "%s: rank", what);
    for (int i = 0; i < 24; i++) {
        int idx[3] = {i / 12, i / 4 % 3, i % 4}, len[3] = {2, 3, 4};
        double lane[4];
        for (int j = 0; j < len[axis]; j++) {
            int jdx[3] = {idx[0], idx[1], idx[2]};
            jdx[axis] = j;
            lane[j] = fv[(jdx[0] * 3 + jdx[1]) * 4 + jdx[2]];
        }
        double l = fv[i] - lse(lane, len[axis]);
        double want = log_out ? l : exp(l), got = tjt_at(r, i);
        cr_expect(near(got, want, tol, tol), "%s [%d]: %.17g, want %.17g", what, i, got, want);
    }
}

Test(reduce, softmax_family_values)
{
    tj_dtype types[] = {TJ_FLOAT32, TJ_FLOAT64};
    for (int t = 0; t < 2; t++) {
        tj_dtype d = types[t], rd = d;
        tj_var *x = tj_tensor(ctx, d, 3, NULL, "x"), *outs[12];
        int k = 0;
        static const int sax[3] = {0, 1, -1};
        for (int a = 0; a < 3; a++) {
            outs[k++] = tj_softmax(x, sax[a]);
            outs[k++] = tj_log_softmax(x, sax[a]);
        }
        static const axset lsets[3] = {{{0}, 0, 7}, {{1}, 1, 2}, {{0, -1}, 2, 5}};
        for (int a = 0; a < 3; a++)
            for (int keep = 0; keep < 2; keep++)
                outs[k++] = tj_logsumexp(x, lsets[a].n ? lsets[a].axes : NULL, lsets[a].n, keep);
        fpair f = both(&x, 1, outs, 12);
        double fv[24];
        int64_t iv[24];
        uint64_t s = 300 + (uint64_t)t;
        for (int j = 0; j < 24; j++) {
            iv[j] = (int64_t)(next(&s) % 9) - 4;
            fv[j] = uniform(&s, -3, 3);
            if (d == TJ_FLOAT32)
                fv[j] = (float)fv[j];
        }
        double tol = rd == TJ_FLOAT32 ? 2e-6 : 1e-13;
        for (int strided = 0; strided < 2; strided++) {
            void *buf;
            tj_array *in = make_input(d, fv, iv, strided, &buf), *r[2][12];
            call(f.jit, &in, r[0], "jit");
            call(f.ref, &in, r[1], "reference");
            for (int e = 0; e < 2; e++) {
                char what[128];
                for (int a = 0; a < 3; a++)
                    for (int lg = 0; lg < 2; lg++) {
                        tj_array *o = r[e][2 * a + lg];
                        snprintf(what, sizeof what, "%s%s %s %s axis %d", e ? "reference" : "jit",
                                 strided ? " strided" : "", lg ? "log_softmax" : "softmax",
                                 tj_dtype_name(d), sax[a]);
                        cr_assert_eq(tj_array_dtype(o), rd, "%s: dtype", what);
                        check_softmax(o, lg, (sax[a] + 3) % 3, fv, tol, what);
                    }
                for (int a = 0; a < 3; a++)
                    for (int keep = 0; keep < 2; keep++) {
                        tj_array *o = r[e][6 + 2 * a + keep];
                        snprintf(what, sizeof what, "%s%s logsumexp %s mask %u keepdims %d",
                                 e ? "reference" : "jit", strided ? " strided" : "",
                                 tj_dtype_name(d), lsets[a].mask, keep);
                        check_shape(o, rd, lsets[a].mask, keep, what);
                        lse_check c = {o, what, tol};
                        for_lanes(lsets[a].mask, fv, iv, check_lse_lane, &c);
                    }
                unref_all(r[e], 12);
            }
            tj_array_unref(in);
            free(buf);
        }
    }
}

/* Equal logits far from 0: log_softmax is (x - max) - log(sum), -log 3 here. Computed as
 * x - (max + log(sum)) (reassociated, the max and the log hoisted out of the loop) it was 0:
 * log 3 is below the rounding of 1e18 (fuzz-diff finding 7). */
Test(reduce, log_softmax_of_equal_huge_logits)
{
    for (int t = 0; t < 2; t++) {
        tj_dtype d = t ? TJ_FLOAT64 : TJ_FLOAT32;
        double big = t ? -1e18 : -1e30;
        tj_var *x = tj_vector(ctx, d, "x");
        tj_var *outs[] = {tj_log_softmax(x, 0), tj_inv(tj_log_softmax(x, 0))};
        fpair f = both(&x, 1, outs, 2);
        tj_array *in = tjt_array(d, 1, (int64_t[]){3}, (double[]){big, big, big});
        for (int e = 0; e < 2; e++) {
            tj_array *r[2];
            call(e ? f.ref : f.jit, &in, r, e ? "reference" : "jit");
            for (int j = 0; j < 3; j++) {
                cr_expect(near(tjt_at(r[0], j), -log(3.0), 1e-6, 0), "%s %s [%d]: %.17g",
                          e ? "reference" : "jit", tj_dtype_name(d), j, tjt_at(r[0], j));
                cr_expect(near(tjt_at(r[1], j), -1 / log(3.0), 1e-6, 0), "%s 1/log_softmax",
                          e ? "reference" : "jit");
            }
            tj_array_unref(r[0]);
            tj_array_unref(r[1]);
        }
        tj_array_unref(in);
    }
}

Test(reduce, softmax_family_is_stable_for_large_logits)
{
    for (int t = 0; t < 2; t++) {
        tj_dtype d = t ? TJ_FLOAT64 : TJ_FLOAT32;
        tj_var *x = tj_matrix(ctx, d, "x");
        int ax1[1] = {1};
        tj_var *outs[] = {tj_softmax(x, 1), tj_log_softmax(x, 1), tj_logsumexp(x, ax1, 1, false),
                          tj_softmax(x, 0)};
        fpair f = both(&x, 1, outs, 4);
        double v[4][3] = {{1000, 999, -1000},
                          {-1000, -999, -998},
                          {1000, 990, 1000},
                          {-1000, 1000, 0}};
        tj_array *in = tjt_array(d, 2, (int64_t[]){4, 3}, &v[0][0]);
        /* float32: rounding of x - max and of log(sum) near 10 or 1000 */
        double tol = t ? 1e-13 : 2e-6;
        for (int e = 0; e < 2; e++) {
            tj_array *r[4];
            call(e ? f.ref : f.jit, &in, r, e ? "reference" : "jit");
            for (int i = 0; i < 4; i++) {
                double l = lse(v[i], 3);
                char what[64];
                snprintf(what, sizeof what, "%s %s row %d", e ? "reference" : "jit",
                         tj_dtype_name(d), i);
                cr_expect(near(tjt_at(r[2], i), l, tol, 0), "%s logsumexp %.17g, want %.17g",
                          what, tjt_at(r[2], i), l);
                for (int j = 0; j < 3; j++) {
                    double ls = v[i][j] - l, sm = tjt_at(r[0], i * 3 + j);
                    double lg = tjt_at(r[1], i * 3 + j);
                    cr_expect(isfinite(sm) && isfinite(lg), "%s: finite", what);
                    cr_expect(near(sm, exp(ls), tol, 1e-300), "%s softmax[%d] %.9g want %.9g",
                              what, j, sm, exp(ls));
                    cr_expect(near(lg, ls, tol, tol), "%s log_softmax[%d] %.17g want %.17g", what,
                              j, lg, ls);
                }
            }
            /* columns: softmax over axis 0 sums to 1 */
            for (int j = 0; j < 3; j++) {
                double col[4] = {v[0][j], v[1][j], v[2][j], v[3][j]}, l = lse(col, 4), s = 0;
                for (int i = 0; i < 4; i++) {
                    double got = tjt_at(r[3], i * 3 + j);
                    cr_expect(near(got, exp(col[i] - l), tol, 1e-300), "column %d row %d", j, i);
                    s += got;
                }
                cr_expect(near(s, 1.0, 4 * tol, 0), "column %d sums to %.17g", j, s);
            }
            unref_all(r, 4);
        }
        tj_array_unref(in);
    }
}

Test(reduce, logsumexp_of_infinities)
{
    tj_var *x = tj_matrix(ctx, TJ_FLOAT64, "x");
    int ax1[1] = {1};
    tj_var *o = tj_logsumexp(x, ax1, 1, false);
    fpair f = both(&x, 1, &o, 1);
    double v[3][2] = {{-INFINITY, -INFINITY}, {INFINITY, 1}, {-INFINITY, 2}};
    double want[3] = {-INFINITY, INFINITY, 2};
    tj_array *in = tjt_array(TJ_FLOAT64, 2, (int64_t[]){3, 2}, &v[0][0]);
    for (int e = 0; e < 2; e++) {
        tj_array *r;
        call(e ? f.ref : f.jit, &in, &r, "call");
        for (int i = 0; i < 3; i++)
            cr_expect(near(tjt_at(r, i), want[i], 1e-15, 0), "%s row %d: %g, want %g",
                      e ? "reference" : "jit", i, tjt_at(r, i), want[i]);
        tj_array_unref(r);
    }
    tj_array_unref(in);
}

/* ---- ddof, dtypes of the builders, argument errors ------------------------------------------- */

Test(reduce, variance_and_std_with_ddof)
{
    tj_var *x = tj_vector(ctx, TJ_FLOAT64, "x"), *i = tj_vector(ctx, TJ_INT32, "i");
    tj_var *in[2] = {x, i};
    tj_var *outs[] = {tj_variance_ddof(x, NULL, 0, false, 1), tj_std_ddof(x, NULL, 0, true, 1),
                      tj_variance_ddof(x, NULL, 0, false, 5),
                      tj_variance_ddof(i, NULL, 0, false, 2), tj_std(i, NULL, 0, false)};
    fpair f = both(in, 2, outs, 5);
    double v[5] = {1.5, -2.0, 4.25, 0.5, 3.0}, m = 0, ss = 0;
    for (int k = 0; k < 5; k++)
        m += v[k] / 5;
    for (int k = 0; k < 5; k++)
        ss += (v[k] - m) * (v[k] - m);
    double iv[5] = {3, -1, 4, 1, -5}, im = 0.4, iss = 0;
    for (int k = 0; k < 5; k++)
        iss += (iv[k] - im) * (iv[k] - im);
    tj_array *a[2] = {tjt_array(TJ_FLOAT64, 1, (int64_t[]){5}, v),
                      tjt_array(TJ_INT32, 1, (int64_t[]){5}, iv)};
    double want[5] = {ss / 4, sqrt(ss / 4), INFINITY /* N - ddof = 0 */, iss / 3, sqrt(iss / 5)};
    for (int e = 0; e < 2; e++) {
        tj_array *r[5];
        call(e ? f.ref : f.jit, a, r, "call");
        cr_expect_eq(tj_array_ndim(r[1]), 1, "keepdims");
        cr_expect_eq(tj_array_dtype(r[3]), TJ_FLOAT64, "variance of int32 is float64");
        for (int o = 0; o < 5; o++)
            cr_expect(near(tjt_at(r[o], 0), want[o], 1e-14, 0), "%s output %d: %.17g, want %.17g",
                      e ? "reference" : "jit", o, tjt_at(r[o], 0), want[o]);
        unref_all(r, 5);
    }
    unref_all(a, 2);
}

Test(reduce, bad_arguments)
{
    tj_var *x = tj_matrix(ctx, TJ_FLOAT32, "x");
    cr_expect_null(tj_argmax(x, 2, false));
    cr_expect_eq(tj_errcode(ctx), TJ_ERR_VALUE);
    cr_expect(strstr(tj_errmsg(ctx), "tj_argmax: axis 2 is out of range"), "%s", tj_errmsg(ctx));
    cr_expect_null(tj_prod(x, (int[]){1, -1}, 2, false));
    cr_expect(strstr(tj_errmsg(ctx), "tj_prod: axis -1 is repeated"), "%s", tj_errmsg(ctx));
    cr_expect_null(tj_max(x, (int[]){-3}, 1, false));
    cr_expect(strstr(tj_errmsg(ctx), "tj_max: axis -3 is out of range"), "%s", tj_errmsg(ctx));
    cr_expect_null(tj_variance_ddof(x, NULL, 0, false, -1));
    cr_expect(strstr(tj_errmsg(ctx), "ddof is -1"), "%s", tj_errmsg(ctx));
    cr_expect_null(tj_softmax(tj_scalar(ctx, TJ_FLOAT32, "s"), -1));
    cr_expect(strstr(tj_errmsg(ctx), "tj_softmax: axis -1 is out of range"), "%s",
              tj_errmsg(ctx));
    cr_expect_null(tj_any(x, NULL, 2, false));
    cr_expect_eq(tj_errcode(ctx), TJ_ERR_INVALID);
    /* sticky: NULL in, NULL out, the recorded error stays */
    tj_clear_error(ctx);
    cr_expect_null(tj_logsumexp(NULL, NULL, 0, false));
    cr_expect_null(tj_argmin(NULL, 0, false));
    cr_expect_null(tj_std(NULL, NULL, 0, false));
    cr_expect_eq(tj_errcode(ctx), TJ_OK);
    /* result dtypes of the builders */
    tj_var *b = tj_vector(ctx, TJ_BOOL, "b"), *u = tj_vector(ctx, TJ_UINT8, "u");
    cr_expect_eq(tj_var_dtype(tj_sum(b, NULL, 0, false)), TJ_INT64);
    cr_expect_eq(tj_var_dtype(tj_prod(u, NULL, 0, false)), TJ_INT64);
    cr_expect_eq(tj_var_dtype(tj_max(u, NULL, 0, false)), TJ_UINT8);
    cr_expect_eq(tj_var_dtype(tj_mean(u, NULL, 0, false)), TJ_FLOAT64);
    cr_expect_eq(tj_var_dtype(tj_any(x, NULL, 0, false)), TJ_BOOL);
    cr_expect_eq(tj_var_dtype(tj_argmin(b, TJ_AXIS_ALL, true)), TJ_INT64);
    cr_expect_eq(tj_var_dtype(tj_softmax(u, 0)), TJ_FLOAT32);
    cr_expect_eq(tj_var_dtype(tj_logsumexp(tj_vector(ctx, TJ_INT32, "i"), NULL, 0, 0)), TJ_FLOAT64);
    cr_expect_eq(tj_var_ndim(tj_argmin(x, TJ_AXIS_ALL, true)), 2);
    cr_expect(tj_var_broadcastable(tj_max(x, (int[]){0}, 1, true), 0));
}

/* givens with rebuild_strict off: reductions made again over the new type, by numpy's rules */
Test(reduce, givens_retype_reductions)
{
    tj_var *x = tj_vector(ctx, TJ_FLOAT32, "x"), *y = tj_vector(ctx, TJ_INT32, "y");
    tj_var *outs[] = {tj_sum(x, NULL, 0, false), tj_max(x, NULL, 0, false),
                      tj_all(x, NULL, 0, false), tj_softmax(x, 0),
                      tj_argmax(x, 0, false),    tj_mean(x, NULL, 0, false)};
    tj_dtype want_dt[6] = {TJ_INT64, TJ_INT32, TJ_BOOL, TJ_FLOAT64, TJ_INT64, TJ_FLOAT64};
    tj_given g = {x, y};
    double v[4] = {3, -7, 5, 2}, e = exp(3.0) + exp(-7.0) + exp(5.0) + exp(2.0);
    double want[6] = {3, 5, 1, exp(3.0) / e, 2, 0.75};
    tj_array *in = tjt_array(TJ_INT32, 1, (int64_t[]){4}, v);
    for (int mode = 0; mode < 2; mode++) {
        tj_function_opts o = TJ_FUNCTION_OPTS_INIT;
        o.givens = &g;
        o.ngivens = 1;
        o.rebuild_strict = false;
        o.mode = mode ? TJ_MODE_FAST_COMPILE : TJ_MODE_FAST_RUN;
        tj_fn *f = tj_function(ctx, &y, 1, outs, 6, &o);
        cr_assert(f, "%s", tj_errmsg(ctx));
        tj_array *r[6];
        call(f, &in, r, mode ? "reference" : "jit");
        for (int k = 0; k < 6; k++) {
            cr_expect_eq(tj_array_dtype(r[k]), want_dt[k], "output %d is %s", k,
                         tj_dtype_name(tj_array_dtype(r[k])));
            cr_expect(near(tjt_at(r[k], 0), want[k], 1e-15, 0), "output %d: %.17g, want %.17g",
                      k, tjt_at(r[k], 0), want[k]);
        }
        unref_all(r, 6);
    }
    tj_array_unref(in);
}

/* Sums over leading axes with the inner axis kept add two input rows per pass over the output row
 * when both rows share it (jit/llvm/lower.c's M_RMW2), one row where the output row changes.
 * Odd row counts (pairs and a single), outputs that change between rows (axis 1 of 3 blocks) and
 * pieces of the thread pool: small integers, so every sum is exact in float32 and must equal the
 * float64 one, with 1 and 3 threads. */
Test(reduce, kept_inner_axis_sums_pair_rows_exactly)
{
    int64_t shape[3] = {3, 301, 129};
    int64_t n = shape[0] * shape[1] * shape[2];
    double *v = malloc(sizeof *v * (size_t)n);
    for (int64_t i = 0; i < n; i++)
        v[i] = (double)((i * 7919) % 17) - 8;
    tj_array *in = tjt_array(TJ_FLOAT32, 3, shape, v);
    for (int threads = 1; threads <= 3; threads += 2) {
        tj_ctx *c = tj_ctx_new();
        tj_ctx_set_num_threads(c, threads);
        tj_var *x = tj_tensor(c, TJ_FLOAT32, 3, NULL, "x");
        int ax1[1] = {1}, ax01[2] = {0, 1};
        tj_var *outs[2] = {tj_sum(x, ax1, 1, false), tj_sum(x, ax01, 2, false)};
        tj_fn *f = tj_function(c, &x, 1, outs, 2, NULL);
        cr_assert(f, "%s", tj_errmsg(c));
        tj_array *r[2] = {NULL, NULL};
        cr_assert_eq(tj_call(f, &in, r), TJ_OK, "%s", tj_errmsg(c));
        for (int64_t a = 0; a < shape[0]; a++)
            for (int64_t k = 0; k < shape[2]; k++) {
                double want = 0;
                for (int64_t j = 0; j < shape[1]; j++)
                    want += v[(a * shape[1] + j) * shape[2] + k];
                cr_expect_eq(tjt_at(r[0], a * shape[2] + k), want, "%d threads: [%lld, %lld]",
                             threads, (long long)a, (long long)k);
            }
        for (int64_t k = 0; k < shape[2]; k++) {
            double want = 0;
            for (int64_t i = 0; i < shape[0] * shape[1]; i++)
                want += v[i * shape[2] + k];
            cr_expect_eq(tjt_at(r[1], k), want, "%d threads: column %lld", threads,
                         (long long)k);
        }
        tj_array_unref(r[0]);
        tj_array_unref(r[1]);
        tj_ctx_free(c);
    }
    tj_array_unref(in);
    free(v);
}
