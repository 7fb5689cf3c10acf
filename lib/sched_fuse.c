/* Fusion (issue 4): which nodes one kernel computes, and the order of the steps.
 *
 *  scalar_inline    an elementwise node broadcastable on every axis (a scalar in disguise) whose
 *                   consumers are all kernel nodes is computed inside each consumer kernel from
 *                   its scalar operands (loop-invariant: LLVM hoists it), never materialized;
 *  elemwise_fusion  consumers first, an elementwise node joins a consumer's group of the same
 *                   iteration type; when it also has consumers outside, it becomes one more output
 *                   of that kernel, provided no path leaves the group and comes back (convexity);
 *  reduce_fusion    a reduction absorbs the elementwise work feeding it when nothing else reads it;
 *  sibling_fusion   elementwise groups of one iteration space merge into one multi-output kernel:
 *                   groups reading the same full-size operand, a group and its producer group, and
 *                   groups whose space is a single element, when no path between them leaves both.
 * Equal static types (rank + broadcast pattern) imply equal runtime shapes only for values tied by
 * an operation, which is why unrelated groups merge only through a shared full-size operand.
 * Steps are then ordered by a topological sort of the condensed graph (groups as units). */
#include "function.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    tj_ctx *ctx; /* whose allocator the work arrays come from */
    tj_var **topo;
    int n;
    const bool *required;
    const tjS_fuse_opts *o;
    int *cstart, *cons; /* consumers, CSR by topo index */
    int *parent;        /* union-find over group members; -1: not in a group */
    int *next;          /* circular member list per group */
    int *maxm;          /* per representative: largest member index */
    int *gnd;           /* per representative: iteration rank */
    uint32_t *gbc;      /* per representative: iteration broadcast pattern */
    bool *greduce;      /* per representative: the group ends in a reduction */
    bool *inl;          /* computed inside its consumers' kernels */
    int *stamp, *stamp2; /* DFS marks */
    int mark;
    int *stack, *stack2;
} fz;

static int P(const tj_var *v) { return (int)tjG_pos(v); } /* v's topo index */

static int find(fz *f, int k)
{
    while (f->parent[k] != k) {
        f->parent[k] = f->parent[f->parent[k]];
        k = f->parent[k];
    }
    return k;
}

static bool member_of(fz *f, int k, int rep) { return f->parent[k] >= 0 && find(f, k) == rep; }

static void new_group(fz *f, int k)
{
    tj_var *v = f->topo[k];
    const tj_var *t = tj_op_is(v->op, OPF_REDUCE) ? v->in[0] : v;
    f->parent[k] = k;
    f->next[k] = k;
    f->maxm[k] = k;
    f->gnd[k] = t->ndim;
    f->gbc[k] = t->bcast;
    f->greduce[k] = tj_op_is(v->op, OPF_REDUCE);
}

static void unite(fz *f, int a, int b) /* representatives */
{
    int r = f->maxm[a] > f->maxm[b] ? a : b, o = r == a ? b : a;
    f->parent[o] = r;
    int t = f->next[a]; /* splice the circular lists */
    f->next[a] = f->next[b];
    f->next[b] = t;
    f->greduce[r] = f->greduce[a] || f->greduce[b];
}

static bool kernel_node(const tj_var *v)
{
    return tj_op_is(v->op, OPF_ELEMWISE) || tj_op_is(v->op, OPF_REDUCE);
}

/* Whether merging group a with group b would make a cycle: a path from a member of a that leaves
 * both groups (seen through inlined scalars, which run inside their consumers) and reaches a
 * member of b. Not bounded by b's last member: a path may reach a group with later members and
 * come back through its earlier ones. */
/* phase 1 of path_out_and_back: q, a consumer met on the way out of groups ra and rb */
static void step_out(fz *f, int q, int ra, int rb, int m1, int *n1, int *n2)
{
    if (f->stamp[q] == m1 || member_of(f, q, ra) || member_of(f, q, rb))
        return;
    f->stamp[q] = m1;
    if (f->inl[q])
        f->stack[(*n1)++] = q; /* runs inside its consumers: look through it */
    else
        f->stack2[(*n2)++] = q; /* outside both */
}

