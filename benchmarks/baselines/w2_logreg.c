/* W2 limit: one step of the seed's logistic regression, float32.
 *   z = X w + b;  p = sigmoid(z);  pred = p > 0.5
 *   xent = softplus(z) - y z   (= -y log p - (1-y) log(1-p), one exp and one log1p)
 *   cost = mean(xent) + l2 |w|^2;  dz = (p - y) / n
 *   w <- (1 - 2 lr l2) w - lr X^T dz;  b <- b - lr sum(dz)
 * Two variants: two BLAS passes over X (gemv, the fused loop, gemv transposed with beta folding
 * the weight decay, as PyTensor does), and one pass over X in blocks of rows that serve both
 * products while in cache. The _mt variants give each thread a contiguous range of rows and its
 * own partial gradient, added in thread order afterwards. */
#include "baselines.h"

#include <cblas.h>
#include <math.h>
#include <omp.h>

typedef struct {
    double cost;
    float gb;
} partial;

/* The elementwise middle for rows [0, m): z holds X w on entry and dz on exit. */
static partial middle(const float *restrict y, float *restrict z, uint8_t *restrict pred,
                      float *restrict xent, int64_t m, float b, float inv_n)
{
    float cost = 0, gb = 0;
    for (int64_t i = 0; i < m; i++) {
        float zi = z[i] + b, yi = y[i];
        float e = expf(-fabsf(zi));
        float p = zi >= 0 ? 1.0f / (1.0f + e) : e / (1.0f + e);
        float xi = log1pf(e) + fmaxf(zi, 0.0f) - yi * zi;
        pred[i] = p > 0.5f;
        xent[i] = xi;
        cost += xi;
        float d = (p - yi) * inv_n;
        gb += d;
        z[i] = d;
    }
    return (partial){cost, gb};
}

static void finish(cb_logreg *s, double cost, float gb, const float *gw, int nparts)
{
    float wsq = 0;
    for (int64_t j = 0; j < s->f; j++)
        wsq += s->w[j] * s->w[j];
    *s->cost = (float)(cost / (double)s->n) + s->l2 * wsq;
    float decay = 1.0f - 2.0f * s->lr * s->l2;
    for (int64_t j = 0; j < s->f; j++) {
        float g = 0;
        for (int t = 0; t < nparts; t++)
            g += gw[t * s->f + j];
        s->w[j] = decay * s->w[j] - s->lr * g;
    }
    *s->b -= s->lr * gb;
}

void cb_w2_two_pass(cb_logreg *s)
{
    int64_t n = s->n, f = s->f;
    cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)n, (int)f, 1.0f, s->X, (int)f, s->w, 1, 0.0f,
                s->z, 1);
    partial p = middle(s->y, s->z, s->pred, s->xent, n, *s->b, 1.0f / (float)n);
    float wsq = 0;
    for (int64_t j = 0; j < f; j++)
        wsq += s->w[j] * s->w[j];
    *s->cost = (float)(p.cost / (double)n) + s->l2 * wsq;
    cblas_sgemv(CblasRowMajor, CblasTrans, (int)n, (int)f, -s->lr, s->X, (int)f, s->z, 1,
                1.0f - 2.0f * s->lr * s->l2, s->w, 1);
    *s->b -= s->lr * p.gb;
}

void cb_w2_two_pass_mt(cb_logreg *s, int threads)
{
    int64_t n = s->n, f = s->f;
    double cost[64] = {0};
    float gb[64] = {0};
    int used = threads < 64 ? threads : 64;
#pragma omp parallel num_threads(used)
    {
        int t = omp_get_thread_num(), nt = omp_get_num_threads();
        int64_t lo = n * t / nt, hi = n * (t + 1) / nt, m = hi - lo;
        float *gw = s->gw + (int64_t)t * f;
        if (m > 0) {
            cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)m, (int)f, 1.0f, s->X + lo * f, (int)f,
                        s->w, 1, 0.0f, s->z + lo, 1);
            partial p = middle(s->y + lo, s->z + lo, s->pred + lo, s->xent + lo, m, *s->b,
                               1.0f / (float)n);
            cost[t] = p.cost;
            gb[t] = p.gb;
            cblas_sgemv(CblasRowMajor, CblasTrans, (int)m, (int)f, 1.0f, s->X + lo * f, (int)f,
                        s->z + lo, 1, 0.0f, gw, 1);
        } else {
            for (int64_t j = 0; j < f; j++)
                gw[j] = 0;
        }
