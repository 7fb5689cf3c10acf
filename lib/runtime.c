/* Executing a plan: runtime shapes and broadcasting checks, output allocation, coalescing of
 * dimensions for kernels, BLAS and view steps, and release of intermediates after last use. */
#include "replay.h"
#include "pool.h"

#include <stdlib.h>
#include <string.h>

static tj_status run_dot(tj_ctx *ctx, const tjS_step *st, tj_array **slots, const tjS_mem *mem)
{
    tj_array *a = slots[st->in_slots[0]], *b = slots[st->in_slots[1]];
    int64_t k_a = a->shape[a->ndim - 1], k_b = b->shape[0];
    if (k_a != k_b) {
        char buf[160];
        return tjC_error(ctx, TJ_ERR_SHAPE,
                         "%s: the inner dimensions differ: %lld (last axis of the left operand) "
                         "vs %lld (first axis of the right operand)",
                         tjG_describe(st->root, buf, sizeof buf), (long long)k_a, (long long)k_b);
    }
    int64_t shape[2];
    int nd = 0;
    if (a->ndim == 2)
        shape[nd++] = a->shape[0];
    if (b->ndim == 2)
        shape[nd++] = b->shape[1];
    tj_array *out = tjS_out_array(ctx, mem, st->out_slots[0], st->root->dtype, nd, shape);
    if (!out)
        return tjS_out_failed(ctx, st);
    if (mem && mem->rec)
        tjS_rec_dot(mem->rec, st, a, b);
    tjB_dot(ctx, a, b, out);
    slots[st->out_slots[0]] = out;
    return TJ_OK;
}

/* The runtime iteration shape of a kernel: Theano broadcasting over static patterns. */
static tj_status iteration_shape(tj_ctx *ctx, const tjS_plan *plan, const tjS_step *st,
                                 tj_array **slots, int64_t *shape)
{
    char b1[160], b2[160];
    for (int d = 0; d < st->iter_ndim; d++) {
        int who = -1;
        shape[d] = 1;
        for (int i = 0; i < st->nin; i++) {
            tj_array *a = slots[st->in_slots[i]];
            if ((st->in_bcast[i] >> d) & 1) {
                if (a->shape[d] != 1)
                    return tjC_error(ctx, TJ_ERR_SHAPE,
                                     "%s: input %s is broadcastable on axis %d but has length "
                                     "%lld there at run time",
                                     tjG_describe(st->root, b1, sizeof b1),
                                     tjG_describe(plan->slot_node[st->in_slots[i]], b2, sizeof b2),
                                     d, (long long)a->shape[d]);
                continue;
            }
            if (who < 0) {
                who = i;
                shape[d] = a->shape[d];
            } else if (a->shape[d] != shape[d]) {
                char b3[160];
                return tjC_error(ctx, TJ_ERR_SHAPE,
                                 "shape mismatch in %s on axis %d: %s has length %lld but %s "
                                 "has %lld (only broadcastable axes may differ)",
                                 tjG_describe(st->root, b1, sizeof b1), d,
                                 tjG_describe(plan->slot_node[st->in_slots[who]], b2, sizeof b2),
                                 (long long)shape[d],
                                 tjG_describe(plan->slot_node[st->in_slots[i]], b3, sizeof b3),
                                 (long long)a->shape[d]);
            }
        }
    }
    return TJ_OK;
}

/* Element strides of an operand over the iteration space (0 on broadcast axes); false when a
 * byte stride is not a multiple of the element size (the caller copies then). */
static bool element_strides(const tj_array *a, uint32_t bcast, int ndim, int64_t *out)
{
    int64_t es = (int64_t)tjA_es(a->dtype);
    int shift = __builtin_ctzll((unsigned long long)es); /* a power of two: no division */
    for (int d = 0; d < ndim; d++) {
        if (((bcast >> d) & 1) || a->shape[d] == 1) {
            out[d] = 0;
        } else {
            if (a->strides[d] & (es - 1))
                return false;
            out[d] = a->strides[d] >> shift; /* exact, negative strides too */
        }
    }
    return true;
}

