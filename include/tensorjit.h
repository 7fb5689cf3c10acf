/*
 * tensorjit — symbolic tensor graphs, optimized, differentiated and JIT-compiled through LLVM.
 *
 * The only public header. Every public symbol starts with tj_ (types, functions) or TJ_ (enums,
 * macros). Ownership is stated on each declaration that hands over or borrows memory.
 *
 * Errors: functions that take a context record failures in it (tj_errcode / tj_errmsg). Errors are
 * sticky for builders: a builder handed NULL returns NULL without touching the context's recorded
 * error, so a whole expression can be built and checked once (it notes TJ_ERR_INVALID in the
 * thread's slot, when that holds no error yet). Functions without a context (tj_array_*), and
 * any function handed a handle that is dead or of the wrong kind, record their failure in a
 * per-thread slot read with tj_errcode(NULL) / tj_errmsg(NULL); a NULL handle records there
 * only when the slot holds no error (the failure that produced the NULL stays the one read). Nothing in this API aborts the process on bad input:
 * every function answers a bad argument with its error value (NULL, a status, -1, NaN, false,
 * TJ_NUM_DTYPES; "invalid" and "TJ_ERR_UNKNOWN" from the name lookups) and a message.
 *
 * Lifetime, and what a stale handle does (tests/test_lifetime.c, tests/test_badargs.c):
 * - tj_var: lives in its context's arena until tj_ctx_free; any use after that is undefined.
 * - tj_fn: tj_fn_free releases its code and buffers at once; the few bytes of the handle stay in
 *   the context until tj_ctx_free, marked dead, so passing a freed tj_fn while its context lives
 *   is defined: TJ_ERR_INVALID (NULL, -1, false). tj_ctx_free frees the functions still
 *   outstanding; their handles are then undefined to use.
 * - tj_ctx: a freed context's handle answers TJ_ERR_INVALID (its header is kept for reuse, never
 *   returned to malloc) until a later tj_ctx_new reuses that header, after which it names the
 *   new context. Do not rely on this beyond catching mistakes.
 * - tj_array: reference counted and independent of contexts: arrays returned by tj_call or
 *   tj_shared_get stay valid after their context is freed. Using an array after its last
 *   reference is dropped is undefined, as after free().
 * - A shared variable's value may be set with another shape between calls (tj_shared_set checks
 *   dtype and rank only); the next call checks it against the graph as it checks inputs and
 *   fails with TJ_ERR_SHAPE (the shared value unchanged) when it does not fit.
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

/* The library's version (the shared library's SONAME follows the major number). */
#define TJ_VERSION_MAJOR 0
#define TJ_VERSION_MINOR 1
#define TJ_VERSION_PATCH 0
#define TJ_VERSION_STRING "0.1.0"

/* The largest rank an array or variable may have (numpy's limit). */
#define TJ_MAX_NDIM 32

/* ------------------------------------------------------------------------------------------------
 * Data types
 */
/* Element types, named as numpy's (tj_dtype_name gives "float32"); promotion follows numpy. */
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
/* What a call returns (and tj_errcode reports): TJ_OK, or the kind of failure. */
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

const char *tj_status_name(tj_status);  /* "TJ_ERR_SHAPE"; "TJ_ERR_UNKNOWN" out of range */

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

tj_dtype tj_array_dtype(const tj_array *a);     /* TJ_NUM_DTYPES for NULL */
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

/* A new empty context, or NULL when out of memory. The caller owns it: free it with tj_ctx_free. */
tj_ctx *tj_ctx_new(void);
/* A context's allocator: malloc_fn/realloc_fn/free_fn with a user pointer (free_fn never sees
 * NULL; sizes are never 0). Every heap allocation the library makes for the context goes through
 * it: graph nodes and the arena, gradients, the optimizer, the schedule, functions, the code
 * caches, the JIT engine's and compiled modules' own memory (lowering, IR texts, disk cache
 * reads), the work memory of calls and the arrays the context makes (values of constants, the
 * arrays its functions return: such an array keeps a copy of the allocator and frees itself
 * through it, so the allocator and its user data must outlive every array the context made).
 * The functions are called from several threads at once (parallel LLVM compiles, steps on the
 * thread pool, concurrent tj_call): they must be thread-safe. A NULL result makes the operation
 * fail with TJ_ERR_NOMEM (or take a slower path that needs no memory) and leaves the context
 * usable. Not hooked: LLVM's own C++ allocations inside the JIT (LLVM's C API cannot route
 * them), arrays made by the context-free tj_array_* constructors, strings returned for the
 * caller to free() (tj_fn_graph, tj_fn_ir, tj_fn_asm, tj_fn_rewrites, tj_array_to_string), and
 * process-wide state tied to no context (the thread pool). */
