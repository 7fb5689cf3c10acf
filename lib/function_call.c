/* tj_call / tj_call_into: checking the inputs, running the plan (or the reference executor)
 * in a per-function workspace, handing out outputs that alias nothing or writing them into the
 * caller's arrays, committing updates. The common call allocates nothing for bookkeeping. */
#include "replay.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Everything a call needs besides the arrays themselves, made once per function: a call takes
 * it with an atomic exchange, and a call that finds it taken (another thread) makes its own. */
struct tjF_ws {
    tj_array **slots; /* nslots: the plan's values */
    tj_array **into;  /* nslots: the caller's output arrays by slot (tj_call_into) */
    tj_array **in;    /* nin: the inputs as the plan sees them: the caller's (borrowed for the
                         call) or a conversion (owned: in_owned) */
    bool *in_owned;
    tj_array **res;   /* nout + nupd: results */
    tj_array **ref;   /* nout + nupd: the reference executor's results (DEBUG) */
    tj_array **cache; /* nslots: view and shape_of headers kept for the next call (tjS_mem) */
    int *cache_base;  /* nslots */
    int ncache;
    tjS_pool pool;    /* intermediates kept for the next call */
    tjF_rstate *replay; /* the recorded call replayed (lib/function_replay.c; NULL: none) */
    bool kept;          /* served a call before: not a concurrent call's own, freed after it */
};

static tjF_ws *ws_new(const tj_fn *fn)
{
    size_t nslots = fn->plan ? (size_t)fn->plan->nslots : 0, n = (size_t)(fn->nout + fn->nupd);
    size_t count = 3 * nslots + (size_t)fn->nin + 2 * n;
    size_t bytes = sizeof(tjF_ws) + sizeof(tj_array *) * (count + 1) + sizeof(int) * nslots +
                   (size_t)fn->nin + 1;
    tjF_ws *ws = tjC_calloc(fn->ctx, 1, bytes);
    if (!ws)
        return NULL;
    ws->pool.ctx = fn->ctx;
    tj_array **p = (tj_array **)(ws + 1);
    ws->cache_base = (int *)(p + count + 1);
    ws->in_owned = (bool *)(ws->cache_base + nslots);
    ws->slots = p;
    ws->into = p + nslots;
    ws->in = ws->into + nslots;
    ws->res = ws->in + fn->nin;
    ws->ref = ws->res + n;
    ws->cache = ws->ref + n;
    ws->ncache = (int)nslots;
    return ws;
}

void tjF_ws_free(tj_ctx *ctx, tjF_ws *ws)
{
    if (!ws)
        return;
    for (int s = 0; s < ws->ncache; s++)
        tjA_unref(ws->cache[s]);
    tjF_rstate_free(ctx, ws->replay, NULL);
    tjS_pool_free(&ws->pool);
    tjC_free(ctx, ws);
}

static tjF_ws *ws_take(tj_fn *fn)
{
    tjF_ws *ws = atomic_exchange_explicit(&fn->ws, NULL, memory_order_acquire);
    return ws ? ws : ws_new(fn);
}

void tjF_replays(tj_fn *fn, uint64_t *replays, uint64_t *records)
{
    tjF_ws *ws = atomic_load(&fn->ws);
    tjF_replay_counts(ws ? ws->replay : NULL, replays, records);
}

/* Back to the function, or freed when a concurrent call already put its own back. */
static void ws_give(tj_fn *fn, tjF_ws *ws)
{
    tjF_ws *none = NULL;
    ws->kept = true;
    if (!atomic_compare_exchange_strong_explicit(&fn->ws, &none, ws, memory_order_release,
                                                 memory_order_relaxed))
        tjF_ws_free(fn->ctx, ws);
}

/* The value handed to the kernel for input i: the caller's array (borrowed: the caller holds it
 * during the call), or a lossless conversion (*owned). */
