/* libFuzzer target (b): a byte-driven sequence of C API calls. Each input is a little program:
 * create variables (fuzzed dtype, rank, broadcastable axes), shared variables and constants,
 * apply builders with fuzzed operands and arguments, take gradients, compile (FAST_COMPILE mostly,
 * FAST_RUN sometimes), call with fuzzed inputs, set shared values, free functions, arrays and even
 * the context in a fuzzed order. Any error status is fine; a crash, an abort, a sanitizer report
 * or a leak is a finding.
 *
 *   make fuzz                                 every target for FUZZ_SECONDS (docs/RELIABILITY.md)
 *   build/fuzz/fuzz-api-replay FILE_OR_DIR... replay inputs with the normal compiler (ctest) */
#include "fuzz.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* a context whose memory is capped (fuzz_budget.c) */
static tj_ctx *budget_ctx(void)
{
    tj_ctx *ctx = tj_ctx_new_with_allocator(fz_budget());
    if (ctx)
        tj_ctx_set_log(ctx, fz_quiet_log, NULL);
    return ctx;
}

enum { MAX_VARS = 24, MAX_LEAVES = 8, MAX_FNS = 4, MAX_ARRAYS = 8, MAX_STEPS = 64 };
enum { MAX_COMPILES = 4, MAX_JIT_COMPILES = 1, MAXLEN = 4 };

typedef struct {
    tj_ctx *ctx;
    tj_var *vars[MAX_VARS];
    int nvars;
    tj_var *leaves[MAX_LEAVES]; /* inputs a function may take */
    int nleaves;
    tj_var *shared[MAX_LEAVES];
    int nshared;
    tj_fn *fns[MAX_FNS];
    int nfns;
    tj_array *arrays[MAX_ARRAYS]; /* outlive the context */
    int narrays;
    int compiles, jit_compiles;
    unsigned replaced;
} state;

static void add_var(state *s, tj_var *v)
{
    if (!v)
        return;
    if (s->nvars < MAX_VARS)
        s->vars[s->nvars++] = v;
    else
        s->vars[s->replaced++ % MAX_VARS] = v; /* the oldest goes */
}

static void keep_array(state *s, tj_array *a)
{
    if (!a)
        return;
    if (s->narrays == MAX_ARRAYS) {
        tj_array_unref(s->arrays[0]);
        for (int i = 1; i < MAX_ARRAYS; i++)
            s->arrays[i - 1] = s->arrays[i];
        s->narrays--;
    }
    s->arrays[s->narrays++] = a;
}

/* Drops the context; variables and functions go with it, arrays stay valid. */
static void drop_ctx(state *s)
{
    tj_ctx_free(s->ctx);
    s->ctx = NULL;
    s->nvars = s->nleaves = s->nshared = s->nfns = 0;
}

static void new_variable(fz_in *in, state *s)
{
    tj_dtype dt = fz_dtype(in);
    int nd = (int)fz_pick(in, 4);
    bool bc[TJ_MAX_NDIM];
    for (int i = 0; i < nd; i++)
        bc[i] = fz_u8(in) < 40;
    const char *names[] = {NULL, "x", "y", ""};
    tj_var *v;
    switch (fz_pick(in, 8)) {
    case 0: v = tj_scalar(s->ctx, dt, names[fz_pick(in, 4)]); break;
    case 1: v = tj_vector(s->ctx, dt, names[fz_pick(in, 4)]); break;
    case 2: v = tj_matrix(s->ctx, dt, names[fz_pick(in, 4)]); break;
    case 3: { /* bad arguments too */
        tj_dtype bad_dt = fz_u8(in) == 255 ? (tj_dtype)99 : dt;
        int bad_nd = fz_u8(in) == 255 ? TJ_MAX_NDIM + 1 : nd;
        v = tj_tensor(s->ctx, bad_dt, bad_nd, fz_bool(in) ? bc : NULL, "t");
        break;
    }
    default: v = tj_tensor(s->ctx, dt, nd, bc, names[fz_pick(in, 4)]); break;
    }
    if (v && s->nleaves < MAX_LEAVES)
        s->leaves[s->nleaves++] = v;
    add_var(s, v);
}

