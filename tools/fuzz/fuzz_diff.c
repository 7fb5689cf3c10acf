/* libFuzzer target (c), differential: a small random graph compiled twice, FAST_RUN (optimized,
 * fused, LLVM JIT) and FAST_COMPILE with the same optimizer passes included (the reference
 * executor running the same optimized graph), called on the same random inputs. Both must give
 * the same status (or both refuse the input: TJ_ERR_TYPE/SHAPE/VALUE, whichever step each meets
 * first), dtypes and shapes, and values that agree:
 *   - integers and bools exactly, NaN at the same positions, infinities equal;
 *   - floats of exact ops (+ - * /, sqrt, rsqrt, floor, max, compares, casts, reshapes, ...):
 *     bit-identical (both executors round each IEEE operation once), -0.0 == +0.0;
 *   - floats through transcendental ops (FZ_ULPS): within 2^-14 relative (float32) / 2^-40
 *     (float64): each op is within 4/6 ulps of glibc (docs/VMATH.md), a graph chains at most
 *     MAX_OPS of them, and the slack covers a condition number of ~2^5 per op; below the
 *     normal range the same number of ulps of the smallest subnormal;
 *   - floats through sums, products, dots, means (FZ_REASSOC): the executors add in different
 *     orders, so the error is bounded by n·eps·Σ|x|: we allow 2n·eps·(1 + M) absolutely with M
 *     the largest finite magnitude among inputs and outputs and n = MAX_TERMS, plus the
 *     FZ_ULPS relative tolerance;
 *   - after a discontinuous op of an inexact value (floor, compare, cast to integer, index:
 *     FZ_CHAOTIC) only status, dtype and shape are compared.
 * One context serves many inputs (reset every CTX_INPUTS) and the last functions are kept alive,
 * so a graph seen again hits the in-memory code cache instead of LLVM.
 *
 *   make fuzz                                  every target for FUZZ_SECONDS (docs/RELIABILITY.md)
 *   build/fuzz/fuzz-diff-replay FILE_OR_DIR... replay inputs with the normal compiler (ctest) */
#include "fuzz.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { MAX_INPUTS = 3, MAX_OPS = 6, MAX_POOL = MAX_INPUTS + MAX_OPS, MAX_OUTS = 2 };
enum { CTX_INPUTS = 512, KEEP_FNS = 32 };
/* a bound on the terms of any sum in a graph: inputs have at most 16 elements and only outer,
 * stack and concatenate grow them */
enum { MAX_TERMS = 1024 };

static tj_ctx *ctx;
static int ctx_uses;
static tj_fn *kept[KEEP_FNS]; /* FAST_RUN functions kept for their code */
static int nkept;

static void fresh_ctx(void)
{
    if (ctx && ctx_uses < CTX_INPUTS)
        return;
    tj_ctx_free(ctx); /* frees the kept functions with it */
    nkept = 0;
    ctx_uses = 0;
    if ((ctx = tj_ctx_new()))
        tj_ctx_set_log(ctx, fz_quiet_log, NULL);
}

static void keep(tj_fn *fn)
{
    if (nkept == KEEP_FNS) {
        tj_fn_free(kept[0]);
        memmove(kept, kept + 1, (KEEP_FNS - 1) * sizeof *kept);
        nkept--;
    }
    kept[nkept++] = fn;
}

/* the pair under comparison and its inputs, shown on a mismatch */
static tj_fn *cur_fr, *cur_fc;
static tj_array *const *cur_ins;
static int cur_nin;

_Noreturn static void mismatch(const char *what, int out, int64_t k, double a, double b)
{
    fprintf(stderr, "fuzz-diff: output %d element %lld: %s (FAST_RUN %.17g, FAST_COMPILE %.17g)\n",
            out, (long long)k, what, a, b);
    char *gr = tj_fn_graph(cur_fr), *gc = tj_fn_graph(cur_fc), *rw = tj_fn_rewrites(cur_fr);
    for (int i = 0; i < cur_nin; i++) {
        char *text = tj_array_to_string(cur_ins[i]);
        fprintf(stderr, "input %d: %s\n", i, text ? text : "?");
        free(text);
    }
    fprintf(stderr, "FAST_RUN graph:\n%s\nits rewrites:\n%s\nFAST_COMPILE graph:\n%s\n",
            gr ? gr : "?", rw ? rw : "?", gc ? gc : "?");
    abort();
}

static bool is_int(tj_dtype d) { return !(d == TJ_FLOAT32 || d == TJ_FLOAT64); }