typedef struct {
    void *(*malloc_fn)(void *user, size_t size);
    void *(*realloc_fn)(void *user, void *ptr, size_t size);
    void (*free_fn)(void *user, void *ptr);
    void *user;
} tj_allocator;
/* tj_ctx_new with the context's memory from *alloc (copied; NULL: the C library's). NULL when
 * the context itself cannot be allocated, or when *alloc lacks one of its three functions. */
tj_ctx *tj_ctx_new_with_allocator(const tj_allocator *alloc);
/* Frees the context with every variable and function made in it. Arrays handed out stay valid:
 * they are reference counted and independent of the context. NULL-safe. */
void tj_ctx_free(tj_ctx *ctx);

/* The most recent error since the last tj_clear_error (ctx NULL: this thread's last array error).
 * Builders handed NULL do not record, so after a nested expression it names the first failure. */
tj_status tj_errcode(const tj_ctx *ctx);
/* A sentence naming what failed, where (node, input name) and a hint; "" when there is no error. */
const char *tj_errmsg(const tj_ctx *ctx);
void tj_clear_error(tj_ctx *ctx); /* forgets the recorded error (ctx NULL: the thread's slot) */

/* Where warnings (on_unused_input=warn, JIT fallbacks) go; default: a line on stderr. */
typedef void (*tj_log_fn)(void *user, const char *message);
void tj_ctx_set_log(tj_ctx *ctx, tj_log_fn fn, void *user);

/* How many threads calls of functions made in ctx may use (large kernels, reductions, BLAS
 * steps): n from 1 to 64, or 0 for the default ($TJ_NUM_THREADS, else the online cores). The
 * setting wins over $TJ_NUM_THREADS. Results are bit-identical for every count. TJ_ERR_INVALID
 * (recorded in ctx) for any other n; TJ_ERR_INVALID for a ctx that is not a live context. */
tj_status tj_ctx_set_num_threads(tj_ctx *ctx, int n);
/* The thread count calls in ctx use now (see tj_ctx_set_num_threads); -1 for an invalid ctx. */
int tj_ctx_num_threads(const tj_ctx *ctx);

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

/* Unary elementwise ops: neg, abs and sqr keep integer dtypes (wrapping as numpy; neg of bool is
 * an error); exp, log, sqrt, inv (1/a), sigmoid and tanh are float functions (integers give
 * float32 or float64 as the group below says). Domain errors give NaN or inf as in C. */
tj_var *tj_neg(tj_var *a);
tj_var *tj_abs(tj_var *a);
tj_var *tj_exp(tj_var *a);
tj_var *tj_log(tj_var *a);
tj_var *tj_sqrt(tj_var *a);
tj_var *tj_sqr(tj_var *a);
tj_var *tj_inv(tj_var *a);       /* 1/a */
tj_var *tj_sigmoid(tj_var *a);
tj_var *tj_tanh(tj_var *a);

/* Float functions (numpy's dtype rule: bool, int8, uint8, int16 give float32; int32, int64
 * float64). Vectorized in the JIT with the accuracy documented in docs/VMATH.md. */
tj_var *tj_log1p(tj_var *a);    /* log(1 + a), accurate near 0 */
tj_var *tj_expm1(tj_var *a);    /* exp(a) - 1, accurate near 0 */
tj_var *tj_softplus(tj_var *a); /* log(1 + exp(a)) = log1p(exp(-|a|)) + max(a, 0): no overflow */
tj_var *tj_exp2(tj_var *a);
tj_var *tj_log2(tj_var *a);
tj_var *tj_log10(tj_var *a);
tj_var *tj_rsqrt(tj_var *a);    /* 1 / sqrt(a) */
tj_var *tj_sin(tj_var *a);
tj_var *tj_cos(tj_var *a);
tj_var *tj_tan(tj_var *a);
tj_var *tj_arcsin(tj_var *a);
tj_var *tj_arccos(tj_var *a);
tj_var *tj_arctan(tj_var *a);
tj_var *tj_sinh(tj_var *a);
tj_var *tj_cosh(tj_var *a);
tj_var *tj_arcsinh(tj_var *a);
tj_var *tj_arccosh(tj_var *a);
tj_var *tj_arctanh(tj_var *a);
tj_var *tj_erf(tj_var *a);
tj_var *tj_erfc(tj_var *a);
tj_var *tj_arctan2(tj_var *y, tj_var *x); /* the angle of (x, y), C's atan2 */

