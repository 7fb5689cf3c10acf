/* The context allocator (issue 7, allocation failure): a counting hook sees every block the
 * library allocates for a context, every block comes back through it (also after the context is
 * freed, when the arrays go), and failing the Nth hooked allocation gives TJ_ERR_NOMEM or
 * success, leaks nothing, frees nothing the hook did not make, and leaves the context usable.
 *
 * Which N are tried (each N is a fresh context):
 *   - the seed's logistic regression (build -> grad -> tj_function -> tj_call): every N in
 *     FAST_COMPILE and in FAST_RUN with TJ_JIT=off (the plan run by the reference executor); in
 *     FAST_RUN with the JIT over a warm disk cache, every N from where the JIT starts (engine,
 *     code cache, cache load, linking, the call) and every 16th N before (the same allocations
 *     as under TJ_JIT=off, but the disarmed rerun then starts the JIT in the failed context);
 *   - a two-kernel function compiled by LLVM on two threads (no disk cache): every N of the
 *     JIT compile window (lowering, IR texts, objects, module);
 *   - the seed's own cold LLVM compile (no disk cache): every N from its JIT window to the end
 *     of the call (~100 N, ~12 s; each N compiles its kernels with LLVM).
 * A JIT window is found as the allocations a tj_function makes beyond the same compile under
 * TJ_JIT=off (jit_window).
 * Misrouted frees show here as foreign frees (a C-library block given to the hook) and under
 * ASan as a bad free (a hook block, which starts after its header, given to free()). */
#include "support.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Each block carries a header so frees of blocks the hook did not make are caught. */
#define BLOCK_MAGIC 0x7a11c0deu
typedef struct {
    uint32_t magic;
    size_t size;
    _Alignas(16) unsigned char mem[];
} block;

/* The library calls the hook from several threads at once (LLVM compiles kernels in parallel,
 * large steps run on the thread pool): the counts are kept under a lock. */
typedef struct {
    long live, total;
    long fail_at; /* the 1-based allocation that fails; 0: none */
    long foreign; /* frees of pointers the hook did not allocate */
} counter;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static void count(long *field, long delta)
{
    pthread_mutex_lock(&lock);
    *field += delta;
    pthread_mutex_unlock(&lock);
}

static void *hook_malloc(void *user, size_t size)
{
    counter *c = user;
    pthread_mutex_lock(&lock);
    bool fail = ++c->total == c->fail_at;
    pthread_mutex_unlock(&lock);
    block *b = fail ? NULL : malloc(sizeof *b + size);
    if (!b)
        return NULL;
    b->magic = BLOCK_MAGIC;
    b->size = size;
    count(&c->live, 1);
    return b->mem;
}

static block *block_of(counter *c, void *p)
{
    block *b = (block *)((unsigned char *)p - offsetof(block, mem));
    if (b->magic != BLOCK_MAGIC) {
        count(&c->foreign, 1);
        return NULL;
    }
    return b;
}

static void hook_free(void *user, void *p)
{
    counter *c = user;
    block *b = block_of(c, p);
    if (!b)
        return;
    b->magic = 0;
    count(&c->live, -1);
    free(b);
}

static void *hook_realloc(void *user, void *p, size_t size)
{
    counter *c = user;
    block *old = block_of(c, p);
    if (!old)
        return NULL;
    void *q = hook_malloc(user, size);
    if (!q)
        return NULL;
    memcpy(q, p, old->size < size ? old->size : size);
    hook_free(user, p);
    return q;
}

static tj_allocator hook(counter *c)
{
    return (tj_allocator){hook_malloc, hook_realloc, hook_free, c};
}

static counter cnt;           /* the counter of the every-N runs */
static long fn_begin, fn_end; /* its count before and after a path's tj_function */

/* ---- the seed's logistic regression ---- */