static void new_shared_or_constant(fz_in *in, state *s)
{
    tj_dtype dt = fz_dtype(in);
    tj_array *a = fz_array(in, dt, (int)fz_pick(in, 3), MAXLEN);
    if (!a)
        return;
    if (fz_bool(in)) {
        add_var(s, tj_constant(s->ctx, a));
    } else {
        tj_var *v = tj_shared(s->ctx, a, "w", fz_bool(in));
        if (v && s->nshared < MAX_LEAVES)
            s->shared[s->nshared++] = v;
        add_var(s, v);
    }
    tj_array_unref(a);
}

static tj_var *pick_var(fz_in *in, state *s) { return s->vars[fz_pick(in, (unsigned)s->nvars)]; }

static void take_grad(fz_in *in, state *s)
{
    tj_var *cost = pick_var(in, s);
    if (fz_bool(in)) /* make it a float scalar, as tj_grad wants (or leave it wrong) */
        cost = tj_sum(tj_cast(cost, fz_bool(in) ? TJ_FLOAT64 : TJ_FLOAT32), NULL, 0, false);
    tj_var *wrt[3], *grads[3];
    int n = 1 + (int)fz_pick(in, 3);
    for (int i = 0; i < n; i++)
        wrt[i] = pick_var(in, s);
    tj_grad_opts opts = TJ_GRAD_OPTS_INIT;
    opts.disconnected_inputs = (tj_disconnected)fz_pick(in, 3);
    if (tj_grad_v2(cost, wrt, n, grads, &opts) == TJ_OK)
        for (int i = 0; i < n; i++)
            add_var(s, grads[i]);
}

static void compile(fz_in *in, state *s)
{
    if (s->compiles >= MAX_COMPILES)
        return;
    tj_var *ins[MAX_LEAVES], *outs[3];
    int nin = 0, nout = 1 + (int)fz_pick(in, 3);
    for (int i = 0; i < s->nleaves; i++)
        if (fz_u8(in) < 200)
            ins[nin++] = s->leaves[i];
    for (int i = 0; i < nout; i++)
        outs[i] = pick_var(in, s);
    tj_function_opts o = TJ_FUNCTION_OPTS_INIT;
    o.mode = TJ_MODE_FAST_COMPILE;
    if (fz_u8(in) >= 224 && s->jit_compiles < MAX_JIT_COMPILES) { /* LLVM is slow: rarely */
        o.mode = fz_bool(in) ? TJ_MODE_FAST_RUN : TJ_MODE_DEBUG;
        s->jit_compiles++;
    }
    o.on_unused_input = (tj_unused_input)fz_pick(in, 3);
    o.allow_input_downcast = (int)fz_pick(in, 3) - 1;
    o.no_default_updates = fz_bool(in);
    tj_update upd;
    if (s->nshared && fz_bool(in)) { /* w = w + something of w's type, or a mistyped update */
        upd.var = s->shared[fz_pick(in, (unsigned)s->nshared)];
        upd.new_value = fz_bool(in) ? pick_var(in, s)
                                    : tj_cast(tj_add(upd.var, pick_var(in, s)), tj_var_dtype(upd.var));
        o.updates = &upd;
        o.nupdates = 1;
    }
    s->compiles++;
    tj_fn *fn = tj_function(s->ctx, ins, nin, outs, fz_u8(in) == 255 ? 0 : nout, &o);
    if (!fn)
        return;
    if (s->nfns == MAX_FNS)
        tj_fn_free(s->fns[--s->nfns]);
    s->fns[s->nfns++] = fn;
}

static void call(fz_in *in, state *s)
{
    if (!s->nfns)
        return;
    tj_fn *fn = s->fns[fz_pick(in, (unsigned)s->nfns)];
    int nin = tj_fn_nin(fn), nout = tj_fn_nout(fn);
    tj_array *ins[MAX_LEAVES] = {0}, *outs[3] = {0};
    for (int i = 0; i < nin && i < MAX_LEAVES; i++) {
        /* inputs: an earlier array, or a fresh one of a fuzzed dtype and rank */
        if (s->narrays && fz_u8(in) < 64)
            ins[i] = tj_array_ref(s->arrays[fz_pick(in, (unsigned)s->narrays)]);
        else {
            tj_dtype dt = fz_dtype(in);
            ins[i] = fz_array(in, dt, (int)fz_pick(in, 4), MAXLEN);
        }
    }
    int gin = fz_u8(in) == 255 ? nin - 1 : nin; /* a wrong count now and then */
    if (tj_call_n(fn, ins, gin, outs, nout) == TJ_OK)
        for (int i = 0; i < nout; i++)
            keep_array(s, outs[i]);
    for (int i = 0; i < nin && i < MAX_LEAVES; i++)
        tj_array_unref(ins[i]);
}