/* Exact unary ops, numpy semantics: sign (-1, 0, 1; NaN stays NaN; bool is an error), rounding
 * (integers and bool unchanged except round of bool, which gives float32; round is half to
 * even), isnan/isinf (bool; false for integers), not (logical: bool result for any dtype),
 * invert (bitwise ~ on integers, logical not on bool; floats are an error). */
tj_var *tj_sign(tj_var *a);
tj_var *tj_floor(tj_var *a);
tj_var *tj_ceil(tj_var *a);
tj_var *tj_round(tj_var *a);
tj_var *tj_trunc(tj_var *a);
tj_var *tj_isnan(tj_var *a);
tj_var *tj_isinf(tj_var *a);
tj_var *tj_not(tj_var *a);
tj_var *tj_invert(tj_var *a);

/* numpy's // and %: the quotient rounds toward -inf and the remainder has the divisor's sign;
 * integer division by 0 gives 0 (no trap), INT_MIN // -1 wraps to INT_MIN; floats follow
 * numpy's divmod (x // 0 = +-inf or NaN, x % 0 = NaN). bool operands compute in int8. */
tj_var *tj_int_div(tj_var *a, tj_var *b);
tj_var *tj_mod(tj_var *a, tj_var *b);
tj_var *tj_int_divc(tj_var *a, double c);
tj_var *tj_modc(tj_var *a, double c);
/* numpy's & | ^: logical on bool, bitwise on integers; floats are an error */
tj_var *tj_and(tj_var *a, tj_var *b);
tj_var *tj_or(tj_var *a, tj_var *b);
tj_var *tj_xor(tj_var *a, tj_var *b);
/* numpy.clip: max(x, lo) then min(., hi) (so hi wins when lo > hi); a NaN in any operand gives
 * NaN. All three promote together (weak literals as elsewhere). */
tj_var *tj_clip(tj_var *x, tj_var *lo, tj_var *hi);
tj_var *tj_clipc(tj_var *x, double lo, double hi); /* integral lo/hi are Python ints */

/* comparisons: result TJ_BOOL */
tj_var *tj_gt(tj_var *a, tj_var *b);
tj_var *tj_lt(tj_var *a, tj_var *b);
tj_var *tj_ge(tj_var *a, tj_var *b);
tj_var *tj_le(tj_var *a, tj_var *b);
tj_var *tj_eq(tj_var *a, tj_var *b);
tj_var *tj_neq(tj_var *a, tj_var *b);

tj_var *tj_switch(tj_var *cond, tj_var *a, tj_var *b); /* numpy.where */
tj_var *tj_cast(tj_var *a, tj_dtype dtype); /* numpy astype; float to integer saturates, NaN -> 0 */

/* ---- reductions: axes NULL with naxes 0 = all axes; negative axes count from the end ----
 * numpy semantics. Result dtypes: sum/prod of integers and bool accumulate and return int64 (of
 * floats: the float dtype, float32 summed in blocks so 10^7 terms keep ~1e-7 relative error);
 * mean/variance/std of integers and bool are float64; max/min keep the dtype (bool: any/all) and
 * propagate NaN; all/any take any dtype (x != 0, NaN is true) and give bool. An empty reduction
 * gives sum 0, prod 1, mean NaN, all true, any false; max/min/argmax/argmin of an empty axis fail
 * at run time with TJ_ERR_VALUE (numpy raises). The returned variable belongs to a's context. */
tj_var *tj_sum(tj_var *a, const int *axes, int naxes, bool keepdims);
tj_var *tj_mean(tj_var *a, const int *axes, int naxes, bool keepdims);
tj_var *tj_prod(tj_var *a, const int *axes, int naxes, bool keepdims);
tj_var *tj_max(tj_var *a, const int *axes, int naxes, bool keepdims);
tj_var *tj_min(tj_var *a, const int *axes, int naxes, bool keepdims);
tj_var *tj_all(tj_var *a, const int *axes, int naxes, bool keepdims);
tj_var *tj_any(tj_var *a, const int *axes, int naxes, bool keepdims);
/* numpy.var / numpy.std (ddof 0; population variance, computed in two passes as
 * mean(|x - mean(x)|^2)). Named tj_variance because tj_var is the variable type. */
tj_var *tj_variance(tj_var *a, const int *axes, int naxes, bool keepdims);
tj_var *tj_std(tj_var *a, const int *axes, int naxes, bool keepdims);
/* With numpy's ddof: the sum of squared deviations divided by max(N - ddof, 0). ddof >= 0. */
tj_var *tj_variance_ddof(tj_var *a, const int *axes, int naxes, bool keepdims, int ddof);
tj_var *tj_std_ddof(tj_var *a, const int *axes, int naxes, bool keepdims, int ddof);
/* numpy.argmax / argmin over one axis (negative counts from the end) or TJ_AXIS_ALL (the index
 * into the flattened C-order array). int64 result; the first occurrence wins ties; NaN counts
 * as the extreme (the first NaN wins), as in numpy. */
