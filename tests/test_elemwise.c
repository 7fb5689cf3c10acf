/* Every elementwise op x every dtype x every shape class, through the JIT (FAST_RUN) and the
 * reference executor (FAST_COMPILE), each result checked three ways: JIT against reference
 * (bit for bit for exact ops, within a few ulp for transcendental ones), and both against an
 * expected value computed here independently (numpy's rules written out in double / int64 /
 * long double arithmetic), plus the result dtype against numpy's.
 *
 * One function per (dtype, shape class) holds all ops as outputs, so a dtype costs eight
 * compiles. Shape classes: 0-d, vector, matrix, 3-d, broadcast rows, broadcast columns, empty,
 * and transposed (non-contiguous) inputs. The hand-written numpy cases (floor division and
 * remainder signs, round half to even, integer wrap, clip with NaN, ...) are in
 * test_elemwise_numpy.c. */
#include <criterion/criterion.h>
#include <criterion/logging.h>

#include "support.h"
#include "test_elemwise.h"

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

TestSuite(elemwise, .init = setup, .fini = teardown, .timeout = 300);

/* ---- input values -----------------------------------------------------------------------------
 */

/* a uniform number in [lo, hi) that depends only on (d, which, k): operands and expected values
 * are generated independently and must agree */
static double unif_at(tj_dtype d, int which, int64_t k, double lo, double hi)
{
    uint64_t z = (uint64_t)k * 0x9E3779B97F4A7C15ull + (uint64_t)d * 0xBF58476D1CE4E5B9ull +
                 (uint64_t)which * 0x94D049BB133111EBull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return lo + (hi - lo) * (double)(z >> 11) * 0x1p-53;
}

/* The k-th value of operand `which` (0, 1, 2) for dtype d: special values first, then random
 * ones in a range that keeps every op interesting. */
static double value(tj_dtype d, int which, int64_t k)
{
    static const double fspecial[] = {0.0,  -0.0, 1.0,   -1.0,  0.5,      -0.5,      1.5,   -1.5,
                                      2.5,  -2.5, 3.0,   -7.25, 7.5,      0.25,      -0.75, 2.0,
                                      10.0, -3.0, 100.5, NAN,   INFINITY, -INFINITY, 1e30,  -1e-30};
    static const double ispecial[] = {0, 1,  -1, 2,   -2,  3,    -7,  7,
                                      5, -5, 13, -13, 100, -100, 127, -128};
    size_t nf = sizeof fspecial / sizeof *fspecial, ni = sizeof ispecial / sizeof *ispecial;
    int64_t j = k + 5 * which; /* operands are shifted against each other */
    switch (d) {
    case TJ_BOOL: return (double)(((j * 7) / 3 + which) % 2);
    case TJ_UINT8: return (double)((j * 37 + which * 11) % 256);
    case TJ_FLOAT32:
    case TJ_FLOAT64:
        if ((size_t)(j % 40) < nf)
            return d == TJ_FLOAT32 ? (double)(float)fspecial[j % 40] : fspecial[j % 40];
        {
            double u = unif_at(d, which, j, -4, 4);
            return d == TJ_FLOAT32 ? (double)(float)u : u;
        }
    default: {
        double v = (size_t)(j % 23) < ni ? ispecial[j % 23] : floor(unif_at(d, which, j, -60, 60));
        if (d == TJ_INT8 && (v > 127 || v < -128))
            v = fmod(v, 100);
        if (j % 29 == 28) /* the extremes of the type */
            v = d == TJ_INT8    ? -128
                : d == TJ_INT16 ? -32768
                : d == TJ_INT32 ? -2147483648.0
                                : -0x1p63;
        if (j % 31 == 30)
            v = d == TJ_INT8 ? 127 : d == TJ_INT16 ? 32767 : d == TJ_INT32 ? 2147483647.0 : 0x1p62;
        return v;
    }
    }
}

/* ---- shape classes ----------------------------------------------------------------------------
 */

