/* Numerics at the edges: every elementwise op on NaN, +-inf, +-0, denormals, the largest and
 * smallest values of each dtype and the integer cases that overflow, against numpy's answers
 * (tests/edges_table.inc, written out by tools/gen-edge-table.py with the numpy expression of
 * each row). Each row runs through the JIT (FAST_RUN) and the reference executor (FAST_COMPILE);
 * each value repeated so it passes through the vectorized loop body and the scalar remainder.
 * Exact ops must match bit for bit (the sign of zero included, any NaN for NaN); transcendental
 * ones within the ulps docs/VMATH.md promises, with special values (NaN, inf, zero) exact. */
#include "support.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *op;
    void (*fn)(void); /* the builder, of 1, 2 or 3 tj_var * operands */
    int cast_to;      /* tj_cast's dtype, or -1 */
    int arity, n;
    tj_dtype in_dtype[3];
    const double *fin[3];   /* inputs of float dtypes */
    const int64_t *iin[3];  /* inputs of integer and bool dtypes */
    tj_dtype want_dtype;
    const double *fwant;
    const int64_t *iwant;
    bool approx;
} edge_row;

#define FN(f) (void (*)(void))(f), -1
#define CAST(d) NULL, d

static const edge_row rows[] = {
#include "edges_table.inc"
};

#define REP 3    /* consecutive copies of each case */
#define ULP32 2  /* docs/VMATH.md: float32 transcendental functions within 2 ulp */
#define ULP64 6  /* float64 within 4 ulp (6 across the fused paths, as test_elemwise_vmath) */

/* Raw element store/load of a C-contiguous array, exact for every dtype (int64 included). */
static void put(tj_array *a, int64_t i, double f, int64_t v)
{
    char *p = tj_array_data(a);
    switch (tj_array_dtype(a)) {
    case TJ_BOOL: ((uint8_t *)p)[i] = v != 0; break;
    case TJ_INT8: ((int8_t *)p)[i] = (int8_t)v; break;
    case TJ_INT16: ((int16_t *)p)[i] = (int16_t)v; break;
    case TJ_INT32: ((int32_t *)p)[i] = (int32_t)v; break;
    case TJ_INT64: ((int64_t *)p)[i] = v; break;
    case TJ_UINT8: ((uint8_t *)p)[i] = (uint8_t)v; break;
    case TJ_FLOAT32: ((float *)p)[i] = (float)f; break;
    default: ((double *)p)[i] = f; break;
    }
}

static int64_t get_int(const tj_array *a, int64_t i)
{
    const char *p = tj_array_data((tj_array *)a);
    switch (tj_array_dtype(a)) {
    case TJ_BOOL: return ((const uint8_t *)p)[i];
    case TJ_INT8: return ((const int8_t *)p)[i];
    case TJ_INT16: return ((const int16_t *)p)[i];
    case TJ_INT32: return ((const int32_t *)p)[i];
    case TJ_INT64: return ((const int64_t *)p)[i];
    case TJ_UINT8: return ((const uint8_t *)p)[i];
    default: return INT64_MIN;
    }
}

static bool special(double v) { return isnan(v) || isinf(v) || v == 0; }

/* got against want for one float element: exact (and the sign of zero), or within ulps. */
static bool float_ok(const edge_row *r, double got, double want)
{
    if (isnan(want) || isnan(got))
        return isnan(want) && isnan(got);
    if (!r->approx || special(want) || special(got))
        return got == want && signbit(got) == signbit(want);
    if (r->want_dtype == TJ_FLOAT32)
        return tjt_ulp_f32((float)got, (float)want) <= ULP32;
    return tjt_ulp_f64(got, want) <= ULP64;
}

static tj_var *build(const edge_row *r, tj_var *const *x)
{
    if (r->cast_to >= 0)
        return tj_cast(x[0], (tj_dtype)r->cast_to);
    switch (r->arity) {
    case 1: return ((tj_var * (*)(tj_var *)) r->fn)(x[0]);
    case 2: return ((tj_var * (*)(tj_var *, tj_var *)) r->fn)(x[0], x[1]);
    default: return ((tj_var * (*)(tj_var *, tj_var *, tj_var *)) r->fn)(x[0], x[1], x[2]);
    }
}

static int64_t row_len(const edge_row *r) { return (int64_t)r->n * REP * 2 + 5; } /* + 5: a tail */