#define TJ_AXIS_ALL (-2147483647 - 1)
tj_var *tj_argmax(tj_var *a, int axis, bool keepdims);
tj_var *tj_argmin(tj_var *a, int axis, bool keepdims);
/* Numerically stable (max-subtracted): softmax = exp(x - max) / sum(exp(x - max)) along axis,
 * log_softmax = (x - max) - log(sum(exp(x - max))), logsumexp = max + log(sum(exp(x - max)))
 * over axes (an infinite max is replaced by 0 there, so all -inf gives -inf). Integer inputs
 * compute in float (float32 for 8/16-bit and bool, else float64). An empty axis fails at run
 * time like max. */
tj_var *tj_softmax(tj_var *a, int axis);
tj_var *tj_log_softmax(tj_var *a, int axis);
tj_var *tj_logsumexp(tj_var *a, const int *axes, int naxes, bool keepdims);

/* ---- linear algebra: numpy semantics; float32/float64 through OpenBLAS (batches as loops of gemm
 * calls, transposed layouts passed as flags, not copied), other dtypes by a plain loop (integers
 * wrap; bool operands compute in int64). Results belong to the operands' context. ---- */
/* numpy.dot: a 0-d operand multiplies; vector/matrix combinations; N-d . M-d sums over the last
 * axis of a and the second-to-last of b (a vector b: its only axis). */
tj_var *tj_dot(tj_var *a, tj_var *b);
/* numpy.matmul (a @ b): 1-d operands are promoted to a row (a) / column (b) and that axis is
 * removed again; batch axes (all but the last two) broadcast where statically broadcastable,
 * the shorter operand getting leading broadcastable axes. 0-d operands are an error. */
tj_var *tj_matmul(tj_var *a, tj_var *b);
/* numpy.outer: both operands are flattened; result (a.size, b.size). */
tj_var *tj_outer(tj_var *a, tj_var *b);
/* numpy.tensordot: sums over axes_a[k] of a paired with axes_b[k] of b (k < n; negative axes
 * count from the end); the result has a's remaining axes, then b's. axes_a and axes_b NULL: n is
 * numpy's integer form (the last n axes of a with the first n of b). */
tj_var *tj_tensordot(tj_var *a, tj_var *b, const int *axes_a, const int *axes_b, int n);

/* ---- shape ----
 * Static broadcastable flags follow Theano: an axis is broadcastable when its length is fixed to
 * 1 in the graph (a literal 1 in a shape, the length of a broadcastable axis, ...). Shapes given
 * as tj_var are integer scalars (any integer dtype); their values are checked at run time. In a
 * compiled function a reshape, slice, index, split or dimshuffle is a view of its operand when
 * the strides allow it (no copy); every output handed to the caller is still a private array.
 * Results belong to the operands' context. */
/* pattern[i] = input axis shown at output axis i, or -1 for a new broadcastable axis ('x').
 * Input axes left out must be broadcastable (they are dropped). */
tj_var *tj_dimshuffle(tj_var *a, const int *pattern, int n);
tj_var *tj_transpose(tj_var *a); /* reverses all axes */
tj_var *tj_permute(tj_var *a, const int *axes, int n); /* numpy.transpose(a, axes); n == ndim */
tj_var *tj_shape_of(tj_var *a, int axis); /* int64 scalar */
/* numpy.reshape in C order: ndim sizes, one of which may be -1 (inferred). A size that does not
 * fit the element count is TJ_ERR_VALUE (at build time when the graph fixes the count, else at
 * run time). tj_reshape_sym takes symbolic sizes (integer scalars; -1 infers). */
tj_var *tj_reshape(tj_var *a, const int64_t *shape, int ndim);
tj_var *tj_reshape_sym(tj_var *a, tj_var *const *shape, int ndim);
/* Theano's flatten(x, outdim): the first ndim-1 axes kept, the rest collapsed into the last. */
tj_var *tj_flatten(tj_var *a, int ndim);
/* numpy.squeeze: removes the listed axes (naxes 0: every broadcastable axis). A listed axis that
 * is not broadcastable must have length 1 at run time (TJ_ERR_SHAPE otherwise). */
