/* The compile server (jit/remote.c, jit/server/main.c): the kernels' bytes read back exactly and
 * malformed bytes refused; compiles from scratch run in a server process (this process maps no
 * libLLVM); a server that cannot be found or is not ours leaves the compile to this process; a
 * child made by fork() starts its own server. Crashes of the server are test_jitfault's. */
#include "../jit/backend.h"
#include "../jit/wire.h"
#include "support.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <spawn.h>
#include <sys/socket.h>
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

/* Two kernels: x (float32) cast to float64, times a scalar float64, plus 0.1; and an int32 sum
 * into int64. */
static tj_dtype d1[] = {TJ_FLOAT32, TJ_FLOAT64, TJ_FLOAT64};
static bool s1[] = {false, true};
static tjK_instr c1[] = {{TJK_LOAD, TJ_FLOAT32, {0, -1, -1}, 0},
                         {TJ_OP_CAST, TJ_FLOAT64, {0, -1, -1}, 0},
                         {TJK_LOAD, TJ_FLOAT64, {1, -1, -1}, 0},
                         {TJK_CONST, TJ_FLOAT64, {-1, -1, -1}, 0.1},
                         {TJ_OP_MUL, TJ_FLOAT64, {1, 2, -1}, 0},
                         {TJ_OP_ADD, TJ_FLOAT64, {4, 3, -1}, 0}};
static int32_t o1[] = {5};
static tj_dtype d2[] = {TJ_INT32, TJ_INT64};
static bool s2[] = {false};
static tjK_instr c2[] = {{TJK_LOAD, TJ_INT32, {0, -1, -1}, 0},
                         {TJ_OP_CAST, TJ_INT64, {0, -1, -1}, 0}};
static int32_t o2[] = {1};
static const tjK_kernel k1 = {2, 1, d1, s1, c1, 6, o1, TJ_OP_NONE_, true};
static const tjK_kernel k2 = {1, 1, d2, s2, c2, 2, o2, TJ_OP_SUM, false};

/* Through bytes and back. */
/* An allocator that records the largest block asked for. */
typedef struct {
    size_t most;
} counter;
static counter counting_mem;
static void *count_malloc(void *user, size_t n)
{
    counter *c = user;
    c->most = n > c->most ? n : c->most;
    return malloc(n);
}
static void *count_realloc(void *user, void *p, size_t n)
{
    counter *c = user;
    c->most = n > c->most ? n : c->most;
    return realloc(p, n);
}
static void count_free(void *user, void *p)
{
    (void)user;
    free(p);
}
static const tj_allocator counting = {count_malloc, count_realloc, count_free, &counting_mem};

