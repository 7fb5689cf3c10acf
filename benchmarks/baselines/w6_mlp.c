/* W6 limit: one SGD step of an MLP in-hid-cls with tanh and softmax cross-entropy.
 *   H = tanh(X W1 + b1); L = H W2 + b2; loss = mean(logsumexp(L) - sum(Y * L))
 *   dL = (softmax(L) - Y) / batch;  dH = (dL W2^T) * (1 - H^2)
 *   W2 -= lr H^T dL; b2 -= lr colsum(dL); W1 -= lr X^T dH; b1 -= lr colsum(dH)
 * The weight updates are sgemm calls with alpha = -lr and beta = 1 (no gradient buffers); dH is
 * computed before W2 changes. The elementwise work is one thread; `threads` goes to OpenBLAS. */
#include "baselines.h"

#include <cblas.h>
#include <math.h>

void cb_w6_step(cb_mlp *s, int threads)
{
    const int B = s->batch, In = s->in, Hd = s->hid, C = s->cls;
    openblas_set_num_threads(threads);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, Hd, In, 1.0f, s->X, In, s->W1, Hd,
                0.0f, s->H, Hd);
    for (int r = 0; r < B; r++) {
        float *restrict h = s->H + (size_t)r * Hd;
        for (int j = 0; j < Hd; j++)
            h[j] = tanhf(h[j] + s->b1[j]);
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, C, Hd, 1.0f, s->H, Hd, s->W2, C,
                0.0f, s->L, C);
    double loss = 0;
    const float inv_b = 1.0f / (float)B;
    for (int r = 0; r < B; r++) {
        float *restrict l = s->L + (size_t)r * C;
        const float *restrict y = s->Y + (size_t)r * C;
        float m = -INFINITY, sum = 0, dot = 0;
        for (int k = 0; k < C; k++) {
            l[k] += s->b2[k];
            m = fmaxf(m, l[k]);
        }
        for (int k = 0; k < C; k++) {
            dot += y[k] * l[k];
            l[k] = expf(l[k] - m);
            sum += l[k];
        }
        loss += (double)(m + logf(sum) - dot);
        for (int k = 0; k < C; k++)
            l[k] = (l[k] / sum - y[k]) * inv_b; /* L now holds dL */
    }
    *s->loss = (float)(loss / B);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, Hd, C, 1.0f, s->L, C, s->W2, C, 0.0f,
                s->dH, Hd);
    for (int r = 0; r < B; r++) {
        const float *restrict h = s->H + (size_t)r * Hd;
        float *restrict d = s->dH + (size_t)r * Hd;
        for (int j = 0; j < Hd; j++)
            d[j] *= 1.0f - h[j] * h[j];
    }
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Hd, C, B, -s->lr, s->H, Hd, s->L, C,
                1.0f, s->W2, C);
    for (int r = 0; r < B; r++)
        for (int k = 0; k < C; k++)
            s->b2[k] -= s->lr * s->L[(size_t)r * C + k];
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, In, Hd, B, -s->lr, s->X, In, s->dH, Hd,
                1.0f, s->W1, Hd);
    for (int r = 0; r < B; r++) {
        const float *restrict d = s->dH + (size_t)r * Hd;
        for (int j = 0; j < Hd; j++)
            s->b1[j] -= s->lr * d[j];
    }
}
