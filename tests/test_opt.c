/* The optimizer's engine and what users see of it (issue 4): including/excluding passes and rules
 * by name, FAST_COMPILE's short pipeline, the iteration cap naming cycling rules, iterative walks
 * (a 100,000-node chain), DEBUG mode naming the rewrite responsible for a changed value, the
 * debugprint of tj_fn_graph, BLAS steps with alpha/beta/transpose flags in both executors, in-place
 * updates (never into a borrowed buffer), and the compile-time guard (a 10,000-node MLP graph). */
#include "support.h"
#include "internal.h"
#include "opt/opt.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static tj_array *vec(int64_t n, const double *v) { return tjt_array(TJ_FLOAT64, 1, &n, v); }

/* ---- names ---- */

Test(opt, unknown_names_are_errors)
{
    tj_ctx *ctx = tj_ctx_new();
    tj_var *x = tj_vector(ctx, TJ_FLOAT64, "x"), *y = tj_log(tj_addc(x, 1));
    tj_function_opts o = TJ_FUNCTION_OPTS_INIT;
    o.optimizer_excluding = (const char *const[]){"stabilize", "log1pp"};
    o.noptimizer_excluding = 2;
    cr_expect_null(tj_function(ctx, &x, 1, &y, 1, &o));
    cr_expect_eq(tj_errcode(ctx), TJ_ERR_INVALID);
    cr_expect(strstr(tj_errmsg(ctx), "'log1pp'"), "%s", tj_errmsg(ctx));
    tj_ctx_free(ctx);
}

/* Excluding a rule or a whole pass by name; FAST_COMPILE runs merge and canonicalize only, and
 * including a pass runs it there too. */
Test(opt, including_and_excluding)
{
    tj_ctx *ctx = tj_ctx_new();
    tj_var *x = tj_vector(ctx, TJ_FLOAT64, "x");
    tj_var *y = tj_log(tj_addc(tj_mulc(x, 1), 1)); /* mul_one (canonicalize), log1p (stabilize) */
    struct {
        tj_mode mode;
        const char *ex, *in;
        int log1p, mul_one;
    } cases[] = {
        {TJ_MODE_FAST_RUN, NULL, NULL, 1, 1},
        {TJ_MODE_FAST_RUN, "log1p", NULL, 0, 1},
        {TJ_MODE_FAST_RUN, "stabilize", NULL, 0, 1},
        {TJ_MODE_FAST_RUN, "canonicalize", NULL, 1, 0},
        {TJ_MODE_FAST_COMPILE, NULL, NULL, 0, 1},
        {TJ_MODE_FAST_COMPILE, NULL, "stabilize", 1, 1},
    };
    double xs[3] = {1e-10, 0.5, 3};
    tj_array *in = vec(3, xs);
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        tj_function_opts o = TJ_FUNCTION_OPTS_INIT;
        o.mode = cases[c].mode;
        const char *ex[1] = {cases[c].ex}, *inc[1] = {cases[c].in};
        o.optimizer_excluding = ex;
        o.noptimizer_excluding = cases[c].ex != NULL;
        o.optimizer_including = inc;
        o.noptimizer_including = cases[c].in != NULL;
        tj_fn *f = tj_function(ctx, &x, 1, &y, 1, &o);
        cr_assert(f, "case %zu: %s", c, tj_errmsg(ctx));
        char *log = tj_fn_rewrites(f);
        cr_expect_eq(tj_fn_rewrite_count(f, "log1p") > 0, cases[c].log1p, "case %zu:\n%s", c, log);
        cr_expect_eq(tj_fn_rewrite_count(f, "mul_one") > 0, cases[c].mul_one, "case %zu:\n%s", c,
                     log);
        if (cases[c].mode == TJ_MODE_FAST_COMPILE && !cases[c].in)
            cr_expect_eq(tj_fn_rewrite_count(f, "stabilize"), 0, "%s", log);
        free(log);
        tj_array *out;
        cr_assert_eq(tj_call(f, &in, &out), TJ_OK, "%s", tj_errmsg(ctx));
        for (int64_t i = 0; i < 3; i++) {
            double want = log1p(xs[i]), got = tjt_at(out, i);
            /* log(1 + 1e-10) as written is off in its seventh digit; log1p is exact */
            double tol = cases[c].log1p || i > 0 ? 1e-15 * fabs(want) : 1e-6 * fabs(want);
            cr_expect(fabs(got - want) <= tol, "case %zu: x %g -> %.17g, want %.17g", c, xs[i],
                      got, want);
        }
        tj_array_unref(out);
    }
    tj_array_unref(in);
    tj_ctx_free(ctx);
}

/* ---- the driver's cap ---- */

static tj_var *rw_to_mul(tjR_match *m) { return tj_mul(m->v[0], tjR_const_like(m->root, -1)); }
static tj_var *rw_to_neg(tjR_match *m) { return tj_neg(m->v[0]); }
static const tjR_rule cycling[] = {
    {"neg_as_mul", TJR_P(NEG, TJR_V(0)), rw_to_mul, 0},
    {"mul_as_neg", TJR_P(MUL, TJR_V(0), TJR_K(-1)), rw_to_neg, 0},
};
static const tjR_family cycling_family = {"test_cycle", cycling, 2};

