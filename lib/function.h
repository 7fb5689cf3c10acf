/* Compiled functions: the plan (step list over value slots) and the function object. */
#ifndef TJ_FUNCTION_H
#define TJ_FUNCTION_H

#include "internal.h"
#include "kernel.h"
#include "opt/opt.h"

#include <string.h>

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
    /* blocked chains (lib/sched_chain.c): step_chain[i] is the chain step i belongs to, or -1
     * (NULL: no chains) */
    int nchains;
    struct tjS_chain *chains;
    int *step_chain;
} tjS_plan;

/* A matrix X that feeds two products around an elementwise step, as in a logistic regression's
 * gradient: A: v = alpha X x (gemv), B: an elementwise kernel over the rows of X reading v, C:
 * beta Z + alpha' X^T r (gemv, trans) with r one of B's outputs. Run as one pass over row
 * blocks of X (lib/runtime_chain.c), each block is used by both products while in cache: X is
 * read from memory once instead of twice. */
typedef struct tjS_chain {
    int a, b, c;   /* step indices, a < b < c */
} tjS_chain;
#define TJS_MAX_CHAINS 4
struct tjS_mem;
struct tjS_pool;
/* Finds the chains of a finished plan (after in-place planning) and extends the life of A's
 * operands to step B, where A runs. */
TJ_HIDDEN tj_status tjS_plan_chains(tj_ctx *ctx, tjS_plan *plan);
/* Runs step i of a chain: A is deferred to B; B runs A, B and the blocks of C's product into
 * *product (a new array; left NULL when the operands do not allow blocking, and then A and B run
 * as plain steps); C adds the product to its beta Z term, or runs plainly without it. */
/* The rows of X in one block of the pass (a quarter of the core's L2 of them, at least 16). */
TJ_HIDDEN int64_t tjS_chain_block_rows(int64_t cols, tj_dtype dtype);
TJ_HIDDEN tj_status tjS_run_chain_step(tj_ctx *ctx, const tjS_plan *plan, tjK_fn const *fns,
                                       tj_array **slots, int i, const struct tjS_mem *mem,
                                       tj_array **product);

/* Which fusion decisions the scheduler takes (the optimizer's "fusion" rules; NULL: all). */
typedef struct {
    bool elemwise, sibling, scalar_inline, reduce;
} tjS_fuse_opts;
/* Builds the plan computing `outs` (function outputs then update values). */
TJ_HIDDEN tj_status tjS_plan_build(tj_ctx *ctx, tj_var *const *outs, int nouts,
                                   const tjS_fuse_opts *fuse, tjS_plan **out);
/* Fusion (lib/sched_fuse.c) over topo (n nodes, the latest tjG_toposort): group[k] is
 * the topo index of the last member of k's kernel or -1, needed[k] whether k needs a slot,
 * inlined[k] whether k's kernels compute it from scalars; order[0..*norder) the steps' units (a
 * group's last member, or a node of its own) in a valid execution order. */
TJ_HIDDEN tj_status tjS_fuse(tj_ctx *ctx, tj_var **topo, size_t n, const bool *required,
                             const tjS_fuse_opts *opts, int *group, bool *needed, bool *inlined,
                             int *order, int *norder);
/* Frees a plan and its kernels through the allocator of ctx, the context that built it. */
TJ_HIDDEN void tjS_plan_free(tj_ctx *ctx, tjS_plan *plan);
/* The slot holding node v, or -1. */
TJ_HIDDEN int tjS_slot_of(const tjS_plan *plan, const tj_var *v);
/* new_outs[i] = outs[i] with the softmax family rewritten into ops kernels compute
 * (lib/sched_expand.c); new_outs[i] == outs[i] where nothing changed. */
TJ_HIDDEN tj_status tjS_expand(tj_ctx *ctx, tj_var *const *outs, int nouts, tj_var **new_outs);
/* Runs the reduction kernel of step st (lib/runtime_reduce.c): shape is the iteration shape,
 * ptrs/strides hold the inputs' base pointers and element strides ([nin][TJ_MAX_NDIM]); the
 * result goes to the step's output slot. */
