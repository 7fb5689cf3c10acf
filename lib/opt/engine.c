/* The rewrite engine: pattern matching, the fixpoint driver indexed by root op, and the passes
 * in Theano's order.
 *
 * One sweep walks the current graph inputs-first (iteratively: a 100,000-node chain must not
 * overflow the stack). Each node is made again from its inputs' replacements (hash-consing
 * returns the old node when nothing changed), then the rules indexed under its op are tried
 * until none fires; the result is the node's replacement. A pass repeats sweeps until one fires
 * nothing. Sweeps and firings on one node are capped: a rule set that cycles is an internal
 * error naming the rules still firing, never a hang. */
#include "opt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A node rewritten NODE_CAP times is cycling (or growing without end); a cycle among
 * hash-consed nodes shows sooner, as a node coming back (checked over the last CYCLE_WINDOW). */
enum { MAX_SWEEPS = 64, NODE_CAP = 4096, CYCLE_WINDOW = 64, MAX_PAIRS = 32 };

struct tjR_run {
    tj_ctx *ctx;
    size_t base;  /* nodes with id < base existed when the sweep began */
    int *clients; /* consumers of the nodes of the sweep's sort, by position (tjG_pos) */
    int *heirs;   /* by id - base: the consumers a node made in the sweep took over (0: unknown) */
    size_t nheirs;
};

/* ---- helpers for rules ----------------------------------------------------------------------- */

bool tjR_uniform(const tj_var *v, double *value)
{
    while (v->op == TJ_OP_DIMSHUFFLE)
        v = v->in[0];
    if (v->op != TJ_OP_CONSTANT || !v->value || v->value->size < 1)
        return false;
    const tj_array *a = v->value; /* constants are C-contiguous copies */
    double x = tjA_load(a->dtype, a->data, 0);
    if (x != x)
        return false; /* NaN equals nothing, so no pattern may match it */
    for (int64_t i = 1; i < a->size; i++)
        if (tjA_load(a->dtype, a->data, i) != x)
            return false;
    *value = x;
    return true;
}

/* clients[] is indexed by position in the sweep's sort; a node the sort did not reach has none.
 * A node made in the sweep as the replacement of one of the sort's takes over its consumers;
 * any other new node may have several (2: rules then keep it shared). */
int tjR_clients(const tjR_run *run, const tj_var *v)
{
    if (!run)
        return 2;
    if (v->id >= run->base) {
        size_t i = v->id - run->base;
        return i < run->nheirs && run->heirs[i] > 0 ? run->heirs[i] : 2;
    }
    int64_t p = tjG_pos(v);
    return p < 0 ? 0 : run->clients[p];
}

/* r, new in this sweep, replaces a node of the sort with n consumers: they become r's. Without
 * this, everything downstream of a rewrite counted as shared until the next sweep, so rules
 * that need a single consumer moved one step per sweep along a chain. On no memory r simply
 * stays "shared". */
static void inherit_clients(tjR_run *run, const tj_var *r, int n)
{
    size_t i = r->id - run->base;
    if (i >= run->nheirs) {
        size_t cap = run->nheirs ? 2 * run->nheirs : 256;
        while (cap <= i)
            cap *= 2;
        int *h = tjC_realloc(run->ctx, run->heirs, sizeof *h * cap);
        if (!h)
            return;
        memset(h + run->nheirs, 0, sizeof *h * (cap - run->nheirs));
        run->heirs = h;
        run->nheirs = cap;
    }
    run->heirs[i] += n;
}

bool tjR_in_graph(const tjR_run *run, const tj_var *v)
{
    return run && v->id < run->base && tjR_clients(run, v) > 0;
}

tj_var *tjR_const(tj_ctx *ctx, tj_dtype d, double value)
{
    tj_array *a = tjA_scalar(ctx, d, value);
    if (!a) {
        tjC_error(ctx, TJ_ERR_NOMEM, "out of memory making a constant");
        return NULL;
    }
    return tjG_make(ctx, TJ_OP_CONSTANT, d, 0, 0, NULL, 0, NULL, 0, a);
}

