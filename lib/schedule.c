/* The scheduler: graph -> step list. Maximal groups of elementwise nodes that share an iteration
 * space become one kernel with any number of outputs; a reduction absorbs the group feeding it;
 * scalars are computed inside the kernels that read them; dot and the BLAS ops become BLAS steps;
 * dimshuffle becomes a strided view. Which nodes form a kernel and the order of the steps are
 * decided by lib/sched_fuse.c (convex groups, so every value a kernel reads from outside is made
 * by an earlier step). */
#include "function.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    tj_ctx *ctx;
    tj_var **topo;
    size_t n;
    int *pos;        /* node id -> topo index (-1: not in the graph) */
    int *nconsumers; /* per topo index */
    int *group;      /* per topo index: group id (root's topo index) or -1 */
    bool *required;  /* per topo index: a value the caller asked for */
    bool *needed;    /* per topo index: must be materialized in a slot */
    bool *inlined;   /* per topo index: a scalar computed inside the kernels reading it */
    int *order;      /* the steps' nodes in execution order (sched_fuse.c) */
    int norder;
} sched;

static int P(const sched *s, const tj_var *v) { return s->pos[v->id]; }

static uint32_t full_mask(int ndim) { return ndim >= 32 ? ~0u : (1u << ndim) - 1; }

/* The iteration type of a group rooted at r: its own type, or its input's for a reduction. */
static void iter_type(const tj_var *r, int *ndim, uint32_t *bcast)
{
    const tj_var *t = tj_op_is(r->op, OPF_REDUCE) ? r->in[0] : r;
    *ndim = t->ndim;
    *bcast = t->bcast;
}

/* A 0-d constant, possibly behind dimshuffles that only add axes: emitted inline as a literal. */
static const tj_var *inline_constant(const tj_var *v)
{
    while (v->op == TJ_OP_DIMSHUFFLE && v->in[0]->ndim == 0)
        v = v->in[0];
    return v->op == TJ_OP_CONSTANT && v->ndim == 0 ? v : NULL;
}

/* ---- building one kernel description ---- */

typedef struct {
    tjK_instr *code;
    int ncode, cap;
} kbuild;

static int emit(kbuild *b, tjK_instr ins)
{
    for (int i = 0; i < b->ncode; i++) /* dedupe loads and literals */
        if ((ins.op == TJK_LOAD || ins.op == TJK_CONST) && b->code[i].op == ins.op &&
            b->code[i].dtype == ins.dtype && b->code[i].args[0] == ins.args[0] &&
            (ins.op != TJK_CONST || b->code[i].value == ins.value))
            return i;
    if (b->ncode == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 16;
        b->code = realloc(b->code, sizeof *b->code * (size_t)b->cap);
    }
    b->code[b->ncode] = ins;
    return b->ncode++;
}

/* The instruction giving the value of `in` inside the kernel of group `root`: a member's, a
 * literal's, a load of an operand, or an inlined scalar's computation (emitted once per kernel,
 * its own inlined inputs first, by an explicit stack: a chain of scalars may be long). */
static int value_of(sched *s, kbuild *b, int root, tj_var *in, int *instr_of, bool *have,
                    int *stack, tj_var **operands, int *noperands)
{
    int p = P(s, in);
    const tj_var *c;
    if (s->group[p] == root || (s->inlined[p] && have[p]))
        return instr_of[p];
    if ((c = inline_constant(in))) {
        tjK_instr k2 = {.op = TJK_CONST, .dtype = c->dtype, .args = {-1, -1, -1},
                        .value = tj_array_get(c->value, NULL)};
        return emit(b, k2);
    }
    if (!s->inlined[p]) {
        int o = 0;
        while (o < *noperands && operands[o] != in)
            o++;
        if (o == *noperands)
            operands[(*noperands)++] = in;
        tjK_instr ld = {.op = TJK_LOAD, .dtype = in->dtype, .args = {o, -1, -1}};
        return emit(b, ld);
    }
    int sp = 0;
    stack[sp++] = p;
    while (sp > 0) {
        tj_var *v = s->topo[stack[sp - 1]];
        bool ready = true;
        for (int i = 0; i < v->nin; i++) {
            int q = P(s, v->in[i]);
            if (s->inlined[q] && !have[q] && s->group[q] != root && !inline_constant(v->in[i])) {
                stack[sp++] = q; /* each is emitted before it is needed; duplicates are skipped */
                ready = false;
            }
        }
        if (!ready)
            continue;
        sp--;
        int k = P(s, v);
        if (have[k])
            continue;
        tjK_instr ins = {.op = v->op, .dtype = v->dtype, .args = {-1, -1, -1}};
        for (int i = 0; i < v->nin; i++)
            ins.args[i] =
                value_of(s, b, root, v->in[i], instr_of, have, stack + sp, operands, noperands);
        instr_of[k] = emit(b, ins);
        have[k] = true;
    }
    return instr_of[p];
}

