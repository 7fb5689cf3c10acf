/* Internal structures shared by lib/ (never included by users; no LLVM here).
 * Cross-file internal functions carry a module letter:
 *   tjC_ context/errors/arena   tjA_ arrays and dtypes   tjG_ graph and builders
 *   tjI_ reference executor     tjB_ BLAS wrappers       tjD_ differentiation
 *   tjS_ schedule and runtime   tjF_ functions           tjP_ thread pool */
#ifndef TJ_INTERNAL_H
#define TJ_INTERNAL_H

#include "tensorjit.h"

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TJ_HIDDEN __attribute__((visibility("hidden")))
#define TJ_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* ---- ops -------------------------------------------------------------------------------------- */
enum {
    OPF_LEAF = 1u << 0,
    OPF_ELEMWISE = 1u << 1,
    OPF_COMMUTE = 1u << 2,
    OPF_BOOLOUT = 1u << 3,
    OPF_REDUCE = 1u << 4,
    OPF_UNIQUE = 1u << 5,
};

typedef enum {
#define TJ_OP(e, name, arity, flags) TJ_OP_##e,
#include "ops.def"
#undef TJ_OP
    TJ_NUM_OPS
} tj_op;

typedef struct {
    const char *name;
    int arity;
    unsigned flags;
} tj_opinfo;
TJ_HIDDEN extern const tj_opinfo tjG_ops[TJ_NUM_OPS];
static inline bool tj_op_is(tj_op op, unsigned flag) { return (tjG_ops[op].flags & flag) != 0; }

