/* A function's replayed calls (lib/replay.h). A call's signature is the layout of every input
 * and shared value (dtype, shape, byte strides, data alignment; for a shared value also whether
 * only its variable holds it, which decides updates in place) and which outputs the caller gives
 * arrays for. When two calls in a row have one signature, the second is recorded; later calls
 * with that signature replay it: each slot's buffer is named once (an input, a shared value, a
 * constant or a shape_of length, the caller's output array, a result made per call, or a buffer
 * the replay owns), so a replayed call fills in a few pointers and issues the launches. A call
 * that differs in anything takes the general path, which also reports every error. */
#include "pool.h"
#include "replay.h"

#include <stdlib.h>
#include <string.h>

enum {
    REPLAY_BYTES = 1 << 20, /* above this the launches dwarf what a replay saves */
    ALIGN = 16,             /* BLAS copies an operand misaligned for its element size */
};

typedef struct {
    tj_dtype dtype;
    int ndim;
    int64_t shape[TJ_MAX_NDIM], strides[TJ_MAX_NDIM];
    unsigned align; /* data address mod ALIGN */
    bool excl;      /* a shared value only its variable holds, owning its memory */
} layout;

typedef struct {
    uint64_t into; /* bit i: the caller gives outputs[i] (tj_call_into) */
    layout *a;     /* inputs, then the plan's shared leaves */
} sig;

typedef enum { ROOT_FIXED, ROOT_INPUT, ROOT_SHARED, ROOT_INTO, ROOT_FRESH } root_kind;

/* A buffer slots point into */
typedef struct {
    root_kind kind;
    int index;       /* INPUT: the input; SHARED: the leaf; INTO, FRESH: the result */
    char *data;      /* FIXED: always; the others: this call's */
    tj_array *owned; /* FIXED: an intermediate the replay owns (NULL: a constant, a length) */
    tj_array *fresh; /* FRESH: this call's result until it is handed out */
} root;

typedef struct {
    sig sig;
    tjS_rop *ops;
    int nops;
    tj_array *hdr;    /* per slot: the recorded layout, data set per call */
    tj_array **slots; /* per slot: &hdr[s], NULL for slots no step makes */
    int64_t *cells;   /* per slot: a shape_of length */
    root *roots;
    int nroots;
    int *slot_root;   /* per slot (-1: none) */
    int64_t *slot_off;
    int *live;        /* the slots whose root is not FIXED */
    int nlive;
    int *dyn;         /* the roots that are not FIXED */
    int ndyn;
    int64_t *out_bytes; /* per output: its bytes (the caller's array, when given, spans them) */
    /* per input, then per shared variable of fn (tjF_check_into's other arrays): its bytes
     * relative to its data pointer (an empty array: hi == lo), or for a shared variable no
     * leaf of the plan reads, lo > hi: its span is found per call */
    int64_t *lo, *hi;
    /* the data pointers of the last call replayed (have_last): inputs, fn's shared values, the
     * caller's output arrays. Spans and slot pointers follow from pointers and layouts, and the
     * signature fixes the layouts, so equal pointers leave both as they were */
    char **last;
    bool have_last;
    bool spans_fixed; /* every shared value of fn is a leaf: its layout is in the signature */
    int *sh_sig;      /* per shared variable of fn: its entry among the signature's shared
                         leaves, or -1 */
    int *fresh;       /* the FRESH roots */
    int nfresh;
} replay;

struct tjF_rstate {
    int nsig;         /* inputs + shared leaves */
    int nshl;
    int *shl;         /* the plan's shared leaves */
    sig cand;         /* the previous call's signature (have_cand) */
    sig pending;      /* this call's */
    sig refused;      /* a signature whose recording was refused (have_refused) */
    bool have_cand, have_refused;
    replay *rp;
    uint64_t replays, records; /* calls replayed, recordings that became a replay */
};

