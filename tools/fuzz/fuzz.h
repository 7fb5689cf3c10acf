/* Shared pieces of the libFuzzer targets in fuzz/: a reader that turns the fuzzer's bytes into
 * choices (exhausted input reads as zeros, so every input is a valid program), arrays with
 * fuzzed shapes and values, and a table of graph builders applied to fuzzed operands. */
#ifndef TJ_FUZZ_H
#define TJ_FUZZ_H

#include "tensorjit.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    const uint8_t *p;
    size_t n;
    bool tame; /* fz_value keeps to small integers and quarters (no infinities, no 1e30) */
} fz_in;

static inline bool fz_more(const fz_in *in) { return in->n > 0; }
/* The readers below consume bytes in call order. Never call two of them in one expression whose
 * order C leaves open (the arguments of one call, the two sides of `=`): clang (the fuzzers)
 * evaluates arguments left to right and gcc (the replays in ctest) right to left, so one input
 * would decode to two different programs. One read per statement, in the order clang used. */
uint8_t fz_u8(fz_in *in);
/* a choice in [0, n) (n >= 1) */
unsigned fz_pick(fz_in *in, unsigned n);
bool fz_bool(fz_in *in);
/* a value from a table biased to the edges (0, -0, 1, NaN, ±Inf, denormals, dtype limits) and
 * small integers and fractions */
double fz_value(fz_in *in);
tj_dtype fz_dtype(fz_in *in);
/* a tj_log_fn that drops the message: fuzzed graphs warn a lot */
void fz_quiet_log(void *user, const char *message);
/* an allocator whose blocks all count against 32 MiB of live bytes (fuzz_budget.c) */
const tj_allocator *fz_budget(void);

/* A C-contiguous array of dtype and rank with each length in [0, maxlen] (a broadcastable axis
 * of `like`, when given, gets 1), filled with fz_value; NULL when the library refuses. */
tj_array *fz_array(fz_in *in, tj_dtype dtype, int ndim, int maxlen);

/* What fz_apply built: its accuracy class, for the differential target's tolerance. */
typedef enum {
    FZ_EXACT,    /* exact in both executors, whatever the JIT fuses: bit-identical results */
    FZ_ULPS,     /* a transcendental function: a few ulps (docs/VMATH.md) */
    FZ_REASSOC,  /* float arithmetic: the JIT's reassoc/contract flags (jit/llvm/lower_ops.c) let LLVM
                    regroup and fuse it into FMAs; sums, dots and means add in another order */
    FZ_CHAOTIC,  /* a discontinuous op (floor, compare, cast to int, index) of an inexact value:
                    an ulp of difference before it can be any difference after it */
} fz_accuracy;

/* Applies one fuzzed builder (elementwise unary/binary, cast, reduction, reshape, dimshuffle,
 * indexing, dot, ...) to operands picked from pool[0..npool-1] (npool >= 1) whose classes are
 * pool_acc[] (NULL: all exact). Returns the new variable (NULL when the builder refused: an error
 * status is a valid outcome) and in *acc the loosest class of the op and its operands. Sets
 * *grad_by_convention (when not NULL) for an op whose gradient is not its derivative by design:
 * zero_grad, disconnected_grad, and set_subtensor through take, where of duplicate indices the
 * last write is the value but every write gets the gradient (Theano's and JAX's rule). */
tj_var *fz_apply(fz_in *in, tj_ctx *ctx, tj_var *const *pool, const fz_accuracy *pool_acc,
                 int npool, fz_accuracy *acc, bool *grad_by_convention);

#endif