static void set_shared(fz_in *in, state *s)
{
    if (!s->nshared)
        return;
    tj_var *w = s->shared[fz_pick(in, (unsigned)s->nshared)];
    if (fz_u8(in) < 32) {
        keep_array(s, tj_shared_get(w, fz_bool(in)));
        return;
    }
    int nd = fz_bool(in) ? tj_var_ndim(w) : (int)fz_pick(in, 4);
    tj_dtype dt = fz_bool(in) ? tj_var_dtype(w) : fz_dtype(in);
    tj_array *a = fz_array(in, dt, nd, MAXLEN);
    tj_shared_set(w, a, fz_bool(in));
    tj_array_unref(a);
}

/* the array API on arrays the library handed out */
static void touch_array(fz_in *in, state *s)
{
    if (!s->narrays)
        return;
    tj_array *a = s->arrays[fz_pick(in, (unsigned)s->narrays)];
    int64_t index[TJ_MAX_NDIM];
    for (int i = 0; i < TJ_MAX_NDIM; i++)
        index[i] = (int64_t)fz_pick(in, 7) - 2;
    switch (fz_pick(in, 4)) {
    case 0: keep_array(s, tj_array_copy(a)); break;
    case 1: (void)tj_array_get(a, index); break;
    case 2: tj_array_set(a, index, fz_value(in)); break;
    default: /* numpy prints every element when no axis is longer than 6: a 21-d array of 10^7
              * elements was 2.5 s of text natively, 30 s in the fuzz build, for no new path */
        if (tj_array_size(a) <= 1 << 16)
            free(tj_array_to_string(a));
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_in in = {.p = data, .n = size};
    state s = {0};
    if (!(s.ctx = budget_ctx()))
        return 0;
    for (int step = 0; step < MAX_STEPS && fz_more(&in); step++) {
        if (!s.ctx && !(s.ctx = budget_ctx()))
            break;
        unsigned what = fz_pick(&in, 16);
        if (s.nvars == 0 && what > 1)
            what = 0;
        switch (what) {
        case 0: new_variable(&in, &s); break;
        case 1: new_shared_or_constant(&in, &s); break;
        case 2: case 3: case 4: case 5: {
            fz_accuracy acc;
            add_var(&s, fz_apply(&in, s.ctx, s.vars, NULL, s.nvars, &acc, NULL));
            break;
        }
        case 6: take_grad(&in, &s); break;
        case 7: case 8: compile(&in, &s); break;
        case 9: case 10: call(&in, &s); break;
        case 11: set_shared(&in, &s); break;
        case 12: if (s.nfns) { /* free a function in the middle */
                int k = (int)fz_pick(&in, (unsigned)s.nfns);
                tj_fn_free(s.fns[k]);
                s.fns[k] = s.fns[--s.nfns];
            }
            break;
        case 13: touch_array(&in, &s); break;
        case 14: if (s.narrays) { /* drop an array the library handed out */
                int k = (int)fz_pick(&in, (unsigned)s.narrays);
                tj_array_unref(s.arrays[k]);
                s.arrays[k] = s.arrays[--s.narrays];
            }
            break;
        default: if (fz_u8(&in) < 16) drop_ctx(&s); /* everything at once, arrays outstanding */
            break;
        }
        tj_clear_error(s.ctx);
        tj_clear_error(NULL);
    }
    /* the rest in a fuzzed order: some functions first, or the context with them */
    while (s.nfns && fz_bool(&in))
        tj_fn_free(s.fns[--s.nfns]);
    if (fz_bool(&in)) {
        for (int i = 0; i < s.narrays; i++)
            tj_array_unref(s.arrays[i]);
        drop_ctx(&s);
    } else {
        drop_ctx(&s);
        for (int i = 0; i < s.narrays; i++)
            tj_array_unref(s.arrays[i]);
    }
    return 0;
}