/* phase 2 of path_out_and_back: r reached from outside both groups */
static void reach(fz *f, int r, int m2, int *n2)
{
    if (f->stamp2[r] != m2) {
        f->stamp2[r] = m2;
        f->stack2[(*n2)++] = r;
    }
}

static bool path_out_and_back(fz *f, int a, int b)
{
    int ra = find(f, a), rb = find(f, b);
    int n1 = 0, n2 = 0, m1 = ++f->mark, m2 = ++f->mark;
    int m = ra;
    do {
        for (int c = f->cstart[m]; c < f->cstart[m + 1]; c++)
            step_out(f, f->cons[c], ra, rb, m1, &n1, &n2);
        m = f->next[m];
    } while (m != ra);
    while (n1 > 0) {
        int q = f->stack[--n1];
        for (int c = f->cstart[q]; c < f->cstart[q + 1]; c++)
            step_out(f, f->cons[c], ra, rb, m1, &n1, &n2);
    }
    /* phase 2: from outside, reaching b at all closes a cycle */
    for (int i = 0; i < n2; i++)
        f->stamp2[f->stack2[i]] = m2;
    while (n2 > 0) {
        int q = f->stack2[--n2];
        if (member_of(f, q, rb))
            return true;
        for (int c = f->cstart[q]; c < f->cstart[q + 1]; c++)
            reach(f, f->cons[c], m2, &n2);
        /* a third group runs as one step: reaching one member orders all of them after a, so
         * what reads any member is reached too (found by fuzz-grad: a group holding both a
         * node that a's output feeds and a node that b reads made b's step wait for itself;
         * its earlier members may come before b's last, hence no bound by index) */
        int g = f->parent[q] >= 0 ? find(f, q) : -1;
        if (g >= 0 && f->stamp[g] != m2) {
            f->stamp[g] = m2; /* phase 1's marks are done with: expand each group once */
            int m = g;
            do {
                reach(f, m, m2, &n2);
                m = f->next[m];
            } while (m != g);
        }
    }
    return false;
}

static bool mergeable_types(fz *f, int a, int b)
{
    return !f->greduce[a] && !f->greduce[b] && f->gnd[a] == f->gnd[b] && f->gbc[a] == f->gbc[b];
}

static bool try_merge(fz *f, int a, int b)
{
    a = find(f, a), b = find(f, b);
    if (a == b || !mergeable_types(f, a, b))
        return false;
    if (path_out_and_back(f, a, b) || path_out_and_back(f, b, a))
        return false;
    unite(f, a, b);
    return true;
}

static const tj_var *inline_constant(const tj_var *v)
{
    while (v->op == TJ_OP_DIMSHUFFLE && v->in[0]->ndim == 0)
        v = v->in[0];
    return v->op == TJ_OP_CONSTANT && v->ndim == 0 ? v : NULL;
}

/* ---- the passes ---- */

static void mark_inline(fz *f)
{
    for (int k = 0; k < f->n; k++) {
        tj_var *v = f->topo[k];
        bool ok = f->o->scalar_inline && tj_op_is(v->op, OPF_ELEMWISE) &&
                  v->bcast == tjG_axes_below(v->ndim) && !f->required[k] && f->cstart[k + 1] > f->cstart[k];
        for (int c = f->cstart[k]; ok && c < f->cstart[k + 1]; c++)
            ok = kernel_node(f->topo[f->cons[c]]);
        f->inl[k] = ok;
    }
}