static tj_status convert_input(tj_fn *fn, int i, tj_array *a, tj_array **out, bool *owned)
{
    tj_ctx *ctx = fn->ctx;
    tj_var *v = fn->inputs[i];
    char buf[160];
/* the description is made only on the error paths: this function runs on every call */
#define DESCRIBE tjG_describe(v, buf, sizeof buf)
    if (!tjA_valid(a))
        return tjC_error(ctx, TJ_ERR_INVALID,
                         "tj_call '%s': input %d (%s) is NULL or not a live tj_array",
                         tjF_name(fn), i, DESCRIBE);
    if (a->ndim != v->ndim)
        return tjC_error(ctx, TJ_ERR_TYPE,
                         "tj_call '%s': input %d (%s) needs %d dimensions, got an array with %d",
                         tjF_name(fn), i, DESCRIBE, v->ndim, a->ndim);
    for (int d = 0; d < v->ndim; d++)
        if (((v->bcast >> d) & 1) && a->shape[d] != 1)
            return tjC_error(ctx, TJ_ERR_SHAPE,
                             "tj_call '%s': input %d (%s) is broadcastable on axis %d, so its "
                             "length there must be 1, got %lld",
                             tjF_name(fn), i, DESCRIBE, d, (long long)a->shape[d]);
    if (a->dtype == v->dtype) {
        *out = a;
        return TJ_OK;
    }
    bool lossless = tjA_can_cast_safely(a->dtype, v->dtype);
    /* Theano's allow_input_downcast=None lets a float64 scalar into a float32 input */
    bool allowed = lossless || fn->allow_input_downcast == 1 ||
                   (fn->allow_input_downcast == -1 && a->ndim == 0 &&
                    tj_dtype_is_float(a->dtype) && tj_dtype_is_float(v->dtype));
    if (!allowed)
        return tjC_error(ctx, TJ_ERR_TYPE,
                         "tj_call '%s': input %d (%s) is %s, but a %s array was given; the "
                         "conversion can lose precision (set allow_input_downcast = 1 to accept "
                         "it, or cast the data)",
                         tjF_name(fn), i, DESCRIBE, tj_dtype_name(v->dtype), tj_dtype_name(a->dtype));
    *out = tjA_convert(fn->ctx, a, v->dtype);
    *owned = *out != NULL;
    return *out ? TJ_OK : tjC_error(ctx, TJ_ERR_NOMEM, "tj_call: out of memory converting input");
#undef DESCRIBE
}

/* Runs the compiled plan; results[] receives new references for outputs then update values.
 * rec (NULL: none) records the run for later calls to replay. */
static tj_status run_plan(tj_fn *fn, tjF_ws *ws, tj_array **results, tjS_rec *rec)
{
    const tjS_plan *plan = fn->plan;
    tj_array **slots = ws->slots;
    for (int l = 0; l < plan->nleaves; l++) {
        int s = plan->leaf_slots[l], i = fn->leaf_in[l];
        tj_array *a = i >= 0 ? ws->in[i] : fn->leaf_var[l]->value;
        slots[s] = fn->borrowed[s] ? a : tjA_ref(a);
    }
    tjS_mem mem = {
        .borrowed = fn->borrowed,
        .into = ws->into, .pool = &ws->pool, .poolable = fn->poolable, .cache = ws->cache,
        .cache_base = ws->cache_base, .rec = rec};
    tj_status rc = tjS_run(fn->ctx, plan, tjF_code_fns(fn->code), slots, fn->keep, fn->prof, &mem);
    if (rec) /* before the results leave their slots: the recorder's references go first */
        tjF_replay_finish(fn, ws->replay, rec, rc, ws->into, &ws->pool);
    /* results take the slots' references (a slot given twice: one more reference) */
    for (int i = 0; rc == TJ_OK && i < fn->nout + fn->nupd; i++) {
        int s = fn->out_slot[i];
        if (slots[s]) {
            results[i] = fn->borrowed[s] ? tjA_ref(slots[s]) : slots[s];
            slots[s] = NULL;
        } else {
            for (int j = 0; j < i && !results[i]; j++)
                if (fn->out_slot[j] == s)
                    results[i] = tjA_ref(results[j]);
        }
    }
    for (int s = 0; s < plan->nslots; s++) {
        if (fn->borrowed[s])
            ; /* no reference to give back */
        else if (slots[s] && !fn->keep[s])
            tjS_release(&mem, s, slots[s]);
        else
            tjA_unref(slots[s]);
        slots[s] = NULL;
    }
    tjS_cache_settle(plan, &mem);
    tjS_pool_trim(&ws->pool);
    return rc;
}

static bool close_enough(double a, double b, tj_dtype d)
{
    if (isnan(a) || isnan(b))
        return isnan(a) && isnan(b);
    if (a == b)
        return true;
    double rtol = d == TJ_FLOAT32 ? 1e-4 : d == TJ_FLOAT64 ? 1e-7 : 0;
    return fabs(a - b) <= rtol * fmax(fabs(a), fabs(b)) + rtol * 1e-3;
}

