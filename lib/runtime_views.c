/* View (dimshuffle) and shape_of steps. Their results are small headers that a call used to
 * allocate and free every time; the workspace keeps each one (tjS_mem.cache) and the next call
 * refills it. A cached header is refilled only when the cache alone holds it; at the end of a
 * run a view gives up its base (so liveness, pooling and in-place decisions see the same
 * references as with a fresh view), and a header that a result still holds leaves the cache. */
#include "function.h"

#include <string.h>

static void release_view_base(void *base) { tjA_unref(base); }

/* A cached header's count changed by d without a locked instruction: until the end of the run
 * (tjS_cache_settle) only the thread holding the workspace can reach the header */
static void bump(tj_array *a, int d)
{
    int n = atomic_load_explicit(&a->refcount, memory_order_relaxed);
    atomic_store_explicit(&a->refcount, n + d, memory_order_relaxed);
}

/* slot s's cached header when it may be refilled (only the cache holds it); one something else
 * still holds is dropped from the cache */
static tj_array *reusable(const tjS_mem *mem, int s)
{
    tj_array *a = mem && mem->cache ? mem->cache[s] : NULL;
    if (!a || (atomic_load_explicit(&a->refcount, memory_order_acquire) == 1 && !a->release))
        return a;
    mem->cache[s] = NULL;
    tjA_unref(a);
    return NULL;
}

static void remember(const tjS_mem *mem, int s, tj_array *a, int base)
{
    if (mem && mem->cache) {
        mem->cache[s] = tjA_ref(a);
        mem->cache_base[s] = base;
    }
}

/* Only the cache holds slot s's header: a view's base goes (pooled when nothing else holds it) */
static void drop_base(const tjS_mem *mem, int s)
{
    tj_array *a = mem->cache[s];
    if (a->release && atomic_load_explicit(&a->refcount, memory_order_acquire) == 1) {
        tj_array *base = a->release_arg;
        a->release = NULL;
        a->release_arg = NULL;
        tjS_release(mem, mem->cache_base[s], base);
    }
}

void tjS_cache_release(const tjS_mem *mem, int s)
{
    bump(mem->cache[s], -1); /* never the last reference: the cache holds one */
    drop_base(mem, s);
}

tj_status tjS_run_view(tj_ctx *ctx, const tjS_step *st, tj_array **slots, const tjS_mem *mem)
{
    tj_array *in = slots[st->in_slots[0]];
    const tj_var *v = st->root;
    int64_t shape[TJ_MAX_NDIM], strides[TJ_MAX_NDIM];
    uint32_t kept = 0;
    for (int i = 0; i < v->ndim; i++) {
        int64_t p = v->attr[i];
        shape[i] = p < 0 ? 1 : in->shape[p];
        strides[i] = p < 0 ? 0 : in->strides[p];
        if (p >= 0)
            kept |= 1u << p;
    }
    for (int d = 0; d < in->ndim; d++) {
        if (!(kept & (1u << d)) && in->shape[d] != 1) {
            char buf[160];
            return tjC_error(ctx, TJ_ERR_SHAPE,
                             "%s drops axis %d, which must have length 1 but has %lld",
                             tjG_describe(v, buf, sizeof buf), d, (long long)in->shape[d]);
        }
    }
    int s = st->out_slots[0];
    tj_array *out = reusable(mem, s);
    if (out) { /* the same element count as in: only length-1 axes differ */
        out->dtype = in->dtype;
        out->ndim = v->ndim;
        out->size = in->size;
        memcpy(out->shape, shape, sizeof(int64_t) * (size_t)v->ndim);
        memcpy(out->strides, strides, sizeof(int64_t) * (size_t)v->ndim);
        out->data = in->data;
        out->serial = tjA_new_serial(); /* another layout in the same header */
        out->release = release_view_base;
        out->release_arg = tjA_ref(in);
        bump(out, 1);
        slots[s] = out;
        return TJ_OK;
    }
    out = tjA_wrap(ctx, in->dtype, v->ndim, shape, strides, in->data, release_view_base,
                   tjA_ref(in));
    if (!out) {
        tjA_unref(in);
        return tjC_error(ctx, TJ_ERR_NOMEM, "out of memory making a view");
    }
    remember(mem, s, out, st->in_slots[0]);
    slots[s] = out;
    return TJ_OK;
}

tj_status tjS_run_shape(tj_ctx *ctx, const tjS_step *st, tj_array **slots, const tjS_mem *mem)
{
    int64_t n = slots[st->in_slots[0]]->shape[st->root->attr[0]];
    int s = st->out_slots[0];
    tj_array *out = reusable(mem, s);
    if (out) {
        *(int64_t *)out->data = n;
        bump(out, 1);
        slots[s] = out;
        return TJ_OK;
    }
    out = tjA_scalar(ctx, TJ_INT64, (double)n);
    if (!out)
        return tjC_error(ctx, TJ_ERR_NOMEM, "out of memory");
    remember(mem, s, out, -1);
    slots[s] = out;
    return TJ_OK;
}

void tjS_cache_settle(const tjS_plan *plan, const tjS_mem *mem)
{
    if (!mem || !mem->cache)
        return;
    /* last step first: a view of a view gives its base back before that base is settled */
    for (int i = plan->nsteps - 1; i >= 0; i--) {
        const tjS_step *st = &plan->steps[i];
        int s = st->out_slots ? st->out_slots[0] : -1;
        tj_array *a = (st->kind == STEP_VIEW || st->kind == STEP_SHAPE) ? mem->cache[s] : NULL;
        if (!a)
            continue;
        if (atomic_load_explicit(&a->refcount, memory_order_acquire) != 1) {
            mem->cache[s] = NULL; /* a result holds it: an ordinary array from now on */
            tjA_unref(a);
        } else {
            drop_base(mem, s); /* a kept slot's view: released without tjS_release */
        }
    }
}