tj_var *tjR_const_like(const tj_var *v, double value)
{
    tj_var *c = tjR_const(v->ctx, v->dtype, value);
    if (!c || v->ndim == 0)
        return c;
    int pattern[TJ_MAX_NDIM];
    for (int d = 0; d < v->ndim; d++)
        pattern[d] = -1;
    return tj_dimshuffle(c, pattern, v->ndim);
}

tj_var *tjR_scalar_of(tj_var *v)
{
    if (!v || !tjR_is_scalar(v))
        return NULL;
    if (v->ndim == 0)
        return v;
    /* a dimshuffle adding axes to a 0-d node is undone; otherwise drop the axes */
    if (v->op == TJ_OP_DIMSHUFFLE && v->in[0]->ndim == 0)
        return v->in[0];
    return tj_dimshuffle(v, NULL, 0);
}

/* ---- matching -------------------------------------------------------------------------------- */

typedef struct {
    const tjR_pat *p;
    tj_var *v;
} pair;

/* Matches every (pattern, node) pair of todo[0..n); backtracks over the operand orders of
 * commutative ops. Recursion depth is bounded by the pattern's size, not the graph's. */
static bool match_list(const pair *todo, int n, tjR_match *m)
{
    if (n == 0)
        return true;
    pair cur = todo[n - 1];
    const tjR_pat *p = cur.p;
    tj_var *v = cur.v;
    double x;
    switch (p->kind) {
    case TJR_P_ANY:
        return match_list(todo, n - 1, m);
    case TJR_P_VAR:
        if (m->v[p->slot])
            return m->v[p->slot] == v && match_list(todo, n - 1, m);
        m->v[p->slot] = v;
        if (match_list(todo, n - 1, m))
            return true;
        m->v[p->slot] = NULL;
        return false;
    case TJR_P_CONST:
        return tjR_uniform(v, &x) && x == p->value && match_list(todo, n - 1, m);
    case TJR_P_ANYCONST:
        if (!tjR_uniform(v, &x))
            return false;
        if (m->v[p->slot])
            return m->v[p->slot] == v && match_list(todo, n - 1, m);
        m->v[p->slot] = v;
        m->c[p->slot] = x;
        if (match_list(todo, n - 1, m))
            return true;
        m->v[p->slot] = NULL;
        return false;
    case TJR_P_OP:
        break;
    default:
        return false;
    }
    if ((int)v->op != p->op)
        return false;
    if (p->nsub == 0)
        return match_list(todo, n - 1, m);
    if (v->nin != p->nsub || n - 1 + p->nsub > MAX_PAIRS)
        return false;
    pair next[MAX_PAIRS];
    memcpy(next, todo, sizeof *next * (size_t)(n - 1));
    int orders = p->nsub == 2 && tj_op_is(v->op, OPF_COMMUTE) ? 2 : 1;
    for (int o = 0; o < orders; o++) {
        for (int i = 0; i < p->nsub; i++)
            next[n - 1 + i] = (pair){p->sub[i], v->in[o ? p->nsub - 1 - i : i]};
        if (match_list(next, n - 1 + p->nsub, m))
            return true;
    }
    return false;
}

static bool match(const tjR_pat *p, tj_var *v, tjR_match *m)
{
    pair start = {p, v};
    return match_list(&start, 1, m);
}

/* ---- the rule index -------------------------------------------------------------------------- */

typedef struct {
    const tjR_rule *rule;
    const char *family;
    int hits; /* firings in the current sweep (cycle reports) */
} rref;

typedef struct {
    rref *refs;
    int nrefs;
    int *first; /* per op: start of its rules in order[] */
    int *order; /* indices into refs, grouped by op */
    int *any;   /* indices into refs of the rules any op matches, tried first */
    int nany;
} rule_index;

