/* numpy.dot for vectors and matrices, and batches of them (tjB_matmul): float32/float64 through
 * OpenBLAS, other dtypes (and any case BLAS cannot take: sizes beyond its int, a failed temporary
 * copy, a strided output) by a plain loop over byte strides.
 *
 * Strided operands reach BLAS without a copy whenever one stride is the element size and the
 * other a whole number of elements at least the row length: a transpose view is then BLAS's
 * other layout, expressed with a transpose flag. Anything else is copied to a C-contiguous
 * temporary first. */
#include "blas_layout.h"
#include "pool.h"

#include <stdlib.h>
#include <string.h>

/* A 2-d operand for the plain loop: rows x cols with byte strides (a vector is 1 x k or k x 1). */
typedef struct {
    const char *p;
    int64_t rows, cols, s0, s1;
} view2;

#define LOAD(v, p) memcpy(&(v), (p), sizeof(v))

/* out[i,j] = sum_p a[i,p] * b[p,j]: floats accumulate in the dtype, integers wrap (in the dtype:
 * the same as through uint64 and truncated), bool is "any(a and b)" as numpy. The order is i, p,
 * j: out's row i is the accumulator and b's row p is read along j, so the inner loop is an axpy
 * the compiler vectorizes when both rows are contiguous (the i, j, p order read b by columns: a
 * 400x400x400 uint8 product took 41 ms, now 4.3 ms). Each out[i,j] still adds its terms in the
 * order of p, from +0, so floats round exactly as a dot per element does. */
#define NAIVE(SUF, T, EXACT, STEP)                                                                 \
    static void axpy_##SUF(char *o, int64_t os, T x, const char *b, int64_t bs, int64_t n)         \
    {                                                                                              \
        (void)x; /* bool's step does not read it */                                                \
        for (int64_t j = 0; j < n; j++) {                                                          \
            T acc, y;                                                                              \
            LOAD(acc, o + j * os);                                                                 \
            LOAD(y, b + j * bs);                                                                   \
            acc = STEP;                                                                            \
            memcpy(o + j * os, &acc, sizeof acc);                                                  \
        }                                                                                          \
    }                                                                                              \
    static void naive_##SUF(const view2 *a, const view2 *b, char *o, int64_t os0, int64_t os1)     \
    {                                                                                              \
        int64_t n = b->cols;                                                                       \
        bool flat = os1 == (int64_t)sizeof(T) && b->s1 == (int64_t)sizeof(T);                      \
        for (int64_t i = 0; i < a->rows; i++) {                                                    \
            char *orow = o + i * os0;                                                              \
            for (int64_t j = 0; j < n; j++)                                                        \
                memset(orow + j * os1, 0, sizeof(T));                                              \
            for (int64_t p = 0; p < a->cols; p++) {                                                \
                T x;                                                                               \
                LOAD(x, a->p + i * a->s0 + p * a->s1);                                             \
                if (EXACT && x == 0) /* adds nothing; not skipped for floats: 0 * inf is NaN */     \
                    continue;                                                                      \
                const char *brow = b->p + p * b->s0;                                               \
                if (flat) /* constant strides: the compiler vectorizes this copy of the loop */   \
                    axpy_##SUF(orow, sizeof(T), x, brow, sizeof(T), n);                            \
                else                                                                               \
                    axpy_##SUF(orow, os1, x, brow, b->s1, n);                                      \
            }                                                                                      \
        }                                                                                          \
    }

/* integers wrap modulo 2^width: unsigned, and at least unsigned int (a uint16 product would
 * overflow int) */
#define WRAP(T, U) (T)((U)acc + (U)x * (U)y)
NAIVE(f32, float, false, acc + x * y)
NAIVE(f64, double, false, acc + x * y)
NAIVE(i8, int8_t, true, WRAP(int8_t, uint32_t))
NAIVE(i16, int16_t, true, WRAP(int16_t, uint32_t))
NAIVE(i32, int32_t, true, WRAP(int32_t, uint32_t))
NAIVE(i64, int64_t, true, WRAP(int64_t, uint64_t))
NAIVE(u8, uint8_t, true, WRAP(uint8_t, uint32_t))
NAIVE(bool, uint8_t, true, (uint8_t)(acc | (y != 0))) /* x is 1 here */

static void (*const naive[TJ_NUM_DTYPES])(const view2 *, const view2 *, char *, int64_t,
                                          int64_t) = {
    [TJ_BOOL] = naive_bool,   [TJ_INT8] = naive_i8,     [TJ_INT16] = naive_i16,
    [TJ_INT32] = naive_i32,   [TJ_INT64] = naive_i64,   [TJ_UINT8] = naive_u8,
    [TJ_FLOAT32] = naive_f32, [TJ_FLOAT64] = naive_f64,
};