/* DEBUG mode: the JIT's values against the reference executor's, value by value. */
static tj_status compare_results(tj_fn *fn, tj_array **jit, tj_array **ref)
{
    char buf[160];
    for (int i = 0; i < fn->nout + fn->nupd; i++) {
        tj_array *a = jit[i], *b = ref[i];
        bool same = a->ndim == b->ndim && a->size == b->size &&
                    !memcmp(a->shape, b->shape, sizeof(int64_t) * (size_t)a->ndim);
        int64_t bad = -1;
        if (same && a->size > 0) {
            tj_array *ca = tjA_convert(fn->ctx, a, TJ_FLOAT64);
            tj_array *cb = tjA_convert(fn->ctx, b, TJ_FLOAT64);
            if (!ca || !cb) {
                tjA_unref(ca);
                tjA_unref(cb);
                return tjC_error(fn->ctx, TJ_ERR_NOMEM, "DEBUG mode: out of memory comparing");
            }
            for (int64_t k = 0; k < a->size && bad < 0; k++)
                if (!close_enough(((double *)ca->data)[k], ((double *)cb->data)[k], a->dtype))
                    bad = k;
            tjA_unref(ca);
            tjA_unref(cb);
        }
        if (!same || bad >= 0) {
            const char *what = i < fn->nout ? "output" : "update of";
            return tjC_error(fn->ctx, TJ_ERR_VALUE,
                             "DEBUG mode, function '%s': the JIT and the reference executor "
                             "disagree on %s %d, %s%s (first differing element %lld)",
                             tjF_name(fn), what, i < fn->nout ? i : i - fn->nout,
                             tjG_describe(fn->outs[i], buf, sizeof buf),
                             same ? "" : ": shapes differ", (long long)bad);
        }
    }
    return TJ_OK;
}

/* An output must alias nothing: not an input, a shared value, a view or another output. */
static tj_status make_private(tj_ctx *ctx, tj_array **a)
{
    if (atomic_load(&(*a)->refcount) == 1 && (*a)->owns_data)
        return TJ_OK;
    tj_array *copy = tjA_convert(ctx, *a, (*a)->dtype);
    if (!copy)
        return tjC_error(ctx, TJ_ERR_NOMEM, "tj_call: out of memory copying an output");
    tjA_unref(*a);
    *a = copy;
    return TJ_OK;
}

/* a's bytes (NULL: an empty span, which meets nothing) */
static tjF_span span(const tj_array *a)
{
    return a ? tjF_span_of(a, (int64_t)tjA_es(a->dtype)) : (tjF_span){NULL, NULL};
}

bool tjF_overlaps(const tj_array *a, const tj_array *b)
{
    return tjF_spans_meet(span(a), span(b));
}

enum { SPANS_INLINE = 16 }; /* inputs and shared values whose spans check_into computes once */