TJ_HIDDEN tj_status tjS_run_reduce(tj_ctx *ctx, const tjS_step *st, tjK_fn fn,
                                   const int64_t *shape, char **ptrs, int64_t *strides,
                                   tj_array **slots, const struct tjS_mem *mem);
/* A reduction with everything that depends on shapes and strides worked out, not on pointers:
 * the output's shape, the op's identity, the axes ordered and coalesced, how the work is cut
 * (tjS_run_reduce in two halves, so a replay (lib/replay.h) runs the second alone). */
typedef struct {
    int ond;
    int64_t oshape[TJ_MAX_NDIM];
    int64_t count; /* elements folded into each result */
    unsigned char id[8];
    int cnd;       /* 0: nothing to fold */
    int64_t cshape[TJ_MAX_NDIM];
    bool pieces;   /* partial results per piece, folded after (else one launch) */
    int64_t rows, unit;                             /* one launch: tjP_run_rows's */
    int64_t per_run, piece, unit_len, width, nruns; /* pieces (lib/runtime_reduce.c) */
    int64_t *packed; /* (nin + 1) * cnd strides as the kernel takes them (the caller's buffer) */
} tjS_reduce;
/* Fills R (R->packed set by the caller); scratch holds (nin + 1) * TJ_MAX_NDIM strides. */
TJ_HIDDEN void tjS_reduce_prepare(const tjS_step *st, const int64_t *shape,
                                  const int64_t *strides, int64_t *scratch, tjS_reduce *R);
/* Fills out (R->oshape) with the identity and folds the inputs at ptrs into it; partial results
 * come from pool (NULL: allocated) and go back to it. */
TJ_HIDDEN tj_status tjS_reduce_run(tj_ctx *ctx, const tjS_step *st, tjK_fn fn,
                                   const tjS_reduce *R, char *const *ptrs, tj_array *out,
                                   struct tjS_pool *pool);
/* Runs a STEP_VIEW / STEP_SHAPE step, refilling the header cached for its slot when it can
 * (lib/runtime_views.c). */
TJ_HIDDEN tj_status tjS_run_view(tj_ctx *ctx, const tjS_step *st, tj_array **slots,
                                 const struct tjS_mem *mem);
TJ_HIDDEN tj_status tjS_run_shape(tj_ctx *ctx, const tjS_step *st, tj_array **slots,
                                  const struct tjS_mem *mem);
/* Runs a STEP_SHAPE_OP step (lib/runtime_steps.c). */
TJ_HIDDEN tj_status tjS_run_shape_op(tj_ctx *ctx, const tjS_step *st, tj_array **slots);
/* An elementwise kernel step made ready to launch over rows [0, rows) (fn(ptrs, cshape, packed,
 * cnd, begin, end)): operands checked, outputs allocated into their slots. A reduction step runs
 * entirely inside tjS_kernel_begin (rows stays 0). tjS_kernel_end releases the launch. */
enum { TJS_SMALL_OPS = 16 }; /* operand bookkeeping lives in the launch up to this many */
typedef struct {
    tj_ctx *ctx; /* whose allocator holds the bookkeeping beyond the inline buffers */
    tjK_fn fn;
    char **ptrs;
    int64_t cshape[TJ_MAX_NDIM];
    int cnd;
    int64_t rows;
    int64_t *packed, packed_buf[64];
    int64_t *strides;
    tj_array **tmp; /* contiguous copies of operands */
    int ntmp;
    int64_t strides_buf[TJS_SMALL_OPS * TJ_MAX_NDIM];
    char *ptrs_buf[TJS_SMALL_OPS];
    tj_array *tmp_buf[TJS_SMALL_OPS];
} tjS_launch;
TJ_HIDDEN tj_status tjS_kernel_begin(tj_ctx *ctx, const tjS_plan *plan, const tjS_step *st,
                                     tjK_fn fn, tj_array **slots, const struct tjS_mem *mem,
                                     tjS_launch *L);
TJ_HIDDEN void tjS_kernel_end(tjS_launch *L);
/* A kernel step run whole. */
TJ_HIDDEN tj_status tjS_run_kernel(tj_ctx *ctx, const tjS_plan *plan, const tjS_step *st,
                                   tjK_fn fn, tj_array **slots, const struct tjS_mem *mem);
