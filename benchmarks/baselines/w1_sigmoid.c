/* W1 limit: the fused sigmoid loop, one thread and split across threads in 64-byte chunks. */
#include "baselines.h"

#include <math.h>
#include <omp.h>

void cb_w1_sigmoid(const float *restrict x, float *restrict y, size_t n, float a, float b)
{
    for (size_t i = 0; i < n; i++)
        y[i] = 1.0f / (1.0f + expf(-(a * x[i] + b)));
}

void cb_w1_sigmoid_mt(const float *x, float *y, size_t n, float a, float b, int threads)
{
#pragma omp parallel num_threads(threads)
    {
        size_t t = (size_t)omp_get_thread_num(), nt = (size_t)omp_get_num_threads();
        size_t per = (n / nt + 15) & ~(size_t)15;
        size_t lo = t * per < n ? t * per : n, hi = lo + per < n ? lo + per : n;
        cb_w1_sigmoid(x + lo, y + lo, hi - lo, a, b);
    }
}
