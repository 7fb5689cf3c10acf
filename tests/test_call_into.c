/* tj_call_into (results written into the caller's arrays) and the buffer plan (intermediates
 * reused across calls): values, identity of the arrays, rejected arrays, no fresh pages. */
#include "support.h"

#include <criterion/criterion.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/resource.h>

static tj_array *vec(tj_dtype d, int64_t n, double scale)
{
    tj_array *a = tj_array_new(d, 1, &n);
    for (int64_t i = 0; i < n; i++)
        tj_array_set(a, &i, scale * sin((double)i + 1.0));
    return a;
}

/* f(x, y) = [x + y, x * y] on 0-d arrays: both results land in the given arrays. */
Test(call_into, scalars_written_in_place)
{
    tj_ctx *ctx = tj_ctx_new();
    tj_var *x = tj_scalar(ctx, TJ_FLOAT32, "x"), *y = tj_scalar(ctx, TJ_FLOAT32, "y");
    tj_fn *f = tj_function(ctx, (tj_var *[]){x, y}, 2, (tj_var *[]){tj_add(x, y), tj_mul(x, y)},
                           2, NULL);
    cr_assert(f, "%s", tj_errmsg(ctx));
    tj_array *out[2] = {tj_array_scalar(TJ_FLOAT32, -1), tj_array_scalar(TJ_FLOAT32, -1)};
    tj_array *keep[2] = {out[0], out[1]};
    void *data[2] = {tj_array_data(out[0]), tj_array_data(out[1])};
    for (int k = 0; k < 5; k++) {
        tj_array *in[2] = {tj_array_scalar(TJ_FLOAT32, 1.5 + k), tj_array_scalar(TJ_FLOAT32, -2)};
        cr_assert_eq(tj_call_into(f, in, out), TJ_OK, "%s", tj_errmsg(ctx));
        cr_expect(out[0] == keep[0] && out[1] == keep[1], "the arrays must stay the caller's");
        cr_expect(tj_array_data(out[0]) == data[0] && tj_array_data(out[1]) == data[1]);
        cr_expect_eq(tj_array_get(out[0], NULL), 1.5 + k - 2);
        cr_expect_eq(tj_array_get(out[1], NULL), (1.5 + k) * -2);
        tj_array_unref(in[0]);
        tj_array_unref(in[1]);
    }
    tj_array_unref(out[0]);
    tj_array_unref(out[1]);
    tj_ctx_free(ctx);
}

/* NULL asks for a new array; a mix of given and NULL outputs works. */
Test(call_into, null_allocates)
{
    tj_ctx *ctx = tj_ctx_new();
    tj_var *x = tj_vector(ctx, TJ_FLOAT64, "x");
    tj_fn *f = tj_function(ctx, &x, 1, (tj_var *[]){tj_exp(x), tj_mulc(x, 3)}, 2, NULL);
    cr_assert(f, "%s", tj_errmsg(ctx));
    tj_array *in = vec(TJ_FLOAT64, 7, 1.0);
    int64_t n = 7;
    tj_array *given = tj_array_new(TJ_FLOAT64, 1, &n);
    tj_array *out[2] = {NULL, given};
    cr_assert_eq(tj_call_into(f, &in, out), TJ_OK, "%s", tj_errmsg(ctx));
    cr_assert(out[0] && out[0] != in && out[1] == given);
    for (int64_t i = 0; i < n; i++) {
        double v = sin((double)i + 1.0);
        cr_expect(fabs(tjt_at(out[0], i) - exp(v)) < 1e-14);
        cr_expect_eq(tjt_at(out[1], i), v * 3);
    }
    tj_array_unref(out[0]);
    tj_array_unref(given);
    tj_array_unref(in);
    tj_ctx_free(ctx);
}

/* Outputs not made by a kernel (an input passed through, a transposed view, a BLAS product)
 * are copied into the given array: same values as tj_call. */