static void index_free(tj_ctx *ctx, rule_index *ix)
{
    tjC_free(ctx, ix->refs);
    tjC_free(ctx, ix->first);
    tjC_free(ctx, ix->order);
    tjC_free(ctx, ix->any);
}

/* Rules for every op: the ANY rules first (constant folding before anything else), then the rules
 * whose pattern root is that op, in table order. Built by counting, in O(ops + rules): a scan of
 * every rule for every op took 44% of a compile without LLVM (W2's train function); the ANY rules
 * are one list, not copied into every op's. */
static tj_status index_build(tj_ctx *ctx, const tjR_config *cfg, const tjR_family *const *fams,
                             int nfams, rule_index *ix)
{
    int total = 0;
    for (int f = 0; f < nfams; f++)
        total += fams[f]->nrules;
    memset(ix, 0, sizeof *ix);
    ix->refs = tjC_calloc(ctx, (size_t)total + 1, sizeof *ix->refs);
    ix->first = tjC_calloc(ctx, TJ_NUM_OPS + 1, sizeof *ix->first);
    ix->any = tjC_malloc(ctx, sizeof *ix->any * ((size_t)total + 1));
    if (!ix->refs || !ix->first || !ix->any) {
        index_free(ctx, ix);
        return tjC_error(ctx, TJ_ERR_NOMEM, "out of memory indexing the optimizer's rules");
    }
    for (int f = 0; f < nfams; f++)
        for (int r = 0; r < fams[f]->nrules; r++) {
            const tjR_rule *rule = &fams[f]->rules[r];
            if (!tjR_rule_enabled(cfg, fams[f]->name, rule->name, rule->flags))
                continue;
            const tjR_pat *p = rule->pat;
            if (p->kind == TJR_P_ANY)
                ix->any[ix->nany++] = ix->nrefs;
            else if (p->kind == TJR_P_OP && p->op >= 0 && p->op < TJ_NUM_OPS)
                ix->first[p->op + 1]++; /* counted here, turned into starts below */
            else
                continue; /* a root no node has: it never fires */
            ix->refs[ix->nrefs++] = (rref){rule, fams[f]->name, 0};
        }
    for (int op = 0; op < TJ_NUM_OPS; op++)
        ix->first[op + 1] += ix->first[op];
    ix->order = tjC_malloc(ctx, sizeof *ix->order * ((size_t)ix->first[TJ_NUM_OPS] + 1));
    int *fill = tjC_malloc(ctx, sizeof *fill * TJ_NUM_OPS);
    if (!ix->order || !fill) {
        tjC_free(ctx, fill);
        index_free(ctx, ix);
        return tjC_error(ctx, TJ_ERR_NOMEM, "out of memory indexing the optimizer's rules");
    }
    memcpy(fill, ix->first, sizeof *fill * TJ_NUM_OPS);
    for (int r = 0; r < ix->nrefs; r++) {
        const tjR_pat *p = ix->refs[r].rule->pat;
        if (p->kind != TJR_P_ANY)
            ix->order[fill[p->op]++] = r;
    }
    tjC_free(ctx, fill);
    return TJ_OK;
}

/* ---- one sweep ------------------------------------------------------------------------------- */

typedef struct {
    tj_ctx *ctx;
    const char *pass;
    rule_index *ix;
    tjR_log *log;
    int fired;
} sweep_state;