typedef struct {
    const char *name;
    int ndim;
    int64_t shape[3][3]; /* per operand */
    bool bcast[3][3];
    bool transposed; /* arrays are transposed views of C-contiguous buffers */
} shape_class;

static const shape_class classes[] = {
    {"scalar", 0, {{0}, {0}, {0}}, {{0}}, false},
    {"vector", 1, {{37}, {37}, {37}}, {{0}}, false},
    {"matrix", 2, {{5, 7}, {5, 7}, {5, 7}}, {{0}}, false},
    {"empty", 2, {{0, 5}, {0, 5}, {0, 5}}, {{0}}, false},
    {"transposed", 2, {{6, 5}, {6, 5}, {6, 5}}, {{0}}, true},
    {"3d", 3, {{2, 3, 5}, {2, 3, 5}, {2, 3, 5}}, {{0}}, false},
    {"bcast_rows",
     2,
     {{4, 6}, {1, 6}, {4, 6}},
     {{false, false}, {true, false}, {false, false}},
     false},
    {"bcast_cols",
     2,
     {{4, 6}, {4, 1}, {1, 6}},
     {{false, false}, {false, true}, {true, false}},
     false},
};
#define NCLASSES ((int)(sizeof classes / sizeof *classes))

static void release_buf(void *p) { free(p); }

/* Operand `which` of class c in dtype d: values by flat C-order index; a transposed class keeps
 * its data in a buffer of the reversed shape and strides that make it read as `shape`. */
static tj_array *operand(const shape_class *c, int which, tj_dtype d)
{
    const int64_t *shape = c->shape[which];
    int64_t n = 1;
    for (int ax = 0; ax < c->ndim; ax++)
        n *= shape[ax];
    double *vals = malloc(sizeof *vals * (size_t)(n ? n : 1));
    for (int64_t i = 0; i < n; i++)
        vals[i] = value(d, which, i);
    tj_array *a = tjt_array(d, c->ndim, shape, vals);
    free(vals);
    if (!c->transposed)
        return a;
    /* the same values, stored column-major: element (i, j) at j * rows + i */
    size_t es = tj_dtype_size(d);
    char *buf = malloc(es * (size_t)n);
    int64_t rows = shape[0], cols = shape[1];
    for (int64_t i = 0; i < rows; i++)
        for (int64_t j = 0; j < cols; j++)
            memcpy(buf + es * (size_t)(j * rows + i),
                   (char *)tj_array_data(a) + es * (size_t)(i * cols + j), es);
    int64_t strides[2] = {(int64_t)es, (int64_t)es * rows};
    tj_array_unref(a);
    return tj_array_wrap(d, 2, shape, strides, buf, release_buf, buf);
}

/* ---- the run ----------------------------------------------------------------------------------
 */

static bool same_bits(double a, double b, tj_dtype d)
{
    if (isnan(a) || isnan(b))
        return isnan(a) && isnan(b);
    if (tj_dtype_is_float_(d))
        return a == b && signbit(a) == signbit(b);
    return a == b;
}

static uint64_t ulps(double a, double b, tj_dtype d)
{
    return d == TJ_FLOAT32 ? tjt_ulp_f32((float)a, (float)b) : tjt_ulp_f64(a, b);
}

/* The two compiled functions of one operand type (rank + broadcast pattern): classes with the
 * same type (matrix, empty, transposed) share them, as a user's function serves every size. */
typedef struct {
    int ndim;
    bool bcast[3][3];
    tj_var *outs[TJT_MAX_OPS + 1];
    const tjt_op *ops[TJT_MAX_OPS];
    int nout;
    tj_fn *fj, *fr;
} built;

static bool same_type(const built *b, const shape_class *c)
{
    return b->fj && b->ndim == c->ndim && !memcmp(b->bcast, c->bcast, sizeof b->bcast);
}

