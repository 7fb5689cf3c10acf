/* The exp and log families built on vmath.c's cores: expm1, log1p, softplus (float and double,
 * natively), exp2, log2, log10, and the hyperbolic functions and their inverses.
 * Same contracts as vmath.c: straight-line IR, selects for every case, no fast-math flags,
 * libm's NaN/Inf/signed-zero results. Accuracy: docs/VMATH.md. */
#include "vmath.h"

/* ---- expm1 --------------------------------------------------------------------------------- */

/* expm1(x) = 2^n (e^r - 1) + (2^n - 1), with e^r - 1 from the shared polynomial: exact for
 * n = 0, one rounding of the fma otherwise. Once 2^n - 1 would no longer be exact the -1 no
 * longer matters (n > p + 1) and the result is exp(x) scaled in two steps (overflow to inf).
 * Below -(p + 3) ln 2 the result rounds to -1; x = +-0 returns x. */
static LLVMValueRef expm1_of(const vm *v, LLVMValueRef x)
{
    int p = v->dbl ? 53 : 24;
    LLVMValueRef fn, r;
    tjV_exp_reduce(v, x, -(p + 3) * 0.6931471805599453, v->dbl ? 710.0 : 89.0, &fn, &r);
    LLVMValueRef em1 = tjV_expm1_poly(v, r);
    LLVMValueRef big = cmp(v, LLVMRealOGT, fn, K(v, p + 1));
    LLVMValueRef t = tjV_ldexp(v, K(v, 1.0), pick(v, big, K(v, 0.0), fn)); /* exact 2^n */
    LLVMValueRef small = fma_(v, t, em1, sub(v, t, K(v, 1.0)));
    LLVMValueRef large = tjV_ldexp(v, add(v, em1, K(v, 1.0)), fn);
    LLVMValueRef res = pick(v, big, large, small);
    return sel(v, LLVMRealOEQ, x, K(v, 0.0), x, res);
}

LLVMValueRef tjV_expm1(LLVMBuilderRef b, LLVMValueRef x)
{
    vm v = vm_of(b, x);
    return expm1_of(&v, x);
}

/* ---- log1p --------------------------------------------------------------------------------- */

/* log1p(x) = log(u) + (x - (u - 1)) / u with u = 1 + x rounded: the second term is the exact
 * rounding error of u relative to u (both subtractions are exact), added at the low-order end
 * of the log core. */
LLVMValueRef tjV_log1p_core(const vm *v, LLVMValueRef x)
{
    LLVMValueRef u = add(v, K(v, 1.0), x);
    LLVMValueRef c = dv(v, sub(v, x, sub(v, u, K(v, 1.0))), u);
    return tjV_log_core(v, u, c);
}

/* log1p(-1) = -inf, below -1 NaN, +inf stays, NaN stays, +-0 stays. */
static LLVMValueRef log1p_of(const vm *v, LLVMValueRef x)
{
    LLVMValueRef inf = K(v, __builtin_inf());
    LLVMValueRef r = tjV_log1p_core(v, x);
    r = sel(v, LLVMRealOEQ, x, K(v, 0.0), x, r);
    r = sel(v, LLVMRealOEQ, x, inf, inf, r);
    r = sel(v, LLVMRealOEQ, x, K(v, -1.0), neg(v, inf), r);
    r = sel(v, LLVMRealOLT, x, K(v, -1.0), K(v, __builtin_nan("")), r);
    return keep_nan(v, x, r);
}

LLVMValueRef tjV_log1p(LLVMBuilderRef b, LLVMValueRef x)
{
    vm v = vm_of(b, x);
    return log1p_of(&v, x);
}

/* ---- softplus ------------------------------------------------------------------------------ */

/* log(1 + e^x) = log1p(e^-|x|) + max(x, 0): never overflows; e^-|x| is in [0, 1], where the
 * log1p core needs no special cases. */
LLVMValueRef tjV_softplus(LLVMBuilderRef b, LLVMValueRef x)
{
    vm v = vm_of(b, x);
    LLVMValueRef e = tjV_exp_neg_abs(&v, x);
    LLVMValueRef l = tjV_log1p_core(&v, e);
    LLVMValueRef r = add(&v, l, sel(&v, LLVMRealOGT, x, K(&v, 0.0), x, K(&v, 0.0)));
    return keep_nan(&v, x, r);
}

