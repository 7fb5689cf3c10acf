/* The scheduler: graph -> step list. Maximal groups of elementwise nodes that share an iteration
 * space become one kernel; a reduction absorbs the group feeding it; dot becomes a BLAS step;
 * dimshuffle becomes a strided view.
 *
 * Fusion rule (greedy, consumers first): an elementwise node joins its consumers' group when all
 * of its consumers are in that one group and its static type (rank + broadcast pattern) equals
 * the group's iteration type. Under Theano's static broadcasting equal types imply equal runtime
 * shapes, and "all consumers inside" keeps groups convex, so any value a group reads from
 * outside is the root of an earlier step. */
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

static void assign_groups(sched *s)
{
    /* consumer's group per node, or -2 when consumers disagree */
    int *cg = malloc(sizeof *cg * s->n);
    for (size_t i = 0; i < s->n; i++)
        cg[i] = -1;
    for (size_t k = s->n; k-- > 0;) {
        tj_var *v = s->topo[k];
        int g = -1;
        if (tj_op_is(v->op, OPF_ELEMWISE) && cg[k] >= 0) {
            tj_var *root = s->topo[cg[k]];
            int nd;
            uint32_t bc;
            iter_type(root, &nd, &bc);
            bool reduce_group = tj_op_is(root->op, OPF_REDUCE);
            if (nd == v->ndim && bc == v->bcast && !(reduce_group && s->required[k]))
                g = cg[k];
        }
        if (g < 0 && (tj_op_is(v->op, OPF_ELEMWISE) || tj_op_is(v->op, OPF_REDUCE)))
            g = (int)k;
        s->group[k] = g;
        /* tell each input which group consumes it */
        for (int i = 0; i < v->nin; i++) {
            int p = P(s, v->in[i]);
            int mine = g >= 0 ? g : -3 - (int)k; /* a non-kernel consumer is its own "group" */
            if (cg[p] == -1)
                cg[p] = mine;
            else if (cg[p] != mine)
                cg[p] = -2;
        }
    }
    free(cg);
}

