/* Recording a run's launches and replaying them (lib/replay.h): the recorder's hooks, called by
 * the step executors of an ordinary run, and the replay, which issues the same launches over
 * slots whose pointers are this call's. */
#include "blas_layout.h"
#include "pool.h"
#include "replay.h"

#include <string.h>

tjS_rec *tjS_rec_new(tj_ctx *ctx, const tjS_plan *plan)
{
    tjS_rec *rec = tjC_calloc(ctx, 1, sizeof *rec);
    tjS_snap *snap = rec ? tjC_calloc(ctx, (size_t)plan->nslots + 1, sizeof *snap) : NULL;
    if (!snap) {
        tjC_free(ctx, rec);
        return NULL;
    }
    *rec = (tjS_rec){.ctx = ctx, .plan = plan, .snap = snap};
    return rec;
}

void tjS_rops_free(tj_ctx *ctx, tjS_rop *ops, int n)
{
    for (int k = 0; ops && k < n; k++) {
        tjC_free(ctx, ops[k].packed);
        tjC_free(ctx, ops[k].red.packed);
        tjC_free(ctx, ops[k].opnd);
    }
    tjC_free(ctx, ops);
}

void tjS_rec_free(tjS_rec *rec, tjS_pool *pool)
{
    if (!rec)
        return;
    for (int s = 0; s < rec->plan->nslots; s++)
        if (rec->snap[s].held) /* the pool takes it once the run's own references are gone */
            tjS_pool_put(pool, rec->snap[s].arr);
    tjS_rops_free(rec->ctx, rec->ops, rec->nops);
    tjC_free(rec->ctx, rec->snap);
    tjC_free(rec->ctx, rec);
}

void tjS_rec_refuse(tjS_rec *rec) { rec->refused = true; }

/* A new launch of step st at the end of the list (NULL: refused, out of memory) */
static tjS_rop *add(tjS_rec *rec, tjS_rkind kind, const tjS_step *st)
{
    if (rec->refused)
        return NULL;
    if (rec->nops == rec->cap) {
        int cap = rec->cap ? 2 * rec->cap : 16;
        tjS_rop *ops = tjC_realloc(rec->ctx, rec->ops, sizeof *ops * (size_t)cap);
        if (!ops) {
            rec->failed = rec->refused = true;
            return NULL;
        }
        rec->ops = ops;
        rec->cap = cap;
    }
    tjS_rop *op = &rec->ops[rec->nops++];
    memset(op, 0, sizeof *op);
    op->kind = kind;
    op->step = (int)(st - rec->plan->steps);
    return op;
}

static void snap(tjS_rec *rec, int s, tj_array *a, bool made, const tjS_mem *mem)
{
    tjS_snap *sn = &rec->snap[s];
    if (!a || sn->arr)
        return;
    sn->arr = a;
    sn->dtype = a->dtype;
    sn->ndim = a->ndim;
    sn->size = a->size;
    memcpy(sn->shape, a->shape, sizeof sn->shape);
    memcpy(sn->strides, a->strides, sizeof sn->strides);
    sn->data = a->data;
    if (!made || !a->owns_data || a->release || (mem && mem->into && mem->into[s] == a))
        return;
    for (int l = 0; l < rec->plan->nleaves; l++)
        if (rec->snap[rec->plan->leaf_slots[l]].arr == a)
            return; /* a shared value updated in place: the variable's, not the run's */
    /* held, no later step takes this buffer over or gets it from the pool: each buffer is one
     * slot's, which is what the replay needs to own it */
    sn->held = true;
    tjA_ref(a);
}

void tjS_rec_begin(tjS_rec *rec, const tjS_plan *plan, tj_array *const *slots)
{
    for (int l = 0; l < plan->nleaves; l++)
        snap(rec, plan->leaf_slots[l], slots[plan->leaf_slots[l]], false, NULL);
}

static void snap_outs(tjS_rec *rec, const tjS_step *st, tj_array *const *slots,
                      const tjS_mem *mem)
{
    bool made = st->kind == STEP_KERNEL || st->kind == STEP_DOT;
    for (int o = 0; o < st->nout; o++) {
        int s = st->out_slots[o];
        bool fresh = slots[s] && !rec->snap[s].arr;
        snap(rec, s, slots[s], made, mem);
        if (fresh && st->kind == STEP_SHAPE)
            rec->snap[s].value = *(const int64_t *)slots[s]->data;
    }
}

