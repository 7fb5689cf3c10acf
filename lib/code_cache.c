/* The in-memory code cache of a context: compiled modules keyed by the structural content of
 * their kernels, shared by every function whose plan needs the same kernels (refcounted). */
#include "bytes.h"
#include "function.h"
#include "jit.h"

#include <stdlib.h>
#include <string.h>

struct tjF_code {
    tjF_code *next;
    uint64_t hash;
    unsigned char *key; /* serialized kernels: equality beyond the hash */
    size_t keylen;
    int refs;
    tjJ_module *module;
    tjK_fn *fns;
};

typedef struct {
    unsigned char *p;
    size_t len;
} sbuf;

struct tjF_cache {
    tjF_code *head;
    tjF_entry *graphs; /* the first level: compiles by graph (lib/graph_cache.c) */
};

static void code_free(tj_ctx *ctx, tjF_code *c)
{
    tjJ_module_free(c->module);
    tjC_free(ctx, c->fns);
    tjC_free(ctx, c->key);
    tjC_free(ctx, c);
}

static tjF_cache *cache_of(tj_ctx *ctx)
{
    if (!ctx->cache && !(ctx->cache = tjC_calloc(ctx, 1, sizeof *ctx->cache)))
        tjC_error(ctx, TJ_ERR_NOMEM, "out of memory creating the code cache");
    return ctx->cache;
}

tjF_entry **tjF_cache_graphs(tj_ctx *ctx)
{
    tjF_cache *c = cache_of(ctx);
    return c ? &c->graphs : NULL;
}

tj_status tjF_code_get(tj_ctx *ctx, const tjS_plan *plan, tjF_code **out)
{
    *out = NULL;
    if (plan->nkernels == 0)
        return TJ_OK; /* BLAS and views only: nothing for LLVM */
    char err[1024] = "";
    if (!cache_of(ctx))
        return ctx->err;
    sbuf key = {0};
    key.p = tjK_serialize(&ctx->mem, (const tjK_kernel *const *)plan->kernels, plan->nkernels,
                          &key.len);
    if (!key.p)
        return tjC_error(ctx, TJ_ERR_NOMEM, "out of memory hashing the kernels");
    uint64_t hash = tjY_hash(key.p, key.len);
    for (tjF_code *c = ctx->cache->head; c; c = c->next) {
        if (c->hash == hash && c->keylen == key.len && !memcmp(c->key, key.p, key.len)) {
            tjC_free(ctx, key.p);
            c->refs++;
            ctx->stats.cache_hits++;
            *out = c;
            return TJ_OK;
        }
    }
    tj_status est = ctx->jit ? TJ_OK : tjJ_engine_new(&ctx->mem, &ctx->jit, err, sizeof err);
    if (est != TJ_OK) {
        tjC_free(ctx, key.p);
        /* out of memory is the context's failure; anything else leaves the reference executor */
        return tjC_error(ctx, est == TJ_ERR_NOMEM ? TJ_ERR_NOMEM : TJ_ERR_JIT,
                         "cannot start the LLVM JIT: %s", err);
    }
    tjF_code *c = tjC_calloc(ctx, 1, sizeof *c);
    if (c)
        c->fns = tjC_calloc(ctx, (size_t)plan->nkernels, sizeof *c->fns);
    if (!c || !c->fns) {
        tjC_free(ctx, c);
        tjC_free(ctx, key.p);
        return tjC_error(ctx, TJ_ERR_NOMEM, "out of memory for compiled code");
    }
    tj_status rc = tjJ_compile(ctx->jit, (const tjK_kernel *const *)plan->kernels,
                               plan->nkernels, key.p, key.len, &c->module, err, sizeof err);
    if (rc != TJ_OK) {
        tjC_free(ctx, c->fns);
        tjC_free(ctx, c);
        tjC_free(ctx, key.p);
        return tjC_error(ctx, rc, "LLVM could not compile the function's kernels: %s", err);
    }
    if (tjJ_module_from_disk(c->module))
        ctx->stats.disk_cache_hits++;
    else
        ctx->stats.llvm_compiles++;
    ctx->stats.compile_ms += tjJ_module_compile_ms(c->module);
    for (int i = 0; i < plan->nkernels; i++)
        c->fns[i] = tjJ_kernel_fn(c->module, i);
    c->hash = hash;
    c->key = key.p;
    c->keylen = key.len;
    c->refs = 1;
    c->next = ctx->cache->head;
    ctx->cache->head = c;
    *out = c;
    return TJ_OK;
}

void tjF_code_release(tj_ctx *ctx, tjF_code *code)
{
    if (!code || --code->refs > 0)
        return;
    for (tjF_code **p = &ctx->cache->head; *p; p = &(*p)->next) {
        if (*p == code) {
            *p = code->next;
            break;
        }
    }
    code_free(ctx, code);
}

bool tjF_jit_off(void)
{
    return tjC_env_off("TJ_JIT");
}

tjK_fn const *tjF_code_fns(const tjF_code *code) { return code ? code->fns : NULL; }
struct tjJ_module *tjF_code_module(const tjF_code *code) { return code ? code->module : NULL; }

void tjF_cache_free(tj_ctx *ctx)
{
    if (ctx->cache) {
        for (tjF_code *c = ctx->cache->head, *next; c; c = next) {
            next = c->next;
            code_free(ctx, c);
        }
        tjC_free(ctx, ctx->cache);
        ctx->cache = NULL;
    }
    tjJ_engine_free(ctx->jit);
    ctx->jit = NULL;
}