enum { N = 4, FEATS = 3 };
static const double X[N * FEATS] = {0.5, -1, 2, 1.5, 0.25, -0.5, -2, 1, 0, 0.75, 0.5, -1.25};
static const double Y[N] = {1, 0, 0, 1};
static const double W0[FEATS] = {0.1, -0.2, 0.3};

/* Builds the graph and the training function in ctx: TJ_OK, or the first failure. */
static tj_status build(tj_ctx *ctx, tj_mode mode, tj_fn **train, tj_var **wout)
{
    *train = NULL;
    int64_t nf = FEATS;
    tj_array *w0 = tj_array_from_data(TJ_FLOAT64, 1, &nf, W0);
    tj_array *b0 = tj_array_scalar(TJ_FLOAT64, 0);
    tj_var *x = tj_matrix(ctx, TJ_FLOAT64, "x"), *y = tj_vector(ctx, TJ_FLOAT64, "y");
    tj_var *w = tj_shared(ctx, w0, "w", false), *b = tj_shared(ctx, b0, "b", false);
    tj_array_unref(w0);
    tj_array_unref(b0);
    tj_var *p = tj_rdivc(1, tj_addc(tj_exp(tj_sub(tj_neg(tj_dot(x, w)), b)), 1));
    tj_var *xent = tj_sub(tj_mul(tj_neg(y), tj_log(p)),
                          tj_mul(tj_rsubc(1, y), tj_log(tj_rsubc(1, p))));
    tj_var *cost = tj_mean(xent, NULL, 0, false);
    tj_var *g[2];
    if (!cost || tj_grad(cost, (tj_var *[]){w, b}, 2, g) != TJ_OK)
        return tj_errcode(ctx);
    tj_update upd[2] = {{w, tj_sub(w, tj_mulc(g[0], 0.5))}, {b, tj_sub(b, tj_mulc(g[1], 0.5))}};
    if (tj_errcode(ctx) != TJ_OK) /* a builder failed: the first failure is recorded */
        return tj_errcode(ctx);
    tj_function_opts o = TJ_FUNCTION_OPTS_INIT;
    o.mode = mode;
    o.updates = upd;
    o.nupdates = 2;
    fn_begin = cnt.total;
    *train = tj_function(ctx, (tj_var *[]){x, y}, 2, &cost, 1, &o);
    fn_end = cnt.total;
    *wout = w;
    return *train ? TJ_OK : tj_errcode(ctx);
}

/* One step by hand: the cost and the updated w (float64). */
static double reference(double *w)
{
    double dz[N], cost = 0;
    for (int i = 0; i < N; i++) {
        double z = 0;
        for (int j = 0; j < FEATS; j++)
            z += X[i * FEATS + j] * W0[j];
        double p = 1 / (1 + exp(-z));
        cost += (-Y[i] * log(p) - (1 - Y[i]) * log(1 - p)) / N;
        dz[i] = (p - Y[i]) / N;
    }
    for (int j = 0; j < FEATS; j++) {
        w[j] = W0[j];
        for (int i = 0; i < N; i++)
            w[j] -= 0.5 * X[i * FEATS + j] * dz[i];
    }
    return cost;
}

/* Builds and calls once; on success checks the values. */
static tj_status path_logreg(tj_ctx *ctx, tj_mode mode)
{
    tj_fn *f;
    tj_var *w = NULL;
    tj_status st = build(ctx, mode, &f, &w);
    if (st != TJ_OK)
        return st;
    int64_t xs[2] = {N, FEATS}, n = N;
    tj_array *xa = tj_array_from_data(TJ_FLOAT64, 2, xs, X);
    tj_array *ya = tj_array_from_data(TJ_FLOAT64, 1, &n, Y), *out;
    st = tj_call(f, (tj_array *[]){xa, ya}, &out);
    tj_array_unref(xa);
    tj_array_unref(ya);
    if (st != TJ_OK)
        return st;
    double wref[FEATS], cref = reference(wref);
    cr_expect(fabs(tj_array_get(out, NULL) - cref) < 1e-12, "cost %.17g, expected %.17g",
              tj_array_get(out, NULL), cref);
    tj_array_unref(out);
    tj_array *wv = tj_shared_get(w, true);
    for (int64_t j = 0; j < FEATS; j++)
        cr_expect(fabs(tj_array_get(wv, &j) - wref[j]) < 1e-12, "w[%lld]", (long long)j);
    tj_array_unref(wv);
    return TJ_OK;
}