void tjF_replay_prepare(tj_fn *fn)
{
    const tjS_plan *plan = fn->plan;
    /* TJ_REPLAY=off: every call takes the general path */
    fn->replay_ok = plan && fn->jitted && fn->mode == TJ_MODE_FAST_RUN && !fn->profile &&
                    fn->nout <= 64 && !tjC_env_off("TJ_REPLAY");
    for (int i = 0; fn->replay_ok && i < plan->nsteps; i++)
        fn->replay_ok = plan->steps[i].kind != STEP_HOST && plan->steps[i].kind != STEP_SHAPE_OP;
}

/* ---- signatures ------------------------------------------------------------------------------ */

static unsigned align_of(const tj_array *a) { return (unsigned)((uintptr_t)a->data % ALIGN); }

static bool exclusive(const tj_array *a)
{
    return atomic_load_explicit(&a->refcount, memory_order_relaxed) == 1 && a->owns_data &&
           !a->release;
}

static void put(const tj_array *a, bool shared, layout *L)
{
    memset(L, 0, sizeof *L); /* compared with memcmp */
    L->dtype = a->dtype;
    L->ndim = a->ndim;
    memcpy(L->shape, a->shape, sizeof(int64_t) * (size_t)a->ndim);
    memcpy(L->strides, a->strides, sizeof(int64_t) * (size_t)a->ndim);
    L->align = align_of(a);
    L->excl = shared && exclusive(a);
}

static bool is(const tj_array *a, const layout *L, bool shared)
{
    if (a->dtype != L->dtype || a->ndim != L->ndim || align_of(a) != L->align ||
        (shared && exclusive(a) != L->excl))
        return false;
    for (int d = 0; d < a->ndim; d++)
        if (a->shape[d] != L->shape[d] || a->strides[d] != L->strides[d])
            return false;
    return true;
}

static uint64_t into_mask(const tj_fn *fn, tj_array *const *outputs, bool into)
{
    uint64_t m = 0;
    for (int i = 0; into && i < fn->nout; i++)
        m |= outputs[i] ? 1ull << i : 0;
    return m;
}

/* false: a call no replay serves (an input converted to the input's dtype, or large) */
static bool sig_fill(const tj_fn *fn, const struct tjF_rstate *rs, tj_array *const *inputs,
                     tj_array *const *outputs, bool into, sig *g)
{
    size_t bytes = 0;
    for (int i = 0; i < fn->nin; i++) {
        if (inputs[i]->dtype != fn->inputs[i]->dtype)
            return false;
        put(inputs[i], false, &g->a[i]);
        bytes += (size_t)inputs[i]->size * tjA_es(inputs[i]->dtype);
    }
    for (int k = 0; k < rs->nshl; k++) {
        const tj_array *a = fn->leaf_var[rs->shl[k]]->value;
        put(a, true, &g->a[fn->nin + k]);
        bytes += (size_t)a->size * tjA_es(a->dtype);
    }
    g->into = into_mask(fn, outputs, into);
    return bytes <= REPLAY_BYTES;
}

static bool sig_same(const struct tjF_rstate *rs, const sig *a, const sig *b)
{
    return a->into == b->into && !memcmp(a->a, b->a, sizeof *a->a * (size_t)rs->nsig);
}

static void sig_copy(const struct tjF_rstate *rs, sig *to, const sig *from)
{
    to->into = from->into;
    memcpy(to->a, from->a, sizeof *to->a * (size_t)rs->nsig);
}

/* ---- a replay's lifetime --------------------------------------------------------------------- */

static void replay_free(tj_ctx *ctx, replay *rp, tjS_pool *pool)
{
    if (!rp)
        return;
    for (int r = 0; r < rp->nroots; r++) /* the owned buffers serve the general path again */
        tjS_pool_put(pool, rp->roots[r].owned);
    tjS_rops_free(ctx, rp->ops, rp->nops);
    tjC_free(ctx, rp->sig.a);
    tjC_free(ctx, rp->hdr);
    tjC_free(ctx, rp->slots);
    tjC_free(ctx, rp->cells);
    tjC_free(ctx, rp->roots);
    tjC_free(ctx, rp->slot_root);
    tjC_free(ctx, rp->slot_off);
    tjC_free(ctx, rp->live);
    tjC_free(ctx, rp->dyn);
    tjC_free(ctx, rp->out_bytes);
    tjC_free(ctx, rp->lo);
    tjC_free(ctx, rp->hi);
    tjC_free(ctx, rp->last);
    tjC_free(ctx, rp->sh_sig);
    tjC_free(ctx, rp->fresh);
    tjC_free(ctx, rp);
}

