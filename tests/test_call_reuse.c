/* What a call keeps for the next one (lib/runtime_views.c, runtime_pool.c, runtime_chain.c):
 * view and shape_of headers refilled, pooled intermediates and the blocked chain's product
 * reused. None may carry a stale pointer, shape or value into a later call: input shapes change
 * between calls, input arrays are swapped, strided views are passed, results of earlier calls are
 * held while later calls run, two threads call one function. Values are checked against float64
 * computations written out here. */
#include "support.h"

#include <criterion/criterion.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>

static double datum(int64_t i, int salt) { return tjt_datum(i, salt); }
static bool close_to(double got, double want, double tol)
{
    return fabs(got - want) <= tol * (1 + fabs(want));
}

/* Calls of the train step (tjt_logreg_train) with the row count changing, the arrays swapped
 * between two sets of the same shape and, some calls, X given as a strided view (the blocked
 * chain cannot take it and falls back to plain steps): every output and both updates match a
 * float64 model of the same steps. */
Test(call_reuse, train_step_shapes_and_arrays_change)
{
    tj_ctx *ctx = tj_ctx_new();
    tj_var *wv, *bv;
    tj_fn *fn = tjt_logreg_train(ctx, &wv, &bv);
    cr_assert(fn, "%s", tj_errmsg(ctx));
    double w[TJT_FEATS] = {0.5, 0.2, -0.1}, b = 0.25;
    const int64_t rows[] = {10, 10, 7, 10, 1, 33, 7, 10, 300, 10, 10, 2};
    for (int call = 0; call < (int)(sizeof rows / sizeof rows[0]); call++) {
        int64_t n = rows[call];
        int salt = call % 2 ? 3 : 5; /* two data sets of one shape, in turn */
        tj_array *X = tjt_logreg_x(n, salt, call % 4 == 3), *Y = tjt_logreg_y(n, salt);
        tj_array *out[3] = {tj_array_new(TJ_BOOL, 1, &n), tj_array_new(TJ_FLOAT32, 1, &n),
                            tj_array_new(TJ_FLOAT32, 0, NULL)};
        tj_array *given[3] = {out[0], out[1], out[2]};
        cr_assert_eq(tj_call_into(fn, (tj_array *[]){X, Y}, out), TJ_OK, "call %d: %s", call,
                     tj_errmsg(ctx));
        for (int k = 0; k < 3; k++)
            cr_expect_eq(out[k], given[k], "call %d: output %d must stay the caller's", call, k);
        char why[160];
        cr_expect_eq(tjt_logreg_step(out, n, salt, w, &b, why, sizeof why), 0,
                     "call %d (n %lld): %s", call, (long long)n, why);
        tj_array *wn = tj_shared_get(wv, false), *bn = tj_shared_get(bv, false);
        for (int j = 0; j < TJT_FEATS; j++)
            cr_expect(close_to(tjt_at(wn, j), w[j], 1e-4), "call %d w[%d] %g, expected %g", call,
                      j, tjt_at(wn, j), w[j]);
        cr_expect(close_to(tjt_at(bn, 0), b, 1e-4), "call %d b %g, expected %g", call,
                  tjt_at(bn, 0), b);
        tj_array_unref(wn);
        tj_array_unref(bn);
        for (int k = 0; k < 3; k++)
            tj_array_unref(out[k]);
        tj_array_unref(X);
        tj_array_unref(Y);
    }
    tj_ctx_free(ctx);
}

/* A function whose results are a view of its input, a shape_of and a kernel reading views: each
 * call's results stay what they were while later calls run with other shapes and data (a header
 * refilled while a result still held it would change them). */
typedef struct {
    tj_fn *fn;
    int salt0;
    int failures;
} reuser;

