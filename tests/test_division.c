/* Division in kernels is a true division: they carry no `arcp` flag, which lets LLVM compute
 * x / c as x * (1/c). For a subnormal constant c, 1/c overflows (0 / c became 0 * inf = NaN,
 * found by fuzz-diff); for a scalar input s, LLVM hoists 1/s out of the loop and x * (1/s)
 * differs from x / s in the last bit for many x. (The optimizer's div_const_inverse does turn
 * x / c into x * (1/c) on purpose, in both executors, when 1/c is finite.) */
#include "support.h"

#include <criterion/criterion.h>
#include <float.h>
#include <math.h>

enum { N = 4099 };

/* f(x[, s]) = x / divisor, divisor a constant or the scalar input s; every element against C. */
static void check(tj_dtype dtype, double divisor, bool as_input)
{
    tj_ctx *ctx = tj_ctx_new();
    tj_var *x = tj_vector(ctx, dtype, "x"), *s = tj_scalar(ctx, dtype, "s");
    tj_var *d = as_input ? s : tj_const(ctx, dtype, divisor);
    tj_fn *f = tj_function(ctx, (tj_var *[]){x, s}, as_input ? 2 : 1,
                           (tj_var *[]){tj_div(x, d)}, 1, NULL);
    cr_assert(f, "%s", tj_errmsg(ctx));
    double v[N];
    for (int i = 0; i < N; i++)
        v[i] = i == 0 ? 0.0 : (i - N / 2) * 0.37 + 1.0 / i;
    int64_t n = N;
    tj_array *in[2] = {tjt_array(dtype, 1, &n, v), tjt_array(dtype, 0, NULL, &divisor)};
    tj_array *out = NULL;
    cr_assert_eq(tj_call(f, in, &out), TJ_OK, "%s", tj_errmsg(ctx));
    for (int i = 0; i < N; i++) {
        double xi = tjt_at(in[0], i), got = tjt_at(out, i);
        double want = dtype == TJ_FLOAT32 ? (double)((float)xi / (float)divisor) : xi / divisor;
        cr_assert(got == want, "%s x / %g (%s) at x = %.17g: %.17g, want %.17g",
                  tj_dtype_name(dtype), divisor, as_input ? "input" : "constant", xi, got, want);
    }
    tj_array_unref(in[0]);
    tj_array_unref(in[1]);
    tj_array_unref(out);
    tj_ctx_free(ctx);
}

Test(division, by_a_subnormal_constant)
{
    check(TJ_FLOAT32, FLT_TRUE_MIN, false);
    check(TJ_FLOAT64, DBL_TRUE_MIN, false);
}

Test(division, by_a_scalar_input_correctly_rounded)
{
    check(TJ_FLOAT32, 3.0, true);
    check(TJ_FLOAT64, 3.0, true);
    check(TJ_FLOAT64, 0.1, true);
    check(TJ_FLOAT32, FLT_TRUE_MIN, true);
}
