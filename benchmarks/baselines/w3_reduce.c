/* W3 limit: float32 reductions. A full sum adds blocks of 4096 in float (vectorized) and the block
 * sums in double; row sums reduce each row; column sums add rows into a row of partial sums. */
#include "baselines.h"

#include <omp.h>

enum { BLOCK = 4096 };

static float block_sum(const float *restrict x, size_t m)
{
    float s = 0;
    for (size_t i = 0; i < m; i++)
        s += x[i];
    return s;
}

float cb_w3_sum(const float *x, size_t n)
{
    double total = 0;
    for (size_t i = 0; i < n; i += BLOCK)
        total += block_sum(x + i, n - i < BLOCK ? n - i : BLOCK);
    return (float)total;
}

float cb_w3_sum_mt(const float *x, size_t n, int threads)
{
    double total = 0;
    long nblocks = (long)((n + BLOCK - 1) / BLOCK);
#pragma omp parallel for num_threads(threads) schedule(static) reduction(+ : total)
    for (long b = 0; b < nblocks; b++) {
        size_t i = (size_t)b * BLOCK;
        total += block_sum(x + i, n - i < BLOCK ? n - i : BLOCK);
    }
    return (float)total;
}

void cb_w3_rows(const float *X, size_t rows, size_t cols, float *out)
{
    for (size_t r = 0; r < rows; r++)
        out[r] = block_sum(X + r * cols, cols);
}

void cb_w3_rows_mt(const float *X, size_t rows, size_t cols, float *out, int threads)
{
#pragma omp parallel for num_threads(threads) schedule(static)
    for (long r = 0; r < (long)rows; r++)
        out[r] = block_sum(X + (size_t)r * cols, cols);
}

static void cols_range(const float *restrict X, size_t rows, size_t cols, size_t lo, size_t hi,
                       float *restrict out)
{
    for (size_t j = lo; j < hi; j++)
        out[j] = 0;
    for (size_t r = 0; r < rows; r++) {
        const float *restrict row = X + r * cols;
        for (size_t j = lo; j < hi; j++)
            out[j] += row[j];
    }
}

void cb_w3_cols(const float *X, size_t rows, size_t cols, float *out)
{
    cols_range(X, rows, cols, 0, cols, out);
}

/* Each thread owns a range of columns (64-byte aligned) and walks every row over it. */
void cb_w3_cols_mt(const float *X, size_t rows, size_t cols, float *out, int threads)
{
#pragma omp parallel num_threads(threads)
    {
        size_t t = (size_t)omp_get_thread_num(), nt = (size_t)omp_get_num_threads();
        size_t per = (cols / nt + 15) & ~(size_t)15;
        size_t lo = t * per < cols ? t * per : cols, hi = lo + per < cols ? lo + per : cols;
        if (t == nt - 1)
            hi = cols;
        cols_range(X, rows, cols, lo, hi, out);
    }
}
