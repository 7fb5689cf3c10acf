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
    int *nconsumers; /* per topo index */
    int *group;      /* per topo index: group id (root's topo index) or -1 */
    bool *required;  /* per topo index: a value the caller asked for */
    bool *needed;    /* per topo index: must be materialized in a slot */
    bool *inlined;   /* per topo index: a scalar computed inside the kernels reading it */
    int *order;      /* the steps' nodes in execution order (sched_fuse.c) */
    int norder;
} sched;

/* v's topo index (-1: not in the graph) */
static int P(const tj_var *v) { return (int)tjG_pos(v); }

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
    tj_ctx *ctx;
    tjK_instr *code;
    int ncode, cap;
    int *shared; /* the loads and literals among code, each emitted once */
    int nshared, shared_cap;
    bool nomem; /* an instruction could not be stored: the kernel is abandoned */
} kbuild;

/* Appends x to *list (length *n, capacity *cap); false when out of memory. */
static bool push_index(tj_ctx *ctx, int **list, int *n, int *cap, int x)
{
    if (*n == *cap) {
        int c = *cap ? *cap * 2 : 16;
        int *l = tjC_realloc(ctx, *list, sizeof *l * (size_t)c);
        if (!l)
            return false;
        *list = l;
        *cap = c;
    }
    (*list)[(*n)++] = x;
    return true;
}

static int emit(kbuild *b, tjK_instr ins)
{
    /* loads and literals are deduplicated, by a scan of them alone: scanning every instruction
     * for every instruction was quadratic in a kernel's size (28% of compiling a graph whose
     * one kernel fused 18,000 ops) */
    bool shared = ins.op == TJK_LOAD || ins.op == TJK_CONST;
    for (int j = 0; shared && j < b->nshared; j++) {
        const tjK_instr *c = &b->code[b->shared[j]];
        if (c->op == ins.op && c->dtype == ins.dtype && c->args[0] == ins.args[0] &&
            (ins.op != TJK_CONST || c->value == ins.value))
            return b->shared[j];
    }
    if (b->ncode == b->cap) {
        int cap = b->cap ? b->cap * 2 : 16;
        tjK_instr *code = tjC_realloc(b->ctx, b->code, sizeof *code * (size_t)cap);
        if (!code) {
            b->nomem = true;
            return 0; /* any index: the caller drops the kernel */
        }
        b->code = code;
        b->cap = cap;
    }
    if (shared && !push_index(b->ctx, &b->shared, &b->nshared, &b->shared_cap, b->ncode)) {
        b->nomem = true;
        return 0;
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
    int p = P(in);
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
            int q = P(v->in[i]);
            if (s->inlined[q] && !have[q] && s->group[q] != root && !inline_constant(v->in[i])) {
                stack[sp++] = q; /* each is emitted before it is needed; duplicates are skipped */
                ready = false;
            }
        }
        if (!ready)
            continue;
        sp--;
        int k = P(v);
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

static void kernel_free(tj_ctx *ctx, tjK_kernel *k)
{
    if (!k)
        return;
    tjC_free(ctx, k->dtype);
    tjC_free(ctx, k->scalar);
    tjC_free(ctx, k->code);
    tjC_free(ctx, k->out_instr);
    tjC_free(ctx, k);
}

/* The kernel of group root; NULL when out of memory (error recorded, nothing left allocated
 * except what st owns, which tjS_plan_free releases). */
static tjK_kernel *build_kernel(sched *s, int root, tjS_step *st, tj_var ***operands_out)
{
    tj_ctx *ctx = s->ctx;
    tj_var *r = s->topo[root];
    bool reduce = tj_op_is(r->op, OPF_REDUCE);
    kbuild b = {.ctx = ctx};
    tjK_kernel *kern = NULL;
    int *instr_of = tjC_malloc(ctx, sizeof *instr_of * s->n); /* topo index -> instruction */
    bool *have = tjC_calloc(ctx, s->n, sizeof *have);          /* inlined scalars already emitted */
    int *stack = tjC_malloc(ctx, sizeof *stack * (4 * s->n + 4)); /* DFS pushes: edges + nodes */
    tj_var **operands = tjC_malloc(ctx, sizeof *operands * s->n);
    int noperands = 0;
    tj_var **outs = tjC_malloc(ctx, sizeof *outs * s->n);
    int nouts = 0;
    int32_t *out_instr = NULL;
    if (!instr_of || !have || !stack || !operands || !outs)
        goto nomem;
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
    out_instr = tjC_malloc(ctx, sizeof *out_instr * (size_t)(nouts + 1));
    if (!out_instr)
        goto nomem;
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
            out_instr[i] = instr_of[P(outs[i])];
    }
    kern = tjC_calloc(ctx, 1, sizeof *kern);
    if (b.nomem || !kern)
        goto nomem;
    kern->nin = noperands;
    kern->nout = nouts;
    kern->code = b.code;
    kern->ncode = b.ncode;
    kern->out_instr = out_instr;
    b.code = NULL;
    out_instr = NULL;
    kern->dtype = tjC_malloc(ctx, sizeof *kern->dtype * (size_t)(noperands + nouts));
    kern->scalar = tjC_malloc(ctx, sizeof *kern->scalar * (size_t)(noperands + 1));
    st->in_bcast = tjC_malloc(ctx, sizeof *st->in_bcast * (size_t)(noperands + 1));
    if (!kern->dtype || !kern->scalar || !st->in_bcast)
        goto nomem;
    int nd;
    uint32_t bc;
    iter_type(r, &nd, &bc);
    st->iter_ndim = nd;
    st->iter_bcast = bc;
    for (int i = 0; i < noperands; i++) {
        kern->dtype[i] = operands[i]->dtype;
        st->in_bcast[i] = operands[i]->bcast;
        kern->scalar[i] = (operands[i]->bcast & tjG_axes_below(nd)) == tjG_axes_below(nd);
    }
    for (int i = 0; i < nouts; i++)
        kern->dtype[noperands + i] = outs[i]->dtype;
    /* a mean is a sum kernel that the runtime divides */
    kern->reduce = !reduce ? TJ_OP_NONE_ : r->op == TJ_OP_MEAN ? TJ_OP_SUM : (int)r->op;
    kern->flat = nd <= 1;
    st->nin = noperands;
    st->nout = nouts;
    st->out_nodes = outs;
    tjC_free(ctx, instr_of);
    tjC_free(ctx, have);
    tjC_free(ctx, stack);
    tjC_free(ctx, b.shared);
    *operands_out = operands;
    return kern;
nomem:
    tjC_error(ctx, TJ_ERR_NOMEM, "out of memory building the kernel of %s",
              tjG_ops[r->op].name);
    kernel_free(ctx, kern);
    tjC_free(ctx, b.code);
    tjC_free(ctx, b.shared);
    tjC_free(ctx, out_instr);
    tjC_free(ctx, instr_of);
    tjC_free(ctx, have);
    tjC_free(ctx, stack);
    tjC_free(ctx, operands);
    tjC_free(ctx, outs);
    return NULL;
}

