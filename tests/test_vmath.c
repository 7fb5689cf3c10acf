/* Accuracy of the inline vector math (jit/llvm/vmath.c) through real flat kernels: max ulp error
 * against libm over >= 10^6 points per function and dtype, and exact special cases.
 *
 * Reference: float32 from glibc's double functions rounded to float; float64 from glibc's long
 * double functions rounded to double (sigmoid from expl, in its stable form). The error is the
 * integer ulp distance to that rounded reference (0 = correctly rounded). The measured maxima
 * are logged and recorded in docs/VMATH.md. */
#include <criterion/criterion.h>
#include <criterion/logging.h>

#include "jit.h"
#include "support.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static tjJ_engine *eng;

static void setup(void)
{
    char err[512] = "";
    cr_assert_eq(tjJ_engine_new(NULL, &eng, err, sizeof err), TJ_OK, "engine: %s", err);
}

static void teardown(void)
{
    tjJ_engine_free(eng);
    eng = NULL;
}

TestSuite(vmath, .init = setup, .fini = teardown, .timeout = 300);

/* A compiled flat kernel y = op(x) in dtype d. */
static tjJ_module *compile_unary(int op, tj_dtype d)
{
    tj_dtype dt[2] = {d, d};
    bool sc[1] = {false};
    tjK_instr code[2] = {{TJK_LOAD, d, {0, -1, -1}, 0}, {op, d, {0, -1, -1}, 0}};
    int32_t outs[1] = {1};
    tjK_kernel k = {1, 1, dt, sc, code, 2, outs, TJ_OP_NONE_, true};
    const tjK_kernel *ks[1] = {&k};
    char err[512] = "";
    tjJ_module *m = NULL;
    cr_assert_eq(tjJ_compile(eng, ks, 1, NULL, 0, &m, err, sizeof err), TJ_OK, "%s", err);
    return m;
}

static void run(tjJ_module *m, const void *x, void *y, int64_t n)
{
    char *ptrs[2] = {(char *)x, (char *)y};
    int64_t shape[1] = {n}, strides[2] = {1, 1};
    tjJ_kernel_fn(m, 0)(ptrs, shape, strides, 1, 0, n);
}

/* ---- references ----------------------------------------------------------------------------- */

static double ref32(int op, float x)
{
    double v = x;
    switch (op) {
    case TJ_OP_EXP: return (float)exp(v);
    case TJ_OP_LOG: return (float)log(v);
    case TJ_OP_TANH: return (float)tanh(v);
    default: return (float)(v < 0 ? exp(v) / (1 + exp(v)) : 1 / (1 + exp(-v)));
    }
}

static double ref64(int op, double x)
{
    long double v = x;
    switch (op) {
    case TJ_OP_EXP: return (double)expl(v);
    case TJ_OP_LOG: return (double)logl(v);
    case TJ_OP_TANH: return (double)tanhl(v);
    default: return (double)(v < 0 ? expl(v) / (1 + expl(v)) : 1 / (1 + expl(-v)));
    }
}

/* ---- input sets ----------------------------------------------------------------------------- */

static uint64_t rng = 0x2545f4914f6cdd1dull;
static double unif(double lo, double hi)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return lo + (hi - lo) * ((double)((rng * 2685821657736338717ull) >> 11) * 0x1p-53);
}

typedef struct {
    double *v;
    int64_t n, cap;
} set;

static void add(set *s, double x)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 1 << 20;
        s->v = realloc(s->v, (size_t)s->cap * sizeof *s->v);
        cr_assert_not_null(s->v);
    }
    s->v[s->n++] = x;
}

/* every `step`-th float32 between lo and hi (by bit pattern, both signs) */
static void sweep32(set *s, float lo, float hi, uint32_t step)
{
    for (uint64_t u = 0; u < 0x7f800000u; u += step) {
        float f;
        uint32_t b = (uint32_t)u;
        memcpy(&f, &b, 4);
        if (f >= lo && f <= hi)
            add(s, f);
        if (-f >= lo && -f <= hi)
            add(s, -f);
    }
}