tj_var *tj_squeeze(tj_var *a, const int *axes, int naxes);
/* numpy.expand_dims: a new broadcastable axis at `axis` (-1 = last, as numpy: -ndim-1..ndim). */
tj_var *tj_expand_dims(tj_var *a, int axis);
/* numpy.concatenate / Theano's join: operands of one rank, promoted to one dtype; lengths must
 * agree on every other axis (checked at run time). n == 1 returns the operand. */
tj_var *tj_concatenate(tj_var *const *vars, int n, int axis);
tj_var *tj_join(int axis, tj_var *const *vars, int n); /* Theano's argument order */
/* numpy.stack: a new axis at `axis` (negative as expand_dims) along which the operands sit. */
tj_var *tj_stack(tj_var *const *vars, int n, int axis);
/* Theano's split: n parts of `sizes` along axis (one size may be -1: the rest); the sizes must
 * add up to the axis length at run time (TJ_ERR_VALUE otherwise). Fills outs[0..n-1]; on an
 * error they are all NULL. */
tj_status tj_split(tj_var *a, const int64_t *sizes, int n, int axis, tj_var **outs);
/* Theano's alloc: `value` (rank <= ndim) broadcast into a new array of shape `shape` (integer
 * scalars). value's axes that are not broadcastable must match (TJ_ERR_SHAPE at run time). */
tj_var *tj_alloc(tj_var *value, tj_var *const *shape, int ndim);
/* zeros/ones of a's dtype and shape (Theano's zeros_like / ones_like). */
tj_var *tj_zeros_like(tj_var *a);
tj_var *tj_ones_like(tj_var *a);
/* numpy.arange(start, stop, step, dtype) with symbolic scalars: ceil((stop - start) / step)
 * values start + i*step (computed in int64, or float64 when an operand or dtype is float).
 * start NULL = 0, step NULL = 1; step 0 is TJ_ERR_VALUE at run time; bool dtype is an error. */
tj_var *tj_arange(tj_var *start, tj_var *stop, tj_var *step, tj_dtype dtype);

/* ---- indexing (numpy basic and integer-array indexing, one axis at a time) ---- */
/* x[start:stop:step] along axis, Python semantics: NULL = open, negative bounds count from the
 * end, out-of-range bounds clamp, a negative step walks backwards, step 0 is TJ_ERR_VALUE (at run
 * time when symbolic). Bounds are integer scalars. */
tj_var *tj_slice(tj_var *x, int axis, tj_var *start, tj_var *stop, tj_var *step);
/* The same with literal bounds; TJ_OPEN is an open bound (Python's None). */
#define TJ_OPEN INT64_MIN
tj_var *tj_slicei(tj_var *x, int axis, int64_t start, int64_t stop, int64_t step);
/* x[i] along axis: the axis is dropped; negative i counts from the end; an index outside
 * [-len, len) is TJ_ERR_VALUE at run time naming the node, the index and the length. */
tj_var *tj_index(tj_var *x, int axis, tj_var *i);
tj_var *tj_indexi(tj_var *x, int axis, int64_t i);
/* numpy.take(x, indices, axis) (Theano's AdvancedSubtensor1 on any axis): the axis is replaced
 * by the axes of `indices` (an integer array of any rank); negative indices count from the end;
 * out-of-range ones are TJ_ERR_VALUE at run time. */
tj_var *tj_take(tj_var *x, tj_var *indices, int axis);
/* Theano's set_subtensor / inc_subtensor: `sub` was built from x by tj_slice, tj_index or
 * tj_take (one level: x is sub's direct operand). Returns the whole new x with the selected
 * region set to / incremented by value (cast to x's dtype, of the region's rank or lower,
 * broadcast along its broadcastable and missing leading axes). Duplicate indices of a take
 * accumulate in inc_subtensor (the last one wins in set_subtensor). */
tj_var *tj_set_subtensor(tj_var *sub, tj_var *value);
tj_var *tj_inc_subtensor(tj_var *sub, tj_var *value);

/* ---- random numbers (Theano's RandomStreams) ----
 * A counter-based generator, Philox4x32-10 (Random123): the state is a shared int64 vector
 * (key, counter) and element i of a draw depends only on the key and counter + i, so the numbers
 * are reproducible for a seed and identical in every mode (JIT and reference executor).
 * A draw returns the numbers and, through *new_state (may be NULL), the state after them: put it
 * in a function's updates, or rely on the state's default update, which each draw sets to its new
 * state (so a function using a draw advances the stream by itself, unless no_default_updates).
 * Successive draws from one shared state chain: each starts where the previous one ended (at the
 * state's default update), so they are independent, as successive RandomStreams calls. Drawing
 * from a returned new state chains explicitly; two draws from the very same non-shared state
 * give the same numbers. `shape` is an integer vector whose length is known when the graph is
 * built (a constant vector, or a tj_stack of integer scalars such as tj_shape_of); its values
 * (sizes >= 0) are read at run time. Draws have no gradient (they are constants to tj_grad).
 * Errors: TJ_ERR_TYPE for a state that is not an int64 vector or a dtype the distribution does
 * not produce, TJ_ERR_VALUE for a parameter out of its domain or a shape of unknown length; at
 * run time a negative size or a malformed state value is TJ_ERR_VALUE naming the draw.
 * Every returned variable belongs to the state's context. */