static tjK_kernel *build_kernel(sched *s, int root, tjS_step *st, tj_var ***operands_out)
{
    tj_var *r = s->topo[root];
    bool reduce = tj_op_is(r->op, OPF_REDUCE);
    kbuild b = {0};
    int *instr_of = malloc(sizeof *instr_of * s->n); /* topo index -> instruction */
    bool *have = calloc(s->n, sizeof *have);            /* inlined scalars already emitted */
    int *stack = malloc(sizeof *stack * (4 * s->n + 4)); /* DFS pushes: at most edges + nodes */
    tj_var **operands = malloc(sizeof *operands * s->n);
    int noperands = 0;
    tj_var **outs = malloc(sizeof *outs * s->n);
    int nouts = 0;
    for (size_t k = 0; k <= (size_t)root; k++) {
        if (s->group[k] != root || (reduce && (int)k == root))
            continue;
        tj_var *v = s->topo[k];
        tjK_instr ins = {.op = v->op, .dtype = v->dtype, .args = {-1, -1, -1}};
        for (int i = 0; i < v->nin; i++)
            ins.args[i] = value_of(s, &b, root, v->in[i], instr_of, have, stack, operands,
                                   &noperands);
        instr_of[k] = emit(&b, ins);
        if ((int)k == root || s->needed[k])
            outs[nouts++] = v;
    }
    int32_t *out_instr = malloc(sizeof *out_instr * (size_t)(nouts + 1));
    if (reduce) {
        out_instr[0] = value_of(s, &b, root, r->in[0], instr_of, have, stack, operands,
                                &noperands);
        outs[0] = r;
        nouts = 1;
    } else {
        /* members come in topological order, so the root is last: move it first */
        for (int i = nouts - 1; i > 0; i--)
            outs[i] = outs[i - 1];
        outs[0] = r;
        for (int i = 0; i < nouts; i++)
            out_instr[i] = instr_of[P(s, outs[i])];
    }
    tjK_kernel *kern = calloc(1, sizeof *kern);
    kern->nin = noperands;
    kern->nout = nouts;
    kern->dtype = malloc(sizeof *kern->dtype * (size_t)(noperands + nouts));
    kern->scalar = malloc(sizeof *kern->scalar * (size_t)(noperands + 1));
    int nd;
    uint32_t bc;
    iter_type(r, &nd, &bc);
    st->iter_ndim = nd;
    st->iter_bcast = bc;
    st->in_bcast = malloc(sizeof *st->in_bcast * (size_t)(noperands + 1));
    for (int i = 0; i < noperands; i++) {
        kern->dtype[i] = operands[i]->dtype;
        st->in_bcast[i] = operands[i]->bcast;
        kern->scalar[i] = (operands[i]->bcast & full_mask(nd)) == full_mask(nd);
    }
    for (int i = 0; i < nouts; i++)
        kern->dtype[noperands + i] = outs[i]->dtype;
    kern->code = b.code;
    kern->ncode = b.ncode;
    kern->out_instr = out_instr;
    /* a mean is a sum kernel that the runtime divides */
    kern->reduce = !reduce ? TJ_OP_NONE_ : r->op == TJ_OP_MEAN ? TJ_OP_SUM : (int)r->op;
    kern->flat = nd <= 1;
    st->nin = noperands;
    st->nout = nouts;
    st->out_nodes = outs;
    free(instr_of);
    free(have);
    free(stack);
    *operands_out = operands;
    return kern;
}

void tjS_plan_free(tjS_plan *plan)
{
    if (!plan)
        return;
    for (int i = 0; i < plan->nsteps; i++) {
        free(plan->steps[i].in_slots);
        free(plan->steps[i].out_slots);
        free(plan->steps[i].out_nodes);
        free(plan->steps[i].in_bcast);
        free(plan->steps[i].inplace);
        free(plan->steps[i].inplace_refs);
    }
    for (int i = 0; i < plan->nkernels; i++) {
        tjK_kernel *k = plan->kernels[i];
        free(k->dtype);
        free(k->scalar);
        free(k->code);
        free(k->out_instr);
        free(k);
    }
    free(plan->kernels);
    free(plan->steps);
    free(plan->slot_node);
    free(plan->leaf_slots);
    free(plan->last_use);
    free(plan->alias_node);
    free(plan->alias_slot);
    free(plan->chains);
    free(plan->step_chain);
    free(plan);
}