Test(opt, cycling_rules_are_an_error_naming_them)
{
    tj_ctx *ctx = tj_ctx_new();
    tj_var *x = tj_vector(ctx, TJ_FLOAT64, "x"), *out = tj_exp(tj_neg(x));
    const tjR_family *fams[1] = {&cycling_family};
    tjR_config cfg = {0};
    tjR_log log = {0};
    tj_status st = tjR_run_pass(ctx, &cfg, "test", fams, 1, &out, 1, &log, 64);
    cr_expect_eq(st, TJ_ERR_INVALID);
    cr_expect(strstr(tj_errmsg(ctx), "neg_as_mul") && strstr(tj_errmsg(ctx), "mul_as_neg"), "%s",
              tj_errmsg(ctx));
    tjR_log_free(ctx, &log);
    tj_ctx_free(ctx);
}

/* A rule set that needs more sweeps than allowed: the error names the rules still firing. */
Test(opt, sweep_cap_names_the_rules_still_firing)
{
    tj_ctx *ctx = tj_ctx_new();
    tj_var *A = tj_matrix(ctx, TJ_FLOAT64, "A"), *x = tj_vector(ctx, TJ_FLOAT64, "x");
    tj_var *out = tj_mulc(tj_dot(A, x), 2); /* blas_dot, then blas_lincomb a sweep later */
    const tjR_family *fams[1] = {&tjR_blas_rules};
    tjR_config cfg = {0};
    tjR_log log = {0};
    tj_status st = tjR_run_pass(ctx, &cfg, "blas", fams, 1, &out, 1, &log, 1);
    cr_expect_eq(st, TJ_ERR_INVALID);
    cr_expect(strstr(tj_errmsg(ctx), "blas_dot"), "%s", tj_errmsg(ctx));
    tjR_log_free(ctx, &log);
    /* with room, the same pass reaches its fixpoint */
    tj_clear_error(ctx);
    out = tj_mulc(tj_dot(A, x), 2);
    cr_expect_eq(tjR_run_pass(ctx, &cfg, "blas", fams, 1, &out, 1, &log, 8), TJ_OK, "%s",
                 tj_errmsg(ctx));
    cr_expect_eq(tj_var_ndim(out), 1);
    tjR_log_free(ctx, &log);
    tj_ctx_free(ctx);
}

/* 100,000 nodes in a chain: every walk is iterative (the C stack would overflow otherwise), and
 * a rule firing at every level (neg(neg y) -> y) is fine. */
Test(opt, long_chain, .timeout = 120)
{
    tj_ctx *ctx = tj_ctx_new();
    tj_var *x = tj_scalar(ctx, TJ_FLOAT64, "x"), *y = x;
    for (int i = 0; i < 33334; i++)
        y = tj_tanh(tj_neg(tj_neg(y)));
    tj_function_opts o = TJ_FUNCTION_OPTS_INIT;
    o.mode = TJ_MODE_FAST_COMPILE;
    tj_fn *f = tj_function(ctx, &x, 1, &y, 1, &o);
    cr_assert(f, "%s", tj_errmsg(ctx));
    cr_expect_eq(tj_fn_rewrite_count(f, "neg_neg"), 33334);
    tj_array *in = tj_array_scalar(TJ_FLOAT64, 0.5), *out;
    cr_assert_eq(tj_call(f, &in, &out), TJ_OK, "%s", tj_errmsg(ctx));
    double want = 0.5;
    for (int i = 0; i < 33334; i++)
        want = tanh(want);
    cr_expect(fabs(tj_array_get(out, NULL) - want) < 1e-12);
    tj_array_unref(in);
    tj_array_unref(out);
    tj_ctx_free(ctx);
}

/* ---- DEBUG mode ---- */

/* A wrong rewrite (as a log entry) is named with its nodes; a NaN it brings is named too; turning
 * an overflow into a finite value is not an error (that is stabilization). */
Test(opt, debug_check_names_the_rewrite)
{
    tj_ctx *ctx = tj_ctx_new();
    tj_var *x = tj_vector(ctx, TJ_FLOAT64, "x");
    tj_array *v = vec(3, (double[]){1, 2, 800});
    tjR_log good = {0}, bad = {0}, nan = {0};
    tjR_log_add(ctx, &good, "canonicalize", "honest", tj_mulc(x, 2), tj_add(x, x), NULL);
    tjR_log_add(ctx, &good, "stabilize", "improves", tj_log(tj_exp(x)), x, NULL); /* inf -> 800 */
    cr_expect_eq(tjR_debug_check(ctx, &good, &x, &v, 1, "f"), TJ_OK, "%s", tj_errmsg(ctx));
    tjR_log_add(ctx, &bad, "canonicalize", "honest", tj_mulc(x, 2), tj_add(x, x), NULL);
    tjR_log_add(ctx, &bad, "specialize", "wrong_rule", tj_mulc(x, 2), tj_mulc(x, 3), NULL);
    cr_expect_eq(tjR_debug_check(ctx, &bad, &x, &v, 1, "f"), TJ_ERR_VALUE);
    cr_expect(strstr(tj_errmsg(ctx), "rewrite 2") && strstr(tj_errmsg(ctx), "wrong_rule") &&
                  strstr(tj_errmsg(ctx), "beyond tolerance"),
              "%s", tj_errmsg(ctx));
    tjR_log_add(ctx, &nan, "specialize", "nan_rule", tj_sqrt(x), tj_sqrt(tj_neg(x)), NULL);
    cr_expect_eq(tjR_debug_check(ctx, &nan, &x, &v, 1, "f"), TJ_ERR_VALUE);
    cr_expect(strstr(tj_errmsg(ctx), "nan_rule") && strstr(tj_errmsg(ctx), "NaN"), "%s",
              tj_errmsg(ctx));
    tjR_log_free(ctx, &good);
    tjR_log_free(ctx, &bad);
    tjR_log_free(ctx, &nan);
    tj_array_unref(v);
    tj_ctx_free(ctx);
}

