/* numpy's semantics for the elementwise ops, case by case, with the expected values written out
 * by hand (checked against numpy 2.4): floor division and remainder signs, division by zero,
 * INT_MIN // -1, round half to even, integer wrap-around, clip with NaN and lo > hi, sign,
 * isnan/isinf, logic on bool and integers, ties of maximum/minimum, the dtype rules and the
 * type errors. Every case runs through the JIT and the reference executor, each value in a
 * vector long enough to pass through the vectorized loop body and its scalar remainder. */
#include <criterion/criterion.h>

#include "support.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static tj_ctx *ctx;

static void setup(void)
{
    ctx = tj_ctx_new();
    cr_assert(ctx);
}

static void teardown(void) { tj_ctx_free(ctx); }

TestSuite(elemwise_numpy, .init = setup, .fini = teardown, .timeout = 120);

typedef tj_var *(*bin_fn)(tj_var *, tj_var *);
typedef tj_var *(*un_fn)(tj_var *);

static bool identical(double got, double want)
{
    if (isnan(want))
        return isnan(got);
    return got == want && signbit(got) == signbit(want);
}

#define REP 3 /* each case appears REP times in a row: vector body and remainder both see it */

/* out = f(x[, y]) over n cases in both modes; checks the dtype and every value bit for bit */
static void check(const char *what, tj_dtype dx, tj_dtype dy, un_fn u, bin_fn b, int n,
                  const double *xs, const double *ys, const double *want, tj_dtype want_dtype)
{
    tj_var *x = tj_vector(ctx, dx, "x"), *y = tj_vector(ctx, dy, "y");
    tj_var *out = u ? u(x) : b(x, y);
    cr_assert(out, "%s: %s", what, tj_errmsg(ctx));
    cr_expect_eq(tj_var_dtype(out), want_dtype, "%s: dtype %s, numpy gives %s", what,
                 tj_dtype_name(tj_var_dtype(out)), tj_dtype_name(want_dtype));
    int64_t len = (int64_t)n * REP * 4; /* x4: enough for an 8-wide body plus a remainder */
    double *xv = malloc(sizeof *xv * (size_t)len), *yv = malloc(sizeof *yv * (size_t)len);
    for (int64_t i = 0; i < len; i++) {
        xv[i] = xs[(i / REP) % n];
        yv[i] = ys ? ys[(i / REP) % n] : 0;
    }
    tj_array *args[2] = {tjt_array(dx, 1, &len, xv), tjt_array(dy, 1, &len, yv)};
    for (int mode = 0; mode < 2; mode++) {
        tj_function_opts o = TJ_FUNCTION_OPTS_INIT;
        o.mode = mode ? TJ_MODE_FAST_COMPILE : TJ_MODE_FAST_RUN;
        o.on_unused_input = TJ_UNUSED_IGNORE;
        tj_fn *fn = tj_function(ctx, (tj_var *[]){x, y}, 2, &out, 1, &o);
        cr_assert(fn, "%s: %s", what, tj_errmsg(ctx));
        tj_array *r = NULL;
        cr_assert_eq(tj_call(fn, args, &r), TJ_OK, "%s: %s", what, tj_errmsg(ctx));
        for (int64_t i = 0; i < len; i++) {
            int k = (int)((i / REP) % n);
            double got = tjt_at(r, i);
            cr_expect(identical(got, want[k]),
                      "%s %s: case %d (%.17g, %.17g) gives %.17g, want %.17g", what,
                      mode ? "reference" : "JIT", k, xs[k], ys ? ys[k] : 0.0, got, want[k]);
        }
        tj_array_unref(r);
        tj_fn_free(fn);
    }
    tj_array_unref(args[0]);
    tj_array_unref(args[1]);
    free(xv);
    free(yv);
}

#define N(a) ((int)(sizeof(a) / sizeof *(a)))

/* ---- floor division and remainder ------------------------------------------------------------ */

