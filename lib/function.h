/* Compiled functions: the plan (step list over value slots) and the function object. */
#ifndef TJ_FUNCTION_H
#define TJ_FUNCTION_H

#include "internal.h"
#include "kernel.h"

typedef enum {
    STEP_KERNEL, /* a fused elementwise group, or a reduction absorbing one */
    STEP_DOT,    /* BLAS */
    STEP_VIEW,   /* dimshuffle: a strided view, no copy */
    STEP_SHAPE,  /* shape_of */
    STEP_HOST,   /* a node run by the reference executor's code (tjI_eval_node): random draws,
                    gradient markers; the same C code in both executors */
    STEP_SHAPE_OP, /* reshape, join, split, alloc, arange, slice, index, take, set/inc_subtensor,
                      matmul (lib/runtime_steps.c): the reference executor's code, views allowed */
} tjS_step_kind;

typedef struct {
    tjS_step_kind kind;
    tj_var *root;        /* the node whose value the step makes (for messages, shapes) */
    int kernel;          /* STEP_KERNEL: index into the plan's kernels */
    int nin, nout;
    int *in_slots;       /* operand value slots */
    int *out_slots;      /* slots the step fills (outputs of a kernel) */
    tj_var **out_nodes;  /* the node of each output slot */
    int iter_ndim;       /* STEP_KERNEL: rank of the iteration space */
    uint32_t iter_bcast; /* its static broadcast pattern */
    uint32_t *in_bcast;  /* each operand's static broadcast pattern */
    tj_op reduce;        /* TJ_OP_SUM / TJ_OP_MEAN for reductions, else TJ_OP_INPUT */
    uint32_t red_mask;
    bool keepdims;
    /* in place (lib/opt/inplace.c; NULL: none): output o may take the buffer of input
     * inplace[o] (-1: no), when at run time exactly inplace_refs[o] references hold it (the
     * slot's; and the shared variable's for an update written into its variable) */
    int *inplace;
    int *inplace_refs;
} tjS_step;

typedef struct tjS_plan {
    int nslots;
    tj_var **slot_node;  /* which node each slot holds */
    int nleaves;
    int *leaf_slots;     /* INPUT / CONSTANT / SHARED slots filled at call start */
    int nsteps;
    tjS_step *steps;
    int nkernels;
    tjK_kernel **kernels;
    int *last_use;       /* per slot: index of the last step reading it (-1 none) */
    /* requested nodes the scheduler rewrote (the softmax family, sched_expand.c): the original
     * node and the slot holding its value (tjS_slot_of finds them) */
    int nalias;
    tj_var **alias_node;
    int *alias_slot;
} tjS_plan;

/* Which fusion decisions the scheduler takes (the optimizer's "fusion" rules; NULL: all). */
typedef struct {
    bool elemwise, sibling, scalar_inline, reduce;
} tjS_fuse_opts;
/* Builds the plan computing `outs` (function outputs then update values). */
TJ_HIDDEN tj_status tjS_plan_build(tj_ctx *ctx, tj_var *const *outs, int nouts,
                                   const tjS_fuse_opts *fuse, tjS_plan **out);
/* Fusion (lib/sched_fuse.c) over topo (n nodes; pos maps node ids to topo indices): group[k] is
 * the topo index of the last member of k's kernel or -1, needed[k] whether k needs a slot,
 * inlined[k] whether k's kernels compute it from scalars; order[0..*norder) the steps' units (a
 * group's last member, or a node of its own) in a valid execution order. */
TJ_HIDDEN tj_status tjS_fuse(tj_ctx *ctx, tj_var **topo, size_t n, const int *pos,
                             const bool *required, const tjS_fuse_opts *opts, int *group,
                             bool *needed, bool *inlined, int *order, int *norder);
TJ_HIDDEN void tjS_plan_free(tjS_plan *plan);
/* The slot holding node v, or -1. */
TJ_HIDDEN int tjS_slot_of(const tjS_plan *plan, const tj_var *v);
/* new_outs[i] = outs[i] with the softmax family rewritten into ops kernels compute
 * (lib/sched_expand.c); new_outs[i] == outs[i] where nothing changed. */
