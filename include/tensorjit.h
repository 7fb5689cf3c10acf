/*
 * tensorjit — symbolic tensor graphs, optimized, differentiated and JIT-compiled through LLVM.
 *
 * The only public header. Every public symbol starts with tj_ (types, functions) or TJ_ (enums,
 * macros). Ownership is stated on each declaration that hands over or borrows memory.
 *
 * Errors: functions that take a context record failures in it (tj_errcode / tj_errmsg). Errors are
 * sticky for builders: a builder handed NULL returns NULL without touching the recorded error, so a
 * whole expression can be built and checked once. Functions without a context (tj_array_*) record
 * their failure in a per-thread slot read with tj_errcode(NULL) / tj_errmsg(NULL).
 * Nothing in this API aborts the process on bad input.
 */
#ifndef TENSORJIT_H
#define TENSORJIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TJ_VERSION_MAJOR 0
#define TJ_VERSION_MINOR 1
#define TJ_VERSION_PATCH 0
#define TJ_VERSION_STRING "0.1.0"

/* The largest rank an array or variable may have (numpy's limit). */
#define TJ_MAX_NDIM 32

/* ------------------------------------------------------------------------------------------------
 * Data types
 */
typedef enum {
    TJ_BOOL,
    TJ_INT8,
    TJ_INT16,
    TJ_INT32,
    TJ_INT64,
    TJ_UINT8,
    TJ_FLOAT32,
    TJ_FLOAT64,
    TJ_NUM_DTYPES
} tj_dtype;

const char *tj_dtype_name(tj_dtype);  /* "float32"; "invalid" for an out-of-range value */
size_t tj_dtype_size(tj_dtype);       /* bytes per element; 0 for an out-of-range value */

/* ------------------------------------------------------------------------------------------------
 * Status codes and errors
 */
typedef enum {
    TJ_OK = 0,
    TJ_ERR_TYPE,          /* wrong dtype, rank or broadcast pattern */
    TJ_ERR_SHAPE,         /* runtime or static shape mismatch */
    TJ_ERR_VALUE,         /* a value out of its domain (an axis, an index, a size) */
    TJ_ERR_UNUSED_INPUT,  /* a function input the outputs do not depend on */
    TJ_ERR_DISCONNECTED,  /* grad with respect to a variable the cost does not depend on */
    TJ_ERR_JIT,           /* LLVM failed to verify, compile or look up generated code */
    TJ_ERR_NOMEM,         /* an allocation failed */
    TJ_ERR_INVALID        /* NULL, a handle of the wrong kind, a misuse of the API */
} tj_status;

const char *tj_status_name(tj_status);  /* "TJ_ERR_SHAPE" */

/* ------------------------------------------------------------------------------------------------
 * Arrays: n-d, reference counted, independent of any context.
 */
typedef struct tj_array tj_array;

/* A new zero-filled C-contiguous array. The caller owns the returned reference. */
tj_array *tj_array_new(tj_dtype dtype, int ndim, const int64_t *shape);
/* A new C-contiguous array holding a copy of `data` (C order, tj_dtype_size(dtype) per element). */
tj_array *tj_array_from_data(tj_dtype dtype, int ndim, const int64_t *shape, const void *data);
/* Borrows `data` with the given byte strides (NULL = C-contiguous); calls release(release_arg)
 * when the last reference goes away (release may be NULL). */
tj_array *tj_array_wrap(tj_dtype dtype, int ndim, const int64_t *shape,
                        const int64_t *strides_bytes, void *data, void (*release)(void *),
                        void *release_arg);
/* A 0-d array holding `value` converted to dtype as a C cast would (bool: value != 0). */
tj_array *tj_array_scalar(tj_dtype dtype, double value);
/* A new C-contiguous array with the same dtype, shape and values (never shares memory). */
tj_array *tj_array_copy(const tj_array *a);

tj_array *tj_array_ref(tj_array *a);  /* adds a reference, returns a; NULL-safe */
void tj_array_unref(tj_array *a);     /* drops a reference; NULL-safe */

