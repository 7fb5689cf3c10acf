/* pow(x, y) for float and double (float is computed through double and rounded once).
 *
 * pow = sign * exp(y log|x|) with log|x| as a double-double: |x| = m 2^e, m in [sqrt(1/2),
 * sqrt(2)), s = (m - 1)/(m + 1) carried with its division's error, log m = 2 atanh(s) from the
 * atanh series (s^2 <= 0.03; its two leading terms in double-double), e ln2 added with ln2 in
 * two parts: about 2^-64 relative, which y |log x| <= 745 turns into an ulp at most. The
 * product y log|x| is formed exactly (fma) and exp takes its low part after the Cody-Waite
 * reduction (two-sums), so the only sizeable error is exp's polynomial: about an ulp. C99's
 * special cases (Annex F.9.4.4) are selects over that value: y = 0 or x = 1 give 1 (even with a
 * NaN), a negative x needs an integer y (odd y keeps the sign), zeros, infinities and y = +-inf
 * follow the limits. */
#include "vmath.h"

static LLVMValueRef two_sum(const vm *v, LLVMValueRef a, LLVMValueRef b, LLVMValueRef *err)
{
    LLVMValueRef s = add(v, a, b), bb = sub(v, s, a);
    *err = add(v, sub(v, a, sub(v, s, bb)), sub(v, b, bb));
    return s;
}

static LLVMValueRef or_(const vm *v, LLVMValueRef a, LLVMValueRef b)
{
    return LLVMBuildOr(v->b, a, b, "");
}
static LLVMValueRef and_(const vm *v, LLVMValueRef a, LLVMValueRef b)
{
    return LLVMBuildAnd(v->b, a, b, "");
}

/* log(a) = hi + *lo for positive finite a, to about 2^-64 relative: log m = 2 atanh(s) =
 * 2s + (2/3) s^3 + s^5 P(s^2), the first two terms as double-doubles (s's division error and
 * s^3 by fma), the rest (< 6e-5 of the total) in plain double */
static LLVMValueRef log_dd(const vm *v, LLVMValueRef a, LLVMValueRef *lo)
{
    static const double P[] = {2.0 / 29, 2.0 / 27, 2.0 / 25, 2.0 / 23, 2.0 / 21, 2.0 / 19, 2.0 / 17,
                               2.0 / 15, 2.0 / 13, 2.0 / 11, 2.0 / 9,  2.0 / 7,  2.0 / 5};
    LLVMValueRef m, fe, de;
    tjV_log_split(v, a, &m, &fe);
    LLVMValueRef f = sub(v, m, K(v, 1.0)); /* exact */
    LLVMValueRef d = two_sum(v, K(v, 2.0), f, &de);
    LLVMValueRef s = dv(v, f, d);
    LLVMValueRef slo = dv(v, sub(v, fma_(v, neg(v, s), d, f), mul(v, s, de)), d);
    LLVMValueRef z = mul(v, s, s), zlo = fma_(v, s, s, neg(v, z));
    LLVMValueRef c = mul(v, s, z), clo = fma_(v, s, zlo, fma_(v, s, z, neg(v, c)));
    LLVMValueRef t = mul(v, c, K(v, 0.6666666666666666));
    LLVMValueRef tlo = fma_(v, c, K(v, 0.6666666666666666), neg(v, t));
    tlo =
        add(v, tlo, fma_(v, clo, K(v, 0.6666666666666666), mul(v, c, K(v, 3.700743415417188e-17))));
    LLVMValueRef he, h = two_sum(v, add(v, s, s), t, &he);
    LLVMValueRef rest = mul(v, mul(v, s, mul(v, z, z)), horner(v, z, P, 13));
    rest = fma_(v, mul(v, K(v, 2.0), z), slo, rest); /* (2/3) s^3's share of s's error */
    rest = add(v, add(v, he, add(v, slo, slo)), add(v, tlo, rest));
    /* + fe ln2: the high part's product is exact (ln2_hi has 32 bits, |fe| < 2^11) */
    LLVMValueRef terr, thi = two_sum(v, mul(v, fe, K(v, 6.93147180369123816490e-01)), h, &terr);
    LLVMValueRef tl = add(v, terr, fma_(v, fe, K(v, 1.90821492927058770002e-10), rest));
    LLVMValueRef hi = add(v, thi, tl);
    *lo = sub(v, tl, sub(v, hi, thi));
    return hi;
}

