/* tj_function: checking the signature, compiling a plan (or choosing the reference executor),
 * or reusing the compile of an equal graph (lib/graph_cache.c); looking inside a function.
 * Calls are in lib/function_call.c. */
#include "function.h"
#include "jit.h"

#include <stdlib.h>
#include <string.h>

/* fn_valid for a public function's argument: records TJ_ERR_INVALID in the thread's slot. */
static bool fn_arg(const tj_fn *fn, const char *api)
{
    if (tjF_valid(fn))
        return true;
    tjA_error(TJ_ERR_INVALID, "%s: the function is %s", api,
              fn ? "not a live tj_fn (freed, or another kind of handle)" : "NULL");
    return false;
}

static void fn_destroy(tj_fn *fn)
{
    if (fn->entry) { /* plan, code and rewrites are the entry's */
        tjF_entry_release(fn->ctx, fn->entry);
    } else {
        tjF_code_release(fn->ctx, fn->code);
        tjS_plan_free(fn->ctx, fn->plan);
        tjR_log_free(fn->ctx, &fn->rewrites);
    }
    tjF_ws_free(fn->ctx, atomic_load(&fn->ws));
    tjF_direct_free(fn->ctx, fn->direct);
    tjC_free(fn->ctx, fn->inputs);
    tjC_free(fn->ctx, fn->outs);
    tjC_free(fn->ctx, fn->upd_vars);
    tjC_free(fn->ctx, fn->shared);
    tjC_free(fn->ctx, fn->out_slot);
    tjC_free(fn->ctx, fn->keep);
    tjC_free(fn->ctx, fn->poolable);
    tjC_free(fn->ctx, fn->borrowed);
    tjC_free(fn->ctx, fn->leaf_in);
    tjC_free(fn->ctx, fn->leaf_var);
    tjC_free(fn->ctx, fn->prof);
    tjC_free(fn->ctx, fn->name);
    fn->magic = 0; /* the header stays in the context's arena: a stale handle reads as dead */
}

void tj_fn_free(tj_fn *fn)
{
    if (!fn || !fn_arg(fn, "tj_fn_free")) /* NULL-safe */
        return;
    tj_ctx *ctx = fn->ctx;
    for (size_t i = 0; i < ctx->nfns; i++) {
        if (ctx->fns[i] == fn) {
            ctx->fns[i] = ctx->fns[--ctx->nfns];
            break;
        }
    }
    fn_destroy(fn);
}

void tjF_free_all(tj_ctx *ctx)
{
    for (size_t i = 0; i < ctx->nfns; i++)
        fn_destroy(ctx->fns[i]);
    tjC_free(ctx, ctx->fns);
    ctx->fns = NULL;
    ctx->nfns = 0;
    tjF_cache_free(ctx);
}

/* ---- compile ---- */

/* givens=[(var, replacement)]: a function input cannot be replaced (pass the replacement's
 * inputs instead); rebuild_strict demands the replacement keep the variable's exact type. */