/* ---- a small function of two kernels (an elementwise one and a reduction) ---- */

/* y = 2x + 1 and s = sum(x * x) at x = (1, -2, 3): (3, -3, 7) and 14. */
static tj_status path_small(tj_ctx *ctx, tj_mode mode)
{
    tj_var *x = tj_vector(ctx, TJ_FLOAT64, "x");
    tj_var *outs[2] = {tj_addc(tj_mulc(x, 2), 1), tj_sum(tj_mul(x, x), NULL, 0, false)};
    if (tj_errcode(ctx) != TJ_OK)
        return tj_errcode(ctx);
    tj_function_opts o = TJ_FUNCTION_OPTS_INIT;
    o.mode = mode;
    fn_begin = cnt.total;
    tj_fn *f = tj_function(ctx, &x, 1, outs, 2, &o);
    fn_end = cnt.total;
    if (!f)
        return tj_errcode(ctx);
    int64_t n = 3;
    tj_array *xa = tj_array_from_data(TJ_FLOAT64, 1, &n, (double[]){1, -2, 3}), *res[2];
    tj_status st = tj_call(f, &xa, res);
    tj_array_unref(xa);
    if (st != TJ_OK)
        return st;
    static const double y[3] = {3, -3, 7};
    for (int64_t i = 0; i < 3; i++)
        cr_expect_eq(tj_array_get(res[0], &i), y[i], "y[%lld]", (long long)i);
    cr_expect_eq(tj_array_get(res[1], NULL), 14.0);
    tj_array_unref(res[0]);
    tj_array_unref(res[1]);
    return TJ_OK;
}

/* ---- failing the Nth allocation ---- */

typedef enum { LOGREG, SMALL } path;

static tj_status run(path p, tj_ctx *ctx, tj_mode mode)
{
    return p == LOGREG ? path_logreg(ctx, mode) : path_small(ctx, mode);
}

/* The number of hooked allocations along the path from a fresh context (which succeeds). */
static long path_length(path p, tj_mode mode)
{
    cnt = (counter){0};
    tj_allocator a = hook(&cnt);
    tj_ctx *ctx = tj_ctx_new_with_allocator(&a);
    cr_assert(ctx);
    cr_assert_eq(run(p, ctx, mode), TJ_OK, "%s", tj_errmsg(ctx));
    tj_ctx_free(ctx);
    cr_assert_eq(cnt.live, 0, "%ld blocks not returned", cnt.live);
    cr_assert_eq(cnt.foreign, 0, "frees of blocks the hook did not make");
    return cnt.total;
}

/* Where the JIT's allocations begin in the path's FAST_RUN: its tj_function makes the allocations
 * of the same compile under TJ_JIT=off, then the JIT's, then 5 blocks of per-function tables
 * (made last in both); the window starts 8 early to take no chance. The suite's JIT-off pass
 * keeps the JIT off here too (the window is then those last tables). Sets fn_begin/fn_end to the
 * FAST_RUN compile's. */
static long jit_window(path p)
{
    bool jit_off = tjt_jit_off();
    setenv("TJ_JIT", "off", 1);
    path_length(p, TJ_MODE_FAST_RUN);
    long planning = fn_end - fn_begin;
    if (!jit_off)
        unsetenv("TJ_JIT");
    path_length(p, TJ_MODE_FAST_RUN);
    if (!jit_off)
        cr_expect_gt(fn_end - fn_begin - planning, 20, "a JIT window of %ld allocations",
                     fn_end - fn_begin - planning);
    return fn_begin + planning - 8 + 1;
}