/* a as a 2-d view: a matrix as is, a vector as a row (left operand) or a column (right). */
static view2 as_view(const tj_array *a, bool left)
{
    if (a->ndim == 2)
        return (view2){a->data, a->shape[0], a->shape[1], a->strides[0], a->strides[1]};
    if (left)
        return (view2){a->data, 1, a->shape[0], 0, a->strides[0]};
    return (view2){a->data, a->shape[0], 1, a->strides[0], 0};
}

/* ---- the BLAS path --------------------------------------------------------------------------- */

/* float32/float64 through BLAS; false when the case has to go to the plain loop. */
static bool dot_blas(tj_ctx *ctx, const tj_array *a0, const tj_array *b0, tj_array *out)
{
    bool f32 = out->dtype == TJ_FLOAT32, ok = false;
    int64_t m = a0->ndim == 2 ? a0->shape[0] : 1, k = b0->shape[0];
    int64_t n = b0->ndim == 2 ? b0->shape[1] : 1;
    if (!tjB_fits_int(m) || !tjB_fits_int(n) || !tjB_fits_int(k) || !tjA_is_contiguous(out))
        return false;
    tj_array *ta = NULL, *tb = NULL;
    const tj_array *a = tjB_ready(ctx, a0, &ta), *b = tjB_ready(ctx, b0, &tb);
    tjB_mat A, B;
    blasint incx, incy;
    if (!a || !b)
        goto done;
    tjP_blas_threads(tjP_threads(ctx));
    if (a->ndim == 1 && b->ndim == 1) {
        tjB_as_vec(a, &incx);
        tjB_as_vec(b, &incy);
        tjB_vdot(out->dtype, (int64_t)k, a->data, incx, b->data, incy, out->data);
    } else if (b->ndim == 1 || a->ndim == 1) {
        /* y = A x, or y = x B = B^T x: one gemv over the stored matrix. */
        bool mat_left = a->ndim == 2;
        const tj_array *mat = mat_left ? a : b, *vec = mat_left ? b : a;
        tjB_as_mat(mat, &A);
        tjB_as_vec(vec, &incx);
        int64_t rows = mat->shape[0], cols = mat->shape[1];
        /* the stored matrix is mat (rows x cols) or its transpose (cols x rows) */
        blasint sr = (blasint)(A.trans ? cols : rows), sc = (blasint)(A.trans ? rows : cols);
        enum CBLAS_TRANSPOSE t = (A.trans != !mat_left) ? CblasTrans : CblasNoTrans;
        if (f32)
            cblas_sgemv(CblasRowMajor, t, sr, sc, 1.0f, (const float *)A.p, A.ld,
                        (const float *)vec->data, incx, 0.0f, (float *)out->data, 1);
        else
            cblas_dgemv(CblasRowMajor, t, sr, sc, 1.0, (const double *)A.p, A.ld,
                        (const double *)vec->data, incx, 0.0, (double *)out->data, 1);
    } else {
        tjB_as_mat(a, &A);
        tjB_as_mat(b, &B);
        enum CBLAS_TRANSPOSE ta_ = A.trans ? CblasTrans : CblasNoTrans;
        enum CBLAS_TRANSPOSE tb_ = B.trans ? CblasTrans : CblasNoTrans;
        if (f32)
            cblas_sgemm(CblasRowMajor, ta_, tb_, (blasint)m, (blasint)n, (blasint)k, 1.0f,
                        (const float *)A.p, A.ld, (const float *)B.p, B.ld, 0.0f,
                        (float *)out->data, (blasint)n);
        else
            cblas_dgemm(CblasRowMajor, ta_, tb_, (blasint)m, (blasint)n, (blasint)k, 1.0,
                        (const double *)A.p, A.ld, (const double *)B.p, B.ld, 0.0,
                        (double *)out->data, (blasint)n);
    }
    ok = true;
done:
    tj_array_unref(ta);
    tj_array_unref(tb);
    return ok;
}

void tjB_vdot(tj_dtype d, int64_t k, const char *a, int64_t inca, const char *b, int64_t incb,
              char *out)
{
    if (d == TJ_FLOAT32) {
        float r = cblas_sdot((blasint)k, (const float *)a, (blasint)inca, (const float *)b,
                             (blasint)incb);
        memcpy(out, &r, sizeof r);
    } else {
        double r = cblas_ddot((blasint)k, (const double *)a, (blasint)inca, (const double *)b,
                              (blasint)incb);
        memcpy(out, &r, sizeof r);
    }
}