/* CLOCK_MONOTONIC in nanoseconds (profiles, the pool's spin deadline). */
static inline int64_t tjC_now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* The mask of axes 0..n-1, n <= TJ_MAX_NDIM (32): a 32-bit shift by 32 is undefined, and on
 * x86 it gave 0 (fuzz_api's finding 12). */
static inline uint32_t tjG_axes_below(int n) { return n >= 32 ? ~0u : (1u << n) - 1; }

/* Whether environment variable `name` is set to "off" (the library's switches TJ_JIT, TJ_REPLAY
 * and TJ_HUGEPAGES; jit/remote.c reads TJ_COMPILE_SERVER's value for more than that). */
static inline bool tjC_env_off(const char *name)
{
    const char *v = getenv(name);
    return v && strcmp(v, "off") == 0;
}

/* ---- dtypes ----------------------------------------------------------------------------------- */
static inline bool tj_dtype_valid(int d) { return d >= 0 && d < TJ_NUM_DTYPES; }
/* The element size of a valid dtype: tj_dtype_size without the check, inline for the paths
 * every call runs. */
static inline size_t tjA_es(tj_dtype d)
{
    switch (d) {
    case TJ_INT16:
        return 2;
    case TJ_INT32:
    case TJ_FLOAT32:
        return 4;
    case TJ_INT64:
    case TJ_FLOAT64:
        return 8;
    default: /* bool, int8, uint8 */
        return 1;
    }
}
static inline bool tj_dtype_is_float(tj_dtype d) { return d == TJ_FLOAT32 || d == TJ_FLOAT64; }
static inline bool tj_dtype_is_int(tj_dtype d) { return d >= TJ_INT8 && d <= TJ_UINT8; }
static inline bool tj_dtype_is_signed(tj_dtype d) { return d >= TJ_INT8 && d <= TJ_INT64; }
/* numpy's promotion of two definite dtypes (int32+float32 -> float64, uint8+int8 -> int16). */
TJ_HIDDEN tj_dtype tjA_promote(tj_dtype a, tj_dtype b);
/* true when every value of `from` is exactly representable in `to` */
TJ_HIDDEN bool tjA_can_cast_safely(tj_dtype from, tj_dtype to);
/* read element i (flat, C order of a contiguous buffer) of dtype d as double, and write one */
TJ_HIDDEN double tjA_load(tj_dtype d, const void *base, int64_t i);
TJ_HIDDEN void tjA_store(tj_dtype d, void *base, int64_t i, double v);
/* An integer or bool element read exactly (bool: 0/1), and one stored wrapped to the dtype's
 * width (two's complement; bool: v != 0): the integer semantics of casts and kernels. */
TJ_HIDDEN int64_t tjA_load_int(tj_dtype d, const void *p);
TJ_HIDDEN void tjA_store_int(tj_dtype d, void *p, int64_t v);
/* Saturating double -> integer in [lo, hi] (both exactly representable as doubles except
 * INT64_MAX, handled by comparing against 2^63 exclusive); truncates toward zero, NaN -> 0: the
 * float -> integer cast (LLVM's fptosi.sat). */
static inline int64_t tjA_sat_int(double v, double lo, double hi_exclusive, int64_t min,
                                  int64_t max)
{
    if (isnan(v))
        return 0;
    if (v < lo)
        return min;
    if (v >= hi_exclusive)
        return max;
    return (int64_t)v; /* in range: the C cast is defined and truncates */
}
/* One row of a dtype conversion: n elements of src (byte stride ss) written to dst (stride ds)
 * as a cast does them: integers wrap, int -> float rounds once, float -> int as tjA_sat_int,
 * anything -> bool is (x != 0). */
typedef void tjA_cast_fn(char *dst, int64_t ds, const char *src, int64_t ss, int64_t n);
TJ_HIDDEN tjA_cast_fn *tjA_cast_row(tj_dtype dst, tj_dtype src);

/* ---- arrays ----------------------------------------------------------------------------------- */
#define TJ_ARRAY_MAGIC 0x41525259u /* "ARRY" */

struct tj_array {
    uint32_t magic;
    atomic_int refcount;
    tj_dtype dtype;
    int ndim;
    int64_t size;                   /* product of shape */
    int64_t shape[TJ_MAX_NDIM];
    int64_t strides[TJ_MAX_NDIM];   /* bytes */
    char *data;
    void (*release)(void *);        /* NULL: data is owned and freed with free() unless inline */
    void *release_arg;
    bool owns_data;
    void *raw;       /* owned data: the block the allocator gave (data is aligned inside it) */
    tj_allocator mem; /* what allocated the header and owned data (zeroed: the C library) */
    /* unique per header and layout (0: never remembered): a header refilled with another layout
     * takes a new one, so an address and serial name one layout even after free and reuse */
    uint64_t serial;
};
/* A new array serial (never 0). */
TJ_HIDDEN uint64_t tjA_new_serial(void);

/* tj_array_ref / tj_array_unref for an array known to be live, or NULL (the runtime's own
 * slots, inputs already checked): no handle check, inline; the last reference goes through
 * tjA_free. */
TJ_HIDDEN void tjA_free(tj_array *a);
static inline tj_array *tjA_ref(tj_array *a)
{
    if (a)
        atomic_fetch_add_explicit(&a->refcount, 1, memory_order_relaxed);
    return a;
}
static inline void tjA_unref(tj_array *a)
{
    /* acq_rel: the thread that frees sees every other thread's writes to the data */
    if (a && atomic_fetch_sub_explicit(&a->refcount, 1, memory_order_acq_rel) == 1)
        tjA_free(a);
}

/* Whether two shapes of rank ndim are equal (inline: small ranks, compared on every call). */
static inline bool tjA_same_shape(int ndim, const int64_t *a, const int64_t *b)
{
    for (int d = 0; d < ndim; d++)
        if (a[d] != b[d])
            return false;
    return true;
}

/* Allocation with an overflow-checked element count; errors go to the thread's array slot. The
 * array's memory comes from ctx's allocator (ctx NULL: the C library) and it remembers it. */
TJ_HIDDEN tj_array *tjA_alloc(tj_ctx *ctx, tj_dtype dtype, int ndim, const int64_t *shape,
                              bool zero);
TJ_HIDDEN bool tjA_is_contiguous(const tj_array *a);
/* The same for a live array whose element size es is known (inline: the direct call checks it
 * on every call). */
static inline bool tjA_contiguous_es(const tj_array *a, int64_t es)
{
    for (int d = a->ndim - 1; d >= 0; d--) {
        if (a->shape[d] != 1 && a->strides[d] != es) /* length-1 axes may have any stride */
            return a->size == 0;
        es *= a->shape[d];
    }
    return true;
}
/* Checked product of a shape; false on overflow or a negative entry. */
TJ_HIDDEN bool tjA_shape_size(int ndim, const int64_t *shape, int64_t *out);
/* Copies src into dst (same shape, any strides), converting dtype. */
TJ_HIDDEN void tjA_copy_into(tj_array *dst, const tj_array *src);
/* Merges adjacent axes where every operand (strides [nops][TJ_MAX_NDIM], in elements or bytes)
 * is contiguous across them and drops length-1 axes; returns the new rank (>= 1). */
TJ_HIDDEN int tjA_coalesce(int ndim, int64_t *shape, int nops, int64_t *strides);
/* tjA_coalesce of two operands over one shape, copied into cshape and cstr (cstr: operand a's
 * strides, then b's at cstr + TJ_MAX_NDIM); returns the new rank (>= 1). */
TJ_HIDDEN int tjA_coalesce_pair(int ndim, const int64_t *shape, const int64_t *a_strides,
                                const int64_t *b_strides, int64_t *cshape, int64_t *cstr);
/* One row of a two-operand walk: n elements at a + i * as (written) and b + i * bs (read). */
typedef void tjA_row_fn(const void *arg, char *a, int64_t as, const char *b, int64_t bs,
                        int64_t n);
/* The row that copies: arg points to the tj_dtype of both (a fixed-size move per element). */
TJ_HIDDEN void tjA_move_row(const void *arg, char *a, int64_t as, const char *b, int64_t bs,
                            int64_t n);
/* Calls row once per row of a block of `shape` (nd >= 1 axes, best coalesced) with byte strides
 * astr in a and bstr in b: the last axis is the row, an odometer walks the others. */
TJ_HIDDEN void tjA_walk_rows(tjA_row_fn *row, const void *arg, char *a, const int64_t *astr,
                             const char *b, const int64_t *bstr, const int64_t *shape, int nd);
/* A converted C-contiguous copy of src in dtype d (memory from ctx's allocator, as tjA_alloc). */
TJ_HIDDEN tj_array *tjA_convert(tj_ctx *ctx, const tj_array *src, tj_dtype d);
/* tj_array_wrap and tj_array_scalar with the header (and data) from ctx's allocator. */
TJ_HIDDEN tj_array *tjA_wrap(tj_ctx *ctx, tj_dtype dtype, int ndim, const int64_t *shape,
                             const int64_t *strides_bytes, void *data, void (*release)(void *),
                             void *release_arg);
TJ_HIDDEN tj_array *tjA_scalar(tj_ctx *ctx, tj_dtype dtype, double value);
/* Records an error for context-less calls (tj_errcode(NULL)). */
TJ_HIDDEN void tjA_error(tj_status st, const char *fmt, ...) TJ_PRINTF(2, 3);
TJ_HIDDEN tj_status tjA_last_status(void);  /* this thread's last array error */
TJ_HIDDEN const char *tjA_last_msg(void);
TJ_HIDDEN void tjA_clear_error(void);
TJ_HIDDEN bool tjA_valid(const tj_array *a);

/* ---- variables (graph nodes) ------------------------------------------------------------------ */
#define TJ_VAR_MAGIC 0x56415221u /* "VAR!" */

struct tj_var {
    uint32_t magic;
    tj_op op;
    tj_dtype dtype;
    int ndim;
    uint32_t bcast; /* bit i set: axis i is broadcastable (has length 1) */
    bool weak;      /* weakly typed literal (tj_lit) */
    int nin;
    tj_var **in;
    int nattr;
    int64_t *attr;  /* see ops.def for each op's attributes */
    tj_array *value; /* CONSTANT: the value; SHARED: the current value (owned reference) */
    tj_var *default_update; /* SHARED: its update when a function does not give one */
    char *name;
    tj_ctx *ctx;
    uint64_t id;    /* creation order, unique in the context */
    uint64_t hash;
    tj_var *hnext;  /* hash-cons chain */
    /* scratch of tjG_toposort: the latest sort of the context that reached this node (the
     * context's `sorts` then) and the node's position in that order (see tjG_pos) */
    uint64_t sort;
    size_t pos;
};

/* ---- context ---------------------------------------------------------------------------------- */
#define TJ_CTX_MAGIC 0x43545821u /* "CTX!" */

typedef struct tjC_block tjC_block;
typedef struct tjF_cache tjF_cache;
struct tjJ_engine;

struct tj_ctx {
    uint32_t magic;
    tj_status err;
    char errmsg[1024];
    tjC_block *arena;
    /* hash-consing table */
    tj_var **buckets;
    size_t nbuckets, nvars;
    uint64_t sorts; /* tjG_toposort calls so far: the current sort's number */
    /* every var, in creation order (owned values are released at free) */
    tj_var **vars;
    size_t vars_cap;
    /* live functions (freed with the context) */
    tj_fn **fns;
    size_t nfns, fns_cap;
    tj_log_fn log_fn;
    void *log_user;
    /* shared values: calls that update them take it exclusively, calls that only read them
     * share it, so concurrent calls see consistent values and N calls of w += 1 give N */
    pthread_rwlock_t shared_lock;
    pthread_mutex_t err_lock; /* error slot writes from concurrent calls */
    struct tjJ_engine *jit; /* created on first FAST_RUN compile */
    tjF_cache *cache;       /* compiled code by structural hash */
    tj_stats stats;
    _Atomic int num_threads; /* tj_ctx_set_num_threads; 0: the process default (lib/pool.c) */
    tj_allocator mem;       /* every allocation made for the context (zeroed: the C library) */
};

TJ_HIDDEN bool tjC_valid(const tj_ctx *ctx);
/* Records an error (the most recent failure wins) and returns st. */
TJ_HIDDEN tj_status tjC_error(tj_ctx *ctx, tj_status st, const char *fmt, ...) TJ_PRINTF(3, 4);
TJ_HIDDEN void tjC_log(tj_ctx *ctx, const char *fmt, ...) TJ_PRINTF(2, 3);
/* The allocator's malloc/calloc/realloc/free (m NULL or its functions NULL: the C library's).
 * Zero sizes are made 1; calloc checks n * size for overflow. They record no error. */
/* True when m has all three functions (else the C library serves). */
TJ_HIDDEN bool tjC_mem_hooked(const tj_allocator *m);
TJ_HIDDEN void *tjC_mem_malloc(const tj_allocator *m, size_t bytes);
TJ_HIDDEN void *tjC_mem_calloc(const tj_allocator *m, size_t n, size_t size);
TJ_HIDDEN void *tjC_mem_realloc(const tj_allocator *m, void *p, size_t bytes);
TJ_HIDDEN void tjC_mem_free(const tj_allocator *m, void *p);
/* A copy of s from m (NULL for NULL or failure). */
TJ_HIDDEN char *tjC_mem_strdup(const tj_allocator *m, const char *s);
/* The same through ctx's allocator (ctx NULL: the C library): every heap allocation made for a
 * context uses these, and the block goes back through tjC_free. */
TJ_HIDDEN void *tjC_malloc(tj_ctx *ctx, size_t bytes);
TJ_HIDDEN void *tjC_calloc(tj_ctx *ctx, size_t n, size_t size);
TJ_HIDDEN void *tjC_realloc(tj_ctx *ctx, void *p, size_t bytes);
TJ_HIDDEN void tjC_free(tj_ctx *ctx, void *p);
/* A heap copy of s through ctx's allocator (released with tjC_free); NULL for NULL or failure. */
TJ_HIDDEN char *tjC_heap_strdup(tj_ctx *ctx, const char *s);
/* Arena memory, freed with the context; zeroed. NULL (and TJ_ERR_NOMEM recorded) on failure. */
TJ_HIDDEN void *tjC_alloc(tj_ctx *ctx, size_t bytes);
TJ_HIDDEN char *tjC_strdup(tj_ctx *ctx, const char *s);

/* ---- graph ------------------------------------------------------------------------------------ */
TJ_HIDDEN bool tjG_valid(const tj_var *v);
/* tjG_valid for a builder's operand, recording TJ_ERR_INVALID in the thread's slot when it is
 * not; a NULL only when that slot is empty (sticky; the context keeps the error that produced
 * the NULL). */
TJ_HIDDEN bool tjG_live(const tj_var *v, const char *fn);
/* Makes (or finds, by hash-consing) a node. in/attr are copied. Records errors in ctx. */
TJ_HIDDEN tj_var *tjG_make(tj_ctx *ctx, tj_op op, tj_dtype dtype, int ndim, uint32_t bcast,
                           tj_var *const *in, int nin, const int64_t *attr, int nattr,
                           tj_array *value);
/* A weakly typed 0-d literal holding value (takes ownership of the reference). */
TJ_HIDDEN tj_var *tjG_make_weak(tj_ctx *ctx, tj_array *value);
/* A short description for messages: "'x' (input float32 vector)" or "node #12 (add float32 (3,?))". */
TJ_HIDDEN const char *tjG_describe(const tj_var *v, char *buf, size_t len);
/* The variables reachable from outs, in topological order (inputs first). Iterative.
 * Returns an array from ctx's allocator (tjC_free) and its count through *n, or NULL (NOMEM
 * recorded). Each node reached records its position (tjG_pos), so passes over the result index
 * their tables by position: tables indexed by node id cost every pass O(all nodes the context
 * ever made). */
TJ_HIDDEN tj_var **tjG_toposort(tj_ctx *ctx, tj_var *const *outs, int nouts, size_t *n);
/* v's position in the latest tjG_toposort of its context, or -1 when that sort did not reach v.
 * Valid until the next sort in the context (a context builds on one thread at a time). */
static inline int64_t tjG_pos(const tj_var *v)
{
    return v->sort == v->ctx->sorts && v->pos != SIZE_MAX ? (int64_t)v->pos : -1;
}
/* Whether a gemm, gemv or ger node reads its Z operand (input 4) when its beta is `beta`: always,
 * but for the constant 0 the optimizer writes beside a placeholder Z. A beta of 0 that arrives at
 * run time multiplies Z as any value does (0 * inf is NaN, as in numpy). */
static inline bool tjG_blas_reads_z(const tj_var *node, double beta)
{
    return beta != 0 || node->in[3]->op != TJ_OP_CONSTANT;
}
/* node made again from new inputs: with equal input types (or strict) the same op/type/attrs,
 * otherwise inferred again through the builders (lib/graph_rebuild.c). */
TJ_HIDDEN tj_var *tjG_rebuild(tj_var *node, tj_var *const *in, bool strict);
/* new_outs[i] = outs[i] with every from[r] replaced by to[r] (givens). */
TJ_HIDDEN tj_status tjG_replace(tj_ctx *ctx, tj_var *const *outs, int nouts,
                                tj_var *const *from, tj_var *const *to, int nrep, bool strict,
                                tj_var **new_outs);
/* Builders used by grad and the scheduler, with explicit types. */
TJ_HIDDEN tj_var *tjG_elemwise(tj_op op, tj_var *const *in, int nin);
TJ_HIDDEN tj_var *tjG_reduce(tj_op op, tj_var *a, uint32_t axes_mask, bool keepdims);
/* A reduction, argmax/argmin or softmax-family node made again over a new input of another
 * type, with the builders' dtype rules (build_reduce.c). */
TJ_HIDDEN tj_var *tjG_rebuild_reduce(tj_var *node, tj_var *in);
TJ_HIDDEN tj_var *tjG_const_like(tj_var *like, double value); /* 0-d constant of like's dtype */
/* Elementwise dtype rules (elemwise_types.c). tjG_elemwise_dtype: the compute dtype of op given
 * its operands' promoted dtype t, or TJ_ERR_TYPE with *why the end of a sentence naming the op;
 * tjG_elemwise_accepts: whether op may compute in d (executors and the kernel validator);
 * tjG_float_of: numpy's float result of a float function (int8/int16/uint8/bool -> float32,
 * int32/int64 -> float64). */
TJ_HIDDEN tj_status tjG_elemwise_dtype(tj_op op, tj_dtype t, tj_dtype *compute, const char **why);
TJ_HIDDEN bool tjG_elemwise_accepts(tj_op op, tj_dtype d);
TJ_HIDDEN tj_dtype tjG_float_of(tj_dtype d);

/* ---- reference executor ----------------------------------------------------------------------- */
/* Evaluates one node given its input values (in[i] for node->in[i]); *out receives a new array.
 * Leaves: INPUT is an error (the caller supplies it), CONSTANT and SHARED return their value. */
TJ_HIDDEN tj_status tjI_eval_node(tj_ctx *ctx, const tj_var *node, tj_array *const *in,
                                  tj_array **out);
/* Evaluates outs given values for `inputs` (a map by position), by walking the graph. */
TJ_HIDDEN tj_status tjI_eval(tj_ctx *ctx, tj_var *const *inputs, tj_array *const *values, int nin,
                             tj_var *const *outs, int nouts, tj_array **results);
/* Runtime broadcasting check shared by the executors: the shape of an elementwise node. */
TJ_HIDDEN tj_status tjI_broadcast_shape(tj_ctx *ctx, const tj_var *node, tj_array *const *in,
                                        int64_t *shape);
/* Between lib/interp.c and lib/interp_ops.c / interp_reduce.c: an elementwise node, a reduction
 * (sum mean prod max min all any argmax argmin) or softmax-family node (inputs already
 * checked against node->in), an error prefixed with the node's description (returns st), and a
 * fresh uninitialized C-contiguous array of node->dtype (errors recorded with the node). */
TJ_HIDDEN tj_status tjI_elemwise(tj_ctx *ctx, const tj_var *node, tj_array *const *in,
                                 tj_array **out);
TJ_HIDDEN tj_status tjI_reduce(tj_ctx *ctx, const tj_var *node, tj_array *const *in, tj_array **out);
TJ_HIDDEN tj_status tjI_error(tj_ctx *ctx, const tj_var *node, tj_status st, const char *fmt, ...)
    TJ_PRINTF(4, 5);
TJ_HIDDEN tj_status tjI_alloc(tj_ctx *ctx, const tj_var *node, int ndim, const int64_t *shape,
                              tj_array **out);

/* ---- BLAS ------------------------------------------------------------------------------------- */
/* out = dot(a, b) for ranks 1/2 with numpy semantics; float32/float64 via OpenBLAS, integers by a
 * plain loop. out is preallocated with the right shape and dtype (a, b, out share dtype). The
 * BLAS wrappers' temporary copies come from ctx's allocator. */
TJ_HIDDEN void tjB_dot(tj_ctx *ctx, const tj_array *a, const tj_array *b, tj_array *out);
/* *out = a . b over k > 0 elements of float32/float64 d (increments in elements): tjB_dot's
 * BLAS call for two vectors BLAS takes as they are. */
TJ_HIDDEN void tjB_vdot(tj_dtype d, int64_t k, const char *a, int64_t inca, const char *b,
                        int64_t incb, char *out);

/* ---- random numbers (lib/build_random.c, lib/runtime_random.c) ------------------------------- */
enum { TJ_RANDOM_UNIFORM, TJ_RANDOM_NORMAL, TJ_RANDOM_BINOMIAL }; /* a random node's attr[0] */
/* Philox4x32-10 (Random123's constants): the block for a 128-bit counter and a 64-bit key. */
TJ_HIDDEN void tjS_philox4x32(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]);
/* Evaluates a RANDOM or RNG_NEXT node from its input values (state, shape); *out receives a new
 * array. The one code path of both executors, so draws are bit-identical in every mode. */