static tj_fn *view_fn(tj_ctx *ctx)
{
    tj_var *x = tj_matrix(ctx, TJ_FLOAT64, "x");
    tj_var *n = tj_shape_of(x, 0);
    /* x / rows, through the view dimshuffle{x, x} of shape_of */
    tj_var *scaled = tj_div(x, tj_dimshuffle(tj_cast(n, TJ_FLOAT64), (int[]){-1, -1}, 2));
    tj_var *outs[3] = {tj_transpose(x), n, tj_sum(scaled, (int[]){0}, 1, false)};
    tj_fn *fn = tj_function(ctx, &x, 1, outs, 3, NULL);
    cr_assert(fn, "%s", tj_errmsg(ctx));
    return fn;
}

static tj_array *dmatrix(int64_t r, int64_t c, int salt)
{
    tj_array *a = tj_array_new(TJ_FLOAT64, 2, (int64_t[]){r, c});
    for (int64_t i = 0; i < r * c; i++)
        ((double *)tj_array_data(a))[i] = datum(i, salt);
    return a;
}

/* the results of view_fn on dmatrix(r, c, salt), against their float64 values; true when right */
static bool view_results_right(tj_array *const *res, int64_t r, int64_t c, int salt)
{
    bool ok = tj_array_ndim(res[0]) == 2 && tj_array_shape(res[0])[0] == c &&
              tj_array_shape(res[0])[1] == r && tjt_at(res[1], 0) == (double)r &&
              tj_array_ndim(res[2]) == 1 && tj_array_shape(res[2])[0] == c;
    for (int64_t j = 0; ok && j < c; j++) {
        double sum = 0;
        for (int64_t i = 0; i < r; i++) {
            ok = ok && tjt_at(res[0], j * r + i) == datum(i * c + j, salt);
            sum += datum(i * c + j, salt) / (double)r;
        }
        ok = ok && close_to(tjt_at(res[2], j), sum, 1e-12);
    }
    return ok;
}

static void *reuse_many(void *arg)
{
    reuser *u = arg;
    enum { KEEP = 4 };
    tj_array *held[KEEP][3] = {{NULL}};
    int64_t held_r[KEEP] = {0}, held_c[KEEP] = {0};
    int held_salt[KEEP] = {0};
    for (int k = 0; k < 400; k++) {
        int64_t r = 1 + (k * 7 + u->salt0) % 9, c = 1 + (k + u->salt0) % 4;
        int salt = u->salt0 + k;
        tj_array *x = dmatrix(r, c, salt), *res[3] = {NULL};
        if (tj_call(u->fn, &x, res) != TJ_OK || !view_results_right(res, r, c, salt))
            u->failures++;
        tj_array_unref(x); /* the results must not depend on the input any more */
        int slot = k % KEEP;
        if (held[slot][0] && !view_results_right(held[slot], held_r[slot], held_c[slot],
                                                 held_salt[slot]))
            u->failures++; /* an earlier call's results changed under the caller */
        for (int o = 0; o < 3; o++) {
            tj_array_unref(held[slot][o]);
            held[slot][o] = res[o];
        }
        held_r[slot] = r, held_c[slot] = c, held_salt[slot] = salt;
    }
    for (int s = 0; s < KEEP; s++)
        for (int o = 0; o < 3; o++)
            tj_array_unref(held[s][o]);
    return NULL;
}

Test(call_reuse, view_and_shape_results_stay_put)
{
    tj_ctx *ctx = tj_ctx_new();
    reuser u = {view_fn(ctx), 1, 0};
    reuse_many(&u);
    cr_expect_eq(u.failures, 0, "%d wrong or changed results", u.failures);
    tj_ctx_free(ctx);
}

Test(call_reuse, two_threads_one_function)
{
    tj_ctx *ctx = tj_ctx_new();
    tj_fn *fn = view_fn(ctx);
    pthread_t t[2];
    reuser u[2] = {{fn, 1, 0}, {fn, 100, 0}};
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, reuse_many, &u[i]);
    for (int i = 0; i < 2; i++) {
        pthread_join(t[i], NULL);
        cr_expect_eq(u[i].failures, 0, "thread %d: %d wrong or changed results", i,
                     u[i].failures);
    }
    tj_ctx_free(ctx);
}

