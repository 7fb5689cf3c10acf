/* In place and buffer reuse (issue 4), decided on the plan after fusion:
 *   elemwise_inplace  an elementwise kernel writes an output into an input's buffer when that
 *                     input dies at this step (its last reader), has the output's dtype and full
 *                     shape, and is no function output, input, constant or shared value;
 *   blas_inplace      a gemm/gemv/ger writes into its Z when Z dies there (beta * Z accumulates);
 *   update_inplace    an update is computed into its shared variable's own buffer when this step
 *                     is the last to read the variable; such steps move to the end of the plan,
 *                     so a failing step cannot leave a variable half updated.
 * The plan only allows; the runtime takes a buffer when, at that moment, nobody else holds it
 * (one reference: the slot's; two for a shared value: the variable's and the slot's), it owns its
 * memory and is C-contiguous: a buffer the user borrowed (tj_shared(..., borrow=true),
 * tj_shared_get(..., true), a wrapped array) or a live view is never written. */
#include "function.h"
#include "opt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool same_type(const tj_var *a, const tj_var *b)
{
    return a->dtype == b->dtype && a->ndim == b->ndim && a->bcast == b->bcast;
}

static bool set_inplace(tj_ctx *ctx, tjS_step *st, int o, int i, int refs)
{
    if (!st->inplace) {
        st->inplace = tjC_malloc(ctx, sizeof *st->inplace * (size_t)st->nout);
        st->inplace_refs = tjC_malloc(ctx, sizeof *st->inplace_refs * (size_t)st->nout);
        if (!st->inplace || !st->inplace_refs) {
            tjC_error(ctx, TJ_ERR_NOMEM, "out of memory planning in-place steps");
            return false;
        }
        for (int k = 0; k < st->nout; k++)
            st->inplace[k] = -1, st->inplace_refs[k] = 0;
    }
    st->inplace[o] = i;
    st->inplace_refs[o] = refs;
    return true;
}

/* Input i is not free for output o: another output takes it, or the step reads the same value as
 * another operand too (gemm(A, B, .., Z = B) must not write over its B). */
static bool taken_by_other(const tjS_step *st, int o, int i)
{
    for (int k = 0; st->inplace && k < st->nout; k++)
        if (k != o && st->inplace[k] == i)
            return true;
    for (int j = 0; j < st->nin; j++)
        if (j != i && st->in_slots[j] == st->in_slots[i])
            return true;
    return false;
}

static void recompute_last_use(tjS_plan *plan)
{
    for (int i = 0; i < plan->nslots; i++)
        plan->last_use[i] = -1;
    for (int s = 0; s < plan->nsteps; s++)
        for (int j = 0; j < plan->steps[s].nin; j++)
            plan->last_use[plan->steps[s].in_slots[j]] = s;
}

static tj_status note(tj_ctx *ctx, tjR_log *log, const char *rule, const tjS_step *st, int s,
                      int o, const tj_var *from)
{
    char b1[160], b2[160], msg[400];
    snprintf(msg, sizeof msg, "step %d (%s) writes %s into the buffer of %s", s,
             st->kind == STEP_KERNEL ? "kernel" : tjG_ops[st->root->op].name,
             tjG_describe(st->out_nodes[o], b1, sizeof b1), tjG_describe(from, b2, sizeof b2));
    return tjR_log_add(ctx, log, "inplace", rule, NULL, NULL, msg);
}