TJ_HIDDEN tj_status tjS_random_eval(tj_ctx *ctx, const tj_var *node, tj_array *const *in,
                                    tj_array **out);

/* ---- shape, indexing, linear algebra (build_reshape.c build_index.c build_linalg.c,
 * interp_shape.c interp_index.c interp_linalg.c, grad_shape.c, runtime_steps.c, blas.c) -------- */
#define TJ_DYN (INT64_MIN + 1) /* an attr whose value is the node's next extra input (ops.def) */
/* Static slice bounds and sizes are clamped into +-TJ_BIG, which changes no result (no axis is
 * that long) and keeps them apart from TJ_OPEN and TJ_DYN. */
#define TJ_BIG (INT64_C(1) << 62)
/* Whether op belongs to this family (tjI_shape_op evaluates it, runtime_steps.c runs it). */
TJ_HIDDEN bool tjG_is_shape_op(tj_op op);
/* The value of a symbolic integer scalar when the graph fixes it: an integer constant, or the
 * length of a broadcastable axis (shape_of). */
TJ_HIDDEN bool tjG_static_int(const tj_var *v, int64_t *out);
/* An integer scalar operand `what` of builder fn: its literal in *attr when static, otherwise
 * TJ_DYN there and the operand (cast to int64) appended to extra. false: error recorded. */