/* An update read through a view in the next call: b's new value, broadcast by dimshuffle{x}, is
 * seen by the call after (a view still pointing at the old value would not). */
Test(call_reuse, updates_seen_through_views)
{
    tj_ctx *ctx = tj_ctx_new();
    tj_var *x = tj_vector(ctx, TJ_FLOAT64, "x");
    tj_array *b0 = tj_array_scalar(TJ_FLOAT64, 1);
    tj_var *b = tj_shared(ctx, b0, "b", false);
    tj_array_unref(b0);
    tj_var *out = tj_add(x, tj_dimshuffle(b, (int[]){-1}, 1));
    tj_function_opts o = TJ_FUNCTION_OPTS_INIT;
    o.updates = (tj_update[]){{b, tj_add(b, tj_sum(x, NULL, 0, false))}};
    o.nupdates = 1;
    tj_fn *fn = tj_function(ctx, &x, 1, &out, 1, &o);
    cr_assert(fn, "%s", tj_errmsg(ctx));
    double bref = 1;
    for (int k = 0; k < 6; k++) {
        int64_t n = 2 + k % 3;
        tj_array *xa = tj_array_new(TJ_FLOAT64, 1, &n), *res = tj_array_new(TJ_FLOAT64, 1, &n);
        double sum = 0;
        for (int64_t i = 0; i < n; i++) {
            tj_array_set(xa, &i, (double)(i + k));
            sum += (double)(i + k);
        }
        cr_assert_eq(tj_call_into(fn, &xa, &res), TJ_OK, "%s", tj_errmsg(ctx));
        for (int64_t i = 0; i < n; i++)
            cr_expect_eq(tjt_at(res, i), (double)(i + k) + bref, "call %d [%lld]", k,
                         (long long)i);
        bref += sum;
        tj_array *bn = tj_shared_get(b, true);
        cr_expect_eq(tjt_at(bn, 0), bref, "call %d: b", k);
        tj_array_unref(bn);
        tj_array_unref(xa);
        tj_array_unref(res);
    }
    tj_ctx_free(ctx);
}

/* Inputs and constants are borrowed by a run without a reference of their own: an output that is
 * the input or the constant itself still comes back as the caller's private array, and neither
 * the input nor the constant changes when the caller writes into it. */
Test(call_reuse, borrowed_leaves_as_outputs)
{
    tj_ctx *ctx = tj_ctx_new();
    tj_var *x = tj_vector(ctx, TJ_FLOAT64, "x");
    tj_array *cv = tjt_array(TJ_FLOAT64, 1, (int64_t[]){2}, (double[]){4, 5});
    tj_var *c = tj_constant(ctx, cv);
    tj_array_unref(cv);
    tj_var *outs[3] = {x, c, tj_mul(x, c)};
    tj_fn *fn = tj_function(ctx, &x, 1, outs, 3, NULL);
    cr_assert(fn, "%s", tj_errmsg(ctx));
    tj_array *in = tjt_array(TJ_FLOAT64, 1, (int64_t[]){2}, (double[]){1, 2});
    for (int k = 0; k < 4; k++) {
        tj_array *res[3] = {NULL};
        cr_assert_eq(tj_call(fn, &in, res), TJ_OK, "%s", tj_errmsg(ctx));
        cr_expect(res[0] != in, "an output equal to the input is a copy");
        for (int64_t i = 0; i < 2; i++) {
            cr_expect_eq(tjt_at(res[0], i), (double)(i + 1), "call %d x[%lld]", k, (long long)i);
            cr_expect_eq(tjt_at(res[1], i), (double)(i + 4), "call %d c[%lld]", k, (long long)i);
            cr_expect_eq(tjt_at(res[2], i), (double)((i + 1) * (i + 4)), "call %d x*c", k);
            tj_array_set(res[0], &i, -1); /* must reach neither the input nor the constant */
            tj_array_set(res[1], &i, -1);
        }
        for (int o = 0; o < 3; o++)
            tj_array_unref(res[o]);
    }
    tj_array_unref(in);
    tj_ctx_free(ctx);
}
