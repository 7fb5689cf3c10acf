/* The blocked pass of a logistic regression's train step (lib/sched_chain.c, runtime_chain.c):
 * gemv(X, w), the fused elementwise kernel and gemv(X^T, r) run block by block over the rows of X.
 * Values are checked against a float64 computation of the same formulas written out here, for
 * sizes of one row, one block and several blocks and pieces, and for an X the blocks cannot take
 * (column-major storage: the chain falls back to plain steps). */
#include "function.h"
#include "support.h"

#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    int64_t n, f;
    tj_dtype dt;
    bool column_major; /* hand X over as a strided view of its transpose */
    tj_mode mode;
    int blocks; /* > 0: n more rows than this many whole blocks (their size is the machine's) */
} chain_case;

/* c with n counted in rows */
static chain_case rows_of(chain_case c)
{
    if (c.blocks > 0)
        c.n += c.blocks * tjS_chain_block_rows(c.f, c.dt);
    return c;
}

static double sigmoid(double z) { return 1 / (1 + exp(-z)); }

/* deterministic data in [-1, 1] */
static double datum(int64_t i, int64_t salt) { return sin(0.7 * (double)i + 1.3 * (double)salt); }

static void free_buffer(void *p) { free(p); }

static tj_array *make_x(const chain_case *c)
{
    size_t es = tj_dtype_size(c->dt);
    char *data = malloc((size_t)(c->n * c->f) * es + 1);
    cr_assert(data);
    for (int64_t i = 0; i < c->n; i++)
        for (int64_t j = 0; j < c->f; j++) {
            double x = datum(i * c->f + j, 1);
            /* row-major X[i][j] at i*f + j; column-major at j*n + i */
            int64_t at = c->column_major ? j * c->n + i : i * c->f + j;
            if (c->dt == TJ_FLOAT32)
                ((float *)data)[at] = (float)x;
            else
                ((double *)data)[at] = x;
        }
    int64_t shape[2] = {c->n, c->f};
    int64_t strides[2] = {c->column_major ? (int64_t)es : c->f * (int64_t)es,
                          c->column_major ? c->n * (int64_t)es : (int64_t)es};
    return tj_array_wrap(c->dt, 2, shape, strides, data, free_buffer, data);
}