static tj_status check_givens(tj_ctx *ctx, tj_var *const *inputs, int nin,
                              const tj_function_opts *o)
{
    char b1[160], b2[160];
    if (o->ngivens < 0 || (o->ngivens > 0 && !o->givens))
        return tjC_error(ctx, TJ_ERR_INVALID, "tj_function: %d givens but givens is NULL",
                         o->ngivens);
    for (int g = 0; g < o->ngivens; g++) {
        tj_var *v = o->givens[g].var, *r = o->givens[g].replacement;
        if (!tjG_valid(v) || v->ctx != ctx || !tjG_valid(r) || r->ctx != ctx)
            return tjC_error(ctx, TJ_ERR_INVALID,
                             "tj_function: givens[%d] has a NULL or foreign variable or "
                             "replacement",
                             g);
        for (int i = 0; i < nin; i++)
            if (inputs[i] == v)
                return tjC_error(ctx, TJ_ERR_INVALID,
                                 "tj_function: givens[%d] replaces %s, which is also input %d; "
                                 "a function input cannot be replaced",
                                 g, tjG_describe(v, b1, sizeof b1), i);
        for (int h = 0; h < g; h++)
            if (o->givens[h].var == v)
                return tjC_error(ctx, TJ_ERR_INVALID,
                                 "tj_function: %s is replaced twice (givens %d and %d)",
                                 tjG_describe(v, b1, sizeof b1), h, g);
        bool same = v->dtype == r->dtype && v->ndim == r->ndim && v->bcast == r->bcast;
        if (o->rebuild_strict && !same)
            return tjC_error(ctx, TJ_ERR_TYPE,
                             "tj_function: givens[%d] replaces %s by %s of another type; with "
                             "rebuild_strict the types must be equal (cast the replacement, or "
                             "set rebuild_strict = false)",
                             g, tjG_describe(v, b1, sizeof b1), tjG_describe(r, b2, sizeof b2));
        if (v->ndim != r->ndim)
            return tjC_error(ctx, TJ_ERR_TYPE,
                             "tj_function: givens[%d] replaces %s (%d dimensions) by %s (%d)", g,
                             tjG_describe(v, b1, sizeof b1), v->ndim,
                             tjG_describe(r, b2, sizeof b2), r->ndim);
    }
    return TJ_OK;
}

/* Applies givens to every output and update value. */
static tj_status apply_givens(tj_fn *fn, const tj_function_opts *o)
{
    if (o->ngivens == 0)
        return TJ_OK;
    tj_var **from = tjC_malloc(fn->ctx, sizeof *from * (size_t)o->ngivens);
    tj_var **to = tjC_malloc(fn->ctx, sizeof *to * (size_t)o->ngivens);
    tj_status rc = TJ_ERR_NOMEM;
    if (from && to) {
        for (int g = 0; g < o->ngivens; g++) {
            from[g] = o->givens[g].var;
            to[g] = o->givens[g].replacement;
        }
        rc = tjG_replace(fn->ctx, fn->outs, fn->nout + fn->nupd, from, to, o->ngivens,
                         o->rebuild_strict, fn->outs);
    } else {
        tjC_error(fn->ctx, rc, "out of memory applying givens");
    }
    tjC_free(fn->ctx, from);
    tjC_free(fn->ctx, to);
    return rc;
}

/* Shared variables the graph reads that carry a default update (e.g. a random state) get it,
 * unless the caller updates them explicitly or asked for no_default_updates. */
static tj_status add_default_updates(tj_fn *fn, const tj_function_opts *o)
{
    if (o->no_default_updates)
        return TJ_OK;
    tj_ctx *ctx = fn->ctx;
    size_t n;
    tj_var **topo = tjG_toposort(ctx, fn->outs, fn->nout + fn->nupd, &n);
    if (!topo)
        return ctx->err;
    tj_status rc = TJ_OK;
    for (size_t k = 0; k < n && rc == TJ_OK; k++) {
        tj_var *v = topo[k];
        if (v->op != TJ_OP_SHARED || !v->default_update)
            continue;
        bool explicit = false;
        for (int u = 0; u < fn->nupd; u++)
            explicit = explicit || fn->upd_vars[u] == v;
        if (explicit)
            continue;
        tj_var **uv = tjC_realloc(ctx, fn->upd_vars, sizeof *uv * (size_t)(fn->nupd + 1));
        size_t nouts = (size_t)(fn->nout + fn->nupd + 1);
        tj_var **outs = uv ? tjC_realloc(ctx, fn->outs, sizeof *outs * nouts) : NULL;
        if (uv)
            fn->upd_vars = uv;
        if (!outs) {
            rc = tjC_error(ctx, TJ_ERR_NOMEM, "out of memory adding default updates");
            break;
        }
        fn->outs = outs;
        fn->upd_vars[fn->nupd] = v;
        fn->outs[fn->nout + fn->nupd] = v->default_update;
        fn->nupd++;
    }
    tjC_free(ctx, topo);
    return rc;
}

