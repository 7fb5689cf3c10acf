/* Flat kernels (iteration rank 0 or 1: one loop, no strided variants, tjK_kernel.flat): operands
 * with a stride other than 1 (every second element, reversed, a column of a matrix) are copied
 * by the runtime before the call; values against plain C in float64, elementwise and reductions,
 * including lengths 0 and 1 and lengths above the thread pool's threshold. */
#include "function.h"
#include "support.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>

/* f(x, y) = [exp(x) * y + 1, sum(x * y)] */
static tj_fn *make(tj_ctx *ctx)
{
    tj_var *x = tj_vector(ctx, TJ_FLOAT64, "x"), *y = tj_vector(ctx, TJ_FLOAT64, "y");
    tj_fn *f = tj_function(ctx, (tj_var *[]){x, y}, 2,
                           (tj_var *[]){tj_addc(tj_mul(tj_exp(x), y), 1),
                                        tj_sum(tj_mul(x, y), NULL, 0, false)},
                           2, NULL);
    cr_assert(f, "%s", tj_errmsg(ctx));
    for (int k = 0; !tjt_jit_off() && k < f->plan->nkernels; k++)
        cr_expect(f->plan->kernels[k]->flat, "kernel %d of a 1-D function is flat", k);
    return f;
}

static void check(tj_fn *f, tj_array *x, tj_array *y, int64_t n, const double *xs, const double *ys)
{
    tj_array *out[2] = {NULL, NULL};
    cr_assert_eq(tj_call(f, (tj_array *[]){x, y}, out), TJ_OK, "%s", tj_errmsg(f->ctx));
    cr_assert_eq(tj_array_size(out[0]), n);
    long double sum = 0, mag = 0;
    for (int64_t i = 0; i < n; i++) {
        double want = exp(xs[i]) * ys[i] + 1;
        /* exp within 3 ulp; e*y + 1 may be one fma: the error scales with |e*y| + 1 */
        double tol = 2e-15 * (fabs(exp(xs[i]) * ys[i]) + 1);
        cr_assert(fabs(tjt_at(out[0], i) - want) <= tol, "n %lld, element %lld: %.17g, want %.17g",
                  (long long)n, (long long)i, tjt_at(out[0], i), want);
        sum += (long double)xs[i] * ys[i];
        mag += fabsl((long double)xs[i] * ys[i]);
    }
    /* a compensated blocked sum: within a few roundings of the sum of magnitudes */
    cr_expect(fabsl(tjt_at(out[1], 0) - sum) <= 1e-14L * mag, "n %lld: sum %.17g, want %.17Lg",
              (long long)n, tjt_at(out[1], 0), sum);
    tj_array_unref(out[0]);
    tj_array_unref(out[1]);
}

Test(flat, strided_reversed_and_column_operands)
{
    tj_ctx *ctx = tj_ctx_new();
    tj_fn *f = make(ctx);
    int64_t sizes[] = {0, 1, 2, 37, 300007};
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
        int64_t n = sizes[s];
        double *buf = malloc(sizeof(double) * (size_t)(3 * n + 1));
        double *xs = malloc(sizeof(double) * (size_t)(n + 1));
        double *ys = malloc(sizeof(double) * (size_t)(n + 1));
        for (int64_t i = 0; i < 3 * n + 1; i++)
            buf[i] = sin(0.37 * (double)i);
        /* x: every third element; y: the same memory read backwards, from its last element */
        int64_t sx = 3 * (int64_t)sizeof(double), sy = -(int64_t)sizeof(double);
        tj_array *x = tj_array_wrap(TJ_FLOAT64, 1, &n, &sx, buf, NULL, NULL);
        tj_array *y = tj_array_wrap(TJ_FLOAT64, 1, &n, &sy, n ? buf + n - 1 : buf, NULL, NULL);
        for (int64_t i = 0; i < n; i++) {
            xs[i] = buf[3 * i];
            ys[i] = buf[n - 1 - i];
        }
        check(f, x, y, n, xs, ys);
        /* a column of a C-contiguous (n, 3) matrix at buf: stride 3 elements */
        int64_t col_stride = 3 * (int64_t)sizeof(double);
        tj_array *col = tj_array_wrap(TJ_FLOAT64, 1, &n, &col_stride, buf + 1, NULL, NULL);
        for (int64_t i = 0; i < n; i++)
            ys[i] = buf[3 * i + 1];
        check(f, x, col, n, xs, ys);
        tj_array_unref(col);
        tj_array_unref(x);
        tj_array_unref(y);
        free(buf);
        free(xs);
        free(ys);
    }
    tj_ctx_free(ctx);
}

/* A 0-d function is flat too: one element, strides 0. */
Test(flat, zero_dimensional)
{
    tj_ctx *ctx = tj_ctx_new();
    tj_var *a = tj_scalar(ctx, TJ_FLOAT32, "a");
    tj_fn *f = tj_function(ctx, &a, 1, (tj_var *[]){tj_tanh(tj_mulc(a, 2))}, 1, NULL);
    cr_assert(f, "%s", tj_errmsg(ctx));
    cr_expect(tjt_jit_off() || f->plan->kernels[0]->flat);
    tj_array *in = tj_array_scalar(TJ_FLOAT32, 0.3), *out = NULL;
    cr_assert_eq(tj_call(f, &in, &out), TJ_OK, "%s", tj_errmsg(ctx));
    cr_expect(fabs(tjt_at(out, 0) - tanh(2 * (double)0.3f)) <= 2e-7);
    tj_array_unref(in);
    tj_array_unref(out);
    tj_ctx_free(ctx);
}