static void run_case(const chain_case *c)
{
    tj_ctx *ctx = tj_ctx_new();
    tj_var *x = tj_matrix(ctx, c->dt, "x"), *y = tj_vector(ctx, c->dt, "y");
    double *w0 = malloc(sizeof *w0 * (size_t)c->f), b0 = 0.25;
    for (int64_t j = 0; j < c->f; j++)
        w0[j] = 0.5 * datum(j, 2);
    tj_array *wa = tjt_array(c->dt, 1, &c->f, w0), *ba = tj_array_scalar(c->dt, b0);
    tj_var *w = tj_shared(ctx, wa, "w", false), *b = tj_shared(ctx, ba, "b", false);
    tj_array_unref(wa);
    tj_array_unref(ba);
    tj_var *p_1 = tj_rdivc(1, tj_addc(tj_exp(tj_sub(tj_neg(tj_dot(x, w)), b)), 1));
    tj_var *xent = tj_sub(tj_mul(tj_neg(y), tj_log(p_1)),
                          tj_mul(tj_rsubc(1, y), tj_log(tj_rsubc(1, p_1))));
    tj_var *cost = tj_add(tj_mean(xent, NULL, 0, false),
                          tj_mulc(tj_sum(tj_powc(w, 2), NULL, 0, false), 0.01));
    tj_var *g[2];
    cr_assert_eq(tj_grad(cost, (tj_var *[]){w, b}, 2, g), TJ_OK, "%s", tj_errmsg(ctx));
    tj_function_opts o = TJ_FUNCTION_OPTS_INIT;
    o.mode = c->mode;
    o.updates = (tj_update[]){{w, tj_sub(w, tj_mulc(g[0], 0.1))},
                              {b, tj_sub(b, tj_mulc(g[1], 0.1))}};
    o.nupdates = 2;
    tj_fn *fn = tj_function(ctx, (tj_var *[]){x, y}, 2, (tj_var *[]){xent, cost}, 2, &o);
    cr_assert(fn, "%s", tj_errmsg(ctx));
    char *graph = tj_fn_graph(fn);
    cr_assert(graph);
    cr_expect(strstr(graph, "[blocked chain 0: one pass over row blocks of the matrix]"),
              "the train step is not blocked:\n%s", graph);
    free(graph);

    double *yv = malloc(sizeof *yv * (size_t)c->n);
    for (int64_t i = 0; i < c->n; i++)
        yv[i] = datum(i, 3) > 0;
    tj_array *X = make_x(c), *Y = tjt_array(c->dt, 1, &c->n, yv), *out[2];
    cr_assert(X && Y);
    cr_assert_eq(tj_call(fn, (tj_array *[]){X, Y}, out), TJ_OK, "%s", tj_errmsg(ctx));

    /* float64 reference */
    double *gw = calloc((size_t)c->f, sizeof *gw), gb = 0, mean = 0;
    double tol = c->dt == TJ_FLOAT32 ? 2e-5 : 1e-12;
    for (int64_t i = 0; i < c->n; i++) {
        double z = b0;
        for (int64_t j = 0; j < c->f; j++)
            z += datum(i * c->f + j, 1) * w0[j];
        double p = sigmoid(z), xe = -yv[i] * log(p) - (1 - yv[i]) * log(1 - p);
        double got = tjt_at(out[0], i);
        cr_expect(fabs(got - xe) <= 10 * tol * fmax(1, fabs(xe)),
                  "xent[%lld] = %.17g, expected %.17g", (long long)i, got, xe);
        mean += xe / (double)c->n;
        for (int64_t j = 0; j < c->f; j++)
            gw[j] += (p - yv[i]) * datum(i * c->f + j, 1) / (double)c->n;
        gb += (p - yv[i]) / (double)c->n;
    }
    double sq = 0;
    for (int64_t j = 0; j < c->f; j++)
        sq += w0[j] * w0[j];
    double want_cost = mean + 0.01 * sq;
    cr_expect(fabs(tjt_at(out[1], 0) - want_cost) <= tol * fmax(1, want_cost),
              "cost %.17g vs %.17g", tjt_at(out[1], 0), want_cost);
    tj_array *wn = tj_shared_get(w, false), *bn = tj_shared_get(b, false);
    for (int64_t j = 0; j < c->f; j++) {
        double want = w0[j] - 0.1 * (gw[j] + 0.02 * w0[j]);
        cr_expect(fabs(tjt_at(wn, j) - want) <= tol, "w[%lld] = %.17g, expected %.17g",
                  (long long)j, tjt_at(wn, j), want);
    }
    cr_expect(fabs(tjt_at(bn, 0) - (b0 - 0.1 * gb)) <= tol, "b = %.17g, expected %.17g",
              tjt_at(bn, 0), b0 - 0.1 * gb);
    tj_array_unref(wn);
    tj_array_unref(bn);
    tj_array_unref(out[0]);
    tj_array_unref(out[1]);
    tj_array_unref(X);
    tj_array_unref(Y);
    free(gw);
    free(yv);
    free(w0);
    tj_ctx_free(ctx);
}