static tj_status check_signature(tj_ctx *ctx, tj_var *const *inputs, int nin,
                                 tj_var *const *outputs, int nout, const tj_function_opts *o)
{
    char buf[160];
    if (nin < 0 || nout < 0 || (nin > 0 && !inputs) || (nout > 0 && !outputs))
        return tjC_error(ctx, TJ_ERR_INVALID,
                         "tj_function: needs arrays for %d inputs and %d outputs (counts >= 0; "
                         "an array may be NULL only for a count of 0)",
                         nin, nout);
    for (int i = 0; i < nin; i++) {
        if (!tjG_valid(inputs[i]) || inputs[i]->ctx != ctx)
            return tjC_error(ctx, TJ_ERR_INVALID,
                             "tj_function: inputs[%d] is NULL or not a variable of this context",
                             i);
        if (inputs[i]->op != TJ_OP_INPUT)
            return tjC_error(ctx, TJ_ERR_INVALID,
                             "tj_function: inputs[%d] is %s; inputs must be symbolic variables "
                             "(tj_scalar, tj_matrix, ...), not shared variables or expressions",
                             i, tjG_describe(inputs[i], buf, sizeof buf));
        for (int j = 0; j < i; j++)
            if (inputs[j] == inputs[i])
                return tjC_error(ctx, TJ_ERR_INVALID, "tj_function: %s is given twice (inputs "
                                 "%d and %d)", tjG_describe(inputs[i], buf, sizeof buf), j, i);
    }
    for (int i = 0; i < nout; i++)
        if (!tjG_valid(outputs[i]) || outputs[i]->ctx != ctx)
            return tjC_error(ctx, TJ_ERR_INVALID,
                             "tj_function: outputs[%d] is NULL or not a variable of this "
                             "context (did building it fail? tj_errmsg tells why)",
                             i);
    if ((int)o->mode < 0 || o->mode > TJ_MODE_DEBUG)
        return tjC_error(ctx, TJ_ERR_INVALID, "tj_function: mode %d is not a tj_mode", o->mode);
    if ((int)o->on_unused_input < 0 || o->on_unused_input > TJ_UNUSED_IGNORE)
        return tjC_error(ctx, TJ_ERR_INVALID, "tj_function: on_unused_input %d is not a "
                         "tj_unused_input", (int)o->on_unused_input);
    if (o->allow_input_downcast < -1 || o->allow_input_downcast > 1)
        return tjC_error(ctx, TJ_ERR_INVALID, "tj_function: allow_input_downcast is %d; expected "
                         "-1 (default), 0 or 1", o->allow_input_downcast);
    if (o->nupdates < 0 || (o->nupdates > 0 && !o->updates))
        return tjC_error(ctx, TJ_ERR_INVALID, "tj_function: %d updates but updates is NULL",
                         o->nupdates);
    for (int i = 0; i < o->nupdates; i++) {
        tj_var *v = o->updates[i].var, *nv = o->updates[i].new_value;
        if (!tjG_valid(v) || v->ctx != ctx || !tjG_valid(nv) || nv->ctx != ctx)
            return tjC_error(ctx, TJ_ERR_INVALID,
                             "tj_function: updates[%d] has a NULL or foreign variable or value",
                             i);
        if (v->op != TJ_OP_SHARED)
            return tjC_error(ctx, TJ_ERR_INVALID,
                             "tj_function: updates[%d] targets %s; only shared variables can be "
                             "updated",
                             i, tjG_describe(v, buf, sizeof buf));
        if (nv->dtype != v->dtype || nv->ndim != v->ndim) {
            char b2[160];
            return tjC_error(ctx, TJ_ERR_TYPE,
                             "tj_function: the update of %s has type %s with %d dimensions "
                             "(%s); it must keep the shared variable's type %s with %d "
                             "(use tj_cast)",
                             tjG_describe(v, buf, sizeof buf), tj_dtype_name(nv->dtype), nv->ndim,
                             tjG_describe(nv, b2, sizeof b2), tj_dtype_name(v->dtype), v->ndim);
        }
        for (int j = 0; j < i; j++)
            if (o->updates[j].var == v)
                return tjC_error(ctx, TJ_ERR_INVALID,
                                 "tj_function: %s is updated twice (updates %d and %d)",
                                 tjG_describe(v, buf, sizeof buf), j, i);
    }
    return check_givens(ctx, inputs, nin, o);
}