tj_status tjS_kernel_begin(tj_ctx *ctx, const tjS_plan *plan, const tjS_step *st, tjK_fn fn,
                           tj_array **slots, const tjS_mem *mem, tjS_launch *L)
{
    int nd = st->iter_ndim, nops = st->nin + st->nout;
    /* field by field: zeroing the whole launch (its 2 KiB of inline buffers) cost more than
     * the rest of a small kernel's setup */
    L->ctx = ctx;
    L->fn = fn;
    L->ptrs = NULL;
    L->cnd = 0;
    L->rows = 0;
    L->packed = L->packed_buf;
    L->strides = NULL;
    L->tmp = NULL;
    L->ntmp = st->nin;
    int64_t shape[TJ_MAX_NDIM];
    tj_status rc = iteration_shape(ctx, plan, st, slots, shape);
    if (rc != TJ_OK)
        return rc;
    bool small = nops <= TJS_SMALL_OPS; /* no allocation per call for ordinary kernels */
    int64_t *strides = L->strides =
        small ? L->strides_buf : tjC_malloc(ctx, sizeof *strides * (size_t)nops * TJ_MAX_NDIM);
    char **ptrs = L->ptrs = small ? L->ptrs_buf : tjC_malloc(ctx, sizeof *ptrs * (size_t)nops);
    /* contiguous copies of operands, when needed */
    tj_array **tmp = L->tmp =
        small ? L->tmp_buf : tjC_calloc(ctx, (size_t)st->nin + 1, sizeof *tmp);
    if (!strides || !ptrs || !tmp)
        return tjC_error(ctx, TJ_ERR_NOMEM, "out of memory running a kernel");
    if (small)
        memset(tmp, 0, sizeof *tmp * (size_t)st->nin);
    const tjK_kernel *k = plan->kernels[st->kernel];
    for (int i = 0; i < st->nin; i++) {
        tj_array *a = slots[st->in_slots[i]];
        bool ok = element_strides(a, st->in_bcast[i], nd, strides + i * TJ_MAX_NDIM);
        /* a flat kernel reads every operand that is not a scalar with stride 1 */
        if (ok && k->flat && nd == 1 && !k->scalar[i])
            ok = strides[i * TJ_MAX_NDIM] == 1 || a->shape[0] == 1;
        if (!ok) {
            tmp[i] = tjA_convert(ctx, a, a->dtype);
            if (!tmp[i])
                return tjC_error(ctx, TJ_ERR_NOMEM, "copying operand %d of %s: %s", i,
                                 tjG_ops[st->root->op].name, tjA_last_msg());
            a = tmp[i];
            element_strides(a, st->in_bcast[i], nd, strides + i * TJ_MAX_NDIM);
        }
        ptrs[i] = a->data;
        if (tmp[i] && mem && mem->rec) /* a copy made per call: not a recorded launch */
            tjS_rec_refuse(mem->rec);
    }
    if (st->reduce != TJ_OP_INPUT) /* identities, pieces, means: runtime_reduce.c */
        return tjS_run_reduce(ctx, st, fn, shape, ptrs, strides, slots, mem);
    for (int o = 0; o < st->nout; o++) {
        int so = st->out_slots[o];
        tj_array *out = NULL, *in_o = st->inplace && st->inplace[o] >= 0
                                           ? slots[st->in_slots[st->inplace[o]]]
                                           : NULL;
        /* in place (lib/opt/inplace.c): a dead input's buffer becomes the output, unless the
         * caller gave the output's array (tj_call_into) */
        if (in_o && !(mem && mem->into && mem->into[so]) &&
            tjS_can_take(in_o, st->inplace_refs[o], st->out_nodes[o]->dtype, nd, shape))
            out = tjA_ref(in_o);
        else
            out = tjS_out_array(ctx, mem, so, st->out_nodes[o]->dtype, nd, shape);
        if (!out)
            return tjS_out_failed(ctx, st);
        slots[so] = out;
        ptrs[st->nin + o] = out->data;
        /* output strides over the iteration space: contiguous */
        int64_t *s = strides + (st->nin + o) * TJ_MAX_NDIM, acc = 1;
        for (int d = nd - 1; d >= 0; d--) {
            s[d] = shape[d] == 1 ? 0 : acc;
            acc *= shape[d];
        }
    }
    int64_t total = 1;
    for (int d = 0; d < nd; d++)
        total *= shape[d];
    if (total == 0)
        return TJ_OK;
    memcpy(L->cshape, shape, sizeof(int64_t) * (size_t)nd);
    int cnd = L->cnd = tjA_coalesce(nd, L->cshape, nops, strides);
    /* pack strides operand-major with the coalesced rank, as the kernel expects */
    size_t npacked = (size_t)nops * (size_t)cnd;
    L->packed = npacked <= sizeof L->packed_buf / sizeof L->packed_buf[0]
                    ? L->packed_buf
                    : tjC_malloc(ctx, sizeof *L->packed * npacked);
    if (!L->packed)
        return tjC_error(ctx, TJ_ERR_NOMEM, "out of memory running a kernel");
    for (int k = 0; k < nops; k++)
        memcpy(L->packed + k * cnd, strides + k * TJ_MAX_NDIM, sizeof(int64_t) * (size_t)cnd);
    L->rows = 1;
    for (int d = 0; d < cnd - 1; d++)
        L->rows *= L->cshape[d];
    if (cnd == 1)
        L->rows = L->cshape[0];
    return TJ_OK;
}

