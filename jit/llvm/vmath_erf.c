/* erf and erfc, double (float is computed through double and rounded once).
 *
 * |x| < 1/2: erf(x) = x P(x^2), P a degree-10 Chebyshev fit (mpmath) of erf(sqrt z)/sqrt z on
 * [0, 1/4] (error ~1e-6 ulp). Elsewhere erfc(|x|) = t exp(-x^2 + Q(t)) with t = 2/(2 + |x|),
 * Q a degree-23 fit of log(erfc(x) e^(x^2) / t) over x in [1/2, 28] (in a variable centred on
 * that t range, error ~0.01 ulp); t is carried as t + tl, x^2 as hi + lo (fma), and exp's
 * Cody-Waite reduction is applied to -hi alone, so the large x^2 never swallows Q's bits. Then erf
 * = +-(1 - erfc(|x|)), erfc(x) = 2 - erfc(|x|) for x <= -1/2, 1 - erf(x) in between. Every lane
 * computes both forms (selects, no branches). */
#include "vmath.h"

/* a + b = s + *err exactly (Knuth's two-sum, no magnitude condition) */
static LLVMValueRef two_sum(const vm *v, LLVMValueRef a, LLVMValueRef b, LLVMValueRef *err)
{
    LLVMValueRef s = add(v, a, b), bb = sub(v, s, a);
    *err = add(v, sub(v, a, sub(v, s, bb)), sub(v, b, bb));
    return s;
}

/* erfc(a) for a >= 1/2 (a clamped to 27.5, where it has underflowed to 0: 2^n stays within
 * tjV_ldexp's range) */
static LLVMValueRef erfc_tail(const vm *v, LLVMValueRef a)
{
    static const double Q[] = {
        7.704472047823249e-11,   -1.5684487313094084e-10, -5.946171755117057e-10,
        2.1608370600213862e-09,  6.550609981147612e-10,   -1.483489374614698e-08,
        1.9250574421486958e-08,  6.259964503574864e-08,   -2.0274954537544339e-07,
        -1.2102786685967685e-07, 1.3378985887419745e-06,  -6.554059625259283e-07,
        -7.261948618372495e-06,  9.671422829790338e-06,   3.6840614301539405e-05,
        -7.96688916841009e-05,   -0.0001998427491263183,  0.0005815061396394129,
        0.0013973696644398734,   -0.004366761479666186,   -0.015841843864836808,
        0.03487470250824968,     0.4822577912130475,      -0.7605305090234711};
    a = sel(v, LLVMRealOGT, a, K(v, 27.5), K(v, 27.5), a);
    static const double D[] = {-0.0009582973526733056, 0.00256402872765988,  0.006785393853448709,
                               -0.017031651362989515,  -0.04750110591264908, 0.06969608933549994,
                               0.4822577912130475};
    /* t = 2/(2 + a) as t + tl: the result is sensitive to t's rounding (about twice its
     * relative error near a = 1/2), so its error is carried into both uses */
    LLVMValueRef derr, d = two_sum(v, K(v, 2.0), a, &derr);
    LLVMValueRef t = dv(v, K(v, 2.0), d);
    LLVMValueRef tl = dv(v, sub(v, fma_(v, neg(v, t), d, K(v, 2.0)), mul(v, t, derr)), d);
    LLVMValueRef u = dv(v, sub(v, t, K(v, 0.43333333333333335)), K(v, 0.36666666666666664));
    LLVMValueRef q = horner(v, u, Q, 24);
    /* + Q'(u) * tl / half, Q' from a degree-6 fit (only ~10% of it matters) */
    q = fma_(v, horner(v, u, D, 7), dv(v, tl, K(v, 0.36666666666666664)), q);
    LLVMValueRef hi = mul(v, a, a), lo = fma_(v, a, a, neg(v, hi));
    LLVMValueRef s = sub(v, q, hi); /* only to pick n */
    LLVMValueRef fn = call1(v, "llvm.roundeven", mul(v, s, K(v, 1.4426950408889634074)));
    /* r = -hi - fn ln2 + q - lo as rh + rl (two exact two-sums): its rounding would otherwise
     * cost an ulp of the result */
    LLVMValueRef r1 = fma_(v, fn, K(v, -6.93145751953125E-1), neg(v, hi)); /* exact */
    LLVMValueRef c = mul(v, fn, K(v, -1.42860682030941723212E-6)), e1, e2;
    LLVMValueRef s1 = two_sum(v, r1, q, &e1), rh = two_sum(v, s1, c, &e2);
    LLVMValueRef rl = sub(v, add(v, e1, e2), lo);
    LLVMValueRef em1 = tjV_expm1_poly(v, rh);
    LLVMValueRef y = add(v, K(v, 1.0), fma_(v, rl, add(v, K(v, 1.0), em1), em1));
    return tjV_ldexp(v, fma_(v, tl, y, mul(v, t, y)), fn);
}

static LLVMValueRef erf_small(const vm *v, LLVMValueRef x)
{
    static const double P[] = {
        1.3213778399713015e-08,  -1.6273067498640665e-07, 1.6459030738902206e-06,
        -1.4925586460369781e-05, 0.00012055332129506839,  -0.000854832701614194,
        0.005223977625403085,    -0.02686617064513003,    0.11283791670955123,
        -0.37612638903183754,    1.1283791670955126};
    return mul(v, x, horner(v, mul(v, x, x), P, 11));
}

static LLVMValueRef erf_d(const vm *v, LLVMValueRef x)
{
    LLVMValueRef a = fabs_(v, x);
    LLVMValueRef big = copysign_(v, sub(v, K(v, 1.0), erfc_tail(v, a)), x);
    LLVMValueRef r = sel(v, LLVMRealOLT, a, K(v, 0.5), erf_small(v, x), big);
    return keep_nan(v, x, r);
}

static LLVMValueRef erfc_d(const vm *v, LLVMValueRef x)
{
    LLVMValueRef a = fabs_(v, x), e = erfc_tail(v, a);
    LLVMValueRef r = sel(v, LLVMRealOLT, x, K(v, 0.0), sub(v, K(v, 2.0), e), e);
    r = sel(v, LLVMRealOLT, a, K(v, 0.5), sub(v, K(v, 1.0), erf_small(v, x)), r);
    return keep_nan(v, x, r);
}

LLVMValueRef tjV_erf(LLVMBuilderRef b, LLVMValueRef x)
{
    vm v = vm_of(b, x);
    return tjV_via_double(&v, x, erf_d);
}

LLVMValueRef tjV_erfc(LLVMBuilderRef b, LLVMValueRef x)
{
    vm v = vm_of(b, x);
    return tjV_via_double(&v, x, erfc_d);
}