Test(elemwise_numpy, int_div_mod_integers)
{
    static const double x[] = {-7, 7, -7, 7, 7, -7, 0, 6, -6, 1};
    static const double y[] = {2, -2, -2, 2, 0, 0, 5, 3, 3, -1};
    static const double q[] = {-4, -4, 3, 3, 0, 0, 0, 2, -2, -1};
    static const double r[] = {1, -1, -1, 1, 0, 0, 0, 0, 0, 0};
    static const tj_dtype ds[] = {TJ_INT8, TJ_INT16, TJ_INT32, TJ_INT64};
    for (size_t i = 0; i < 4; i++) {
        check("int_div", ds[i], ds[i], NULL, tj_int_div, N(x), x, y, q, ds[i]);
        check("mod", ds[i], ds[i], NULL, tj_mod, N(x), x, y, r, ds[i]);
    }
    /* INT_MIN // -1 wraps to INT_MIN, INT_MIN % -1 is 0: no trap */
    static const double m8[] = {-128, -128, 127}, m1[] = {-1, 1, -1}, q8[] = {-128, -128, -127},
                        r8[] = {0, 0, 0};
    check("int_div int8 min", TJ_INT8, TJ_INT8, NULL, tj_int_div, 3, m8, m1, q8, TJ_INT8);
    check("mod int8 min", TJ_INT8, TJ_INT8, NULL, tj_mod, 3, m8, m1, r8, TJ_INT8);
    static const double m32[] = {-2147483648.0, 2147483647.0}, n1[] = {-1, -1},
                        q32[] = {-2147483648.0, -2147483647.0}, r32[] = {0, 0};
    check("int_div int32 min", TJ_INT32, TJ_INT32, NULL, tj_int_div, 2, m32, n1, q32, TJ_INT32);
    check("mod int32 min", TJ_INT32, TJ_INT32, NULL, tj_mod, 2, m32, n1, r32, TJ_INT32);
    static const double m64[] = {-0x1p63}, q64[] = {-0x1p63}, r64[] = {0};
    check("int_div int64 min", TJ_INT64, TJ_INT64, NULL, tj_int_div, 1, m64, n1, q64, TJ_INT64);
    check("mod int64 min", TJ_INT64, TJ_INT64, NULL, tj_mod, 1, m64, n1, r64, TJ_INT64);
    static const double ux[] = {200, 5, 255, 0}, uy[] = {7, 0, 16, 3}, uq[] = {28, 0, 15, 0},
                        ur[] = {4, 0, 15, 0};
    check("int_div uint8", TJ_UINT8, TJ_UINT8, NULL, tj_int_div, 4, ux, uy, uq, TJ_UINT8);
    check("mod uint8", TJ_UINT8, TJ_UINT8, NULL, tj_mod, 4, ux, uy, ur, TJ_UINT8);
    /* bool computes in int8, as numpy */
    static const double bx[] = {1, 1, 0, 0}, by[] = {1, 0, 1, 0}, bq[] = {1, 0, 0, 0},
                        br[] = {0, 0, 0, 0};
    check("int_div bool", TJ_BOOL, TJ_BOOL, NULL, tj_int_div, 4, bx, by, bq, TJ_INT8);
    check("mod bool", TJ_BOOL, TJ_BOOL, NULL, tj_mod, 4, bx, by, br, TJ_INT8);
}

Test(elemwise_numpy, int_div_mod_floats)
{
    static const double x[] = {-7.5, 7.5, -0.0, 0.0, 1.0, -1.0, 0.0, INFINITY, 5, -5, 5, 1, NAN};
    static const double y[] = {2, -2, 3, -3, 0, 0, 0, 2, INFINITY, INFINITY, -INFINITY, 0.1, 1};
    static const double q[] = {-4,  -4,  -0.0, -0.0, INFINITY, -INFINITY, NAN,
                               NAN, 0.0, -1,   -1,   9,        NAN};
    static const double r[] = {
        0.5, -0.5, 0.0, -0.0, NAN, NAN, NAN, NAN, 5, INFINITY, -INFINITY, 0.09999999999999995, NAN};
    check("int_div float64", TJ_FLOAT64, TJ_FLOAT64, NULL, tj_int_div, N(x), x, y, q, TJ_FLOAT64);
    check("mod float64", TJ_FLOAT64, TJ_FLOAT64, NULL, tj_mod, N(x), x, y, r, TJ_FLOAT64);
    /* float32 computes in float32: 1 % 0.1f is 0.1f's own remainder */
    static const double fx[] = {-7.5, 7.5, 1}, fy[] = {2, -2, 0.100000001490116119384765625},
                        fq[] = {-4, -4, 9}, fr[] = {0.5, -0.5, 0.099999986588954925537109375};
    check("int_div float32", TJ_FLOAT32, TJ_FLOAT32, NULL, tj_int_div, 3, fx, fy, fq, TJ_FLOAT32);
    check("mod float32", TJ_FLOAT32, TJ_FLOAT32, NULL, tj_mod, 3, fx, fy, fr, TJ_FLOAT32);
}