static void group_consumers_first(fz *f)
{
    for (int k = f->n - 1; k >= 0; k--) {
        tj_var *v = f->topo[k];
        if (f->inl[k] || !kernel_node(v))
            continue;
        bool joined = false;
        if (tj_op_is(v->op, OPF_ELEMWISE) && f->o->elemwise) {
            for (int c = f->cstart[k]; c < f->cstart[k + 1] && !joined; c++) {
                int q = f->cons[c];
                if (f->parent[q] < 0)
                    continue;
                int g = find(f, q);
                if (f->gnd[g] != v->ndim || f->gbc[g] != v->bcast)
                    continue;
                bool all_in = true;
                for (int d = f->cstart[k]; d < f->cstart[k + 1] && all_in; d++)
                    all_in = member_of(f, f->cons[d], g);
                if (f->greduce[g]) {
                    if (!f->o->reduce || !all_in || f->required[k])
                        continue;
                } else if (!all_in) { /* k as a group of its own, to test the paths */
                    new_group(f, k);
                    bool cycle = path_out_and_back(f, k, g);
                    f->parent[k] = -1;
                    if (cycle)
                        continue;
                }
                /* k joins g (as one more output when it has consumers outside) */
                f->parent[k] = g;
                f->next[k] = f->next[g];
                f->next[g] = k;
                joined = true;
            }
        }
        if (!joined)
            new_group(f, k);
    }
}

/* false: out of memory (nothing merged then). */
static bool merge_siblings(fz *f)
{
    if (!f->o->sibling)
        return true;
    /* p and each of its consumer edges: a consumer that takes p twice is listed twice, so the
     * bound is the edge count, not the node count */
    int *cand = tjC_malloc(f->ctx, sizeof *cand * (size_t)(f->cstart[f->n] + 1));
    if (!cand)
        return false;
    for (int p = 0; p < f->n; p++) {
        tj_var *pv = f->topo[p];
        int nc = 0;
        if (f->parent[p] >= 0)
            cand[nc++] = p; /* its own group: producer and consumers may merge */
        for (int c = f->cstart[p]; c < f->cstart[p + 1]; c++) {
            int q = f->cons[c];
            if (f->parent[q] >= 0)
                cand[nc++] = q;
        }
        /* only groups that p spans completely: they share p's runtime shape */
        int first = -1;
        for (int i = 0; i < nc; i++) {
            int g = find(f, cand[i]);
            if (f->greduce[g] || f->gnd[g] != pv->ndim || f->gbc[g] != pv->bcast)
                continue;
            if (first < 0)
                first = g;
            else if (try_merge(f, first, g))
                first = find(f, first);
        }
    }
    /* groups of a single element: any two of one rank may share a kernel */
    int single[TJ_MAX_NDIM + 1];
    for (int d = 0; d <= TJ_MAX_NDIM; d++)
        single[d] = -1;
    for (int k = 0; k < f->n; k++) {
        if (f->parent[k] < 0 || find(f, k) != k || f->greduce[k] || f->gbc[k] != tjG_axes_below(f->gnd[k]))
            continue;
        int d = f->gnd[k];
        if (single[d] < 0)
            single[d] = k;
        else if (try_merge(f, single[d], k))
            single[d] = find(f, k);
    }
    tjC_free(f->ctx, cand);
    return true;
}

static void mark_needed(fz *f, int *group, bool *needed)
{
    for (int k = f->n - 1; k >= 0; k--) {
        tj_var *v = f->topo[k];
        bool member = group[k] >= 0, computed = member || f->inl[k];
        if (f->required[k])
            needed[k] = true;
        for (int i = 0; i < v->nin; i++) {
            int p = P(v->in[i]);
            if (member && group[p] == group[k])
                continue;
            if (computed && (inline_constant(v->in[i]) || f->inl[p]))
                continue;
            needed[p] = true;
        }
    }
}

/* Steps in a topological order of the condensed graph: a group runs after everything its members
 * (and the scalars they inline) read, and before everything reading its outputs. false: out of
 * memory, or *cycle (an internal error: groups are convex by construction). */
