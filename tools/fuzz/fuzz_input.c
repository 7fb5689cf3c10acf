/* The fuzzer's bytes as choices, values and arrays (fuzz.h). */
#include "fuzz.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

uint8_t fz_u8(fz_in *in)
{
    if (!in->n)
        return 0;
    in->n--;
    return *in->p++;
}

unsigned fz_pick(fz_in *in, unsigned n) { return n <= 1 ? 0 : fz_u8(in) % n; }

bool fz_bool(fz_in *in) { return fz_u8(in) & 1; }

/* the edges of every dtype and of floating point */
static const double edges[] = {
    0.0,       -0.0,      1.0,       -1.0,     NAN,       INFINITY,   -INFINITY,  0.5,
    -0.5,      2.0,       3.0,       -3.0,     1e-300,    4.9e-324,   1.4e-45,    FLT_MIN,
    DBL_MIN,   FLT_MAX,   DBL_MAX,   -FLT_MAX, 127.0,     128.0,      -128.0,     255.0,
    256.0,     32767.0,   -32768.0,  2147483647.0, -2147483648.0, 4294967296.0,
    9.2233720368547758e18, -9.2233720368547758e18, 1e30, -1e30, 88.7, -103.0, 709.8, -745.2,
    0.1,       1e-8,      -1e-8,     3.14159265358979, 100.0, 1e6,
};
enum { NEDGES = sizeof edges / sizeof edges[0] };

double fz_value(fz_in *in)
{
    uint8_t b = fz_u8(in);
    if (b < 128 || in->tame) /* small integers and quarters: exact in every float type */
        return ((int)(b & 127) - 64) / (b & 1 ? 4.0 : 1.0);
    if (b < 128 + 2 * NEDGES)
        return edges[(b - 128) / 2];
    double v; /* raw bits: anything at all */
    uint64_t bits = 0;
    for (int i = 0; i < 8; i++)
        bits = bits << 8 | fz_u8(in);
    memcpy(&v, &bits, sizeof v);
    return v;
}

void fz_quiet_log(void *user, const char *message)
{
    (void)user;
    (void)message;
}

tj_dtype fz_dtype(fz_in *in)
{
    /* floats twice as often: most of the library's paths are float paths */
    static const tj_dtype order[] = {TJ_FLOAT32, TJ_FLOAT64, TJ_FLOAT32, TJ_FLOAT64, TJ_INT32,
                                     TJ_INT64,   TJ_BOOL,    TJ_INT8,    TJ_INT16,   TJ_UINT8};
    return order[fz_pick(in, sizeof order / sizeof order[0])];
}

tj_array *fz_array(fz_in *in, tj_dtype dtype, int ndim, int maxlen)
{
    int64_t shape[TJ_MAX_NDIM];
    if (ndim < 0 || ndim > TJ_MAX_NDIM)
        return NULL;
    for (int i = 0; i < ndim; i++)
        shape[i] = fz_pick(in, (unsigned)maxlen + 1);
    tj_array *a = tj_array_new(dtype, ndim, shape);
    if (!a)
        return NULL;
    int64_t n = tj_array_size(a);
    int64_t index[TJ_MAX_NDIM] = {0};
    for (int64_t k = 0; k < n; k++) {
        int64_t rest = k; /* C order */
        for (int i = ndim - 1; i >= 0; i--) {
            index[i] = rest % shape[i];
            rest /= shape[i];
        }
        tj_array_set(a, index, fz_value(in));
    }
    return a;
}