/* about n doubles between lo and hi spread evenly over bit patterns (every binade) */
static void sweep64(set *s, double lo, double hi, int64_t n)
{
    uint64_t top = 0x7ff0000000000000ull, step = top / (uint64_t)n;
    for (uint64_t u = 1; u < top; u += step) {
        double f;
        memcpy(&f, &u, 8);
        if (f >= lo && f <= hi)
            add(s, f);
        if (-f >= lo && -f <= hi)
            add(s, -f);
    }
}

static void uniform(set *s, double lo, double hi, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        add(s, unif(lo, hi));
}

static set inputs(int op, tj_dtype d)
{
    set s = {0};
    bool f32 = d == TJ_FLOAT32;
    switch (op) {
    case TJ_OP_EXP:
        if (f32)
            sweep32(&s, -104.0f, 89.0f, 1024);
        else
            sweep64(&s, -746, 710, 2000000);
        uniform(&s, f32 ? -104 : -746, f32 ? 89 : 710, 1000000);
        uniform(&s, -1, 1, 200000);
        break;
    case TJ_OP_LOG:
        if (f32)
            sweep32(&s, 0.0f, 3.4e38f, 1024); /* every binade, subnormals included */
        else
            sweep64(&s, 0, DBL_MAX, 2000000);
        uniform(&s, 0.5, 2, 1000000); /* around 1, where log is small */
        break;
    case TJ_OP_TANH:
        if (f32)
            sweep32(&s, -10.0f, 10.0f, 512);
        else
            sweep64(&s, -40, 40, 2000000);
        uniform(&s, -10, 10, 1000000);
        uniform(&s, -1, 1, 200000);
        if (f32)
            sweep32(&s, -3.4e38f, 3.4e38f, 65536); /* wide */
        break;
    default: /* sigmoid */
        if (f32)
            sweep32(&s, -3.4e38f, 3.4e38f, 1024);
        else
            sweep64(&s, -DBL_MAX, DBL_MAX, 2000000);
        uniform(&s, f32 ? -110 : -750, f32 ? 110 : 750, 1000000);
        break;
    }
    return s;
}

/* ---- measurement ---------------------------------------------------------------------------- */

typedef struct {
    uint64_t max_ulp;
    double at, rel_max;
    int64_t n;
    double ns_per_elem;
} result;

static result measure(int op, tj_dtype d)
{
    tjJ_module *m = compile_unary(op, d);
    set s = inputs(op, d);
    bool f32 = d == TJ_FLOAT32;
    void *x = malloc((size_t)s.n * 8), *y = malloc((size_t)s.n * 8);
    cr_assert(x && y);
    for (int64_t i = 0; i < s.n; i++) {
        if (f32)
            ((float *)x)[i] = (float)s.v[i];
        else
            ((double *)x)[i] = s.v[i];
    }
    run(m, x, y, s.n);
    result r = {0, 0, 0, s.n, 0};
    for (int64_t i = 0; i < s.n; i++) {
        double xv = f32 ? ((float *)x)[i] : ((double *)x)[i];
        double got = f32 ? ((float *)y)[i] : ((double *)y)[i];
        double want = f32 ? ref32(op, (float)xv) : ref64(op, xv);
        uint64_t u = f32 ? tjt_ulp_f32((float)got, (float)want) : tjt_ulp_f64(got, want);
        if (u > r.max_ulp) {
            r.max_ulp = u;
            r.at = xv;
        }
        if (want != 0 && isfinite(want)) {
            double rel = fabs(got - want) / fabs(want);
            if (rel > r.rel_max)
                r.rel_max = rel;
        }
    }
    /* throughput on an L2-resident block of typical inputs, for the record (not asserted) */
    int64_t nt = 1 << 14;
    for (int64_t i = 0; i < nt; i++) {
        double v = op == TJ_OP_LOG ? unif(0.01, 100) : unif(-10, 10);
        if (f32)
            ((float *)x)[i] = (float)v;
        else
            ((double *)x)[i] = v;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int rep = 0; rep < 200; rep++)
        run(m, x, y, nt);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    r.ns_per_elem = ((double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec)) /
                    (200.0 * (double)nt);
    cr_log_info("vmath %s %s: max %llu ulp at x = %.17g, max rel %.3g, %lld points, %.2f ns/elem",
                tjG_ops[op].name, tj_dtype_name(d), (unsigned long long)r.max_ulp, r.at, r.rel_max,
                (long long)r.n, r.ns_per_elem);
    free(x);
    free(y);
    free(s.v);
    tjJ_module_free(m);
    return r;
}