static bool order_steps(fz *f, const int *group, const bool *needed, int *order, int *norder,
                        bool *cycle)
{
    int n = f->n;
    int *unit = tjC_malloc(f->ctx, sizeof *unit * (size_t)(n + 1));
    int *mstart = tjC_calloc(f->ctx, (size_t)n + 2, sizeof *mstart);
    int *members = tjC_malloc(f->ctx, sizeof *members * (size_t)(n + 1));
    int *dstart = tjC_calloc(f->ctx, (size_t)n + 2, sizeof *dstart);
    int *work = tjC_malloc(f->ctx, sizeof *work * (size_t)(n + 1));
    int *state = tjC_calloc(f->ctx, (size_t)n + 1, sizeof *state);
    int *deps = NULL, ndeps = 0, cap = 0;
    bool ok = unit && mstart && members && dstart && work && state;
    for (int k = 0; ok && k < n; k++) {
        unit[k] = group[k] >= 0                                     ? group[k]
                  : needed[k] && f->topo[k]->nin > 0 && !f->inl[k] ? k
                                                                    : -1;
        if (unit[k] >= 0)
            mstart[unit[k] + 1]++;
    }
    for (int k = 0; ok && k < n; k++)
        mstart[k + 1] += mstart[k];
    for (int k = 0; ok && k < n; k++)
        work[k] = mstart[k];
    for (int k = 0; ok && k < n; k++)
        if (unit[k] >= 0)
            members[work[unit[k]]++] = k;
    for (int u = 0; ok && u < n; u++) { /* the units each unit reads */
        dstart[u] = ndeps;
        if (unit[u] != u)
            continue;
        int mk = ++f->mark, sp = 0;
        for (int j = mstart[u]; j < mstart[u + 1]; j++)
            work[sp++] = members[j];
        while (sp > 0 && ok) {
            tj_var *v = f->topo[work[--sp]];
            for (int i = 0; i < v->nin && ok; i++) {
                int p = P(v->in[i]);
                if (f->inl[p] && unit[p] < 0) { /* computed here: its inputs are ours */
                    if (f->stamp[p] != mk) {
                        f->stamp[p] = mk;
                        work[sp++] = p;
                    }
                    continue;
                }
                if (unit[p] < 0 || unit[p] == u)
                    continue;
                if (ndeps == cap) {
                    cap = cap ? cap * 2 : 256;
                    int *d = tjC_realloc(f->ctx, deps, sizeof *d * (size_t)cap);
                    if (!d) {
                        ok = false;
                        break;
                    }
                    deps = d;
                }
                deps[ndeps++] = unit[p];
            }
        }
    }
    if (ok)
        dstart[n] = ndeps;
    /* iterative post-order DFS over units, roots in index order; work[u] is u's iterator */
    *norder = 0;
    int *dfs = ok ? tjC_malloc(f->ctx, sizeof *dfs * (size_t)(n + 1)) : NULL;
    ok = ok && dfs;
    for (int r = 0; ok && r < n; r++) {
        if (unit[r] != r || state[r])
            continue;
        int sp = 0;
        dfs[sp++] = r;
        state[r] = 1;
        work[r] = dstart[r];
        while (sp > 0 && ok) {
            int u = dfs[sp - 1];
            if (work[u] < dstart[u + 1]) {
                int d = deps[work[u]++];
                if (state[d] == 1) {
                    ok = false;
                    *cycle = true; /* never for convex groups */
                } else if (!state[d]) {
                    state[d] = 1;
                    work[d] = dstart[d];
                    dfs[sp++] = d;
                }
            } else {
                state[u] = 2;
                order[(*norder)++] = u;
                sp--;
            }
        }
    }
    tjC_free(f->ctx, dfs);
    tjC_free(f->ctx, unit);
    tjC_free(f->ctx, mstart);
    tjC_free(f->ctx, members);
    tjC_free(f->ctx, dstart);
    tjC_free(f->ctx, work);
    tjC_free(f->ctx, state);
    tjC_free(f->ctx, deps);
    return ok;
}