/* element k of a C-contiguous array: integers exactly in *iv, everything as double in *dv */
static void element(tj_array *a, int64_t k, int64_t *iv, double *dv)
{
    const char *p = (const char *)tj_array_data(a) + k * (int64_t)tj_dtype_size(tj_array_dtype(a));
    switch (tj_array_dtype(a)) {
    case TJ_BOOL: *iv = *(const bool *)p; break;
    case TJ_INT8: *iv = *(const int8_t *)p; break;
    case TJ_INT16: *iv = *(const int16_t *)p; break;
    case TJ_INT32: *iv = *(const int32_t *)p; break;
    case TJ_INT64: *iv = *(const int64_t *)p; break;
    case TJ_UINT8: *iv = *(const uint8_t *)p; break;
    case TJ_FLOAT32: *dv = *(const float *)p; *iv = 0; return;
    default: *dv = *(const double *)p; *iv = 0; return;
    }
    *dv = (double)*iv;
}

static double largest(tj_array *a, double m)
{
    int64_t iv;
    double dv;
    for (int64_t k = 0; k < tj_array_size(a); k++) {
        element(a, k, &iv, &dv);
        if (isfinite(dv) && fabs(dv) > m)
            m = fabs(dv);
    }
    return m;
}

/* fr from FAST_RUN, fc from FAST_COMPILE; m: the largest finite magnitude seen; f32: an inexact
 * float32 value is in the graph, so a float64 output may carry float32's error (a cast after
 * it) and gets float32's tolerance */
static void compare(int out, tj_array *fr, tj_array *fc, fz_accuracy acc, double m, bool f32)
{
    tj_dtype dt = tj_array_dtype(fr);
    if (dt != tj_array_dtype(fc) || tj_array_ndim(fr) != tj_array_ndim(fc))
        mismatch("dtype or rank differs", out, -1, dt, tj_array_dtype(fc));
    for (int i = 0; i < tj_array_ndim(fr); i++)
        if (tj_array_shape(fr)[i] != tj_array_shape(fc)[i])
            mismatch("shape differs", out, i, (double)tj_array_shape(fr)[i],
                     (double)tj_array_shape(fc)[i]);
    if (acc == FZ_CHAOTIC)
        return;
    tj_array *a = tj_array_copy(fr), *b = tj_array_copy(fc); /* C-contiguous */
    if (!a || !b)
        abort();
    bool single = dt == TJ_FLOAT32 || f32;
    double eps = single ? FLT_EPSILON : DBL_EPSILON;
    double rtol = single ? 0x1p-14 : 0x1p-40;
    double atol = acc == FZ_REASSOC ? 2 * MAX_TERMS * eps * (1 + m) : 0;
    /* below the normal range an ulp is the smallest subnormal, not a fraction of the value:
     * allow there as many ulps as rtol allows above it (found: erfc(10) in float32 is
     * 2.09e-45, the JIT gives 1 x 2^-149 and glibc's erfcf 2 x 2^-149) */
    atol += rtol / eps * (single ? FLT_TRUE_MIN : DBL_TRUE_MIN);
    for (int64_t k = 0; k < tj_array_size(a); k++) {
        int64_t ia, ib;
        double da, db;
        element(a, k, &ia, &da);
        element(b, k, &ib, &db);
        if (is_int(dt)) {
            if (ia != ib)
                mismatch("integers differ", out, k, da, db);
        } else if (isnan(da) || isnan(db)) {
            if (isnan(da) != isnan(db))
                mismatch("NaN in one executor only", out, k, da, db);
        } else if (isinf(da) || isinf(db) || acc == FZ_EXACT) {
            if (da != db)
                mismatch(acc == FZ_EXACT ? "an exact op differs" : "infinities differ", out, k,
                         da, db);
        } else if (fabs(da - db) > rtol * fmax(fabs(da), fabs(db)) + atol) {
            mismatch("beyond the tolerance", out, k, da, db);
        }
    }
    tj_array_unref(a);
    tj_array_unref(b);
}

