/* OpenBLAS's thread count (set by each variant before its BLAS work) and the kernel set it chose. */
#include "baselines.h"

#include <cblas.h>

void cb_blas_threads(int n)
{
    openblas_set_num_threads(n);
}

const char *cb_blas_core(void)
{
    return openblas_get_corename();
}
