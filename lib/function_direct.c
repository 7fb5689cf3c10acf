/* The direct call: a function whose whole plan is one elementwise kernel reading only leaves
 * (inputs, shared variables, constants) and writing exactly the function's outputs runs that
 * kernel straight from tj_call / tj_call_into. No workspace, no slots, no reference counting:
 * the checks a call needs, then one native call. A call the direct path cannot take as it comes
 * (a dtype conversion, broadcasting against a non-scalar, strides, a shape to report as wrong)
 * goes the general way (lib/function_call.c), which computes the same values and reports the
 * errors. A call with the very arrays of the last call that passed the checks (the same
 * headers, by address and serial) skips them: a loop calling with reused arrays pays the checks
 * once. */
#include "function.h"
#include "pool.h"

#include <stdatomic.h>
#include <stddef.h>
#include <string.h>

/* The arrays of the last call that passed the checks (function_direct.c's memo_*). */
enum { TJF_MEMO_MAX = 3 * TJS_SMALL_OPS };
typedef struct {
    atomic_uint seq; /* 0: empty; odd: being written; grows with every memo */
    atomic_bool given; /* the caller gave the outputs (tj_call_into) */
    _Atomic int64_t total;
    _Atomic uintptr_t addr[TJF_MEMO_MAX];
    _Atomic uint64_t serial[TJF_MEMO_MAX];
} tjF_memo;

struct tjF_direct {
    tjK_fn fn;
    int nin, nout; /* the kernel's operands */
    int ndim;      /* rank of its iteration space */
    /* per kernel input: the function input that fills it (>= 0), or -1 - l for leaf l (its
     * value is fn->leaf_var[l]'s) */
    int src[TJS_SMALL_OPS];
    bool scalar[TJS_SMALL_OPS]; /* broadcast on every axis: one element, stride 0 */
    int out_of[TJS_SMALL_OPS];  /* per kernel output: the function output it is */
    /* element bytes: of the kernel's inputs, of fn's inputs and of fn's outputs */
    int64_t kin_size[TJS_SMALL_OPS], in_size[TJS_SMALL_OPS], out_size[TJS_SMALL_OPS];
    tjF_memo memo;
};

/* The shape of an iteration space whose operands are all scalars (rank up to TJ_MAX_NDIM): one
 * 1 per axis, every one spelled out (a shorter list leaves 0s, an empty result). */
static const int64_t ones[TJ_MAX_NDIM] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
                                          1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
_Static_assert(TJ_MAX_NDIM == 32, "ones[] lists TJ_MAX_NDIM ones");

/* Kernel input i's array: a function input or a leaf's value. */
static inline const tj_array *operand(const tj_fn *fn, const tjF_direct *d,
                                      tj_array *const *inputs, int i)
{
    return d->src[i] >= 0 ? inputs[d->src[i]] : fn->leaf_var[-1 - d->src[i]]->value;
}

void tjF_direct_free(tj_ctx *ctx, tjF_direct *d) { tjC_free(ctx, d); }

static int leaf_of(const tjS_plan *plan, int slot)
{
    for (int l = 0; l < plan->nleaves; l++)
        if (plan->leaf_slots[l] == slot)
            return l;
    return -1;
}

/* The leaf behind kernel operand slot: the slot itself, or the 0-d leaf a view step broadcasts
 * to the kernel's rank (dimshuffle{x,...} of a scalar: still its one element). -1: neither. */
static int operand_leaf(const tjS_plan *plan, int slot, bool *broadcast_scalar)
{
    *broadcast_scalar = false;
    int l = leaf_of(plan, slot);
    if (l >= 0)
        return l;
    for (int i = 0; i < plan->nsteps; i++) {
        const tjS_step *st = &plan->steps[i];
        if (st->kind != STEP_VIEW || st->out_slots[0] != slot)
            continue;
        l = leaf_of(plan, st->in_slots[0]);
        if (l < 0 || plan->slot_node[st->in_slots[0]]->ndim != 0)
            return -1;
        *broadcast_scalar = true;
        return l;
    }
    return -1;
}

