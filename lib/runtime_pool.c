/* The buffer plan of a function: results written into the caller's arrays (tj_call_into), and
 * intermediates kept across calls so that a function stops paying fresh pages per call (writing
 * 40 MiB of new pages costs ten times rewriting a reused buffer). Buffers are matched by dtype
 * and shape: a pool entry is reused only by a result of exactly that layout. */
#include "function.h"

#include <stdlib.h>
#include <string.h>

static bool same_layout(const tj_array *a, tj_dtype dtype, int ndim, const int64_t *shape)
{
    return a->dtype == dtype && a->ndim == ndim &&
           tjA_same_shape(ndim, a->shape, shape);
}

tj_array *tjS_out_array(tj_ctx *ctx, const tjS_mem *mem, int s, tj_dtype dtype, int ndim,
                        const int64_t *shape)
{
    if (mem && mem->into && mem->into[s] && same_layout(mem->into[s], dtype, ndim, shape))
        return tjA_ref(mem->into[s]);
    return tjS_pool_buffer(ctx, mem ? mem->pool : NULL, dtype, ndim, shape);
}

tj_status tjS_out_failed(tj_ctx *ctx, const tjS_step *st)
{
    char buf[160];
    tj_status why = tjA_last_status() == TJ_ERR_VALUE ? TJ_ERR_VALUE : TJ_ERR_NOMEM;
    return tjC_error(ctx, why, "%s: cannot allocate the result: %s",
                     tjG_describe(st->root, buf, sizeof buf), tjA_last_msg());
}

tj_array *tjS_pool_buffer(tj_ctx *ctx, tjS_pool *pool, tj_dtype dtype, int ndim,
                          const int64_t *shape)
{
    tj_array *a = tjS_pool_take(pool, dtype, ndim, shape);
    return a ? a : tjA_alloc(ctx, dtype, ndim, shape, false);
}

tj_array *tjS_pool_take(tjS_pool *p, tj_dtype dtype, int ndim, const int64_t *shape)
{
    for (int k = 0; p && k < p->n; k++) {
        if (same_layout(p->arr[k], dtype, ndim, shape)) {
            tj_array *a = p->arr[k];
            p->n--;
            p->arr[k] = p->arr[p->n];
            p->fresh[k] = p->fresh[p->n];
            return a;
        }
    }
    return NULL;
}

void tjS_release(const tjS_mem *mem, int s, tj_array *a)
{
    if (a && mem && mem->cache && mem->cache[s] == a)
        tjS_cache_release(mem, s);
    else if (mem && mem->poolable && mem->poolable[s])
        tjS_pool_put(mem->pool, a);
    else
        tjA_unref(a);
}

void tjS_pool_put(tjS_pool *p, tj_array *a)
{
    /* only our own plain buffers: refcount 1 means no view, output or variable holds it */
    if (a && p && a->owns_data && atomic_load_explicit(&a->refcount, memory_order_acquire) == 1) {
        if (p->n == p->cap) {
            int cap = p->cap ? p->cap * 2 : 8;
            tj_array **arr = tjC_realloc(p->ctx, p->arr, sizeof *arr * (size_t)cap);
            if (arr)
                p->arr = arr;
            bool *fresh = arr ? tjC_realloc(p->ctx, p->fresh, sizeof *fresh * (size_t)cap) : NULL;
            if (fresh) {
                p->fresh = fresh;
                p->cap = cap;
            }
        }
        if (p->n < p->cap) {
            p->arr[p->n] = a;
            p->fresh[p->n++] = true;
            return;
        }
    }
    tjA_unref(a);
}

void tjS_pool_trim(tjS_pool *pool)
{
    int w = 0;
    for (int k = 0; k < pool->n; k++) {
        if (pool->fresh[k]) {
            pool->arr[w] = pool->arr[k];
            pool->fresh[w++] = false;
        } else {
            tjA_unref(pool->arr[k]);
        }
    }
    pool->n = w;
}

void tjS_pool_free(tjS_pool *pool)
{
    for (int k = 0; k < pool->n; k++)
        tjA_unref(pool->arr[k]);
    tjC_free(pool->ctx, pool->arr);
    tjC_free(pool->ctx, pool->fresh);
    *pool = (tjS_pool){.ctx = pool->ctx};
}
