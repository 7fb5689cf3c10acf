/* Leaks: cycles of create context -> build -> grad -> compile -> call -> free, the seed's logistic
 * regression in each. The default run makes a few cycles in each executor (the ASan run's
 * LeakSanitizer checks that they return everything); TJ_LONG_TESTS=1 makes 10,000 JIT cycles and
 * asserts that resident memory after a warm-up grows by less than 1 MB per 1,000 cycles (so the
 * JIT's resource trackers really release code), printing the figures. */
#include "support.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { ROWS = 4, FEATS = 3 };

/* One cycle: four training steps; returns the cost of the last, checked by the caller. */
static double cycle(tj_mode mode)
{
    tj_ctx *ctx = tj_ctx_new();
    cr_assert(ctx);
    tj_var *x = tj_matrix(ctx, TJ_FLOAT64, "x"), *y = tj_vector(ctx, TJ_FLOAT64, "y");
    int64_t feats = FEATS;
    tj_array *wa = tj_array_new(TJ_FLOAT64, 1, &feats), *ba = tj_array_scalar(TJ_FLOAT64, 0);
    tj_var *w = tj_shared(ctx, wa, "w", false), *b = tj_shared(ctx, ba, "b", false);
    tj_array_unref(wa);
    tj_array_unref(ba);
    tj_var *p = tj_sigmoid(tj_add(tj_dot(x, w), b));
    tj_var *xent = tj_sub(tj_mul(tj_neg(y), tj_log(p)),
                          tj_mul(tj_rsubc(1, y), tj_log(tj_rsubc(1, p))));
    tj_var *cost = tj_mean(xent, NULL, 0, false), *g[2];
    cr_assert_eq(tj_grad(cost, (tj_var *[]){w, b}, 2, g), TJ_OK, "%s", tj_errmsg(ctx));
    tj_update upd[2] = {{w, tj_sub(w, tj_mulc(g[0], 0.5))}, {b, tj_sub(b, tj_mulc(g[1], 0.5))}};
    tj_function_opts o = TJ_FUNCTION_OPTS_INIT;
    o.mode = mode;
    o.updates = upd;
    o.nupdates = 2;
    tj_fn *train = tj_function(ctx, (tj_var *[]){x, y}, 2, &cost, 1, &o);
    cr_assert(train, "%s", tj_errmsg(ctx));
    tj_array *xv = tjt_array(TJ_FLOAT64, 2, (int64_t[]){ROWS, FEATS},
                             (double[]){1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1, 1});
    tj_array *yv = tjt_array(TJ_FLOAT64, 1, (int64_t[]){ROWS}, (double[]){1, 0, 0, 1});
    double last = NAN;
    for (int step = 0; step < 4; step++) {
        tj_array *c = NULL;
        cr_assert_eq(tj_call(train, (tj_array *[]){xv, yv}, &c), TJ_OK, "%s", tj_errmsg(ctx));
        last = tjt_at(c, 0);
        tj_array_unref(c);
    }
    tj_array_unref(xv);
    tj_array_unref(yv);
    tj_ctx_free(ctx); /* frees train with it */
    return last;
}

/* The cost after 4 steps of gradient descent (rate 0.5) from w = 0, b = 0, computed in plain C. */
static double reference_cost(void)
{
    static const double X[ROWS][FEATS] = {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}, {1, 1, 1}};
    static const double Y[ROWS] = {1, 0, 0, 1};
    double w[FEATS] = {0}, b = 0, cost = 0;
    for (int step = 0; step < 4; step++) {
        double gw[FEATS] = {0}, gb = 0;
        cost = 0;
        for (int r = 0; r < ROWS; r++) {
            double z = b;
            for (int k = 0; k < FEATS; k++)
                z += X[r][k] * w[k];
            double p = 1 / (1 + exp(-z));
            cost += (-Y[r] * log(p) - (1 - Y[r]) * log(1 - p)) / ROWS;
            for (int k = 0; k < FEATS; k++)
                gw[k] += (p - Y[r]) * X[r][k] / ROWS;
            gb += (p - Y[r]) / ROWS;
        }
        for (int k = 0; k < FEATS; k++)
            w[k] -= 0.5 * gw[k];
        b -= 0.5 * gb;
    }
    return cost;
}

static double resident_mb(void)
{
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    cr_assert(f);
    cr_assert_eq(fscanf(f, "%ld %ld", &pages, &resident), 2);
    fclose(f);
    return (double)resident * (double)sysconf(_SC_PAGESIZE) / (1024.0 * 1024.0);
}

TestSuite(cycles, .timeout = 7200);

Test(cycles, build_grad_compile_call_free)
{
    double want = reference_cost();
    for (int k = 0; k < 6; k++) {
        double got = cycle(k % 2 ? TJ_MODE_FAST_COMPILE : TJ_MODE_FAST_RUN);
        cr_expect(fabs(got - want) <= 1e-12, "cycle %d: cost %.17g, want %.17g", k, got, want);
    }
}

/* TJ_LONG_TESTS=1: 10,000 JIT cycles (TJ_LONG_CYCLES=n for another count); resident memory
 * measured after the first tenth, a warm-up. */
Test(cycles, ten_thousand_cycles_memory_flat)
{
    const char *env = getenv("TJ_LONG_TESTS"), *count = getenv("TJ_LONG_CYCLES");
    if (!env || strcmp(env, "1") != 0)
        return; /* the default run's cycles are the test above */
    const int TOTAL = count && atoi(count) >= 100 ? atoi(count) : 10000, WARMUP = TOTAL / 10;
    double want = reference_cost(), at_warmup = 0;
    for (int k = 0; k < TOTAL; k++) {
        if (k == WARMUP)
            at_warmup = resident_mb();
        double got = cycle(TJ_MODE_FAST_RUN);
        if (fabs(got - want) > 1e-12)
            cr_assert_fail("cycle %d: cost %.17g, want %.17g", k, got, want);
        if ((k + 1) % WARMUP == 0) /* progress, and the curve of resident memory */
            fprintf(stderr, "cycles: %d done, resident %.1f MB\n", k + 1, resident_mb());
    }
    double end = resident_mb();
    double per_k = (end - at_warmup) / ((TOTAL - WARMUP) / 1000.0);
    fprintf(stderr, "cycles: resident %.1f MB after %d cycles, %.1f MB after %d: %+.3f MB per "
            "1,000 cycles\n", at_warmup, WARMUP, end, TOTAL, per_k);
    cr_expect(per_k < 1.0, "resident memory grows %.3f MB per 1,000 cycles (limit 1)", per_k);
}