tj_status tjF_direct_prepare(tj_fn *fn)
{
    const tjS_plan *plan = fn->plan;
    if (!plan || !fn->jitted || fn->mode != TJ_MODE_FAST_RUN || fn->profile || fn->nupd > 0 ||
        plan->nchains > 0 || fn->nin > TJS_SMALL_OPS)
        return TJ_OK;
    /* one kernel; any other step is a view feeding it a broadcast scalar (checked below) */
    const tjS_step *st = NULL;
    for (int i = 0; i < plan->nsteps; i++) {
        const tjS_step *s = &plan->steps[i];
        if (s->kind == STEP_KERNEL && !st)
            st = s;
        else if (s->kind != STEP_VIEW)
            return TJ_OK;
    }
    if (!st || st->reduce != TJ_OP_INPUT || st->nout != fn->nout ||
        st->nin + st->nout > TJS_SMALL_OPS || plan->nsteps > 1 + st->nin)
        return TJ_OK;
    tjF_direct d = {.fn = tjF_code_fns(fn->code)[st->kernel], .nin = st->nin, .nout = st->nout,
                    .ndim = st->iter_ndim};
    for (int i = 0; i < fn->nin; i++)
        d.in_size[i] = (int64_t)tj_dtype_size(fn->inputs[i]->dtype);
    for (int i = 0; i < fn->nout; i++)
        d.out_size[i] = (int64_t)tj_dtype_size(fn->outs[i]->dtype);
    uint32_t all = st->iter_ndim ? (uint32_t)((1ull << st->iter_ndim) - 1) : 0;
    int used_views = 0;
    for (int i = 0; i < st->nin; i++) {
        bool viewed;
        int l = operand_leaf(plan, st->in_slots[i], &viewed);
        if (l < 0 || (st->in_bcast[i] != 0 && st->in_bcast[i] != all) ||
            (viewed && st->in_bcast[i] != all))
            return TJ_OK;
        used_views += viewed;
        d.src[i] = fn->leaf_in[l] >= 0 ? fn->leaf_in[l] : -1 - l;
        d.scalar[i] = st->in_bcast[i] == all && all != 0;
        d.kin_size[i] = (int64_t)tj_dtype_size(plan->slot_node[st->in_slots[i]]->dtype);
    }
    if (used_views != plan->nsteps - 1) /* a view whose value the kernel does not read */
        return TJ_OK;
    /* each kernel output is one function output, and each function output one kernel output */
    bool taken[TJS_SMALL_OPS] = {0};
    for (int o = 0; o < st->nout; o++) {
        d.out_of[o] = -1;
        for (int i = 0; i < fn->nout && d.out_of[o] < 0; i++)
            if (fn->out_slot[i] == st->out_slots[o] && !taken[i])
                d.out_of[o] = i;
        if (d.out_of[o] < 0)
            return TJ_OK;
        taken[d.out_of[o]] = true;
    }
    if (!(fn->direct = tjC_malloc(fn->ctx, sizeof d)))
        return tjC_error(fn->ctx, TJ_ERR_NOMEM, "out of memory compiling '%s'", tjF_name(fn));
    memcpy(fn->direct, &d, offsetof(tjF_direct, memo));
    memset(&fn->direct->memo, 0, sizeof fn->direct->memo); /* empty: seq 0 */
    return TJ_OK;
}

/* Whether this call's operands pass every check of the direct path, *total its element count:
 * the inputs' kinds, dtypes, ranks and broadcastable axes; the kernel operands' shapes and
 * contiguity; and the caller's outputs (outs NULL: none given; an entry NULL: made here): the
 * right kind, owning their memory, and sharing it with no input, shared value or other output. */