#pragma omp single
        used = nt;
    }
    double c = 0;
    float g = 0;
    for (int t = 0; t < used; t++) {
        c += cost[t];
        g += gb[t];
    }
    finish(s, c, g, s->gw, used);
}

/* z[r] = X[r] . w for four rows at a time (four independent vector accumulators). */
static void rows_dot(const float *restrict X, const float *restrict w, float *restrict z,
                     int64_t m, int64_t f)
{
    int64_t r = 0;
    for (; r + 4 <= m; r += 4) {
        const float *x0 = X + r * f, *x1 = x0 + f, *x2 = x1 + f, *x3 = x2 + f;
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (int64_t j = 0; j < f; j++) {
            s0 += x0[j] * w[j];
            s1 += x1[j] * w[j];
            s2 += x2[j] * w[j];
            s3 += x3[j] * w[j];
        }
        z[r] = s0;
        z[r + 1] = s1;
        z[r + 2] = s2;
        z[r + 3] = s3;
    }
    for (; r < m; r++) {
        float s0 = 0;
        for (int64_t j = 0; j < f; j++)
            s0 += X[r * f + j] * w[j];
        z[r] = s0;
    }
}

/* gw += X^T dz over m rows, four rows per pass over gw. */
static void rows_axpy(const float *restrict X, const float *restrict dz, float *restrict gw,
                      int64_t m, int64_t f)
{
    int64_t r = 0;
    for (; r + 4 <= m; r += 4) {
        const float *x0 = X + r * f, *x1 = x0 + f, *x2 = x1 + f, *x3 = x2 + f;
        float d0 = dz[r], d1 = dz[r + 1], d2 = dz[r + 2], d3 = dz[r + 3];
        for (int64_t j = 0; j < f; j++)
            gw[j] += d0 * x0[j] + d1 * x1[j] + d2 * x2[j] + d3 * x3[j];
    }
    for (; r < m; r++)
        for (int64_t j = 0; j < f; j++)
            gw[j] += dz[r] * X[r * f + j];
}

/* Rows per block: about 32 KiB of X (an L1-sized block), at least 16 rows for the vector loop. */
static int64_t block_rows(int64_t f)
{
    int64_t r = 8192 / (f > 0 ? f : 1);
    r = r < 16 ? 16 : r;
    return (r + 3) & ~(int64_t)3;
}

static partial blocked_rows(cb_logreg *s, int64_t lo, int64_t hi, float *gw)
{
    int64_t f = s->f, rb = block_rows(f);
    float b = *s->b, inv_n = 1.0f / (float)s->n;
    partial acc = {0, 0};
    for (int64_t j = 0; j < f; j++)
        gw[j] = 0;
    for (int64_t r0 = lo; r0 < hi; r0 += rb) {
        int64_t m = hi - r0 < rb ? hi - r0 : rb;
        const float *Xb = s->X + r0 * f;
        rows_dot(Xb, s->w, s->z + r0, m, f);
        partial p = middle(s->y + r0, s->z + r0, s->pred + r0, s->xent + r0, m, b, inv_n);
        rows_axpy(Xb, s->z + r0, gw, m, f);
        acc.cost += p.cost;
        acc.gb += p.gb;
    }
    return acc;
}

void cb_w2_blocked(cb_logreg *s)
{
    partial p = blocked_rows(s, 0, s->n, s->gw);
    finish(s, p.cost, p.gb, s->gw, 1);
}

void cb_w2_blocked_mt(cb_logreg *s, int threads)
{
    int64_t n = s->n, rb = block_rows(s->f);
    int64_t nblocks = (n + rb - 1) / rb;
    double cost[64] = {0};
    float gb[64] = {0};
    int used = threads < 64 ? threads : 64;
#pragma omp parallel num_threads(used)
    {
        int t = omp_get_thread_num(), nt = omp_get_num_threads();
        int64_t lo = nblocks * t / nt * rb, hi = nblocks * (t + 1) / nt * rb;
        lo = lo < n ? lo : n;
        hi = hi < n ? hi : n;
        partial p = blocked_rows(s, lo, hi, s->gw + (int64_t)t * s->f);
        cost[t] = p.cost;
        gb[t] = p.gb;
#pragma omp single
        used = nt;
    }
    double c = 0;
    float g = 0;
    for (int t = 0; t < used; t++) {
        c += cost[t];
        g += gb[t];
    }
    finish(s, c, g, s->gw, used);
}