/* Names the rules that fired on one node too often (a cycle among them). */
static tj_status cycle_error(sweep_state *s, tj_var *v, const int *hist, int nhist)
{
    char names[512] = "", buf[160];
    size_t len = 0;
    for (int i = 0; i < nhist; i++) {
        const char *name = s->ix->refs[hist[i]].rule->name;
        if (strstr(names, name))
            continue;
        len += (size_t)snprintf(names + len, len < sizeof names ? sizeof names - len : 0, "%s%s",
                                len ? ", " : "", name);
        if (len >= sizeof names)
            break;
    }
    return tjC_error(s->ctx, TJ_ERR_INVALID,
                     "internal error in the optimizer: pass '%s' keeps rewriting %s without "
                     "reaching a fixpoint (it came back to a node it was, or was rewritten %d "
                     "times); the rules cycling there: %s (exclude one of them with "
                     "optimizer_excluding and report the graph)",
                     s->pass, tjG_describe(v, buf, sizeof buf), NODE_CAP, names);
}

/* Tries the rules of r's op until none fires; *out receives the final node. */
static tj_status rewrite_node(sweep_state *s, tjR_run *run, tj_var *r, tj_var **out)
{
    tj_ctx *ctx = s->ctx;
    int *hist = NULL;                 /* the rules that fired here, in order */
    tj_var *seen[CYCLE_WINDOW]; /* the last nodes this one became (the first nhist written;
                                 * not cleared: that was a rep stos per node) */
    int nhist = 0;
    for (;;) {
        const rule_index *ix = s->ix;
        bool hit = false;
        int own = ix->first[r->op], n = ix->nany + ix->first[r->op + 1] - own;
        for (int k = 0; k < n && !hit; k++) {
            int ri = k < ix->nany ? ix->any[k] : ix->order[own + k - ix->nany];
            rref *ref = &ix->refs[ri];
            tjR_match m; /* only the slots need clearing: a whole-struct initializer became a
                          * `rep stos`, whose start-up cost was most of this loop */
            m.root = r;
            m.run = run;
            memset(m.v, 0, sizeof m.v);
            if (!match(ref->rule->pat, r, &m))
                continue;
            tj_var *nr = ref->rule->rhs(&m);
            if (ctx->err != TJ_OK) {
                if (ctx->err == TJ_ERR_NOMEM) {
                    tjC_free(ctx, hist);
                    return ctx->err;
                }
                /* a rule built something a builder rejected: a bug in the rule, not the graph */
                char buf[160];
                tjC_log(ctx, "optimizer: rule '%s' declined at %s after a builder error: %s",
                        ref->rule->name, tjG_describe(r, buf, sizeof buf), ctx->errmsg);
                ctx->err = TJ_OK;
                ctx->errmsg[0] = '\0';
                continue;
            }
            if (!nr || nr == r)
                continue;
            if (!tjR_same_type(nr, r)) {
                char b1[160], b2[160];
                tjC_log(ctx, "optimizer: rule '%s' declined: its result %s has another type than "
                        "%s",
                        ref->rule->name, tjG_describe(nr, b1, sizeof b1),
                        tjG_describe(r, b2, sizeof b2));
                continue;
            }
            if (!nr->name && r->name && nr->id >= run->base)
                nr->name = r->name; /* keep the user's names readable in the optimized graph */
            tj_status st = tjR_log_add(ctx, s->log, s->pass, ref->rule->name, r, nr, NULL);
            if (st != TJ_OK) {
                tjC_free(ctx, hist);
                return st;
            }
            ref->hits++;
            s->fired++;
            if (!hist && !(hist = tjC_malloc(ctx, sizeof *hist * NODE_CAP)))
                return tjC_error(ctx, TJ_ERR_NOMEM, "out of memory optimizing a graph");
            bool back = false;
            for (int i = 0; i < nhist && i < CYCLE_WINDOW && !back; i++)
                back = seen[i] == nr;
            seen[nhist % CYCLE_WINDOW] = r;
            hist[nhist++] = ri;
            if (back || nhist == NODE_CAP) {
                int from = back && nhist > CYCLE_WINDOW ? nhist - CYCLE_WINDOW : 0;
                tj_status rc = cycle_error(s, r, hist + from, nhist - from);
                tjC_free(ctx, hist);
                return rc;
            }
            r = nr;
            hit = true;
        }
        if (!hit)
            break;
    }
    tjC_free(ctx, hist);
    *out = r;
    return TJ_OK;
}