Test(vmath, exp_float32)
{
    result r = measure(TJ_OP_EXP, TJ_FLOAT32);
    cr_expect_geq(r.n, 1000000);
    cr_expect_leq(r.max_ulp, 2, "exp float32: %llu ulp at %.9g", (unsigned long long)r.max_ulp,
                  r.at);
}

Test(vmath, log_float32)
{
    result r = measure(TJ_OP_LOG, TJ_FLOAT32);
    cr_expect_geq(r.n, 1000000);
    cr_expect_leq(r.max_ulp, 2, "log float32: %llu ulp at %.9g", (unsigned long long)r.max_ulp,
                  r.at);
}

Test(vmath, tanh_float32)
{
    result r = measure(TJ_OP_TANH, TJ_FLOAT32);
    cr_expect_geq(r.n, 1000000);
    cr_expect_leq(r.max_ulp, 2, "tanh float32: %llu ulp at %.9g", (unsigned long long)r.max_ulp,
                  r.at);
}

Test(vmath, sigmoid_float32)
{
    result r = measure(TJ_OP_SIGMOID, TJ_FLOAT32);
    cr_expect_geq(r.n, 1000000);
    cr_expect(r.max_ulp <= 4 || r.rel_max <= 1e-6, "sigmoid float32: %llu ulp at %.9g, rel %.3g",
              (unsigned long long)r.max_ulp, r.at, r.rel_max);
}

Test(vmath, exp_float64)
{
    result r = measure(TJ_OP_EXP, TJ_FLOAT64);
    cr_expect_geq(r.n, 1000000);
    cr_expect_leq(r.max_ulp, 4, "exp float64: %llu ulp at %.17g", (unsigned long long)r.max_ulp,
                  r.at);
}

Test(vmath, log_float64)
{
    result r = measure(TJ_OP_LOG, TJ_FLOAT64);
    cr_expect_geq(r.n, 1000000);
    cr_expect_leq(r.max_ulp, 4, "log float64: %llu ulp at %.17g", (unsigned long long)r.max_ulp,
                  r.at);
}

Test(vmath, tanh_float64)
{
    result r = measure(TJ_OP_TANH, TJ_FLOAT64);
    cr_expect_geq(r.n, 1000000);
    cr_expect_leq(r.max_ulp, 4, "tanh float64: %llu ulp at %.17g", (unsigned long long)r.max_ulp,
                  r.at);
}

Test(vmath, sigmoid_float64)
{
    result r = measure(TJ_OP_SIGMOID, TJ_FLOAT64);
    cr_expect_geq(r.n, 1000000);
    cr_expect_leq(r.max_ulp, 4, "sigmoid float64: %llu ulp at %.17g", (unsigned long long)r.max_ulp,
                  r.at);
}

/* ---- exact special cases -------------------------------------------------------------------- */

typedef struct {
    int op;
    double x, want;
} special;

static const special specials[] = {
    {TJ_OP_EXP, NAN, NAN},
    {TJ_OP_EXP, INFINITY, INFINITY},
    {TJ_OP_EXP, -INFINITY, 0},
    {TJ_OP_EXP, 1000, INFINITY},
    {TJ_OP_EXP, -1000, 0},
    {TJ_OP_EXP, 0, 1},
    {TJ_OP_EXP, -0.0, 1},
    {TJ_OP_LOG, NAN, NAN},
    {TJ_OP_LOG, 0, -INFINITY},
    {TJ_OP_LOG, -0.0, -INFINITY},
    {TJ_OP_LOG, -1, NAN},
    {TJ_OP_LOG, -INFINITY, NAN},
    {TJ_OP_LOG, INFINITY, INFINITY},
    {TJ_OP_LOG, 1, 0},
    {TJ_OP_TANH, NAN, NAN},
    {TJ_OP_TANH, INFINITY, 1},
    {TJ_OP_TANH, -INFINITY, -1},
    {TJ_OP_TANH, 0, 0},
    {TJ_OP_TANH, -0.0, -0.0},
    {TJ_OP_TANH, 1e-30, 1e-30},
    {TJ_OP_TANH, 100, 1},
    {TJ_OP_SIGMOID, NAN, NAN},
    {TJ_OP_SIGMOID, INFINITY, 1},
    {TJ_OP_SIGMOID, -INFINITY, 0},
    {TJ_OP_SIGMOID, 0, 0.5},
    {TJ_OP_SIGMOID, -0.0, 0.5},
};