static bool operands_ok(const tj_fn *fn, const tjF_direct *d, tj_array *const *inputs,
                        tj_array *const *outs, int64_t *total)
{
    tjF_span in_span[TJS_SMALL_OPS], out_span[TJS_SMALL_OPS]; /* out_span: by kernel output */
    for (int i = 0; i < fn->nin; i++) {
        const tj_array *a = inputs[i];
        const tj_var *v = fn->inputs[i];
        if (!a || a->magic != TJ_ARRAY_MAGIC || a->dtype != v->dtype || a->ndim != v->ndim)
            return false;
        for (int k = 0; v->bcast && k < v->ndim; k++) /* broadcastable axes have length 1 */
            if (((v->bcast >> k) & 1) && a->shape[k] != 1)
                return false;
        in_span[i] = tjF_span_of(a, d->in_size[i]);
    }
    const int64_t *shape = NULL;
    for (int i = 0; i < d->nin; i++) {
        const tj_array *a = operand(fn, d, inputs, i);
        if (d->scalar[i]) {
            if (a->size != 1)
                return false;
        } else {
            if (a->ndim != d->ndim || !tjA_contiguous_es(a, d->kin_size[i]) ||
                (shape && !tjA_same_shape(d->ndim, a->shape, shape)))
                return false;
            shape = shape ? shape : a->shape;
        }
    }
    shape = shape ? shape : ones;
    int64_t n = 1;
    for (int k = 0; k < d->ndim; k++)
        n *= shape[k];
    *total = n;
    for (int o = 0; o < d->nout && outs; o++) {
        int i = d->out_of[o];
        const tj_array *out = outs[i];
        out_span[o] = (tjF_span){NULL, NULL};
        if (!out)
            continue;
        if (out->magic != TJ_ARRAY_MAGIC || out->dtype != fn->outs[i]->dtype || !out->owns_data ||
            out->ndim != d->ndim || !tjA_same_shape(d->ndim, out->shape, shape) ||
            !tjA_contiguous_es(out, d->out_size[i]))
            return false;
        out_span[o] = tjF_span_of(out, d->out_size[i]);
        for (int j = 0; j < fn->nin; j++)
            if (tjF_spans_meet(out_span[o], in_span[j]))
                return false;
        for (int j = 0; j < o; j++)
            if (tjF_spans_meet(out_span[o], out_span[j]))
                return false;
        for (int k = 0; k < fn->nshared; k++)
            if (tjF_overlaps(out, fn->shared[k]->value))
                return false;
    }
    return true;
}

/* The memo holds the arrays operands_ok's verdict rests on, in a fixed order: the inputs, the
 * caller's outputs (when given) and every shared value fn reads. The array at position i: */
static const tj_array *memo_array(const tj_fn *fn, tj_array *const *inputs, tj_array *const *outs,
                                  int i)
{
    if (i < fn->nin)
        return inputs[i];
    i -= fn->nin;
    if (outs && i < fn->nout)
        return outs[i];
    return fn->shared[i - (outs ? fn->nout : 0)]->value;
}
static int memo_count(const tj_fn *fn, bool given)
{
    int n = fn->nin + (given ? fn->nout : 0) + fn->nshared;
    return n <= TJF_MEMO_MAX ? n : -1; /* -1: more than a memo holds */
}

/* Whether this call's arrays are those of the last call remembered: the same addresses, live,
 * with the same serials (a freed and reallocated header has a new one). A sequence lock: a
 * remembering call in another thread makes this read miss instead of see half a memo. The
 * fields are stored with release and loaded with acquire (no fences, which ThreadSanitizer
 * cannot follow): a load that sees a new field orders the second read of seq after the store
 * that made seq odd. On x86 all of these are plain moves. */
static bool memo_hit(tjF_memo *m, const tj_fn *fn, tj_array *const *inputs,
                     tj_array *const *outs, int64_t *total)
{
    unsigned seq = atomic_load_explicit(&m->seq, memory_order_acquire);
    int n = memo_count(fn, outs);
    if (n < 0 || seq == 0 || (seq & 1) ||
        atomic_load_explicit(&m->given, memory_order_acquire) != (outs != NULL))
        return false;
    for (int i = 0; i < n; i++) {
        const tj_array *a = memo_array(fn, inputs, outs, i);
        if ((uintptr_t)a != atomic_load_explicit(&m->addr[i], memory_order_acquire))
            return false;
        if (a && (a->magic != TJ_ARRAY_MAGIC ||
                  a->serial != atomic_load_explicit(&m->serial[i], memory_order_acquire)))
            return false;
    }
    *total = atomic_load_explicit(&m->total, memory_order_acquire);
    return atomic_load_explicit(&m->seq, memory_order_relaxed) == seq;
}