void tjF_rstate_free(tj_ctx *ctx, tjF_rstate *rs, tjS_pool *pool)
{
    if (!rs)
        return;
    replay_free(ctx, rs->rp, pool);
    tjC_free(ctx, rs->shl);
    tjC_free(ctx, rs->cand.a);
    tjC_free(ctx, rs->pending.a);
    tjC_free(ctx, rs->refused.a);
    tjC_free(ctx, rs);
}

static tjF_rstate *rstate_new(const tj_fn *fn)
{
    tj_ctx *ctx = fn->ctx;
    const tjS_plan *plan = fn->plan;
    tjF_rstate *rs = tjC_calloc(ctx, 1, sizeof *rs);
    if (!rs)
        return NULL;
    rs->shl = tjC_malloc(ctx, sizeof *rs->shl * (size_t)(plan->nleaves + 1));
    for (int l = 0; rs->shl && l < plan->nleaves; l++)
        if (fn->leaf_in[l] < 0 && fn->leaf_var[l]->op == TJ_OP_SHARED)
            rs->shl[rs->nshl++] = l;
    rs->nsig = fn->nin + rs->nshl;
    size_t n = (size_t)rs->nsig + 1;
    rs->cand.a = tjC_malloc(ctx, sizeof(layout) * n);
    rs->pending.a = tjC_malloc(ctx, sizeof(layout) * n);
    rs->refused.a = tjC_malloc(ctx, sizeof(layout) * n);
    if (!rs->shl || !rs->cand.a || !rs->pending.a || !rs->refused.a) {
        tjF_rstate_free(ctx, rs, NULL);
        return NULL;
    }
    return rs;
}

tjS_rec *tjF_replay_consider(tj_fn *fn, tjF_rstate **prs, tjS_pool *pool,
                             tj_array *const *inputs, tj_array *const *outputs, bool into)
{
    tjF_rstate *rs = *prs ? *prs : (*prs = rstate_new(fn));
    if (!rs)
        return NULL;
    if (!sig_fill(fn, rs, inputs, outputs, into, &rs->pending)) {
        rs->have_cand = false;
        return NULL;
    }
    if (rs->have_refused && sig_same(rs, &rs->refused, &rs->pending))
        return NULL;
    if (!rs->have_cand || !sig_same(rs, &rs->cand, &rs->pending)) {
        sig_copy(rs, &rs->cand, &rs->pending);
        rs->have_cand = true;
        return NULL;
    }
    /* the second call in a row with this signature: record it, in place of the old replay
     * (whose buffers go to the pool, for the recording to take) */
    rs->have_cand = false;
    replay_free(fn->ctx, rs->rp, pool);
    rs->rp = NULL;
    return tjS_rec_new(fn->ctx, fn->plan);
}

/* ---- a recording turned into a replay -------------------------------------------------------- */

static int add_root(replay *rp, root_kind kind, int index, char *data)
{
    rp->roots[rp->nroots] = (root){.kind = kind, .index = index, .data = data};
    return rp->nroots++;
}

/* The slot t (a leaf, or the result of a kernel or BLAS step classified before) whose array is
 * a: a step took it over in place. -1: none. */
static int same_array(const tjS_rec *rec, const replay *rp, const bool *made, const tj_array *a)
{
    for (int t = 0; t < rec->plan->nslots; t++)
        if (made[t] && rp->slot_root[t] >= 0 && rec->snap[t].arr == a)
            return t;
    return -1;
}