/* Every input the graph reads must be listed; listed inputs it does not read are unused. */
static tj_status check_inputs_used(tj_fn *fn, const tj_function_opts *o)
{
    tj_ctx *ctx = fn->ctx;
    size_t n;
    tj_var **topo = tjG_toposort(ctx, fn->outs, fn->nout + fn->nupd, &n);
    if (!topo)
        return ctx->err;
    char buf[160];
    tj_status rc = TJ_OK;
    for (size_t k = 0; k < n && rc == TJ_OK; k++) {
        fn->reads_shared = fn->reads_shared || topo[k]->op == TJ_OP_SHARED;
        if (topo[k]->op != TJ_OP_INPUT)
            continue;
        bool listed = false;
        for (int i = 0; i < fn->nin; i++)
            listed = listed || fn->inputs[i] == topo[k];
        if (!listed)
            rc = tjC_error(ctx, TJ_ERR_INVALID,
                           "tj_function '%s': the outputs depend on %s, which is not among the "
                           "inputs",
                           tjF_name(fn), tjG_describe(topo[k], buf, sizeof buf));
    }
    for (int i = 0; i < fn->nin && rc == TJ_OK; i++) {
        bool used = false;
        for (size_t k = 0; k < n && !used; k++)
            used = topo[k] == fn->inputs[i];
        if (used || o->on_unused_input == TJ_UNUSED_IGNORE)
            continue;
        tjG_describe(fn->inputs[i], buf, sizeof buf);
        if (o->on_unused_input == TJ_UNUSED_WARN)
            tjC_log(ctx, "tj_function '%s': input %d, %s, is not used by any output",
                    tjF_name(fn), i, buf);
        else
            rc = tjC_error(ctx, TJ_ERR_UNUSED_INPUT,
                           "tj_function '%s': input %d, %s, is not used by any output or "
                           "update (pass on_unused_input = TJ_UNUSED_WARN or IGNORE to allow it)",
                           tjF_name(fn), i, buf);
    }
    tjC_free(ctx, topo);
    return rc;
}

/* The graph optimizer on outputs and update values (lib/opt/): FAST_COMPILE runs only merge and
 * canonicalize (its reference executor then runs the optimized graph). */
static tj_status optimize(tj_fn *fn)
{
    tjR_config cfg = fn->cfg; /* checked by compile() */
    tj_status rc = tjR_optimize(fn->ctx, &cfg, fn->outs, fn->nout + fn->nupd, &fn->rewrites);
    bool fusion = tjR_pass_enabled(&cfg, "fusion");
    fn->fuse = (tjS_fuse_opts){
        .elemwise = fusion && tjR_rule_enabled(&cfg, "fusion", "elemwise_fusion", 0),
        .sibling = fusion && tjR_rule_enabled(&cfg, "fusion", "sibling_fusion", 0),
        .scalar_inline = fusion && tjR_rule_enabled(&cfg, "fusion", "scalar_inline", 0),
        .reduce = fusion && tjR_rule_enabled(&cfg, "fusion", "reduce_fusion", 0)};
    return rc;
}