Test(server, kernels_read_back_exactly)
{
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
    /* counts whose sum overflows an int (fuzz-server's finding 10: UBSan), and counts far
     * beyond the bytes given, which must be refused before any block is taken for them */
    int big[2][3] = {{2000000000, 2000000000, 6}, {2, 1, 1 << 24}};
    for (int t = 0; t < 2; t++) {
        memcpy(longer, bytes, len);
        memcpy(longer + sizeof(int), big[t], sizeof big[t]); /* k1's nin, nout, ncode */
        counting_mem = (counter){0};
        cr_expect_null(tjK_deserialize(&counting, longer, len, &n), "case %d", t);
        cr_expect_lt(counting_mem.most, 4096, "case %d took a block of %zu bytes", t,
                     counting_mem.most);
    }
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

/* No server where TJ_COMPILE_SERVER points, a program that is not a server, "off", or a server
 * that sees another CPU than this process (TJ_JIT_FAULT=cpu; valgrind hides AVX-512 from the
 * process it runs, not from the server): the plugin compiles in this process, same values. */
Test(server, missing_or_foreign_server_compiles_here)
{
    const char *servers[] = {"/nonexistent/tensorjit-llvm-server", "/bin/true", "off", ""};
    for (int i = 0; i < 4; i++) {
        if (servers[i][0]) {
            setenv("TJ_COMPILE_SERVER", servers[i], 1);
        } else {
            unsetenv("TJ_COMPILE_SERVER");
            setenv("TJ_JIT_FAULT", "cpu", 1);
        }
        tj_compile_server_stop(); /* forget that starting failed: try this one */
        tj_ctx *ctx = tj_ctx_new();
        cr_expect(compiles_and_runs(ctx, 2.5 + i), "%s: %s", servers[i], tj_errmsg(ctx));
        cr_expect_eq(tjJ_remote_pid(), 0);
        tj_ctx_free(ctx);
    }
    cr_expect_eq(mapped("libLLVM"), !jit_off());
    unsetenv("TJ_JIT_FAULT");
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

/* Sends a request (n kernels' bytes, symbol names, faults) and returns the answer's status and
 * group count. */
static int32_t ask(int fd, int32_t n, int32_t groups, const void *ser, size_t serlen,
                   const char *const *syms, int nsyms, int32_t *answered_groups)
{
    const tj_allocator mem = {0};
    tjY_buf b = {.mem = &mem};
    int32_t kind = TJW_COMPILE;
    tjY_put(&b, &kind, sizeof kind);
    tjY_put(&b, &n, sizeof n);
    tjY_put(&b, &groups, sizeof groups);
    tjY_put_blob(&b, ser, serlen);
    for (int i = 0; i < nsyms; i++)
        tjY_put_blob(&b, syms[i], strlen(syms[i]));
    tjY_put_blob(&b, "", 0);
    cr_assert(tjW_send(fd, &b), "the server went away");
    free(b.p);
    unsigned char *msg;
    size_t len;
    cr_assert(tjW_recv(fd, &mem, &msg, &len, NULL), "no answer");
    tjY_reader r = {msg, len};
    int32_t st = -1;
    const unsigned char *text;
    size_t tl;
    cr_assert(tjY_take(&r, &st, sizeof st) && tjY_take_blob(&r, &text, &tl) &&
              tjY_take(&r, answered_groups, sizeof *answered_groups));
    cr_expect(st == TJ_OK || tl > 0, "a refusal says why");
    free(msg);
    return st;
}

/* Sends the request in b (then frees it); returns the answer's status and its text (*text,
 * malloc'd, when text is not NULL). */
static int32_t ask_assembly(int fd, tjY_buf *b, char **text)
{
    const tj_allocator mem = {0};
    cr_assert(tjW_send(fd, b), "the server went away");
    free(b->p);
    unsigned char *msg;
    size_t len;
    cr_assert(tjW_recv(fd, &mem, &msg, &len, NULL), "no answer");
    tjY_reader r = {msg, len};
    int32_t st = -1;
    const unsigned char *why, *p;
    size_t wl, pl;
    cr_assert(tjY_take(&r, &st, sizeof st) && tjY_take_blob(&r, &why, &wl) &&
              tjY_take_blob(&r, &p, &pl));
    cr_expect(st == TJ_OK || wl > 0, "a refusal says why");
    if (text && (*text = malloc(pl + 1))) {
        memcpy(*text, p, pl);
        (*text)[pl] = '\0';
    }
    free(msg);
    return st;
}

/* An assembly request for the n texts. */
static tjY_buf *assembly_request(tjY_buf *b, char *const *ir, int n)
{
    static const tj_allocator mem = {0};
    *b = (tjY_buf){.mem = &mem};
    tjW_put_assembly_request(b, ir, n);
    return b;
}

/* The server itself, spoken to directly: malformed requests get an error answer (it stays up),
 * and a well-formed one gets its object. */
Test(server, refuses_malformed_requests_and_stays_up)
{
    char paths[3][4096];
    int n = tjJ_install_paths("tensorjit-llvm-server", paths), which = -1;
    for (int i = 0; i < n && which < 0; i++)
        if (access(paths[i], X_OK) == 0)
            which = i;
    cr_assert(which >= 0, "no tensorjit-llvm-server found");
    int sv[2];
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, sv[1], 3);
    pid_t pid;
    char *argv[] = {paths[which], NULL};
    cr_assert_eq(posix_spawn(&pid, paths[which], &fa, NULL, argv, NULL), 0);
    posix_spawn_file_actions_destroy(&fa);
    close(sv[1]);
    const tj_allocator mem = {0};
    unsigned char *hello;
    size_t hlen;
    cr_assert(tjW_recv(sv[0], &mem, &hello, &hlen, NULL), "no greeting");
    free(hello);
    const tjK_kernel *ks[] = {&k1, &k2};
    size_t len;
    unsigned char *bytes = tjK_serialize(&mem, ks, 2, &len);
    const char *syms[] = {"tjk_test_0", "tjk_test_1"};
    int32_t groups;
    /* an empty message, garbage kernels, counts that do not match, a missing symbol */
    tjY_buf empty = {.mem = &mem};
    cr_assert(tjW_send(sv[0], &empty));
    unsigned char *msg;
    size_t mlen;
    cr_assert(tjW_recv(sv[0], &mem, &msg, &mlen, NULL));
    free(msg);
    cr_expect_neq(ask(sv[0], 2, 1, "garbage", 7, syms, 2, &groups), TJ_OK);
    cr_expect_neq(ask(sv[0], 3, 1, bytes, len, syms, 2, &groups), TJ_OK);
    cr_expect_neq(ask(sv[0], 2, 5, bytes, len, syms, 2, &groups), TJ_OK);
    cr_expect_neq(ask(sv[0], 2, 1, bytes, len, syms, 1, &groups), TJ_OK);
    /* a kernel that fails validation: an instruction reading a later one */
    tjK_instr bad[] = {{TJ_OP_NEG, TJ_FLOAT64, {1, -1, -1}, 0}, {TJK_LOAD, TJ_FLOAT64, {0, -1, -1}, 0}};
    tj_dtype bd[] = {TJ_FLOAT64, TJ_FLOAT64};
    bool bs[] = {false};
    int32_t bo[] = {0};
    tjK_kernel kb = {1, 1, bd, bs, bad, 2, bo, TJ_OP_NONE_, true};
    const tjK_kernel *bks[] = {&kb};
    size_t blen;
    unsigned char *bbytes = tjK_serialize(&mem, bks, 1, &blen);
    cr_expect_neq(ask(sv[0], 1, 1, bbytes, blen, syms, 1, &groups), TJ_OK);
    free(bbytes);
    /* still up: a well-formed request compiles, one object per group */
    cr_expect_eq(ask(sv[0], 2, 2, bytes, len, syms, 2, &groups), TJ_OK);
    cr_expect_eq(groups, 2);
    free(bytes);
    /* assembly requests: malformed ones (no texts, a text with a NUL, IR LLVM cannot parse)
     * are refused; a module's IR comes back as assembly naming its function */
    tjY_buf b;
    cr_expect_neq(ask_assembly(sv[0], assembly_request(&b, NULL, 0), NULL), TJ_OK);
    int32_t head[2] = {TJW_ASSEMBLY, 1};
    b = (tjY_buf){.mem = &mem};
    tjY_put(&b, head, sizeof head);
    tjY_put_blob(&b, "define void @f() {\0 ret void }", 30);
    cr_expect_neq(ask_assembly(sv[0], &b, NULL), TJ_OK);
    char *bad_ir[] = {"this is not IR"};
    cr_expect_neq(ask_assembly(sv[0], assembly_request(&b, bad_ir, 1), NULL), TJ_OK);
    char *ir[] = {"define float @tjk_asm_probe(float %x) {\n  %y = fadd float %x, 1.0\n"
                  "  ret float %y\n}\n"};
    char *text = NULL;
    cr_expect_eq(ask_assembly(sv[0], assembly_request(&b, ir, 1), &text), TJ_OK);
    cr_expect(text && strstr(text, "tjk_asm_probe:") && strstr(text, "ret"), "assembly: %s",
              text);
    free(text);
    close(sv[0]);
    int status;
    cr_expect_eq(waitpid(pid, &status, 0), pid);
    cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the server exits cleanly on EOF");
}
