/* The disk cache: a new context (or process) loads compiled code instead of running LLVM; a
 * truncated, corrupted, foreign-version or foreign-key file is detected and rebuilt; two
 * processes compiling the same graph at once both succeed. */
#include "support.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[256];
/* Set in a forked child: a Criterion assertion there reports to the runner a second time, which
 * then waits out the test's timeout, so a child's failed check exits 3 instead. */
static bool in_child;

#define CHECK_IN(report, cond, ...)                                                              \
    do {                                                                                         \
        if (in_child && !(cond)) {                                                               \
            fprintf(stderr, __VA_ARGS__);                                                        \
            fputc('\n', stderr);                                                                 \
            _exit(3);                                                                            \
        }                                                                                        \
        report(cond, __VA_ARGS__);                                                               \
    } while (0)
#define REQUIRE(cond, ...) CHECK_IN(cr_assert, cond, __VA_ARGS__)
#define EXPECT(cond, ...) CHECK_IN(cr_expect, cond, __VA_ARGS__)

static void fresh_dir(void)
{
    snprintf(dir, sizeof dir, "/tmp/tj-diskcache-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    setenv("TJ_CACHE_DIR", dir, 1);
}

/* The one cache file in dir (the test compiles one graph per directory); under TJ_JIT=off
 * nothing is compiled, so there must be none (false). */
static bool cache_file(char *path, size_t len)
{
    DIR *d = opendir(dir);
    cr_assert_not_null(d);
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l > 4 && !strcmp(e->d_name + l - 4, ".tjo")) {
            snprintf(path, len, "%s/%s", dir, e->d_name);
            n++;
        }
    }
    closedir(d);
    cr_assert_eq(n, !tjt_jit_off(), "expected %d cache files, found %d", !tjt_jit_off(), n);
    return n == 1;
}

/* Builds, compiles and runs the graph `variant` in a fresh context; returns the stats and the
 * result at x = 0.5 in *value. */
static tj_stats compile_run(int variant, double *value)
{
    tj_ctx *ctx = tj_ctx_new();
    tj_var *x = tj_vector(ctx, TJ_FLOAT32, "x");
    tj_var *y = variant ? tj_tanh(tj_mulc(x, 3)) : tj_sum(tj_sigmoid(tj_mulc(x, 2)), NULL, 0, false);
    tj_fn *f = tj_function(ctx, &x, 1, &y, 1, NULL);
    REQUIRE(f, "%s", tj_errmsg(ctx));
    REQUIRE(tj_fn_jitted(f) != tjt_jit_off(), "jitted: %d", tj_fn_jitted(f));
    int64_t n = 2;
    tj_array *xv = tjt_array(TJ_FLOAT32, 1, &n, (double[]){0.5, 0.5}), *out;
    REQUIRE(tj_call(f, &xv, &out) == TJ_OK, "%s", tj_errmsg(ctx));
    *value = tjt_at(out, 0);
    char *ir = tj_fn_ir(f, true), *as = tj_fn_asm(f);
    EXPECT(ir && strstr(ir, tjt_jit_off() ? "TJ_JIT=off" : "define"), "IR: %s", ir);
    EXPECT(as && strlen(as) > 100, "assembly or the reason there is none: %s", as);
    free(ir);
    free(as);
    tj_stats st;
    tj_ctx_stats(ctx, &st);
    tj_array_unref(out);
    tj_array_unref(xv);
    tj_ctx_free(ctx);
    return st;
}

static void expect_counts(tj_stats st, uint64_t compiled, uint64_t loaded)
{
    if (tjt_jit_off()) /* the reference executor needs no code */
        compiled = loaded = 0;
    cr_expect(st.llvm_compiles == compiled && st.disk_cache_hits == loaded,
              "compiled: %llu (want %llu), from disk: %llu (want %llu)",
              (unsigned long long)st.llvm_compiles, (unsigned long long)compiled,
              (unsigned long long)st.disk_cache_hits, (unsigned long long)loaded);
}
static void expect_compiled(tj_stats st) { expect_counts(st, 1, 0); }
static void expect_loaded(tj_stats st) { expect_counts(st, 0, 1); }

Test(diskcache, second_context_loads_instead_of_compiling)
{
    fresh_dir();
    double a, b;
    expect_compiled(compile_run(0, &a));
    expect_loaded(compile_run(0, &b));
    cr_expect_eq(a, b);
    cr_expect(fabs(a - 2 / (1 + exp(-1.0))) < 1e-6, "%g", a);
}

/* Damage the file in `how`, then the next context must compile again and repair it. */
static void damaged(void (*how)(const char *path))
{
    fresh_dir();
    double a, b, c;
    expect_compiled(compile_run(0, &a));
    char path[512];
    if (cache_file(path, sizeof path))
        how(path);
    expect_compiled(compile_run(0, &b));
    expect_loaded(compile_run(0, &c));
    cr_expect(a == b && b == c);
}

static void flip_a_byte(const char *path)
{
    FILE *f = fopen(path, "r+b");
    struct stat st;
    stat(path, &st);
    fseek(f, st.st_size / 2, SEEK_SET);
    int ch = fgetc(f);
    fseek(f, st.st_size / 2, SEEK_SET);
    fputc(ch ^ 0x5a, f);
    fclose(f);
}