int tjS_slot_of(const tjS_plan *plan, const tj_var *v)
{
    for (int i = 0; i < plan->nslots; i++)
        if (plan->slot_node[i] == v)
            return i;
    for (int i = 0; i < plan->nalias; i++)
        if (plan->alias_node[i] == v)
            return plan->alias_slot[i];
    return -1;
}

static bool same_kernel(const tjK_kernel *a, const tjK_kernel *b)
{
    int nops = a->nin + a->nout;
    if (a->nin != b->nin || a->nout != b->nout || a->ncode != b->ncode || a->reduce != b->reduce ||
        a->flat != b->flat)
        return false;
    for (int i = 0; i < a->ncode; i++) {
        const tjK_instr *x = &a->code[i], *y = &b->code[i];
        if (x->op != y->op || x->dtype != y->dtype || memcmp(x->args, y->args, sizeof x->args) ||
            (x->op == TJK_CONST && memcmp(&x->value, &y->value, sizeof x->value)))
            return false;
    }
    return !memcmp(a->dtype, b->dtype, sizeof *a->dtype * (size_t)nops) &&
           !memcmp(a->scalar, b->scalar, sizeof *a->scalar * (size_t)a->nin) &&
           !memcmp(a->out_instr, b->out_instr, sizeof *a->out_instr * (size_t)a->nout);
}

/* Adds k to the plan's kernels, or frees it and reuses an identical one: kernels are generic
 * over sizes and strides, so steps that differ only in shapes, reduced axes or keepdims run the
 * same code (LLVM's time is per kernel: a reduction costs tens of ms). Returns its index. */
static int add_kernel(tjS_plan *plan, tjK_kernel *k)
{
    for (int i = 0; i < plan->nkernels; i++) {
        if (same_kernel(plan->kernels[i], k)) {
            free(k->dtype);
            free(k->scalar);
            free(k->code);
            free(k->out_instr);
            free(k);
            return i;
        }
    }
    plan->kernels[plan->nkernels] = k;
    return plan->nkernels++;
}

/* Requested nodes that tjS_expand rewrote: where their values are. */
static bool record_aliases(tjS_plan *plan, tj_var *const *req, tj_var *const *outs, int n)
{
    int k = 0;
    for (int i = 0; i < n; i++)
        k += req[i] != outs[i];
    if (k == 0)
        return true;
    plan->alias_node = malloc(sizeof *plan->alias_node * (size_t)k);
    plan->alias_slot = malloc(sizeof *plan->alias_slot * (size_t)k);
    if (!plan->alias_node || !plan->alias_slot)
        return false;
    for (int i = 0; i < n; i++) {
        if (req[i] == outs[i])
            continue;
        plan->alias_node[plan->nalias] = req[i];
        plan->alias_slot[plan->nalias++] = tjS_slot_of(plan, outs[i]);
    }
    return true;
}