/* ---- what tj_fn_graph shows ---- */

Test(opt, graph_is_a_debugprint_with_kernel_expressions)
{
    tj_ctx *ctx = tj_ctx_new();
    tj_var *x = tj_vector(ctx, TJ_FLOAT64, "x"), *y = tj_vector(ctx, TJ_FLOAT64, "y");
    tj_var *out = tj_add(tj_exp(x), tj_log(tj_addc(y, 1)));
    tj_fn *f = tj_function(ctx, (tj_var *[]){x, y}, 2, &out, 1, NULL);
    cr_assert(f, "%s", tj_errmsg(ctx));
    char *g = tj_fn_graph(f);
    cr_expect(strstr(g, "Output 0:\nKernel{step 0} Composite{add(exp(i0), log1p(i1))} [id A] "
                        "float64 (?)\n |x [id B] float64 (?)\n |y [id C] float64 (?)\n"),
              "%s", g);
    cr_expect(strstr(g, "\nSteps:\nkernel node"), "%s", g);
    free(g);
    tj_ctx_free(ctx);
}

/* ---- BLAS steps ---- */

static double mat(const double *m, int cols, int i, int j) { return m[i * cols + j]; }

/* alpha op(A) op(B) + beta C in every transpose combination, gemv both ways and ger, float32 and
 * float64, FAST_RUN (BLAS with flags) and DEBUG (checked against the reference executor). */
Test(opt, blas_steps_match_plain_loops)
{
    enum { R = 3, K = 4, C = 5 };
    double a[R * K], b[K * C], c[R * C], u[R], v[C], w[K];
    for (int i = 0; i < R * K; i++)
        a[i] = sin(1 + i);
    for (int i = 0; i < K * C; i++)
        b[i] = cos(2 + 0.7 * i);
    for (int i = 0; i < R * C; i++)
        c[i] = 0.1 * i - 0.5;
    for (int i = 0; i < R; i++)
        u[i] = 1.5 - i;
    for (int i = 0; i < C; i++)
        v[i] = 0.3 * i;
    for (int i = 0; i < K; i++)
        w[i] = 0.25 * i - 0.4;
    for (int dt = 0; dt < 2; dt++)
        for (int mode = 0; mode < 2; mode++) {
            tj_dtype d = dt ? TJ_FLOAT32 : TJ_FLOAT64;
            tj_ctx *ctx = tj_ctx_new();
            tj_var *A = tj_matrix(ctx, d, "A"), *At = tj_matrix(ctx, d, "At");
            tj_var *B = tj_matrix(ctx, d, "B"), *Bt = tj_matrix(ctx, d, "Bt");
            tj_var *Cm = tj_matrix(ctx, d, "C"), *U = tj_vector(ctx, d, "u");
            tj_var *V = tj_vector(ctx, d, "v"), *W = tj_vector(ctx, d, "w");
            tj_var *outs[5] = {
                /* 2 A B - C (gemm, no transposes) */
                tj_sub(tj_mulc(tj_dot(A, B), 2), Cm),
                /* At^T Bt^T * 0.5 + 3 C (both transposed) */
                tj_add(tj_divc(tj_dot(tj_transpose(At), tj_transpose(Bt)), 2), tj_mulc(Cm, 3)),
                /* A w (gemv) and u A (transposed gemv) minus w */
                tj_neg(tj_dot(A, W)), tj_sub(tj_dot(U, A), W),
                /* outer(u, v) + C (ger) */
                tj_add(tj_dot(tj_dimshuffle(U, (int[]){0, -1}, 2),
                              tj_dimshuffle(V, (int[]){-1, 0}, 2)),
                       Cm)};
            tj_function_opts o = TJ_FUNCTION_OPTS_INIT;
            o.mode = mode ? TJ_MODE_DEBUG : TJ_MODE_FAST_RUN;
            tj_var *ins[8] = {A, At, B, Bt, Cm, U, V, W};
            tj_fn *f = tj_function(ctx, ins, 8, outs, 5, &o);
            cr_assert(f, "%s", tj_errmsg(ctx));
            cr_expect_eq(
                tj_fn_rewrite_count(f, "blas_dot") + tj_fn_rewrite_count(f, "blas_lincomb") > 0, 1);
            char *g = tj_fn_graph(f);
            cr_expect(strstr(g, "gemm{no_trans/no_trans, alpha=2, beta=-1}") &&
                          strstr(g, "gemm{trans/trans, alpha=0.5, beta=3}") &&
                          strstr(g, "gemv{no_trans, alpha=-1, beta=0}") &&
                          strstr(g, "gemv{trans, alpha=1, beta=-1}") &&
                          strstr(g, "ger{alpha=1, beta=1}"),
                      "%s", g);
            free(g);
            double at[K * R], bt[C * K];
            for (int i = 0; i < R; i++)
                for (int k = 0; k < K; k++)
                    at[k * R + i] = a[i * K + k];
            for (int k = 0; k < K; k++)
                for (int j = 0; j < C; j++)
                    bt[j * K + k] = b[k * C + j];
            int64_t sa[2] = {R, K}, sat[2] = {K, R}, sb[2] = {K, C}, sbt[2] = {C, K},
                    sc[2] = {R, C};
            int64_t nr = R, nc = C, nk = K;
            tj_array *vals[8] = {tjt_array(d, 2, sa, a),  tjt_array(d, 2, sat, at),
                                 tjt_array(d, 2, sb, b),  tjt_array(d, 2, sbt, bt),
                                 tjt_array(d, 2, sc, c),  tjt_array(d, 1, &nr, u),
                                 tjt_array(d, 1, &nc, v), tjt_array(d, 1, &nk, w)};
            tj_array *res[5];
            cr_assert_eq(tj_call(f, vals, res), TJ_OK, "%s", tj_errmsg(ctx));
            double tol = dt ? 1e-5 : 1e-13;
            for (int i = 0; i < R; i++)
                for (int j = 0; j < C; j++) {
                    double ab = 0;
                    for (int k = 0; k < K; k++)
                        ab += mat(a, K, i, k) * mat(b, C, k, j);
                    double want[3] = {2 * ab - c[i * C + j], 0.5 * ab + 3 * c[i * C + j],
                                      u[i] * v[j] + c[i * C + j]};
                    int which[3] = {0, 1, 4};
                    for (int t = 0; t < 3; t++)
                        cr_expect(fabs(tjt_at(res[which[t]], i * C + j) - want[t]) <=
                                      tol * fmax(1, fabs(want[t])),
                                  "%s output %d [%d,%d]: %.17g vs %.17g", tj_dtype_name(d),
                                  which[t], i, j, tjt_at(res[which[t]], i * C + j), want[t]);
                }
            for (int i = 0; i < R; i++) {
                double s = 0;
                for (int k = 0; k < K; k++)
                    s += mat(a, K, i, k) * w[k];
                cr_expect(fabs(tjt_at(res[2], i) + s) <= tol * fmax(1, fabs(s)));
            }
            for (int k = 0; k < K; k++) {
                double s = 0;
                for (int i = 0; i < R; i++)
                    s += u[i] * mat(a, K, i, k);
                cr_expect(fabs(tjt_at(res[3], k) - (s - w[k])) <= tol * fmax(1, fabs(s)));
            }
            for (int i = 0; i < 5; i++)
                tj_array_unref(res[i]);
            for (int i = 0; i < 8; i++)
                tj_array_unref(vals[i]);
            tj_ctx_free(ctx);
        }
}