/* Names the buffer of every slot the steps make (false: the replay cannot name one) */
static bool classify(const tj_fn *fn, tjS_rec *rec, replay *rp, tj_array *const *into_slots,
                     bool *made)
{
    const tjS_plan *plan = fn->plan;
    for (int l = 0; l < plan->nleaves; l++) {
        int s = plan->leaf_slots[l], i = fn->leaf_in[l];
        if (!rec->snap[s].arr)
            return false;
        made[s] = true; /* an update may take a shared value over */
        rp->slot_root[s] = i >= 0 ? add_root(rp, ROOT_INPUT, i, NULL)
                           : fn->leaf_var[l]->op == TJ_OP_SHARED
                               ? add_root(rp, ROOT_SHARED, l, NULL)
                               : add_root(rp, ROOT_FIXED, l, rec->snap[s].data);
    }
    for (int i = 0; i < plan->nsteps; i++) {
        const tjS_step *st = &plan->steps[i];
        for (int o = 0; o < st->nout; o++) {
            int s = st->out_slots[o], b = st->nin ? st->in_slots[0] : -1;
            tjS_snap *sn = &rec->snap[s];
            if (!sn->arr)
                return false;
            if (st->kind == STEP_VIEW) { /* a view of its base, wherever that lives */
                if (rp->slot_root[b] < 0)
                    return false;
                rp->slot_root[s] = rp->slot_root[b];
                rp->slot_off[s] = rp->slot_off[b] + (sn->data - rec->snap[b].data);
                continue;
            }
            if (st->kind == STEP_SHAPE) { /* a length the signature fixes */
                rp->cells[s] = sn->value;
                rp->slot_root[s] = add_root(rp, ROOT_FIXED, -1, (char *)&rp->cells[s]);
                continue;
            }
            if (st->kind != STEP_KERNEL && st->kind != STEP_DOT)
                return false;
            int t = same_array(rec, rp, made, sn->arr), r;
            made[s] = true;
            if (into_slots && into_slots[s] == sn->arr) {
                for (r = 0; fn->out_slot[r] != s; r++)
                    ;
                rp->slot_root[s] = add_root(rp, ROOT_INTO, r, NULL);
            } else if (t >= 0) {
                root_kind k = rp->roots[rp->slot_root[t]].kind;
                if (k == ROOT_INPUT || (k == ROOT_FIXED && !rp->roots[rp->slot_root[t]].owned))
                    return false; /* never taken over (borrowed leaves) */
                rp->slot_root[s] = rp->slot_root[t];
                rp->slot_off[s] = rp->slot_off[t];
            } else if (sn->held) {
                rp->slot_root[s] = add_root(rp, ROOT_FIXED, -1, sn->data);
                rp->roots[rp->slot_root[s]].owned = sn->arr; /* the recorder's reference */
                sn->held = false;
            } else {
                return false;
            }
        }
    }
    return true;
}

/* Each result's buffer is its own: the caller's array, its variable's value taken over in
 * place, or a buffer made per call (a result must alias nothing, so this is what the general
 * path hands out without a copy). */
static bool results(const tj_fn *fn, replay *rp, uint64_t into)
{
    for (int r = 0; r < fn->nout + fn->nupd; r++) {
        int s = fn->out_slot[r], id = rp->slot_root[s];
        if (id < 0 || rp->slot_off[s] != 0)
            return false;
        for (int q = 0; q < r; q++)
            if (rp->slot_root[fn->out_slot[q]] == id)
                return false; /* one buffer for two results: the general path copies */
        root *R = &rp->roots[id];
        if ((into >> r) & 1) {
            if (R->kind != ROOT_INTO || R->index != r)
                return false;
        } else if (R->kind == ROOT_SHARED && r >= fn->nout &&
                   fn->leaf_var[R->index] == fn->upd_vars[r - fn->nout]) {
            /* updated in place */
        } else if (R->kind == ROOT_FIXED && R->owned) {
            tjA_unref(R->owned);
            *R = (root){.kind = ROOT_FRESH, .index = r};
        } else {
            return false;
        }
    }
    return true;
}