/* ---- rounding, sign ------------------------------------------------------------------------- */

Test(elemwise_numpy, round_half_to_even)
{
    static const double x[] = {
        0.5,   1.5,  2.5, -0.5,      -1.5, -2.5, 0.49999999999999994, 2.5000000000000004,
        1e300, -0.0, NAN, -INFINITY, 3.7,  -3.7};
    static const double w[] = {0, 2, 2, -0.0, -2, -2, 0, 3, 1e300, -0.0, NAN, -INFINITY, 4, -4};
    check("round float64", TJ_FLOAT64, TJ_FLOAT64, tj_round, NULL, N(x), x, NULL, w, TJ_FLOAT64);
    static const double fx[] = {0.5, 1.5, 2.5, -0.5, -2.5, 8388609.0, 0.4999999701976776123046875};
    static const double fw[] = {0, 2, 2, -0.0, -2, 8388609.0, 0};
    check("round float32", TJ_FLOAT32, TJ_FLOAT32, tj_round, NULL, N(fx), fx, NULL, fw, TJ_FLOAT32);
    static const double ix[] = {-128, 5, 127};
    check("round int8", TJ_INT8, TJ_INT8, tj_round, NULL, 3, ix, NULL, ix, TJ_INT8);
    static const double bx[] = {0, 1};
    check("round bool", TJ_BOOL, TJ_BOOL, tj_round, NULL, 2, bx, NULL, bx, TJ_FLOAT32);
    static const double cx[] = {-1.5, -0.5, 0.5, 1.5, -0.0};
    static const double fl[] = {-2, -1, 0, 1, -0.0}, ce[] = {-1, -0.0, 1, 2, -0.0},
                        tr[] = {-1, -0.0, 0, 1, -0.0};
    check("floor", TJ_FLOAT64, TJ_FLOAT64, tj_floor, NULL, 5, cx, NULL, fl, TJ_FLOAT64);
    check("ceil", TJ_FLOAT64, TJ_FLOAT64, tj_ceil, NULL, 5, cx, NULL, ce, TJ_FLOAT64);
    check("trunc", TJ_FLOAT32, TJ_FLOAT32, tj_trunc, NULL, 5, cx, NULL, tr, TJ_FLOAT32);
    check("floor int32 keeps int32", TJ_INT32, TJ_INT32, tj_floor, NULL, 3, ix, NULL, ix, TJ_INT32);
    check("ceil bool keeps bool", TJ_BOOL, TJ_BOOL, tj_ceil, NULL, 2, bx, NULL, bx, TJ_BOOL);
}

Test(elemwise_numpy, sign)
{
    static const double x[] = {-3, -0.0, 0.0, 2, NAN, -INFINITY, INFINITY, 1e-310};
    static const double w[] = {-1, 0.0, 0.0, 1, NAN, -1, 1, 1};
    check("sign float64", TJ_FLOAT64, TJ_FLOAT64, tj_sign, NULL, N(x), x, NULL, w, TJ_FLOAT64);
    check("sign float32", TJ_FLOAT32, TJ_FLOAT32, tj_sign, NULL, 7, x, NULL, w, TJ_FLOAT32);
    static const double ix[] = {-128, 0, 5, 127}, iw[] = {-1, 0, 1, 1};
    check("sign int8", TJ_INT8, TJ_INT8, tj_sign, NULL, 4, ix, NULL, iw, TJ_INT8);
    static const double ux[] = {0, 200}, uw[] = {0, 1};
    check("sign uint8", TJ_UINT8, TJ_UINT8, tj_sign, NULL, 2, ux, NULL, uw, TJ_UINT8);
}

