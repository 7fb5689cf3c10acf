/* The compile server (jit/remote.c, jit/server/main.c): the kernels' bytes read back exactly and
 * malformed bytes refused; compiles from scratch run in a server process (this process maps no
 * libLLVM); a server that cannot be found or is not ours leaves the compile to this process; a
 * child made by fork() starts its own server. Crashes of the server are test_jitfault's. */
#include "../jit/backend.h"
#include "support.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static bool jit_off(void) { return tjt_jit_off(); }

/* exp(x) * 3 + y over float32 vectors, compiled and called; the values against float64. */
static bool compiles_and_runs(tj_ctx *ctx, double scale)
{
    tj_var *x = tj_vector(ctx, TJ_FLOAT32, "x"), *y = tj_vector(ctx, TJ_FLOAT32, "y");
    tj_var *z = tj_add(tj_mulc(tj_exp(x), scale), y);
    tj_fn *f = tj_function(ctx, (tj_var *[]){x, y}, 2, &z, 1, NULL);
    if (!f || tj_fn_jitted(f) == jit_off())
        return false;
    int64_t n = 5;
    tj_array *xv = tjt_array(TJ_FLOAT32, 1, &n, (double[]){-2, -0.5, 0, 0.25, 3});
    tj_array *yv = tjt_array(TJ_FLOAT32, 1, &n, (double[]){1, 2, 3, 4, 5}), *out = NULL;
    bool ok = tj_call(f, (tj_array *[]){xv, yv}, &out) == TJ_OK;
    for (int64_t i = 0; ok && i < n; i++) {
        double want = exp(tjt_at(xv, i)) * scale + tjt_at(yv, i);
        ok = fabs(tjt_at(out, i) - want) <= 1e-6 * fabs(want);
    }
    tj_array_unref(out);
    tj_array_unref(xv);
    tj_array_unref(yv);
    return ok;
}

static bool mapped(const char *name)
{
    FILE *f = fopen("/proc/self/maps", "r");
    char line[1024];
    bool found = false;
    while (f && !found && fgets(line, sizeof line, f))
        found = strstr(line, name) != NULL;
    if (f)
        fclose(f);
    return found;
}

/* Two kernels (an elementwise one with a constant and a reduction) through bytes and back. */
Test(server, kernels_read_back_exactly)
{
    tj_dtype d1[] = {TJ_FLOAT32, TJ_FLOAT64, TJ_FLOAT64};
    bool s1[] = {false, true};
    tjK_instr c1[] = {{TJK_LOAD, TJ_FLOAT32, {0, -1, -1}, 0},
                      {TJ_OP_CAST, TJ_FLOAT64, {0, -1, -1}, 0},
                      {TJK_LOAD, TJ_FLOAT64, {1, -1, -1}, 0},
                      {TJK_CONST, TJ_FLOAT64, {-1, -1, -1}, 0.1},
                      {TJ_OP_MUL, TJ_FLOAT64, {1, 2, -1}, 0},
                      {TJ_OP_ADD, TJ_FLOAT64, {4, 3, -1}, 0}};
    int32_t o1[] = {5};
    tjK_kernel k1 = {2, 1, d1, s1, c1, 6, o1, TJ_OP_NONE_, true};
    tj_dtype d2[] = {TJ_INT32, TJ_INT64};
    bool s2[] = {false};
    tjK_instr c2[] = {{TJK_LOAD, TJ_INT32, {0, -1, -1}, 0}, {TJ_OP_CAST, TJ_INT64, {0, -1, -1}, 0}};
    int32_t o2[] = {1};
    tjK_kernel k2 = {1, 1, d2, s2, c2, 2, o2, TJ_OP_SUM, false};
    const tjK_kernel *ks[] = {&k1, &k2};
    const tj_allocator mem = {0};
    size_t len, len2;
    unsigned char *bytes = tjK_serialize(&mem, ks, 2, &len);
    cr_assert_not_null(bytes);
    int n = 0;
    tjK_kernel **back = tjK_deserialize(&mem, bytes, len, &n);
    cr_assert(back && n == 2);
    cr_expect(back[0]->nin == 2 && back[0]->nout == 1 && back[0]->ncode == 6 &&
              back[0]->reduce == TJ_OP_NONE_ && back[0]->flat && back[0]->scalar[1] &&
              back[0]->code[3].value == 0.1 && back[0]->out_instr[0] == 5);
    cr_expect(back[1]->reduce == TJ_OP_SUM && !back[1]->flat && back[1]->dtype[1] == TJ_INT64);
    unsigned char *again = tjK_serialize(&mem, (const tjK_kernel *const *)back, n, &len2);
    cr_expect(again && len2 == len && !memcmp(again, bytes, len), "the bytes survive a round");
    tjK_free_all(&mem, back, n);
    free(again);
    /* every shorter prefix and one trailing byte are refused */
    for (size_t cut = 0; cut < len; cut++) {
        back = tjK_deserialize(&mem, bytes, cut, &n);
        cr_expect(back == NULL && n == 0, "a prefix of %zu of %zu bytes was accepted", cut, len);
    }
    unsigned char *longer = malloc(len + 1);
    memcpy(longer, bytes, len);
    longer[len] = 0;
    cr_expect_null(tjK_deserialize(&mem, longer, len + 1, &n));
    /* a count or a size out of range */
    int huge = 1 << 30;
    memcpy(longer, &huge, sizeof huge);
    cr_expect_null(tjK_deserialize(&mem, longer, len, &n));
    memcpy(longer, bytes, len);
    int negative = -1;
    memcpy(longer + sizeof(int), &negative, sizeof negative); /* k1's nin */
    cr_expect_null(tjK_deserialize(&mem, longer, len, &n));
    free(longer);
    free(bytes);
}