static void build(built *b, tj_dtype d, const shape_class *c)
{
    tj_fn_free(b->fj);
    tj_fn_free(b->fr);
    memset(b, 0, sizeof *b);
    b->ndim = c->ndim;
    memcpy(b->bcast, c->bcast, sizeof b->bcast);
    tj_var *in[3];
    static const char *const names[] = {"x", "y", "z"};
    for (int k = 0; k < 3; k++)
        in[k] = tj_tensor(ctx, d, c->ndim, c->bcast[k], names[k]);
    for (int i = 0; i < tjt_nops; i++) {
        const tjt_op *op = &tjt_ops[i];
        if (tjt_rejects(op, d))
            continue;
        tj_var *r = tjt_build(op, in);
        cr_assert(r, "%s(%s): %s", op->name, tj_dtype_name(d), tj_errmsg(ctx));
        tj_dtype want = tjt_result_dtype(op, d);
        cr_expect_eq(tj_var_dtype(r), want, "%s(%s) has dtype %s, numpy gives %s", op->name,
                     tj_dtype_name(d), tj_dtype_name(tj_var_dtype(r)), tj_dtype_name(want));
        b->ops[b->nout] = op;
        b->outs[b->nout++] = r;
    }
    /* One more output that consumes every op: the scheduler then fuses all of them into a
     * single kernel with one store per op (one loop skeleton to compile, not 58). Its value is
     * not checked. */
    tj_var *casts[TJT_MAX_OPS];
    for (int o = 0; o < b->nout; o++)
        casts[o] = tj_cast(b->outs[o], TJ_FLOAT64);
    b->outs[b->nout] = tj_add_n(casts, b->nout);
    cr_assert(b->outs[b->nout], "%s", tj_errmsg(ctx));
    tj_function_opts run = TJ_FUNCTION_OPTS_INIT, ref = TJ_FUNCTION_OPTS_INIT;
    ref.mode = TJ_MODE_FAST_COMPILE;
    run.on_unused_input = ref.on_unused_input = TJ_UNUSED_IGNORE;
    b->fj = tj_function(ctx, in, 3, b->outs, b->nout + 1, &run);
    cr_assert(b->fj, "%s %s: %s", tj_dtype_name(d), c->name, tj_errmsg(ctx));
    cr_expect(tj_fn_jitted(b->fj) != tjt_jit_off(),
              "%s %s: the FAST_RUN function fell back to the reference executor", tj_dtype_name(d),
              c->name);
    b->fr = tj_function(ctx, in, 3, b->outs, b->nout + 1, &ref);
    cr_assert(b->fr, "%s", tj_errmsg(ctx));
}

