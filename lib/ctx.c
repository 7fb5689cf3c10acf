/* The context: arena for graph nodes, error slot, log hook, counters. */
#include "internal.h"
#include "function.h"
#include "pool.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Arena blocks: nodes live until the context is freed, so a bump allocator is all we need. */
struct tjC_block {
    tjC_block *next;
    size_t used, cap;
    _Alignas(16) unsigned char mem[];
};

#define ARENA_BLOCK (64 * 1024)

/* ---- the allocator -------------------------------------------------------------------------- */

void *tjC_malloc(tj_ctx *ctx, size_t bytes)
{
    return tjC_mem_malloc(ctx ? &ctx->mem : NULL, bytes);
}
void *tjC_calloc(tj_ctx *ctx, size_t n, size_t size)
{
    return tjC_mem_calloc(ctx ? &ctx->mem : NULL, n, size);
}
void *tjC_realloc(tj_ctx *ctx, void *p, size_t bytes)
{
    return tjC_mem_realloc(ctx ? &ctx->mem : NULL, p, bytes);
}
void tjC_free(tj_ctx *ctx, void *p) { tjC_mem_free(ctx ? &ctx->mem : NULL, p); }


char *tjC_heap_strdup(tj_ctx *ctx, const char *s)
{
    return tjC_mem_strdup(ctx ? &ctx->mem : NULL, s);
}

/* ---- the context ---------------------------------------------------------------------------- */

/* Freed headers of contexts on the C library's allocator are kept (magic cleared) and reused by
 * tj_ctx_new, never returned to malloc: a stale tj_ctx handle then reads a header whose magic says
 * it is dead (or, once reused, a live context) instead of freed memory. They number at most the
 * peak of live contexts. A context on a user's allocator gives its header back to it. */
static pthread_mutex_t dead_lock = PTHREAD_MUTEX_INITIALIZER;
static tj_ctx **dead_ctxs;
static size_t ndead, dead_cap;

static tj_ctx *header_new(const tj_allocator *mem)
{
    tj_ctx *ctx = NULL;
    if (!tjC_mem_hooked(mem)) {
        pthread_mutex_lock(&dead_lock);
        if (ndead)
            ctx = dead_ctxs[--ndead];
        pthread_mutex_unlock(&dead_lock);
    }
    if (ctx) {
        memset(ctx, 0, sizeof *ctx);
        return ctx;
    }
    return tjC_mem_calloc(mem, 1, sizeof *ctx);
}

/* Out of memory for the list, the header is simply never reused (it stays dead and allocated). */
static void header_free(tj_ctx *ctx)
{
    ctx->magic = 0;
    if (tjC_mem_hooked(&ctx->mem)) {
        tj_allocator mem = ctx->mem;
        tjC_mem_free(&mem, ctx);
        return;
    }
    pthread_mutex_lock(&dead_lock);
    if (ndead == dead_cap) {
        size_t cap = dead_cap ? dead_cap * 2 : 8;
        tj_ctx **list = realloc(dead_ctxs, cap * sizeof *list);
        if (list) {
            dead_ctxs = list;
            dead_cap = cap;
        }
    }
    if (ndead < dead_cap)
        dead_ctxs[ndead++] = ctx;
    pthread_mutex_unlock(&dead_lock);
}

tj_ctx *tj_ctx_new(void) { return tj_ctx_new_with_allocator(NULL); }

tj_ctx *tj_ctx_new_with_allocator(const tj_allocator *alloc)
{
    if (alloc && !tjC_mem_hooked(alloc)) {
        tjA_error(TJ_ERR_INVALID, "tj_ctx_new_with_allocator: the allocator lacks %s; expected "
                  "all three of malloc_fn, realloc_fn and free_fn (or NULL for the C library)",
                  !alloc->malloc_fn ? "malloc_fn" : !alloc->realloc_fn ? "realloc_fn" : "free_fn");
        return NULL;
    }
    tj_allocator mem = alloc ? *alloc : (tj_allocator){0};
    tj_ctx *ctx = header_new(&mem);
    if (!ctx) {
        tjA_error(TJ_ERR_NOMEM, "tj_ctx_new: out of memory allocating the context");
        return NULL;
    }
    ctx->mem = mem;
    ctx->magic = TJ_CTX_MAGIC;
    ctx->nbuckets = 1024;
    ctx->buckets = tjC_calloc(ctx, ctx->nbuckets, sizeof *ctx->buckets);
    if (!ctx->buckets) {
        tjA_error(TJ_ERR_NOMEM, "tj_ctx_new: out of memory allocating the context");
        header_free(ctx);
        return NULL;
    }
    pthread_rwlock_init(&ctx->shared_lock, NULL);
    pthread_mutex_init(&ctx->err_lock, NULL);
    return ctx;
}

/* A context argument of a public function: false, with TJ_ERR_INVALID in the thread's slot,
 * when it is not a live context (a freed one included, while its header is not reused). */
static bool ctx_arg(const tj_ctx *ctx, const char *fn)
{
    if (tjC_valid(ctx))
        return true;
    tjA_error(TJ_ERR_INVALID, "%s: the context is %s", fn,
              ctx ? "not a live tj_ctx (freed, or another kind of handle)" : "NULL");
    return false;
}

