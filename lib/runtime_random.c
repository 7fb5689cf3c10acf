/* Random draws: Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3",
 * SC'11; the constants of Random123) and the distributions built on it.
 *
 * This is the one code path of both executors: the reference executor's node dispatch and the
 * runtime's host steps call tjS_random_eval, so a draw gives bit-identical numbers in FAST_RUN,
 * FAST_COMPILE and DEBUG.
 *
 * The state is an int64 vector (key, counter). Element i of a draw (C order) is a function of the
 * key and the 64-bit counter value counter + i only: it reads Philox blocks with the counter
 * words (lo32(counter + i), hi32(counter + i), j, 0) for j = 0, 1, ... (uniform and normal use
 * block j = 0; binomial uses as many as its chunks need). A draw of N elements therefore leaves
 * the state at counter + N, and draws chained through their new states never reuse a block. */
#include "internal.h"

#include <math.h>
#include <string.h>

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u /* golden ratio */
#define PHILOX_W1 0xBB67AE85u /* sqrt(3) - 1 */

static void philox_round(uint32_t c[4], const uint32_t k[2])
{
    uint64_t p0 = (uint64_t)PHILOX_M0 * c[0], p1 = (uint64_t)PHILOX_M1 * c[2];
    uint32_t hi0 = (uint32_t)(p0 >> 32), lo0 = (uint32_t)p0;
    uint32_t hi1 = (uint32_t)(p1 >> 32), lo1 = (uint32_t)p1;
    uint32_t c1 = c[1], c3 = c[3];
    c[0] = hi1 ^ c1 ^ k[0];
    c[1] = lo1;
    c[2] = hi0 ^ c3 ^ k[1];
    c[3] = lo0;
}

void tjS_philox4x32(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4])
{
    uint32_t c[4] = {ctr[0], ctr[1], ctr[2], ctr[3]}, k[2] = {key[0], key[1]};
    for (int r = 0; r < 10; r++) {
        if (r > 0) { /* the key schedule: a Weyl sequence, bumped before rounds 2..10 */
            k[0] += PHILOX_W0;
            k[1] += PHILOX_W1;
        }
        philox_round(c, k);
    }
    memcpy(out, c, sizeof c);
}

/* ---- one element ----------------------------------------------------------------------------- */

typedef struct {
    uint32_t key[2];
    uint64_t pos; /* counter + element index */
} stream;

static void block(const stream *s, uint32_t j, uint32_t out[4])
{
    uint32_t ctr[4] = {(uint32_t)s->pos, (uint32_t)(s->pos >> 32), j, 0};
    tjS_philox4x32(ctr, s->key, out);
}

/* 53 random bits as a double in [0, 1) */
static double u53(uint32_t lo, uint32_t hi)
{
    return (double)((((uint64_t)hi << 32) | lo) >> 11) * 0x1p-53;
}

/* a value of [low, high) computed in double and rounded to dtype; rounding up to `high` (possible
 * when the interval is wide relative to the dtype's precision) is moved to the largest value of
 * dtype below it, so the result stays in the half-open interval of the dtype's own values */
static double in_range(double v, double low, double high, tj_dtype d)
{
    if (d == TJ_FLOAT32) {
        float f = (float)v, lo = (float)low, hi = (float)high;
        if (f >= hi)
            f = nextafterf(hi, -INFINITY);
        return f < lo ? lo : f;
    }
    if (v >= high)
        v = nextafter(high, -INFINITY);
    return v < low ? low : v;
}

static double draw_uniform(const stream *s, double low, double high, tj_dtype d)
{
    uint32_t w[4];
    block(s, 0, w);
    if (low == high)
        return low;
    /* float32 keeps 24 random mantissa bits, float64 53: every value k * 2^-bits is reachable */
    double u = d == TJ_FLOAT32 ? (double)(w[0] >> 8) * 0x1p-24 : u53(w[0], w[1]);
    return in_range(low + (high - low) * u, low, high, d);
}

/* Box-Muller: the cosine branch of one pair of uniforms (the sine branch is not used, so every
 * element depends on its own block only). 1 - u lies in (0, 1], so log never sees 0. */
static double draw_normal(const stream *s, double mean, double std)
{
    uint32_t w[4];
    block(s, 0, w);
    double u1 = 1.0 - u53(w[0], w[1]), u2 = u53(w[2], w[3]);
    double z = sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
    return mean + std * z;
}

/* the c-th uniform of element s's binomial: two per block, blocks j = 0, 1, ... */
static double nth_uniform(const stream *s, uint64_t c, uint32_t w[4], uint64_t *have)
{
    uint64_t j = c / 2;
    if (*have != j) {
        block(s, (uint32_t)j, w);
        *have = j;
    }
    return c % 2 ? u53(w[2], w[3]) : u53(w[0], w[1]);
}

/* Binomial(n, p) by inversion, exact up to double rounding: with q = min(p, 1-p) the count of
 * successes of probability q is drawn chunk by chunk (a sum of independent Binomial(m, q) is
 * Binomial(sum m, q)), each chunk by chop-down search from 0 with the pmf recurrence
 * f(k+1) = f(k) * (m-k)/(k+1) * q/(1-q). Chunks are sized so f(0) = (1-q)^m >= e^-200 never
 * underflows; the work is O(n q + chunks) per element. p > 1/2 counts failures: n - X. */