tj_dtype tj_array_dtype(const tj_array *a);
int tj_array_ndim(const tj_array *a);             /* -1 for NULL */
const int64_t *tj_array_shape(const tj_array *a); /* borrowed, valid while a lives */
const int64_t *tj_array_strides(const tj_array *a); /* in bytes; borrowed */
int64_t tj_array_size(const tj_array *a);         /* number of elements; -1 for NULL */
/* The data of a C-contiguous array (borrowed), or NULL if a is strided (use tj_array_copy). */
void *tj_array_data(tj_array *a);
/* Element at `index` (ndim entries; NULL for 0-d) converted to double; NaN on a bad index. */
double tj_array_get(const tj_array *a, const int64_t *index);
/* Sets element at `index` from a double, converted as a C cast would. */
tj_status tj_array_set(tj_array *a, const int64_t *index, double value);
/* Prints numpy style: array(5.0, dtype=float32), array([1, 2]), array([[...]], dtype=...).
 * Returns the number of characters written or -1. */
int tj_array_print(const tj_array *a, FILE *out);
/* The same text in a new string; the caller frees it with free(). */
char *tj_array_to_string(const tj_array *a);

/* ------------------------------------------------------------------------------------------------
 * Context: owns every graph node, shared variable and function made in it.
 */
typedef struct tj_ctx tj_ctx;

tj_ctx *tj_ctx_new(void);
/* Frees the context with every variable and function made in it. Arrays handed out stay valid:
 * they are reference counted and independent of the context. NULL-safe. */
void tj_ctx_free(tj_ctx *ctx);

/* The most recent error since the last tj_clear_error (ctx NULL: this thread's last array error).
 * Builders handed NULL do not record, so after a nested expression it names the first failure. */
tj_status tj_errcode(const tj_ctx *ctx);
/* A sentence naming what failed, where (node, input name) and a hint; "" when there is no error. */
const char *tj_errmsg(const tj_ctx *ctx);
void tj_clear_error(tj_ctx *ctx);

/* Where warnings (on_unused_input=warn, JIT fallbacks) go; default: a line on stderr. */
typedef void (*tj_log_fn)(void *user, const char *message);
void tj_ctx_set_log(tj_ctx *ctx, tj_log_fn fn, void *user);

/* ------------------------------------------------------------------------------------------------
 * Symbolic variables. A tj_var belongs to its context and lives until the context is freed.
 * Building the same expression twice gives the same tj_var (nodes are hash-consed).
 */
typedef struct tj_var tj_var;

/* theano.tensor.fscalar('x'), dvector, imatrix, ... Non-broadcastable on every axis. */
tj_var *tj_scalar(tj_ctx *ctx, tj_dtype dtype, const char *name);
tj_var *tj_vector(tj_ctx *ctx, tj_dtype dtype, const char *name);
tj_var *tj_matrix(tj_ctx *ctx, tj_dtype dtype, const char *name);
/* broadcastable: ndim flags (NULL = none broadcastable); a broadcastable axis has length 1. */
tj_var *tj_tensor(tj_ctx *ctx, tj_dtype dtype, int ndim, const bool *broadcastable,
                  const char *name);

/* A constant holding a copy of `value` (the caller keeps its reference). Length-1 axes are
 * broadcastable. */
tj_var *tj_constant(tj_ctx *ctx, const tj_array *value);
/* A 0-d constant of a definite dtype. */
tj_var *tj_const(tj_ctx *ctx, tj_dtype dtype, double value);
/* A weakly typed literal, as a Python number in Theano: in an operation with a tensor it takes
 * that tensor's kind (x*0.1 stays float32 for a float32 x; i+1 stays int32 for an int32 i).
 * A float literal with an integer tensor gives float64. */
tj_var *tj_lit(tj_ctx *ctx, double value);      /* a Python float */
tj_var *tj_lit_int(tj_ctx *ctx, int64_t value); /* a Python int */

/* theano.shared(value, name, borrow): borrow=false copies value; borrow=true keeps a reference to
 * it (later changes by the caller are seen by functions). */
tj_var *tj_shared(tj_ctx *ctx, tj_array *value, const char *name, bool borrow);
/* get_value: borrow=false returns a new copy, borrow=true a new reference to the internal array.
 * The caller owns the returned reference. */
tj_array *tj_shared_get(tj_var *shared, bool borrow);
/* set_value: the dtype and rank must match (lossless upcasts are converted); borrow as above. */
tj_status tj_shared_set(tj_var *shared, tj_array *value, bool borrow);

