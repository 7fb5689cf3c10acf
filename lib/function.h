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
} tjS_plan;

/* Builds the plan computing `outs` (function outputs then update values). */
TJ_HIDDEN tj_status tjS_plan_build(tj_ctx *ctx, tj_var *const *outs, int nouts, tjS_plan **out);
TJ_HIDDEN void tjS_plan_free(tjS_plan *plan);
/* The slot holding node v, or -1. */
TJ_HIDDEN int tjS_slot_of(const tjS_plan *plan, const tj_var *v);
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
/* A text rendering of the plan's steps (for tj_fn_graph). Caller frees. */
TJ_HIDDEN char *tjS_plan_text(const tjS_plan *plan);

/* ---- code cache (per context): compiled modules by structural hash of the kernels ---- */
typedef struct tjF_code tjF_code; /* a refcounted compiled module */
TJ_HIDDEN tj_status tjF_code_get(tj_ctx *ctx, const tjS_plan *plan, tjF_code **out);
TJ_HIDDEN void tjF_code_release(tj_ctx *ctx, tjF_code *code);
TJ_HIDDEN tjK_fn const *tjF_code_fns(const tjF_code *code);
TJ_HIDDEN struct tjJ_module *tjF_code_module(const tjF_code *code);
TJ_HIDDEN void tjF_cache_free(tj_ctx *ctx);

/* Frees every function of ctx, then the code cache and the JIT engine (context teardown). */
TJ_HIDDEN void tjF_free_all(tj_ctx *ctx);

#endif