/* ---- in place ---- */

/* w <- w - 0.1 * (A^T (A w - t)): one gemv writing over w's own buffer; but a buffer the user
 * borrowed (tj_shared with borrow) is never written: it keeps the user's values. */
Test(opt, update_in_place_but_never_into_a_borrowed_buffer)
{
    for (int borrow = 0; borrow < 2; borrow++) {
        tj_ctx *ctx = tj_ctx_new();
        double w0[3] = {1, -2, 0.5}, am[6] = {1, 2, 3, 4, 5, 6}, t[2] = {0.5, -1};
        tj_array *wa = vec(3, w0);
        tj_var *w = tj_shared(ctx, wa, "w", borrow);
        tj_var *A = tj_matrix(ctx, TJ_FLOAT64, "A"), *T = tj_vector(ctx, TJ_FLOAT64, "t");
        tj_var *err = tj_sub(tj_dot(A, w), T), *g = tj_dot(tj_transpose(A), err);
        tj_function_opts o = TJ_FUNCTION_OPTS_INIT;
        o.updates = (tj_update[]){{w, tj_sub(w, tj_mulc(g, 0.1))}};
        o.nupdates = 1;
        tj_var *cost = tj_sum(tj_sqr(err), NULL, 0, false);
        tj_fn *f = tj_function(ctx, (tj_var *[]){A, T}, 2, &cost, 1, &o);
        cr_assert(f, "%s", tj_errmsg(ctx));
        cr_expect_eq(tj_fn_rewrite_count(f, "update_inplace"), 1);
        int64_t s2[2] = {2, 3};
        tj_array *Av = tjt_array(TJ_FLOAT64, 2, s2, am), *Tv = vec(2, t), *out;
        double ref[3] = {1, -2, 0.5};
        for (int step = 0; step < 3; step++) {
            tj_array *held = tj_shared_get(w, true);
            void *before = tj_array_data(held);
            tj_array_unref(held);
            cr_assert_eq(tj_call(f, (tj_array *[]){Av, Tv}, &out), TJ_OK, "%s", tj_errmsg(ctx));
            tj_array_unref(out);
            double e[2];
            for (int i = 0; i < 2; i++)
                e[i] = am[i * 3] * ref[0] + am[i * 3 + 1] * ref[1] + am[i * 3 + 2] * ref[2] - t[i];
            for (int j = 0; j < 3; j++)
                ref[j] -= 0.1 * (am[j] * e[0] + am[3 + j] * e[1]);
            tj_array *now = tj_shared_get(w, true);
            for (int64_t j = 0; j < 3; j++)
                cr_expect(fabs(tj_array_get(now, &j) - ref[j]) < 1e-12, "step %d w[%lld]", step,
                          (long long)j);
            /* not borrowed: the same buffer holds the new values */
            if (!borrow) /* the reference executor (TJ_JIT=off) makes a new value */
                cr_expect_eq(tj_array_data(now) == before, !tjt_jit_off(),
                             "the update was made in place: %d", tj_array_data(now) == before);
            tj_array_unref(now);
        }
        for (int64_t j = 0; j < 3; j++) /* borrowed: the user's array kept its values */
            cr_expect_eq(tj_array_get(wa, &j), w0[j]);
        tj_array_unref(wa);
        tj_array_unref(Av);
        tj_array_unref(Tv);
        tj_ctx_free(ctx);
    }
}

