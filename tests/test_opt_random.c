/* The optimizer's property test (issue 4): thousands of random well-typed graphs (mixed dtypes,
 * broadcasting, reductions, dot, and the patterns the rules look for), each checked for
 *   optimize(g) == g       in the reference executor, within tolerance (a value that was not
 *                          finite may become finite: that is what stabilization is for);
 *   optimize(optimize(g)) == optimize(g)   structurally (the same hash-consed nodes);
 * and, for a sample, the JIT-compiled function against the reference executor, and identical
 * LLVM IR text when the same graph is compiled ten times in fresh contexts. Every failure names
 * its seed: TJ_OPT_SEED=<seed> reruns that one graph. */
#include "support.h"
#include "internal.h"
#include "opt/opt.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { NGRAPHS = 6000, JIT_EVERY = 100, IR_GRAPHS = 3, MAXV = 64, NIN = 4 };

typedef struct {
    uint64_t s;
} rng;

static uint64_t next(rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
static int pick(rng *r, int n) { return (int)(next(r) % (uint64_t)n); }
static double unif(rng *r, double lo, double hi)
{
    return lo + (hi - lo) * ((double)(next(r) >> 11) / 9007199254740992.0);
}

typedef struct {
    tj_ctx *ctx;
    bool twin64; /* float32 chosen as float64: the same graph in higher precision */
    tj_var *in[NIN];
    tj_array *val[NIN];
    tj_var *pool[MAXV];
    int n;
    tj_var *outs[3];
    int nouts;
    int64_t L; /* the length of every non-broadcastable axis */
} graph;

static const tj_dtype dtypes[] = {TJ_FLOAT64, TJ_FLOAT32, TJ_FLOAT64, TJ_FLOAT32, TJ_INT32,
                                  TJ_INT64, TJ_BOOL};

static tj_var *any(graph *g, rng *r) { return g->pool[pick(r, g->n)]; }

static tj_dtype dtype_of(const graph *g, tj_dtype d)
{
    return g->twin64 && d == TJ_FLOAT32 ? TJ_FLOAT64 : d;
}

static tj_var *float_var(graph *g, rng *r)
{
    for (int t = 0; t < 8; t++) {
        tj_var *v = any(g, r);
        tj_dtype d = tj_var_dtype(v);
        if (d == TJ_FLOAT32 || d == TJ_FLOAT64)
            return v;
    }
    return tj_cast(any(g, r), TJ_FLOAT64);
}

static tj_var *lit(graph *g, rng *r)
{
    static const double c[] = {0, 1, -1, 2, 0.5, 3, -0.25};
    return pick(r, 3) ? tj_lit(g->ctx, c[pick(r, 7)]) : tj_lit_int(g->ctx, pick(r, 5) - 1);
}

/* a fully non-broadcastable float vector or matrix, for dot */
static tj_var *dot_operand(graph *g, rng *r, int ndim)
{
    for (int t = 0; t < 12; t++) {
        tj_var *v = any(g, r);
        if (tj_var_ndim(v) != ndim)
            continue;
        bool ok = true;
        for (int d = 0; d < ndim; d++)
            ok = ok && !tj_var_broadcastable(v, d);
        tj_dtype dt = tj_var_dtype(v);
        if (ok && (dt == TJ_FLOAT32 || dt == TJ_FLOAT64))
            return v;
    }
    return NULL;
}

static tj_var *random_op(graph *g, rng *r)
{
    tj_var *a = any(g, r), *b = any(g, r), *f = float_var(g, r);
    int nd = tj_var_ndim(a);
    switch (pick(r, 30)) {
    case 0: return tj_add(a, b);
    case 1: return tj_sub(a, b);
    case 2: return tj_mul(a, b);
    case 3: return tj_div(f, tj_addc(tj_abs(float_var(g, r)), 0.5));
    case 4: return tj_neg(a);
    case 5: return tj_exp(tj_mulc(f, 0.5));
    case 6: return tj_log(tj_abs(f));
    case 7: return tj_sqrt(tj_abs(f));
    case 8: return tj_sigmoid(f);
    case 9: return tj_maximum(a, b);
    case 10: return tj_switch(tj_gt(a, b), a, b);
    case 11: return tj_cast(a, dtype_of(g, dtypes[pick(r, 7)]));
    case 12: return tj_powc(f, (double[]){0, 1, 2, 0.5, -1, 3}[pick(r, 6)]);
    case 13: /* a reduction over some axes */
        if (nd == 0)
            return tj_sqr(a);
        else {
            int axes[TJ_MAX_NDIM], n = 0;
            for (int d = 0; d < nd; d++)
                if (pick(r, 2))
                    axes[n++] = d;
            bool keep = pick(r, 2);
            int which = pick(r, 3);
            if (which == 0)
                return tj_sum(a, axes, n, keep);
            if (which == 1)
                return tj_mean(a, axes, n, keep);
            return tj_max(a, axes, n, keep);
        }
    case 14: { /* dot of a matrix with a vector or a matrix */
        tj_var *m = dot_operand(g, r, 2), *v = dot_operand(g, r, 1 + pick(r, 2));
        if (!m || !v)
            return tj_tanh(f);
        return pick(r, 2) ? tj_dot(m, v) : tj_dot(pick(r, 2) ? tj_transpose(m) : m, v);
    }
    case 15: return nd == 2 ? tj_transpose(a) : tj_abs(a);
    case 16: return nd == 1 ? tj_dimshuffle(a, (int[]){-1, 0}, 2) : tj_neg(f);
    /* the shapes the rules look for */
    case 17: return tj_log(tj_addc(tj_abs(f), 1));
    case 18: return tj_subc(tj_exp(tj_mulc(f, 0.3)), 1);
    case 19: return tj_rdivc(1, tj_addc(tj_exp(tj_neg(f)), 1));
    case 20: return tj_log(tj_rsubc(1, tj_sigmoid(f)));
    case 21: return tj_mul(tj_exp(f), tj_sigmoid(tj_neg(f)));
    case 22: return tj_add(tj_mul(a, lit(g, r)), lit(g, r));
    case 23: return tj_sub(a, a);
    case 24: return tj_neg(tj_neg(tj_sub(a, b)));
    case 25: return tj_log1p(tj_exp(f));
    case 26: return tj_sum(tj_mul(f, f), NULL, 0, pick(r, 2));
    case 27: return tj_mul(tj_addc(a, 2), tj_addc(lit(g, r), 1));
    case 28: {
        tj_var *m = dot_operand(g, r, 2), *v = dot_operand(g, r, 2);
        if (!m || !v)
            return tj_expm1(tj_mulc(f, 0.2));
        return tj_add(tj_mulc(tj_dot(tj_transpose(m), v), 0.5), tj_mulc(v, 2));
    }
    default: return tj_divc(f, 3);
    }
}

static void input_values(graph *g, rng *r)
{
    for (int i = 0; i < NIN; i++) {
        tj_var *v = g->in[i];
        int nd = tj_var_ndim(v);
        int64_t shape[TJ_MAX_NDIM], size = 1;
        for (int d = 0; d < nd; d++) {
            shape[d] = tj_var_broadcastable(v, d) ? 1 : g->L;
            size *= shape[d];
        }
        double vals[64];
        tj_dtype dt = tj_var_dtype(v);
        for (int64_t k = 0; k < size; k++)
            vals[k] = dt == TJ_BOOL ? pick(r, 2) : tj_dtype_is_float(dt) ? unif(r, -3, 3)
                                                                         : pick(r, 11) - 5;
        g->val[i] = tjt_array(dt, nd, shape, vals);
    }
}

static void build_graph(graph *g, uint64_t seed, bool twin64)
{
    rng r = {seed};
    memset(g, 0, sizeof *g);
    g->twin64 = twin64;
    g->ctx = tj_ctx_new();
    g->L = 2 + pick(&r, 3);
    for (int i = 0; i < NIN; i++) {
        int nd = pick(&r, 3);
        bool bc[2] = {nd > 1 && pick(&r, 4) == 0, nd > 0 && pick(&r, 4) == 0};
        char name[8];
        snprintf(name, sizeof name, "in%d", i);
        g->in[i] = tj_tensor(g->ctx, dtype_of(g, dtypes[pick(&r, 7)]), nd, bc, name);
        g->pool[g->n++] = g->in[i];
    }
    int nops = 4 + pick(&r, 14);
    for (int k = 0; k < nops && g->n < MAXV; k++) {
        tj_var *v = random_op(g, &r);
        if (!v) {
            tj_clear_error(g->ctx);
            continue;
        }
        g->pool[g->n++] = v;
    }
    g->nouts = 1 + pick(&r, 3);
    for (int o = 0; o < g->nouts; o++)
        g->outs[o] = g->pool[g->n - 1 - pick(&r, g->n - NIN > 3 ? 3 : 1)];
    input_values(g, &r);
}

static void free_graph(graph *g)
{
    for (int i = 0; i < NIN; i++)
        tj_array_unref(g->val[i]);
    tj_ctx_free(g->ctx);
}

/* Whether float32 arithmetic happens anywhere in the graph of v (its precision then rules). */
static bool has_float32(tj_ctx *ctx, tj_var *const *outs, int n)
{
    size_t nn;
    tj_var **topo = tjG_toposort(ctx, outs, n, &nn);
    bool f32 = false;
    for (size_t k = 0; topo && k < nn; k++)
        f32 = f32 || topo[k]->dtype == TJ_FLOAT32;
    tjC_free(ctx, topo);
    return f32;
}

/* after == before within tolerance; a non-finite before may become anything finite */
static bool same_values(const tj_array *b, const tj_array *a, bool f32, char *why, size_t len)
{
    if (tj_array_ndim(a) != tj_array_ndim(b) || tj_array_size(a) != tj_array_size(b)) {
        snprintf(why, len, "shapes differ");
        return false;
    }
    double rtol = f32 ? 2e-4 : 1e-8, scale = 1;
    for (int64_t i = 0; i < tj_array_size(b); i++)
        if (isfinite(tjt_at(b, i)))
            scale = fmax(scale, fabs(tjt_at(b, i)));
    for (int64_t i = 0; i < tj_array_size(b); i++) {
        double u = tjt_at(b, i), v = tjt_at(a, i);
        if (!isfinite(u))
            continue;
        if (!isfinite(v) || fabs(u - v) > rtol * scale) {
            snprintf(why, len, "element %lld: %.17g as written, %.17g optimized", (long long)i, u,
                     v);
            return false;
        }
    }
    return true;
}

static void expr_of(tj_var *v, char *buf, size_t len) { tjR_expr(v, buf, len); }

/* A float32 graph whose optimized value moved: fine when it moved toward the value the same graph
 * has in float64 (a stabilized formula is more accurate than the written one, not equal to it). */
static bool more_accurate(uint64_t seed, int o, const tj_array *ref, const tj_array *opt)
{
    graph t;
    build_graph(&t, seed, true);
    tj_array *truth[3] = {NULL};
    bool ok = t.nouts > o && tjI_eval(t.ctx, t.in, t.val, NIN, t.outs, t.nouts, truth) == TJ_OK &&
              tj_array_size(truth[o]) == tj_array_size(ref);
    double scale = 1;
    for (int64_t i = 0; ok && i < tj_array_size(ref); i++)
        if (isfinite(tjt_at(truth[o], i)))
            scale = fmax(scale, fabs(tjt_at(truth[o], i)));
    for (int64_t i = 0; ok && i < tj_array_size(ref); i++) {
        double u = tjt_at(ref, i), v = tjt_at(opt, i), w = tjt_at(truth[o], i);
        if (isfinite(u))
            ok = isfinite(v) && fabs(v - w) <= fabs(u - w) + 2e-4 * scale;
        if (getenv("TJ_OPT_DEBUG"))
            fprintf(stderr, "  [%lld] written %.17g optimized %.17g float64 %.17g\n",
                    (long long)i, u, v, w);
    }
    if (getenv("TJ_OPT_DEBUG") && t.nouts > o) {
        char e[600];
        tjR_expr(t.outs[o], e, sizeof e);
        fprintf(stderr, "  float64 twin: %s (%s)\n", e, tj_errmsg(t.ctx));
    }
    for (int k = 0; k < 3; k++)
        tj_array_unref(truth[k]);
    free_graph(&t);
    return ok;
}

/* Whether some float value of the written graph is not finite for these inputs. */
static bool overflows_somewhere(graph *g)
{
    size_t n;
    tj_var **topo = tjG_toposort(g->ctx, g->outs, g->nouts, &n);
    tj_array **vals = topo ? calloc(n, sizeof *vals) : NULL;
    bool found = false;
    if (vals && tjI_eval(g->ctx, g->in, g->val, NIN, topo, (int)n, vals) == TJ_OK)
        for (size_t k = 0; k < n && !found; k++)
            for (int64_t i = 0; tj_dtype_is_float(tj_array_dtype(vals[k])) &&
                                i < tj_array_size(vals[k]) && !found;
                 i++)
                found = !isfinite(tjt_at(vals[k], i));
    for (size_t k = 0; vals && k < n; k++)
        tj_array_unref(vals[k]);
    free(vals);
    tjC_free(g->ctx, topo);
    return found;
}

/* A difference the stabilize rules explain: without them the optimized graph computes the written
 * values (within tolerance); with them the value moved toward the graph's value in float64 (for
 * float32 graphs), or for float64 graphs by no more than the cancellation the written formula
 * suffers (1e-3 of the output's scale), and never to a non-finite value; or the written graph
 * overflowed somewhere on the way. */
static bool stabilized(graph *g, uint64_t seed, int o, bool f32, const tj_array *ref,
                       const tj_array *opt)
{
    tj_var *o3[3];
    memcpy(o3, g->outs, sizeof o3);
    const char *const ex[] = {"stabilize"};
    tjR_config cfg = {.excluding = ex, .nexcluding = 1};
    tj_array *ns[3] = {NULL};
    char why[256];
    bool ok = tjR_optimize(g->ctx, &cfg, o3, g->nouts, NULL) == TJ_OK &&
              tjI_eval(g->ctx, g->in, g->val, NIN, o3, g->nouts, ns) == TJ_OK &&
              same_values(ref, ns[o], f32, why, sizeof why);
    for (int k = 0; k < 3; k++)
        tj_array_unref(ns[k]);
    if (!ok)
        return false;
    if (overflows_somewhere(g))
        return true; /* the written formula overflowed on the way (maybe hidden by a cast) */
    if (f32)
        return more_accurate(seed, o, ref, opt);
    double scale = 1;
    for (int64_t i = 0; i < tj_array_size(ref); i++)
        if (isfinite(tjt_at(ref, i)))
            scale = fmax(scale, fabs(tjt_at(ref, i)));
    for (int64_t i = 0; i < tj_array_size(ref); i++) {
        double u = tjt_at(ref, i), v = tjt_at(opt, i);
        if (isfinite(u) && (!isfinite(v) || fabs(u - v) > 1e-3 * scale))
            return false;
    }
    return true;
}

/* One graph: returns false (with a message on stderr) when a property fails. */
static bool check_graph(uint64_t seed, bool jit)
{
    graph g;
    build_graph(&g, seed, false);
    tj_array *ref[3] = {NULL}, *opt[3] = {NULL};
    bool ok = true;
    char why[256], e1[600], e2[600];
    if (tjI_eval(g.ctx, g.in, g.val, NIN, g.outs, g.nouts, ref) != TJ_OK) {
        /* a graph that fails as written (an integer overflow to a shape error, ...) is skipped */
        free_graph(&g);
        return true;
    }
    bool f32 = has_float32(g.ctx, g.outs, g.nouts);
    tj_var *o1[3], *o2[3];
    memcpy(o1, g.outs, sizeof o1);
    tjR_config cfg = {0};
    tjR_log log = {0}, log2 = {0};
    if (tjR_optimize(g.ctx, &cfg, o1, g.nouts, &log) != TJ_OK) {
        fprintf(stderr, "seed %llu: the optimizer failed: %s\n", (unsigned long long)seed,
                tj_errmsg(g.ctx));
        ok = false;
        goto done;
    }
    if (tjI_eval(g.ctx, g.in, g.val, NIN, o1, g.nouts, opt) != TJ_OK) {
        fprintf(stderr, "seed %llu: the optimized graph fails where the written one works: %s\n",
                (unsigned long long)seed, tj_errmsg(g.ctx));
        ok = false;
        goto done;
    }
    for (int o = 0; o < g.nouts && ok; o++) {
        if (!same_values(ref[o], opt[o], f32, why, sizeof why) &&
            !stabilized(&g, seed, o, f32, ref[o], opt[o])) {
            expr_of(g.outs[o], e1, sizeof e1);
            expr_of(o1[o], e2, sizeof e2);
            char *text = tjR_log_text(&log);
            fprintf(stderr, "seed %llu: output %d: %s\n  written:   %s\n  optimized: %s\n%s",
                    (unsigned long long)seed, o, why, e1, e2, text);
            free(text);
            ok = false;
        }
    }
    memcpy(o2, o1, sizeof o2);
    if (ok && tjR_optimize(g.ctx, &cfg, o2, g.nouts, &log2) != TJ_OK) {
        fprintf(stderr, "seed %llu: optimizing again failed: %s\n", (unsigned long long)seed,
                tj_errmsg(g.ctx));
        ok = false;
    }
    for (int o = 0; o < g.nouts && ok; o++) {
        if (o2[o] != o1[o]) {
            expr_of(o1[o], e1, sizeof e1);
            expr_of(o2[o], e2, sizeof e2);
            char *text = tjR_log_text(&log2);
            fprintf(stderr, "seed %llu: optimize is not idempotent on output %d:\n  once:  %s\n"
                            "  twice: %s\n%s",
                    (unsigned long long)seed, o, e1, e2, text);
            free(text);
            ok = false;
        }
    }
    if (ok && jit) { /* the compiled function (fusion, BLAS steps) against the reference */
        tj_function_opts fo = TJ_FUNCTION_OPTS_INIT;
        fo.on_unused_input = TJ_UNUSED_IGNORE;
        tj_fn *f = tj_function(g.ctx, g.in, NIN, g.outs, g.nouts, &fo);
        tj_array *res[3] = {NULL};
        if (!f || tj_call(f, g.val, res) != TJ_OK) {
            fprintf(stderr, "seed %llu: the compiled function failed: %s\n",
                    (unsigned long long)seed, tj_errmsg(g.ctx));
            ok = false;
        }
        for (int o = 0; o < g.nouts && ok; o++)
            if (!same_values(ref[o], res[o], f32, why, sizeof why)) {
                char *graph_text = tj_fn_graph(f);
                fprintf(stderr, "seed %llu: compiled output %d: %s\n%s\n",
                        (unsigned long long)seed, o, why, graph_text);
                free(graph_text);
                ok = false;
            }
        for (int o = 0; o < 3; o++)
            tj_array_unref(res[o]);
    }
done:
    for (int o = 0; o < 3; o++) {
        tj_array_unref(ref[o]);
        tj_array_unref(opt[o]);
    }
    tjR_log_free(g.ctx, &log);
    tjR_log_free(g.ctx, &log2);
    free_graph(&g);
    return ok;
}

static uint64_t seed_of(int i) { return 0x5eed0000ull + (uint64_t)i * 7919; }

Test(opt_random, optimize_preserves_values_and_is_idempotent, .timeout = 300)
{
    const char *only = getenv("TJ_OPT_SEED");
    if (only) {
        cr_expect(check_graph(strtoull(only, NULL, 0), true), "seed %s", only);
        return;
    }
    int failures = 0, first = -1, ngraphs = NGRAPHS; /* TJ_OPT_GRAPHS: longer stress runs */
    if (getenv("TJ_OPT_GRAPHS"))
        ngraphs = atoi(getenv("TJ_OPT_GRAPHS"));
    for (int i = 0; i < ngraphs; i++)
        if (!check_graph(seed_of(i), i % JIT_EVERY == 0)) {
            if (first < 0)
                first = i;
            if (++failures >= 5)
                break;
        }
    cr_expect_eq(failures, 0, "%d of the random graphs failed; the first: TJ_OPT_SEED=%llu",
                 failures, first >= 0 ? (unsigned long long)seed_of(first) : 0ull);
}

/* The same graph compiled ten times (fresh contexts, no disk cache): the same LLVM IR. */
Test(opt_random, same_graph_same_ir, .timeout = 300)
{
    setenv("TJ_CACHE_DIR", "off", 1);
    for (int k = 0; k < IR_GRAPHS; k++) {
        uint64_t seed = seed_of(1000 + 17 * k);
        char *first = NULL;
        for (int t = 0; t < 10; t++) {
            graph g;
            build_graph(&g, seed, false);
            tj_function_opts fo = TJ_FUNCTION_OPTS_INIT;
            fo.on_unused_input = TJ_UNUSED_IGNORE;
            tj_fn *f = tj_function(g.ctx, g.in, NIN, g.outs, g.nouts, &fo);
            cr_assert(f, "seed %llu: %s", (unsigned long long)seed, tj_errmsg(g.ctx));
            char *ir = tj_fn_ir(f, false);
            cr_assert(ir);
            if (!first)
                first = ir;
            else {
                cr_expect_str_eq(ir, first, "seed %llu: compile %d differs",
                                 (unsigned long long)seed, t);
                free(ir);
            }
            free_graph(&g);
        }
        free(first);
    }
}