/* Fails the Nth hooked allocation for N = first, first + stride, ... up to last, each from a
 * fresh context: the path gives TJ_ERR_NOMEM or succeeds, then, disarmed, the same context runs
 * it again with the right values, and once the context is freed every block has come back. */
static void fail_each(path p, tj_mode mode, long first, long last, long stride)
{
    tj_allocator a = hook(&cnt);
    long nomem = 0, tried = 0;
    for (long k = first; k <= last; k += stride, tried++) {
        cnt = (counter){.fail_at = k};
        tj_ctx *ctx = tj_ctx_new_with_allocator(&a);
        if (!ctx) {
            cr_expect_eq(tj_errcode(NULL), TJ_ERR_NOMEM);
            nomem++;
            continue;
        }
        tj_status st = run(p, ctx, mode);
        cr_expect(st == TJ_OK || st == TJ_ERR_NOMEM, "N = %ld: status %d (%s)", k, st,
                  tj_errmsg(ctx));
        nomem += st == TJ_ERR_NOMEM;
        cnt.fail_at = 0;
        tj_clear_error(ctx);
        cr_expect_eq(run(p, ctx, mode), TJ_OK, "N = %ld, disarmed: %s", k, tj_errmsg(ctx));
        tj_ctx_free(ctx);
        cr_expect_eq(cnt.live, 0, "N = %ld: %ld blocks leaked", k, cnt.live);
        cr_expect_eq(cnt.foreign, 0, "N = %ld: %ld foreign frees", k, cnt.foreign);
    }
    /* most failures surface; a few are absorbed by a fallback that needs no memory (a BLAS
     * operand that cannot be copied runs the plain loop) and the run succeeds */
    cr_expect_gt(nomem, tried / 2, "%ld of %ld failures gave TJ_ERR_NOMEM", nomem, tried);
}

Test(allocator, every_block_comes_back_through_the_hook)
{
    counter c = {0};
    tj_allocator a = hook(&c);
    tj_ctx *ctx = tj_ctx_new_with_allocator(&a);
    cr_assert(ctx);
    tj_fn *f;
    tj_var *w;
    cr_assert_eq(build(ctx, TJ_MODE_FAST_RUN, &f, &w), TJ_OK, "%s", tj_errmsg(ctx));
    int64_t xs[2] = {N, FEATS}, n = N;
    tj_array *xa = tj_array_from_data(TJ_FLOAT64, 2, xs, X);
    tj_array *ya = tj_array_from_data(TJ_FLOAT64, 1, &n, Y), *cost;
    cr_assert_eq(tj_call(f, (tj_array *[]){xa, ya}, &cost), TJ_OK, "%s", tj_errmsg(ctx));
    tj_array_unref(xa);
    tj_array_unref(ya);
    /* the optimizer, the plan, the function, the JIT's module and the call all went through it */
    cr_expect_gt(c.total, 300, "only %ld hooked allocations", c.total);
    tj_ctx_free(ctx);
    /* the returned array outlives the context and still frees itself through the hook */
    cr_expect_eq(c.live, 2, "header and data of the cost array remain: %ld", c.live);
    tj_array_unref(cost);
    cr_expect_eq(c.live, 0, "%ld blocks not returned", c.live);
    cr_expect_eq(c.foreign, 0, "frees of blocks the hook did not make");
}