static double draw_binomial(const stream *s, int64_t n, double p)
{
    if (n == 0 || p == 0.0)
        return 0.0;
    if (p == 1.0)
        return (double)n;
    double q = p <= 0.5 ? p : 1.0 - p, r = q / (1.0 - q), lq = -log1p(-q);
    int64_t m = n;
    if ((double)n * lq > 200.0)
        m = (int64_t)(200.0 / lq) > 0 ? (int64_t)(200.0 / lq) : 1;
    int64_t total = 0;
    uint32_t w[4];
    uint64_t have = UINT64_MAX, c = 0;
    for (int64_t left = n; left > 0; left -= m) {
        int64_t size = left < m ? left : m, k = 0;
        double f = exp(-(double)size * lq), u = nth_uniform(s, c++, w, &have);
        while (u >= f && k < size) { /* k < size: a rounding remainder ends at the top */
            u -= f;
            f *= r * (double)(size - k) / (double)(k + 1);
            k++;
        }
        total += k;
    }
    return (double)(p <= 0.5 ? total : n - total);
}

/* ---- nodes ----------------------------------------------------------------------------------- */

static double attr_double(const tj_var *node, int i)
{
    double d;
    memcpy(&d, &node->attr[i], sizeof d);
    return d;
}

/* The state's key and counter, checked: an int64 vector of length 2 as tj_rng_state makes. */
static tj_status read_state(tj_ctx *ctx, const tj_var *node, const tj_array *a, uint32_t key[2],
                            uint64_t *counter)
{
    char buf[160];
    if (a->dtype != TJ_INT64 || a->ndim != 1 || a->shape[0] != 2)
        return tjI_error(ctx, node, TJ_ERR_VALUE,
                         "the random state %s must be an int64 vector of length 2 (key, counter) "
                         "as tj_rng_state makes, but its value is a %s array of shape (%lld%s)",
                         tjG_describe(node->in[0], buf, sizeof buf), tj_dtype_name(a->dtype),
                         a->ndim >= 1 ? (long long)a->shape[0] : 0LL, a->ndim > 1 ? ", ..." : ",");
    int64_t k, c; /* the exact 64 bits (tj_array_get would go through double) */
    memcpy(&k, a->data, sizeof k);
    memcpy(&c, a->data + a->strides[0], sizeof c);
    key[0] = (uint32_t)(uint64_t)k;
    key[1] = (uint32_t)((uint64_t)k >> 32);
    *counter = (uint64_t)c;
    return TJ_OK;
}

/* The draw's shape from the int64 shape vector: non-negative entries, as many as a random node's
 * rank (rng_next only counts the elements). */
static tj_status read_shape(tj_ctx *ctx, const tj_var *node, const tj_array *a, int64_t *shape,
                            int64_t *count)
{
    int ndim = node->op == TJ_OP_RANDOM ? node->ndim : a->ndim == 1 ? (int)a->shape[0] : -1;
    if (a->dtype != TJ_INT64 || a->ndim != 1 || a->shape[0] != ndim || ndim > TJ_MAX_NDIM)
        return tjI_error(ctx, node, TJ_ERR_SHAPE,
                         "the shape of the draw must be an int64 vector of length %d, but it is a "
                         "%s array of rank %d and length %lld",
                         node->op == TJ_OP_RANDOM ? node->ndim : ndim, tj_dtype_name(a->dtype),
                         a->ndim, a->ndim == 1 ? (long long)a->shape[0] : -1LL);
    for (int d = 0; d < ndim; d++) {
        memcpy(&shape[d], a->data + d * a->strides[0], sizeof shape[d]);
        if (shape[d] < 0)
            return tjI_error(ctx, node, TJ_ERR_VALUE,
                             "entry %d of the draw's shape is %lld; sizes must be >= 0", d,
                             (long long)shape[d]);
    }
    if (!tjA_shape_size(ndim, shape, count))
        return tjI_error(ctx, node, TJ_ERR_VALUE, "the draw's shape has too many elements");
    return TJ_OK;
}

tj_status tjS_random_eval(tj_ctx *ctx, const tj_var *node, tj_array *const *in, tj_array **out)
{
    uint32_t key[2] = {0, 0};
    uint64_t counter = 0;
    int64_t shape[TJ_MAX_NDIM], count = 0;
    *out = NULL;
    if (node->nin != 2 || (node->op == TJ_OP_RANDOM && node->nattr != 3))
        return tjI_error(ctx, node, TJ_ERR_INVALID, "a malformed random node");
    tj_status st = read_state(ctx, node, in[0], key, &counter);
    if (st == TJ_OK)
        st = read_shape(ctx, node, in[1], shape, &count);
    if (st != TJ_OK)
        return st;
    if (node->op == TJ_OP_RNG_NEXT) {
        st = tjI_alloc(ctx, node, 1, (int64_t[]){2}, out);
        if (st != TJ_OK)
            return st;
        int64_t k, c = (int64_t)(counter + (uint64_t)count); /* wraps after 2^64 draws */
        memcpy(&k, in[0]->data, sizeof k);
        memcpy((*out)->data, &k, sizeof k);
        memcpy((*out)->data + sizeof k, &c, sizeof c);
        return TJ_OK;
    }
    st = tjI_alloc(ctx, node, node->ndim, shape, out);
    if (st != TJ_OK)
        return st;
    double a = attr_double(node, 1), b = attr_double(node, 2);
    for (int64_t i = 0; i < count; i++) {
        stream s = {{key[0], key[1]}, counter + (uint64_t)i};
        double v;
        switch (node->attr[0]) {
        case TJ_RANDOM_UNIFORM: v = draw_uniform(&s, a, b, node->dtype); break;
        case TJ_RANDOM_NORMAL: v = draw_normal(&s, a, b); break;
        default: v = draw_binomial(&s, node->attr[1], b); break;
        }
        tjA_store(node->dtype, (*out)->data, i, v);
    }
    return TJ_OK;
}