/* The result buffer of a gemm/gemv/ger step of the given shape: Z's own buffer when the plan
 * allows it in place (and the caller gave no array for it), else the caller's array, a pooled or
 * a new one (tjS_out_array) holding Z broadcast (beta != 0) or garbage (beta == 0). */
TJ_HIDDEN tj_status tjS_blas_out(tj_ctx *ctx, const tjS_step *st, tj_array *Z, const int64_t *shape,
                                 double beta, const struct tjS_mem *mem, tj_array **out);
/* Runs a gemm/gemv/ger step (lib/runtime_blas.c); the result takes over Z's buffer when the plan
 * allows it (st->inplace) and nothing else holds it. */
TJ_HIDDEN tj_status tjS_run_blas(tj_ctx *ctx, const tjS_step *st, tj_array **slots,
                                 const struct tjS_mem *mem);
/* Whether array a may become the result of shape/dtype (in place): exactly `refs` references, its
 * own C-contiguous memory (not a view, not a borrowed buffer), the same dtype and shape. */
TJ_HIDDEN bool tjS_can_take(const tj_array *a, int refs, tj_dtype dtype, int ndim,
                            const int64_t *shape);
/* The value of a step's scalar operand (alpha, beta): tj_array_get without its handle checks
 * when the operand is 0-d, as they are. */
static inline double tjS_scalar(const tj_array *a)
{
    if (a->ndim != 0)
        return tj_array_get(a, NULL);
    float f; /* tjA_load's reads (any alignment), inline for the float operands */
    double d;
    if (a->dtype == TJ_FLOAT32)
        return memcpy(&f, a->data, sizeof f), (double)f;
    if (a->dtype == TJ_FLOAT64)
        return memcpy(&d, a->data, sizeof d), d;
    return tjA_load(a->dtype, a->data, 0);
}
/* Per-step profile counters (tj_function_opts.profile). */
typedef struct {
    uint64_t calls;
    double ns;      /* total time in the step */
    uint64_t bytes; /* bytes of results it produced */
} tjS_prof;

/* Buffers a run may use instead of allocating (lib/runtime_pool.c; every member may be NULL).
 * into[s]: the caller's array that slot s's result goes to (tj_call_into), used when its dtype
 * and shape match. pool: intermediates released by earlier steps or calls, reused by a later
 * result of the same dtype and shape, so a function stops paying fresh pages per call;
 * poolable[s]: slot s is made by a step that allocates through the pool. */
typedef struct tjS_pool {
    tj_ctx *ctx; /* whose allocator holds arr and fresh (set by the pool's owner) */
    tj_array **arr;
    bool *fresh; /* released during the current call (the rest are freed by tjS_pool_trim) */
    int n, cap;
} tjS_pool;
typedef struct tjS_mem {
    tj_array *const *into;
    tjS_pool *pool;
    const bool *poolable;
    /* cache[s] (NULL: none): the header a view or shape_of step made for slot s in an earlier
     * call, refilled instead of allocated again when nothing else holds it (tjS_cache_settle) */
    tj_array **cache;
    int *cache_base; /* per cached view: the slot of its base */
    const bool *borrowed; /* per slot: holds no reference of its own (tj_fn.borrowed; NULL: none) */
    struct tjS_rec *rec;  /* NULL, or the recorder of this run's launches (lib/replay.h) */
} tjS_mem;
/* The array for result slot s (dtype, shape): mem->into[s], a pooled buffer or a new one;
 * NULL when out of memory or when the shape is too big for any array. */
TJ_HIDDEN tj_array *tjS_out_array(tj_ctx *ctx, const tjS_mem *mem, int s, tj_dtype dtype,
                                  int ndim, const int64_t *shape);
/* The error for step st's result that tjS_out_array could not make: TJ_ERR_VALUE for a shape
 * whose element or byte count overflows (numpy's "array is too big"), else TJ_ERR_NOMEM. */