/* ---- integer wrap-around ----------------------------------------------------------------------
 */

static tj_var *plus1(tj_var *x) { return tj_addc(x, 1); }
static tj_var *minus1(tj_var *x) { return tj_subc(x, 1); }
static tj_var *times3(tj_var *x) { return tj_mulc(x, 3); }
static tj_var *pow7(tj_var *x) { return tj_powc(x, 7); }
static tj_var *pow40(tj_var *x) { return tj_powc(x, 40); }

Test(elemwise_numpy, integer_wrap)
{
    static const double a[] = {127, -128, 100, 0}, ap1[] = {-128, -127, 101, 1},
                        am1[] = {126, 127, 99, -1}, at3[] = {125, 128 - 256, 44, 0};
    check("int8 + 1", TJ_INT8, TJ_INT8, plus1, NULL, 4, a, NULL, ap1, TJ_INT8);
    check("int8 - 1", TJ_INT8, TJ_INT8, minus1, NULL, 4, a, NULL, am1, TJ_INT8);
    check("int8 * 3", TJ_INT8, TJ_INT8, times3, NULL, 4, a, NULL, at3, TJ_INT8);
    static const double n[] = {-128, 127, 16, -5}, nabs[] = {-128, 127, 16, 5},
                        nneg[] = {-128, -127, -16, 5}, nsqr[] = {0, 1, 0, 25},
                        ninv[] = {127, -128, -17, 4};
    check("abs int8", TJ_INT8, TJ_INT8, tj_abs, NULL, 4, n, NULL, nabs, TJ_INT8);
    check("neg int8", TJ_INT8, TJ_INT8, tj_neg, NULL, 4, n, NULL, nneg, TJ_INT8);
    check("sqr int8", TJ_INT8, TJ_INT8, tj_sqr, NULL, 4, n, NULL, nsqr, TJ_INT8);
    check("invert int8", TJ_INT8, TJ_INT8, tj_invert, NULL, 4, n, NULL, ninv, TJ_INT8);
    static const double u[] = {0, 255, 200}, um1[] = {255, 254, 199}, uinv[] = {255, 0, 55};
    check("uint8 - 1", TJ_UINT8, TJ_UINT8, minus1, NULL, 3, u, NULL, um1, TJ_UINT8);
    check("invert uint8", TJ_UINT8, TJ_UINT8, tj_invert, NULL, 3, u, NULL, uinv, TJ_UINT8);
    static const double i32[] = {2147483647.0, -2147483648.0},
                        i32p[] = {-2147483648.0, -2147483647.0};
    check("int32 + 1", TJ_INT32, TJ_INT32, plus1, NULL, 2, i32, NULL, i32p, TJ_INT32);
    /* 2^7 = 128 -> -128; 3^7 = 2187 = 8 * 256 + 139 -> int8 -117 */
    static const double two[] = {2, 3}, p7w[] = {-128, -117};
    check("int8 ** 7", TJ_INT8, TJ_INT8, pow7, NULL, 2, two, NULL, p7w, TJ_INT8);
    /* 3^40 = 12157665459056928801 = 0xA8B8B452291FE821: low 32 bits 0x291FE821 = 689956897 */
    static const double p40[] = {0, 689956897};
    check("int32 ** 40", TJ_INT32, TJ_INT32, pow40, NULL, 2, two, NULL, p40, TJ_INT32);
    static const double i64[] = {0x1p62, -0x1p63}, m4[] = {4, -1}, m4w[] = {0, -0x1p63};
    check("int64 * int64", TJ_INT64, TJ_INT64, NULL, tj_mul, 2, i64, m4, m4w, TJ_INT64);
}

/* ---- clip, maximum/minimum --------------------------------------------------------------------
 */