/* exp(hi + lo), |lo| tiny against hi; hi clamped to where the result is 0 or inf anyway */
static LLVMValueRef exp_dd(const vm *v, LLVMValueRef hi, LLVMValueRef lo)
{
    LLVMValueRef big = cmp(v, LLVMRealOGT, hi, K(v, 710.0));
    LLVMValueRef small = cmp(v, LLVMRealOLT, hi, K(v, -746.0));
    LLVMValueRef clamped = or_(v, big, small);
    hi = pick(v, big, K(v, 710.0), pick(v, small, K(v, -746.0), hi));
    lo = pick(v, clamped, K(v, 0.0), lo);
    LLVMValueRef fn = call1(v, "llvm.roundeven", mul(v, hi, K(v, 1.4426950408889634074)));
    LLVMValueRef r1 = fma_(v, fn, K(v, -6.93145751953125E-1), hi); /* exact */
    LLVMValueRef c = mul(v, fn, K(v, -1.42860682030941723212E-6)), e1;
    LLVMValueRef rh = two_sum(v, r1, c, &e1);
    LLVMValueRef rl = add(v, e1, lo);
    LLVMValueRef em1 = tjV_expm1_poly(v, rh);
    LLVMValueRef y = add(v, K(v, 1.0), fma_(v, rl, add(v, K(v, 1.0), em1), em1));
    return tjV_ldexp(v, y, fn);
}

static LLVMValueRef pow_d(const vm *v, LLVMValueRef x, LLVMValueRef y)
{
    LLVMBuilderRef b = v->b;
    LLVMValueRef zero = K(v, 0.0), one = K(v, 1.0), inf = K(v, __builtin_inf());
    LLVMValueRef ax = fabs_(v, x), ay = fabs_(v, y);
    /* y an integer, an odd one (|y| >= 2^53 is even) */
    LLVMValueRef yint = cmp(v, LLVMRealOEQ, call1(v, "llvm.trunc", y), y);
    LLVMValueRef hy = mul(v, y, K(v, 0.5));
    LLVMValueRef yodd = and_(v, yint, cmp(v, LLVMRealUNE, call1(v, "llvm.trunc", hy), hy));
    LLVMValueRef xbits = LLVMBuildBitCast(b, x, v->it, "");
    LLVMValueRef xneg = LLVMBuildICmp(b, LLVMIntSLT, xbits, KI(v, 0), ""); /* -0 included */
    LLVMValueRef negative = and_(v, xneg, yodd);

    /* the general case on a safe |x| (zeros and infinities are patched below) */
    LLVMValueRef special_x = or_(v, cmp(v, LLVMRealOEQ, ax, zero), cmp(v, LLVMRealOEQ, ax, inf));
    LLVMValueRef safe = pick(v, special_x, one, ax);
    LLVMValueRef llo, lhi = log_dd(v, safe, &llo);
    LLVMValueRef phi = mul(v, y, lhi);
    LLVMValueRef plo = fma_(v, y, llo, fma_(v, y, lhi, neg(v, phi)));
    LLVMValueRef r = exp_dd(v, phi, plo);

    /* |x| = 0 or inf: 0 or inf by the sign of y (the exponent of 0 is -inf, of inf +inf) */
    LLVMValueRef to_inf =
        LLVMBuildXor(b, cmp(v, LLVMRealOLT, y, zero), cmp(v, LLVMRealOEQ, ax, inf), "");
    r = pick(v, special_x, pick(v, to_inf, inf, zero), r);
    /* y = +-inf: 1 at |x| = 1, else 0 or inf by whether |x| < 1 and the sign of y */
    LLVMValueRef yinf = cmp(v, LLVMRealOEQ, ay, inf);
    LLVMValueRef grows =
        LLVMBuildXor(b, cmp(v, LLVMRealOLT, ax, one), cmp(v, LLVMRealOGT, y, zero), "");
    LLVMValueRef rinf = pick(v, cmp(v, LLVMRealOEQ, ax, one), one, pick(v, grows, inf, zero));
    r = pick(v, yinf, rinf, r);
    r = pick(v, negative, neg(v, r), r);
    /* a negative finite x with a non-integer finite y: NaN */
    LLVMValueRef bad = and_(v, cmp(v, LLVMRealOLT, x, zero),
                            and_(v, LLVMBuildNot(b, yint, ""), LLVMBuildNot(b, yinf, "")));
    bad = and_(v, bad, cmp(v, LLVMRealONE, ax, inf));
    r = pick(v, bad, K(v, __builtin_nan("")), r);
    r = keep_nan(v, y, keep_nan(v, x, r));
    /* y = 0 or x = 1: 1, whatever the other operand (NaN included) */
    r = pick(v, or_(v, cmp(v, LLVMRealOEQ, y, zero), cmp(v, LLVMRealOEQ, x, one)), one, r);
    return r;
}

LLVMValueRef tjV_pow(LLVMBuilderRef b, LLVMValueRef x, LLVMValueRef y)
{
    vm v = vm_of(b, x);
    if (v.dbl)
        return pow_d(&v, x, y);
    vm d = vm_double(&v);
    LLVMValueRef r = pow_d(&d, LLVMBuildFPExt(b, x, d.t, ""), LLVMBuildFPExt(b, y, d.t, ""));
    return LLVMBuildFPTrunc(b, r, v.t, "");
}
