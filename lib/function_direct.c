/* The direct call: a function whose whole plan is one elementwise kernel reading only leaves
 * (inputs, shared variables, constants) and writing exactly the function's outputs runs that
 * kernel straight from tj_call / tj_call_into. No workspace, no slots, no reference counting:
 * the checks a call needs, then one native call. A call the direct path cannot take as it comes
 * (a dtype conversion, broadcasting against a non-scalar, strides, a shape to report as wrong)
 * goes the general way (lib/function_call.c), which computes the same values and reports the
 * errors. */
#include "function.h"
#include "pool.h"

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
};

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
    *fn->direct = d;
    return TJ_OK;
}

bool tjF_direct_call(tj_fn *fn, tj_array *const *inputs, tj_array **outputs, bool into,
                     tj_status *rc)
{
    const tjF_direct *d = fn->direct;
    tj_ctx *ctx = fn->ctx;
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
    bool locked = fn->reads_shared;
    if (locked) /* shared values are read under the lock updates take */
        pthread_rwlock_rdlock(&ctx->shared_lock);
    char *ptrs[TJS_SMALL_OPS];
    int64_t packed[TJS_SMALL_OPS]; /* element strides of the one flat row */
    const int64_t *shape = NULL;
    bool ok = true;
    for (int i = 0; i < d->nin && ok; i++) {
        const tj_array *a =
            d->src[i] >= 0 ? inputs[d->src[i]] : fn->leaf_var[-1 - d->src[i]]->value;
        if (d->scalar[i]) {
            ok = a->size == 1;
        } else {
            ok = a->ndim == d->ndim && tjA_contiguous_es(a, d->kin_size[i]) &&
                 (!shape || tjA_same_shape(d->ndim, a->shape, shape));
            shape = shape ? shape : a->shape;
        }
        ptrs[i] = a->data;
        packed[i] = !d->scalar[i];
    }
    static const int64_t ones[TJ_MAX_NDIM] = {1, 1, 1, 1, 1, 1, 1, 1};
    shape = shape ? shape : ones;
    int64_t total = 1;
    for (int k = 0; k < d->ndim; k++)
        total *= shape[k];
    tj_array *made[TJS_SMALL_OPS]; /* outputs allocated here (not zeroed whole: every call) */
    int reached = 0;
    bool nomem = false;
    for (int o = 0; o < d->nout && ok; o++) {
        int i = d->out_of[o];
        made[o] = NULL;
        reached = o + 1;
        tj_array *out = into ? outputs[i] : NULL;
        if (out) { /* the caller's array: the right kind, and sharing memory with nothing */
            ok = out->magic == TJ_ARRAY_MAGIC && out->dtype == fn->outs[i]->dtype &&
                 out->owns_data && out->ndim == d->ndim && tjA_same_shape(d->ndim, out->shape, shape) &&
                 tjA_contiguous_es(out, d->out_size[i]);
            out_span[o] = ok ? tjF_span_of(out, d->out_size[i]) : (tjF_span){NULL, NULL};
            for (int j = 0; j < fn->nin && ok; j++)
                ok = !tjF_spans_meet(out_span[o], in_span[j]);
            for (int j = 0; j < o && ok; j++)
                ok = !tjF_spans_meet(out_span[o], out_span[j]);
            for (int k = 0; k < fn->nshared && ok; k++)
                ok = !tjF_overlaps(out, fn->shared[k]->value);
        } else {
            out = made[o] = tjA_alloc(ctx, fn->outs[i]->dtype, d->ndim, shape, false);
            out_span[o] = (tjF_span){NULL, NULL};
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