/* ---- the compile-time guard: an MLP's training graph of 10,000 nodes (here a 100-layer MLP with
 * its gradient is about 1,900 nodes: hash-consing and compact VJPs; 540 layers make 10,000) ---- */

Test(opt, mlp_gradient_of_ten_thousand_nodes, .timeout = 300)
{
    enum { LAYERS = 540, WIDTH = 8 };
    tj_ctx *ctx = tj_ctx_new();
    tj_var *x = tj_matrix(ctx, TJ_FLOAT64, "x"), *y = tj_matrix(ctx, TJ_FLOAT64, "y"), *h = x;
    tj_var *params[2 * LAYERS], *grads[2 * LAYERS];
    tj_update upd[2 * LAYERS];
    int64_t ws[2] = {WIDTH, WIDTH}, bs = WIDTH;
    for (int l = 0; l < LAYERS; l++) {
        double wv[WIDTH * WIDTH], bv[WIDTH];
        for (int i = 0; i < WIDTH * WIDTH; i++)
            wv[i] = 0.3 * sin(l * 31 + i);
        for (int i = 0; i < WIDTH; i++)
            bv[i] = 0.01 * i;
        tj_array *wa = tjt_array(TJ_FLOAT64, 2, ws, wv), *ba = tjt_array(TJ_FLOAT64, 1, &bs, bv);
        params[2 * l] = tj_shared(ctx, wa, NULL, false);
        params[2 * l + 1] = tj_shared(ctx, ba, NULL, false);
        tj_array_unref(wa);
        tj_array_unref(ba);
        h = tj_tanh(tj_add(tj_dot(h, params[2 * l]), params[2 * l + 1]));
    }
    tj_var *cost = tj_mean(tj_sqr(tj_sub(h, y)), NULL, 0, false);
    cr_assert_eq(tj_grad(cost, params, 2 * LAYERS, grads), TJ_OK, "%s", tj_errmsg(ctx));
    for (int i = 0; i < 2 * LAYERS; i++)
        upd[i] = (tj_update){params[i], tj_sub(params[i], tj_mulc(grads[i], 0.01))};
    size_t n0 = 0;
    tj_var **all = tjG_toposort(ctx, (tj_var *[]){cost}, 1, &n0);
    tjC_free(ctx, all);
    tj_var *outs[2 * LAYERS + 1];
    outs[0] = cost;
    for (int i = 0; i < 2 * LAYERS; i++)
        outs[i + 1] = upd[i].new_value;
    size_t n = 0;
    all = tjG_toposort(ctx, outs, 2 * LAYERS + 1, &n);
    tjC_free(ctx, all);
    /* the optimizer alone (FAST_COMPILE with every pass) */
    tj_function_opts o = TJ_FUNCTION_OPTS_INIT;
    o.mode = TJ_MODE_FAST_COMPILE;
    o.optimizer_including = (const char *const[]){"stabilize", "blas", "specialize"};
    o.noptimizer_including = 3;
    o.updates = upd;
    o.nupdates = 2 * LAYERS;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    tj_fn *f = tj_function(ctx, (tj_var *[]){x, y}, 2, &cost, 1, &o);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    cr_assert(f, "%s", tj_errmsg(ctx));
    double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    printf("540-layer MLP training graph: %zu nodes, optimized in %.0f ms (%d rewrites)\n", n, ms,
           tj_fn_rewrite_count(f, NULL));
    cr_expect_geq(n, 10000);
    tj_ctx_free(ctx);
}

/* The plan decisions are named too: without fusion every elementwise op is a kernel of its own,
 * without inplace no buffer is reused; the values do not change. */
Test(opt, fusion_and_inplace_can_be_excluded)
{
    tj_ctx *ctx = tj_ctx_new();
    tj_var *x = tj_vector(ctx, TJ_FLOAT64, "x"), *y = tj_vector(ctx, TJ_FLOAT64, "y");
    tj_var *a = tj_exp(tj_mul(x, y)), *outs[2] = {tj_tanh(tj_add(a, y)), tj_mul(a, x)};
    const char *names[3] = {NULL, "fusion", "inplace"};
    int steps[3];
    tj_array *xv = vec(3, (double[]){0.5, -1, 2}), *yv = vec(3, (double[]){1, 0.25, -0.5});
    for (int c = 0; c < 3; c++) {
        tj_function_opts o = TJ_FUNCTION_OPTS_INIT;
        o.optimizer_excluding = &names[c];
        o.noptimizer_excluding = names[c] != NULL;
        tj_fn *f = tj_function(ctx, (tj_var *[]){x, y}, 2, outs, 2, &o);
        cr_assert(f, "%s", tj_errmsg(ctx));
        char *g = tj_fn_graph(f);
        steps[c] = 0;
        for (char *p = g; (p = strstr(p, "kernel node")); p++)
            steps[c]++;
        free(g);
        cr_expect_eq(tj_fn_rewrite_count(f, "fusion") > 0, c != 1);
        tj_array *res[2];
        cr_assert_eq(tj_call(f, (tj_array *[]){xv, yv}, res), TJ_OK, "%s", tj_errmsg(ctx));
        for (int k = 0; k < 2; k++) {
            for (int64_t i = 0; i < 3; i++) {
                double xi = tjt_at(xv, i), yi = tjt_at(yv, i), ai = exp(xi * yi);
                double want = k ? ai * xi : tanh(ai + yi);
                cr_expect(fabs(tjt_at(res[k], i) - want) < 1e-14, "case %d", c);
            }
            tj_array_unref(res[k]);
        }
    }
    cr_expect_eq(steps[0], 1, "one kernel computes both outputs");
    cr_expect_eq(steps[1], 5, "without fusion: mul, exp, add, tanh, mul");
    cr_expect_eq(steps[2], 1);
    tj_array_unref(xv);
    tj_array_unref(yv);
    tj_ctx_free(ctx);
}