Test(allocator, context_creation_fails_cleanly)
{
    for (long k = 1; k <= 2; k++) {
        counter c = {.fail_at = k};
        tj_allocator a = hook(&c);
        cr_expect_null(tj_ctx_new_with_allocator(&a));
        cr_expect_eq(tj_errcode(NULL), TJ_ERR_NOMEM);
        cr_expect_eq(c.live, 0);
    }
    tj_allocator partial = {hook_malloc, NULL, NULL, NULL}; /* incomplete: refused */
    cr_expect_null(tj_ctx_new_with_allocator(&partial));
    cr_expect_eq(tj_errcode(NULL), TJ_ERR_INVALID);
    cr_expect(strstr(tj_errmsg(NULL), "realloc_fn"), "%s", tj_errmsg(NULL));
}

Test(allocator, fail_every_nth_fast_compile)
{
    fail_each(LOGREG, TJ_MODE_FAST_COMPILE, 1, path_length(LOGREG, TJ_MODE_FAST_COMPILE), 1);
}

/* The plan (optimizer, scheduler, in-place and chain planning) run by the reference executor. */
Test(allocator, fail_every_nth_fast_run_reference)
{
    setenv("TJ_JIT", "off", 1);
    fail_each(LOGREG, TJ_MODE_FAST_RUN, 1, path_length(LOGREG, TJ_MODE_FAST_RUN), 1);
}

/* With the JIT, its code loaded from a warm disk cache (LLVM's compile is the next test's): every
 * N from the JIT window on (engine, code cache, cache load, linking, the graph cache, the call),
 * and every 16th before it, where the allocations are the reference test's but the disarmed
 * run then starts the JIT in a context that failed (each N costs a JIT engine). */
Test(allocator, fail_every_nth_fast_run_jit)
{
    char dir[64] = "/tmp/tj-allocator-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    setenv("TJ_CACHE_DIR", dir, 1);
    long window = jit_window(LOGREG); /* compiles and stores on the way */
    long total = path_length(LOGREG, TJ_MODE_FAST_RUN);
    fail_each(LOGREG, TJ_MODE_FAST_RUN, 1, window - 1, 16);
    fail_each(LOGREG, TJ_MODE_FAST_RUN, window, total, 1);
    DIR *d = opendir(dir);
    for (struct dirent *e; d && (e = readdir(d));) {
        char file[128];
        if (e->d_name[0] != '.' && snprintf(file, sizeof file, "%s/%s", dir, e->d_name) > 0)
            unlink(file);
    }
    if (d)
        closedir(d);
    rmdir(dir);
}

/* Every N of an LLVM compile on two threads (no disk cache), through the small function: its JIT
 * window to the end of its tj_function. */
Test(allocator, fail_every_nth_llvm_compile)
{
    setenv("TJ_CACHE_DIR", "off", 1);
    setenv("TJ_JIT_THREADS", "2", 1);
    long first = jit_window(SMALL);
    fail_each(SMALL, TJ_MODE_FAST_RUN, first, fn_end, 1);
}

/* Every N of the seed's own cold LLVM compile (no disk cache): its JIT window to the end of its
 * tj_function, then the call. Each N compiles the train function's kernels with LLVM. */
Test(allocator, fail_every_nth_llvm_compile_logreg)
{
    setenv("TJ_CACHE_DIR", "off", 1);
    long first = jit_window(LOGREG);
    long total = path_length(LOGREG, TJ_MODE_FAST_RUN);
    fail_each(LOGREG, TJ_MODE_FAST_RUN, first, total, 1);
}

/* ---- failing the Nth allocation while two threads call one function ---- */

enum { CALLERS = 2, CALLS = 5, LEN = 1000 };

typedef struct {
    tj_fn *f;
    int id;
    long ok, nomem, other, wrong;
} caller;