Test(call_into, copied_when_not_computed_in_place)
{
    tj_ctx *ctx = tj_ctx_new();
    tj_var *a = tj_matrix(ctx, TJ_FLOAT64, "a");
    tj_var *outs[3] = {a, tj_transpose(a), tj_dot(a, tj_transpose(a))};
    tj_fn *f = tj_function(ctx, &a, 1, outs, 3, NULL);
    cr_assert(f, "%s", tj_errmsg(ctx));
    double v[6] = {1, 2, 3, 4, 5, 6}; /* 2 x 3 */
    tj_array *in = tjt_array(TJ_FLOAT64, 2, (int64_t[]){2, 3}, v);
    tj_array *o[3] = {tj_array_new(TJ_FLOAT64, 2, (int64_t[]){2, 3}),
                      tj_array_new(TJ_FLOAT64, 2, (int64_t[]){3, 2}),
                      tj_array_new(TJ_FLOAT64, 2, (int64_t[]){2, 2})};
    tj_array *keep[3] = {o[0], o[1], o[2]};
    cr_assert_eq(tj_call_into(f, &in, o), TJ_OK, "%s", tj_errmsg(ctx));
    for (int k = 0; k < 3; k++)
        cr_expect(o[k] == keep[k]);
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 3; j++) {
            cr_expect_eq(tj_array_get(o[0], (int64_t[]){i, j}), v[i * 3 + j]);
            cr_expect_eq(tj_array_get(o[1], (int64_t[]){j, i}), v[i * 3 + j]);
        }
    /* a a^T by hand: [[14, 32], [32, 77]] */
    double aat[4] = {14, 32, 32, 77};
    for (int i = 0; i < 4; i++)
        cr_expect_eq(tjt_at(o[2], i), aat[i]);
    for (int k = 0; k < 3; k++)
        tj_array_unref(o[k]);
    tj_array_unref(in);
    tj_ctx_free(ctx);
}

static void expect_rejected(tj_fn *f, tj_ctx *ctx, tj_array **in, tj_array **out, tj_status want,
                            const char *words)
{
    tj_array *before = out[0];
    cr_expect_eq(tj_call_into(f, in, out), want, "%s", tj_errmsg(ctx));
    cr_expect(strstr(tj_errmsg(ctx), words), "message '%s' lacks '%s'", tj_errmsg(ctx), words);
    cr_expect(out[0] == before);
}

Test(call_into, rejects_bad_arrays)
{
    tj_ctx *ctx = tj_ctx_new();
    tj_var *x = tj_vector(ctx, TJ_FLOAT32, "x");
    tj_array *w0 = vec(TJ_FLOAT32, 4, 1.0);
    tj_var *w = tj_shared(ctx, w0, "w", false); /* a copy */
    tj_array_unref(w0);
    tj_fn *f = tj_function(ctx, &x, 1, (tj_var *[]){tj_mul(x, w), tj_addc(x, 1)}, 2, NULL);
    cr_assert(f, "%s", tj_errmsg(ctx));
    tj_array *in = vec(TJ_FLOAT32, 4, 1.0);
    int64_t n = 4, n5 = 5;
    tj_array *f64 = tj_array_new(TJ_FLOAT64, 1, &n);
    tj_array *mat = tj_array_new(TJ_FLOAT32, 2, (int64_t[]){2, 2});
    tj_array *short5 = tj_array_new(TJ_FLOAT32, 1, &n5);
    float ext[4];
    tj_array *wrapped = tj_array_wrap(TJ_FLOAT32, 1, &n, NULL, ext, NULL, NULL);
    tj_array *wval = tj_shared_get(w, true);
    tj_array *ok = tj_array_new(TJ_FLOAT32, 1, &n);

    expect_rejected(f, ctx, &in, (tj_array *[]){f64, NULL}, TJ_ERR_TYPE, "outputs[0]");
    expect_rejected(f, ctx, &in, (tj_array *[]){mat, NULL}, TJ_ERR_TYPE, "dimensions");
    expect_rejected(f, ctx, &in, (tj_array *[]){wrapped, NULL}, TJ_ERR_TYPE, "view");
    expect_rejected(f, ctx, &in, (tj_array *[]){in, NULL}, TJ_ERR_INVALID, "input 0");
    expect_rejected(f, ctx, &in, (tj_array *[]){wval, NULL}, TJ_ERR_INVALID, "shared variable");
    expect_rejected(f, ctx, &in, (tj_array *[]){ok, ok}, TJ_ERR_INVALID, "share memory");
    expect_rejected(f, ctx, &in, (tj_array *[]){short5, NULL}, TJ_ERR_SHAPE, "(5)");
    /* nothing was written into a rejected array's neighbours: a good call still works */
    tj_array *o[2] = {ok, NULL};
    cr_assert_eq(tj_call_into(f, &in, o), TJ_OK, "%s", tj_errmsg(ctx));
    for (int64_t i = 0; i < n; i++) {
        double v = (float)sin((double)i + 1.0);
        cr_expect(fabs(tjt_at(ok, i) - v * v) < 1e-6);
        cr_expect(fabs(tjt_at(o[1], i) - (v + 1)) < 1e-6);
    }
    tj_array_unref(o[1]);
    tj_array *objs[] = {f64, mat, short5, wrapped, wval, ok, in};
    for (size_t k = 0; k < sizeof objs / sizeof *objs; k++)
        tj_array_unref(objs[k]);
    tj_ctx_free(ctx);
}