ParameterizedTestParameters(chain, logreg_train_step)
{
    static chain_case cases[] = {
        {1, 3, TJ_FLOAT64, false, TJ_MODE_FAST_RUN, 0},  /* one row */
        {37, 5, TJ_FLOAT32, false, TJ_MODE_FAST_RUN, 0}, /* one block */
        {3, 7, TJ_FLOAT64, false, TJ_MODE_FAST_RUN, 5},  /* several blocks, one piece each */
        {7, 9, TJ_FLOAT32, false, TJ_MODE_FAST_RUN, 11}, /* more blocks than pieces */
        {7, 9, TJ_FLOAT32, false, TJ_MODE_DEBUG, 11},    /* checked by the reference executor */
        {3000, 6, TJ_FLOAT64, true, TJ_MODE_FAST_RUN, 0}, /* column-major X: plain steps */
    };
    return cr_make_param_array(chain_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(chain_case *c, chain, logreg_train_step)
{
    chain_case rows = rows_of(*c);
    run_case(&rows);
}

/* The pieces of the blocked pass run on the pool: any thread count gives the same bytes. The
 * reference executor (TJ_JIT=off) hands its one X^T r product to OpenBLAS with the thread budget,
 * whose threaded gemv sums in another order: there the outputs agree to float32 rounding. */
Test(chain, same_bytes_for_any_thread_count)
{
    chain_case c = rows_of((chain_case){5, 11, TJ_FLOAT32, false, TJ_MODE_FAST_RUN, 11});
    tj_ctx *ctx = tj_ctx_new();
    tj_var *x = tj_matrix(ctx, c.dt, "x"), *y = tj_vector(ctx, c.dt, "y");
    int64_t f = c.f;
    double w0[11];
    for (int j = 0; j < 11; j++)
        w0[j] = 0.5 * datum(j, 2);
    tj_array *wa = tjt_array(c.dt, 1, &f, w0);
    tj_var *w = tj_shared(ctx, wa, "w", false);
    tj_array_unref(wa);
    tj_var *p = tj_sigmoid(tj_dot(x, w));
    tj_var *xent =
        tj_sub(tj_mul(tj_neg(y), tj_log(p)), tj_mul(tj_rsubc(1, y), tj_log(tj_rsubc(1, p))));
    tj_var *gw;
    cr_assert_eq(tj_grad(tj_mean(xent, NULL, 0, false), &w, 1, &gw), TJ_OK, "%s", tj_errmsg(ctx));
    tj_fn *fn = tj_function(ctx, (tj_var *[]){x, y}, 2, (tj_var *[]){xent, gw}, 2, NULL);
    cr_assert(fn, "%s", tj_errmsg(ctx));
    cr_assert(tj_fn_jitted(fn) != tjt_jit_off());
    char *graph = tj_fn_graph(fn);
    cr_expect(graph && strstr(graph, "[blocked chain 0:"), "not blocked:\n%s", graph);
    free(graph);
    double *yv = malloc(sizeof *yv * (size_t)c.n);
    for (int64_t i = 0; i < c.n; i++)
        yv[i] = datum(i, 3) > 0;
    tj_array *X = make_x(&c), *Y = tjt_array(c.dt, 1, &c.n, yv), *first[2] = {0};
    for (int t = 1; t <= 8; t = t == 3 ? 8 : t + 1) {
        cr_assert_eq(tj_ctx_set_num_threads(ctx, t), TJ_OK, "%s", tj_errmsg(ctx));
        tj_array *out[2];
        cr_assert_eq(tj_call(fn, (tj_array *[]){X, Y}, out), TJ_OK, "%s", tj_errmsg(ctx));
        for (int k = 0; k < 2; k++) {
            if (!first[k]) {
                first[k] = out[k];
                continue;
            }
            size_t bytes = (size_t)tj_array_size(out[k]) * 4;
            if (tj_fn_jitted(fn))
                cr_expect(!memcmp(tj_array_data(first[k]), tj_array_data(out[k]), bytes),
                          "output %d with %d threads differs from one thread", k, t);
            const float *a = tj_array_data(first[k]), *b = tj_array_data(out[k]);
            for (int64_t i = 0; i < tj_array_size(out[k]); i++)
                cr_expect(fabsf(a[i] - b[i]) <= 1e-5f * (1 + fabsf(a[i])),
                          "output %d[%lld] with %d threads: %.9g, one thread %.9g", k,
                          (long long)i, t, (double)b[i], (double)a[i]);
            tj_array_unref(out[k]);
        }
    }
    tj_array_unref(first[0]);
    tj_array_unref(first[1]);
    tj_array_unref(X);
    tj_array_unref(Y);
    free(yv);
    tj_ctx_free(ctx);
}

/* A runtime scale of 0 folded into the chain's gemv (its alpha) or into the beta of its X^T r
 * keeps numpy's 0 * inf = NaN: with an inf in row 5 of X, xent is NaN there and log 2 on the
 * other rows (p = sigmoid(0) = 1/2); without it, step = s z + gw is NaN where z is inf and 0
 * elsewhere (gw = s X^T (p - y) = 0). BLAS reads nothing a 0 multiplies (fuzz finding 15). */
static void zero_scale_case(bool with_inf)
{
    chain_case c = rows_of((chain_case){3, 11, TJ_FLOAT64, false, TJ_MODE_FAST_RUN, 2});
    tj_ctx *ctx = tj_ctx_new();
    tj_var *x = tj_matrix(ctx, c.dt, "x"), *y = tj_vector(ctx, c.dt, "y");
    tj_var *w = tj_vector(ctx, c.dt, "w"), *s = tj_scalar(ctx, c.dt, "s");
    tj_var *z = tj_vector(ctx, c.dt, "z"), *p = tj_sigmoid(tj_dot(x, tj_mul(w, s)));
    tj_var *xent =
        tj_sub(tj_mul(tj_neg(y), tj_log(p)), tj_mul(tj_rsubc(1, y), tj_log(tj_rsubc(1, p))));
    tj_var *gw;
    cr_assert_eq(tj_grad(tj_sum(xent, NULL, 0, false), &w, 1, &gw), TJ_OK, "%s", tj_errmsg(ctx));
    tj_var *step = tj_add(tj_mul(z, s), gw);
    tj_fn *fn = tj_function(ctx, (tj_var *[]){x, y, w, s, z}, 5, (tj_var *[]){xent, step}, 2,
                            NULL);
    cr_assert(fn, "%s", tj_errmsg(ctx));
    char *graph = tj_fn_graph(fn);
    cr_expect(graph && strstr(graph, "[blocked chain 0:"), "not blocked:\n%s", graph);
    free(graph);
    tj_array *X = make_x(&c), *Y = tj_array_new(c.dt, 1, &c.n), *W = tj_array_new(c.dt, 1, &c.f);
    tj_array *Z = tj_array_new(c.dt, 1, &c.f), *S = tj_array_scalar(c.dt, 0), *out[2];
    double *xd = tj_array_data(X), *yd = tj_array_data(Y), *wd = tj_array_data(W);
    double *zd = tj_array_data(Z);
    if (with_inf)
        xd[5 * c.f + 2] = INFINITY;
    for (int64_t i = 0; i < c.n; i++)
        yd[i] = (double)(i % 2);
    for (int64_t j = 0; j < c.f; j++) {
        wd[j] = 0.25 * (double)(j + 1);
        zd[j] = j == 3 ? INFINITY : 1;
    }
    cr_assert_eq(tj_call(fn, (tj_array *[]){X, Y, W, S, Z}, out), TJ_OK, "%s", tj_errmsg(ctx));
    const double *e = tj_array_data(out[0]), *g = tj_array_data(out[1]);
    for (int64_t i = 0; i < c.n && with_inf; i++)
        cr_expect(i == 5 ? isnan(e[i]) : fabs(e[i] - log(2.0)) < 1e-12,
                  "xent[%lld] = %.17g, want %s", (long long)i, e[i], i == 5 ? "NaN" : "log 2");
    for (int64_t j = 0; j < c.f && !with_inf; j++)
        cr_expect(j == 3 ? isnan(g[j]) : g[j] == 0, "step[%lld] = %.17g, want %s", (long long)j,
                  g[j], j == 3 ? "NaN" : "0");
    tj_array_unref(out[0]);
    tj_array_unref(out[1]);
    tj_array_unref(X);
    tj_array_unref(Y);
    tj_array_unref(W);
    tj_array_unref(Z);
    tj_array_unref(S);
    tj_ctx_free(ctx);
}

Test(chain, a_zero_scale_keeps_nan_from_the_product) { zero_scale_case(true); }
Test(chain, a_zero_scale_keeps_nan_from_the_added_term) { zero_scale_case(false); }