TJ_HIDDEN tj_status tjS_out_failed(tj_ctx *ctx, const tjS_step *st);
/* Gives up slot s's array: into the pool when nothing else holds it, else one reference less. */
TJ_HIDDEN void tjS_release(const tjS_mem *mem, int s, tj_array *a);
/* A pooled buffer of exactly this layout (taken out of the pool), or NULL. */
TJ_HIDDEN tj_array *tjS_pool_take(tjS_pool *pool, tj_dtype dtype, int ndim, const int64_t *shape);
/* A pooled buffer of this layout, else a new one (uninitialised); NULL when out of memory. */
TJ_HIDDEN tj_array *tjS_pool_buffer(tj_ctx *ctx, tjS_pool *pool, tj_dtype dtype, int ndim,
                                    const int64_t *shape);
/* a into the pool when it is a plain buffer nothing else holds (pool NULL or full: unref). */
TJ_HIDDEN void tjS_pool_put(tjS_pool *pool, tj_array *a);
/* End of a run, every slot released: each cached view drops its base (into the pool when nothing
 * else holds it) and stays cached for the next call; a cached header something else still holds
 * (a result) leaves the cache and lives on as an ordinary array. */
TJ_HIDDEN void tjS_cache_settle(const tjS_plan *plan, const tjS_mem *mem);
/* One reference to slot s's cached header given up (tjS_release): when only the cache holds it
 * then, a view drops its base at once, as a freed view would. */
TJ_HIDDEN void tjS_cache_release(const tjS_mem *mem, int s);
/* End of a call: frees pooled buffers nobody released during it (input shapes changed). */
TJ_HIDDEN void tjS_pool_trim(tjS_pool *pool);
TJ_HIDDEN void tjS_pool_free(tjS_pool *pool);

/* Runs the plan: slots[] has the leaf values filled (new references); on return the slots of
 * the requested nodes hold their values. fns[k] is the compiled entry of kernel k. prof (NULL
 * or one entry per step) accumulates timings; mem (NULL: none) supplies buffers. */
TJ_HIDDEN tj_status tjS_run(tj_ctx *ctx, const tjS_plan *plan, tjK_fn const *fns,
                            tj_array **slots, const bool *keep, tjS_prof *prof,
                            const tjS_mem *mem);
/* The optimized graph, Theano-debugprint style, with fused kernels shown as their inner
 * expressions (lib/print_graph.c); plan NULL prints the nodes only. outs: nout outputs then nupd
 * update values of upd_vars. NULL when out of memory. The text is on the C library (it becomes
 * tj_fn_graph's result): the caller free()s it. */
TJ_HIDDEN char *tjS_debugprint(const tjS_plan *plan, tj_var *const *outs, int nout,
                               tj_var *const *upd_vars, int nupd);
/* A text rendering of the plan's steps (for tj_fn_graph). The caller free()s it (C library). */
TJ_HIDDEN char *tjS_plan_text(const tjS_plan *plan);

/* ---- code cache (per context): compiled modules by structural hash of the kernels ---- */
typedef struct tjF_code tjF_code; /* a refcounted compiled module */
TJ_HIDDEN tj_status tjF_code_get(tj_ctx *ctx, const tjS_plan *plan, tjF_code **out);
TJ_HIDDEN void tjF_code_release(tj_ctx *ctx, tjF_code *code);
TJ_HIDDEN tjK_fn const *tjF_code_fns(const tjF_code *code);
TJ_HIDDEN struct tjJ_module *tjF_code_module(const tjF_code *code);
TJ_HIDDEN void tjF_cache_free(tj_ctx *ctx);
/* The head of the context's graph cache list (lib/graph_cache.c); NULL when out of memory. */
TJ_HIDDEN struct tjF_entry **tjF_cache_graphs(tj_ctx *ctx);
/* True when the environment forces every function into the reference executor (TJ_JIT=off). */
TJ_HIDDEN bool tjF_jit_off(void);

/* Frees every function of ctx, then the code cache and the JIT engine (context teardown). */
TJ_HIDDEN void tjF_free_all(tj_ctx *ctx);

/* ---- the function object (lib/function.c compiles, lib/function_call.c runs) ---- */
#define TJ_FN_MAGIC 0x464e2121u /* "FN!!" */

typedef struct tjF_ws tjF_ws;       /* a call's workspace (lib/function_call.c) */
typedef struct tjF_entry tjF_entry; /* a compile reused by graph (lib/graph_cache.c) */
typedef struct tjF_direct tjF_direct; /* a one-kernel function's direct call (function_direct.c) */