static bool alloc_replay(const tj_fn *fn, const tjF_rstate *rs, replay *rp)
{
    tj_ctx *ctx = fn->ctx;
    size_t n = (size_t)fn->plan->nslots + 1, others = (size_t)(fn->nin + fn->nshared) + 1;
    rp->sig.a = tjC_malloc(ctx, sizeof(layout) * ((size_t)rs->nsig + 1));
    rp->hdr = tjC_calloc(ctx, n, sizeof *rp->hdr);
    rp->slots = tjC_calloc(ctx, n, sizeof *rp->slots);
    rp->cells = tjC_calloc(ctx, n, sizeof *rp->cells);
    rp->roots = tjC_calloc(ctx, 2 * n, sizeof *rp->roots);
    rp->slot_root = tjC_malloc(ctx, sizeof *rp->slot_root * n);
    rp->slot_off = tjC_calloc(ctx, n, sizeof *rp->slot_off);
    rp->live = tjC_malloc(ctx, sizeof *rp->live * n);
    rp->dyn = tjC_malloc(ctx, sizeof *rp->dyn * 2 * n);
    rp->fresh = tjC_malloc(ctx, sizeof *rp->fresh * 2 * n);
    rp->out_bytes = tjC_calloc(ctx, (size_t)fn->nout + 1, sizeof *rp->out_bytes);
    rp->lo = tjC_calloc(ctx, others, sizeof *rp->lo);
    rp->hi = tjC_calloc(ctx, others, sizeof *rp->hi);
    rp->last = tjC_calloc(ctx, others + (size_t)fn->nout, sizeof *rp->last);
    rp->sh_sig = tjC_malloc(ctx, sizeof *rp->sh_sig * others);
    for (int s = 0; rp->slot_root && s < fn->plan->nslots; s++)
        rp->slot_root[s] = -1;
    return rp->sig.a && rp->hdr && rp->slots && rp->cells && rp->roots && rp->slot_root &&
           rp->slot_off && rp->live && rp->dyn && rp->fresh && rp->out_bytes && rp->lo &&
           rp->hi && rp->last && rp->sh_sig;
}

/* The slots' headers, and the bytes the replay touches (leaves, owned and fresh buffers) */
static size_t headers(const tj_fn *fn, const tjS_rec *rec, replay *rp)
{
    size_t bytes = 0;
    for (int s = 0; s < fn->plan->nslots; s++) {
        const tjS_snap *sn = &rec->snap[s];
        int id = rp->slot_root[s];
        if (id < 0)
            continue;
        tj_array *h = &rp->hdr[s];
        h->magic = TJ_ARRAY_MAGIC;
        atomic_init(&h->refcount, 1); /* never counted: the replay's own */
        h->dtype = sn->dtype;
        h->ndim = sn->ndim;
        h->size = sn->size;
        memcpy(h->shape, sn->shape, sizeof h->shape);
        memcpy(h->strides, sn->strides, sizeof h->strides);
        const root *R = &rp->roots[id];
        if (R->kind == ROOT_FIXED)
            h->data = R->data + rp->slot_off[s];
        else
            rp->live[rp->nlive++] = s;
        if (R->kind != ROOT_FIXED || R->owned)
            bytes += (size_t)sn->size * tjA_es(sn->dtype);
        rp->slots[s] = h;
    }
    for (int r = 0; r < rp->nroots; r++) {
        if (rp->roots[r].kind != ROOT_FIXED)
            rp->dyn[rp->ndyn++] = r;
        if (rp->roots[r].kind == ROOT_FRESH)
            rp->fresh[rp->nfresh++] = r;
    }
    for (int i = 0; i < fn->nout; i++) {
        const tj_array *h = rp->slots[fn->out_slot[i]];
        rp->out_bytes[i] = h->size * (int64_t)tjA_es(h->dtype);
    }
    return bytes;
}