void tjS_rec_step(tjS_rec *rec, const tjS_plan *plan, int i, tj_array *const *slots,
                  const tjS_mem *mem)
{
    const tjS_step *st = &plan->steps[i];
    if (st->kind == STEP_HOST || st->kind == STEP_SHAPE_OP)
        rec->refused = true; /* results the replay could not make */
    snap_outs(rec, st, slots, mem);
    int ch = plan->step_chain ? plan->step_chain[i] : -1;
    if (ch >= 0 && plan->chains[ch].b == i) /* A's result is made with B's */
        snap_outs(rec, &plan->steps[plan->chains[ch].a], slots, mem);
}

/* A copy of a launch's strides (NULL: refused) */
static int64_t *copy_packed(tjS_rec *rec, const int64_t *packed, size_t n)
{
    int64_t *p = tjC_malloc(rec->ctx, sizeof *p * (n ? n : 1));
    if (!p)
        rec->failed = rec->refused = true;
    else if (n)
        memcpy(p, packed, sizeof *p * n);
    return p;
}

static void launch(tjS_rec *rec, tjS_rop *op, const tjS_step *st, const tjS_launch *L)
{
    if (!op)
        return;
    if (st->nin + st->nout > TJS_SMALL_OPS) { /* the replay keeps operand pointers inline */
        rec->refused = true;
        return;
    }
    op->rows = L->rows;
    op->cnd = L->cnd;
    if (L->rows > 0) {
        memcpy(op->cshape, L->cshape, sizeof(int64_t) * (size_t)L->cnd);
        op->packed = copy_packed(rec, L->packed, (size_t)(st->nin + st->nout) * (size_t)L->cnd);
    }
}

void tjS_rec_kernel(tjS_rec *rec, const tjS_step *st, const tjS_launch *L)
{
    launch(rec, add(rec, TJS_R_KERNEL, st), st, L);
}

void tjS_rec_chain_b(tjS_rec *rec, const tjS_step *B, const tjS_launch *L, bool blocked,
                     const tjS_chain_args *args)
{
    tjS_rop *op = add(rec, TJS_R_CHAIN_B, B);
    if (op) {
        op->blocked = blocked;
        op->chain = *args;
    }
    launch(rec, op, B, L);
}

void tjS_rec_chain_c(tjS_rec *rec, const tjS_step *C) { add(rec, TJS_R_CHAIN_C, C); }

void tjS_rec_reduce(tjS_rec *rec, const tjS_step *st, const tjS_reduce *R)
{
    tjS_rop *op = add(rec, TJS_R_REDUCE, st);
    if (!op)
        return;
    if (st->nin + 1 > TJS_SMALL_OPS) {
        rec->refused = true;
        return;
    }
    op->red = *R;
    op->red.packed = copy_packed(rec, R->packed, (size_t)(st->nin + 1) * (size_t)R->cnd);
}

/* BLAS takes a without a temporary copy (which a replay would make, and could fail, per call) */
static bool blas_ready(const tj_array *a)
{
    tjB_mat m;
    blasint inc;
    return a->ndim == 2 ? tjB_as_mat(a, &m) : tjB_as_vec(a, &inc);
}

void tjS_rec_blas(tjS_rec *rec, const tjS_step *st, tj_array *const *in)
{
    if (!blas_ready(in[0]) || !blas_ready(in[1]))
        rec->refused = true;
    add(rec, TJS_R_BLAS, st);
}

void tjS_rec_dot(tjS_rec *rec, const tjS_step *st, const tj_array *a, const tj_array *b)
{
    bool f = tj_dtype_is_float(a->dtype);
    if (f && (!blas_ready(a) || !blas_ready(b)))
        rec->refused = true;
    blasint ia, ib;
    /* two vectors: tjB_dot's one BLAS call (its checks all pass for these layouts) */
    bool vv = f && a->ndim == 1 && b->ndim == 1 && b->shape[0] > 0 && tjB_fits_int(b->shape[0]) &&
              tjB_as_vec(a, &ia) && tjB_as_vec(b, &ib);
    tjS_rop *op = add(rec, vv ? TJS_R_VDOT : TJS_R_DOT, st);
    if (op && vv) {
        op->k = b->shape[0];
        op->inca = ia;
        op->incb = ib;
    }
}

