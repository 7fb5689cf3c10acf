/* The context allocator (issue 7, part of its allocation-failure item): a counting hook sees the
 * context, its arena and the arrays tj_call returns, every block comes back through it (also
 * after the context is freed, when the arrays go), and failing the Nth hooked allocation along
 * the seed's logistic-regression path (build -> grad -> tj_function -> tj_call) gives
 * TJ_ERR_NOMEM or success, leaks nothing and leaves the context usable. */
#include "support.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Each block carries a header so frees of blocks the hook did not make are caught. */
#define BLOCK_MAGIC 0x7a11c0deu
typedef struct {
    uint32_t magic;
    size_t size;
    _Alignas(16) unsigned char mem[];
} block;

typedef struct {
    long live, total;
    long fail_at; /* the 1-based allocation that fails; 0: none */
    long foreign; /* frees of pointers the hook did not allocate */
} counter;

static void *hook_malloc(void *user, size_t size)
{
    counter *c = user;
    if (c->fail_at && c->total + 1 == c->fail_at) {
        c->total++;
        return NULL;
    }
    block *b = malloc(sizeof *b + size);
    if (!b)
        return NULL;
    b->magic = BLOCK_MAGIC;
    b->size = size;
    c->live++;
    c->total++;
    return b->mem;
}

static block *block_of(counter *c, void *p)
{
    block *b = (block *)((unsigned char *)p - offsetof(block, mem));
    if (b->magic != BLOCK_MAGIC) {
        c->foreign++;
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
    c->live--;
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
    *train = tj_function(ctx, (tj_var *[]){x, y}, 2, &cost, 1, &o);
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

/* Builds and calls once; on success checks the values. *out receives the cost array. */
static tj_status run_once(tj_ctx *ctx, tj_mode mode, tj_array **out)
{
    tj_fn *f;
    tj_var *w = NULL;
    *out = NULL;
    tj_status st = build(ctx, mode, &f, &w);
    if (st != TJ_OK)
        return st;
    int64_t xs[2] = {N, FEATS}, n = N;
    tj_array *xa = tj_array_from_data(TJ_FLOAT64, 2, xs, X);
    tj_array *ya = tj_array_from_data(TJ_FLOAT64, 1, &n, Y);
    st = tj_call(f, (tj_array *[]){xa, ya}, out);
    tj_array_unref(xa);
    tj_array_unref(ya);
    if (st != TJ_OK)
        return st;
    double wref[FEATS], cref = reference(wref);
    cr_expect(fabs(tj_array_get(*out, NULL) - cref) < 1e-12, "cost %.17g, expected %.17g",
              tj_array_get(*out, NULL), cref);
    tj_array *wv = tj_shared_get(w, true);
    for (int64_t j = 0; j < FEATS; j++)
        cr_expect(fabs(tj_array_get(wv, &j) - wref[j]) < 1e-12, "w[%lld]", (long long)j);
    tj_array_unref(wv);
    return TJ_OK;
}

Test(allocator, every_block_comes_back_through_the_hook)
{
    counter c = {0};
    tj_allocator a = hook(&c);
    tj_ctx *ctx = tj_ctx_new_with_allocator(&a);
    cr_assert(ctx);
    tj_array *cost;
    cr_assert_eq(run_once(ctx, TJ_MODE_FAST_RUN, &cost), TJ_OK, "%s", tj_errmsg(ctx));
    cr_expect_gt(c.total, 3, "the context, its arena and arrays went through the hook");
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

/* Fails the Nth hooked allocation for every N of the path; then, disarmed, the same context
 * builds the function again and gives the right values. */
static void fail_every_nth(const tj_mode *mode)
{
    counter c = {0};
    tj_allocator a = hook(&c);
    tj_ctx *ctx = tj_ctx_new_with_allocator(&a);
    tj_array *out;
    cr_assert_eq(run_once(ctx, *mode, &out), TJ_OK, "%s", tj_errmsg(ctx));
    tj_array_unref(out);
    tj_ctx_free(ctx);
    long total = c.total;
    for (long k = 1; k <= total; k++) {
        c = (counter){.fail_at = k};
        ctx = tj_ctx_new_with_allocator(&a);
        if (!ctx) {
            cr_expect_eq(tj_errcode(NULL), TJ_ERR_NOMEM);
            continue;
        }
        tj_status st = run_once(ctx, *mode, &out);
        cr_expect(st == TJ_OK || st == TJ_ERR_NOMEM, "N = %ld: status %d (%s)", k, st,
                  tj_errmsg(ctx));
        tj_array_unref(out);
        c.fail_at = 0;
        tj_clear_error(ctx);
        cr_expect_eq(run_once(ctx, *mode, &out), TJ_OK, "N = %ld, disarmed: %s", k,
                     tj_errmsg(ctx));
        tj_array_unref(out);
        tj_ctx_free(ctx);
        cr_expect_eq(c.live, 0, "N = %ld: %ld blocks leaked", k, c.live);
        cr_expect_eq(c.foreign, 0, "N = %ld: foreign frees", k);
    }
}

Test(allocator, fail_every_nth_fast_run) { fail_every_nth(&(tj_mode){TJ_MODE_FAST_RUN}); }
Test(allocator, fail_every_nth_fast_compile) { fail_every_nth(&(tj_mode){TJ_MODE_FAST_COMPILE}); }