/* The byte span of layout L relative to its data pointer, as tjF_span_of (0, 0: empty) */
static void span_off(const layout *L, int64_t *lo, int64_t *hi)
{
    int64_t size = 1;
    for (int d = 0; d < L->ndim; d++)
        size *= L->shape[d];
    tjF_extent(L->ndim, L->shape, L->strides, (int64_t)tjA_es(L->dtype), lo, hi);
    if (!size)
        *lo = *hi = 0;
}

/* The spans of the inputs and shared values the caller's output arrays must not meet */
static void other_spans(const tj_fn *fn, const tjF_rstate *rs, replay *rp)
{
    for (int i = 0; i < fn->nin; i++)
        span_off(&rp->sig.a[i], &rp->lo[i], &rp->hi[i]);
    rp->spans_fixed = true;
    for (int k = 0; k < fn->nshared; k++) {
        int64_t *lo = &rp->lo[fn->nin + k], *hi = &rp->hi[fn->nin + k];
        *lo = 1, *hi = 0;
        rp->sh_sig[k] = -1;
        for (int j = 0; j < rs->nshl; j++)
            if (fn->leaf_var[rs->shl[j]] == fn->shared[k]) {
                span_off(&rp->sig.a[fn->nin + j], lo, hi);
                rp->sh_sig[k] = j;
            }
        rp->spans_fixed = rp->spans_fixed && rp->sh_sig[k] >= 0;
    }
    /* every shared leaf is one of fn's shared variables (tj_fn.leaf_var), checked below */
    for (int j = 0; j < rs->nshl; j++) {
        bool found = false;
        for (int k = 0; k < fn->nshared; k++)
            found = found || rp->sh_sig[k] == j;
        rp->spans_fixed = rp->spans_fixed && found;
    }
}

void tjF_replay_finish(tj_fn *fn, tjF_rstate *rs, tjS_rec *rec, tj_status rc,
                       tj_array *const *into_slots, tjS_pool *pool)
{
    tj_ctx *ctx = fn->ctx;
    int nslots = fn->plan->nslots;
    replay *rp = NULL;
    bool ok = false, nomem = rec->failed;
    if (rc == TJ_OK && !rec->refused) {
        rp = tjC_calloc(ctx, 1, sizeof *rp);
        bool *made = rp ? tjC_calloc(ctx, (size_t)nslots + 1, sizeof *made) : NULL;
        nomem = !made || !alloc_replay(fn, rs, rp);
        ok = !nomem && classify(fn, rec, rp, into_slots, made) &&
             results(fn, rp, rs->pending.into) && headers(fn, rec, rp) <= REPLAY_BYTES;
        if (ok && !tjS_replay_bind(ctx, fn->plan, rec->ops, rec->nops, rp->slots))
            ok = false, nomem = true;
        tjC_free(ctx, made);
    }
    if (ok) {
        sig_copy(rs, &rp->sig, &rs->pending);
        other_spans(fn, rs, rp);
        rp->ops = rec->ops;
        rp->nops = rec->nops;
        rec->ops = NULL;
        rs->rp = rp;
        rs->records++;
    } else {
        replay_free(ctx, rp, pool);
        if (rc == TJ_OK && !nomem) { /* this signature would be refused again */
            sig_copy(rs, &rs->refused, &rs->pending);
            rs->have_refused = true;
        }
    }
    tjS_rec_free(rec, pool);
}

/* ---- a replayed call ------------------------------------------------------------------------- */

/* The checks of a call, array by array: each has its recorded layout, and each data pointer is
 * compared with the last replayed call's (*same stays true while they are equal) and recorded. */

static bool inputs_match(const tj_fn *fn, replay *rp, tj_array *const *inputs, bool *same)
{
    char **last = rp->last;
    for (int i = 0; i < fn->nin; i++) {
        const tj_array *a = inputs[i];
        if (!a || a->magic != TJ_ARRAY_MAGIC || !is(a, &rp->sig.a[i], false))
            return false;
        *same = *same && last[i] == a->data;
        last[i] = a->data;
    }
    return true;
}