TJ_HIDDEN bool tjG_int_operand(tj_var *v, const char *fn, const char *what, int64_t *attr,
                               tj_var **extra, int *nextra);
/* x[sub] for a SLICE, INDEX or TAKE with the given attrs and extra inputs (types inferred). */
TJ_HIDDEN tj_var *tjG_subtensor(tj_op kind, tj_var *x, const int64_t *attr,
                                tj_var *const *extra, int nextra);
/* The batched product of two operands of one dtype and one rank >= 2 (no checks of dtype). */
TJ_HIDDEN tj_var *tjG_matmul(tj_var *a, tj_var *b);
/* One of this family's nodes made again from new inputs of other types (tjG_rebuild). */
TJ_HIDDEN tj_var *tjG_rebuild_shape(tj_var *node, tj_var *const *in);
/* Evaluates one of this family's nodes. view: the result may be a view sharing an input's
 * buffer (it then holds a reference to it); otherwise a fresh C-contiguous array. */
TJ_HIDDEN tj_status tjI_shape_op(tj_ctx *ctx, const tj_var *node, tj_array *const *in, bool view,
                                 tj_array **out);
/* Between the reference executor's files (interp, interp_shape/index/linalg): the result
 * `shape`/`strides` over data inside base, as a view (a new header holding a reference on base)
 * or as a fresh contiguous copy; a header on the stack describing memory it does not own (never
 * reference counted); the value of an integer 0-d array. */