/* y = 2x + 1 and s = sum(x * x) on the caller's own input, checked when the call succeeds */
static void *call_loop(void *arg)
{
    caller *c = arg;
    double x[LEN], sum = 0;
    for (int i = 0; i < LEN; i++) {
        x[i] = (double)((i * 7 + c->id * 13) % 17) - 8; /* small integers: exact sums */
        sum += x[i] * x[i];
    }
    int64_t n = LEN;
    tj_array *xa = tj_array_from_data(TJ_FLOAT64, 1, &n, x);
    for (int k = 0; k < CALLS; k++) {
        tj_array *res[2] = {NULL, NULL};
        tj_status st = xa ? tj_call(c->f, &xa, res) : TJ_ERR_NOMEM;
        c->ok += st == TJ_OK;
        c->nomem += st == TJ_ERR_NOMEM;
        c->other += st != TJ_OK && st != TJ_ERR_NOMEM;
        if (st == TJ_OK) {
            const double *y = tj_array_data(res[0]);
            for (int i = 0; i < LEN; i++)
                c->wrong += y[i] != 2 * x[i] + 1;
            c->wrong += tj_array_get(res[1], NULL) != sum;
        }
        tj_array_unref(res[0]);
        tj_array_unref(res[1]);
    }
    tj_array_unref(xa);
    return NULL;
}

/* Runs CALLERS threads of CALLS calls each; returns the calls that gave TJ_ERR_NOMEM. */
static long concurrent_calls(tj_fn *f)
{
    pthread_t t[CALLERS];
    caller c[CALLERS];
    for (int i = 0; i < CALLERS; i++) {
        c[i] = (caller){.f = f, .id = i};
        cr_assert_eq(pthread_create(&t[i], NULL, call_loop, &c[i]), 0);
    }
    long nomem = 0;
    for (int i = 0; i < CALLERS; i++) {
        pthread_join(t[i], NULL);
        cr_expect_eq(c[i].other, 0, "caller %d: %ld calls failed with another status", i,
                     c[i].other);
        cr_expect_eq(c[i].wrong, 0, "caller %d: %ld wrong values", i, c[i].wrong);
        nomem += c[i].nomem;
    }
    return nomem;
}

/* One context, one function (two kernels, no updates: calls run side by side); for each N
 * along two threads' calls, the Nth allocation from there fails. Each call gives the right
 * values or TJ_ERR_NOMEM; the function keeps working after each round; every block comes back. */
Test(allocator, fail_every_nth_during_concurrent_calls)
{
    cnt = (counter){0};
    tj_allocator a = hook(&cnt);
    tj_ctx *ctx = tj_ctx_new_with_allocator(&a);
    cr_assert(ctx);
    tj_var *x = tj_vector(ctx, TJ_FLOAT64, "x");
    tj_var *outs[2] = {tj_addc(tj_mulc(x, 2), 1), tj_sum(tj_mul(x, x), NULL, 0, false)};
    tj_fn *f = tj_function(ctx, &x, 1, outs, 2, NULL);
    cr_assert(f, "%s", tj_errmsg(ctx));
    cr_assert_eq(concurrent_calls(f), 0); /* the first round also allocates what calls keep */
    long before = cnt.total;
    cr_assert_eq(concurrent_calls(f), 0);
    long per_round = cnt.total - before, nomem = 0;
    cr_assert_gt(per_round, CALLERS * CALLS, "the calls allocate (%ld allocations)", per_round);
    for (long k = 1; k <= per_round; k++) {
        pthread_mutex_lock(&lock);
        cnt.fail_at = cnt.total + k;
        pthread_mutex_unlock(&lock);
        nomem += concurrent_calls(f);
        pthread_mutex_lock(&lock);
        cnt.fail_at = 0;
        pthread_mutex_unlock(&lock);
        tj_clear_error(ctx);
        cr_expect_eq(concurrent_calls(f), 0, "N = %ld: the next round failed", k);
    }
    cr_expect_gt(nomem, per_round / 2, "%ld of %ld failures gave TJ_ERR_NOMEM", nomem, per_round);
    tj_ctx_free(ctx);
    cr_expect_eq(cnt.live, 0, "%ld blocks leaked", cnt.live);
    cr_expect_eq(cnt.foreign, 0, "%ld foreign frees", cnt.foreign);
}