static bool refuses_input(tj_status s)
{
    return s == TJ_ERR_TYPE || s == TJ_ERR_SHAPE || s == TJ_ERR_VALUE;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_in in = {.p = data, .n = size};
    fresh_ctx();
    if (!ctx)
        return 0;
    ctx_uses++;
    tj_clear_error(ctx);
    /* inputs: one length for most axes, so most graphs are valid at run time */
    tj_var *pool[MAX_POOL];
    fz_accuracy acc[MAX_POOL];
    tj_dtype dts[MAX_INPUTS];
    int nds[MAX_INPUTS];
    int nin = 1 + (int)fz_pick(&in, MAX_INPUTS), npool = 0;
    static const char *names[MAX_INPUTS] = {"a", "b", "c"};
    for (int i = 0; i < nin; i++) {
        dts[i] = fz_dtype(&in);
        nds[i] = (int)fz_pick(&in, 3);
        pool[npool] = tj_tensor(ctx, dts[i], nds[i], NULL, names[i]);
        acc[npool++] = FZ_EXACT;
    }
    int nops = 1 + (int)fz_pick(&in, MAX_OPS);
    for (int i = 0; i < nops; i++) {
        fz_accuracy a;
        tj_var *v = fz_apply(&in, ctx, pool, acc, npool, &a, NULL);
        if (v) {
            pool[npool] = v;
            acc[npool++] = a;
        }
    }
    if (npool == nin) /* nothing built */
        return 0;
    int second = nin + (int)fz_pick(&in, (unsigned)(npool - nin));
    tj_var *outs[MAX_OUTS] = {pool[npool - 1], pool[second]};
    fz_accuracy out_acc[MAX_OUTS] = {acc[npool - 1], acc[second]};
    int nout = 1 + (int)fz_pick(&in, MAX_OUTS);

    tj_function_opts o = TJ_FUNCTION_OPTS_INIT;
    o.on_unused_input = TJ_UNUSED_IGNORE;
    tj_fn *fr = tj_function(ctx, pool, nin, outs, nout, &o);
    tj_status sr = tj_errcode(ctx);
    tj_clear_error(ctx);
    static const char *const passes[] = {"stabilize", "blas", "specialize"};
    o.mode = TJ_MODE_FAST_COMPILE;
    o.optimizer_including = passes;
    o.noptimizer_including = 3;
    tj_fn *fc = tj_function(ctx, pool, nin, outs, nout, &o);
    tj_status sc = tj_errcode(ctx);
    tj_clear_error(ctx);
    if (!fr != !fc) {
        fprintf(stderr, "fuzz-diff: only one mode compiled (FAST_RUN %s, FAST_COMPILE %s)\n",
                tj_status_name(sr), tj_status_name(sc));
        abort();
    }
    if (fr) {
        int64_t len = 1 + fz_pick(&in, 4);
        tj_array *ins[MAX_INPUTS] = {0}, *ro[MAX_OUTS] = {0}, *co[MAX_OUTS] = {0};
        for (int i = 0; i < nin; i++) {
            int64_t shape[2] = {len, len};
            if (fz_u8(&in) >= 224) { /* a ragged shape now and then: shape errors */
                int64_t ragged = fz_pick(&in, 4); /* read before the axis, as clang's build did */
                shape[fz_pick(&in, 2)] = ragged;
            }
            ins[i] = tj_array_new(dts[i], nds[i], shape);
            int64_t idx[2];
            for (idx[0] = 0; ins[i] && idx[0] < (nds[i] ? shape[0] : 1); idx[0]++)
                for (idx[1] = 0; idx[1] < (nds[i] > 1 ? shape[1] : 1); idx[1]++)
                    tj_array_set(ins[i], nds[i] ? idx : NULL, fz_value(&in));
        }
        cur_fr = fr;
        cur_fc = fc;
        cur_ins = ins;
        cur_nin = nin;
        char mr[1024], mc[1024];
        sr = tj_call(fr, ins, ro);
        snprintf(mr, sizeof mr, "%s", tj_errmsg(ctx));
        tj_clear_error(ctx);
        sc = tj_call(fc, ins, co);
        snprintf(mc, sizeof mc, "%s", tj_errmsg(ctx));
        tj_clear_error(ctx);
        /* a graph with two invalid steps: each executor reports the first it runs, and their
         * step orders may differ, so two refusals of the input agree whatever their codes */
        if (sr != sc && !(refuses_input(sr) && refuses_input(sc))) {
            fprintf(stderr, "fuzz-diff: FAST_RUN: %s\nFAST_COMPILE: %s\n", mr, mc);
            mismatch("statuses differ", -1, -1, sr, sc);
        }
        if (sr == TJ_OK) {
            double m = 0;
            for (int i = 0; i < nin; i++)
                m = largest(ins[i], m);
            for (int i = 0; i < nout; i++)
                m = largest(co[i], largest(ro[i], m));
            bool f32 = false; /* found: cast{float64}(erfc(cast{float32}(10))), the JIT 1 and
                               * glibc's erfcf 2 x 2^-149 (the true value is 1.49 x 2^-149) */
            for (int i = nin; i < npool; i++)
                f32 = f32 || (tj_var_dtype(pool[i]) == TJ_FLOAT32 && acc[i] != FZ_EXACT);
            for (int i = 0; i < nout; i++)
                compare(i, ro[i], co[i], out_acc[i], m, f32);
        }
        for (int i = 0; i < nin; i++)
            tj_array_unref(ins[i]);
        for (int i = 0; i < nout; i++) {
            tj_array_unref(ro[i]);
            tj_array_unref(co[i]);
        }
        keep(fr);
    }
    tj_fn_free(fc);
    return 0;
}