struct tj_fn {
    uint32_t magic;
    tj_ctx *ctx;
    char *name;
    tj_mode mode;
    int allow_input_downcast;
    int nin, nout, nupd;
    tj_var **inputs;
    tj_var **outs;    /* nout outputs then nupd update values (optimized) */
    tj_var **upd_vars;
    tj_var **shared;  /* the shared variables the function reads or updates */
    int nshared;
    /* plan, code and rewrites belong to entry when there is one (shared by every function
     * compiled from the same graph), else to the function */
    tjF_entry *entry;
    tjS_plan *plan;   /* FAST_RUN and DEBUG */
    tjF_code *code;
    bool jitted;
    /* why it runs in the reference executor ("" when jitted) */
    char jit_reason[sizeof((tj_ctx *)0)->errmsg];
    int *out_slot;    /* per entry of outs: its slot in the plan */
    bool *keep;       /* per slot: do not release during the run */
    bool *poolable;   /* per slot: its buffer may be kept for the next call (tjS_mem) */
    int *leaf_in;     /* per plan leaf: the input index that fills it, or -1: */
    tj_var **leaf_var; /* the shared variable or constant whose value fills it */
    /* per slot: a leaf whose array the run borrows without a reference (an input, which the
     * caller holds through the call, or a constant, which its node holds; no step takes either
     * in place): fewer locked instructions per call */
    bool *borrowed;
    _Atomic(tjF_ws *) ws; /* the workspace of the next call (NULL: a call holds it) */
    tjF_direct *direct;   /* NULL: every call takes the general path */
    bool replay_ok;       /* calls may be recorded and replayed (lib/function_replay.c) */
    bool reads_shared; /* the graph reads a shared variable: calls take the shared lock */
    bool profile;
    tjS_prof *prof;   /* per step, when profiling a compiled plan */
    uint64_t calls;
    double call_ns;   /* total time in tj_call */
    tjR_log rewrites; /* what the optimizer did (tj_fn_rewrites) */
    tjS_fuse_opts fuse; /* the fusion decisions the plan may take */
    tjR_config cfg;     /* the optimizer's options (their names are borrowed during tj_function) */
};

static inline const char *tjF_name(const tj_fn *fn) { return fn->name ? fn->name : "(unnamed)"; }
static inline bool tjF_valid(const tj_fn *fn)
{
    return fn && fn->magic == TJ_FN_MAGIC && tjC_valid(fn->ctx);
}
/* Frees a call workspace (made from ctx's allocator) and its pooled buffers. */
TJ_HIDDEN void tjF_ws_free(tj_ctx *ctx, tjF_ws *ws);
/* The bytes an array of element size es can touch, [lo, hi) ({NULL, NULL} when empty):
 * enough to rule out two arrays sharing memory. Inline: the direct call checks on every call. */
typedef struct {
    const char *lo, *hi;
} tjF_span;
/* The byte offsets [*lo, *hi) from the data pointer that a non-empty layout can touch. */
static inline void tjF_extent(int ndim, const int64_t *shape, const int64_t *strides, int64_t es,
                              int64_t *lo, int64_t *hi)
{
    int64_t l = 0, h = es;
    for (int d = 0; d < ndim; d++) {
        int64_t ext = (shape[d] - 1) * strides[d];
        l += ext < 0 ? ext : 0;
        h += ext < 0 ? 0 : ext;
    }
    *lo = l;
    *hi = h;
}
static inline tjF_span tjF_span_of(const tj_array *a, int64_t es)
{
    int64_t l, h;
    tjF_extent(a->ndim, a->shape, a->strides, es, &l, &h);
    return a->size ? (tjF_span){a->data + l, a->data + h} : (tjF_span){NULL, NULL};
}
static inline bool tjF_spans_meet(tjF_span a, tjF_span b) { return a.lo < b.hi && b.lo < a.hi; }
/* Whether the byte ranges of two arrays can meet (NULL or empty: no). */
TJ_HIDDEN bool tjF_overlaps(const tj_array *a, const tj_array *b);
/* The direct call (lib/function_direct.c): fn->direct is set when fn's plan is one elementwise
 * kernel over leaves writing exactly fn's outputs (FAST_RUN, jitted, no updates, no profile).
 * tjF_direct_call returns false when this call must take the general path (nothing done);
 * true when it ran, *rc the status. */