void tjS_plan_free(tj_ctx *ctx, tjS_plan *plan)
{
    if (!plan)
        return;
    for (int i = 0; i < plan->nsteps; i++) {
        tjC_free(ctx, plan->steps[i].in_slots);
        tjC_free(ctx, plan->steps[i].out_slots);
        tjC_free(ctx, plan->steps[i].out_nodes);
        tjC_free(ctx, plan->steps[i].in_bcast);
        tjC_free(ctx, plan->steps[i].inplace);
        tjC_free(ctx, plan->steps[i].inplace_refs);
    }
    for (int i = 0; i < plan->nkernels; i++)
        kernel_free(ctx, plan->kernels[i]);
    tjC_free(ctx, plan->kernels);
    tjC_free(ctx, plan->steps);
    tjC_free(ctx, plan->slot_node);
    tjC_free(ctx, plan->leaf_slots);
    tjC_free(ctx, plan->last_use);
    tjC_free(ctx, plan->alias_node);
    tjC_free(ctx, plan->alias_slot);
    tjC_free(ctx, plan->chains);
    tjC_free(ctx, plan->step_chain);
    tjC_free(ctx, plan);
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
static int add_kernel(tj_ctx *ctx, tjS_plan *plan, tjK_kernel *k)
{
    for (int i = 0; i < plan->nkernels; i++) {
        if (same_kernel(plan->kernels[i], k)) {
            kernel_free(ctx, k);
            return i;
        }
    }
    plan->kernels[plan->nkernels] = k;
    return plan->nkernels++;
}

/* Requested nodes that tjS_expand rewrote: where their values are. */
static bool record_aliases(tj_ctx *ctx, tjS_plan *plan, tj_var *const *req,
                           tj_var *const *outs, int n)
{
    int k = 0;
    for (int i = 0; i < n; i++)
        k += req[i] != outs[i];
    if (k == 0)
        return true;
    plan->alias_node = tjC_malloc(ctx, sizeof *plan->alias_node * (size_t)k);
    plan->alias_slot = tjC_malloc(ctx, sizeof *plan->alias_slot * (size_t)k);
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
    tj_var **outs = tjC_malloc(ctx, sizeof *outs * (size_t)(nouts + 1));
    if (!outs)
        return tjC_error(ctx, TJ_ERR_NOMEM, "out of memory scheduling %d outputs", nouts);
    if (tjS_expand(ctx, req, nouts, outs) == TJ_OK)
        s.topo = tjG_toposort(ctx, outs, nouts, &s.n);
    if (!s.topo) {
        tjC_free(ctx, outs);
        return ctx->err;
    }
    s.nconsumers = tjC_calloc(ctx, s.n + 1, sizeof *s.nconsumers);
    s.group = tjC_malloc(ctx, sizeof *s.group * (s.n + 1));
    s.required = tjC_calloc(ctx, s.n + 1, sizeof *s.required);
    s.needed = tjC_calloc(ctx, s.n + 1, sizeof *s.needed);
    s.inlined = tjC_calloc(ctx, s.n + 1, sizeof *s.inlined);
    s.order = tjC_malloc(ctx, sizeof *s.order * (s.n + 1));
    tjS_plan *plan = tjC_calloc(ctx, 1, sizeof *plan);
    if (!s.nconsumers || !s.group || !s.required || !s.needed || !s.inlined ||
        !s.order || !plan) {
        tjC_error(ctx, TJ_ERR_NOMEM, "out of memory scheduling a graph of %zu nodes", s.n);
        goto done;
    }
    for (int o = 0; o < nouts; o++)
        s.required[P(outs[o])] = true;
    if (tjS_fuse(ctx, s.topo, s.n, s.required, fuse, s.group, s.needed, s.inlined,
                 s.order, &s.norder) != TJ_OK)
        goto done;

    /* slots: every needed node; leaves listed for the call to fill */
    int *slot_of = tjC_malloc(ctx, sizeof *slot_of * (s.n + 1));
    plan->slot_node = tjC_malloc(ctx, sizeof *plan->slot_node * (s.n + 1));
    plan->leaf_slots = tjC_malloc(ctx, sizeof *plan->leaf_slots * (s.n + 1));
    plan->steps = tjC_calloc(ctx, s.n + 1, sizeof *plan->steps);
    plan->kernels = tjC_calloc(ctx, s.n + 1, sizeof *plan->kernels);
    if (!slot_of || !plan->slot_node || !plan->leaf_slots || !plan->steps || !plan->kernels) {
        tjC_free(ctx, slot_of);
        tjC_error(ctx, TJ_ERR_NOMEM, "out of memory scheduling a graph of %zu nodes", s.n);
        goto done;
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
            tjK_kernel *kern = build_kernel(&s, (int)k, st, &operands);
            if (!kern)
                goto fail_slots;
            st->kernel = add_kernel(ctx, plan, kern);
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
            operands = tjC_malloc(ctx, sizeof *operands * (size_t)(v->nin + 1));
            st->out_nodes = tjC_malloc(ctx, sizeof *st->out_nodes);
            if (!operands || !st->out_nodes) {
                tjC_free(ctx, operands);
                goto nomem_slots;
            }
            memcpy(operands, v->in, sizeof *operands * (size_t)v->nin);
            st->out_nodes[0] = v;
        }
        st->in_slots = tjC_malloc(ctx, sizeof *st->in_slots * (size_t)(st->nin + 1));
        st->out_slots = tjC_malloc(ctx, sizeof *st->out_slots * (size_t)(st->nout + 1));
        if (!st->in_slots || !st->out_slots) {
            tjC_free(ctx, operands);
            goto nomem_slots;
        }
        for (int i = 0; i < st->nin; i++)
            st->in_slots[i] = slot_of[P(operands[i])];
        for (int i = 0; i < st->nout; i++)
            st->out_slots[i] = slot_of[P(st->out_nodes[i])];
        tjC_free(ctx, operands);
    }
    tjC_free(ctx, slot_of);
    slot_of = NULL;
    plan->last_use = tjC_malloc(ctx, sizeof *plan->last_use * (size_t)(plan->nslots + 1));
    if (!plan->last_use) {
        tjC_error(ctx, TJ_ERR_NOMEM, "out of memory scheduling a graph of %zu nodes", s.n);
        goto done;
    }
    for (int i = 0; i < plan->nslots; i++)
        plan->last_use[i] = -1;
    for (int i = 0; i < plan->nsteps; i++)
        for (int j = 0; j < plan->steps[i].nin; j++)
            plan->last_use[plan->steps[i].in_slots[j]] = i;
    if (!record_aliases(ctx, plan, req, outs, nouts)) {
        tjC_error(ctx, TJ_ERR_NOMEM, "out of memory scheduling a graph of %zu nodes", s.n);
        goto done;
    }
    *out = plan;
    plan = NULL;
    goto done;
nomem_slots:
    tjC_error(ctx, TJ_ERR_NOMEM, "out of memory scheduling a graph of %zu nodes", s.n);
fail_slots:
    tjC_free(ctx, slot_of);
done:
    tjS_plan_free(ctx, plan);
    tjC_free(ctx, outs);
    tjC_free(ctx, s.topo);
    tjC_free(ctx, s.nconsumers);
    tjC_free(ctx, s.group);
    tjC_free(ctx, s.required);
    tjC_free(ctx, s.needed);
    tjC_free(ctx, s.inlined);
    tjC_free(ctx, s.order);
    return *out ? TJ_OK : ctx->err;
}