tj_status tjS_plan_build(tj_ctx *ctx, tj_var *const *req, int nouts, const tjS_fuse_opts *fuse,
                         tjS_plan **out)
{
    *out = NULL;
    sched s = {.ctx = ctx};
    /* the softmax family becomes max/sum kernels (sched_expand.c): schedule the rewritten graph */
    tj_var **outs = malloc(sizeof *outs * (size_t)(nouts + 1));
    if (!outs)
        return tjC_error(ctx, TJ_ERR_NOMEM, "out of memory scheduling %d outputs", nouts);
    if (tjS_expand(ctx, req, nouts, outs) == TJ_OK)
        s.topo = tjG_toposort(ctx, outs, nouts, &s.n);
    if (!s.topo) {
        free(outs);
        return ctx->err;
    }
    s.pos = malloc(sizeof *s.pos * (ctx->nvars + 1));
    s.nconsumers = calloc(s.n + 1, sizeof *s.nconsumers);
    s.group = malloc(sizeof *s.group * (s.n + 1));
    s.required = calloc(s.n + 1, sizeof *s.required);
    s.needed = calloc(s.n + 1, sizeof *s.needed);
    s.inlined = calloc(s.n + 1, sizeof *s.inlined);
    s.order = malloc(sizeof *s.order * (s.n + 1));
    tjS_plan *plan = calloc(1, sizeof *plan);
    if (!s.pos || !s.nconsumers || !s.group || !s.required || !s.needed || !s.inlined ||
        !s.order || !plan) {
        tjC_error(ctx, TJ_ERR_NOMEM, "out of memory scheduling a graph of %zu nodes", s.n);
        goto fail;
    }
    for (size_t i = 0; i < ctx->nvars; i++)
        s.pos[i] = -1;
    for (size_t k = 0; k < s.n; k++)
        s.pos[s.topo[k]->id] = (int)k;
    for (int o = 0; o < nouts; o++)
        s.required[P(&s, outs[o])] = true;
    if (tjS_fuse(ctx, s.topo, s.n, s.pos, s.required, fuse, s.group, s.needed, s.inlined,
                 s.order, &s.norder) != TJ_OK)
        goto fail;

    /* slots: every needed node; leaves listed for the call to fill */
    int *slot_of = malloc(sizeof *slot_of * (s.n + 1));
    plan->slot_node = malloc(sizeof *plan->slot_node * (s.n + 1));
    plan->leaf_slots = malloc(sizeof *plan->leaf_slots * (s.n + 1));
    plan->steps = calloc(s.n + 1, sizeof *plan->steps);
    plan->kernels = calloc(s.n + 1, sizeof *plan->kernels);
    if (!slot_of || !plan->slot_node || !plan->leaf_slots || !plan->steps || !plan->kernels) {
        free(slot_of);
        tjC_error(ctx, TJ_ERR_NOMEM, "out of memory scheduling a graph of %zu nodes", s.n);
        goto fail;
    }
    for (size_t k = 0; k < s.n; k++) {
        slot_of[k] = -1;
        if (!s.needed[k])
            continue;
        slot_of[k] = plan->nslots;
        plan->slot_node[plan->nslots++] = s.topo[k];
        if (tj_op_is(s.topo[k]->op, OPF_LEAF))
            plan->leaf_slots[plan->nleaves++] = slot_of[k];
    }
    /* steps in the order fusion found (a topological order of the kernels and other steps) */
    for (int oi = 0; oi < s.norder; oi++) {
        size_t k = (size_t)s.order[oi];
        tj_var *v = s.topo[k];
        if (!s.needed[k] || tj_op_is(v->op, OPF_LEAF))
            continue;
        if (s.group[k] >= 0 && s.group[k] != (int)k)
            continue; /* a group member: its root's kernel makes it */
        tjS_step *st = &plan->steps[plan->nsteps++];
        st->root = v;
        st->reduce = TJ_OP_INPUT;
        tj_var **operands = NULL;
        if (s.group[k] == (int)k) {
            st->kind = STEP_KERNEL;
            st->kernel = add_kernel(plan, build_kernel(&s, (int)k, st, &operands));
            if (tj_op_is(v->op, OPF_REDUCE)) {
                st->reduce = v->op;
                st->red_mask = (uint32_t)v->attr[0];
                st->keepdims = v->attr[1] != 0;
            }
        } else {
            bool blas = v->op == TJ_OP_DOT || v->op == TJ_OP_GEMM || v->op == TJ_OP_GEMV ||
                        v->op == TJ_OP_GER;
            st->kind = blas ? STEP_DOT
                       : v->op == TJ_OP_DIMSHUFFLE ? STEP_VIEW
                       : v->op == TJ_OP_SHAPE_OF ? STEP_SHAPE
                       : tjG_is_shape_op(v->op)  ? STEP_SHAPE_OP
                                                 : STEP_HOST;
            st->nin = v->nin;
            st->nout = 1;
            operands = malloc(sizeof *operands * (size_t)v->nin);
            memcpy(operands, v->in, sizeof *operands * (size_t)v->nin);
            st->out_nodes = malloc(sizeof *st->out_nodes);
            st->out_nodes[0] = v;
        }
        st->in_slots = malloc(sizeof *st->in_slots * (size_t)(st->nin + 1));
        st->out_slots = malloc(sizeof *st->out_slots * (size_t)(st->nout + 1));
        for (int i = 0; i < st->nin; i++)
            st->in_slots[i] = slot_of[P(&s, operands[i])];
        for (int i = 0; i < st->nout; i++)
            st->out_slots[i] = slot_of[P(&s, st->out_nodes[i])];
        free(operands);
    }
    free(slot_of);
    plan->last_use = malloc(sizeof *plan->last_use * (size_t)(plan->nslots + 1));
    for (int i = 0; i < plan->nslots; i++)
        plan->last_use[i] = -1;
    for (int i = 0; i < plan->nsteps; i++)
        for (int j = 0; j < plan->steps[i].nin; j++)
            plan->last_use[plan->steps[i].in_slots[j]] = i;
    if (!record_aliases(plan, req, outs, nouts)) {
        tjC_error(ctx, TJ_ERR_NOMEM, "out of memory scheduling a graph of %zu nodes", s.n);
        goto fail;
    }
    *out = plan;
    plan = NULL;
fail:
    tjS_plan_free(plan);
    free(outs);
    free(s.topo);
    free(s.pos);
    free(s.nconsumers);
    free(s.group);
    free(s.required);
    free(s.needed);
    free(s.inlined);
    free(s.order);
    return *out ? TJ_OK : ctx->err;
}