static void run_class(built *b, tj_dtype d, const shape_class *c)
{
    if (!same_type(b, c))
        build(b, d, c);
    int nout = b->nout;
    tj_var *const *outs = b->outs;
    const tjt_op *const *ops = b->ops;
    tj_fn *fj = b->fj, *fr = b->fr;
    tj_array *args[3];
    for (int k = 0; k < 3; k++)
        args[k] = operand(c, k, d);
    tj_array **rj = calloc((size_t)nout + 1, sizeof *rj),
             **rr = calloc((size_t)nout + 1, sizeof *rr);
    cr_assert_eq(tj_call(fj, args, rj), TJ_OK, "%s %s: %s", tj_dtype_name(d), c->name,
                 tj_errmsg(ctx));
    cr_assert_eq(tj_call(fr, args, rr), TJ_OK, "%s", tj_errmsg(ctx));

    /* the output's shape: the broadcast of the operands the op reads */
    for (int o = 0; o < nout; o++) {
        const tjt_op *op = ops[o];
        tj_dtype od = tj_var_dtype(outs[o]);
        int64_t n = tj_array_size(rj[o]);
        cr_assert_eq(tj_array_size(rr[o]), n);
        cr_assert_eq(tj_array_ndim(rj[o]), c->ndim, "%s %s %s", op->name, tj_dtype_name(d),
                     c->name);
        for (int ax = 0; ax < c->ndim; ax++)
            cr_assert_eq(tj_array_shape(rj[o])[ax], tj_array_shape(rr[o])[ax]);
        int64_t idx[3], strides[3];
        const int64_t *sh = tj_array_shape(rj[o]);
        for (int64_t i = 0; i < n; i++) {
            int64_t r = i;
            for (int ax = c->ndim - 1; ax >= 0; ax--) {
                idx[ax] = r % sh[ax];
                r /= sh[ax];
            }
            double a[3];
            for (int k = 0; k < op->arity; k++) {
                int64_t j = 0;
                (void)strides;
                for (int ax = 0; ax < c->ndim; ax++) /* C-order index in operand k (stride 0 on
                                                         broadcast axes) */
                    j = j * c->shape[k][ax] + (c->shape[k][ax] == 1 ? 0 : idx[ax]);
                a[k] = value(d, k, j);
            }
            double gj = tjt_at(rj[o], i), gr = tjt_at(rr[o], i);
            bool exact = op->kind != TJT_TRANS;
            uint64_t tol_ref = od == TJ_FLOAT32 ? 4 : 6;
            if (exact)
                cr_expect(same_bits(gj, gr, od),
                          "%s %s %s [%lld] (%g, %g): JIT %.17g, reference %.17g", op->name,
                          tj_dtype_name(d), c->name, (long long)i, a[0], a[1], gj, gr);
            else
                cr_expect(ulps(gj, gr, od) <= tol_ref,
                          "%s %s %s [%lld] (%g): JIT %.17g, reference %.17g (%llu ulp)", op->name,
                          tj_dtype_name(d), c->name, (long long)i, a[0], gj, gr,
                          (unsigned long long)ulps(gj, gr, od));
            double want;
            if (!tjt_expected(op, d, od, a, &want))
                continue; /* no independent value here (e.g. numpy's divmod at inf) */
            if (exact)
                cr_expect(same_bits(gr, want, od),
                          "%s %s %s [%lld] (%g, %g, %g): got %.17g, want %.17g", op->name,
                          tj_dtype_name(d), c->name, (long long)i, a[0], a[1], a[2], gr, want);
            else
                cr_expect(ulps(gj, want, od) <= tol_ref && ulps(gr, want, od) <= tol_ref,
                          "%s %s %s [%lld] (%g, %g): JIT %.17g, reference %.17g, want %.17g",
                          op->name, tj_dtype_name(d), c->name, (long long)i, a[0], a[1], gj, gr,
                          want);
        }
        tj_array_unref(rj[o]);
        tj_array_unref(rr[o]);
    }
    tj_array_unref(rj[nout]);
    tj_array_unref(rr[nout]);
    free(rj);
    free(rr);
    for (int k = 0; k < 3; k++)
        tj_array_unref(args[k]);
}

static void run_dtype(tj_dtype d)
{
    tj_stats st0, st1;
    tj_ctx_stats(ctx, &st0);
    built b = {0};
    for (int c = 0; c < NCLASSES; c++)
        run_class(&b, d, &classes[c]);
    tj_fn_free(b.fj);
    tj_fn_free(b.fr);
    tj_ctx_stats(ctx, &st1);
    cr_log_info("%s: %llu LLVM compiles, %.0f ms in LLVM", tj_dtype_name(d),
                (unsigned long long)(st1.llvm_compiles - st0.llvm_compiles),
                st1.compile_ms - st0.compile_ms);
}

Test(elemwise, table_bool) { run_dtype(TJ_BOOL); }
Test(elemwise, table_int8) { run_dtype(TJ_INT8); }
Test(elemwise, table_int16) { run_dtype(TJ_INT16); }
Test(elemwise, table_int32) { run_dtype(TJ_INT32); }
Test(elemwise, table_int64) { run_dtype(TJ_INT64); }
Test(elemwise, table_uint8) { run_dtype(TJ_UINT8); }
Test(elemwise, table_float32) { run_dtype(TJ_FLOAT32); }
Test(elemwise, table_float64) { run_dtype(TJ_FLOAT64); }