TJ_HIDDEN tj_status tjI_result(tj_ctx *ctx, const tj_var *node, tj_array *base, int ndim,
                               const int64_t *shape, const int64_t *strides, char *data, bool view,
                               tj_array **out);
TJ_HIDDEN void tjI_view_init(tj_array *v, tj_dtype dtype, int ndim, const int64_t *shape,
                             const int64_t *strides, char *data);
TJ_HIDDEN int64_t tjI_int(const tj_array *a);
/* The indexing ops (interp_index.c: slice index take set/inc_subtensor) and matmul
 * (interp_linalg.c), as tjI_shape_op. */
TJ_HIDDEN tj_status tjI_eval_index(tj_ctx *ctx, const tj_var *node, tj_array *const *in, bool view,
                                   tj_array **out);
TJ_HIDDEN tj_status tjI_eval_matmul(tj_ctx *ctx, const tj_var *node, tj_array *const *in,
                                    tj_array **out);
/* The VJP of one of this family's nodes for input i (grad.c's rule); *none: no gradient. */
TJ_HIDDEN tj_var *tjD_shape_vjp(tj_var *node, int i, tj_var *g, bool *none);
/* out = matmul(a, b): a (B..., M, K), b (B..., K, N), out C-contiguous (B..., M, N) of one dtype;
 * a batch axis of length 1 in a or b broadcasts. float32/float64 through BLAS (one gemm when the
 * batch folds into the rows), others by a plain loop. */
