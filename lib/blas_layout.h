/* How an array is handed to OpenBLAS without a copy: a matrix as row-major storage of itself or of
 * its transpose with a leading dimension, a vector with a positive increment. Shared by the dot
 * family (lib/blas.c) and the gemm/gemv/ger steps (lib/blas_gemm.c). */
#ifndef TJ_BLAS_LAYOUT_H
#define TJ_BLAS_LAYOUT_H

#include "internal.h"

#include <cblas.h>
#include <limits.h>

static inline bool tjB_fits_int(int64_t v) { return v >= 0 && v <= INT_MAX; }
static inline int64_t tjB_max1(int64_t v) { return v > 1 ? v : 1; }

/* A logical rows x cols matrix as BLAS takes it: row-major storage of itself (trans false) or of
 * its transpose (trans true), leading dimension ld in elements. */
typedef struct {
    const char *p;
    bool trans;
    blasint ld;
} tjB_mat;

TJ_HIDDEN bool tjB_as_mat(const tj_array *a, tjB_mat *m);
/* A vector as BLAS takes it: a positive increment in elements. */
TJ_HIDDEN bool tjB_as_vec(const tj_array *a, blasint *inc);
/* a as BLAS can take it, or a C-contiguous copy of it in *tmp from ctx's allocator (NULL: out of
 * memory). */
TJ_HIDDEN const tj_array *tjB_ready(tj_ctx *ctx, const tj_array *a, tj_array **tmp);

#endif