/* The plan and its code, made from the optimized graph. */
static tj_status build_plan(tj_fn *fn)
{
    tj_ctx *ctx = fn->ctx;
    tj_status rc = tjS_plan_build(ctx, fn->outs, fn->nout + fn->nupd, &fn->fuse, &fn->plan);
    /* fusion notes and in-place decisions (never over a shared value in DEBUG mode: the
     * reference executor reads the variables after the run) */
    if (rc == TJ_OK && tjR_pass_enabled(&fn->cfg, "fusion"))
        rc = tjR_plan_log_fusion(ctx, fn->plan, &fn->rewrites);
    if (rc == TJ_OK)
        rc = tjR_plan_inplace(ctx, fn->plan, &fn->cfg, fn->outs, fn->nout, fn->upd_vars,
                              fn->nupd, fn->mode != TJ_MODE_DEBUG, &fn->rewrites);
    if (rc == TJ_OK)
        rc = tjS_plan_chains(ctx, fn->plan);
    if (rc != TJ_OK)
        return rc;
    if (tjF_jit_off()) {
        snprintf(fn->jit_reason, sizeof fn->jit_reason, "the JIT is off (TJ_JIT=off)");
        fn->jitted = false;
        return TJ_OK;
    }
    rc = tjF_code_get(ctx, fn->plan, &fn->code);
    if (rc == TJ_ERR_JIT) {
        /* reported, never silent: the function still works, in the reference executor */
        snprintf(fn->jit_reason, sizeof fn->jit_reason, "%s", ctx->errmsg);
        tjC_log(ctx, "tj_function '%s': %s; running it in the reference executor", tjF_name(fn),
                fn->jit_reason);
        fn->jitted = false;
        return TJ_OK;
    }
    fn->jitted = rc == TJ_OK;
    return rc;
}

/* Where each leaf slot of the plan gets its value: an input by position, or the node's value
 * (a constant; a shared variable, mapped to this function's own when the plan was made for an
 * equal graph: leaves[k] of that graph's shared list is fn->shared[k]). */
static tj_status map_leaves(tj_fn *fn, tj_var *const *plan_inputs, tj_var *const *plan_shared)
{
    const tjS_plan *plan = fn->plan;
    fn->leaf_in = tjC_malloc(fn->ctx, sizeof *fn->leaf_in * (size_t)(plan->nleaves + 1));
    fn->leaf_var = tjC_calloc(fn->ctx, (size_t)plan->nleaves + 1, sizeof *fn->leaf_var);
    fn->borrowed = tjC_calloc(fn->ctx, (size_t)plan->nslots + 1, sizeof *fn->borrowed);
    if (!fn->leaf_in || !fn->leaf_var || !fn->borrowed)
        return tjC_error(fn->ctx, TJ_ERR_NOMEM, "out of memory compiling '%s'", tjF_name(fn));
    for (int l = 0; l < plan->nleaves; l++) {
        tj_var *v = plan->slot_node[plan->leaf_slots[l]];
        fn->leaf_in[l] = -1;
        fn->leaf_var[l] = v;
        for (int i = 0; v->op == TJ_OP_INPUT && i < fn->nin; i++)
            if (plan_inputs[i] == v)
                fn->leaf_in[l] = i;
        for (int k = 0; v->op == TJ_OP_SHARED && k < fn->nshared; k++)
            if (plan_shared[k] == v)
                fn->leaf_var[l] = fn->shared[k];
        if (v->op == TJ_OP_INPUT && fn->leaf_in[l] < 0)
            return tjC_error(fn->ctx, TJ_ERR_INVALID,
                             "internal error: '%s' reads an input that is not among its inputs",
                             tjF_name(fn));
        fn->borrowed[plan->leaf_slots[l]] = v->op == TJ_OP_INPUT || v->op == TJ_OP_CONSTANT;
    }
    return TJ_OK;
}

/* The per-function view of a plan: output slots, slots kept through the run, slots whose
 * buffers a call may keep for the next one (results of steps allocating through the pool). */
