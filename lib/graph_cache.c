/* The first level of the compile cache: a function whose graph, before optimization, equals an
 * earlier function's (same structure, inputs and shared variables by position, same input
 * types, constants by value, same mode and optimizer options) reuses that compile's optimized
 * plan, code and rewrite log: no rewrites, no scheduling, no LLVM. Shared variables built again
 * are new nodes with new values, so they are placeholders here and each function maps the
 * plan's leaves to its own (lib/function.c map_leaves). The second level, compiled code by the
 * kernels' content, is lib/code_cache.c. */
#include "bytes.h"
#include "function.h"

#include <stdlib.h>
#include <string.h>

struct tjF_entry {
    tjF_entry *next;
    tjF_key key;
    int refs;
    tjS_plan *plan;
    tjF_code *code;
    tjR_log rewrites;
    tjS_fuse_opts fuse;
    int nout, nin, nshared;
    tj_var **outs;   /* the optimized outputs and update values */
    tj_var **inputs; /* the compile's inputs and shared variables: placeholders by position */
    tj_var **shared;
};

static void put(tjF_key *k, const void *p, size_t n)
{
    if (n == 0) /* p may be NULL then (a node without attributes) */
        return;
    if (k->len + n > k->cap) {
        size_t cap = k->cap ? k->cap * 2 : 1024;
        while (cap < k->len + n)
            cap *= 2;
        unsigned char *b = tjC_realloc(k->ctx, k->bytes, cap);
        if (!b) {
            k->cap = SIZE_MAX; /* out of memory: the key is unusable */
            return;
        }
        k->bytes = b;
        k->cap = cap;
    }
    if (k->cap != SIZE_MAX) {
        memcpy(k->bytes + k->len, p, n);
        k->len += n;
    }
}

static void put_i64(tjF_key *k, int64_t v) { put(k, &v, sizeof v); }

static void put_str(tjF_key *k, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    put_i64(k, (int64_t)n);
    put(k, s, n);
}

static int index_of(tj_var *const *list, int n, const tj_var *v)
{
    for (int i = 0; i < n; i++)
        if (list[i] == v)
            return i;
    return -1;
}

tj_status tjF_collect_shared(tj_fn *fn)
{
    size_t n;
    tj_var **topo = tjG_toposort(fn->ctx, fn->outs, fn->nout + fn->nupd, &n);
    if (!topo)
        return fn->ctx->err;
    fn->shared = tjC_malloc(fn->ctx, sizeof *fn->shared * (n + (size_t)fn->nupd + 1));
    if (!fn->shared) {
        tjC_free(fn->ctx, topo);
        return tjC_error(fn->ctx, TJ_ERR_NOMEM, "out of memory compiling '%s'", tjF_name(fn));
    }
    fn->nshared = 0;
    for (size_t k = 0; k < n; k++)
        if (topo[k]->op == TJ_OP_SHARED)
            fn->shared[fn->nshared++] = topo[k];
    for (int u = 0; u < fn->nupd; u++) /* an updated variable its update does not read */
        if (index_of(fn->shared, fn->nshared, fn->upd_vars[u]) < 0)
            fn->shared[fn->nshared++] = fn->upd_vars[u];
    tjC_free(fn->ctx, topo);
    return TJ_OK;
}

/* A constant's value: its dtype, shape and elements in C order. */
static bool put_value(tjF_key *k, const tj_array *a)
{
    put_i64(k, a->dtype);
    put_i64(k, a->ndim);
    put(k, a->shape, sizeof(int64_t) * (size_t)a->ndim);
    if (tjA_is_contiguous(a)) {
        put(k, a->data, (size_t)a->size * tj_dtype_size(a->dtype));
        return true;
    }
    tj_array *c = tjA_convert(k->ctx, a, a->dtype); /* a moment's copy */
    if (c)
        put(k, c->data, (size_t)c->size * tj_dtype_size(c->dtype));
    tj_array_unref(c);
    return c != NULL;
}

static void put_options(tjF_key *k, const tj_fn *fn)
{
    put_i64(k, fn->mode);
    put_i64(k, fn->cfg.nexcluding);
    for (int i = 0; i < fn->cfg.nexcluding; i++)
        put_str(k, fn->cfg.excluding[i]);
    put_i64(k, fn->cfg.nincluding);
    for (int i = 0; i < fn->cfg.nincluding; i++)
        put_str(k, fn->cfg.including[i]);
}