/* tj_call_into: outputs[i] (non-NULL) must be a plain array the result can be written into. */
tj_status tjF_check_into(tj_fn *fn, tj_array *const *inputs, tj_array *const *outputs)
{
    tj_ctx *ctx = fn->ctx;
    char buf[160];
    tjF_span known[SPANS_INLINE]; /* inputs then shared values, when they fit */
    bool have = fn->nin + fn->nshared <= SPANS_INLINE;
    for (int j = 0; have && j < fn->nin + fn->nshared; j++)
        known[j] = span(j < fn->nin ? inputs[j] : fn->shared[j - fn->nin]->value);
    for (int i = 0; i < fn->nout; i++) {
        tj_array *a = outputs[i];
        const tj_var *v = fn->outs[i];
        if (!a)
            continue;
        const char *bad = NULL;
        if (!tjA_valid(a))
            bad = "is not a live tj_array";
        else if (a->dtype != v->dtype || a->ndim != v->ndim)
            bad = "has another dtype or number of dimensions";
        else if (!a->owns_data || !tjA_is_contiguous(a))
            bad = "is a view, a wrapped buffer or not C-contiguous";
        if (bad)
            return tjC_error(ctx, TJ_ERR_TYPE,
                             "tj_call_into '%s': outputs[%d] %s; it must be a C-contiguous "
                             "array owning its memory, %s with %d dimensions (%s), or NULL to "
                             "allocate one",
                             tjF_name(fn), i, bad, tj_dtype_name(v->dtype), v->ndim,
                             tjG_describe(v, buf, sizeof buf));
        tjF_span sa = span(a);
        for (int j = 0; j < fn->nin; j++)
            if (tjF_spans_meet(sa, have ? known[j] : span(inputs[j])))
                return tjC_error(ctx, TJ_ERR_INVALID,
                                 "tj_call_into '%s': outputs[%d] shares memory with input %d; "
                                 "an output array must alias no input",
                                 tjF_name(fn), i, j);
        for (int k = 0; k < fn->nshared; k++)
            if (tjF_spans_meet(sa, have ? known[fn->nin + k] : span(fn->shared[k]->value)))
                return tjC_error(ctx, TJ_ERR_INVALID,
                                 "tj_call_into '%s': outputs[%d] shares memory with the value "
                                 "of shared variable %s; an output array must alias no "
                                 "shared variable",
                                 tjF_name(fn), i, tjG_describe(fn->shared[k], buf, sizeof buf));
        for (int j = 0; j < i; j++)
            if (tjF_spans_meet(sa, span(outputs[j])))
                return tjC_error(ctx, TJ_ERR_INVALID,
                                 "tj_call_into '%s': outputs[%d] and outputs[%d] share memory; "
                                 "each output needs its own array",
                                 tjF_name(fn), j, i);
    }
    return TJ_OK;
}

/* tj_call_into after the run: results that did not go straight into the caller's array (a
 * view, a BLAS step, an output equal to an input) are copied there. */
static tj_status deliver_into(tj_fn *fn, tj_array **res, tj_array *const *outputs)
{
    for (int i = 0; i < fn->nout; i++) {
        tj_array *a = outputs[i], *r = res[i];
        if (!a || r == a)
            continue;
        if (r->ndim != a->ndim || !tjA_same_shape(a->ndim, r->shape, a->shape)) {
            char want[96] = "(", got[96] = "(";
            for (int d = 0; d < a->ndim; d++) {
                size_t w = strlen(want), g = strlen(got);
                snprintf(want + w, sizeof want - w, "%s%lld", d ? "," : "", (long long)r->shape[d]);
                snprintf(got + g, sizeof got - g, "%s%lld", d ? "," : "", (long long)a->shape[d]);
            }
            return tjC_error(fn->ctx, TJ_ERR_SHAPE,
                             "tj_call_into '%s': outputs[%d] has shape %s) but the result has "
                             "shape %s)",
                             tjF_name(fn), i, got, want);
        }
        tjA_copy_into(a, r);
    }
    return TJ_OK;
}

