/* W5 limit: [x + y, x * y] behind a function pointer the caller cannot inline. */
#include "baselines.h"

__attribute__((noinline)) static void add_mul(const float *x, const float *y, float *sum,
                                               float *prod)
{
    *sum = *x + *y;
    *prod = *x * *y;
}

cb_w5_fn cb_w5_function(void)
{
    return add_mul;
}