void tj_ctx_free(tj_ctx *ctx)
{
    if (!ctx || !ctx_arg(ctx, "tj_ctx_free")) /* NULL-safe */
        return;
    tjF_free_all(ctx);
    for (size_t i = 0; i < ctx->nvars; i++)
        tj_array_unref(ctx->vars[i]->value);
    tjC_free(ctx, ctx->vars);
    tjC_free(ctx, ctx->buckets);
    for (tjC_block *b = ctx->arena, *next; b; b = next) {
        next = b->next;
        tjC_free(ctx, b);
    }
    pthread_rwlock_destroy(&ctx->shared_lock);
    pthread_mutex_destroy(&ctx->err_lock);
    header_free(ctx);
}

bool tjC_valid(const tj_ctx *ctx) { return ctx && ctx->magic == TJ_CTX_MAGIC; }

tj_status tj_errcode(const tj_ctx *ctx)
{
    if (!ctx)
        return tjA_last_status();
    return ctx_arg(ctx, "tj_errcode") ? ctx->err : TJ_ERR_INVALID;
}

const char *tj_errmsg(const tj_ctx *ctx)
{
    if (!ctx)
        return tjA_last_msg();
    if (!tjC_valid(ctx))
        return "tj_errmsg: the context handle is not a live tj_ctx";
    return ctx->errmsg;
}

void tj_clear_error(tj_ctx *ctx)
{
    if (!ctx) {
        tjA_clear_error();
        return;
    }
    if (!ctx_arg(ctx, "tj_clear_error"))
        return;
    ctx->err = TJ_OK;
    ctx->errmsg[0] = '\0';
}

tj_status tjC_error(tj_ctx *ctx, tj_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (tjC_valid(ctx)) {
        pthread_mutex_lock(&ctx->err_lock);
        ctx->err = st;
        vsnprintf(ctx->errmsg, sizeof ctx->errmsg, fmt, ap);
        pthread_mutex_unlock(&ctx->err_lock);
    } else {
        char msg[1024];
        vsnprintf(msg, sizeof msg, fmt, ap);
        tjA_error(st, "%s", msg);
    }
    va_end(ap);
    return st;
}

void tj_ctx_set_log(tj_ctx *ctx, tj_log_fn fn, void *user)
{
    if (!ctx_arg(ctx, "tj_ctx_set_log"))
        return;
    ctx->log_fn = fn;
    ctx->log_user = user;
}

tj_status tj_ctx_set_num_threads(tj_ctx *ctx, int n)
{
    if (!ctx_arg(ctx, "tj_ctx_set_num_threads"))
        return TJ_ERR_INVALID;
    if (n < 0 || n > TJP_MAX_THREADS)
        return tjC_error(ctx, TJ_ERR_INVALID,
                         "tj_ctx_set_num_threads: the thread count is %d, expected 1 to %d (or 0 "
                         "for the default)",
                         n, TJP_MAX_THREADS);
    atomic_store(&ctx->num_threads, n);
    return TJ_OK;
}

int tj_ctx_num_threads(const tj_ctx *ctx)
{
    return ctx_arg(ctx, "tj_ctx_num_threads") ? tjP_threads(ctx) : -1;
}

void tjC_log(tj_ctx *ctx, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (tjC_valid(ctx) && ctx->log_fn)
        ctx->log_fn(ctx->log_user, msg);
    else
        fprintf(stderr, "tensorjit: %s\n", msg);
}

void *tjC_alloc(tj_ctx *ctx, size_t bytes)
{
    bytes = (bytes + 15) & ~(size_t)15;
    tjC_block *b = ctx->arena;
    if (!b || b->cap - b->used < bytes) {
        size_t cap = bytes > ARENA_BLOCK ? bytes : ARENA_BLOCK;
        tjC_block *nb = tjC_malloc(ctx, sizeof *nb + cap);
        if (!nb) {
            tjC_error(ctx, TJ_ERR_NOMEM, "out of memory allocating %zu bytes for the graph", bytes);
            return NULL;
        }
        nb->used = 0;
        nb->cap = cap;
        /* a one-off large block goes behind the current one so the current keeps filling */
        if (b && bytes > ARENA_BLOCK) {
            nb->next = b->next;
            b->next = nb;
        } else {
            nb->next = b;
            ctx->arena = nb;
        }
        b = nb;
    }
    void *p = b->mem + b->used;
    b->used += bytes;
    memset(p, 0, bytes);
    return p;
}

char *tjC_strdup(tj_ctx *ctx, const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *p = tjC_alloc(ctx, n);
    if (p)
        memcpy(p, s, n);
    return p;
}

void tj_ctx_stats(const tj_ctx *ctx, tj_stats *out)
{
    if (!out) {
        tjA_error(TJ_ERR_INVALID, "tj_ctx_stats: out is NULL; expected a tj_stats to fill");
        return;
    }
    if (!ctx_arg(ctx, "tj_ctx_stats")) {
        memset(out, 0, sizeof *out);
        return;
    }
    *out = ctx->stats;
}
