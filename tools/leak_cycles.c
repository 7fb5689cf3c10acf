/* Leak cycles: N times create a context, build sum(sigmoid(x . w)), differentiate, compile
 * (FAST_RUN: LLVM), call, check the values and free everything. Run under valgrind by
 * `make check-valgrind` and as a resident-memory probe: prints the RSS after warm-up and at the
 * end, and fails when a value is wrong.
 *
 *   build/tools/leak-cycles [CYCLES=100] [MODE=fast_run|fast_compile] */
#include "tensorjit.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { ROWS = 6, FEATS = 3 };

static long rss_kb(void)
{
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
            resident = 0;
        fclose(f);
    }
    return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

/* what the cycles did: functions that ran jitted, LLVM compiles, disk-cache loads */
static struct {
    long jitted, llvm, disk;
} seen;

/* one cycle; with x all ones and w all zeros, sigmoid(x . w) = 1/2 on each row, so the cost is
 * ROWS / 2 and d cost / d w[j] = sum over rows of sigmoid' (0) * x = ROWS / 4 */
static int cycle(tj_mode mode, bool free_fn_first)
{
    int bad = 1;
    tj_ctx *ctx = tj_ctx_new();
    if (!ctx)
        return 1;
    tj_var *x = tj_matrix(ctx, TJ_FLOAT64, "x"), *w = tj_vector(ctx, TJ_FLOAT64, "w");
    tj_var *cost = tj_sum(tj_sigmoid(tj_dot(x, w)), NULL, 0, false), *g;
    tj_function_opts o = TJ_FUNCTION_OPTS_INIT;
    o.mode = mode;
    tj_fn *fn = NULL;
    tj_array *xa = NULL, *wa = NULL, *out[2] = {NULL, NULL};
    if (tj_grad(cost, &w, 1, &g) != TJ_OK ||
        !(fn = tj_function(ctx, (tj_var *[]){x, w}, 2, (tj_var *[]){cost, g}, 2, &o)))
        goto done;
    int64_t xs[2] = {ROWS, FEATS}, ws = FEATS;
    xa = tj_array_new(TJ_FLOAT64, 2, xs);
    wa = tj_array_new(TJ_FLOAT64, 1, &ws);
    if (!xa || !wa)
        goto done;
    for (int i = 0; i < ROWS * FEATS; i++)
        ((double *)tj_array_data(xa))[i] = 1;
    if (tj_call(fn, (tj_array *[]){xa, wa}, out) != TJ_OK)
        goto done;
    bad = tj_array_get(out[0], NULL) != ROWS / 2.0;
    for (int64_t j = 0; j < FEATS; j++)
        bad |= tj_array_get(out[1], &j) != ROWS / 4.0;
done:
    if (bad)
        fprintf(stderr, "leak-cycles: %s\n", tj_errmsg(ctx)[0] ? tj_errmsg(ctx) : "wrong values");
    tj_array_unref(out[0]);
    tj_array_unref(out[1]);
    tj_array_unref(xa);
    tj_array_unref(wa);
    tj_stats st;
    tj_ctx_stats(ctx, &st);
    seen.jitted += fn && tj_fn_jitted(fn);
    seen.llvm += (long)st.llvm_compiles;
    seen.disk += (long)st.disk_cache_hits;
    if (free_fn_first) /* else the context frees it */
        tj_fn_free(fn);
    tj_ctx_free(ctx);
    return bad;
}

int main(int argc, char **argv)
{
    long cycles = argc > 1 ? strtol(argv[1], NULL, 10) : 100;
    tj_mode mode = argc > 2 && strcmp(argv[2], "fast_compile") == 0 ? TJ_MODE_FAST_COMPILE
                                                                     : TJ_MODE_FAST_RUN;
    long warm = cycles / 10 > 0 ? cycles / 10 : 1, warm_rss = 0;
    for (long i = 0; i < cycles; i++) {
        if (cycle(mode, i % 2))
            return 1;
        if (i + 1 == warm)
            warm_rss = rss_kb();
    }
    long end_rss = rss_kb();
    printf("leak-cycles: %ld cycles; RSS %ld kB after %ld (warm-up), %ld kB at the end: "
           "%+.1f kB per 1000 cycles; %ld functions jitted, %ld LLVM compiles, %ld disk-cache "
           "loads\n", cycles, warm_rss, warm, end_rss,
           cycles > warm ? (end_rss - warm_rss) * 1000.0 / (double)(cycles - warm) : 0.0,
           seen.jitted, seen.llvm, seen.disk);
    return 0;
}
