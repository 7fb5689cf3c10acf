/* The data every implementation of a workload uses, and the fingerprint that compares results.
 *
 * Both are defined by formulas that peers/common.py repeats in NumPy, so the C limit, tensorjit and
 * every peer compute on the same numbers (up to the last bit of libm's log/cos in double, which
 * rounding to float32 almost always hides):
 *   u(seed, i)   = ((splitmix64(seed * 0xD1B54A32D192ED03 + (i + 1) * 0x9E3779B97F4A7C15) >> 11)
 *                   + 0.5) / 2^53, a double in (0, 1)
 *   normal[i]    = (float)(sqrt(-2 ln u(seed, 2i)) * cos(2 pi u(seed, 2i + 1)) * scale)
 *   uniform[i]   = (float)u(seed, i)
 *   bernoulli[i] = u(seed, i) < 0.5 ? 0 : 1
 *   onehot row i has a 1 in column floor(u(seed, i) * classes)
 * A fingerprint of n values v_i (C order) is four doubles:
 *   [ sum |v_i|, sum v_i, sum c_i v_i, sum v_i^2 ]   with c_i = ((i * 2654435761) mod 2^32) / 2^32
 * The pseudo-random weights c_i make a wrong element show even when the plain sum does not. */
#ifndef BENCH_DATA_H
#define BENCH_DATA_H

#include <stddef.h>
#include <stdint.h>

#define BD_FP_LEN 4

double bd_uniform(uint64_t seed, uint64_t i);
void bd_fill_normal(float *out, size_t n, uint64_t seed, double scale);
void bd_fill_uniform(float *out, size_t n, uint64_t seed);
void bd_fill_bernoulli(float *out, size_t n, uint64_t seed);
/* rows x classes, zero except one 1 per row */
void bd_fill_onehot(float *out, size_t rows, size_t classes, uint64_t seed);

void bd_fingerprint_f32(const float *v, size_t n, double out[BD_FP_LEN]);
void bd_fingerprint_f64(const double *v, size_t n, double out[BD_FP_LEN]);
void bd_fingerprint_u8(const uint8_t *v, size_t n, double out[BD_FP_LEN]);

#endif