/* The caller's output arrays: given where the recording had them, of the recorded results'
 * layouts (false: the general path writes, copies or reports) */
static bool outputs_match(const tj_fn *fn, replay *rp, tj_array *const *outputs, bool into,
                          bool *same)
{
    char **last = rp->last + fn->nin + fn->nshared;
    for (int i = 0; i < fn->nout; i++) {
        const tj_array *a = into ? outputs[i] : NULL, *h;
        if ((a != NULL) != ((rp->sig.into >> i) & 1))
            return false;
        if (!a)
            continue;
        h = rp->slots[fn->out_slot[i]];
        if (a->magic != TJ_ARRAY_MAGIC || a->dtype != h->dtype || a->ndim != h->ndim ||
            !a->owns_data || !tjA_same_shape(h->ndim, a->shape, h->shape))
            return false;
        /* the recorded strides are C-contiguous; others may be too (length-1 axes) */
        if (!tjA_same_shape(h->ndim, a->strides, h->strides) &&
            !tjA_contiguous_es(a, (int64_t)tjA_es(a->dtype)))
            return false;
        *same = *same && last[i] == a->data;
        last[i] = a->data;
    }
    return true;
}

/* Under the shared lock: the shared values, which may have been replaced since */
static bool shared_match(const tj_fn *fn, const tjF_rstate *rs, replay *rp, bool *same)
{
    char **last = rp->last + fn->nin;
    if (!rp->spans_fixed) { /* a shared variable outside the plan: every leaf, and no cache */
        *same = false;
        for (int k = 0; k < rs->nshl; k++)
            if (!is(fn->leaf_var[rs->shl[k]]->value, &rp->sig.a[fn->nin + k], true))
                return false;
        return true;
    }
    for (int k = 0; k < fn->nshared; k++) {
        const tj_array *a = fn->shared[k]->value;
        if (!is(a, &rp->sig.a[fn->nin + rp->sh_sig[k]], true))
            return false;
        *same = *same && last[k] == a->data;
        last[k] = a->data;
    }
    return true;
}

/* The caller's output arrays share memory with no input, no shared value and no other output:
 * tjF_check_into's test on the layouts the signature fixes (false: the general path reports) */
static bool apart(const tj_fn *fn, const replay *rp, tj_array *const *inputs,
                  tj_array *const *outputs)
{
    enum { INLINE = 16 };
    int nother = fn->nin + fn->nshared;
    tjF_span other[INLINE];
    for (int j = 0; j < nother && j < INLINE; j++) {
        const tj_array *a = j < fn->nin ? inputs[j] : fn->shared[j - fn->nin]->value;
        other[j] = rp->lo[j] > rp->hi[j] ? tjF_span_of(a, (int64_t)tjA_es(a->dtype))
                   : rp->lo[j] == rp->hi[j] ? (tjF_span){NULL, NULL}
                                            : (tjF_span){a->data + rp->lo[j], a->data + rp->hi[j]};
    }
    for (int i = 0; i < fn->nout; i++) {
        if (!((rp->sig.into >> i) & 1) || rp->out_bytes[i] == 0)
            continue;
        tjF_span o = {outputs[i]->data, outputs[i]->data + rp->out_bytes[i]};
        for (int j = 0; j < nother; j++) {
            const tj_array *b = j < fn->nin ? inputs[j] : fn->shared[j - fn->nin]->value;
            if (tjF_spans_meet(o, j < INLINE ? other[j] : tjF_span_of(b, (int64_t)tjA_es(b->dtype))))
                return false;
        }
        for (int j = 0; j < i; j++)
            if (((rp->sig.into >> j) & 1) &&
                tjF_spans_meet(o, (tjF_span){outputs[j]->data, outputs[j]->data + rp->out_bytes[j]}))
                return false;
    }
    return true;
}

/* This call's buffers for every root that is not fixed, and the slots in them (all when
 * `all`, else only those of the results made per call); false when a result cannot be made */