/* A new shared random state (key = seed, counter 0) named `name`; an int64 vector of length 2. */
tj_var *tj_rng_state(tj_ctx *ctx, uint64_t seed, const char *name);
/* Uniform on [0, 1) in float32 (24 random bits) or float64 (53 random bits). */
tj_var *tj_random_uniform(tj_var *state, tj_var *shape, tj_dtype dtype, tj_var **new_state);
/* Uniform on [low, high) (finite, low <= high; low == high gives low): low + (high - low) * u
 * computed in float64 and rounded to dtype, kept below high. Theano's uniform(size, low, high). */
tj_var *tj_random_uniform_range(tj_var *state, tj_var *shape, double low, double high,
                                tj_dtype dtype, tj_var **new_state);
/* Standard normal (Box-Muller on two 53-bit uniforms, in float64, rounded to dtype). */
tj_var *tj_random_normal(tj_var *state, tj_var *shape, tj_dtype dtype, tj_var **new_state);
/* Normal with the given mean and standard deviation (finite, std >= 0): mean + std * z.
 * Theano's normal(size, avg, std). */
tj_var *tj_random_normal_scaled(tj_var *state, tj_var *shape, double mean, double std,
                                tj_dtype dtype, tj_var **new_state);
/* Binomial(n, p) counts (n >= 0, 0 <= p <= 1) by exact inversion; dtype any integer, bool (n <= 1)
 * or float type that holds n. Costs O(n min(p, 1-p)) per element, which must be <= 2^24
 * (TJ_ERR_VALUE otherwise). Theano's binomial(size, n, p); n = 1 draws Bernoulli masks. */
tj_var *tj_random_binomial(tj_var *state, tj_var *shape, int64_t n, double p, tj_dtype dtype,
                           tj_var **new_state);

/* ------------------------------------------------------------------------------------------------
 * Differentiation: theano.grad(cost, wrt). cost must be a float scalar. Fills grads[i] with
 * d cost / d wrt[i] (a variable of wrt[i]'s type); integer wrt get zeros.
 */
/* Theano's disconnected_inputs: a wrt the cost does not depend on fails the call with
 * TJ_ERR_DISCONNECTED (raise), gets zeros with a logged warning (warn), or gets zeros (ignore). */
typedef enum { TJ_DISCONNECTED_RAISE, TJ_DISCONNECTED_WARN, TJ_DISCONNECTED_IGNORE } tj_disconnected;
/* One entry of known_grads: the gradient of the sources with respect to `var` is `grad` (a float
 * tensor of var's rank; it is broadcast and cast to var's exact type). */
typedef struct {
    tj_var *var;
    tj_var *grad;
} tj_known_grad;
/* The options of tj_grad_v2 (theano.grad's keyword arguments); start from TJ_GRAD_OPTS_INIT.
 * The arrays are borrowed for the duration of the call. */
typedef struct {
    tj_var *const *consider_constant; /* treated as constants: no gradient flows through them */
    int nconsider_constant;
    tj_disconnected disconnected_inputs; /* default TJ_DISCONNECTED_RAISE */
    /* Theano's known_grads: these variables' gradients are given rather than computed from their
     * consumers, and the gradient flows on from them; the cost may then be NULL (only the known
     * gradients are propagated), or it adds its own gradient (1 for the cost itself, unless the
     * cost is listed). A listed wrt gets its given gradient. */
    const tj_known_grad *known_grads;
    int nknown_grads;
} tj_grad_opts;
#define TJ_GRAD_OPTS_INIT {NULL, 0, TJ_DISCONNECTED_RAISE, NULL, 0} /* theano.grad's defaults */

/* theano.grad(cost, wrt): fills grads[0..nwrt-1] with d cost / d wrt[i], variables of cost's
 * context with exactly wrt[i]'s type (integer wrt get zeros). On an error every grads[i] is NULL
 * and the status says why (a NULL cost is TJ_ERR_INVALID in the thread's slot, tj_errmsg(NULL)).
 * The gradient is an ordinary graph: it can be compiled, and differentiated again. */