/* Remembers the arrays of a call that passed the checks; skipped while another call is
 * remembering, or when an array is a header that is never remembered (serial 0). seq only
 * grows: a reader that saw one memo never takes a later one for it. */
static void memo_store(tjF_memo *m, const tj_fn *fn, tj_array *const *inputs,
                       tj_array *const *outs, int64_t total)
{
    int n = memo_count(fn, outs);
    for (int i = 0; i < n; i++) {
        const tj_array *a = memo_array(fn, inputs, outs, i);
        if (a && a->serial == 0)
            return;
    }
    unsigned seq = atomic_load_explicit(&m->seq, memory_order_relaxed);
    if (n < 0 || (seq & 1) ||
        !atomic_compare_exchange_strong_explicit(&m->seq, &seq, seq + 1, memory_order_relaxed,
                                                 memory_order_relaxed))
        return;
    for (int i = 0; i < n; i++) {
        const tj_array *a = memo_array(fn, inputs, outs, i);
        atomic_store_explicit(&m->addr[i], (uintptr_t)a, memory_order_release);
        atomic_store_explicit(&m->serial[i], a ? a->serial : 0, memory_order_release);
    }
    atomic_store_explicit(&m->given, outs != NULL, memory_order_release);
    atomic_store_explicit(&m->total, total, memory_order_release);
    atomic_store_explicit(&m->seq, seq + 2, memory_order_release);
}

bool tjF_direct_call(tj_fn *fn, tj_array *const *inputs, tj_array **outputs, bool into,
                     tj_status *rc)
{
    tjF_direct *d = fn->direct;
    tj_ctx *ctx = fn->ctx;
    tj_array *const *outs = into ? outputs : NULL;
    bool locked = fn->reads_shared;
    if (locked) /* shared values are read under the lock updates take */
        pthread_rwlock_rdlock(&ctx->shared_lock);
    int64_t total;
    bool ok = memo_hit(&d->memo, fn, inputs, outs, &total);
    if (!ok && (ok = operands_ok(fn, d, inputs, outs, &total)))
        memo_store(&d->memo, fn, inputs, outs, total);
    char *ptrs[TJS_SMALL_OPS];
    int64_t packed[TJS_SMALL_OPS]; /* element strides of the one flat row */
    const int64_t *shape = ones; /* of the full operands, which the checks found equal */
    for (int i = 0; i < d->nin && ok; i++) {
        const tj_array *a = operand(fn, d, inputs, i);
        ptrs[i] = a->data;
        packed[i] = !d->scalar[i];
        shape = d->scalar[i] ? shape : a->shape;
    }
    tj_array *made[TJS_SMALL_OPS]; /* outputs allocated here (not zeroed whole: every call) */
    int reached = 0;
    bool nomem = false;
    for (int o = 0; o < d->nout && ok; o++) {
        int i = d->out_of[o];
        tj_array *out = outs ? outs[i] : NULL;
        made[o] = NULL;
        reached = o + 1;
        if (!out) {
            out = made[o] = tjA_alloc(ctx, fn->outs[i]->dtype, d->ndim, shape, false);
            ok = !(nomem = !out);
        }
        ptrs[d->nin + o] = ok ? out->data : NULL;
        packed[d->nin + o] = 1;
    }
    if (ok && total > 0) {
        int64_t cshape[1] = {total};
        tjP_run_rows(ctx, d->fn, ptrs, cshape, packed, 1, total, 1);
    }
    if (locked)
        pthread_rwlock_unlock(&ctx->shared_lock);
    for (int o = 0; o < reached; o++) {
        if (ok && made[o])
            outputs[d->out_of[o]] = made[o];
        else if (made[o])
            tj_array_unref(made[o]);
    }
    if (nomem)
        *rc = tjC_error(ctx, TJ_ERR_NOMEM, "tj_call '%s': out of memory for an output",
                        tjF_name(fn));
    else if (ok)
        *rc = TJ_OK;
    return ok || nomem;
}