static tj_var *clip01(tj_var *x) { return tj_clipc(x, 0.0, 1.0); }
static tj_var *clip_nan_lo(tj_var *x)
{
    return tj_clip(x, tj_lit(tj_var_ctx(x), NAN), tj_lit(tj_var_ctx(x), 1));
}
static tj_var *clip_rev(tj_var *x) { return tj_clipc(x, 4.0, 2.0); }
static tj_var *clip_xy(tj_var *x, tj_var *y) { return tj_clip(x, y, tj_lit_int(tj_var_ctx(x), 3)); }

Test(elemwise_numpy, clip)
{
    static const double x[] = {NAN, -0.0, 0.0, -5, 0.5, 7, INFINITY};
    static const double w[] = {NAN, -0.0, 0.0, 0.0, 0.5, 1, 1};
    check("clip float64", TJ_FLOAT64, TJ_FLOAT64, clip01, NULL, N(x), x, NULL, w, TJ_FLOAT64);
    check("clip float32", TJ_FLOAT32, TJ_FLOAT32, clip01, NULL, N(x), x, NULL, w, TJ_FLOAT32);
    static const double nn[] = {NAN, NAN, NAN, NAN, NAN, NAN, NAN};
    check("clip lo NaN", TJ_FLOAT64, TJ_FLOAT64, clip_nan_lo, NULL, N(x), x, NULL, nn, TJ_FLOAT64);
    static const double r[] = {5, 1, 3}, rw[] = {2, 2, 2};
    check("clip lo > hi", TJ_FLOAT64, TJ_FLOAT64, clip_rev, NULL, 3, r, NULL, rw, TJ_FLOAT64);
    check("clip lo > hi int16", TJ_INT16, TJ_INT16, clip_rev, NULL, 3, r, NULL, rw, TJ_INT16);
    static const double ix[] = {-3, 0, 9, -128}, ilo[] = {-1, 1, -1, -128}, iw[] = {-1, 1, 3, -128};
    check("clip int8 tensor lo", TJ_INT8, TJ_INT8, NULL, clip_xy, 4, ix, ilo, iw, TJ_INT8);
    static const double hi[] = {NAN, 2, 5, 1};
    static const double hw[] = {NAN, 2, 3, 1};
    check("clip float lo NaN", TJ_FLOAT64, TJ_FLOAT64, NULL, clip_xy, 4, ix, hi, hw, TJ_FLOAT64);
}

Test(elemwise_numpy, maximum_minimum_nan_and_ties)
{
    static const double x[] = {NAN, 1, -0.0, 0.0, NAN, -INFINITY};
    static const double y[] = {1, NAN, 0.0, -0.0, NAN, 3};
    static const double mx[] = {NAN, NAN, 0.0, -0.0, NAN, 3};
    static const double mn[] = {NAN, NAN, 0.0, -0.0, NAN, -INFINITY};
    check("maximum", TJ_FLOAT64, TJ_FLOAT64, NULL, tj_maximum, N(x), x, y, mx, TJ_FLOAT64);
    check("minimum", TJ_FLOAT32, TJ_FLOAT32, NULL, tj_minimum, N(x), x, y, mn, TJ_FLOAT32);
}

/* ---- tests and logic ---------------------------------------------------------------------- */

