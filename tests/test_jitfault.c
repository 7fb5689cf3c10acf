/* JIT faults (issue 7): a failure injected at IR verification, module add, symbol lookup,
 * object-cache load or a crash of the compile server (TJ_JIT_FAULT) leaves a working function that runs in the reference
 * executor, says why (tj_fn_jit_reason) and logs it; values match a float64 computation here.
 * Under TJ_JIT=off (the suite's JIT-off pass) the fault point is never reached: the function
 * reports the JIT-off reason instead. */
#include "support.h"

#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static bool jit_off(void)
{
    const char *e = getenv("TJ_JIT");
    return e && !strcmp(e, "off");
}

typedef struct {
    char text[4096];
    int lines;
} log_buf;

static void capture(void *user, const char *message)
{
    log_buf *l = user;
    size_t used = strlen(l->text);
    snprintf(l->text + used, sizeof l->text - used, "%s\n", message);
    l->lines++;
}

enum { LEN = 7 };
static const double xs[LEN] = {-3, -1.25, -0.5, 0, 0.75, 2, 4.5};

/* y = 2 sigmoid(x) + x^2 elementwise, s = sum(y): a fused kernel and a reduction. */
static double y_of(double x) { return 2 / (1 + exp(-x)) + x * x; }

/* Compiles the graph in FAST_RUN in ctx (logging into l), runs it on xs and checks the values
 * against y_of; returns the function (owned by ctx). */
static tj_fn *compile_check(tj_ctx *ctx, log_buf *l)
{
    tj_ctx_set_log(ctx, capture, l);
    tj_var *x = tj_vector(ctx, TJ_FLOAT64, "x");
    tj_var *y = tj_add(tj_mulc(tj_sigmoid(x), 2), tj_mul(x, x));
    tj_var *outs[2] = {y, tj_sum(y, NULL, 0, false)};
    tj_fn *f = tj_function(ctx, &x, 1, outs, 2, NULL);
    cr_assert(f, "%s", tj_errmsg(ctx));
    int64_t n = LEN;
    tj_array *in = tj_array_from_data(TJ_FLOAT64, 1, &n, xs), *out[2];
    cr_assert_eq(tj_call(f, &in, out), TJ_OK, "%s", tj_errmsg(ctx));
    double sum = 0;
    for (int64_t i = 0; i < LEN; i++) {
        sum += y_of(xs[i]);
        cr_expect(fabs(tj_array_get(out[0], &i) - y_of(xs[i])) <= 1e-12 * fmax(1, y_of(xs[i])),
                  "y[%lld] = %.17g, expected %.17g", (long long)i, tj_array_get(out[0], &i),
                  y_of(xs[i]));
    }
    cr_expect(fabs(tj_array_get(out[1], NULL) - sum) <= 1e-12 * sum, "sum = %.17g, expected %.17g",
              tj_array_get(out[1], NULL), sum);
    tj_array_unref(out[0]);
    tj_array_unref(out[1]);
    tj_array_unref(in);
    return f;
}

/* f fell back because of the fault `point`: not jitted, the reason names the injected fault,
 * the log has one line saying so. Under TJ_JIT=off: the JIT-off reason, nothing logged. */
static void expect_fallback(tj_ctx *ctx, tj_fn *f, const log_buf *l, const char *point)
{
    cr_expect_not(tj_fn_jitted(f));
    tj_stats st;
    tj_ctx_stats(ctx, &st);
    cr_expect_eq(st.llvm_compiles + st.disk_cache_hits, 0, "no code was kept");
    char what[64];
    /* the cache fault surfaces as the loader rejecting the object from the disk cache */
    snprintf(what, sizeof what, "%s",
             jit_off() ? "TJ_JIT=off" : !strcmp(point, "cache") ? "from the disk cache" : point);
    if (!jit_off() && strcmp(point, "cache"))
        snprintf(what, sizeof what, "TJ_JIT_FAULT=%s", point);
    if (!jit_off() && !strcmp(point, "server")) /* a crash names no fault, only the death */
        snprintf(what, sizeof what, "compile server");
    cr_expect(strstr(tj_fn_jit_reason(f), what), "reason '%s' names %s", tj_fn_jit_reason(f),
              what);
    if (jit_off()) {
        cr_expect_eq(l->lines, 0, "JIT off is not a fault: nothing logged, got: %s", l->text);
        return;
    }
    cr_expect_eq(l->lines, 1, "one log line, got: %s", l->text);
    cr_expect(strstr(l->text, what) && strstr(l->text, "reference executor"),
              "the log names the fault and the fallback: %s", l->text);
    char *ir = tj_fn_ir(f, true);
    cr_expect(ir && strstr(ir, "reference executor") && strstr(ir, what), "IR text: %s", ir);
    free(ir);
}