tj_status tj_grad(tj_var *cost, tj_var *const *wrt, int nwrt, tj_var **grads);
/* tj_grad with options (opts NULL = TJ_GRAD_OPTS_INIT); with known_grads the cost may be NULL. */
tj_status tj_grad_v2(tj_var *cost, tj_var *const *wrt, int nwrt, tj_var **grads,
                     const tj_grad_opts *opts);

/* ---- gradient markers and helpers (Theano's zero_grad, disconnected_grad, jacobian, hessian) ---
 * The markers are x in value (and in a compiled function); they only change what tj_grad sees.
 * The returned variables belong to x's context. */
/* x with a zero gradient: wrt reached only through it get zeros (connected, no error). */
tj_var *tj_zero_grad(tj_var *x);
/* x with no gradient at all: wrt reached only through it are disconnected (the
 * disconnected_inputs policy applies). tj_stop_gradient is the same op under JAX's name. */
tj_var *tj_disconnected_grad(tj_var *x);
tj_var *tj_stop_gradient(tj_var *x);
/* theano.gradient.jacobian: *jacobian receives d expr / d wrt, of shape (n,) + wrt's shape, for
 * a float vector expr of length n (row k = the gradient of expr[k]); for a float scalar expr, its
 * gradient. n is given because graphs carry no static lengths; a vector of another length is a
 * TJ_ERR_SHAPE at run time. Builds n reverse passes: meant for small n. opts may be NULL; its
 * consider_constant and disconnected_inputs apply to every row (known_grads is an error). */
tj_status tj_jacobian(tj_var *expr, tj_var *wrt, int64_t n, tj_var **jacobian,
                      const tj_grad_opts *opts);
/* theano.gradient.hessian: the (n, n) matrix of second derivatives of the float scalar cost with
 * respect to the float vector wrt of length n: the Jacobian of its gradient. A cost whose
 * gradient does not depend on wrt (linear) is disconnected there: pass
 * TJ_DISCONNECTED_IGNORE to get zeros. opts as for tj_jacobian. */
tj_status tj_hessian(tj_var *cost, tj_var *wrt, int64_t n, tj_var **hessian,
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
/* theano.function's mode: FAST_RUN (optimized, LLVM JIT), FAST_COMPILE (reference executor),
 * DEBUG (both, every output and update compared; the first difference is an error). */
typedef enum { TJ_MODE_FAST_RUN, TJ_MODE_FAST_COMPILE, TJ_MODE_DEBUG } tj_mode;
/* theano.function's on_unused_input: an input no output uses is an error, a logged warning, or
 * accepted silently. */
typedef enum { TJ_UNUSED_RAISE, TJ_UNUSED_WARN, TJ_UNUSED_IGNORE } tj_unused_input;

/* theano.function's keyword arguments; start from TJ_FUNCTION_OPTS_INIT. Borrowed during
 * tj_function only. updates: parallel assignments (from pre-call values) committed after a
 * successful call; givens: replacements applied before compiling (not of a function input);
 * no_default_updates: ignore shared variables' default updates; accept_inplace: accepted (the
 * graph API has no in-place ops); name: used in messages and profiles; rebuild_strict: a given's
 * replacement must keep the exact type; allow_input_downcast: -1 (Theano's None: only float
 * scalars may lose precision), 0 (no lossy conversion), 1 (any); profile: per-step timings for
 * tj_fn_profile_print; on_unused_input: see tj_unused_input. */
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
    /* The graph optimizer (Theano's optimizer_excluding / optimizer_including): names of passes
     * (merge, canonicalize, stabilize, blas, specialize, fusion, inplace, final_merge) or of rules
     * (as tj_fn_rewrites shows them). Excluded ones never run; included ones run even where they
     * would not (a pass FAST_COMPILE skips, a rule that is off by default). An unknown name is an
     * error. The arrays are borrowed during tj_function only. */
    const char *const *optimizer_excluding;
    int noptimizer_excluding;
    const char *const *optimizer_including;
    int noptimizer_including;
} tj_function_opts;
/* theano.function's defaults */
#define TJ_FUNCTION_OPTS_INIT                                                                     \
    {TJ_MODE_FAST_RUN, NULL, 0, NULL, 0, false, false, NULL, true, -1, false, TJ_UNUSED_RAISE,  \
     NULL, 0, NULL, 0}

/* A compiled function. It belongs to its context (freed with it, or earlier by tj_fn_free). */
typedef struct tj_fn tj_fn;

/* Compiles outputs as functions of inputs (nout may be 0: a function run for its updates).
 * opts NULL = defaults. The function belongs to ctx. */