static tj_status attach_plan(tj_fn *fn)
{
    tj_ctx *ctx = fn->ctx;
    const tjS_plan *plan = fn->plan;
    int n = fn->nout + fn->nupd;
    fn->out_slot = tjC_malloc(ctx, sizeof *fn->out_slot * (size_t)(n + 1));
    fn->keep = tjC_calloc(ctx, (size_t)plan->nslots + 1, sizeof *fn->keep);
    fn->poolable = tjC_calloc(ctx, (size_t)plan->nslots + 1, sizeof *fn->poolable);
    if (!fn->out_slot || !fn->keep || !fn->poolable)
        return tjC_error(ctx, TJ_ERR_NOMEM, "out of memory compiling '%s'", tjF_name(fn));
    for (int i = 0; i < n; i++) {
        fn->out_slot[i] = tjS_slot_of(plan, fn->outs[i]);
        fn->keep[fn->out_slot[i]] = true;
    }
    for (int i = 0; i < plan->nsteps; i++) {
        const tjS_step *st = &plan->steps[i];
        bool pooled = st->kind == STEP_KERNEL || st->kind == STEP_DOT;
        for (int o = 0; pooled && o < st->nout; o++)
            fn->poolable[st->out_slots[o]] = !fn->keep[st->out_slots[o]];
    }
    if (fn->profile && !(fn->prof = tjC_calloc(ctx, (size_t)plan->nsteps + 1, sizeof *fn->prof)))
        return tjC_error(ctx, TJ_ERR_NOMEM, "out of memory for the profile of '%s'", tjF_name(fn));
    return TJ_OK;
}

/* Optimize, plan and compile, or take all three from an equal graph compiled before. */
static tj_status compile(tj_fn *fn, const tj_function_opts *o)
{
    tjF_key key = {0};
    bool hit = false;
    tj_var *const *plan_inputs = fn->inputs, *const *plan_shared;
    fn->cfg = (tjR_config){.fast_compile = fn->mode == TJ_MODE_FAST_COMPILE,
                           .excluding = o->optimizer_excluding,
                           .nexcluding = o->noptimizer_excluding,
                           .including = o->optimizer_including,
                           .nincluding = o->noptimizer_including};
    /* checked before anything reads them: they are part of the graph cache's key */
    tj_status rc = tjR_config_check(fn->ctx, &fn->cfg);
    if (rc == TJ_OK)
        rc = tjF_collect_shared(fn);
    plan_shared = fn->shared;
    /* the memory cache serves FAST_RUN only: DEBUG checks every rewrite on its own graph */
    if (rc == TJ_OK && fn->mode == TJ_MODE_FAST_RUN)
        rc = tjF_graph_lookup(fn, &key, &hit, &plan_inputs, &plan_shared);
    if (rc == TJ_OK && !hit)
        rc = optimize(fn);
    if (fn->mode == TJ_MODE_FAST_COMPILE)
        snprintf(fn->jit_reason, sizeof fn->jit_reason,
                 "FAST_COMPILE mode runs the reference executor");
    else if (rc == TJ_OK && !hit)
        rc = build_plan(fn);
    if (rc == TJ_OK && fn->plan)
        rc = attach_plan(fn);
    if (rc == TJ_OK && fn->plan)
        rc = map_leaves(fn, plan_inputs, plan_shared);
    if (rc == TJ_OK && fn->plan)
        rc = tjF_direct_prepare(fn);
    if (rc == TJ_OK && fn->plan)
        tjF_replay_prepare(fn);
    if (rc == TJ_OK && !hit && key.bytes && fn->jitted)
        rc = tjF_graph_store(fn, &key);
    tjC_free(fn->ctx, key.bytes);
    return rc;
}