static tj_status sweep(sweep_state *s, tj_var **outs, int nouts)
{
    tj_ctx *ctx = s->ctx;
    size_t n;
    tj_var **topo = tjG_toposort(ctx, outs, nouts, &n);
    if (!topo)
        return ctx->err;
    /* clients and map: by position in topo (tjG_pos); rules build no sort meanwhile */
    uint64_t topo_sort = ctx->sorts;
    tjR_run run = {.ctx = ctx, .base = ctx->nvars};
    run.clients = tjC_calloc(ctx, n + 1, sizeof *run.clients);
    tj_var **map = tjC_calloc(ctx, n + 1, sizeof *map);
    tj_var **in = NULL;
    size_t in_cap = 0;
    tj_status st = TJ_OK;
    if (!run.clients || !map) {
        st = tjC_error(ctx, TJ_ERR_NOMEM, "out of memory optimizing a graph of %zu nodes", n);
        goto done;
    }
    for (size_t k = 0; k < n; k++)
        for (int i = 0; i < topo[k]->nin; i++)
            run.clients[tjG_pos(topo[k]->in[i])]++;
    for (int o = 0; o < nouts; o++)
        run.clients[tjG_pos(outs[o])]++;
    for (size_t k = 0; k < n && st == TJ_OK; k++) {
        tj_var *v = topo[k], *r = v;
        if (v->nin > 0) {
            if ((size_t)v->nin > in_cap) {
                tj_var **p = tjC_realloc(ctx, in, sizeof *p * (size_t)v->nin);
                if (!p) {
                    st = tjC_error(ctx, TJ_ERR_NOMEM, "out of memory optimizing a graph");
                    break;
                }
                in = p;
                in_cap = (size_t)v->nin;
            }
            bool changed = false;
            for (int i = 0; i < v->nin; i++) {
                in[i] = map[tjG_pos(v->in[i])];
                changed = changed || in[i] != v->in[i];
            }
            if (changed) {
                r = tjG_rebuild(v, in, true);
                if (!r) {
                    st = ctx->err != TJ_OK ? ctx->err : TJ_ERR_NOMEM;
                    break;
                }
                if (!r->name && v->name && r->id >= run.base)
                    r->name = v->name;
            }
        }
        st = rewrite_node(s, &run, r, &r);
        map[k] = r;
        if (st == TJ_OK && r->id >= run.base)
            inherit_clients(&run, r, run.clients[k]);
        if (st == TJ_OK && ctx->sorts != topo_sort) /* positions gone: a bug, not the graph */
            st = tjC_error(ctx, TJ_ERR_INVALID, "internal error: a rule of pass '%s' sorted the "
                           "graph during a sweep", s->pass);
    }
    for (int o = 0; o < nouts && st == TJ_OK; o++)
        outs[o] = map[tjG_pos(outs[o])];
done:
    tjC_free(ctx, topo);
    tjC_free(ctx, run.clients);
    tjC_free(ctx, run.heirs);
    tjC_free(ctx, map);
    tjC_free(ctx, in);
    return st;
}

