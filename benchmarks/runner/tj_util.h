/* Helpers for the tensorjit implementations: arrays from the shared data, fingerprints of
 * tj_arrays, and the common "call a compiled function" operation. */
#ifndef TJ_UTIL_H
#define TJ_UTIL_H

#include "bench_impl.h"

#include <tensorjit.h>

#define TU_MAX_IO 8

/* A compiled function with its inputs: op = tj_call + dropping the outputs (what a caller pays),
 * or with `into` set, tj_call_into reusing the output arrays of the first call (what the C limit
 * does: it writes into a reused buffer). */
typedef struct {
    tj_ctx *ctx;
    tj_fn *fn;
    int nin, nout;
    bool into;
    tj_array *in[TU_MAX_IO];
    tj_array *out[TU_MAX_IO]; /* into: the reused outputs */
    tj_var *shared[TU_MAX_IO]; /* shared variables whose values the check fingerprints */
    int nshared;
} tu_fn;

tu_fn *tu_fn_new(void);
/* Nanoseconds per plain tj_call (outputs allocated and dropped) over `reps` calls; -1 on error. */
double tu_plain_call_ns(tu_fn *f, int reps);
void tu_fn_destroy(void *state); /* frees the context and the arrays; NULL-safe */
int tu_fn_op(void *state);
/* Calls once; fingerprints every output, then every registered shared variable, into c->check.
 * Sets c->state/op/destroy to the function. On failure writes err and returns -1. */
int tu_fn_finish(tu_fn *f, bi_case *c, char *err, size_t errlen);

/* A float32 array of the given shape filled by bench_data.h (NULL on failure). */
tj_array *tu_normal(int ndim, const int64_t *shape, uint64_t seed, double scale);
tj_array *tu_uniform(int ndim, const int64_t *shape, uint64_t seed);
tj_array *tu_bernoulli(int ndim, const int64_t *shape, uint64_t seed);
tj_array *tu_onehot(int64_t rows, int64_t classes, uint64_t seed);

int tu_fingerprint(tj_array *a, double *fp);
/* Writes "what: <tj_errmsg(ctx)>" into err; returns -1. */
int tu_fail(tj_ctx *ctx, const char *what, char *err, size_t errlen);

#endif
