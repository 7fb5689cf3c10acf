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

static bool hooked(const tj_allocator *m)
{
    return m && m->malloc_fn && m->realloc_fn && m->free_fn;
}

void *tjC_mem_malloc(const tj_allocator *m, size_t bytes)
{
    bytes = bytes ? bytes : 1;
    return hooked(m) ? m->malloc_fn(m->user, bytes) : malloc(bytes);
}

void *tjC_mem_calloc(const tj_allocator *m, size_t n, size_t size)
{
    size_t bytes;
    if (__builtin_mul_overflow(n, size, &bytes))
        return NULL;
    void *p = tjC_mem_malloc(m, bytes);
    if (p)
        memset(p, 0, bytes);
    return p;
}

void *tjC_mem_realloc(const tj_allocator *m, void *p, size_t bytes)
{
    bytes = bytes ? bytes : 1;
    if (!hooked(m))
        return realloc(p, bytes);
    return p ? m->realloc_fn(m->user, p, bytes) : m->malloc_fn(m->user, bytes);
}

void tjC_mem_free(const tj_allocator *m, void *p)
{
    if (!p)
        return;
    if (hooked(m))
        m->free_fn(m->user, p);
    else
        free(p);
}

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
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *p = tjC_malloc(ctx, n);
    if (p)
        memcpy(p, s, n);
    return p;
}

/* ---- the context ---------------------------------------------------------------------------- */

tj_ctx *tj_ctx_new(void) { return tj_ctx_new_with_allocator(NULL); }

tj_ctx *tj_ctx_new_with_allocator(const tj_allocator *alloc)
{
    tj_allocator mem = hooked(alloc) ? *alloc : (tj_allocator){0};
    tj_ctx *ctx = tjC_mem_calloc(&mem, 1, sizeof *ctx);
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
        tjC_mem_free(&mem, ctx);
        return NULL;
    }
    pthread_rwlock_init(&ctx->shared_lock, NULL);
    pthread_mutex_init(&ctx->err_lock, NULL);
    return ctx;
}

void tj_ctx_free(tj_ctx *ctx)
{
    if (!tjC_valid(ctx))
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
    ctx->magic = 0;
    tj_allocator mem = ctx->mem;
    tjC_mem_free(&mem, ctx);
}

bool tjC_valid(const tj_ctx *ctx) { return ctx && ctx->magic == TJ_CTX_MAGIC; }

tj_status tj_errcode(const tj_ctx *ctx)
{
    if (!ctx)
        return tjA_last_status();
    return tjC_valid(ctx) ? ctx->err : TJ_ERR_INVALID;
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
    if (!tjC_valid(ctx))
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
    if (!tjC_valid(ctx))
        return;
    ctx->log_fn = fn;
    ctx->log_user = user;
}

tj_status tj_ctx_set_num_threads(tj_ctx *ctx, int n)
{
    if (!tjC_valid(ctx))
        return tjC_error(NULL, TJ_ERR_INVALID,
                         "tj_ctx_set_num_threads: the context handle is not a live tj_ctx");
    if (n < 0 || n > TJP_MAX_THREADS)
        return tjC_error(ctx, TJ_ERR_INVALID,
                         "tj_ctx_set_num_threads: the thread count is %d, expected 1 to %d (or 0 "
                         "for the default)",
                         n, TJP_MAX_THREADS);
    atomic_store(&ctx->num_threads, n);
    return TJ_OK;
}

int tj_ctx_num_threads(const tj_ctx *ctx) { return tjC_valid(ctx) ? tjP_threads(ctx) : 0; }

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
    if (!out)
        return;
    if (!tjC_valid(ctx)) {
        memset(out, 0, sizeof *out);
        return;
    }
    *out = ctx->stats;
}