/* ---- the replay ------------------------------------------------------------------------------ */

bool tjS_replay_bind(tj_ctx *ctx, const tjS_plan *plan, tjS_rop *ops, int nops,
                     tj_array *const *slots)
{
    for (int k = 0; k < nops; k++) {
        const tjS_step *st = &plan->steps[ops[k].step];
        if (ops[k].kind != TJS_R_KERNEL && ops[k].kind != TJS_R_REDUCE &&
            ops[k].kind != TJS_R_CHAIN_B)
            continue;
        tj_array **o = ops[k].opnd = tjC_malloc(ctx, sizeof *o * (size_t)(st->nin + st->nout));
        if (!o)
            return false;
        for (int i = 0; i < st->nin; i++)
            o[i] = slots[st->in_slots[i]];
        for (int j = 0; j < st->nout; j++)
            o[st->nin + j] = slots[st->out_slots[j]];
    }
    return true;
}

/* The operand pointers of a kernel launch, inputs then outputs */
static void kernel_ptrs(const tjS_rop *op, int n, char **ptrs)
{
    for (int k = 0; k < n; k++)
        ptrs[k] = op->opnd[k]->data;
}

tj_status tjS_replay_run(tj_ctx *ctx, const tjS_plan *plan, tjK_fn const *fns,
                         const tjS_rop *ops, int nops, tj_array *const *slots, tjS_pool *pool)
{
    tj_array *products[TJS_MAX_CHAINS] = {0}; /* as in tjS_run: X^T r of each chain, B to C */
    tj_status rc = TJ_OK;
    for (int k = 0; k < nops && rc == TJ_OK; k++) {
        const tjS_rop *op = &ops[k];
        const tjS_step *st = &plan->steps[op->step];
        char *ptrs[TJS_SMALL_OPS];
        switch (op->kind) {
        case TJS_R_KERNEL:
            kernel_ptrs(op, st->nin + st->nout, ptrs);
            if (op->rows > 0)
                tjP_run_rows(ctx, fns[st->kernel], ptrs, op->cshape, op->packed, op->cnd,
                             op->rows, 1);
            break;
        case TJS_R_REDUCE:
            kernel_ptrs(op, st->nin + st->nout, ptrs);
            rc = tjS_reduce_run(ctx, st, fns[st->kernel], &op->red, ptrs,
                                slots[st->out_slots[0]], pool);
            break;
        case TJS_R_BLAS:
            rc = tjS_blas_replay(ctx, st, slots);
            break;
        case TJS_R_DOT:
            tjB_dot(ctx, slots[st->in_slots[0]], slots[st->in_slots[1]],
                    slots[st->out_slots[0]]);
            break;
        case TJS_R_VDOT: {
            const tj_array *out = slots[st->out_slots[0]];
            tjP_blas_threads(tjP_threads(ctx));
            tjB_vdot(out->dtype, op->k, slots[st->in_slots[0]]->data, op->inca,
                     slots[st->in_slots[1]]->data, op->incb, out->data);
            break;
        }
        case TJS_R_CHAIN_B: {
            tjS_launch L; /* only what a chain reads of it */
            kernel_ptrs(op, st->nin + st->nout, ptrs);
            L.fn = fns[st->kernel];
            L.ptrs = ptrs;
            L.cnd = op->cnd;
            L.rows = op->rows;
            L.packed = op->packed;
            memcpy(L.cshape, op->cshape, sizeof L.cshape);
            rc = tjS_chain_replay_b(ctx, plan, op->step, slots, &L, op->blocked, &op->chain,
                                    pool, &products[plan->step_chain[op->step]]);
            break;
        }
        case TJS_R_CHAIN_C: {
            tj_array **product = &products[plan->step_chain[op->step]];
            rc = tjS_chain_replay_c(ctx, st, slots, *product);
            tjS_pool_put(pool, *product);
            *product = NULL;
            break;
        }
        }
    }
    for (int k = 0; k < plan->nchains; k++)
        tjA_unref(products[k]);
    return rc;
}
