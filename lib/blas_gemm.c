/* The BLAS calls of the optimizer's gemm, gemv and ger steps: alpha, beta and transpose flags go
 * straight to OpenBLAS, and strided operands are passed as BLAS layouts without a copy whenever
 * one stride is the element size (a transposed view is the other layout). What BLAS cannot take
 * (sizes beyond its int, other strides) is copied to a contiguous temporary; the result array is
 * always C-contiguous (the caller allocates it). float32 and float64 only. */
#include "blas_layout.h"
#include "pool.h"

#include <string.h>

static void scale(tj_array *c, double beta)
{
    for (int64_t i = 0; i < c->size; i++) {
        if (c->dtype == TJ_FLOAT32) {
            float *p = (float *)c->data + i;
            *p = beta == 0 ? 0.0f : *p * (float)beta;
        } else {
            double *p = (double *)c->data + i;
            *p = beta == 0 ? 0.0 : *p * beta;
        }
    }
}

bool tjB_gemm(tj_ctx *ctx, bool ta, bool tb, double alpha, const tj_array *A, const tj_array *B,
              double beta, tj_array *C)
{
    int64_t m = C->shape[0], n = C->shape[1], k = ta ? A->shape[0] : A->shape[1];
    if (m == 0 || n == 0)
        return true;
    if (k == 0 || !tjB_fits_int(m) || !tjB_fits_int(n) || !tjB_fits_int(k)) {
        if (k != 0)
            return false;
        scale(C, beta); /* an empty product: beta * C */
        return true;
    }
    tj_array *t1 = NULL, *t2 = NULL;
    const tj_array *a = tjB_ready(ctx, A, &t1), *b = tjB_ready(ctx, B, &t2);
    bool ok = a && b;
    if (ok) {
        tjP_blas_threads(tjP_threads(ctx));
        tjB_mat ma, mb;
        tjB_as_mat(a, &ma);
        tjB_as_mat(b, &mb);
        enum CBLAS_TRANSPOSE xa = ma.trans != ta ? CblasTrans : CblasNoTrans;
        enum CBLAS_TRANSPOSE xb = mb.trans != tb ? CblasTrans : CblasNoTrans;
        if (C->dtype == TJ_FLOAT32)
            cblas_sgemm(CblasRowMajor, xa, xb, (blasint)m, (blasint)n, (blasint)k, (float)alpha,
                        (const float *)ma.p, ma.ld, (const float *)mb.p, mb.ld, (float)beta,
                        (float *)C->data, (blasint)n);
        else
            cblas_dgemm(CblasRowMajor, xa, xb, (blasint)m, (blasint)n, (blasint)k, alpha,
                        (const double *)ma.p, ma.ld, (const double *)mb.p, mb.ld, beta,
                        (double *)C->data, (blasint)n);
    }
    tj_array_unref(t1);
    tj_array_unref(t2);
    return ok;
}

bool tjB_gemv(tj_ctx *ctx, bool ta, double alpha, const tj_array *A, const tj_array *x, double beta,
              tj_array *y)
{
    int64_t rows = A->shape[0], cols = A->shape[1], m = y->shape[0];
    int64_t k = ta ? rows : cols;
    if (m == 0)
        return true;
    if (k == 0 || !tjB_fits_int(rows) || !tjB_fits_int(cols)) {
        if (k != 0)
            return false;
        scale(y, beta);
        return true;
    }
    tj_array *t1 = NULL, *t2 = NULL;
    const tj_array *a = tjB_ready(ctx, A, &t1), *v = tjB_ready(ctx, x, &t2);
    bool ok = a && v;
    if (ok) {
        tjP_blas_threads(tjP_threads(ctx));
        tjB_mat ma;
        blasint inc;
        tjB_as_mat(a, &ma);
        tjB_as_vec(v, &inc);
        /* the stored matrix is A (rows x cols) or A^T (cols x rows) */
        blasint sr = (blasint)(ma.trans ? cols : rows), sc = (blasint)(ma.trans ? rows : cols);
        enum CBLAS_TRANSPOSE t = ma.trans != ta ? CblasTrans : CblasNoTrans;
        if (y->dtype == TJ_FLOAT32)
            cblas_sgemv(CblasRowMajor, t, sr, sc, (float)alpha, (const float *)ma.p, ma.ld,
                        (const float *)v->data, inc, (float)beta, (float *)y->data, 1);
        else
            cblas_dgemv(CblasRowMajor, t, sr, sc, alpha, (const double *)ma.p, ma.ld,
                        (const double *)v->data, inc, beta, (double *)y->data, 1);
    }
    tj_array_unref(t1);
    tj_array_unref(t2);
    return ok;
}

bool tjB_ger(tj_ctx *ctx, double alpha, const tj_array *x, const tj_array *y, tj_array *C)
{
    int64_t m = C->shape[0], n = C->shape[1];
    if (m == 0 || n == 0)
        return true;
    if (!tjB_fits_int(m) || !tjB_fits_int(n))
        return false;
    tj_array *t1 = NULL, *t2 = NULL;
    const tj_array *a = tjB_ready(ctx, x, &t1), *b = tjB_ready(ctx, y, &t2);
    bool ok = a && b;
    if (ok) {
        tjP_blas_threads(tjP_threads(ctx));
        blasint ia, ib;
        tjB_as_vec(a, &ia);
        tjB_as_vec(b, &ib);
        if (C->dtype == TJ_FLOAT32)
            cblas_sger(CblasRowMajor, (blasint)m, (blasint)n, (float)alpha, (const float *)a->data,
                       ia, (const float *)b->data, ib, (float *)C->data, (blasint)n);
        else
            cblas_dger(CblasRowMajor, (blasint)m, (blasint)n, alpha, (const double *)a->data, ia,
                       (const double *)b->data, ib, (double *)C->data, (blasint)n);
    }
    tj_array_unref(t1);
    tj_array_unref(t2);
    return ok;
}