tj_fn *tj_function(tj_ctx *ctx, tj_var *const *inputs, int nin, tj_var *const *outputs, int nout,
                   const tj_function_opts *opts);
/* Runs the function. outputs[i] receives a new reference the caller owns (and may modify). */
tj_status tj_call(tj_fn *fn, tj_array *const *inputs, tj_array **outputs);
/* tj_call writing into arrays the caller owns (Theano's output storage reuse): outputs[i] may
 * be an existing array of the output's dtype and shape, C-contiguous, owning its memory and
 * sharing none with an input, a shared variable or another output; the result is written into
 * it (directly by the kernel where the step allows, else copied) and it keeps its reference.
 * outputs[i] == NULL receives a new array as with tj_call. With every output given and a
 * plan whose intermediates are reused, a call allocates nothing. A wrong dtype, shape or an
 * aliasing array is an error naming the output. */
tj_status tj_call_into(tj_fn *fn, tj_array *const *inputs, tj_array **outputs);
/* tj_call that also checks the counts: nin inputs given, room for nout outputs. */
tj_status tj_call_n(tj_fn *fn, tj_array *const *inputs, int nin, tj_array **outputs, int nout);
int tj_fn_nin(const tj_fn *fn);  /* the number of inputs; -1 for an invalid fn */
int tj_fn_nout(const tj_fn *fn); /* the number of outputs (updates not counted); -1 if invalid */
void tj_fn_free(tj_fn *fn); /* NULL-safe */

/* Looking inside. Each returns a new string the caller frees with free(), or NULL. */
char *tj_fn_graph(tj_fn *fn);              /* the executed graph, debugprint style */
char *tj_fn_ir(tj_fn *fn, bool optimized); /* LLVM IR of the function's kernels */
char *tj_fn_asm(tj_fn *fn);                /* native assembly of the kernels */
bool tj_fn_jitted(const tj_fn *fn); /* false when it runs in the reference executor */
/* Why fn runs in the reference executor: "" when it is jitted; otherwise a sentence (FAST_COMPILE
 * mode, the JIT forced off by the environment variable TJ_JIT=off, or the LLVM failure it fell
 * back from, which the context's log also received). Borrowed, lives with fn; NULL if fn is
 * invalid. */
const char *tj_fn_jit_reason(const tj_fn *fn);
/* With opts.profile: calls, time per call, and per step (kernel, BLAS call, view) its calls,
 * total time, share and bytes produced. */
tj_status tj_fn_profile_print(tj_fn *fn, FILE *out);
/* What the optimizer did to fn, in order, one line each: the pass, the rule, the node before ->
 * the node after; then the fusion and in-place decisions of the plan. A new string the caller
 * frees with free(), or NULL. */
char *tj_fn_rewrites(tj_fn *fn);
/* How many times the rule or pass `name` fired for fn (NULL: every rewrite); -1 if fn is
 * invalid. */
int tj_fn_rewrite_count(const tj_fn *fn, const char *name);

/* Counters of a context's compilations since tj_ctx_new. */
typedef struct {
    uint64_t llvm_compiles;   /* modules handed to LLVM */
    uint64_t cache_hits;      /* tj_function calls served by already-compiled code in memory */
    uint64_t disk_cache_hits; /* modules loaded from the disk cache ($TJ_CACHE_DIR, default
                                 ~/.cache/tensorjit; TJ_CACHE_DIR=off disables it) */
    double compile_ms;        /* time spent making code: LLVM, or loading from disk */
    uint64_t graph_cache_hits; /* of cache_hits, those whose graph before optimization equalled
                                  an earlier compile's (same structure, input types, mode and
                                  optimizer options): no rewrites, no scheduling, no LLVM */
} tj_stats;
void tj_ctx_stats(const tj_ctx *ctx, tj_stats *out); /* fills *out (zeros for an invalid ctx) */

/* LLVM runs in a compile server process (tensorjit-llvm-server, installed beside the library),
 * started at the first compile from scratch and kept for the process's life: this process never
 * maps libLLVM, and a crash inside LLVM fails that one compile (the function runs in the
 * reference executor, reported) instead of this process. $TJ_COMPILE_SERVER names another
 * server binary, or "off" to compile in this process (as when no server can be started).
 * tj_compile_server_stop ends the server and waits for it, giving its memory back; the next
 * compile from scratch starts another. Compiled code stays valid. Returns the server's process
 * id, 0 when none was running. */
int tj_compile_server_stop(void);

#ifdef __cplusplus
}
#endif
#endif /* TENSORJIT_H */