static void truncate_half(const char *path)
{
    struct stat st;
    stat(path, &st);
    cr_assert_eq(truncate(path, st.st_size / 2), 0);
}

static void other_version(const char *path)
{
    FILE *f = fopen(path, "r+b");
    fseek(f, 8, SEEK_SET); /* the format version follows the 8-byte magic */
    uint32_t v = 999;
    fwrite(&v, sizeof v, 1, f);
    fclose(f);
}

Test(diskcache, corrupted_file_is_rebuilt) { damaged(flip_a_byte); }
Test(diskcache, truncated_file_is_rebuilt) { damaged(truncate_half); }
Test(diskcache, foreign_version_is_rebuilt) { damaged(other_version); }

/* A valid file of another graph under this graph's name: its key does not match. */
Test(diskcache, foreign_key_is_rebuilt)
{
    fresh_dir();
    double a, b;
    expect_compiled(compile_run(1, &a));
    char other[512];
    bool jit = cache_file(other, sizeof other);
    char moved[600];
    snprintf(moved, sizeof moved, "%s.keep", other);
    cr_assert(!jit || rename(other, moved) == 0);
    expect_compiled(compile_run(0, &b));
    char mine[512];
    if (cache_file(mine, sizeof mine)) /* graph 1's bytes where graph 0's file belongs */
        cr_assert_eq(rename(moved, mine), 0);
    double c;
    expect_compiled(compile_run(0, &c));
    cr_expect_eq(b, c);
}

Test(diskcache, two_processes_compile_the_same_graph_at_once)
{
    fresh_dir();
    pid_t kids[2];
    for (int i = 0; i < 2; i++) {
        kids[i] = fork();
        if (kids[i] == 0) {
            in_child = true;
            double v;
            tj_stats st = compile_run(0, &v);
            _exit(st.llvm_compiles + st.disk_cache_hits == !tjt_jit_off() &&
                          fabs(v - 2 / (1 + exp(-1.0))) < 1e-6
                      ? 0
                      : 1);
        }
    }
    for (int i = 0; i < 2; i++) {
        int status;
        waitpid(kids[i], &status, 0);
        cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, "process %d failed", i);
    }
    double v;
    expect_loaded(compile_run(0, &v));
}

Test(diskcache, off_means_no_files)
{
    fresh_dir();
    setenv("TJ_CACHE_DIR", "off", 1);
    double a;
    expect_compiled(compile_run(0, &a));
    expect_compiled(compile_run(0, &a));
}

/* True when a file whose path contains `name` is mapped into this process. */
static bool mapped(const char *name)
{
    FILE *f = fopen("/proc/self/maps", "r");
    cr_assert_not_null(f);
    char line[4096];
    bool found = false;
    while (!found && fgets(line, sizeof line, f))
        found = strstr(line, name) != NULL;
    fclose(f);
    return found;
}

/* LLVM runs in the compile server: a process that compiles from scratch (round 0) or loads
 * from the disk cache (round 1), and asks for the assembly, never maps libLLVM (about 46 MB resident when it does). With
 * TJ_COMPILE_SERVER=off (round 2, a fresh cache) the plugin compiles in the process, which then
 * maps it. Each round runs in a new process. */
Test(diskcache, processes_map_no_llvm)
{
    fresh_dir();
    for (int round = 0; round < 3; round++) {
        if (round == 2)
            fresh_dir();
        pid_t kid = fork();
        if (kid == 0) {
            if (round == 2)
                setenv("TJ_COMPILE_SERVER", "off", 1);
            tj_ctx *ctx = tj_ctx_new();
            tj_var *x = tj_vector(ctx, TJ_FLOAT32, "x");
            tj_var *y = tj_sum(tj_sigmoid(tj_mulc(x, 2)), NULL, 0, false);
            tj_fn *f = tj_function(ctx, &x, 1, &y, 1, NULL);
            int64_t n = 2;
            tj_array *xv = tjt_array(TJ_FLOAT32, 1, &n, (double[]){0.5, 0.5}), *out = NULL;
            bool ok = f && tj_call(f, &xv, &out) == TJ_OK &&
                      fabs(tjt_at(out, 0) - 2 / (1 + exp(-1.0))) < 1e-6;
            tj_stats st;
            tj_ctx_stats(ctx, &st);
            bool jit = !tjt_jit_off();
            ok = ok && st.llvm_compiles == (uint64_t)(jit && round != 1) &&
                 st.disk_cache_hits == (uint64_t)(jit && round == 1);
            char *as = tj_fn_asm(f); /* the server prints it too */
            ok = ok && as && (!jit || strstr(as, "tjk_"));
            free(as);
            bool llvm = mapped("libLLVM") || mapped("tensorjit-llvm");
            tj_array_unref(out);
            tj_array_unref(xv);
            tj_ctx_free(ctx);
            _exit(!ok ? 1 : llvm != (jit && round == 2) ? 2 : 0);
        }
        int status;
        waitpid(kid, &status, 0);
        cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                  "round %d: exit %d (1: wrong value or counts; 2: libLLVM %s)", round,
                  WEXITSTATUS(status), round == 2 ? "not mapped" : "mapped");
    }
}