/* ---- exp2 ---------------------------------------------------------------------------------- */

/* 2^x = 2^n 2^r, n = rint(x), r = x - n exact in [-1/2, 1/2]. float: 2^r = 1 + r P(r), a
 * Chebyshev fit (mpmath) with 0.07 ulp error; double: 2^r = e^a with a = r ln2 split in a + a_lo
 * (fma), e^a = 1 + expm1_poly(a) + a_lo. Scaled in two steps like exp. */
LLVMValueRef tjV_exp2(LLVMBuilderRef b, LLVMValueRef x)
{
    vm v = vm_of(b, x);
    double lo = v.dbl ? -1080.0 : -152.0, hi = v.dbl ? 1030.0 : 130.0;
    x = sel(&v, LLVMRealOGT, x, K(&v, hi), K(&v, hi), x);
    x = sel(&v, LLVMRealOLT, x, K(&v, lo), K(&v, lo), x);
    LLVMValueRef fn = call1(&v, "llvm.roundeven", x);
    LLVMValueRef r = sub(&v, x, fn), y;
    if (!v.dbl) {
        static const double P[] = {0.0001545318282995974, 0.0013390886332106697,
                                   0.009618082519990467,  0.05550357071152507,
                                   0.24022650760645808,   0.6931471880352003};
        y = fma_(&v, r, horner(&v, r, P, 6), K(&v, 1.0));
    } else {
        LLVMValueRef a = mul(&v, r, K(&v, 0.6931471805599453));
        LLVMValueRef alo = fma_(&v, r, K(&v, 0.6931471805599453), neg(&v, a));
        alo = fma_(&v, r, K(&v, 2.3190468138462996e-17), alo);
        y = add(&v, K(&v, 1.0), add(&v, tjV_expm1_poly(&v, a), alo));
    }
    return tjV_ldexp(&v, y, fn);
}

/* ---- log2, log10 --------------------------------------------------------------------------- */

/* fdlibm's e_log2.c / e_log10.c on the double log core's pieces: log(1+f) is split into hi (the
 * top 21 bits of f - f^2/2) + lo, multiplied by 1/ln2 (1/ln10) held in hi + lo parts, so the
 * result is within an ulp and exact at powers of 2. float is computed through double. */
static LLVMValueRef log_base(const vm *v, LLVMValueRef x, bool ten)
{
    LLVMBuilderRef b = v->b;
    LLVMValueRef m, fe;
    tjV_log_split(v, x, &m, &fe);
    LLVMValueRef f = sub(v, m, K(v, 1.0));
    LLVMValueRef hfsq, s, R;
    tjV_log1p_parts(v, f, &hfsq, &s, &R);
    LLVMValueRef hi = sub(v, f, hfsq);
    hi = LLVMBuildBitCast(b,
                          LLVMBuildAnd(b, LLVMBuildBitCast(b, hi, v->it, ""),
                                       KI(v, (long long)0xffffffff00000000ull), ""),
                          v->t, "");
    LLVMValueRef lo = fma_(v, s, add(v, hfsq, R), sub(v, sub(v, f, hi), hfsq));
    double ivhi = ten ? 0.4342944818781689 : 1.4426950407214463;
    double ivlo = ten ? 2.5082946711645275e-11 : 1.6751713164886512e-10;
    LLVMValueRef vhi = mul(v, hi, K(v, ivhi));
    LLVMValueRef vlo = fma_(v, add(v, lo, hi), K(v, ivlo), mul(v, lo, K(v, ivhi)));
    LLVMValueRef y = fe;
    if (ten) {
        vlo = fma_(v, fe, K(v, 3.694239077158931e-13), vlo);
        y = mul(v, fe, K(v, 0.30102999566361177)); /* exact: 40-bit constant, |fe| < 2^11 */
    }
    LLVMValueRef wsum = add(v, y, vhi);
    vlo = add(v, vlo, add(v, sub(v, y, wsum), vhi));
    return tjV_log_specials(v, x, add(v, vlo, wsum));
}

static LLVMValueRef log2_d(const vm *v, LLVMValueRef x) { return log_base(v, x, false); }
static LLVMValueRef log10_d(const vm *v, LLVMValueRef x) { return log_base(v, x, true); }

