/* A compile does the same work in a context that has built many other graphs: the graph passes
 * (sort, optimizer sweeps, scheduling, gradients) index their tables by position in the graph,
 * not by node id. Measured in bytes requested from the context's allocator, which is exact
 * (a timing would be noise): tables indexed by id asked every optimizer sweep for 16 bytes per
 * node the context ever made, 50,000 unrelated nodes made a compile ask for ~40 MB more. */
#include "support.h"

#include <criterion/criterion.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static _Atomic long requested; /* bytes asked of the hook since the last reset */

typedef union {
    size_t size;
    max_align_t align;
} hdr;

static void *count_malloc(void *user, size_t size)
{
    (void)user;
    atomic_fetch_add(&requested, (long)size);
    hdr *h = malloc(sizeof *h + size);
    if (!h)
        return NULL;
    h->size = size;
    return h + 1;
}

static void count_free(void *user, void *p)
{
    (void)user;
    if (p)
        free((hdr *)p - 1);
}

static void *count_realloc(void *user, void *p, size_t size)
{
    if (!p)
        return count_malloc(user, size);
    hdr *old = (hdr *)p - 1;
    void *q = count_malloc(user, size);
    if (q) {
        memcpy(q, p, old->size < size ? old->size : size);
        count_free(user, p);
    }
    return q;
}

static const tj_allocator counting = {count_malloc, count_realloc, count_free, NULL};

/* Bytes requested while the seed's train step is built, differentiated and compiled in ctx. */
static long train_step_bytes(tj_ctx *ctx, tj_mode mode)
{
    atomic_store(&requested, 0);
    tj_var *x = tj_matrix(ctx, TJ_FLOAT64, "x"), *y = tj_vector(ctx, TJ_FLOAT64, "y");
    tj_var *w = tj_vector(ctx, TJ_FLOAT64, "w"), *b = tj_scalar(ctx, TJ_FLOAT64, "b");
    tj_var *p = tj_sigmoid(tj_add(tj_dot(x, w), b));
    tj_var *xent =
        tj_sub(tj_mul(tj_neg(y), tj_log(p)), tj_mul(tj_rsubc(1, y), tj_log(tj_rsubc(1, p))));
    tj_var *cost = tj_mean(xent, NULL, 0, false), *g[2];
    cr_assert_eq(tj_grad(cost, (tj_var *[]){w, b}, 2, g), TJ_OK, "%s", tj_errmsg(ctx));
    tj_function_opts o = TJ_FUNCTION_OPTS_INIT;
    o.mode = mode;
    tj_fn *f = tj_function(ctx, (tj_var *[]){x, y, w, b}, 4, (tj_var *[]){cost, g[0], g[1]}, 3,
                           &o);
    cr_assert(f, "%s", tj_errmsg(ctx));
    long bytes = atomic_load(&requested);
    tj_fn_free(f);
    return bytes;
}

static void check_mode(tj_mode mode, const char *name)
{
    tj_ctx *fresh = tj_ctx_new_with_allocator(&counting);
    tj_ctx *busy = tj_ctx_new_with_allocator(&counting);
    cr_assert(fresh && busy);
    long alone = train_step_bytes(fresh, mode);
    tj_var *a = tj_scalar(busy, TJ_FLOAT64, "a"); /* 50,000 nodes of another graph */
    for (int i = 0; i < 50000; i++)
        a = tj_add(a, tj_lit(busy, 1.0));
    cr_assert(a, "%s", tj_errmsg(busy));
    long beside = train_step_bytes(busy, mode);
    cr_expect(beside <= alone + alone / 4 + 65536,
              "%s: %ld bytes in a fresh context, %ld beside 50,000 other nodes", name, alone,
              beside);
    tj_ctx_free(fresh);
    tj_ctx_free(busy);
}

Test(context_size, a_compile_does_not_grow_with_the_contexts_other_graphs)
{
    check_mode(TJ_MODE_FAST_COMPILE, "FAST_COMPILE");
    check_mode(TJ_MODE_FAST_RUN, "FAST_RUN");
}