/* Theano's shared.default_update: functions that read `shared` and do not update it themselves
 * apply this update (unless no_default_updates). NULL removes it. The random streams use it. */
tj_status tj_shared_set_default_update(tj_var *shared, tj_var *update);

/* Introspection of a variable. */
tj_ctx *tj_var_ctx(const tj_var *v);
tj_dtype tj_var_dtype(const tj_var *v);
int tj_var_ndim(const tj_var *v);                       /* -1 for NULL */
bool tj_var_broadcastable(const tj_var *v, int axis);
const char *tj_var_name(const tj_var *v);               /* NULL when unnamed */
tj_status tj_var_set_name(tj_var *v, const char *name); /* names an intermediate for messages */

/* ---- elementwise, numpy broadcasting over static broadcastable flags, numpy dtype promotion ---- */
tj_var *tj_add(tj_var *a, tj_var *b);
tj_var *tj_sub(tj_var *a, tj_var *b);
tj_var *tj_mul(tj_var *a, tj_var *b);
tj_var *tj_div(tj_var *a, tj_var *b);     /* true division: integers give float64 */
tj_var *tj_pow(tj_var *a, tj_var *b);
tj_var *tj_maximum(tj_var *a, tj_var *b);
tj_var *tj_minimum(tj_var *a, tj_var *b);
tj_var *tj_add_n(tj_var *const *vars, int n); /* n >= 1 */
tj_var *tj_mul_n(tj_var *const *vars, int n);

/* With a weak literal on the right: tj_addc(x, 1.0) == tj_add(x, tj_lit(ctx, 1.0)). */
tj_var *tj_addc(tj_var *a, double c);
tj_var *tj_subc(tj_var *a, double c);
tj_var *tj_mulc(tj_var *a, double c);
tj_var *tj_divc(tj_var *a, double c);
tj_var *tj_powc(tj_var *a, double c);
tj_var *tj_rsubc(double c, tj_var *a);  /* c - a */
tj_var *tj_rdivc(double c, tj_var *a);  /* c / a */

tj_var *tj_neg(tj_var *a);
tj_var *tj_abs(tj_var *a);
tj_var *tj_exp(tj_var *a);
tj_var *tj_log(tj_var *a);
tj_var *tj_sqrt(tj_var *a);
tj_var *tj_sqr(tj_var *a);
tj_var *tj_inv(tj_var *a);       /* 1/a */
tj_var *tj_sigmoid(tj_var *a);
tj_var *tj_tanh(tj_var *a);

/* comparisons: result TJ_BOOL */
tj_var *tj_gt(tj_var *a, tj_var *b);
tj_var *tj_lt(tj_var *a, tj_var *b);
tj_var *tj_ge(tj_var *a, tj_var *b);
tj_var *tj_le(tj_var *a, tj_var *b);
tj_var *tj_eq(tj_var *a, tj_var *b);
tj_var *tj_neq(tj_var *a, tj_var *b);

tj_var *tj_switch(tj_var *cond, tj_var *a, tj_var *b); /* numpy.where */
tj_var *tj_cast(tj_var *a, tj_dtype dtype);

/* ---- reductions: axes NULL with naxes 0 = all axes; negative axes count from the end ---- */
tj_var *tj_sum(tj_var *a, const int *axes, int naxes, bool keepdims);
tj_var *tj_mean(tj_var *a, const int *axes, int naxes, bool keepdims);

/* ---- linear algebra: numpy.dot for vectors and matrices, through OpenBLAS ---- */
tj_var *tj_dot(tj_var *a, tj_var *b);

/* ---- shape ---- */
/* pattern[i] = input axis shown at output axis i, or -1 for a new broadcastable axis ('x').
 * Input axes left out must be broadcastable (they are dropped). */
tj_var *tj_dimshuffle(tj_var *a, const int *pattern, int n);
tj_var *tj_transpose(tj_var *a); /* reverses all axes */
tj_var *tj_shape_of(tj_var *a, int axis); /* int64 scalar */

/* ------------------------------------------------------------------------------------------------
 * Differentiation: theano.grad(cost, wrt). cost must be a float scalar. Fills grads[i] with
 * d cost / d wrt[i] (a variable of wrt[i]'s type); integer wrt get zeros.
 */