static bool resolve(const tj_fn *fn, replay *rp, tj_array *const *inputs,
                    tj_array *const *outputs, bool all)
{
    for (int k = 0; k < rp->nfresh; k++) {
        root *R = &rp->roots[rp->fresh[k]];
        const tj_array *h = rp->slots[fn->out_slot[R->index]];
        R->fresh = tjA_alloc(fn->ctx, h->dtype, h->ndim, h->shape, false);
        if (!R->fresh)
            return false;
        R->data = R->fresh->data;
    }
    if (!all && rp->nfresh == 0)
        return true;
    for (int k = 0; all && k < rp->ndyn; k++) {
        root *R = &rp->roots[rp->dyn[k]];
        if (R->kind == ROOT_INPUT)
            R->data = inputs[R->index]->data;
        else if (R->kind == ROOT_SHARED)
            R->data = fn->leaf_var[R->index]->value->data;
        else if (R->kind == ROOT_INTO)
            R->data = outputs[R->index]->data;
    }
    for (int k = 0; k < rp->nlive; k++) {
        int s = rp->live[k];
        rp->hdr[s].data = rp->roots[rp->slot_root[s]].data + rp->slot_off[s];
    }
    return true;
}

/* Results made this call: handed out (ok) or dropped */
static void settle(tj_fn *fn, replay *rp, tj_array **outputs, bool ok)
{
    for (int k = 0; k < rp->nfresh; k++) {
        root *R = &rp->roots[rp->fresh[k]];
        if (!R->fresh)
            continue;
        if (!ok) {
            tjA_unref(R->fresh);
        } else if (R->index < fn->nout) {
            outputs[R->index] = R->fresh;
        } else { /* every update computed before any is set, as the general path */
            tj_var *v = fn->upd_vars[R->index - fn->nout];
            tjA_unref(v->value);
            v->value = R->fresh;
        }
        R->fresh = NULL;
    }
}

bool tjF_replay_call(tj_fn *fn, tjF_rstate *rs, tjS_pool *pool, tj_array *const *inputs,
                     tj_array **outputs, bool into, tj_status *rc)
{
    replay *rp = rs ? rs->rp : NULL;
    if (!rp)
        return false;
    bool same = rp->have_last;
    rp->have_last = false; /* until this call has matched */
    if (!inputs_match(fn, rp, inputs, &same) || !outputs_match(fn, rp, outputs, into, &same))
        return false;
    tj_ctx *ctx = fn->ctx;
    bool locked = fn->nupd > 0 || fn->reads_shared;
    if (locked && fn->nupd > 0)
        pthread_rwlock_wrlock(&ctx->shared_lock);
    else if (locked)
        pthread_rwlock_rdlock(&ctx->shared_lock);
    /* equal pointers and layouts: the spans, so the overlap verdict, are the last call's */
    bool match = shared_match(fn, rs, rp, &same) &&
                 (same || !rp->sig.into || apart(fn, rp, inputs, outputs));
    bool made = match && resolve(fn, rp, inputs, outputs, !same);
    rp->have_last = made; /* the roots and slots hold these pointers only once resolved */
    if (made) {
        *rc = tjS_replay_run(ctx, fn->plan, tjF_code_fns(fn->code), rp->ops, rp->nops,
                             rp->slots, pool);
        rs->have_cand = false; /* a call in between: the next different one is not repeated */
        rs->replays++;
    } else if (match) { /* as the general path, which would not have had the memory either */
        *rc = tjC_error(ctx, TJ_ERR_NOMEM, "tj_call '%s': out of memory for a result",
                        tjF_name(fn));
    }
    settle(fn, rp, outputs, made && *rc == TJ_OK);
    if (locked)
        pthread_rwlock_unlock(&ctx->shared_lock);
    return match;
}

void tjF_replay_counts(const tjF_rstate *rs, uint64_t *replays, uint64_t *records)
{
    *replays = rs ? rs->replays : 0;
    *records = rs ? rs->records : 0;
}