TJ_HIDDEN void tjB_matmul(tj_ctx *ctx, const tj_array *a, const tj_array *b, tj_array *out);
/* The optimizer's BLAS ops (issue 4; lib/blas_gemm.c): C = alpha op(A) op(B) + beta C,
 * y = alpha op(A) x + beta y, C = alpha x y^T + C, float32/float64, op = transpose when the flag
 * is set; C and y are C-contiguous results (not read when beta is 0). false when BLAS cannot take
 * the sizes or a temporary copy failed (the caller falls back to tjI_blas). */
TJ_HIDDEN bool tjB_gemm(tj_ctx *ctx, bool ta, bool tb, double alpha, const tj_array *A,
                        const tj_array *B, double beta, tj_array *C);
TJ_HIDDEN bool tjB_gemv(tj_ctx *ctx, bool ta, double alpha, const tj_array *A, const tj_array *x,
                        double beta, tj_array *y);
TJ_HIDDEN bool tjB_ger(tj_ctx *ctx, double alpha, const tj_array *x, const tj_array *y,
                       tj_array *C);
/* Reference evaluation of a GEMM, GEMV or GER node (lib/interp_blas.c). */
TJ_HIDDEN tj_status tjI_blas(tj_ctx *ctx, const tj_var *node, tj_array *const *in,
                             tj_array **out);

/* ---- differentiation -------------------------------------------------------------------------- */
/* The vector-Jacobian product of node with respect to its input i, given g = d cost/d node.
 * Returns NULL with no error when the input gets no gradient (integers, comparisons). */
TJ_HIDDEN tj_var *tjD_vjp(tj_var *node, int i, tj_var *g);
/* The raw VJP term of elementwise node for input i (grad_elemwise.c), before grad.c fits it to
 * the input's type; *none = true when the input gets no gradient, else NULL means a builder
 * failed (error recorded). */
TJ_HIDDEN tj_var *tjD_elemwise_rule(tj_var *node, int i, tj_var *g, bool *none);
/* The raw VJP term of prod, max, min and the softmax family (lib/grad_reduce.c), for grad.c's
 * dispatch: not yet fitted to the input's type; NULL with an error recorded on failure. */
TJ_HIDDEN tj_var *tjD_reduce_vjp(tj_var *node, tj_var *g);

#endif /* TJ_INTERNAL_H */