TJ_HIDDEN tj_status tjF_direct_prepare(tj_fn *fn);
TJ_HIDDEN bool tjF_direct_call(tj_fn *fn, tj_array *const *inputs, tj_array **outputs, bool into,
                               tj_status *rc);
TJ_HIDDEN void tjF_direct_free(tj_ctx *ctx, tjF_direct *d);

/* tj_call_into's checks of the caller's output arrays (an error recorded and returned). */
TJ_HIDDEN tj_status tjF_check_into(tj_fn *fn, tj_array *const *inputs, tj_array *const *outputs);

/* Replayed calls (lib/function_replay.c, lib/replay.h). The state lives in a call workspace
 * (NULL until a call considers recording). tjF_replay_prepare sets fn->replay_ok at compile.
 * tjF_replay_call replays when this call matches the recorded signature: true when it ran (*rc
 * its status), false when the general path must run (nothing done). tjF_replay_consider, on the
 * general path under the shared lock: a recorder for this call's run when the previous call had
 * the same signature (else NULL); tjF_replay_finish, right after that run (rc its status, the
 * results still in their slots), turns the recording into the replay or drops it, and releases
 * the recorder. */
typedef struct tjF_rstate tjF_rstate;
struct tjS_rec;
TJ_HIDDEN void tjF_replay_prepare(tj_fn *fn);
TJ_HIDDEN bool tjF_replay_call(tj_fn *fn, tjF_rstate *rs, tjS_pool *pool,
                               tj_array *const *inputs, tj_array **outputs, bool into,
                               tj_status *rc);
TJ_HIDDEN struct tjS_rec *tjF_replay_consider(tj_fn *fn, tjF_rstate **rs, tjS_pool *pool,
                                              tj_array *const *inputs, tj_array *const *outputs,
                                              bool into);
TJ_HIDDEN void tjF_replay_finish(tj_fn *fn, tjF_rstate *rs, struct tjS_rec *rec, tj_status rc,
                                 tj_array *const *into_slots, tjS_pool *pool);
/* Frees the state; the replay's own buffers go to pool (NULL: freed). */
TJ_HIDDEN void tjF_rstate_free(tj_ctx *ctx, tjF_rstate *rs, tjS_pool *pool);
/* The calls replayed and the recordings made so far in a state (NULL: none). tjF_replays:
 * those of fn's kept workspace, for tests (no call may be running). */
TJ_HIDDEN void tjF_replay_counts(const tjF_rstate *rs, uint64_t *replays, uint64_t *records);
TJ_HIDDEN void tjF_replays(tj_fn *fn, uint64_t *replays, uint64_t *records);

/* The graph cache (lib/graph_cache.c): a compile keyed by the graph before optimization (after
 * givens and default updates), with inputs and shared variables as positional placeholders,
 * the input types, the mode and the optimizer options. tjF_graph_lookup fills fn's plan, code,
 * optimized outputs and rewrites from a matching earlier compile (*hit; *plan_inputs and
 * *plan_shared: that compile's inputs and shared variables, position by position fn's) or
 * leaves fn alone; tjF_graph_store records fn's fresh compile. *key (caller frees bytes) is
 * kept between the two. */
typedef struct {
    tj_ctx *ctx; /* whose allocator holds bytes (set by tjF_graph_lookup) */
    unsigned char *bytes;
    size_t len, cap;
    uint64_t hash;
} tjF_key;
TJ_HIDDEN tj_status tjF_graph_lookup(tj_fn *fn, tjF_key *key, bool *hit,
                                     tj_var *const **plan_inputs, tj_var *const **plan_shared);
TJ_HIDDEN tj_status tjF_graph_store(tj_fn *fn, tjF_key *key);
TJ_HIDDEN void tjF_entry_release(tj_ctx *ctx, tjF_entry *e);
/* The shared variables of fn's graph in placeholder order (fn->shared), set at compile. */
TJ_HIDDEN tj_status tjF_collect_shared(tj_fn *fn);

#endif