void tjS_kernel_end(tjS_launch *L)
{
    for (int i = 0; L->tmp && i < L->ntmp; i++)
        tjA_unref(L->tmp[i]);
    if (L->tmp != L->tmp_buf)
        tjC_free(L->ctx, L->tmp);
    if (L->strides != L->strides_buf)
        tjC_free(L->ctx, L->strides);
    if (L->ptrs != L->ptrs_buf)
        tjC_free(L->ctx, L->ptrs);
    if (L->packed != L->packed_buf)
        tjC_free(L->ctx, L->packed);
}

tj_status tjS_run_kernel(tj_ctx *ctx, const tjS_plan *plan, const tjS_step *st, tjK_fn fn,
                         tj_array **slots, const tjS_mem *mem)
{
    tjS_launch L;
    tj_status rc = tjS_kernel_begin(ctx, plan, st, fn, slots, mem, &L);
    if (rc == TJ_OK && mem && mem->rec && st->reduce == TJ_OP_INPUT)
        tjS_rec_kernel(mem->rec, st, &L);
    if (rc == TJ_OK && L.rows > 0)
        tjP_run_rows(ctx, fn, L.ptrs, L.cshape, L.packed, L.cnd, L.rows, 1);
    tjS_kernel_end(&L);
    return rc;
}

/* One step that is not part of a blocked chain. */
static tj_status run_step(tj_ctx *ctx, const tjS_plan *plan, tjK_fn const *fns, const tjS_step *st,
                          tj_array **slots, const tjS_mem *mem)
{
    switch (st->kind) {
    case STEP_KERNEL:
        return tjS_run_kernel(ctx, plan, st, fns[st->kernel], slots, mem);
    case STEP_DOT: /* numpy dot, or the optimizer's gemm/gemv/ger (runtime_blas.c) */
        return st->root->op == TJ_OP_DOT ? run_dot(ctx, st, slots, mem)
                                         : tjS_run_blas(ctx, st, slots, mem);
    case STEP_VIEW:
        return tjS_run_view(ctx, st, slots, mem);
    case STEP_SHAPE:
        return tjS_run_shape(ctx, st, slots, mem);
    case STEP_SHAPE_OP:
        return tjS_run_shape_op(ctx, st, slots);
    case STEP_HOST: {
        tj_array *in[TJ_MAX_NDIM + 2];
        for (int j = 0; j < st->nin && j < TJ_MAX_NDIM + 2; j++)
            in[j] = slots[st->in_slots[j]];
        return st->nin <= TJ_MAX_NDIM + 2
                   ? tjI_eval_node(ctx, st->root, in, &slots[st->out_slots[0]])
                   : tjC_error(ctx, TJ_ERR_INVALID, "internal error: a host step with %d inputs",
                               st->nin);
    }
    default:
        return tjC_error(ctx, TJ_ERR_INVALID, "internal error: unknown step kind");
    }
}

tj_status tjS_run(tj_ctx *ctx, const tjS_plan *plan, tjK_fn const *fns, tj_array **slots,
                  const bool *keep, tjS_prof *prof, const tjS_mem *mem)
{
    tj_array *products[TJS_MAX_CHAINS] = {0}; /* X^T r of each blocked chain, from B to C */
    tj_status rc = TJ_OK;
    if (mem && mem->rec)
        tjS_rec_begin(mem->rec, plan, slots);
    for (int i = 0; i < plan->nsteps && rc == TJ_OK; i++) {
        const tjS_step *st = &plan->steps[i];
        int64_t t0 = prof ? tjC_now_ns() : 0;
        int chain = plan->step_chain ? plan->step_chain[i] : -1;
        rc = chain >= 0 ? tjS_run_chain_step(ctx, plan, fns, slots, i, mem, &products[chain])
                        : run_step(ctx, plan, fns, st, slots, mem);
        if (rc != TJ_OK)
            break;
        if (mem && mem->rec)
            tjS_rec_step(mem->rec, plan, i, slots, mem);
        if (prof) {
            prof[i].calls++;
            prof[i].ns += (double)(tjC_now_ns() - t0);
            for (int o = 0; o < st->nout; o++) {
                const tj_array *a = slots[st->out_slots[o]];
                prof[i].bytes += (uint64_t)a->size * tjA_es(a->dtype);
            }
        }
        /* drop intermediates nobody reads any more (into the pool, for the next result) */
        for (int j = 0; j < st->nin; j++) {
            int s = st->in_slots[j];
            if (plan->last_use[s] == i && !keep[s]) {
                if (!(mem && mem->borrowed && mem->borrowed[s]))
                    tjS_release(mem, s, slots[s]);
                slots[s] = NULL;
            }
        }
    }
    for (int k = 0; k < plan->nchains; k++)
        tjA_unref(products[k]);
    return rc;
}
