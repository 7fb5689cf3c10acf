/* W4 limit: cblas_sgemm directly. */
#include "baselines.h"

#include <cblas.h>

void cb_w4_sgemm(const float *A, const float *B, float *C, int m, int k, int n, int threads)
{
    openblas_set_num_threads(threads);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, A, k, B, n, 0.0f, C, n);
}