LLVMValueRef tjV_log2(LLVMBuilderRef b, LLVMValueRef x)
{
    vm v = vm_of(b, x);
    return tjV_via_double(&v, x, log2_d);
}

LLVMValueRef tjV_log10(LLVMBuilderRef b, LLVMValueRef x)
{
    vm v = vm_of(b, x);
    return tjV_via_double(&v, x, log10_d);
}

/* ---- sinh, cosh ---------------------------------------------------------------------------- */

/* exp(|x|) / 2 for large |x|: the exp core with the halving folded into the exponent, so the
 * result overflows only where sinh/cosh do (|x| > 710.47). */
static LLVMValueRef half_exp(const vm *v, LLVMValueRef a)
{
    LLVMValueRef fn, r;
    tjV_exp_reduce(v, a, 0.0, 712.0, &fn, &r);
    LLVMValueRef y = add(v, tjV_expm1_poly(v, r), K(v, 1.0));
    return tjV_ldexp(v, y, sub(v, fn, K(v, 1.0)));
}

/* fdlibm's s_sinh.c: with t = expm1(|x|), sinh = (2t - t^2/(t+1)) / 2 below 1 and
 * (t + t/(t+1)) / 2 below 22, exp(|x|)/2 beyond; the sign is copied (sinh(-0) = -0). */
static LLVMValueRef sinh_d(const vm *v, LLVMValueRef x)
{
    LLVMValueRef a = fabs_(v, x);
    LLVMValueRef t = expm1_of(v, a);
    LLVMValueRef tp1 = add(v, t, K(v, 1.0));
    LLVMValueRef small = sub(v, add(v, t, t), dv(v, mul(v, t, t), tp1));
    LLVMValueRef mid = add(v, t, dv(v, t, tp1));
    LLVMValueRef r = mul(v, K(v, 0.5), sel(v, LLVMRealOLT, a, K(v, 1.0), small, mid));
    r = sel(v, LLVMRealOLT, a, K(v, 22.0), r, half_exp(v, a));
    return keep_nan(v, x, copysign_(v, r, x));
}

/* fdlibm's e_cosh.c: 1 + t^2 / (2 (1 + t)) with t = expm1(|x|) below ln2/2, (e + 1/e)/2 with
 * e = exp(|x|) below 22, exp(|x|)/2 beyond. */
static LLVMValueRef cosh_d(const vm *v, LLVMValueRef x)
{
    LLVMValueRef a = fabs_(v, x);
    LLVMValueRef t = expm1_of(v, a);
    LLVMValueRef w = add(v, t, K(v, 1.0)); /* exp(|x|) */
    LLVMValueRef small = add(v, K(v, 1.0), dv(v, mul(v, t, t), add(v, w, w)));
    LLVMValueRef mid = fma_(v, K(v, 0.5), w, dv(v, K(v, 0.5), w));
    LLVMValueRef r = sel(v, LLVMRealOLT, a, K(v, 0.34657359027997264), small, mid);
    r = sel(v, LLVMRealOLT, a, K(v, 22.0), r, half_exp(v, a));
    return keep_nan(v, x, r);
}

LLVMValueRef tjV_sinh(LLVMBuilderRef b, LLVMValueRef x)
{
    vm v = vm_of(b, x);
    return tjV_via_double(&v, x, sinh_d);
}

LLVMValueRef tjV_cosh(LLVMBuilderRef b, LLVMValueRef x)
{
    vm v = vm_of(b, x);
    return tjV_via_double(&v, x, cosh_d);
}

/* ---- arcsinh, arccosh, arctanh ------------------------------------------------------------- */

/* log(arg) + corr through one log core: log1p's compensated form where the argument is
 * 1 + w for a small w, a plain log elsewhere. */
static LLVMValueRef log1p_or_log(const vm *v, LLVMValueRef use_w, LLVMValueRef w, LLVMValueRef y)
{
    LLVMValueRef u = add(v, K(v, 1.0), w);
    LLVMValueRef c = dv(v, sub(v, w, sub(v, u, K(v, 1.0))), u);
    return tjV_log_core(v, pick(v, use_w, u, y), pick(v, use_w, c, K(v, 0.0)));
}