tj_fn *tj_function(tj_ctx *ctx, tj_var *const *inputs, int nin, tj_var *const *outputs, int nout,
                   const tj_function_opts *opts)
{
    if (!tjC_valid(ctx)) {
        tjA_error(TJ_ERR_INVALID, "tj_function: the context is NULL or not a live tj_ctx");
        return NULL;
    }
    tj_function_opts defaults = TJ_FUNCTION_OPTS_INIT;
    const tj_function_opts *o = opts ? opts : &defaults;
    if (check_signature(ctx, inputs, nin, outputs, nout, o) != TJ_OK)
        return NULL;
    if (ctx->nfns == ctx->fns_cap) {
        size_t cap = ctx->fns_cap ? ctx->fns_cap * 2 : 16;
        tj_fn **fns = tjC_realloc(ctx, ctx->fns, cap * sizeof *fns);
        if (!fns) {
            tjC_error(ctx, TJ_ERR_NOMEM, "out of memory creating a function");
            return NULL;
        }
        ctx->fns = fns;
        ctx->fns_cap = cap;
    }
    tj_fn *fn = tjC_alloc(ctx, sizeof *fn); /* NOMEM recorded */
    if (!fn)
        return NULL;
    *fn = (tj_fn){.magic = TJ_FN_MAGIC, .ctx = ctx, .mode = o->mode, .nin = nin, .nout = nout,
                  .nupd = o->nupdates, .allow_input_downcast = o->allow_input_downcast,
                  .profile = o->profile};
    fn->name = o->name ? tjC_heap_strdup(ctx, o->name) : NULL;
    fn->inputs = tjC_malloc(ctx, sizeof *fn->inputs * (size_t)(nin + 1));
    fn->outs = tjC_malloc(ctx, sizeof *fn->outs * (size_t)(nout + o->nupdates + 1));
    fn->upd_vars = tjC_malloc(ctx, sizeof *fn->upd_vars * (size_t)(o->nupdates + 1));
    if ((o->name && !fn->name) || !fn->inputs || !fn->outs || !fn->upd_vars) {
        tjC_error(ctx, TJ_ERR_NOMEM, "out of memory creating a function");
        goto fail;
    }
    if (nin)
        memcpy(fn->inputs, inputs, sizeof *fn->inputs * (size_t)nin);
    if (nout) /* a function may have only updates, as theano.function([x], [], updates=...) */
        memcpy(fn->outs, outputs, sizeof *fn->outs * (size_t)nout);
    for (int i = 0; i < o->nupdates; i++) {
        fn->upd_vars[i] = o->updates[i].var;
        fn->outs[nout + i] = o->updates[i].new_value;
    }
    if (apply_givens(fn, o) != TJ_OK || add_default_updates(fn, o) != TJ_OK ||
        check_inputs_used(fn, o) != TJ_OK || compile(fn, o) != TJ_OK)
        goto fail;
    fn->cfg.excluding = fn->cfg.including = NULL; /* borrowed: gone after tj_function */
    fn->cfg.nexcluding = fn->cfg.nincluding = 0;
    ctx->fns[ctx->nfns++] = fn;
    return fn;
fail:
    fn_destroy(fn);
    return NULL;
}

/* ---- looking inside ----
 * The strings below are the caller's, freed with free() (tensorjit.h): they stay on the C
 * library, not on the context's allocator. */

int tj_fn_nin(const tj_fn *fn) { return fn_arg(fn, "tj_fn_nin") ? fn->nin : -1; }
int tj_fn_nout(const tj_fn *fn) { return fn_arg(fn, "tj_fn_nout") ? fn->nout : -1; }
bool tj_fn_jitted(const tj_fn *fn)
{
    return fn_arg(fn, "tj_fn_jitted") && fn->jitted && fn->mode != TJ_MODE_FAST_COMPILE;
}

const char *tj_fn_jit_reason(const tj_fn *fn)
{
    return fn_arg(fn, "tj_fn_jit_reason") ? fn->jit_reason : NULL;
}

static char *no_code_text(tj_fn *fn, const char *what)
{
    char buf[sizeof fn->jit_reason + 256];
    if (fn->jitted)
        snprintf(buf, sizeof buf, "; function '%s' has no %s: it has no fused kernels (only "
                 "BLAS and view steps)\n", tjF_name(fn), what);
    else
        snprintf(buf, sizeof buf, "; function '%s' has no %s: it runs in the reference executor "
                 "(%s)\n", tjF_name(fn), what, fn->jit_reason);
    return strdup(buf);
}

