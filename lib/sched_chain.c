/* Finding blocked chains in a plan (see tjS_chain in function.h): v = gemv(X, x) with beta 0, the
 * first later reader of v an elementwise kernel B over one axis, and a later gemv(X^T, r) with r
 * one of B's outputs. */
#include "function.h"

#include <stdlib.h>

static bool is_gemv(const tjS_step *st, bool trans)
{
    return st->kind == STEP_DOT && st->root->op == TJ_OP_GEMV && st->root->nattr > 0 &&
           (st->root->attr[0] != 0) == trans && tj_dtype_is_float(st->root->dtype);
}

static bool reads(const tjS_step *st, int slot)
{
    for (int j = 0; j < st->nin; j++)
        if (st->in_slots[j] == slot)
            return true;
    return false;
}

/* beta of A must be the constant 0: its Z term then plays no part and v's blocks are products */
static bool beta_is_zero(const tjS_plan *plan, const tjS_step *a)
{
    const tj_var *beta = plan->slot_node[a->in_slots[3]];
    return beta->op == TJ_OP_CONSTANT && beta->value && beta->value->size == 1 &&
           tj_array_get(beta->value, NULL) == 0;
}

/* The chain starting at step a, or false. */
static bool find_chain(const tjS_plan *plan, int a, tjS_chain *ch)
{
    const tjS_step *A = &plan->steps[a];
    if (!is_gemv(A, false) || !beta_is_zero(plan, A) || plan->slot_node[A->in_slots[0]]->ndim != 2)
        return false;
    int v = A->out_slots[0], b = a + 1;
    while (b < plan->nsteps && !reads(&plan->steps[b], v))
        b++;
    if (b == plan->nsteps)
        return false;
    const tjS_step *B = &plan->steps[b];
    if (B->kind != STEP_KERNEL || B->reduce != TJ_OP_INPUT || B->iter_ndim != 1)
        return false;
    for (int c = b + 1; c < plan->nsteps; c++) {
        const tjS_step *C = &plan->steps[c];
        if (!is_gemv(C, true) || C->in_slots[0] != A->in_slots[0] ||
            C->root->dtype != A->root->dtype)
            continue;
        for (int o = 0; o < B->nout; o++)
            if (B->out_slots[o] == C->in_slots[1]) {
                *ch = (tjS_chain){.a = a, .b = b, .c = c};
                return true;
            }
    }
    return false;
}

static bool in_chain(const tjS_plan *plan, int step)
{
    for (int k = 0; k < plan->nchains; k++)
        if (plan->chains[k].a == step || plan->chains[k].b == step || plan->chains[k].c == step)
            return true;
    return false;
}

tj_status tjS_plan_chains(tj_ctx *ctx, tjS_plan *plan)
{
    for (int a = 0; a < plan->nsteps && plan->nchains < TJS_MAX_CHAINS; a++) {
        tjS_chain ch;
        if (in_chain(plan, a) || !find_chain(plan, a, &ch) || in_chain(plan, ch.b) ||
            in_chain(plan, ch.c))
            continue;
        if (!plan->chains) {
            plan->chains = tjC_malloc(ctx, sizeof *plan->chains * TJS_MAX_CHAINS);
            plan->step_chain =
                tjC_malloc(ctx, sizeof *plan->step_chain * ((size_t)plan->nsteps + 1));
            if (!plan->chains || !plan->step_chain)
                return tjC_error(ctx, TJ_ERR_NOMEM, "out of memory planning blocked steps");
            for (int i = 0; i < plan->nsteps; i++)
                plan->step_chain[i] = -1;
        }
        plan->step_chain[ch.a] = plan->step_chain[ch.b] = plan->step_chain[ch.c] = plan->nchains;
        plan->chains[plan->nchains++] = ch;
        /* A runs at B: its operands live at least until then */
        const tjS_step *A = &plan->steps[ch.a];
        for (int j = 0; j < A->nin; j++)
            if (plan->last_use[A->in_slots[j]] < ch.b)
                plan->last_use[A->in_slots[j]] = ch.b;
    }
    return TJ_OK;
}