tj_status tjR_run_pass(tj_ctx *ctx, const tjR_config *cfg, const char *pass,
                       const tjR_family *const *fams, int nfams, tj_var **outs, int nouts,
                       tjR_log *log, int max_sweeps)
{
    /* rules detect builder failures through ctx->err: run with it clear, restore it after */
    tj_status saved = ctx->err;
    char saved_msg[sizeof ctx->errmsg];
    snprintf(saved_msg, sizeof saved_msg, "%s", ctx->errmsg);
    ctx->err = TJ_OK;
    rule_index ix;
    tj_status st = index_build(ctx, cfg, fams, nfams, &ix);
    if (st != TJ_OK)
        return st;
    sweep_state s = {.ctx = ctx, .pass = pass, .ix = &ix, .log = log};
    for (int i = 0;; i++) {
        for (int r = 0; r < ix.nrefs; r++)
            ix.refs[r].hits = 0;
        s.fired = 0;
        st = sweep(&s, outs, nouts);
        if (st != TJ_OK || s.fired == 0)
            break;
        if (i + 1 >= max_sweeps) {
            char names[512] = "";
            size_t len = 0;
            for (int r = 0; r < ix.nrefs && len < sizeof names; r++)
                if (ix.refs[r].hits)
                    len += (size_t)snprintf(names + len, sizeof names - len, "%s%s (%d)",
                                            len ? ", " : "", ix.refs[r].rule->name,
                                            ix.refs[r].hits);
            st = tjC_error(ctx, TJ_ERR_INVALID,
                           "internal error in the optimizer: pass '%s' did not reach a fixpoint "
                           "in %d sweeps; rules still firing in the last sweep (times): %s "
                           "(exclude one of them with optimizer_excluding and report the graph)",
                           pass, max_sweeps, names);
            break;
        }
    }
    index_free(ctx, &ix);
    if (st == TJ_OK && saved != TJ_OK) {
        ctx->err = saved;
        snprintf(ctx->errmsg, sizeof ctx->errmsg, "%s", saved_msg);
    }
    return st;
}

/* ---- the passes ------------------------------------------------------------------------------ */

typedef struct {
    const char *name;
    const tjR_family *fams[4];
    int nfams;
    bool fast_compile; /* runs in FAST_COMPILE */
} pass_def;

/* every rule pass also merges and canonicalizes what it exposes, in the same fixpoint */
#define CANON &tjR_merge_rules, &tjR_canonicalize_rules, &tjR_canon_shape_rules
static const pass_def passes[] = {
    {"merge", {&tjR_merge_rules}, 1, true},
    {"canonicalize", {CANON}, 3, true},
    {"stabilize", {&tjR_stabilize_rules, CANON}, 4, false},
    {"blas", {&tjR_blas_rules, CANON}, 4, false},
    {"specialize", {&tjR_specialize_rules, CANON}, 4, false},
    {"final_merge", {&tjR_merge_rules}, 1, true},
};
enum { FIRST_ROUND_PASS = 1, LAST_ROUND_PASS = 4, MAX_ROUNDS = 4 };
enum { NPASSES = sizeof passes / sizeof passes[0] };

/* Decisions the scheduler takes on the plan, by pass: valid names for including/excluding. */
static const char *const plan_rules[][2] = {
    {"fusion", "elemwise_fusion"}, {"fusion", "sibling_fusion"}, {"fusion", "scalar_inline"},
    {"fusion", "reduce_fusion"},   {"inplace", "elemwise_inplace"},
    {"inplace", "blas_inplace"},   {"inplace", "update_inplace"},
};
enum { NPLAN_RULES = sizeof plan_rules / sizeof plan_rules[0] };

static const tjR_family *const families[] = {&tjR_merge_rules, CANON, &tjR_stabilize_rules,
                                             &tjR_blas_rules, &tjR_specialize_rules};
enum { NFAMILIES = sizeof families / sizeof families[0] };

static bool listed(const char *const *names, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (names[i] && strcmp(names[i], name) == 0)
            return true;
    return false;
}

static bool known_name(const char *name)
{
    for (int p = 0; p < NPASSES; p++)
        if (strcmp(passes[p].name, name) == 0)
            return true;
    for (int f = 0; f < NFAMILIES; f++) {
        if (strcmp(families[f]->name, name) == 0)
            return true;
        for (int r = 0; r < families[f]->nrules; r++)
            if (strcmp(families[f]->rules[r].name, name) == 0)
                return true;
    }
    for (int r = 0; r < NPLAN_RULES; r++)
        if (strcmp(plan_rules[r][0], name) == 0 || strcmp(plan_rules[r][1], name) == 0)
            return true;
    return false;
}

