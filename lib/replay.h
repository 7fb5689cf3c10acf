/* Replaying a plan's launches (issue 6). A call whose inputs, shared values and output arrays
 * have the layouts of an earlier call (its signature) computes the same shapes, strides, in-place
 * and blocking decisions again: a recording of that earlier call's launches (kernel function,
 * coalesced shape and strides, BLAS steps, reductions worked out) replays them with only the
 * pointers of inputs, shared values and results filled in again (lib/function_replay.c).
 *
 * The recorder (tjS_rec) watches one ordinary run of the plan (tjS_mem.rec): the launches in the
 * order they ran, and each slot's array right after the step that made it. It keeps a reference
 * to every buffer the run allocates, so no buffer serves two slots during the recording: those
 * buffers become the replay's own intermediates. Anything a launch cannot say about later calls
 * (a contiguous copy made per call, a BLAS operand it would copy) refuses the recording. */
#ifndef TJ_REPLAY_H
#define TJ_REPLAY_H

#include "function.h"

typedef enum {
    TJS_R_KERNEL,  /* an elementwise kernel */
    TJS_R_REDUCE,  /* a reduction kernel */
    TJS_R_BLAS,    /* gemm / gemv / ger */
    TJS_R_DOT,     /* numpy dot */
    TJS_R_VDOT,    /* numpy dot of two float vectors: one BLAS call as recorded */
    TJS_R_CHAIN_B, /* a blocked chain's A and B (tjS_chain) */
    TJS_R_CHAIN_C, /* its C from the blocked product */
} tjS_rkind;

/* A blocked chain's operands as BLAS takes them (runtime_chain.c's blocking, recorded) */
typedef struct {
    tj_dtype dtype;
    int64_t ld, cols, incx;
    int64_t n, rb; /* rows, rows per block */
} tjS_chain_args;

/* One recorded launch of plan step `step`. */
typedef struct {
    tjS_rkind kind;
    int step;
    bool blocked;   /* CHAIN_B: X^T r by blocks into the product C reads */
    int cnd;        /* KERNEL, CHAIN_B: B's launch without its pointers */
    int64_t rows;   /* 0: an empty space, nothing to launch */
    int64_t cshape[TJ_MAX_NDIM];
    int64_t *packed; /* (nin + nout) * cnd strides (the recorder's allocation) */
    tjS_reduce red; /* REDUCE (red.packed: the recorder's allocation) */
    tjS_chain_args chain; /* CHAIN_B */
    int64_t k, inca, incb; /* VDOT */
    tj_array **opnd; /* KERNEL, REDUCE, CHAIN_B: the operands' arrays, inputs then outputs
                        (tjS_replay_bind) */
} tjS_rop;

/* A slot's array as the recording saw it right after its step. */
typedef struct {
    tj_array *arr; /* NULL: not made (yet) */
    bool held;     /* the recorder holds a reference to arr (a buffer the run allocated) */
    tj_dtype dtype;
    int ndim;
    int64_t size;
    int64_t shape[TJ_MAX_NDIM], strides[TJ_MAX_NDIM];
    char *data;
    int64_t value; /* STEP_SHAPE: the length */
} tjS_snap;

typedef struct tjS_rec {
    tj_ctx *ctx;
    const tjS_plan *plan;
    bool refused; /* this run's launches cannot serve later calls */
    bool failed;  /* out of memory recording: a later call may try again */
    tjS_snap *snap; /* per slot */
    tjS_rop *ops;
    int nops, cap;
} tjS_rec;

/* A recorder for one run of plan (NULL when out of memory: the run is not recorded). */
TJ_HIDDEN tjS_rec *tjS_rec_new(tj_ctx *ctx, const tjS_plan *plan);
/* Gives the buffers the recorder still holds to pool (NULL: unreferenced) and frees the launches
 * nobody took (rec->ops NULL). */
TJ_HIDDEN void tjS_rec_free(tjS_rec *rec, tjS_pool *pool);
/* The hooks of a recorded run (lib/runtime*.c call them when tjS_mem.rec is set). */
TJ_HIDDEN void tjS_rec_refuse(tjS_rec *rec);
TJ_HIDDEN void tjS_rec_begin(tjS_rec *rec, const tjS_plan *plan, tj_array *const *slots);
TJ_HIDDEN void tjS_rec_step(tjS_rec *rec, const tjS_plan *plan, int i, tj_array *const *slots,
                            const tjS_mem *mem);
TJ_HIDDEN void tjS_rec_kernel(tjS_rec *rec, const tjS_step *st, const tjS_launch *L);
TJ_HIDDEN void tjS_rec_reduce(tjS_rec *rec, const tjS_step *st, const tjS_reduce *R);
TJ_HIDDEN void tjS_rec_blas(tjS_rec *rec, const tjS_step *st, tj_array *const *in);
TJ_HIDDEN void tjS_rec_dot(tjS_rec *rec, const tjS_step *st, const tj_array *a,
                           const tj_array *b);
TJ_HIDDEN void tjS_rec_chain_b(tjS_rec *rec, const tjS_step *B, const tjS_launch *L,
                               bool blocked, const tjS_chain_args *args);
TJ_HIDDEN void tjS_rec_chain_c(tjS_rec *rec, const tjS_step *C);
/* Frees n recorded launches (from ctx's allocator). */
TJ_HIDDEN void tjS_rops_free(tj_ctx *ctx, tjS_rop *ops, int n);

/* Points each kernel launch at its operands' arrays in slots (false: out of memory). */
TJ_HIDDEN bool tjS_replay_bind(tj_ctx *ctx, const tjS_plan *plan, tjS_rop *ops, int nops,
                               tj_array *const *slots);
/* Runs recorded launches over slots whose arrays have the recorded layouts (their data pointers
 * filled for this call; bound by tjS_replay_bind); pool lends a blocked chain its product
 * buffers. */
TJ_HIDDEN tj_status tjS_replay_run(tj_ctx *ctx, const tjS_plan *plan, tjK_fn const *fns,
                                   const tjS_rop *ops, int nops, tj_array *const *slots,
                                   tjS_pool *pool);

/* The step executors' halves a replay runs (the decisions already taken: each result's buffer
 * is its slot's array, holding Z's buffer when the recording ran the step in place). */
TJ_HIDDEN void tjS_fill_broadcast(tj_array *out, const tj_array *z);
TJ_HIDDEN tj_status tjS_blas_args(tj_ctx *ctx, const tjS_step *st, tj_array *const *in,
                                  int64_t *shape, double *alpha, double *beta);
TJ_HIDDEN tj_status tjS_blas_replay(tj_ctx *ctx, const tjS_step *st, tj_array *const *slots);
TJ_HIDDEN tj_status tjS_chain_replay_b(tj_ctx *ctx, const tjS_plan *plan, int b,
                                       tj_array *const *slots, tjS_launch *L, bool blocked,
                                       const tjS_chain_args *args, tjS_pool *pool,
                                       tj_array **product);
TJ_HIDDEN tj_status tjS_chain_replay_c(tj_ctx *ctx, const tjS_step *C, tj_array *const *slots,
                                       const tj_array *product);

#endif