/* Without a fault the same graph is jitted (so the fallback below is the fault's doing). */
Test(jitfault, baseline_is_jitted)
{
    tj_ctx *ctx = tj_ctx_new();
    log_buf l = {0};
    tj_fn *f = compile_check(ctx, &l);
    cr_expect_eq(tj_fn_jitted(f), !jit_off());
    cr_expect_str_eq(tj_fn_jit_reason(f), jit_off() ? "the JIT is off (TJ_JIT=off)" : "");
    cr_expect_eq(l.lines, 0, "%s", l.text);
    tj_ctx_free(ctx);
}

/* server: the compile server dies during the compile (as an LLVM crash would) */
static const char *const points[] = {"verify", "add", "lookup", "server"};

ParameterizedTestParameters(jitfault, point)
{
    static int which[] = {0, 1, 2, 3};
    return cr_make_param_array(int, which, 4);
}

/* The fault at each point: a working function in the reference executor, reported; a second
 * compile of the graph under the fault falls back again (no half-made code was cached); with
 * the fault gone the same context compiles it (after a server crash: in a new server). */
ParameterizedTest(int *which, jitfault, point)
{
    const char *const *point = &points[*which];
    setenv("TJ_JIT_FAULT", *point, 1);
    tj_ctx *ctx = tj_ctx_new();
    log_buf l = {0};
    tj_fn *f = compile_check(ctx, &l);
    expect_fallback(ctx, f, &l, *point);
    log_buf l2 = {0};
    tj_fn *g = compile_check(ctx, &l2);
    expect_fallback(ctx, g, &l2, *point);
    unsetenv("TJ_JIT_FAULT");
    log_buf l3 = {0};
    tj_fn *h = compile_check(ctx, &l3);
    cr_expect_eq(tj_fn_jitted(h), !jit_off());
    tj_ctx_free(ctx);
}

/* A fresh context compiling under TJ_JIT_FAULT=faults falls back at `point`. */
static void faulted_context(const char *faults, const char *point)
{
    setenv("TJ_JIT_FAULT", faults, 1);
    tj_ctx *ctx = tj_ctx_new();
    log_buf l = {0};
    tj_fn *f = compile_check(ctx, &l);
    expect_fallback(ctx, f, &l, point);
    tj_ctx_free(ctx);
    unsetenv("TJ_JIT_FAULT");
}

/* A list of points fails at the first reached (verification comes before the add). */
Test(jitfault, list_of_points) { faulted_context("lookup,verify", "verify"); }

/* The object-cache fault: a cache file whose object LLVM cannot load (the checksum passes) makes
 * the next context fall back; a context after the fault loads the same file and jits. */
Test(jitfault, cache_load)
{
    char dir[] = "/tmp/tj-jitfault-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    setenv("TJ_CACHE_DIR", dir, 1);
    tj_ctx *first = tj_ctx_new();
    log_buf l0 = {0};
    cr_expect_eq(tj_fn_jitted(compile_check(first, &l0)), !jit_off());
    tj_ctx_free(first);

    faulted_context("cache", "cache");
    tj_ctx *after = tj_ctx_new();
    log_buf l2 = {0};
    cr_expect_eq(tj_fn_jitted(compile_check(after, &l2)), !jit_off());
    tj_stats st;
    tj_ctx_stats(after, &st);
    cr_expect_eq(st.disk_cache_hits, jit_off() ? 0 : 1, "the file itself was fine");
    tj_ctx_free(after);

    DIR *d = opendir(dir);
    cr_assert_not_null(d);
    for (struct dirent *e; (e = readdir(d));) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (e->d_name[0] != '.')
            unlink(path);
    }
    closedir(d);
    cr_expect_eq(rmdir(dir), 0);
}

/* Without its LLVM plugin the library still works: a compile from scratch falls back to the
 * reference executor and the reason names the plugin and where to point TJ_LLVM_PLUGIN. (Each
 * Criterion test runs in a new process, so the plugin is not loaded yet here.) */
Test(jitfault, missing_llvm_plugin)
{
    setenv("TJ_LLVM_PLUGIN", "/nonexistent/libtensorjit-llvm.so", 1);
    tj_ctx *ctx = tj_ctx_new();
    log_buf l = {0};
    tj_fn *f = compile_check(ctx, &l);
    cr_expect_not(tj_fn_jitted(f));
    const char *why = tj_fn_jit_reason(f);
    cr_expect(jit_off() ? strstr(why, "TJ_JIT=off") != NULL
                        : strstr(why, "LLVM plugin") && strstr(why, "TJ_LLVM_PLUGIN") &&
                              strstr(why, "/nonexistent/libtensorjit-llvm.so"),
              "reason: %s", why);
    cr_expect_eq(l.lines, !jit_off(), "one log line: %s", l.text);
    tj_ctx_free(ctx);
    unsetenv("TJ_LLVM_PLUGIN");
}