/* fdlibm's s_asinh.c: log1p(|x| + x^2/(1 + sqrt(1 + x^2))) below 2, log(2|x| + 1/(sqrt(x^2 + 1)
 * + |x|)) below 2^28, log(|x|) + ln2 beyond; the sign is copied. */
static LLVMValueRef asinh_d(const vm *v, LLVMValueRef x)
{
    LLVMValueRef a = fabs_(v, x), a2 = mul(v, a, a);
    LLVMValueRef sq = call1(v, "llvm.sqrt", add(v, a2, K(v, 1.0)));
    LLVMValueRef w = add(v, a, dv(v, a2, add(v, K(v, 1.0), sq)));
    LLVMValueRef mid = add(v, add(v, a, a), dv(v, K(v, 1.0), add(v, sq, a)));
    LLVMValueRef big = cmp(v, LLVMRealOGT, a, K(v, 268435456.0));
    LLVMValueRef r = log1p_or_log(v, cmp(v, LLVMRealOLT, a, K(v, 2.0)), w, pick(v, big, a, mid));
    r = add(v, r, pick(v, big, K(v, 0.6931471805599453), K(v, 0.0)));
    r = sel(v, LLVMRealOEQ, a, K(v, __builtin_inf()), a, r);
    return keep_nan(v, x, copysign_(v, r, x));
}

/* fdlibm's e_acosh.c: log1p(t + sqrt(2t + t^2)) with t = x - 1 up to 2, log(2x - 1/(x +
 * sqrt(x^2 - 1))) up to 2^28, log(x) + ln2 beyond; below 1 NaN. */
static LLVMValueRef acosh_d(const vm *v, LLVMValueRef x)
{
    LLVMValueRef t = sub(v, x, K(v, 1.0));
    LLVMValueRef w = add(v, t, call1(v, "llvm.sqrt", fma_(v, t, t, add(v, t, t))));
    LLVMValueRef mid =
        sub(v, add(v, x, x),
            dv(v, K(v, 1.0), add(v, x, call1(v, "llvm.sqrt", fma_(v, x, x, K(v, -1.0))))));
    LLVMValueRef big = cmp(v, LLVMRealOGT, x, K(v, 268435456.0));
    LLVMValueRef r = log1p_or_log(v, cmp(v, LLVMRealOLE, x, K(v, 2.0)), w, pick(v, big, x, mid));
    r = add(v, r, pick(v, big, K(v, 0.6931471805599453), K(v, 0.0)));
    r = sel(v, LLVMRealOEQ, x, K(v, __builtin_inf()), x, r);
    r = sel(v, LLVMRealOLT, x, K(v, 1.0), K(v, __builtin_nan("")), r);
    return keep_nan(v, x, r);
}

/* fdlibm's s_atanh.c: log1p(2a + 2a^2/(1 - a)) / 2 below 1/2, log1p(2a/(1 - a)) / 2 above, with
 * a = |x|; +-1 gives +-inf, beyond NaN; the sign is copied. */
static LLVMValueRef atanh_d(const vm *v, LLVMValueRef x)
{
    LLVMValueRef a = fabs_(v, x), om = sub(v, K(v, 1.0), a), t = add(v, a, a);
    LLVMValueRef w = pick(v, cmp(v, LLVMRealOLT, a, K(v, 0.5)), add(v, t, dv(v, mul(v, t, a), om)),
                          dv(v, t, om));
    LLVMValueRef r = mul(v, K(v, 0.5), tjV_log1p_core(v, w));
    r = sel(v, LLVMRealOEQ, a, K(v, 1.0), K(v, __builtin_inf()), r);
    r = sel(v, LLVMRealOGT, a, K(v, 1.0), K(v, __builtin_nan("")), r);
    return keep_nan(v, x, copysign_(v, r, x));
}

LLVMValueRef tjV_asinh(LLVMBuilderRef b, LLVMValueRef x)
{
    vm v = vm_of(b, x);
    return tjV_via_double(&v, x, asinh_d);
}

LLVMValueRef tjV_acosh(LLVMBuilderRef b, LLVMValueRef x)
{
    vm v = vm_of(b, x);
    return tjV_via_double(&v, x, acosh_d);
}

LLVMValueRef tjV_atanh(LLVMBuilderRef b, LLVMValueRef x)
{
    vm v = vm_of(b, x);
    return tjV_via_double(&v, x, atanh_d);
}