typedef enum { TJ_DISCONNECTED_RAISE, TJ_DISCONNECTED_WARN, TJ_DISCONNECTED_IGNORE } tj_disconnected;
typedef struct {
    tj_var *const *consider_constant; /* treated as constants: no gradient flows through them */
    int nconsider_constant;
    tj_disconnected disconnected_inputs; /* default TJ_DISCONNECTED_RAISE */
} tj_grad_opts;
#define TJ_GRAD_OPTS_INIT {NULL, 0, TJ_DISCONNECTED_RAISE}

tj_status tj_grad(tj_var *cost, tj_var *const *wrt, int nwrt, tj_var **grads);
tj_status tj_grad_v2(tj_var *cost, tj_var *const *wrt, int nwrt, tj_var **grads,
                     const tj_grad_opts *opts);

/* ------------------------------------------------------------------------------------------------
 * Functions: theano.function.
 */
typedef struct {
    tj_var *var;        /* a shared variable */
    tj_var *new_value;  /* its value after the call, computed from pre-call values */
} tj_update;
typedef struct {
    tj_var *var;
    tj_var *replacement;
} tj_given;
typedef enum { TJ_MODE_FAST_RUN, TJ_MODE_FAST_COMPILE, TJ_MODE_DEBUG } tj_mode;
typedef enum { TJ_UNUSED_RAISE, TJ_UNUSED_WARN, TJ_UNUSED_IGNORE } tj_unused_input;

typedef struct {
    tj_mode mode;          /* FAST_RUN: LLVM JIT; FAST_COMPILE: reference executor;
                              DEBUG: both, compared output by output */
    const tj_update *updates;
    int nupdates;
    const tj_given *givens;
    int ngivens;
    bool no_default_updates;
    bool accept_inplace;
    const char *name;
    bool rebuild_strict;
    int allow_input_downcast; /* -1 = default (Theano's None), 0, 1 */
    bool profile;
    tj_unused_input on_unused_input;
} tj_function_opts;
#define TJ_FUNCTION_OPTS_INIT                                                                     \
    {TJ_MODE_FAST_RUN, NULL, 0, NULL, 0, false, false, NULL, true, -1, false, TJ_UNUSED_RAISE}

typedef struct tj_fn tj_fn;

/* Compiles outputs as functions of inputs. opts NULL = defaults. The function belongs to ctx. */
tj_fn *tj_function(tj_ctx *ctx, tj_var *const *inputs, int nin, tj_var *const *outputs, int nout,
                   const tj_function_opts *opts);
/* Runs the function. outputs[i] receives a new reference the caller owns (and may modify). */
tj_status tj_call(tj_fn *fn, tj_array *const *inputs, tj_array **outputs);
/* tj_call that also checks the counts: nin inputs given, room for nout outputs. */
tj_status tj_call_n(tj_fn *fn, tj_array *const *inputs, int nin, tj_array **outputs, int nout);
int tj_fn_nin(const tj_fn *fn);
int tj_fn_nout(const tj_fn *fn);
void tj_fn_free(tj_fn *fn); /* NULL-safe */

/* Looking inside. Each returns a new string the caller frees with free(), or NULL. */
char *tj_fn_graph(tj_fn *fn);              /* the executed graph, debugprint style */
char *tj_fn_ir(tj_fn *fn, bool optimized); /* LLVM IR of the function's kernels */
char *tj_fn_asm(tj_fn *fn);                /* native assembly of the kernels */
bool tj_fn_jitted(const tj_fn *fn); /* false when it runs in the reference executor */
/* With opts.profile: calls, time per call, and per step (kernel, BLAS call, view) its calls,
 * total time, share and bytes produced. */
tj_status tj_fn_profile_print(tj_fn *fn, FILE *out);

typedef struct {
    uint64_t llvm_compiles;   /* modules handed to LLVM */
    uint64_t cache_hits;      /* tj_function calls served by already-compiled code in memory */
    uint64_t disk_cache_hits; /* modules loaded from the disk cache ($TJ_CACHE_DIR, default
                                 ~/.cache/tensorjit; TJ_CACHE_DIR=off disables it) */
    double compile_ms;        /* time spent making code: LLVM, or loading from disk */
} tj_stats;
void tj_ctx_stats(const tj_ctx *ctx, tj_stats *out);

#ifdef __cplusplus
}
#endif
#endif /* TENSORJIT_H */