/* A compile from scratch runs in the server: a server runs, and this process maps no LLVM. */
Test(server, compiles_in_another_process)
{
    tj_ctx *ctx = tj_ctx_new();
    cr_expect(compiles_and_runs(ctx, 3));
    cr_expect_eq(tjJ_remote_pid() > 0, !jit_off());
    cr_expect_not(mapped("libLLVM"), "this process mapped libLLVM");
    tj_stats st;
    tj_ctx_stats(ctx, &st);
    cr_expect_eq(st.llvm_compiles, jit_off() ? 0u : 1u);
    int first = tjJ_remote_pid();
    cr_expect(compiles_and_runs(ctx, 4)); /* the same server again */
    cr_expect_eq(tjJ_remote_pid(), first);
    tj_ctx_free(ctx);
    cr_expect_eq(tj_compile_server_stop(), first);
    cr_expect_eq(tjJ_remote_pid(), 0);
}

/* No server where TJ_COMPILE_SERVER points, a program that is not a server, or "off": the
 * plugin compiles in this process, with the same values. */
Test(server, missing_or_foreign_server_compiles_here)
{
    const char *servers[] = {"/nonexistent/tensorjit-llvm-server", "/bin/true", "off"};
    for (int i = 0; i < 3; i++) {
        setenv("TJ_COMPILE_SERVER", servers[i], 1);
        tj_compile_server_stop(); /* forget that starting failed: try this one */
        tj_ctx *ctx = tj_ctx_new();
        cr_expect(compiles_and_runs(ctx, 2.5 + i), "%s: %s", servers[i], tj_errmsg(ctx));
        cr_expect_eq(tjJ_remote_pid(), 0);
        tj_ctx_free(ctx);
    }
    cr_expect_eq(mapped("libLLVM"), !jit_off());
    unsetenv("TJ_COMPILE_SERVER");
}

/* A child made by fork() after its parent started a server starts its own; the parent's keeps
 * serving the parent. */
Test(server, forked_child_starts_its_own)
{
    tj_ctx *ctx = tj_ctx_new();
    cr_assert(compiles_and_runs(ctx, 1.5));
    int parent_server = tjJ_remote_pid();
    pid_t kid = fork();
    if (kid == 0) {
        tj_ctx *c2 = tj_ctx_new();
        bool ok = compiles_and_runs(c2, 7);
        int mine = tjJ_remote_pid();
        tj_ctx_free(c2);
        tj_compile_server_stop();
        _exit(!ok ? 1 : !jit_off() && (mine == 0 || mine == parent_server) ? 2 : 0);
    }
    int status;
    waitpid(kid, &status, 0);
    cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child: exit %d",
              WEXITSTATUS(status));
    cr_expect(compiles_and_runs(ctx, 8));
    cr_expect_eq(tjJ_remote_pid(), parent_server);
    tj_ctx_free(ctx);
}

/* Whether process pid has exited (a zombie until its parent reaps it). */
static bool exited(int pid)
{
    char path[64], state = '?';
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return true;
    bool read = fscanf(f, "%*d %*s %c", &state) == 1;
    fclose(f);
    return read && state == 'Z';
}

/* A server idle for $TJ_COMPILE_SERVER_IDLE seconds exits by itself (its memory goes back);
 * the next compile starts another, with no error. */
Test(server, idle_server_exits_and_is_replaced)
{
    setenv("TJ_COMPILE_SERVER_IDLE", "0.3", 1);
    tj_ctx *ctx = tj_ctx_new();
    cr_assert(compiles_and_runs(ctx, 1.25), "%s", tj_errmsg(ctx));
    int first = tjJ_remote_pid();
    usleep(900 * 1000);
    if (!jit_off())
        cr_expect(exited(first), "the idle server %d is still running", first);
    cr_expect(compiles_and_runs(ctx, 2.25), "%s", tj_errmsg(ctx));
    if (!jit_off())
        cr_expect(tjJ_remote_pid() > 0 && tjJ_remote_pid() != first);
    tj_ctx_free(ctx);
}
