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

#endif