/* bit-exact, except that any NaN matches any NaN; the sign of zero is checked */
static bool identical(double got, double want)
{
    if (isnan(want))
        return isnan(got);
    return got == want && signbit(got) == signbit(want);
}

Test(vmath, special_values)
{
    static const int ops[] = {TJ_OP_EXP, TJ_OP_LOG, TJ_OP_TANH, TJ_OP_SIGMOID};
    for (tj_dtype d = TJ_FLOAT32; d <= TJ_FLOAT64; d++)
        for (size_t oi = 0; oi < 4; oi++) {
            tjJ_module *m = compile_unary(ops[oi], d);
            for (size_t i = 0; i < sizeof specials / sizeof *specials; i++) {
                const special *s = &specials[i];
                if (s->op != ops[oi])
                    continue;
                double got;
                /* 9 copies: the value goes through the vector body and the remainder */
                if (d == TJ_FLOAT32) {
                    float x[9], y[9];
                    for (int j = 0; j < 9; j++)
                        x[j] = (float)s->x;
                    run(m, x, y, 9);
                    for (int j = 1; j < 9; j++)
                        cr_expect(memcmp(&y[j], &y[0], 4) == 0 || (isnan(y[j]) && isnan(y[0])));
                    got = y[0];
                } else {
                    double x[9], y[9];
                    for (int j = 0; j < 9; j++)
                        x[j] = s->x;
                    run(m, x, y, 9);
                    for (int j = 1; j < 9; j++)
                        cr_expect(memcmp(&y[j], &y[0], 8) == 0 || (isnan(y[j]) && isnan(y[0])));
                    got = y[0];
                }
                double want = d == TJ_FLOAT32 ? (double)(float)s->want : s->want;
                cr_expect(identical(got, want), "%s %s(%g) = %g, want %g", tj_dtype_name(d),
                          tjG_ops[s->op].name, s->x, got, s->want);
            }
            tjJ_module_free(m);
        }
}

/* Subnormal inputs and results. */
Test(vmath, subnormals)
{
    tjJ_module *le = compile_unary(TJ_OP_LOG, TJ_FLOAT32),
               *ee = compile_unary(TJ_OP_EXP, TJ_FLOAT32);
    float x[4] = {0x1p-149f, 0x1p-130f, 3e-40f, 1.17e-38f}, y[4];
    run(le, x, y, 4);
    for (int i = 0; i < 4; i++)
        cr_expect_leq(tjt_ulp_f32(y[i], (float)log((double)x[i])), 1, "log(%g) = %.9g", x[i], y[i]);
    float e[4] = {-87.5f, -95.0f, -103.0f, -103.97f};
    run(ee, e, y, 4);
    for (int i = 0; i < 4; i++)
        cr_expect_leq(tjt_ulp_f32(y[i], (float)exp((double)e[i])), 1, "exp(%g) = %g", e[i], y[i]);
    tjJ_module_free(le);
    tjJ_module_free(ee);
    tjJ_module *ld = compile_unary(TJ_OP_LOG, TJ_FLOAT64);
    double dx[3] = {0x1p-1074, 0x1p-1050, 2.2e-308}, dy[3];
    run(ld, dx, dy, 3);
    for (int i = 0; i < 3; i++)
        cr_expect_leq(tjt_ulp_f64(dy[i], (double)logl(dx[i])), 1, "log(%g) = %.17g", dx[i], dy[i]);
    tjJ_module_free(ld);
}
