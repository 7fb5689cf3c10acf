#include "support.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static uint64_t ordered_bits32(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return (u & 0x80000000u) ? (uint64_t)(0x80000000u - (u & 0x7fffffffu))
                             : (uint64_t)u + 0x80000000u;
}

static uint64_t ordered_bits64(double f)
{
    uint64_t u;
    memcpy(&u, &f, sizeof u);
    return (u & 0x8000000000000000ull) ? 0x8000000000000000ull - (u & 0x7fffffffffffffffull)
                                       : u + 0x8000000000000000ull;
}

uint64_t tjt_ulp_f32(float a, float b)
{
    if (isnan(a) || isnan(b))
        return (isnan(a) && isnan(b)) ? 0 : UINT64_MAX;
    uint64_t x = ordered_bits32(a), y = ordered_bits32(b);
    return x > y ? x - y : y - x;
}

uint64_t tjt_ulp_f64(double a, double b)
{
    if (isnan(a) || isnan(b))
        return (isnan(a) && isnan(b)) ? 0 : UINT64_MAX;
    uint64_t x = ordered_bits64(a), y = ordered_bits64(b);
    return x > y ? x - y : y - x;
}

tj_array *tjt_array(tj_dtype dtype, int ndim, const int64_t *shape, const double *values)
{
    tj_array *a = tj_array_new(dtype, ndim, shape);
    if (!a)
        return NULL;
    int64_t n = tj_array_size(a);
    int64_t idx[TJ_MAX_NDIM];
    for (int64_t i = 0; i < n; i++) {
        int64_t r = i;
        for (int d = ndim - 1; d >= 0; d--) {
            idx[d] = shape[d] ? r % shape[d] : 0;
            r = shape[d] ? r / shape[d] : 0;
        }
        tj_array_set(a, idx, values[i]);
    }
    return a;
}

double tjt_at(const tj_array *a, int64_t i)
{
    int nd = tj_array_ndim(a);
    const int64_t *shape = tj_array_shape(a);
    int64_t idx[TJ_MAX_NDIM];
    for (int d = nd - 1; d >= 0; d--) {
        idx[d] = shape[d] ? i % shape[d] : 0;
        i = shape[d] ? i / shape[d] : 0;
    }
    return tj_array_get(a, idx);
}

bool tjt_jit_off(void)
{
    const char *e = getenv("TJ_JIT");
    return e && !strcmp(e, "off");
}