Test(elemwise_numpy, isnan_isinf_not)
{
    static const double x[] = {NAN, INFINITY, -INFINITY, 1, 0, -0.0};
    static const double nan_[] = {1, 0, 0, 0, 0, 0}, inf_[] = {0, 1, 1, 0, 0, 0},
                        not_[] = {0, 0, 0, 0, 1, 1};
    check("isnan", TJ_FLOAT32, TJ_FLOAT32, tj_isnan, NULL, N(x), x, NULL, nan_, TJ_BOOL);
    check("isinf", TJ_FLOAT64, TJ_FLOAT64, tj_isinf, NULL, N(x), x, NULL, inf_, TJ_BOOL);
    check("not float", TJ_FLOAT64, TJ_FLOAT64, tj_not, NULL, N(x), x, NULL, not_, TJ_BOOL);
    static const double i[] = {0, -5, 127}, f3[] = {0, 0, 0}, n3[] = {1, 0, 0};
    check("isnan int8", TJ_INT8, TJ_INT8, tj_isnan, NULL, 3, i, NULL, f3, TJ_BOOL);
    check("isinf int64", TJ_INT64, TJ_INT64, tj_isinf, NULL, 3, i, NULL, f3, TJ_BOOL);
    check("not int16", TJ_INT16, TJ_INT16, tj_not, NULL, 3, i, NULL, n3, TJ_BOOL);
    static const double b[] = {0, 1}, nb[] = {1, 0};
    check("not bool", TJ_BOOL, TJ_BOOL, tj_not, NULL, 2, b, NULL, nb, TJ_BOOL);
    check("invert bool", TJ_BOOL, TJ_BOOL, tj_invert, NULL, 2, b, NULL, nb, TJ_BOOL);
}

Test(elemwise_numpy, logic)
{
    static const double p[] = {0, 0, 1, 1}, q[] = {0, 1, 0, 1};
    static const double and_[] = {0, 0, 0, 1}, or_[] = {0, 1, 1, 1}, xor_[] = {0, 1, 1, 0};
    check("and bool", TJ_BOOL, TJ_BOOL, NULL, tj_and, 4, p, q, and_, TJ_BOOL);
    check("or bool", TJ_BOOL, TJ_BOOL, NULL, tj_or, 4, p, q, or_, TJ_BOOL);
    check("xor bool", TJ_BOOL, TJ_BOOL, NULL, tj_xor, 4, p, q, xor_, TJ_BOOL);
    static const double a[] = {12, -1, -128}, b[] = {10, 5, 127};
    static const double ia[] = {8, 5, 0}, io[] = {14, -1, -1}, ix[] = {6, -6, -1};
    check("and int8", TJ_INT8, TJ_INT8, NULL, tj_and, 3, a, b, ia, TJ_INT8);
    check("or int8", TJ_INT8, TJ_INT8, NULL, tj_or, 3, a, b, io, TJ_INT8);
    check("xor int8", TJ_INT8, TJ_INT8, NULL, tj_xor, 3, a, b, ix, TJ_INT8);
    /* mixed: bool with int32 promotes to int32 (bitwise) */
    static const double m[] = {1, 0, 1}, mi[] = {3, 3, 2}, mw[] = {1, 0, 0};
    check("and bool int32", TJ_BOOL, TJ_INT32, NULL, tj_and, 3, m, mi, mw, TJ_INT32);
}

/* ---- dtype rules and type errors --------------------------------------------------------------
 */

static void expect_dtype(tj_var *v, tj_dtype want, const char *what)
{
    cr_assert(v, "%s: %s", what, tj_errmsg(ctx));
    cr_expect_eq(tj_var_dtype(v), want, "%s: %s, want %s", what, tj_dtype_name(tj_var_dtype(v)),
                 tj_dtype_name(want));
}

static void expect_type_error(tj_var *v, const char *what, const char *needle)
{
    cr_expect_null(v, "%s should be a type error", what);
    cr_expect_eq(tj_errcode(ctx), TJ_ERR_TYPE, "%s: %s", what, tj_status_name(tj_errcode(ctx)));
    cr_expect(strstr(tj_errmsg(ctx), needle), "%s: message \"%s\" lacks \"%s\"", what,
              tj_errmsg(ctx), needle);
    tj_clear_error(ctx);
}