TJ_HIDDEN tj_status tjS_expand(tj_ctx *ctx, tj_var *const *outs, int nouts, tj_var **new_outs);
/* Merges adjacent axes where every operand (strides [nops][TJ_MAX_NDIM], in elements) is
 * contiguous across them and drops length-1 axes; returns the new rank (>= 1). */
TJ_HIDDEN int tjS_coalesce(int ndim, int64_t *shape, int nops, int64_t *strides);
/* Runs the reduction kernel of step st (lib/runtime_reduce.c): shape is the iteration shape,
 * ptrs/strides hold the inputs' base pointers and element strides ([nin][TJ_MAX_NDIM]); the
 * result goes to the step's output slot. */
TJ_HIDDEN tj_status tjS_run_reduce(tj_ctx *ctx, const tjS_step *st, tjK_fn fn,
                                   const int64_t *shape, char **ptrs, int64_t *strides,
                                   tj_array **slots);
/* Runs a STEP_SHAPE_OP step (lib/runtime_steps.c). */
TJ_HIDDEN tj_status tjS_run_shape_op(tj_ctx *ctx, const tjS_step *st, tj_array **slots);
/* Runs a gemm/gemv/ger step (lib/runtime_blas.c); the result takes over Z's buffer when the plan
 * allows it (st->inplace) and nothing else holds it. */
TJ_HIDDEN tj_status tjS_run_blas(tj_ctx *ctx, const tjS_step *st, tj_array **slots);
/* Whether array a may become the result of shape/dtype (in place): exactly `refs` references, its
 * own C-contiguous memory (not a view, not a borrowed buffer), the same dtype and shape. */
TJ_HIDDEN bool tjS_can_take(const tj_array *a, int refs, tj_dtype dtype, int ndim,
                            const int64_t *shape);
/* Per-step profile counters (tj_function_opts.profile). */
typedef struct {
    uint64_t calls;
    double ns;      /* total time in the step */
    uint64_t bytes; /* bytes of results it produced */
} tjS_prof;

/* Runs the plan: slots[] has the leaf values filled (new references); on return the slots of
 * the requested nodes hold their values. fns[k] is the compiled entry of kernel k. prof (NULL
 * or one entry per step) accumulates timings. */
TJ_HIDDEN tj_status tjS_run(tj_ctx *ctx, const tjS_plan *plan, tjK_fn const *fns,
                            tj_array **slots, const bool *keep, tjS_prof *prof);
/* The optimized graph, Theano-debugprint style, with fused kernels shown as their inner
 * expressions (lib/print_graph.c); plan NULL prints the nodes only. outs: nout outputs then nupd
 * update values of upd_vars. Caller frees. */
TJ_HIDDEN char *tjS_debugprint(const tjS_plan *plan, tj_var *const *outs, int nout,
                               tj_var *const *upd_vars, int nupd);
/* A text rendering of the plan's steps (for tj_fn_graph). Caller frees. */
TJ_HIDDEN char *tjS_plan_text(const tjS_plan *plan);

/* ---- code cache (per context): compiled modules by structural hash of the kernels ---- */
typedef struct tjF_code tjF_code; /* a refcounted compiled module */
TJ_HIDDEN tj_status tjF_code_get(tj_ctx *ctx, const tjS_plan *plan, tjF_code **out);
TJ_HIDDEN void tjF_code_release(tj_ctx *ctx, tjF_code *code);
TJ_HIDDEN tjK_fn const *tjF_code_fns(const tjF_code *code);
TJ_HIDDEN struct tjJ_module *tjF_code_module(const tjF_code *code);
TJ_HIDDEN void tjF_cache_free(tj_ctx *ctx);
/* True when the environment forces every function into the reference executor (TJ_JIT=off). */
TJ_HIDDEN bool tjF_jit_off(void);

/* Frees every function of ctx, then the code cache and the JIT engine (context teardown). */
TJ_HIDDEN void tjF_free_all(tj_ctx *ctx);

#endif
