/* tj-repl end to end, through the built binary: transcripts (tests/repl/NAME.tj run with -k,
 * stdout and stderr together, compared exactly with NAME.out), inspection output checked by
 * content (IR, assembly, graphs change with the optimizer, their essentials do not), script-mode
 * exit codes, the input limits, an interactive session through a pseudo-terminal (line editing,
 * history, completion), and the fuzz corpus replayed by the fuzz target's own code. */
#include "support.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef TJ_REPL_BIN
#error "TJ_REPL_BIN, TJ_REPL_REPLAY_BIN and TJ_REPL_TESTS come from tests/CMakeLists.txt"
#endif

typedef struct {
    char *out; /* stdout and stderr interleaved as written */
    size_t len;
    int status; /* exit code, or 128 + signal */
} run_result;

/* Runs argv in dir with `input` on stdin (NULL: /dev/null). */
static run_result run(const char *const *argv, const char *dir, const char *input, size_t input_len)
{
    char in_path[] = "/tmp/tj-repl-test-XXXXXX";
    int in_fd = -1;
    if (input) {
        in_fd = mkstemp(in_path);
        cr_assert(in_fd >= 0);
        cr_assert_eq(write(in_fd, input, input_len), (ssize_t)input_len);
        lseek(in_fd, 0, SEEK_SET);
        unlink(in_path);
    }
    int pipefd[2];
    cr_assert_eq(pipe(pipefd), 0);
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        if (dir && chdir(dir) != 0)
            _exit(126);
        int in = in_fd >= 0 ? in_fd : open("/dev/null", O_RDONLY);
        dup2(in, 0);
        dup2(pipefd[1], 1);
        dup2(pipefd[1], 2);
        close(pipefd[0]);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(pipefd[1]);
    if (in_fd >= 0)
        close(in_fd);
    run_result r = {0};
    size_t cap = 0;
    for (;;) {
        if (r.len + 4096 > cap) {
            cap = cap ? cap * 2 : 65536;
            r.out = realloc(r.out, cap + 1);
            cr_assert(r.out);
        }
        ssize_t n = read(pipefd[0], r.out + r.len, cap - r.len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        r.len += (size_t)n;
    }
    r.out[r.len] = '\0';
    close(pipefd[0]);
    int st;
    waitpid(pid, &st, 0);
    r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    return r;
}

static run_result run_script_text(const char *text)
{
    const char *argv[] = {TJ_REPL_BIN, "-k", NULL};
    return run(argv, NULL, text, strlen(text));
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *data = malloc((size_t)n + 1);
    size_t got = fread(data, 1, (size_t)n, f);
    fclose(f);
    data[got] = '\0';
    *len = got;
    return data;
}

/* The first line where two texts differ, for the failure message. */
static int first_difference(const char *a, const char *b, char *shown, size_t size)
{
    int line = 1;
    const char *la = a, *lb = b;
    while (*a && *a == *b) {
        if (*a == '\n') {
            line++;
            la = a + 1;
            lb = b + 1;
        }
        a++, b++;
    }
    snprintf(shown, size, "expected: %.*s | got: %.*s", (int)strcspn(lb, "\n"), lb,
             (int)strcspn(la, "\n"), la);
    return line;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

Test(repl, transcripts)
{
    DIR *d = opendir(TJ_REPL_TESTS);
    cr_assert(d, "cannot open %s", TJ_REPL_TESTS);
    char *names[256];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 256) {
        size_t len = strlen(e->d_name);
        if (len > 3 && !strcmp(e->d_name + len - 3, ".tj"))
            names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, (size_t)n, sizeof *names, compare_names);
    cr_assert_geq(n, 6, "the transcripts are missing");
    for (int i = 0; i < n; i++) {
        char expected_path[4096], actual_path[4096];
        size_t elen;
        char *expected = NULL;
        /* under TJ_JIT=off, NAME.jitoff.out when the reference executor's lines differ */
        if (tjt_jit_off()) {
            snprintf(expected_path, sizeof expected_path, "%s/%.*s.jitoff.out", TJ_REPL_TESTS,
                     (int)strlen(names[i]) - 3, names[i]);
            expected = read_file(expected_path, &elen);
        }
        if (!expected) {
            snprintf(expected_path, sizeof expected_path, "%s/%.*s.out", TJ_REPL_TESTS,
                     (int)strlen(names[i]) - 3, names[i]);
            expected = read_file(expected_path, &elen);
        }
        cr_expect(expected, "%s has no expected output %s", names[i], expected_path);
        const char *argv[] = {TJ_REPL_BIN, "-k", names[i], NULL};
        run_result r = run(argv, TJ_REPL_TESTS, NULL, 0);
        if (expected) {
            char shown[512];
            bool same = r.len == elen && !memcmp(r.out, expected, elen);
            if (!same) {
                /* leave the actual output beside the build for `diff` */
                snprintf(actual_path, sizeof actual_path, "/tmp/%s.actual", names[i]);
                FILE *f = fopen(actual_path, "wb");
                if (f) {
                    fwrite(r.out, 1, r.len, f);
                    fclose(f);
                }
                int line = first_difference(expected, r.out, shown, sizeof shown);
                cr_expect(same, "%s: output differs at line %d (%s); full output in %s", names[i],
                          line, shown, actual_path);
            }
            bool expects_errors = strstr(expected, ": error: ") != NULL;
            cr_expect_eq(r.status, expects_errors ? 1 : 0, "%s: exit status %d", names[i],
                         r.status);
        }
        free(expected);
        free(r.out);
        free(names[i]);
    }
}

/* ---- inspection output, checked by content ---- */

static const char *fused_f64 = "v = dvector('v')\n"
                               "f = function([v], tanh(exp(v) * 0.5 + v))\n";

Test(repl, ir_opt_has_the_vectorized_fused_loop)
{
    char script[512];
    snprintf(script, sizeof script, "%s:ir-opt f\n", fused_f64);
    run_result r = run_script_text(script);
    cr_expect_eq(r.status, 0, "%s", r.out);
    if (tjt_jit_off()) { /* no IR: the reason instead */
        cr_expect(strstr(r.out, "has no LLVM IR") && strstr(r.out, "TJ_JIT=off"), "%s", r.out);
        free(r.out);
        return;
    }
    cr_expect(strstr(r.out, "define "), "no function in the IR");
    cr_expect(strstr(r.out, "<4 x double>") || strstr(r.out, "<8 x double>") ||
                  strstr(r.out, "<2 x double>"),
              "no double vector type in the optimized IR");
    cr_expect(strstr(r.out, "vector.body"), "no vectorized loop body");
    free(r.out);

    r = run_script_text("v = fvector('v')\nf = function([v], v * v + 1)\n:ir-opt f\n");
    cr_expect(strstr(r.out, "<8 x float>") || strstr(r.out, "<16 x float>") ||
                  strstr(r.out, "<4 x float>"),
              "no float vector type in the optimized float32 IR");
    free(r.out);
}

Test(repl, ir_before_optimization_has_the_kernel)
{
    char script[512];
    snprintf(script, sizeof script, "%s:ir f\n", fused_f64);
    run_result r = run_script_text(script);
    cr_expect_eq(r.status, 0, "%s", r.out);
    cr_expect(strstr(r.out, tjt_jit_off() ? "TJ_JIT=off" : "define "), "%s", r.out);
    cr_expect(strstr(r.out, tjt_jit_off() ? "has no LLVM IR" : "double"), "%s", r.out);
    free(r.out);
}

Test(repl, asm_graph_and_kernels)
{
    char script[1024];
    snprintf(script, sizeof script,
             "%s:asm f\n:graph f\n"
             "X = dmatrix('X'); w = dvector('w')\n"
             "g = function([X, w], sigmoid(dot(X, w)) * 2)\n"
             ":graph g\n"
             "print('--kernels--')\n"
             ":kernels g\n",
             fused_f64);
    run_result r = run_script_text(script);
    cr_expect_eq(r.status, 0, "%s", r.out);
    cr_expect(strstr(r.out, tjt_jit_off() ? "has no native code" : "ret"),
              "no return instruction in the assembly (or no reason there is none)");
    cr_expect(strstr(r.out, "kernel node"), "no kernel in the graph");
    cr_expect(strstr(r.out, "tanh"), "the graph does not show tanh");
    const char *kernels = strstr(r.out, "--kernels--");
    cr_assert(kernels, "%s", r.out);
    cr_expect(strstr(r.out, "dot") < kernels, "the graph of g shows its dot");
    cr_expect(strstr(kernels, "kernel node"), "the kernels of g: %s", kernels);
    cr_expect(strstr(kernels, "sigmoid"), "the fused kernel's inner expression: %s", kernels);
    cr_expect(!strstr(kernels, "blas node"), ":kernels shows only kernels: %s", kernels);
    free(r.out);
}

Test(repl, rewrites_and_profile)
{
    run_result r = run_script_text("v = dvector('v')\n"
                                   "f = function([v], log(1 + exp(v)) * 2, profile=True)\n"
                                   "f([1.0, 2.0])\n"
                                   ":rewrites f\n"
                                   ":profile f\n");
    cr_expect_eq(r.status, 0, "%s", r.out);
    const char *log = strstr(r.out, "])\n");
    cr_assert(log, "%s", r.out);
    cr_expect(strlen(log) > 40, "the rewrite log and the profile are empty: %s", r.out);
    cr_expect(strstr(r.out, "1 calls"), "the profile counts the call: %s", r.out);
    free(r.out);
}

Test(repl, cache_and_time)
{
    run_result r = run_script_text("x = dvector('x'); y = dvector('y')\n"
                                   "f = function([x], exp(x) * 2)\n"
                                   "g = function([y], exp(y) * 2)\n"
                                   ":cache\n"
                                   ":time f([1.0, 2.0, 3.0])\n"
                                   ":time 2 + 3\n");
    cr_expect_eq(r.status, 0, "%s", r.out);
    /* two identical graphs compile once (or load once from the disk cache), then hit */
    unsigned long long compiles = 9, hits = 9, disk = 9;
    const char *stats = strstr(r.out, "llvm_compiles ");
    cr_assert(stats, "%s", r.out);
    cr_expect_eq(sscanf(stats, "llvm_compiles %llu, cache_hits %llu, disk_cache_hits %llu",
                        &compiles, &hits, &disk),
                 3, "%s", stats);
    cr_expect_eq(compiles + disk, !tjt_jit_off(), "%s", stats);
    cr_expect_eq(hits, !tjt_jit_off(), "%s", stats);
    cr_expect(strstr(r.out, "f([1.0, 2.0, 3.0]): median "), "%s", r.out);
    cr_expect(strstr(r.out, "2 + 3: median "), "%s", r.out);
    cr_expect(strstr(r.out, " runs\n"), "%s", r.out);
    free(r.out);
}

/* ---- script mode ---- */

Test(repl, script_stops_at_the_first_error)
{
    const char *text = "1 + 1\nundefined_name\n2 + 2\n";
    const char *argv[] = {TJ_REPL_BIN, NULL};
    run_result r = run(argv, NULL, text, strlen(text));
    cr_expect_eq(r.status, 1);
    cr_expect_str_eq(r.out, "2\n<stdin>:2:1: error: name 'undefined_name' is not defined\n"
                            "    undefined_name\n    ^\n");
    free(r.out);
    r = run_script_text(text); /* -k */
    cr_expect_eq(r.status, 1);
    cr_expect(strstr(r.out, "\n4\n"), "-k keeps going: %s", r.out);
    free(r.out);
}

Test(repl, quit_ends_the_script)
{
    run_result r = run_script_text("1\n:quit\n2\n");
    cr_expect_eq(r.status, 0);
    cr_expect_str_eq(r.out, "1\n");
    free(r.out);
}

/* ---- limits: errors, never crashes ---- */

static char *repeat(const char *head, const char *unit, int n, const char *tail)
{
    size_t hl = strlen(head), ul = strlen(unit), tl = strlen(tail);
    char *s = malloc(hl + ul * (size_t)n + tl + 1);
    memcpy(s, head, hl);
    for (int i = 0; i < n; i++)
        memcpy(s + hl + ul * (size_t)i, unit, ul);
    memcpy(s + hl + ul * (size_t)n, tail, tl + 1);
    return s;
}

Test(repl, limits_give_errors)
{
    char *parens = repeat("", "(", 100000, "\n");
    run_result r = run_script_text(parens);
    cr_expect_eq(r.status, 1);
    cr_expect(strstr(r.out, "error: brackets nested too deeply (more than 200 levels)"), "%.300s",
              r.out);
    free(r.out);
    free(parens);

    char *minus = repeat("", "-", 100000, "1\n");
    r = run_script_text(minus);
    cr_expect_eq(r.status, 1);
    cr_expect(strstr(r.out, "error: expression nested too deeply"), "%.300s", r.out);
    free(r.out);
    free(minus);

    char *attrs = repeat("x = fscalar('x')\nx", ".T", 100000, "\n");
    r = run_script_text(attrs);
    cr_expect_eq(r.status, 1);
    cr_expect(strstr(r.out, "error: expression nested too deeply"), "%.300s", r.out);
    free(r.out);
    free(attrs);

    /* a long flat sum is not deep: it is evaluated (a left-associative run is a loop) */
    char *sum = repeat("1", "+1", 199999, "\n");
    r = run_script_text(sum);
    cr_expect_eq(r.status, 0, "%.300s", r.out);
    cr_expect_str_eq(r.out, "200000\n");
    free(r.out);
    free(sum);

    char *huge = repeat("x = '", "a", 2 << 20, "'\n");
    r = run_script_text(huge);
    cr_expect_eq(r.status, 1);
    cr_expect(strstr(r.out, "error: input too long"), "%.300s", r.out);
    free(r.out);
    free(huge);
}

/* ---- interactive, through a pseudo-terminal ---- */

typedef struct {
    int fd;
    char buf[1 << 16];
    size_t len;
} terminal;

/* Reads until `needle` appears at or after `from`; returns its offset or -1 after 20 s. */
static long wait_for(terminal *t, size_t from, const char *needle)
{
    time_t deadline = time(NULL) + 20;
    for (;;) {
        t->buf[t->len] = '\0';
        const char *hit = from <= t->len ? strstr(t->buf + from, needle) : NULL;
        if (hit)
            return hit - t->buf;
        if (time(NULL) > deadline || t->len + 1 >= sizeof t->buf)
            return -1;
        struct pollfd p = {t->fd, POLLIN, 0};
        if (poll(&p, 1, 500) > 0) {
            ssize_t n = read(t->fd, t->buf + t->len, sizeof t->buf - 1 - t->len);
            if (n <= 0)
                return -1;
            t->len += (size_t)n;
        }
    }
}

static void type(terminal *t, const char *keys)
{
    cr_assert_eq(write(t->fd, keys, strlen(keys)), (ssize_t)strlen(keys));
}

Test(repl, interactive_editing_history_and_completion)
{
    terminal *t = calloc(1, sizeof *t);
    struct winsize ws = {.ws_row = 24, .ws_col = 100};
    pid_t pid = forkpty(&t->fd, NULL, NULL, &ws);
    cr_assert(pid >= 0);
    if (pid == 0) {
        setenv("TERM", "xterm", 1);
        setenv("TJ_REPL_HISTFILE", "", 1);
        execl(TJ_REPL_BIN, TJ_REPL_BIN, (char *)NULL);
        _exit(127);
    }
    long at = wait_for(t, 0, ">>> ");
    cr_assert(at >= 0, "no prompt: %s", t->buf);
    type(t, "x = 20 + 1\r");
    at = wait_for(t, (size_t)at + 4, ">>> ");
    cr_assert(at >= 0, "no second prompt: %s", t->buf);
    type(t, "x * 2\r");
    long first = wait_for(t, (size_t)at, "42\r\n");
    cr_assert(first >= 0, "no result: %s", t->buf);
    /* up-arrow recalls "x * 2"; Enter runs it again */
    type(t, "\x1b[A");
    cr_assert(wait_for(t, (size_t)first + 4, "x * 2") >= 0, "history did not recall: %s", t->buf);
    type(t, "\r");
    long second = wait_for(t, (size_t)first + 4, "42\r\n");
    cr_assert(second > first, "the recalled line did not run: %s", t->buf);
    /* tab completes a builtin's name */
    type(t, "ones_l\t(zeros(2))\r");
    long z = wait_for(t, (size_t)second, "array([1., 1.])");
    cr_assert(z >= 0, "completion: %s", t->buf);
    /* an error shows a caret under the column, and the session goes on */
    type(t, "1 + nope\r");
    cr_assert(wait_for(t, (size_t)z, "        ^\r\nerror: name 'nope' is not defined") >= 0, "%s",
              t->buf);
    type(t, ":quit\r");
    int st;
    waitpid(pid, &st, 0);
    cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "exit status %d", st);
    close(t->fd);
    free(t);
}

/* ---- the fuzz corpus, replayed by the fuzz target's code built with the normal compiler ---- */

Test(repl, fuzz_corpus_replays_cleanly)
{
    const char *argv[] = {TJ_REPL_REPLAY_BIN, TJ_REPL_TESTS "/corpus", NULL};
    run_result r = run(argv, NULL, NULL, 0);
    cr_expect_eq(r.status, 0, "%.2000s", r.out);
    cr_expect(strstr(r.out, "ran "), "%s", r.out);
    free(r.out);
}
