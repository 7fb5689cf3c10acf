/* W7 in tensorjit: compile latency of W2's train function.
 *   cold:  a fresh context each time: build the graph, grad, tj_function (LLVM runs);
 *   again: the same graph built and compiled again in the same context, which the graph cache
 *          serves without rewrites, scheduling or LLVM; the case note says whether it did.
 * Only the build + compile is timed (the context's creation included for cold, its release not).
 * The check runs the compiled function once on W2's 10x3 data. */
#include "tj_impls.h"

#include "bench_data.h"
#include "workload_data.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

enum { CHECK_N = 10, CHECK_F = 3 };

typedef struct {
    tj_array *w0;
    tj_ctx *ctx; /* again: the context that keeps the first compile */
    tjw2_vars v;
    uint64_t compiles_before, hits_before, reps;
    uint64_t cold_reps, cold_compiles, cold_uncompiled; /* cold: LLVM work seen per fresh context */
} w7_state;

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void w7_destroy(void *p)
{
    w7_state *s = p;
    if (!s)
        return;
    tj_ctx_free(s->ctx);
    tj_array_unref(s->w0);
    free(s);
}

static double cold_op(void *p)
{
    w7_state *s = p;
    double t0 = now();
    tj_ctx *ctx = tj_ctx_new();
    tjw2_vars v = {0};
    tj_fn *fn = ctx ? tjw2_build(ctx, &v, s->w0) : NULL;
    double t = now() - t0;
    if (fn) {
        tj_stats st;
        tj_ctx_stats(ctx, &st);
        s->cold_reps++;
        s->cold_compiles += st.llvm_compiles;
        s->cold_uncompiled += st.llvm_compiles == 0;
    }
    tj_ctx_free(ctx);
    return fn ? t : -1;
}

/* Whether "cold" was cold: a fresh context that compiled nothing was served by a cache. */
static void cold_note(void *p, char *note, size_t len)
{
    w7_state *s = p;
    if (s->cold_reps == 0)
        snprintf(note, len, "no build measured");
    else if (s->cold_uncompiled == 0)
        snprintf(note, len, "LLVM ran in every fresh context (%.2f compiles per build)",
                 (double)s->cold_compiles / (double)s->cold_reps);
    else
        snprintf(note, len, "NOT COLD: %llu of %llu fresh-context builds ran no LLVM compile "
                 "(a cache shared across contexts served them)",
                 (unsigned long long)s->cold_uncompiled, (unsigned long long)s->cold_reps);
}

static double again_op(void *p)
{
    w7_state *s = p;
    double t0 = now();
    tj_fn *fn = tjw2_build(s->ctx, &s->v, s->w0);
    double t = now() - t0;
    tj_fn_free(fn);
    s->reps++;
    return fn ? t : -1;
}

/* One step of a freshly built train function on W2's 10x3 data, fingerprinted like W2's check. */
static int check_step(bi_case *c, char *err, size_t errlen)
{
    int64_t n = CHECK_N, f = CHECK_F, xs[2] = {CHECK_N, CHECK_F};
    tu_fn *t = tu_fn_new();
    if (!t)
        return tu_fail(NULL, "tj_ctx_new", err, errlen);
    tj_array *w0 = tjw2_w0(f);
    tjw2_vars v = {0};
    t->fn = w0 ? tjw2_build(t->ctx, &v, w0) : NULL;
    tj_array_unref(w0);
    t->nin = 2;
    t->in[0] = tu_normal(2, xs, WD_W2_X, 1.0);
    t->in[1] = tu_bernoulli(1, &n, WD_W2_Y);
    t->shared[0] = v.w;
    t->shared[1] = v.b;
    t->nshared = 2;
    bi_case tmp = {0};
    int rc = tu_fn_finish(t, &tmp, err, errlen);
    if (rc == 0) {
        for (int i = 0; i < tmp.ncheck; i += BD_FP_LEN)
            bi_check_add(c, tmp.check + i);
    }
    tu_fn_destroy(t);
    return rc;
}

static w7_state *state_for(const bi_spec *spec)
{
    w7_state *s = calloc(1, sizeof *s);
    if (s && !(s->w0 = tjw2_w0(spec->ndims > 1 ? spec->dims[1] : 784))) {
        free(s);
        return NULL;
    }
    return s;
}

int tjw7_cold_setup(const bi_spec *spec, bi_case *c, char *err, size_t errlen)
{
    w7_state *s = state_for(spec);
    if (!s)
        return tu_fail(NULL, "w0", err, errlen);
    if (check_step(c, err, errlen) != 0) {
        w7_destroy(s);
        return -1;
    }
    c->state = s;
    c->timed_op = cold_op;
    c->destroy = w7_destroy;
    c->describe = cold_note;
    return 0;
}

/* The note the driver prints: whether building the same graph again reached LLVM. */
static void again_note(void *p, char *note, size_t len)
{
    w7_state *s = p;
    tj_stats st;
    tj_ctx_stats(s->ctx, &st);
    uint64_t compiles = st.llvm_compiles - s->compiles_before,
             hits = st.graph_cache_hits - s->hits_before;
    if (s->reps == 0)
        snprintf(note, len, "no rebuild measured");
    else if (compiles == 0 && hits == s->reps)
        snprintf(note, len, "graph cache hit on every rebuild (%llu hits: no rewrites, no "
                 "scheduling, no LLVM)", (unsigned long long)hits);
    else
        snprintf(note, len, "graph cache MISS: %.2f graph hits and %.2f LLVM compiles per rebuild",
                 (double)hits / (double)s->reps, (double)compiles / (double)s->reps);
}

int tjw7_again_setup(const bi_spec *spec, bi_case *c, char *err, size_t errlen)
{
    w7_state *s = state_for(spec);
    if (!s || !(s->ctx = tj_ctx_new())) {
        w7_destroy(s);
        return tu_fail(NULL, "setup", err, errlen);
    }
    tj_fn *first = tjw2_build(s->ctx, &s->v, s->w0);
    if (!first) {
        tu_fail(s->ctx, "first build", err, errlen);
        w7_destroy(s);
        return -1;
    }
    tj_stats st;
    tj_ctx_stats(s->ctx, &st);
    s->compiles_before = st.llvm_compiles;
    s->hits_before = st.graph_cache_hits;
    /* One rebuild now so the setup reply already says hit or miss. */
    if (again_op(s) < 0 || check_step(c, err, errlen) != 0) {
        if (!err[0])
            tu_fail(s->ctx, "rebuild", err, errlen);
        w7_destroy(s);
        return -1;
    }
    again_note(s, c->note, sizeof c->note);
    c->state = s;
    c->timed_op = again_op;
    c->destroy = w7_destroy;
    c->describe = again_note;
    return 0;
}