static long minor_faults(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_minflt;
}

/* The buffer plan: an 8 MB intermediate (tanh(a), feeding a product) and the 8 MB output given
 * to tj_call_into cost no fresh pages after the first call; a fresh 8 MB buffer would cost
 * about 2048 page faults per call. The same calls with tj_call and a new input shape still
 * give the right values. */
Test(call_into, intermediates_reused_across_calls)
{
    tj_ctx *ctx = tj_ctx_new();
    tj_var *a = tj_matrix(ctx, TJ_FLOAT32, "a"), *v = tj_matrix(ctx, TJ_FLOAT32, "v");
    tj_var *h = tj_tanh(a);
    tj_var *outs[2] = {tj_dot(h, v), tj_mulc(a, 2)};
    tj_fn *f = tj_function(ctx, (tj_var *[]){a, v}, 2, outs, 2, NULL);
    cr_assert(f, "%s", tj_errmsg(ctx));
    int64_t rows = 1024, cols = 2048;
    tj_array *A = tj_array_new(TJ_FLOAT32, 2, (int64_t[]){rows, cols});
    tj_array *V = tj_array_new(TJ_FLOAT32, 2, (int64_t[]){cols, 1});
    float *pa = tj_array_data(A), *pv = tj_array_data(V);
    for (int64_t i = 0; i < rows * cols; i++)
        pa[i] = (float)((i % 7) - 3) * 0.25f;
    for (int64_t j = 0; j < cols; j++)
        pv[j] = 1.0f;
    tj_array *o[2] = {tj_array_new(TJ_FLOAT32, 2, (int64_t[]){rows, 1}),
                      tj_array_new(TJ_FLOAT32, 2, (int64_t[]){rows, cols})};
    tj_array *in[2] = {A, V};
    cr_assert_eq(tj_call_into(f, in, o), TJ_OK, "%s", tj_errmsg(ctx));
    long before = minor_faults();
    for (int k = 0; k < 10; k++)
        cr_assert_eq(tj_call_into(f, in, o), TJ_OK, "%s", tj_errmsg(ctx));
    long faults = minor_faults() - before;
    /* without the pool: 2050 here (glibc reuses some freed pages), ~400 under ASan with it; the
     * pool belongs to compiled plans: with TJ_JIT=off the reference executor runs instead */
    if (tjt_jit_off())
        cr_expect(!tj_fn_jitted(f), "TJ_JIT=off, yet the function runs compiled code");
    else
        cr_expect(faults < 1000, "%ld page faults in 10 calls: intermediates were not reused",
                  faults);
    for (int64_t i = 0; i < rows; i++) { /* row sum of tanh, by hand in double */
        double want = 0;
        for (int64_t j = 0; j < cols; j++)
            want += tanh((double)pa[i * cols + j]);
        cr_expect(fabs(tjt_at(o[0], i) - want) < 1e-3 * (1 + fabs(want)), "row %lld",
                  (long long)i);
    }
    cr_expect_eq(tjt_at(o[1], 5), 2.0 * pa[5]);
    /* a new shape: the pool's old buffers no longer fit, results are still right */
    tj_array *A2 = tjt_array(TJ_FLOAT32, 2, (int64_t[]){1, 2}, (double[]){0.5, -1});
    tj_array *V2 = tjt_array(TJ_FLOAT32, 2, (int64_t[]){2, 1}, (double[]){2, 3});
    tj_array *r[2];
    cr_assert_eq(tj_call(f, (tj_array *[]){A2, V2}, r), TJ_OK, "%s", tj_errmsg(ctx));
    cr_expect(fabs(tjt_at(r[0], 0) - (2 * tanh(0.5) + 3 * tanh(-1.0))) < 1e-6);
    cr_expect_eq(tjt_at(r[1], 1), -2.0);
    tj_array *objs[] = {A, V, o[0], o[1], A2, V2, r[0], r[1]};
    for (size_t k = 0; k < sizeof objs / sizeof *objs; k++)
        tj_array_unref(objs[k]);
    tj_ctx_free(ctx);
}

