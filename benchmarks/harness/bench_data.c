/* The shared data generator and result fingerprints; bench_data.h states the formulas. */
#include "bench_data.h"

#include <math.h>

static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

double bd_uniform(uint64_t seed, uint64_t i)
{
    uint64_t z = mix64(seed * 0xD1B54A32D192ED03ull + (i + 1) * 0x9E3779B97F4A7C15ull);
    return ((double)(z >> 11) + 0.5) / 9007199254740992.0;
}

void bd_fill_normal(float *out, size_t n, uint64_t seed, double scale)
{
    for (size_t i = 0; i < n; i++) {
        double u1 = bd_uniform(seed, 2 * (uint64_t)i), u2 = bd_uniform(seed, 2 * (uint64_t)i + 1);
        out[i] = (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2) * scale);
    }
}

void bd_fill_uniform(float *out, size_t n, uint64_t seed)
{
    for (size_t i = 0; i < n; i++)
        out[i] = (float)bd_uniform(seed, i);
}

void bd_fill_bernoulli(float *out, size_t n, uint64_t seed)
{
    for (size_t i = 0; i < n; i++)
        out[i] = bd_uniform(seed, i) < 0.5 ? 0.0f : 1.0f;
}

void bd_fill_onehot(float *out, size_t rows, size_t classes, uint64_t seed)
{
    for (size_t i = 0; i < rows; i++) {
        size_t k = (size_t)(bd_uniform(seed, i) * (double)classes);
        for (size_t j = 0; j < classes; j++)
            out[i * classes + j] = j == k ? 1.0f : 0.0f;
    }
}

static double weight(size_t i)
{
    return (double)(((uint64_t)i * 2654435761ull) & 0xFFFFFFFFull) / 4294967296.0;
}

#define FINGERPRINT(v, n, out)                                                                 \
    do {                                                                                       \
        double a = 0, s = 0, c = 0, q = 0;                                                     \
        for (size_t i = 0; i < (n); i++) {                                                     \
            double x = (double)(v)[i];                                                         \
            a += fabs(x);                                                                      \
            s += x;                                                                            \
            c += weight(i) * x;                                                                \
            q += x * x;                                                                        \
        }                                                                                      \
        (out)[0] = a;                                                                          \
        (out)[1] = s;                                                                          \
        (out)[2] = c;                                                                          \
        (out)[3] = q;                                                                          \
    } while (0)

void bd_fingerprint_f32(const float *v, size_t n, double out[BD_FP_LEN])
{
    FINGERPRINT(v, n, out);
}

void bd_fingerprint_f64(const double *v, size_t n, double out[BD_FP_LEN])
{
    FINGERPRINT(v, n, out);
}

void bd_fingerprint_u8(const uint8_t *v, size_t n, double out[BD_FP_LEN])
{
    FINGERPRINT(v, n, out);
}