/* Fusion keeps steps orderable when a group joins nodes with no path between them: in the
 * gradient below one kernel computes both the rows of dC/da that slice W at 2 * len(a) and the
 * mask eq(minimum(arccos(b), a), arccos(b)) that dC/db sums; the single-element groups of 2 * len
 * and of dC/db's final neg had been merged into one kernel, which then had to run both before
 * that group (for the slice) and after it (for the sum). Compiling failed with "out of memory
 * ordering the steps" (found by fuzz-grad). */
Test(opt, fusion_never_makes_a_step_wait_for_itself)
{
    tj_ctx *ctx = tj_ctx_new();
    tj_var *a = tj_matrix(ctx, TJ_FLOAT64, "a"), *b = tj_scalar(ctx, TJ_FLOAT64, "b");
    tj_var *w = tj_matrix(ctx, TJ_FLOAT64, "W");
    tj_var *parts[2] = {tj_minimum(tj_arccos(b), a), a};
    tj_var *cost = tj_sum(tj_mul(tj_concatenate(parts, 2, 0), w), NULL, 0, false), *g[2];
    cr_assert_eq(tj_grad(cost, (tj_var *[]){a, b}, 2, g), TJ_OK, "%s", tj_errmsg(ctx));
    tj_fn *f = tj_function(ctx, (tj_var *[]){a, b, w}, 3, g, 2, NULL);
    cr_assert(f, "%s", tj_errmsg(ctx));
    int64_t as[2] = {1, 2}, ws[2] = {2, 2};
    tj_array *av = tjt_array(TJ_FLOAT64, 2, as, (double[]){0.5, 2}),
             *bv = tj_array_scalar(TJ_FLOAT64, 0.3),
             *wv = tjt_array(TJ_FLOAT64, 2, ws, (double[]){1, 2, 3, 4}), *r[2];
    cr_assert_eq(tj_call(f, (tj_array *[]){av, bv, wv}, r), TJ_OK, "%s", tj_errmsg(ctx));
    /* out = [[min(arccos b, 0.5), min(arccos b, 2)], [0.5, 2]] with arccos(0.3) = 1.266:
     * dC/da = W[0] where a < arccos b, plus W[1]; dC/db = W[0][1] * -1 / sqrt(1 - b^2) */
    cr_expect_eq(tjt_at(r[0], 0), 1 + 3.0);
    cr_expect_eq(tjt_at(r[0], 1), 0 + 4.0);
    cr_expect(fabs(tjt_at(r[1], 0) - -2 / sqrt(1 - 0.09)) < 1e-14, "%.17g", tjt_at(r[1], 0));
    tj_array_unref(r[0]);
    tj_array_unref(r[1]);
    tj_array_unref(av);
    tj_array_unref(bv);
    tj_array_unref(wv);
    tj_ctx_free(ctx);
}

/* The same through a group whose members come after the merged ones: the gradient of
 * sum(dot(log_softmax(b)[:, None], reshape(a^2, 1)[None]) * W) by the scalar a and the vector b.
 * A path from a^2 (through the reshape and a gemm) reached the group computing log_softmax's
 * gradient at its last member, and came back through an earlier one to the node merged with
 * a^2; the check stopped at the merged node's index (found by fuzz-grad's replay of random
 * inputs). dC/da = 2a sum_i W[i] ls_i, dC/db_j = a^2 (W[j] - softmax_j sum_i W[i]). */