tj_status tjR_plan_inplace(tj_ctx *ctx, tjS_plan *plan, const tjR_config *cfg,
                           tj_var *const *outs, int nout, tj_var *const *upd_vars, int nupd,
                           bool updates_allowed, tjR_log *log)
{
    if (!tjR_pass_enabled(cfg, "inplace"))
        return TJ_OK;
    bool ew = tjR_rule_enabled(cfg, "inplace", "elemwise_inplace", 0);
    bool bl = tjR_rule_enabled(cfg, "inplace", "blas_inplace", 0);
    bool up = updates_allowed && tjR_rule_enabled(cfg, "inplace", "update_inplace", 0);
    bool *kept = tjC_calloc(ctx, (size_t)plan->nslots + 1, sizeof *kept);
    /* slot -> update index */
    int *upd_of = tjC_malloc(ctx, sizeof *upd_of * ((size_t)plan->nslots + 1));
    bool *moved = tjC_calloc(ctx, (size_t)plan->nsteps + 1, sizeof *moved);
    tj_status st = TJ_OK;
    if (!kept || !upd_of || !moved) {
        st = tjC_error(ctx, TJ_ERR_NOMEM, "out of memory planning in-place steps");
        goto done;
    }
    for (int i = 0; i < plan->nslots; i++)
        upd_of[i] = -1;
    for (int i = 0; i < nout + nupd; i++) {
        int s = tjS_slot_of(plan, outs[i]);
        if (s >= 0)
            kept[s] = true;
        if (i >= nout && s >= 0)
            upd_of[s] = i - nout;
    }
    for (int s = 0; s < plan->nsteps && st == TJ_OK; s++) {
        tjS_step *stp = &plan->steps[s];
        bool kernel = stp->kind == STEP_KERNEL && stp->reduce == TJ_OP_INPUT;
        bool blas = stp->kind == STEP_DOT && stp->root->op != TJ_OP_DOT;
        if (!kernel && !blas)
            continue;
        for (int o = 0; o < stp->nout && st == TJ_OK; o++) {
            tj_var *out = stp->out_nodes[o];
            int u = upd_of[stp->out_slots[o]];
            /* first the update of this very variable written over it, then any dead input */
            for (int pass = 0; pass < 2 && st == TJ_OK; pass++) {
                bool done_o = false;
                for (int i = blas ? 4 : 0; i < (blas ? 5 : stp->nin) && !done_o; i++) {
                    int slot = stp->in_slots[i];
                    tj_var *in = plan->slot_node[slot];
                    if (plan->last_use[slot] != s || !same_type(in, out) ||
                        taken_by_other(stp, o, i))
                        continue;
                    if (pass == 0) {
                        if (!up || u < 0 || in->op != TJ_OP_SHARED || in != upd_vars[u] ||
                            kept[slot])
                            continue;
                        done_o = true;
                        if (!set_inplace(ctx, stp, o, i, 2))
                            st = ctx->err;
                        else {
                            moved[s] = true;
                            st = note(ctx, log, "update_inplace", stp, s, o, in);
                        }
                    } else {
                        if (kept[slot] || tj_op_is(in->op, OPF_LEAF) || !(blas ? bl : ew))
                            continue;
                        done_o = true;
                        if (!set_inplace(ctx, stp, o, i, 1))
                            st = ctx->err;
                        else
                            st = note(ctx, log, blas ? "blas_inplace" : "elemwise_inplace", stp,
                                      s, o, in);
                    }
                }
                if (done_o)
                    break;
            }
        }
    }
    if (st != TJ_OK)
        goto done;
    /* update steps in place run last; one whose result another step reads keeps its place and
     * gives up writing over the variable (the variable must stay intact until the end) */
    for (int s = 0; s < plan->nsteps; s++) {
        if (!moved[s])
            continue;
        tjS_step *stp = &plan->steps[s];
        bool read_later = false;
        for (int t = s + 1; t < plan->nsteps && !read_later; t++)
            for (int j = 0; j < plan->steps[t].nin && !read_later; j++)
                for (int o = 0; o < stp->nout; o++)
                    read_later = read_later || plan->steps[t].in_slots[j] == stp->out_slots[o];
        if (read_later) {
            for (int o = 0; o < stp->nout; o++)
                if (stp->inplace[o] >= 0 && stp->inplace_refs[o] == 2)
                    stp->inplace[o] = -1;
            moved[s] = false;
        }
    }
    tjS_step *order = tjC_malloc(ctx, sizeof *order * ((size_t)plan->nsteps + 1));
    if (!order) {
        st = tjC_error(ctx, TJ_ERR_NOMEM, "out of memory planning in-place steps");
        goto done;
    }
    int k = 0;
    for (int pass = 0; pass < 2; pass++)
        for (int s = 0; s < plan->nsteps; s++)
            if (moved[s] == (pass == 1))
                order[k++] = plan->steps[s];
    memcpy(plan->steps, order, sizeof *order * (size_t)plan->nsteps);
    tjC_free(ctx, order);
    recompute_last_use(plan);
done:
    tjC_free(ctx, kept);
    tjC_free(ctx, upd_of);
    tjC_free(ctx, moved);
    return st;
}

tj_status tjR_plan_log_fusion(tj_ctx *ctx, const tjS_plan *plan, tjR_log *log)
{
    for (int s = 0; s < plan->nsteps; s++) {
        const tjS_step *st = &plan->steps[s];
        if (st->kind != STEP_KERNEL)
            continue;
        const tjK_kernel *k = plan->kernels[st->kernel];
        int nops = 0;
        for (int j = 0; j < k->ncode; j++)
            nops += k->code[j].op < TJ_NUM_OPS;
        char b[160], msg[400];
        snprintf(msg, sizeof msg,
                 "step %d: kernel %d computes %d ops with %d output%s from %d operand%s%s (%s)", s,
                 st->kernel, nops, st->nout, st->nout == 1 ? "" : "s", st->nin,
                 st->nin == 1 ? "" : "s", st->reduce != TJ_OP_INPUT ? ", then reduces" : "",
                 tjG_describe(st->root, b, sizeof b));
        tj_status rc = tjR_log_add(ctx, log, "fusion",
                                   st->reduce != TJ_OP_INPUT ? "reduce_fusion" : "elemwise_fusion",
                                   NULL, NULL, msg);
        if (rc != TJ_OK)
            return rc;
    }
    return TJ_OK;
}
