/* Concurrency: many threads calling one compiled function, updates serialized, independent
 * contexts compiling at the same time. */
#include "support.h"

#include <criterion/criterion.h>
#include <math.h>
#include <pthread.h>
#include <string.h>

enum { CALLS = 10000, N = 16 };

typedef struct {
    tj_fn *f;
    int seed;
    bool into; /* each thread refills its own input and output arrays (tj_call_into) */
    int failures;
} worker;

static double input_value(int seed, int call, int i) { return sin(seed * 7.0 + call * 0.01 + i); }

/* Each call's result is compared bit for bit with the same call made serially beforehand. */
static void *call_many(void *arg)
{
    worker *w = arg;
    int64_t n = N;
    tj_array *kept_x = w->into ? tj_array_new(TJ_FLOAT64, 1, &n) : NULL;
    tj_array *kept_out = w->into ? tj_array_new(TJ_FLOAT64, 1, &n) : NULL;
    for (int c = 0; c < CALLS; c++) {
        double v[N];
        for (int i = 0; i < N; i++)
            v[i] = input_value(w->seed, c, i);
        tj_array *x, *out = kept_out;
        if (w->into) {
            x = tj_array_ref(kept_x);
            memcpy(tj_array_data(x), v, sizeof v);
        } else {
            x = tjt_array(TJ_FLOAT64, 1, &n, v);
        }
        if ((w->into ? tj_call_into(w->f, &x, &out) : tj_call(w->f, &x, &out)) != TJ_OK) {
            w->failures++;
        } else {
            for (int i = 0; i < N; i++) {
                double want = tanh(v[i]) * exp(-v[i] * v[i]);
                if (fabs(tjt_at(out, i) - want) > 1e-14)
                    w->failures++;
            }
            if (!w->into)
                tj_array_unref(out);
        }
        tj_array_unref(x);
    }
    tj_array_unref(kept_x);
    tj_array_unref(kept_out);
    return NULL;
}

static void run_threads(int nthreads, bool into)
{
    tj_ctx *ctx = tj_ctx_new();
    tj_var *x = tj_vector(ctx, TJ_FLOAT64, "x");
    tj_var *y = tj_mul(tj_tanh(x), tj_exp(tj_neg(tj_sqr(x))));
    tj_fn *f = tj_function(ctx, &x, 1, &y, 1, NULL);
    cr_assert(f, "%s", tj_errmsg(ctx));
    pthread_t t[8];
    worker w[8];
    for (int i = 0; i < nthreads; i++) {
        w[i] = (worker){f, i, into, 0};
        pthread_create(&t[i], NULL, call_many, &w[i]);
    }
    for (int i = 0; i < nthreads; i++) {
        pthread_join(t[i], NULL);
        cr_expect_eq(w[i].failures, 0, "thread %d: %d wrong results", i, w[i].failures);
    }
    tj_ctx_free(ctx);
}

Test(threads, two_threads_one_function) { run_threads(2, false); }
Test(threads, eight_threads_one_function) { run_threads(8, false); }
/* Each thread calls with its own arrays: the direct call's memo of the last call's arrays
 * changes hands between threads on almost every call. */
Test(threads, two_threads_into_own_arrays) { run_threads(2, true); }
Test(threads, eight_threads_into_own_arrays) { run_threads(8, true); }

typedef struct {
    tj_fn *f;
    int calls;
} upd_worker;

static void *increment(void *arg)
{
    upd_worker *u = arg;
    for (int c = 0; c < u->calls; c++) {
        tj_array *out;
        if (tj_call(u->f, NULL, &out) == TJ_OK)
            tj_array_unref(out);
    }
    return NULL;
}

/* N calls of w += 1 from 8 threads give exactly N. */
Test(threads, updates_are_serialized)
{
    tj_ctx *ctx = tj_ctx_new();
    tj_array *z = tj_array_scalar(TJ_INT64, 0);
    tj_var *w = tj_shared(ctx, z, "w", false);
    tj_array_unref(z);
    tj_function_opts o = TJ_FUNCTION_OPTS_INIT;
    o.updates = (tj_update[]){{w, tj_addc(w, 1)}};
    o.nupdates = 1;
    tj_fn *f = tj_function(ctx, NULL, 0, &w, 1, &o);
    cr_assert(f, "%s", tj_errmsg(ctx));
    pthread_t t[8];
    upd_worker u = {f, 2000};
    for (int i = 0; i < 8; i++)
        pthread_create(&t[i], NULL, increment, &u);
    for (int i = 0; i < 8; i++)
        pthread_join(t[i], NULL);
    tj_array *final = tj_shared_get(w, false);
    cr_expect_eq(tj_array_get(final, NULL), 16000.0);
    tj_array_unref(final);
    tj_ctx_free(ctx);
}

static void *compile_and_run(void *arg)
{
    int *ok = arg;
    tj_ctx *ctx = tj_ctx_new();
    tj_var *x = tj_vector(ctx, TJ_FLOAT32, "x");
    tj_var *y = tj_sum(tj_sigmoid(tj_mulc(x, *ok + 1)), NULL, 0, false);
    tj_fn *f = tj_function(ctx, &x, 1, &y, 1, NULL);
    int64_t n = 3;
    tj_array *xv = tjt_array(TJ_FLOAT32, 1, &n, (double[]){0, 0, 0}), *out = NULL;
    *ok = f && tj_fn_jitted(f) != tjt_jit_off() && tj_call(f, &xv, &out) == TJ_OK &&
          fabs(tj_array_get(out, NULL) - 1.5) < 1e-6;
    tj_array_unref(out);
    tj_array_unref(xv);
    tj_ctx_free(ctx);
    return NULL;
}

/* Different threads compile different graphs in different contexts at the same time. */
Test(threads, independent_contexts_compile_concurrently)
{
    pthread_t t[4];
    int ok[4];
    for (int i = 0; i < 4; i++) {
        ok[i] = i;
        pthread_create(&t[i], NULL, compile_and_run, &ok[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        cr_expect(ok[i], "thread %d failed", i);
    }
}