tj_status tjS_fuse(tj_ctx *ctx, tj_var **topo, size_t n, const bool *required,
                   const tjS_fuse_opts *opts, int *group, bool *needed, bool *inlined, int *order,
                   int *norder)
{
    static const tjS_fuse_opts all = {true, true, true, true};
    fz f = {.ctx = ctx, .topo = topo, .n = (int)n, .required = required,
            .o = opts ? opts : &all};
    size_t N = n + 2;
    f.cstart = tjC_calloc(ctx, N, sizeof *f.cstart);
    f.parent = tjC_malloc(ctx, sizeof *f.parent * N);
    f.next = tjC_malloc(ctx, sizeof *f.next * N);
    f.maxm = tjC_malloc(ctx, sizeof *f.maxm * N);
    f.gnd = tjC_malloc(ctx, sizeof *f.gnd * N);
    f.gbc = tjC_malloc(ctx, sizeof *f.gbc * N);
    f.greduce = tjC_calloc(ctx, N, sizeof *f.greduce);
    f.stamp = tjC_calloc(ctx, N, sizeof *f.stamp);
    f.stamp2 = tjC_calloc(ctx, N, sizeof *f.stamp2);
    f.stack = tjC_malloc(ctx, sizeof *f.stack * N);
    f.stack2 = tjC_malloc(ctx, sizeof *f.stack2 * N);
    f.inl = inlined;
    size_t nedges = 0;
    for (size_t k = 0; k < n; k++)
        nedges += (size_t)topo[k]->nin;
    f.cons = tjC_malloc(ctx, sizeof *f.cons * (nedges + 1));
    tj_status rc = TJ_OK;
    if (!f.cstart || !f.parent || !f.next || !f.maxm || !f.gnd || !f.gbc || !f.greduce ||
        !f.stamp || !f.stamp2 || !f.stack || !f.stack2 || !f.cons) {
        rc = tjC_error(ctx, TJ_ERR_NOMEM, "out of memory fusing a graph of %zu nodes", n);
        goto done;
    }
    /* consumers: each distinct consumer once per input edge (duplicates are harmless) */
    for (size_t k = 0; k < n; k++)
        for (int i = 0; i < topo[k]->nin; i++)
            f.cstart[P(topo[k]->in[i]) + 1]++;
    for (size_t k = 0; k < n; k++)
        f.cstart[k + 1] += f.cstart[k];
    int *fill = f.stack;
    for (size_t k = 0; k < n; k++)
        fill[k] = f.cstart[k];
    for (size_t k = 0; k < n; k++)
        for (int i = 0; i < topo[k]->nin; i++)
            f.cons[fill[P(topo[k]->in[i])]++] = (int)k;
    for (size_t k = 0; k < n; k++) {
        f.parent[k] = -1;
        needed[k] = false;
    }
    mark_inline(&f);
    group_consumers_first(&f);
    if (!merge_siblings(&f)) {
        rc = tjC_error(ctx, TJ_ERR_NOMEM, "out of memory merging the kernels of %zu nodes", n);
        goto done;
    }
    for (size_t k = 0; k < n; k++)
        group[k] = f.parent[k] >= 0 ? f.maxm[find(&f, (int)k)] : -1;
    mark_needed(&f, group, needed);
    bool cycle = false;
    if (!order_steps(&f, group, needed, order, norder, &cycle))
        rc = cycle ? tjC_error(ctx, TJ_ERR_INVALID,
                               "internal error: the fused steps of %zu nodes wait for each other "
                               "in a cycle (fusion should have refused a merge); please report it",
                               n)
                   : tjC_error(ctx, TJ_ERR_NOMEM, "out of memory ordering the steps of %zu nodes",
                               n);
done:
    tjC_free(ctx, f.cstart);
    tjC_free(ctx, f.cons);
    tjC_free(ctx, f.parent);
    tjC_free(ctx, f.next);
    tjC_free(ctx, f.maxm);
    tjC_free(ctx, f.gnd);
    tjC_free(ctx, f.gbc);
    tjC_free(ctx, f.greduce);
    tjC_free(ctx, f.stamp);
    tjC_free(ctx, f.stamp2);
    tjC_free(ctx, f.stack);
    tjC_free(ctx, f.stack2);
    return rc;
}