/* Compares the result of row r in one mode; every disagreement is reported (4 at most). */
static void check_row(const edge_row *r, const tj_array *res, const char *where)
{
    int bad = 0;
    for (int64_t i = 0; i < row_len(r) && bad < 4; i++) {
        int64_t c = (i / REP) % r->n;
        char args[160];
        snprintf(args, sizeof args, "(%.17g, %.17g, %.17g | %lld, %lld, %lld)",
                 r->fin[0] ? r->fin[0][c] : 0, r->fin[1] ? r->fin[1][c] : 0,
                 r->fin[2] ? r->fin[2][c] : 0, (long long)(r->iin[0] ? r->iin[0][c] : 0),
                 (long long)(r->iin[1] ? r->iin[1][c] : 0),
                 (long long)(r->iin[2] ? r->iin[2][c] : 0));
        if (r->fwant) {
            double got = tjt_at(res, i);
            if (!float_ok(r, got, r->fwant[c])) {
                bad++;
                cr_expect_fail("%s %s %s: case %lld %s gives %.17g, numpy %.17g", where, r->op,
                               tj_dtype_name(r->in_dtype[0]), (long long)c, args, got,
                               r->fwant[c]);
            }
        } else if (get_int(res, i) != r->iwant[c]) {
            bad++;
            cr_expect_fail("%s %s %s: case %lld %s gives %lld, numpy %lld", where, r->op,
                           tj_dtype_name(r->in_dtype[0]), (long long)c, args,
                           (long long)get_int(res, i), (long long)r->iwant[c]);
        }
    }
}

/* Runs rows [first, last) as one function of all their inputs and outputs (one compile per
 * mode keeps the suite quick), in both modes. */
static void run_rows(size_t first, size_t last)
{
    enum { MAX = 128 };
    cr_assert(last - first <= MAX);
    tj_ctx *ctx = tj_ctx_new();
    cr_assert(ctx);
    tj_var *xs[3 * MAX], *outs[MAX];
    tj_array *ins[3 * MAX], *res[MAX];
    const edge_row *of[MAX];
    int nin = 0, nout = 0;
    for (size_t k = first; k < last; k++) {
        const edge_row *r = &rows[k];
        int64_t len = row_len(r);
        for (int j = 0; j < r->arity; j++) {
            xs[nin + j] = tj_vector(ctx, r->in_dtype[j], "x");
            ins[nin + j] = tj_array_new(r->in_dtype[j], 1, &len);
            for (int64_t i = 0; i < len; i++) {
                int64_t c = (i / REP) % r->n;
                put(ins[nin + j], i, r->fin[j] ? r->fin[j][c] : 0, r->iin[j] ? r->iin[j][c] : 0);
            }
        }
        tj_var *out = build(r, &xs[nin]);
        nin += r->arity;
        cr_expect(out, "%s %s: %s", r->op, tj_dtype_name(r->in_dtype[0]), tj_errmsg(ctx));
        if (!out) {
            tj_clear_error(ctx);
            continue;
        }
        cr_expect_eq(tj_var_dtype(out), r->want_dtype, "%s %s: dtype %s, numpy gives %s", r->op,
                     tj_dtype_name(r->in_dtype[0]), tj_dtype_name(tj_var_dtype(out)),
                     tj_dtype_name(r->want_dtype));
        if (tj_var_dtype(out) == r->want_dtype) {
            of[nout] = r;
            outs[nout++] = out;
        }
    }
    for (int mode = 0; mode < 2; mode++) {
        tj_function_opts o = TJ_FUNCTION_OPTS_INIT;
        o.mode = mode ? TJ_MODE_FAST_COMPILE : TJ_MODE_FAST_RUN;
        o.on_unused_input = TJ_UNUSED_IGNORE; /* inputs of rows that failed to build */
        tj_fn *fn = tj_function(ctx, xs, nin, outs, nout, &o);
        cr_assert(fn, "%s", tj_errmsg(ctx));
        if (mode == 0) /* a JIT failure would fall back to the reference executor unseen */
            cr_expect(tj_fn_jitted(fn) != tjt_jit_off(), "the rows %s native code",
                      tjt_jit_off() ? "run (TJ_JIT=off) in" : "did not compile to");
        cr_assert_eq(tj_call(fn, ins, res), TJ_OK, "%s", tj_errmsg(ctx));
        for (int k = 0; k < nout; k++) {
            check_row(of[k], res[k], mode ? "reference" : "JIT");
            tj_array_unref(res[k]);
        }
        tj_fn_free(fn);
    }
    for (int j = 0; j < nin; j++)
        tj_array_unref(ins[j]);
    tj_ctx_free(ctx);
}

#define NROWS (sizeof rows / sizeof *rows)
#define PART(k, of) run_rows(NROWS * (k) / (of), NROWS * ((k) + 1) / (of))

/* In parts of at most 128 rows, so the two test jobs share the compile time. */
TestSuite(edges, .timeout = 300);
Test(edges, part0) { PART(0, 4); }
Test(edges, part1) { PART(1, 4); }
Test(edges, part2) { PART(2, 4); }
Test(edges, part3) { PART(3, 4); }