Test(opt, fusion_follows_paths_back_through_later_groups)
{
    tj_ctx *ctx = tj_ctx_new();
    tj_var *a = tj_scalar(ctx, TJ_FLOAT64, "a"), *b = tj_vector(ctx, TJ_FLOAT64, "b");
    tj_var *w = tj_matrix(ctx, TJ_FLOAT64, "W");
    tj_var *col = tj_dimshuffle(tj_log_softmax(b, 0), (int[]){0, -1}, 2);
    tj_var *row = tj_dimshuffle(tj_reshape(tj_sqr(a), (int64_t[]){1}, 1), (int[]){-1, 0}, 2);
    tj_var *cost = tj_sum(tj_mul(tj_dot(col, row), w), NULL, 0, false), *g[2];
    cr_assert_eq(tj_grad(cost, (tj_var *[]){a, b}, 2, g), TJ_OK, "%s", tj_errmsg(ctx));
    tj_fn *f = tj_function(ctx, (tj_var *[]){a, b, w}, 3, g, 2, NULL);
    cr_assert(f, "%s", tj_errmsg(ctx));
    int64_t n = 3, ws[2] = {3, 1};
    double bv[3] = {0.5, -1, 2}, wv[3] = {0.25, -2, 1.5}, av = 1.5;
    tj_array *aa = tj_array_scalar(TJ_FLOAT64, av), *ba = tjt_array(TJ_FLOAT64, 1, &n, bv);
    tj_array *wa = tjt_array(TJ_FLOAT64, 2, ws, wv), *r[2];
    cr_assert_eq(tj_call(f, (tj_array *[]){aa, ba, wa}, r), TJ_OK, "%s", tj_errmsg(ctx));
    double z = exp(0.5) + exp(-1.0) + exp(2.0), sw = 0.25 - 2 + 1.5, ga = 0;
    for (int i = 0; i < 3; i++)
        ga += 2 * av * wv[i] * (bv[i] - log(z));
    cr_expect(fabs(tjt_at(r[0], 0) - ga) < 1e-13, "%.17g %.17g", tjt_at(r[0], 0), ga);
    for (int j = 0; j < 3; j++) {
        double want = av * av * (wv[j] - exp(bv[j]) / z * sw);
        cr_expect(fabs(tjt_at(r[1], j) - want) < 1e-13, "[%d] %.17g %.17g", j,
                  tjt_at(r[1], j), want);
    }
    tj_array_unref(r[0]);
    tj_array_unref(r[1]);
    tj_array_unref(aa);
    tj_array_unref(ba);
    tj_array_unref(wa);
    tj_ctx_free(ctx);
}

/* Rules that need a node to have one consumer (dimshuffle_lift here) worked downstream of an
 * earlier rewrite only a sweep later, and dimshuffle_lift moved a transpose one level per sweep:
 * both made deep graphs exceed the 64 sweeps of a pass, an "internal error" for a graph a user
 * writes. (1) The transpose of a chain of 300 elementwise ops; (2) 40 steps of a scalar state
 * broadcast against a vector and summed back, each step's output kept. Values by a plain loop. */
Test(opt, deep_graphs_reach_the_fixpoint)
{
    tj_ctx *ctx = tj_ctx_new();
    tj_var *x = tj_matrix(ctx, TJ_FLOAT64, "x"), *y = tj_matrix(ctx, TJ_FLOAT64, "y");
    tj_var *e = x;
    for (int i = 0; i < 300; i++)
        e = tj_add(tj_mulc(e, 0.5), y);
    tj_var *t = tj_transpose(e);
    tj_fn *f = tj_function(ctx, (tj_var *[]){x, y}, 2, &t, 1, NULL);
    cr_assert(f, "%s", tj_errmsg(ctx));
    int64_t shape[2] = {2, 3};
    double xv[6] = {1, 2, 3, 4, 5, 6}, yv[6] = {0.5, -1, 2, 0.25, 3, -2};
    tj_array *xa = tjt_array(TJ_FLOAT64, 2, shape, xv), *ya = tjt_array(TJ_FLOAT64, 2, shape, yv);
    tj_array *r;
    cr_assert_eq(tj_call(f, (tj_array *[]){xa, ya}, &r), TJ_OK, "%s", tj_errmsg(ctx));
    cr_assert_eq(r->shape[0], 3);
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 3; j++) {
            double want = xv[3 * i + j];
            for (int k = 0; k < 300; k++)
                want = want * 0.5 + yv[3 * i + j];
            cr_expect(fabs(tjt_at(r, 2 * j + i) - want) < 1e-13, "[%d][%d] %.17g %.17g", j, i,
                      tjt_at(r, 2 * j + i), want);
        }
    tj_array_unref(r);
    tj_array_unref(xa);
    tj_array_unref(ya);

    enum { STEPS = 40 };
    tj_var *s = tj_scalar(ctx, TJ_FLOAT64, "s"), *v = tj_vector(ctx, TJ_FLOAT64, "v");
    tj_var *outs[STEPS], *acc = s;
    for (int i = 0; i < STEPS; i++) {
        tj_var *dot = tj_sum(tj_mul(v, tj_sin(tj_mulc(acc, 1.0 + i * 1e-3))), NULL, 0, false);
        acc = tj_add(acc, tj_mulc(dot, 1e-2));
        outs[i] = tj_cos(acc);
    }
    tj_fn *g = tj_function(ctx, (tj_var *[]){s, v}, 2, outs, STEPS, NULL);
    cr_assert(g, "%s", tj_errmsg(ctx));
    int64_t n = 3;
    double vv[3] = {0.5, -0.25, 1};
    tj_array *sa = tj_array_scalar(TJ_FLOAT64, 0.3), *va = tjt_array(TJ_FLOAT64, 1, &n, vv);
    tj_array *res[STEPS];
    cr_assert_eq(tj_call(g, (tj_array *[]){sa, va}, res), TJ_OK, "%s", tj_errmsg(ctx));
    double a = 0.3;
    for (int i = 0; i < STEPS; i++) {
        double d = 0;
        for (int k = 0; k < 3; k++)
            d += vv[k] * sin(a * (1.0 + i * 1e-3));
        a += d * 1e-2;
        cr_expect(fabs(tjt_at(res[i], 0) - cos(a)) < 1e-12, "step %d: %.17g %.17g", i,
                  tjt_at(res[i], 0), cos(a));
        tj_array_unref(res[i]);
    }
    tj_array_unref(sa);
    tj_array_unref(va);
    tj_ctx_free(ctx);
}