/* Plain tj_call: outputs are new arrays each call, never a pooled buffer handed out twice. */
Test(call_into, plain_call_outputs_are_fresh)
{
    tj_ctx *ctx = tj_ctx_new();
    tj_var *x = tj_vector(ctx, TJ_FLOAT64, "x");
    tj_var *y = tj_dot(tj_exp(x), tj_exp(x)); /* exp(x) is an intermediate */
    tj_fn *f = tj_function(ctx, &x, 1, (tj_var *[]){y, tj_mulc(x, 2)}, 2, NULL);
    cr_assert(f, "%s", tj_errmsg(ctx));
    tj_array *in = vec(TJ_FLOAT64, 100, 0.5), *r1[2], *r2[2];
    cr_assert_eq(tj_call(f, &in, r1), TJ_OK, "%s", tj_errmsg(ctx));
    cr_assert_eq(tj_call(f, &in, r2), TJ_OK, "%s", tj_errmsg(ctx));
    cr_expect(tj_array_data(r1[1]) != tj_array_data(r2[1]));
    double want = 0;
    for (int i = 0; i < 100; i++)
        want += exp(2 * 0.5 * sin(i + 1.0));
    cr_expect(fabs(tjt_at(r1[0], 0) - want) < 1e-10 * want);
    cr_expect_eq(tjt_at(r1[0], 0), tjt_at(r2[0], 0));
    for (int i = 0; i < 100; i++)
        cr_expect_eq(tjt_at(r1[1], i), tjt_at(r2[1], i));
    for (int k = 0; k < 2; k++) {
        tj_array_unref(r1[k]);
        tj_array_unref(r2[k]);
    }
    tj_array_unref(in);
    tj_ctx_free(ctx);
}

typedef struct {
    tj_fn *f;
    int seed, failures;
} worker;

/* Each thread writes into its own arrays; every result checked against the formula. */
static void *call_into_many(void *arg)
{
    worker *w = arg;
    int64_t n = 64;
    tj_array *o[2] = {tj_array_new(TJ_FLOAT64, 1, &n), tj_array_new(TJ_FLOAT64, 1, &n)};
    for (int c = 0; c < 2000; c++) {
        tj_array *x = tj_array_new(TJ_FLOAT64, 1, &n);
        double *px = tj_array_data(x);
        for (int i = 0; i < n; i++)
            px[i] = sin(w->seed * 5.0 + c * 0.1 + i);
        if (tj_call_into(w->f, &x, o) != TJ_OK) {
            w->failures++;
        } else {
            for (int i = 0; i < n; i++)
                w->failures += fabs(tjt_at(o[0], i) - (tanh(px[i]) * 2.0 + 1.0)) > 1e-12 ||
                               tjt_at(o[1], i) != px[i] * px[i];
        }
        tj_array_unref(x);
    }
    tj_array_unref(o[0]);
    tj_array_unref(o[1]);
    return NULL;
}

Test(call_into, threads_share_one_function)
{
    tj_ctx *ctx = tj_ctx_new();
    tj_var *x = tj_vector(ctx, TJ_FLOAT64, "x");
    tj_var *outs[2] = {tj_addc(tj_mulc(tj_tanh(x), 2), 1), tj_sqr(x)};
    tj_fn *f = tj_function(ctx, &x, 1, outs, 2, NULL);
    cr_assert(f, "%s", tj_errmsg(ctx));
    pthread_t t[4];
    worker w[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (worker){f, i, 0};
        pthread_create(&t[i], NULL, call_into_many, &w[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        cr_expect_eq(w[i].failures, 0, "thread %d: %d wrong results", i, w[i].failures);
    }
    tj_ctx_free(ctx);
}