/* Marks what must live in a slot: group roots, required values, external operands. */
static void mark_needed(sched *s)
{
    for (size_t k = s->n; k-- > 0;) {
        tj_var *v = s->topo[k];
        bool is_root = s->group[k] == (int)k;
        bool member = s->group[k] >= 0 && !is_root;
        if (s->required[k])
            s->needed[k] = true;
        if (!s->needed[k] && !member)
            continue;
        if (member && !s->needed[k] && !s->needed[s->group[k]])
            continue;
        /* operands read from outside this node's group */
        for (int i = 0; i < v->nin; i++) {
            int p = P(s, v->in[i]);
            if (s->group[k] >= 0 && s->group[p] == s->group[k])
                continue;
            if (s->group[k] >= 0 && inline_constant(v->in[i]))
                continue;
            s->needed[p] = true;
        }
    }
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

static tjK_kernel *build_kernel(sched *s, int root, tjS_step *st, tj_var ***operands_out)
{
    tj_var *r = s->topo[root];
    bool reduce = tj_op_is(r->op, OPF_REDUCE);
    kbuild b = {0};
    int *instr_of = malloc(sizeof *instr_of * s->n); /* topo index -> instruction */
    tj_var **operands = malloc(sizeof *operands * s->n);
    int noperands = 0;
    tj_var **outs = malloc(sizeof *outs * s->n);
    int nouts = 0;
    for (size_t k = 0; k <= (size_t)root; k++) {
        if (s->group[k] != root || (reduce && (int)k == root))
            continue;
        tj_var *v = s->topo[k];
        tjK_instr ins = {.op = v->op, .dtype = v->dtype, .args = {-1, -1, -1}};
        for (int i = 0; i < v->nin; i++) {
            tj_var *in = v->in[i];
            int p = P(s, in);
            const tj_var *c;
            if (s->group[p] == root) {
                ins.args[i] = instr_of[p];
            } else if ((c = inline_constant(in))) {
                tjK_instr k2 = {.op = TJK_CONST, .dtype = c->dtype, .args = {-1, -1, -1},
                                .value = tj_array_get(c->value, NULL)};
                ins.args[i] = emit(&b, k2);
            } else {
                int o = 0;
                while (o < noperands && operands[o] != in)
                    o++;
                if (o == noperands)
                    operands[noperands++] = in;
                tjK_instr ld = {.op = TJK_LOAD, .dtype = in->dtype, .args = {o, -1, -1}};
                ins.args[i] = emit(&b, ld);
            }
        }
        instr_of[k] = emit(&b, ins);
        if ((int)k == root || s->needed[k])
            outs[nouts++] = v;
    }
    int32_t *out_instr = malloc(sizeof *out_instr * (size_t)(nouts + 1));
    if (reduce) {
        tj_var *in = r->in[0];
        int p = P(s, in);
        if (s->group[p] == root) {
            out_instr[0] = instr_of[p];
        } else {
            operands[noperands] = in;
            tjK_instr ld = {.op = TJK_LOAD, .dtype = in->dtype, .args = {noperands, -1, -1}};
            noperands++;
            out_instr[0] = emit(&b, ld);
        }
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
    kern->reduce = reduce ? TJ_OP_SUM : TJ_OP_NONE_;
    st->nin = noperands;
    st->nout = nouts;
    st->out_nodes = outs;
    free(instr_of);
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
    free(plan);
}

int tjS_slot_of(const tjS_plan *plan, const tj_var *v)
{
    for (int i = 0; i < plan->nslots; i++)
        if (plan->slot_node[i] == v)
            return i;
    return -1;
}

tj_status tjS_plan_build(tj_ctx *ctx, tj_var *const *outs, int nouts, tjS_plan **out)
{
    *out = NULL;
    sched s = {.ctx = ctx};
    s.topo = tjG_toposort(ctx, outs, nouts, &s.n);
    if (!s.topo)
        return ctx->err;
    s.pos = malloc(sizeof *s.pos * (ctx->nvars + 1));
    s.nconsumers = calloc(s.n + 1, sizeof *s.nconsumers);
    s.group = malloc(sizeof *s.group * (s.n + 1));
    s.required = calloc(s.n + 1, sizeof *s.required);
    s.needed = calloc(s.n + 1, sizeof *s.needed);
    tjS_plan *plan = calloc(1, sizeof *plan);
    if (!s.pos || !s.nconsumers || !s.group || !s.required || !s.needed || !plan) {
        tjC_error(ctx, TJ_ERR_NOMEM, "out of memory scheduling a graph of %zu nodes", s.n);
        goto fail;
    }
    for (size_t i = 0; i < ctx->nvars; i++)
        s.pos[i] = -1;
    for (size_t k = 0; k < s.n; k++)
        s.pos[s.topo[k]->id] = (int)k;
    for (int o = 0; o < nouts; o++)
        s.required[P(&s, outs[o])] = true;
    assign_groups(&s);
    mark_needed(&s);

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
    /* steps in topological order of their roots */
    for (size_t k = 0; k < s.n; k++) {
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
            st->kernel = plan->nkernels;
            plan->kernels[plan->nkernels++] = build_kernel(&s, (int)k, st, &operands);
            if (tj_op_is(v->op, OPF_REDUCE)) {
                st->reduce = v->op;
                st->red_mask = (uint32_t)v->attr[0];
                st->keepdims = v->attr[1] != 0;
            }
        } else {
            st->kind = v->op == TJ_OP_DOT ? STEP_DOT
                       : v->op == TJ_OP_DIMSHUFFLE ? STEP_VIEW
                                                   : STEP_SHAPE;
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
    *out = plan;
    plan = NULL;
fail:
    tjS_plan_free(plan);
    free(s.topo);
    free(s.pos);
    free(s.nconsumers);
    free(s.group);
    free(s.required);
    free(s.needed);
    return *out ? TJ_OK : ctx->err;
}