static tj_status call(tj_fn *fn, tj_array *const *inputs, tj_array **outputs, bool into,
                      const char *api)
{
    if (!tjF_valid(fn)) {
        tjA_error(TJ_ERR_INVALID, "%s: the function is NULL or not a live tj_fn", api);
        return TJ_ERR_INVALID;
    }
    tj_ctx *ctx = fn->ctx;
    if ((fn->nin > 0 && !inputs) || (fn->nout > 0 && !outputs))
        return tjC_error(ctx, TJ_ERR_INVALID,
                         "%s '%s': %s is NULL (the function takes %d inputs and gives %d "
                         "outputs)",
                         api, tjF_name(fn), outputs ? "inputs" : "outputs", fn->nin, fn->nout);
    tj_status rc = TJ_OK;
    if (fn->direct && tjF_direct_call(fn, inputs, outputs, into, &rc))
        return rc;
    int n = fn->nout + fn->nupd;
    int64_t t0 = fn->profile ? tjC_now_ns() : 0;
    tjF_ws *ws = ws_take(fn);
    if (!ws)
        return tjC_error(ctx, TJ_ERR_NOMEM, "%s: out of memory", api);
    if (tjF_replay_call(fn, ws->replay, &ws->pool, inputs, outputs, into, &rc)) {
        ws_give(fn, ws);
        return rc;
    }
    tj_array **in = ws->in, **res = ws->res, **ref = ws->ref;
    for (int i = 0; rc == TJ_OK && i < fn->nin; i++)
        rc = convert_input(fn, i, inputs[i], &in[i], &ws->in_owned[i]);
    /* updates are serialized against every reader of shared values in this context (the
     * overlap check below reads them too) */
    bool locked = rc == TJ_OK && (fn->nupd > 0 || fn->reads_shared);
    if (locked && fn->nupd > 0)
        pthread_rwlock_wrlock(&ctx->shared_lock);
    else if (locked)
        pthread_rwlock_rdlock(&ctx->shared_lock);
    if (rc == TJ_OK && into)
        rc = tjF_check_into(fn, inputs, outputs);
    bool use_plan = fn->mode != TJ_MODE_FAST_COMPILE && fn->jitted;
    if (rc == TJ_OK && into && use_plan) /* the first output of a slot is written in place */
        for (int i = fn->nout - 1; i >= 0; i--)
            ws->into[fn->out_slot[i]] = outputs[i];
    if (rc == TJ_OK && fn->mode == TJ_MODE_DEBUG) /* the optimizer's rewrites, one by one */
        rc = tjR_debug_check(ctx, &fn->rewrites, fn->inputs, in, fn->nin, tjF_name(fn));
    tjS_rec *rec = rc == TJ_OK && use_plan && fn->replay_ok && ws->kept
                       ? tjF_replay_consider(fn, &ws->replay, &ws->pool, inputs, outputs, into)
                       : NULL;
    if (rc == TJ_OK && use_plan)
        rc = run_plan(fn, ws, res, rec);
    if (rc == TJ_OK && !use_plan)
        rc = tjI_eval(ctx, fn->inputs, in, fn->nin, fn->outs, n, res);
    if (rc == TJ_OK && use_plan && fn->mode == TJ_MODE_DEBUG) {
        rc = tjI_eval(ctx, fn->inputs, in, fn->nin, fn->outs, n, ref);
        if (rc == TJ_OK)
            rc = compare_results(fn, res, ref);
    }
    if (rc == TJ_OK && into)
        rc = deliver_into(fn, res, outputs);
    for (int i = 0; rc == TJ_OK && i < n; i++) { /* an update made in place is the variable's */
        if (i < fn->nout ? !(into && outputs[i]) : res[i] != fn->upd_vars[i - fn->nout]->value)
            rc = make_private(ctx, &res[i]);
    }
    if (rc == TJ_OK) {
        for (int i = 0; i < fn->nout; i++) {
            if (into && outputs[i])
                tjA_unref(res[i]); /* the caller's array keeps its one reference */
            else
                outputs[i] = res[i];
        }
        for (int u = 0; u < fn->nupd; u++) { /* parallel assignment: all computed, then set */
            tj_var *v = fn->upd_vars[u];
            tjA_unref(v->value);
            v->value = res[fn->nout + u];
        }
    } else {
        for (int i = 0; i < n; i++)
            tjA_unref(res[i]);
    }
    if (locked)
        pthread_rwlock_unlock(&ctx->shared_lock);
    for (int i = 0; i < fn->nin; i++) {
        if (ws->in_owned[i])
            tjA_unref(in[i]);
        in[i] = NULL;
        ws->in_owned[i] = false;
    }
    for (int i = 0; i < n; i++) {
        tjA_unref(ref[i]);
        res[i] = ref[i] = NULL;
    }
    if (into && use_plan)
        for (int i = 0; i < fn->nout; i++)
            ws->into[fn->out_slot[i]] = NULL;
    ws_give(fn, ws);
    if (fn->profile && rc == TJ_OK) {
        fn->calls++;
        fn->call_ns += (double)(tjC_now_ns() - t0);
    }
    return rc;
}

tj_status tj_call(tj_fn *fn, tj_array *const *inputs, tj_array **outputs)
{
    return call(fn, inputs, outputs, false, "tj_call");
}

tj_status tj_call_into(tj_fn *fn, tj_array *const *inputs, tj_array **outputs)
{
    return call(fn, inputs, outputs, true, "tj_call_into");
}

tj_status tj_call_n(tj_fn *fn, tj_array *const *inputs, int nin, tj_array **outputs, int nout)
{
    if (tjF_valid(fn) && (nin != fn->nin || nout != fn->nout))
        return tjC_error(fn->ctx, TJ_ERR_INVALID,
                         "tj_call '%s': the function takes %d inputs and gives %d outputs; "
                         "called with %d inputs and room for %d outputs",
                         tjF_name(fn), fn->nin, fn->nout, nin, nout);
    return tj_call(fn, inputs, outputs);
}
