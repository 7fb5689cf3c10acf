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

double tjt_datum(int64_t i, int salt) { return sin(0.7 * (double)i + 1.3 * salt); }

static void free_buffer(void *p) { free(p); }

tj_array *tjt_logreg_x(int64_t n, int salt, bool column_major)
{
    float *d = malloc(sizeof(float) * (size_t)(n * TJT_FEATS) + 1);
    if (!d)
        return NULL;
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < TJT_FEATS; j++)
            d[column_major ? j * n + i : i * TJT_FEATS + j] =
                (float)tjt_datum(i * TJT_FEATS + j, salt);
    int64_t shape[2] = {n, TJT_FEATS};
    int64_t cm[2] = {(int64_t)sizeof(float), (int64_t)sizeof(float) * n};
    return tj_array_wrap(TJ_FLOAT32, 2, shape, column_major ? cm : NULL, d, free_buffer, d);
}

tj_array *tjt_logreg_y(int64_t n, int salt)
{
    tj_array *y = tj_array_new(TJ_FLOAT32, 1, &n);
    for (int64_t i = 0; y && i < n; i++)
        tj_array_set(y, &i, tjt_datum(i, salt + 7) > 0);
    return y;
}

tj_fn *tjt_logreg_train(tj_ctx *ctx, tj_var **w, tj_var **b)
{
    tj_var *x = tj_matrix(ctx, TJ_FLOAT32, "x"), *y = tj_vector(ctx, TJ_FLOAT32, "y");
    int64_t f = TJT_FEATS;
    tj_array *w0 = tj_array_new(TJ_FLOAT32, 1, &f), *b0 = tj_array_scalar(TJ_FLOAT32, 0.25);
    for (int64_t j = 0; j < f; j++)
        tj_array_set(w0, &j, 0.5 - 0.3 * (double)j);
    *w = tj_shared(ctx, w0, "w", false);
    *b = tj_shared(ctx, b0, "b", false);
    tj_array_unref(w0);
    tj_array_unref(b0);
    tj_var *p = tj_rdivc(1, tj_addc(tj_exp(tj_sub(tj_neg(tj_dot(x, *w)), *b)), 1));
    tj_var *prediction = tj_gt(p, tj_lit(ctx, 0.5));
    tj_var *xent =
        tj_sub(tj_mul(tj_neg(y), tj_log(p)), tj_mul(tj_rsubc(1, y), tj_log(tj_rsubc(1, p))));
    tj_var *cost = tj_add(tj_mean(xent, NULL, 0, false),
                          tj_mulc(tj_sum(tj_powc(*w, 2), NULL, 0, false), 0.01));
    tj_var *g[2];
    if (!cost || tj_grad(cost, (tj_var *[]){*w, *b}, 2, g) != TJ_OK)
        return NULL;
    tj_function_opts o = TJ_FUNCTION_OPTS_INIT;
    tj_update upd[2] = {{*w, tj_sub(*w, tj_mulc(g[0], 0.1))}, {*b, tj_sub(*b, tj_mulc(g[1], 0.1))}};
    o.updates = upd;
    o.nupdates = 2;
    return tj_function(ctx, (tj_var *[]){x, y}, 2, (tj_var *[]){prediction, xent, cost}, 3, &o);
}

static bool near(double got, double want) { return fabs(got - want) <= 1e-4 * (1 + fabs(want)); }

int tjt_logreg_step(tj_array *const *out, int64_t n, int salt, double *w, double *b, char *why,
                    size_t len)
{
    double gw[TJT_FEATS] = {0}, gb = 0, mean = 0, wsq = 0;
    int bad = 0;
#define MISS(...) (bad++ ? (void)0 : (void)snprintf(why, len, __VA_ARGS__))
    for (int64_t i = 0; i < n; i++) {
        double z = *b, yi = tjt_datum(i, salt + 7) > 0, x[TJT_FEATS];
        for (int j = 0; j < TJT_FEATS; j++) {
            x[j] = (double)(float)tjt_datum(i * TJT_FEATS + j, salt);
            z += x[j] * w[j];
        }
        double p = 1 / (1 + exp(-z)), xent = -yi * log(p) - (1 - yi) * log(1 - p);
        mean += xent / (double)n;
        if (!near(tjt_at(out[1], i), xent))
            MISS("xent[%lld] %g, expected %g", (long long)i, tjt_at(out[1], i), xent);
        if (fabs(p - 0.5) > 1e-4 && (tjt_at(out[0], i) != 0) != (p > 0.5))
            MISS("prediction[%lld] %g, p %g", (long long)i, tjt_at(out[0], i), p);
        for (int j = 0; j < TJT_FEATS; j++)
            gw[j] += x[j] * (p - yi) / (double)n;
        gb += (p - yi) / (double)n;
    }
    for (int j = 0; j < TJT_FEATS; j++)
        wsq += w[j] * w[j];
    if (!near(tjt_at(out[2], 0), mean + 0.01 * wsq))
        MISS("cost %g, expected %g", tjt_at(out[2], 0), mean + 0.01 * wsq);
#undef MISS
    for (int j = 0; j < TJT_FEATS; j++)
        w[j] -= 0.1 * (gw[j] + 0.02 * w[j]);
    *b -= 0.1 * gb;
    return bad;
}