tj_status tjR_config_check(tj_ctx *ctx, const tjR_config *cfg)
{
    for (int k = 0; k < 2; k++) {
        const char *const *names = k ? cfg->including : cfg->excluding;
        int n = k ? cfg->nincluding : cfg->nexcluding;
        const char *what = k ? "optimizer_including" : "optimizer_excluding";
        if (n < 0 || (n > 0 && !names))
            return tjC_error(ctx, TJ_ERR_INVALID, "tj_function: %s is NULL with %d names", what,
                             n);
        for (int i = 0; i < n; i++) {
            if (!names[i])
                return tjC_error(ctx, TJ_ERR_INVALID, "tj_function: %s[%d] is NULL", what, i);
            if (!known_name(names[i]))
                return tjC_error(ctx, TJ_ERR_INVALID,
                                 "tj_function: %s[%d] = '%s' names no optimizer pass or rule "
                                 "(passes: merge, canonicalize, stabilize, blas, specialize, "
                                 "fusion, inplace, final_merge; tj_fn_rewrites shows rule names)",
                                 what, i, names[i]);
        }
    }
    return TJ_OK;
}

bool tjR_pass_enabled(const tjR_config *cfg, const char *pass)
{
    if (listed(cfg->excluding, cfg->nexcluding, pass))
        return false;
    if (!cfg->fast_compile)
        return true;
    for (int p = 0; p < NPASSES; p++)
        if (strcmp(passes[p].name, pass) == 0 && passes[p].fast_compile)
            return true;
    return listed(cfg->including, cfg->nincluding, pass);
}

bool tjR_rule_enabled(const tjR_config *cfg, const char *family, const char *rule, unsigned flags)
{
    if (listed(cfg->excluding, cfg->nexcluding, rule) ||
        listed(cfg->excluding, cfg->nexcluding, family))
        return false;
    if (flags & TJR_DEFAULT_OFF)
        return listed(cfg->including, cfg->nincluding, rule);
    return true;
}

static tj_status run_passes(tj_ctx *ctx, const tjR_config *cfg, int first, int last,
                            tj_var **outs, int nouts, tjR_log *log)
{
    for (int p = first; p <= last; p++) {
        const pass_def *pd = &passes[p];
        /* a family excluded by name takes its own pass with it (merge: both merge passes) */
        if (!tjR_pass_enabled(cfg, pd->name) ||
            listed(cfg->excluding, cfg->nexcluding, pd->fams[0]->name))
            continue;
        tj_status st = tjR_run_pass(ctx, cfg, pd->name, pd->fams, pd->nfams, outs, nouts, log,
                                    MAX_SWEEPS);
        if (st != TJ_OK)
            return st;
    }
    return TJ_OK;
}

/* merge; then canonicalize, stabilize, blas, specialize in rounds until a round changes nothing
 * (what a later pass exposes is taken by an earlier one: optimizing twice changes nothing more);
 * then the final merge. */
tj_status tjR_optimize(tj_ctx *ctx, const tjR_config *cfg, tj_var **outs, int nouts, tjR_log *log)
{
    tjR_log local = {0};
    tjR_log *l = log ? log : &local;
    tj_status st = run_passes(ctx, cfg, 0, 0, outs, nouts, l);
    for (int round = 0; st == TJ_OK && round < MAX_ROUNDS; round++) {
        size_t before = l->n;
        st = run_passes(ctx, cfg, FIRST_ROUND_PASS, LAST_ROUND_PASS, outs, nouts, l);
        if (l->n == before)
            break;
    }
    if (st == TJ_OK)
        st = run_passes(ctx, cfg, LAST_ROUND_PASS + 1, NPASSES - 1, outs, nouts, l);
    tjR_log_free(ctx, &local);
    return st;
}
