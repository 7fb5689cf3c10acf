/* The BLAS calls of the optimizer's gemm, gemv and ger steps: alpha, beta and transpose flags go
 * straight to OpenBLAS, and strided operands are passed as BLAS layouts without a copy whenever
 * one stride is the element size (a transposed view is the other layout). What BLAS cannot take
 * (sizes beyond its int, other strides) is copied to a contiguous temporary; the result array is
 * always C-contiguous (the caller allocates it). float32 and float64 only. */
#include "internal.h"

#include <cblas.h>
#include <limits.h>
#include <string.h>

static bool fits(int64_t v) { return v >= 0 && v <= INT_MAX; }
static int64_t max1(int64_t v) { return v > 1 ? v : 1; }

/* A rows x cols matrix as BLAS takes it: row-major storage of itself (trans false) or of its
 * transpose (trans true), leading dimension ld in elements. */
typedef struct {
    const char *p;
    bool trans;
    blasint ld;
} bmat;

static bool as_bmat(const tj_array *a, bmat *m)
{
    int64_t e = (int64_t)tj_dtype_size(a->dtype), r = a->shape[0], c = a->shape[1];
    if ((uintptr_t)a->data % (uintptr_t)e)
        return false;
    /* the stride of a length-1 axis is meaningless: give it the value the layout wants */
    int64_t s0 = r == 1 ? max1(c) * e : a->strides[0], s1 = c == 1 ? e : a->strides[1];
    if (s1 == e && s0 % e == 0 && s0 / e >= max1(c) && fits(s0 / e)) {
        *m = (bmat){a->data, false, (blasint)(s0 / e)};
        return true;
    }
    s0 = r == 1 ? e : a->strides[0];
    s1 = c == 1 ? max1(r) * e : a->strides[1];
    if (s0 == e && s1 % e == 0 && s1 / e >= max1(r) && fits(s1 / e)) {
        *m = (bmat){a->data, true, (blasint)(s1 / e)};
        return true;
    }
    return false;
}

static bool as_bvec(const tj_array *a, blasint *inc)
{
    int64_t e = (int64_t)tj_dtype_size(a->dtype), s = a->strides[0];
    if ((uintptr_t)a->data % (uintptr_t)e)
        return false;
    if (a->shape[0] <= 1) {
        *inc = 1;
        return true;
    }
    if (s <= 0 || s % e != 0 || !fits(s / e))
        return false;
    *inc = (blasint)(s / e);
    return true;
}

/* a as BLAS can take it, or a contiguous copy in *tmp (NULL: out of memory) */
static const tj_array *ready(const tj_array *a, tj_array **tmp)
{
    bmat m;
    blasint inc;
    if (a->ndim == 2 ? as_bmat(a, &m) : as_bvec(a, &inc))
        return a;
    *tmp = tj_array_copy(a);
    return *tmp;
}

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

bool tjB_gemm(bool ta, bool tb, double alpha, const tj_array *A, const tj_array *B, double beta,
              tj_array *C)
{
    int64_t m = C->shape[0], n = C->shape[1], k = ta ? A->shape[0] : A->shape[1];
    if (m == 0 || n == 0)
        return true;
    if (k == 0 || !fits(m) || !fits(n) || !fits(k)) {
        if (k != 0)
            return false;
        scale(C, beta); /* an empty product: beta * C */
        return true;
    }
    tj_array *t1 = NULL, *t2 = NULL;
    const tj_array *a = ready(A, &t1), *b = ready(B, &t2);
    bool ok = a && b;
    if (ok) {
        bmat ma, mb;
        as_bmat(a, &ma);
        as_bmat(b, &mb);
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

bool tjB_gemv(bool ta, double alpha, const tj_array *A, const tj_array *x, double beta,
              tj_array *y)
{
    int64_t rows = A->shape[0], cols = A->shape[1], m = y->shape[0];
    int64_t k = ta ? rows : cols;
    if (m == 0)
        return true;
    if (k == 0 || !fits(rows) || !fits(cols)) {
        if (k != 0)
            return false;
        scale(y, beta);
        return true;
    }
    tj_array *t1 = NULL, *t2 = NULL;
    const tj_array *a = ready(A, &t1), *v = ready(x, &t2);
    bool ok = a && v;
    if (ok) {
        bmat ma;
        blasint inc;
        as_bmat(a, &ma);
        as_bvec(v, &inc);
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

bool tjB_ger(double alpha, const tj_array *x, const tj_array *y, tj_array *C)
{
    int64_t m = C->shape[0], n = C->shape[1];
    if (m == 0 || n == 0)
        return true;
    if (!fits(m) || !fits(n))
        return false;
    tj_array *t1 = NULL, *t2 = NULL;
    const tj_array *a = ready(x, &t1), *b = ready(y, &t2);
    bool ok = a && b;
    if (ok) {
        blasint ia, ib;
        as_bvec(a, &ia);
        as_bvec(b, &ib);
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