/* x - x is 0 only for finite x: numpy gives NaN for inf - inf and NaN - NaN, and so must every
 * mode (sub_self fired for any x; found by fuzz-grad, where -38 / (x - x) of a NaN x became
 * -inf and, cast to an index, INT32_MIN) */
Test(opt, x_minus_x_keeps_nan_and_inf)
{
    tj_ctx *ctx = tj_ctx_new();
    tj_var *x = tj_vector(ctx, TJ_FLOAT64, "x"), *d = tj_sub(x, x);
    int64_t n = 4;
    tj_array *xv = tjt_array(TJ_FLOAT64, 1, &n, (double[]){INFINITY, -INFINITY, NAN, 2});
    for (int mode = 0; mode < 2; mode++) {
        tj_function_opts o = TJ_FUNCTION_OPTS_INIT;
        o.mode = mode ? TJ_MODE_FAST_COMPILE : TJ_MODE_FAST_RUN;
        tj_fn *f = tj_function(ctx, &x, 1, &d, 1, &o);
        cr_assert(f, "%s", tj_errmsg(ctx));
        tj_array *r;
        cr_assert_eq(tj_call(f, &xv, &r), TJ_OK, "%s", tj_errmsg(ctx));
        for (int i = 0; i < 3; i++)
            cr_expect(isnan(tjt_at(r, i)), "mode %d [%d]: %g", mode, i, tjt_at(r, i));
        cr_expect_eq(tjt_at(r, 3), 0.0);
        tj_array_unref(r);
    }
    tj_array_unref(xv);
    tj_ctx_free(ctx);
}

/* Rewrites that drop an operand whose only job was the shape keep its broadcasting check: each
 * graph's shapes do not broadcast (numpy raises), and every mode must fail the call rather than
 * return a result (finding 23: concatenate([a - a, a - a], 1) * (a - a) returned zeros) */
static void expect_shape_error(tj_ctx *ctx, tj_var *const *in, int nin, tj_var *out,
                               tj_array *const *vals, const char *what)
{
    cr_assert(out, "%s: %s", what, tj_errmsg(ctx));
    for (int mode = 0; mode < 2; mode++) {
        tj_function_opts o = TJ_FUNCTION_OPTS_INIT;
        o.mode = mode ? TJ_MODE_FAST_COMPILE : TJ_MODE_FAST_RUN;
        tj_fn *f = tj_function(ctx, in, nin, &out, 1, &o);
        cr_assert(f, "%s: %s", what, tj_errmsg(ctx));
        tj_array *r = NULL;
        cr_expect_eq(tj_call(f, vals, &r), TJ_ERR_SHAPE, "%s, mode %d: no shape error", what,
                     mode);
        cr_expect_null(r);
        tj_fn_free(f);
    }
}

Test(opt, dropped_operands_keep_their_shape_checks)
{
    tj_ctx *ctx = tj_ctx_new();
    int64_t two[2] = {2, 2}, three = 3, four = 4;
    tj_array *av = tjt_array(TJ_INT64, 2, two, (double[]){1, 2, 3, 4});
    tj_var *a = tj_matrix(ctx, TJ_INT64, "a"), *z = tj_sub(a, a);
    tj_var *parts[2] = {z, z};
    expect_shape_error(ctx, &a, 1, tj_mul(tj_concatenate(parts, 2, 1), z), &av,
                       "concatenate([a - a, a - a], 1) * (a - a)");

    tj_var *x = tj_vector(ctx, TJ_FLOAT64, "x"), *w = tj_vector(ctx, TJ_FLOAT64, "w");
    tj_array *xv = tjt_array(TJ_FLOAT64, 1, &four, (double[]){1, 2, 3, 4});
    tj_array *wv = tjt_array(TJ_FLOAT64, 1, &three, (double[]){5, 6, 7});
    tj_array *zeros = tjt_array(TJ_FLOAT64, 1, &three, (double[]){0, 0, 0});
    tj_var *c = tj_constant(ctx, zeros);
    expect_shape_error(ctx, &x, 1, tj_add(x, c), &xv, "x + zeros(3)");
    tj_array *ones = tjt_array(TJ_FLOAT64, 1, &three, (double[]){1, 1, 1});
    expect_shape_error(ctx, &x, 1, tj_pow(x, tj_constant(ctx, ones)), &xv, "x ** ones(3)");
    expect_shape_error(ctx, &x, 1, tj_log(tj_add(tj_constant(ctx, ones), x)), &xv,
                       "log(ones(3) + x)");
    tj_array_unref(ones);

    /* stabilize's product view looks through ones_like(w) = second(w, 1) and cancels exp(x) */
    tj_var *ones3 = tj_ones_like(c), *ex = tj_exp(x);
    expect_shape_error(ctx, &x, 1, tj_div(tj_mul(tj_mul(ex, x), ones3), ex), &xv,
                       "exp(x) * x * ones_like(zeros(3)) / exp(x)");
    /* d sum(x * w) / dw is x, valid only where x and w broadcast */
    tj_var *g, *xw[2] = {x, w};
    tj_array *vals[2] = {xv, wv};
    cr_assert_eq(tj_grad(tj_sum(tj_mul(x, w), NULL, 0, false), &w, 1, &g), TJ_OK, "%s",
                 tj_errmsg(ctx));
    expect_shape_error(ctx, xw, 2, g, vals, "grad(sum(x * w), w)");
    tj_array_unref(av);
    tj_array_unref(xv);
    tj_array_unref(wv);
    tj_array_unref(zeros);
    tj_ctx_free(ctx);
}
