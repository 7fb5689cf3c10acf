/* Shared helpers for the Criterion suites. */
#ifndef TJ_TEST_SUPPORT_H
#define TJ_TEST_SUPPORT_H

#include "tensorjit.h"

#include <stdint.h>

/* Distance in units in the last place between two floats of the same sign class; NaN == NaN. */
uint64_t tjt_ulp_f32(float a, float b);
uint64_t tjt_ulp_f64(double a, double b);

/* The suite's JIT-off pass (TJ_JIT=off, `make test`): every function runs in the reference
 * executor, so tests expect tj_fn_jitted false, no compiles and no in-place plan steps. */
bool tjt_jit_off(void);

/* A C-contiguous array of dtype from doubles (converted as a C cast). */
tj_array *tjt_array(tj_dtype dtype, int ndim, const int64_t *shape, const double *values);
/* Element i (C order) of any array as double. */
double tjt_at(const tj_array *a, int64_t i);

/* The seed's logistic-regression train step (benchmarks' W2) over TJT_FEATS float32 features,
 * with reproducible data and a float64 model of it (test_call_reuse, test_replay). */
enum { TJT_FEATS = 3 };
/* sin(0.7 i + 1.3 salt) */
double tjt_datum(int64_t i, int salt);
/* n x TJT_FEATS float32 tjt_datum(i * TJT_FEATS + j, salt): C order, or a column-major buffer
 * handed over as a strided view */
tj_array *tjt_logreg_x(int64_t n, int salt, bool column_major);
/* n float32 labels tjt_datum(i, salt + 7) > 0 */
tj_array *tjt_logreg_y(int64_t n, int salt);
/* Inputs x, y; outputs prediction, xent, cost; updates w -= 0.1 grad, b -= 0.1 grad with w, b
 * new shared variables (w_j = 0.5 - 0.3 j, b = 0.25). NULL when a builder fails. */
tj_fn *tjt_logreg_train(tj_ctx *ctx, tj_var **w, tj_var **b);
/* The model's step on tjt_logreg_x/y(n, salt) from w, b (advanced to the values after it):
 * how many of out[] (prediction, xent, cost) differ from it, the first described in why. */
int tjt_logreg_step(tj_array *const *out, int64_t n, int salt, double *w, double *b, char *why,
                    size_t len);

#endif