char *tj_fn_ir(tj_fn *fn, bool optimized)
{
    if (!fn_arg(fn, "tj_fn_ir"))
        return NULL;
    if (!fn->code)
        return no_code_text(fn, "LLVM IR");
    const char *t = tjJ_module_ir(tjF_code_module(fn->code), optimized);
    return t ? strdup(t) : NULL;
}

char *tj_fn_asm(tj_fn *fn)
{
    if (!fn_arg(fn, "tj_fn_asm"))
        return NULL;
    if (!fn->code)
        return no_code_text(fn, "native code");
    return tjJ_module_asm(tjF_code_module(fn->code));
}

char *tj_fn_rewrites(tj_fn *fn)
{
    return fn_arg(fn, "tj_fn_rewrites") ? tjR_log_text(&fn->rewrites) : NULL;
}

int tj_fn_rewrite_count(const tj_fn *fn, const char *name)
{
    return fn_arg(fn, "tj_fn_rewrite_count") ? tjR_log_count(&fn->rewrites, name) : -1;
}

char *tj_fn_graph(tj_fn *fn)
{
    if (!fn_arg(fn, "tj_fn_graph"))
        return NULL;
    /* the optimized graph (debugprint style), then the executed steps */
    char *graph = tjS_debugprint(fn->plan, fn->outs, fn->nout, fn->upd_vars, fn->nupd);
    char *steps = fn->plan ? tjS_plan_text(fn->plan) : no_code_text(fn, "compiled plan");
    char *text = NULL;
    if (graph && steps && asprintf(&text, "%s\nSteps:\n%s", graph, steps) < 0)
        text = NULL;
    free(graph);
    free(steps);
    if (!text)
        tjC_error(fn->ctx, TJ_ERR_NOMEM, "tj_fn_graph: out of memory rendering function '%s'",
                  tjF_name(fn));
    return text;
}

tj_status tj_fn_profile_print(tj_fn *fn, FILE *out)
{
    if (!tjF_valid(fn) || !out) {
        tjA_error(TJ_ERR_INVALID, "tj_fn_profile_print: %s is NULL or invalid",
                  out ? "the function" : "the FILE");
        return TJ_ERR_INVALID;
    }
    if (!fn->profile)
        return tjC_error(fn->ctx, TJ_ERR_INVALID,
                         "tj_fn_profile_print: function '%s' was compiled without profile = true",
                         tjF_name(fn));
    fprintf(out, "Function profile: '%s'\n  %llu calls, %.3f ms in tj_call (%.3f us per call)\n",
            tjF_name(fn), (unsigned long long)fn->calls, fn->call_ns / 1e6,
            fn->calls ? fn->call_ns / 1e3 / (double)fn->calls : 0.0);
    if (!fn->prof) {
        fprintf(out, "  (no step breakdown: the function runs in the reference executor)\n");
        return TJ_OK;
    }
    double total = 0;
    for (int i = 0; i < fn->plan->nsteps; i++)
        total += fn->prof[i].ns;
    fprintf(out, "  %6s %10s %8s %12s %12s  %s\n", "step", "time(ms)", "%", "calls", "bytes",
            "what");
    char buf[160];
    static const char *kinds[] = {"kernel", "blas", "view", "shape", "host", "op"};
    for (int i = 0; i < fn->plan->nsteps; i++) {
        const tjS_prof *p = &fn->prof[i];
        const tjS_step *st = &fn->plan->steps[i];
        fprintf(out, "  %6d %10.3f %7.1f%% %12llu %12llu  %s %s\n", i, p->ns / 1e6,
                total > 0 ? 100.0 * p->ns / total : 0.0, (unsigned long long)p->calls,
                (unsigned long long)p->bytes, kinds[st->kind],
                tjG_describe(st->root, buf, sizeof buf));
    }
    return TJ_OK;
}