void tjB_dot(tj_ctx *ctx, const tj_array *a, const tj_array *b, tj_array *out)
{
    size_t es = tj_dtype_size(out->dtype);
    int64_t m = a->ndim == 2 ? a->shape[0] : 1, n = b->ndim == 2 ? b->shape[1] : 1;
    int64_t os0 = 0, os1 = 0; /* out as an m x n view */
    if (a->ndim == 2 && b->ndim == 2) {
        os0 = out->strides[0];
        os1 = out->strides[1];
    } else if (a->ndim == 2) {
        os0 = out->strides[0];
    } else if (b->ndim == 2) {
        os1 = out->strides[0];
    }
    if (m == 0 || n == 0)
        return;
    if (b->shape[0] == 0) {
        /* An empty inner dimension: every entry is an empty sum (BLAS need not be asked). */
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < n; j++)
                memset(out->data + i * os0 + j * os1, 0, es);
        return;
    }
    if (tj_dtype_is_float(out->dtype) && dot_blas(ctx, a, b, out))
        return;
    view2 va = as_view(a, true), vb = as_view(b, false);
    naive[out->dtype](&va, &vb, out->data, os0, os1);
}

/* ---- batched products (matmul, and numpy.dot beyond rank 2) ---------------------------------- */

/* Whether a's axes 0..last (length-1 axes skipped) collapse into one axis of stride *stride. */
static bool collapses(const tj_array *a, int last, int64_t *stride)
{
    int prev = -1;
    *stride = (int64_t)tj_dtype_size(a->dtype);
    for (int d = 0; d <= last; d++) {
        if (a->shape[d] == 1)
            continue;
        if (prev >= 0 && a->strides[prev] != a->strides[d] * a->shape[d])
            return false;
        prev = d;
    }
    if (prev >= 0)
        *stride = a->strides[prev];
    return true;
}

void tjB_matmul(tj_ctx *ctx, const tj_array *a, const tj_array *b, tj_array *out)
{
    int r = out->ndim, nb = r - 2;
    int64_t m = out->shape[r - 2], n = out->shape[r - 1], k = a->shape[r - 1];
    int64_t es = (int64_t)tj_dtype_size(out->dtype), rs;
    if (out->size == 0)
        return;
    tj_array va, vb, vo;
    int64_t bshape[2] = {k, n}, bstr[2] = {b->strides[r - 2], b->strides[r - 1]};
    /* b the same for every batch entry and a's batch axes stacked over its rows: one product of
     * (batch*m, k) by (k, n) (the numpy.dot of an N-d array and a matrix) */
    bool fold = nb > 0;
    for (int d = 0; d < nb; d++)
        fold = fold && b->shape[d] == 1 && a->shape[d] == out->shape[d];
    if (fold && collapses(a, r - 2, &rs)) {
        int64_t rows = out->size / n;
        int64_t ashape[2] = {rows, k}, astr[2] = {rs, a->strides[r - 1]};
        int64_t oshape[2] = {rows, n}, ostr[2] = {n * es, es};
        tjI_view_init(&va, a->dtype, 2, ashape, astr, a->data);
        tjI_view_init(&vb, b->dtype, 2, bshape, bstr, b->data);
        tjI_view_init(&vo, out->dtype, 2, oshape, ostr, out->data);
        tjB_dot(ctx, &va, &vb, &vo);
        return;
    }
    int64_t ashape[2] = {m, k}, astr[2] = {a->strides[r - 2], a->strides[r - 1]};
    int64_t oshape[2] = {m, n}, ostr[2] = {n * es, es};
    int64_t idx[TJ_MAX_NDIM] = {0}, batch = out->size / (m * n);
    uint64_t aoff = 0, boff = 0;
    /* the views are built once: a batch of many tiny products spent a fifth of its time here */
    tjI_view_init(&va, a->dtype, 2, ashape, astr, a->data);
    tjI_view_init(&vb, b->dtype, 2, bshape, bstr, b->data);
    tjI_view_init(&vo, out->dtype, 2, oshape, ostr, out->data);
    for (int64_t i = 0; i < batch; i++) {
        va.data = a->data + aoff;
        vb.data = b->data + boff;
        vo.data = out->data + i * m * n * es;
        tjB_dot(ctx, &va, &vb, &vo);
        /* next batch index; a length-1 batch axis of an operand broadcasts (stays put) */
        for (int d = nb - 1; d >= 0; d--) {
            int64_t sa = a->shape[d] == 1 ? 0 : a->strides[d];
            int64_t sb = b->shape[d] == 1 ? 0 : b->strides[d];
            aoff += (uint64_t)sa;
            boff += (uint64_t)sb;
            if (++idx[d] < out->shape[d])
                break;
            aoff -= (uint64_t)sa * (uint64_t)out->shape[d];
            boff -= (uint64_t)sb * (uint64_t)out->shape[d];
            idx[d] = 0;
        }
    }
}