/* The canonical bytes of fn's graph before optimization. */
static tj_status make_key(tj_fn *fn, tjF_key *k)
{
    tj_ctx *ctx = fn->ctx;
    size_t n;
    tj_var **topo = tjG_toposort(ctx, fn->outs, fn->nout + fn->nupd, &n);
    if (!topo)
        return ctx->err;
    k->ctx = ctx;
    put_options(k, fn);
    put_i64(k, fn->nin);
    for (int i = 0; i < fn->nin; i++) {
        const tj_var *v = fn->inputs[i];
        int64_t type[3] = {v->dtype, v->ndim, v->bcast};
        put(k, type, sizeof type);
    }
    put_i64(k, (int64_t)n);
    bool ok = true;
    for (size_t j = 0; j < n && ok; j++) {
        const tj_var *v = topo[j];
        int64_t head[7] = {v->op, v->dtype, v->ndim, v->bcast, v->weak, v->nin, v->nattr};
        put(k, head, sizeof head);
        for (int i = 0; i < v->nin; i++)
            put_i64(k, tjG_pos(v->in[i]));
        put(k, v->attr, sizeof(int64_t) * (size_t)v->nattr);
        if (v->op == TJ_OP_INPUT)
            put_i64(k, index_of(fn->inputs, fn->nin, v));
        else if (v->op == TJ_OP_SHARED)
            put_i64(k, index_of(fn->shared, fn->nshared, v));
        else if (v->value)
            ok = put_value(k, v->value);
    }
    for (int i = 0; i < fn->nout + fn->nupd; i++)
        put_i64(k, tjG_pos(fn->outs[i]));
    for (int u = 0; u < fn->nupd; u++)
        put_i64(k, index_of(fn->shared, fn->nshared, fn->upd_vars[u]));
    tjC_free(ctx, topo);
    if (!ok || k->cap == SIZE_MAX)
        return tjC_error(ctx, TJ_ERR_NOMEM, "out of memory hashing a graph");
    k->hash = tjY_hash(k->bytes, k->len);
    return TJ_OK;
}

tj_status tjF_graph_lookup(tj_fn *fn, tjF_key *key, bool *hit, tj_var *const **plan_inputs,
                           tj_var *const **plan_shared)
{
    *hit = false;
    tjF_entry **head = tjF_cache_graphs(fn->ctx);
    if (!head)
        return fn->ctx->err;
    tj_status rc = make_key(fn, key);
    if (rc != TJ_OK)
        return rc;
    for (tjF_entry *e = *head; e; e = e->next) {
        if (e->key.hash != key->hash || e->key.len != key->len ||
            memcmp(e->key.bytes, key->bytes, key->len))
            continue;
        e->refs++;
        fn->entry = e;
        fn->plan = e->plan;
        fn->code = e->code;
        fn->rewrites = e->rewrites; /* borrowed, like plan and code */
        fn->fuse = e->fuse;
        fn->jitted = true;
        memcpy(fn->outs, e->outs, sizeof *fn->outs * (size_t)(fn->nout + fn->nupd));
        *plan_inputs = e->inputs;
        *plan_shared = e->shared;
        *hit = true;
        fn->ctx->stats.graph_cache_hits++;
        fn->ctx->stats.cache_hits++; /* in-memory hits of either level */
        return TJ_OK;
    }
    return TJ_OK;
}

static tj_var **copy_vars(tj_ctx *ctx, tj_var *const *v, int n)
{
    tj_var **c = tjC_malloc(ctx, sizeof *c * (size_t)(n + 1));
    if (c && n)
        memcpy(c, v, sizeof *c * (size_t)n);
    return c;
}

tj_status tjF_graph_store(tj_fn *fn, tjF_key *key)
{
    tjF_entry **head = tjF_cache_graphs(fn->ctx);
    tj_ctx *ctx = fn->ctx;
    tjF_entry *e = head ? tjC_calloc(ctx, 1, sizeof *e) : NULL;
    if (e) {
        e->outs = copy_vars(ctx, fn->outs, fn->nout + fn->nupd);
        e->inputs = copy_vars(ctx, fn->inputs, fn->nin);
        e->shared = copy_vars(ctx, fn->shared, fn->nshared);
    }
    if (!e || !e->outs || !e->inputs || !e->shared) {
        if (e) {
            tjC_free(ctx, e->outs);
            tjC_free(ctx, e->inputs);
            tjC_free(ctx, e->shared);
        }
        tjC_free(ctx, e);
        return tjC_error(fn->ctx, TJ_ERR_NOMEM, "out of memory caching '%s'", tjF_name(fn));
    }
    e->key = *key;
    *key = (tjF_key){0}; /* the entry owns the bytes now */
    e->refs = 1;
    e->plan = fn->plan;
    e->code = fn->code;
    e->rewrites = fn->rewrites;
    e->fuse = fn->fuse;
    e->nout = fn->nout + fn->nupd;
    e->nin = fn->nin;
    e->nshared = fn->nshared;
    e->next = *head;
    *head = e;
    fn->entry = e;
    return TJ_OK;
}

void tjF_entry_release(tj_ctx *ctx, tjF_entry *e)
{
    if (!e || --e->refs > 0)
        return;
    for (tjF_entry **p = tjF_cache_graphs(ctx); p && *p; p = &(*p)->next) {
        if (*p == e) {
            *p = e->next;
            break;
        }
    }
    tjF_code_release(ctx, e->code);
    tjS_plan_free(ctx, e->plan);
    tjR_log_free(ctx, &e->rewrites);
    tjC_free(ctx, e->outs);
    tjC_free(ctx, e->inputs);
    tjC_free(ctx, e->shared);
    tjC_free(ctx, e->key.bytes);
    tjC_free(ctx, e);
}