Test(elemwise_numpy, dtype_rules)
{
    tj_var *b = tj_vector(ctx, TJ_BOOL, "b"), *i8 = tj_vector(ctx, TJ_INT8, "i8");
    tj_var *u8 = tj_vector(ctx, TJ_UINT8, "u8"), *i16 = tj_vector(ctx, TJ_INT16, "i16");
    tj_var *i32 = tj_vector(ctx, TJ_INT32, "i32"), *i64 = tj_vector(ctx, TJ_INT64, "i64");
    tj_var *f32 = tj_vector(ctx, TJ_FLOAT32, "f32"), *f64 = tj_vector(ctx, TJ_FLOAT64, "f64");
    expect_dtype(tj_exp(i8), TJ_FLOAT32, "exp(int8)");
    expect_dtype(tj_log1p(u8), TJ_FLOAT32, "log1p(uint8)");
    expect_dtype(tj_sin(i16), TJ_FLOAT32, "sin(int16)");
    expect_dtype(tj_erf(b), TJ_FLOAT32, "erf(bool)");
    expect_dtype(tj_softplus(i32), TJ_FLOAT64, "softplus(int32)");
    expect_dtype(tj_expm1(i64), TJ_FLOAT64, "expm1(int64)");
    expect_dtype(tj_arctan2(i8, u8), TJ_FLOAT32, "arctan2(int8, uint8) -> int16 -> float32");
    expect_dtype(tj_arctan2(i16, f32), TJ_FLOAT32, "arctan2(int16, float32)");
    expect_dtype(tj_arctan2(i32, f32), TJ_FLOAT64, "arctan2(int32, float32)");
    expect_dtype(tj_div(i8, i8), TJ_FLOAT64, "int8 / int8");
    expect_dtype(tj_div(b, b), TJ_FLOAT64, "bool / bool");
    expect_dtype(tj_int_div(i8, u8), TJ_INT16, "int8 // uint8");
    expect_dtype(tj_int_div(b, b), TJ_INT8, "bool // bool");
    expect_dtype(tj_mod(i32, f32), TJ_FLOAT64, "int32 % float32");
    expect_dtype(tj_int_divc(i8, 2), TJ_INT8, "int8 // 2 (weak literal)");
    expect_dtype(tj_modc(f32, 2.5), TJ_FLOAT32, "float32 % 2.5");
    expect_dtype(tj_modc(i16, 2.5), TJ_FLOAT64, "int16 % 2.5");
    expect_dtype(tj_sqr(b), TJ_INT8, "sqr(bool)");
    expect_dtype(tj_pow(b, b), TJ_INT8, "bool ** bool");
    expect_dtype(tj_abs(b), TJ_BOOL, "abs(bool)");
    expect_dtype(tj_floor(i32), TJ_INT32, "floor(int32)");
    expect_dtype(tj_round(b), TJ_FLOAT32, "round(bool)");
    expect_dtype(tj_isnan(i64), TJ_BOOL, "isnan(int64)");
    expect_dtype(tj_not(f32), TJ_BOOL, "not(float32)");
    expect_dtype(tj_invert(u8), TJ_UINT8, "invert(uint8)");
    expect_dtype(tj_and(b, i8), TJ_INT8, "bool & int8");
    expect_dtype(tj_xor(u8, i8), TJ_INT16, "uint8 ^ int8");
    expect_dtype(tj_clipc(f32, 0, 1), TJ_FLOAT32, "clip(float32, 0., 1.)");
    expect_dtype(tj_clipc(i8, 0, 10), TJ_INT8, "clip(int8, 0, 10)");
    expect_dtype(tj_clipc(i8, 0, 0.5), TJ_FLOAT64, "clip(int8, 0, 0.5)");
    expect_dtype(tj_clip(i8, i16, u8), TJ_INT16, "clip(int8, int16, uint8)");
    expect_dtype(tj_clip(f32, i32, f32), TJ_FLOAT64, "clip(float32, int32, float32)");
    expect_dtype(tj_clip(b, b, b), TJ_BOOL, "clip(bool, bool, bool)");
    expect_dtype(tj_sign(f64), TJ_FLOAT64, "sign(float64)");

    expect_type_error(tj_neg(b), "neg(bool)", "tj_not");
    expect_type_error(tj_sub(b, b), "bool - bool", "tj_xor");
    expect_type_error(tj_sign(b), "sign(bool)", "sign");
    expect_type_error(tj_and(f32, i8), "float32 & int8", "bool and integers");
    expect_type_error(tj_invert(f64), "invert(float64)", "bool and integers");
    expect_type_error(tj_xor(b, tj_lit(ctx, 1.5)), "bool ^ 1.5", "bool and integers");
}
