/* arctan, arctan2, arcsin, arccos in double (float is computed through double and rounded once).
 *
 * arctan / arctan2: atan(num/den) for num, den >= 0 is reduced to |t| <= tan(pi/8) by
 * t = num/den, (num - den)/(num + den) or -den/num, plus a base of 0, pi/4 or pi/2 (for a
 * negative x in atan2 the base becomes pi - base and t changes sign). t is carried with its
 * division's rounding error tl (and the two-sum errors of num +- den), and atan(t) = t +
 * t z P(z), z = t^2, P a degree-11 Chebyshev fit (mpmath, 0.002 ulp). The base is added last
 * in two parts (hi + lo), so the result is within about an ulp. C99 Annex F's zeros,
 * infinities and NaNs come from the same path with t forced to 0 where the ratio is 0/0 or
 * inf/inf.
 *
 * arcsin / arccos: |x| <= 1/2 directly, asin(x) = x + x z R(z); above, asin(|x|) = pi/2 -
 * 2 asin(s) with s = sqrt((1 - |x|)/2) carried as s + s_lo (an fma residual), and acos from the
 * same pieces (pi/2 - asin, 2 asin(s), pi - 2 asin(s)). R is a degree-13 fit on [0, 1/4]. */
#include "vmath.h"

static LLVMValueRef two_sum(const vm *v, LLVMValueRef a, LLVMValueRef b, LLVMValueRef *err)
{
    LLVMValueRef s = add(v, a, b), bb = sub(v, s, a);
    *err = add(v, sub(v, a, sub(v, s, bb)), sub(v, b, bb));
    return s;
}

static LLVMValueRef and_(const vm *v, LLVMValueRef a, LLVMValueRef b)
{
    return LLVMBuildAnd(v->b, a, b, "");
}
static LLVMValueRef or_(const vm *v, LLVMValueRef a, LLVMValueRef b)
{
    return LLVMBuildOr(v->b, a, b, "");
}

/* atan(t + tl) - t for |t| <= tan(pi/8): the small part, to be added to t and the base */
static LLVMValueRef atan_tail(const vm *v, LLVMValueRef t, LLVMValueRef tl)
{
    static const double P[] = {0.01627194475162406,   -0.034558092551413795, 0.04551108126325172,
                               -0.052303478730160745, 0.058789145444006215,  -0.06666423628069258,
                               0.0769229630497447,    -0.09090908751076636,  0.11111111105106705,
                               -0.14285714285659326,  0.199999999999998,     -0.3333333333333333};
    LLVMValueRef z = mul(v, t, t);
    /* tl / (1 + z) ~ tl (1 - z): tl is a rounding error, a few percent of it is noise */
    LLVMValueRef corr = fma_(v, neg(v, tl), z, tl);
    return fma_(v, mul(v, t, z), horner(v, z, P, 12), corr);
}

/* atan2 of (num, den) = (|y|, |x|), for x negative when xneg, before the sign of y */
static LLVMValueRef atan_ratio(const vm *v, LLVMValueRef num, LLVMValueRef den, LLVMValueRef xneg)
{
    LLVMValueRef inf = K(v, __builtin_inf()), zero = K(v, 0.0);
    /* num + den below must not overflow (atan2(DBL_MAX, DBL_MAX) is pi/4, not NaN): scale both
     * by 1/4 when either is huge, exact for normal numbers (a subnormal other one only loses
     * bits of a ratio that underflows anyway) */
    LLVMValueRef huge = or_(v, cmp(v, LLVMRealOGT, num, K(v, 0x1p1020)),
                            cmp(v, LLVMRealOGT, den, K(v, 0x1p1020)));
    num = pick(v, huge, mul(v, num, K(v, 0.25)), num);
    den = pick(v, huge, mul(v, den, K(v, 0.25)), den);
    LLVMValueRef ninf = cmp(v, LLVMRealOEQ, num, inf), dinf = cmp(v, LLVMRealOEQ, den, inf);
    LLVMValueRef q = dv(v, num, den);
    LLVMValueRef r3 = cmp(v, LLVMRealOGT, q, K(v, 2.414213562373095));
    LLVMValueRef r2 = or_(
        v, and_(v, cmp(v, LLVMRealOGT, q, K(v, 0.41421356237309503)), LLVMBuildNot(v->b, r3, "")),
        and_(v, ninf, dinf));
    LLVMValueRef nerr, derr;
    LLVMValueRef n2 = two_sum(v, num, neg(v, den), &nerr), d2 = two_sum(v, num, den, &derr);
    LLVMValueRef N = pick(v, r3, neg(v, den), pick(v, r2, n2, num));
    LLVMValueRef D = pick(v, r3, num, pick(v, r2, d2, den));
    LLVMValueRef Ne = pick(v, r2, nerr, zero), De = pick(v, r2, derr, zero);
    LLVMValueRef t = dv(v, N, D);
    LLVMValueRef tl = dv(v, sub(v, add(v, fma_(v, neg(v, t), D, N), Ne), mul(v, t, De)), D);
    /* 0/0, inf/inf, x/inf, inf/x: the ratio's atan is exactly the base */
    LLVMValueRef special = or_(v, or_(v, cmp(v, LLVMRealOEQ, num, zero), ninf), dinf);
    t = pick(v, special, zero, t);
    tl = pick(v, special, zero, tl);
    /* base: 0, pi/4, pi/2; for x < 0, pi - base with t negated */
    LLVMValueRef bhi =
        pick(v, r3, K(v, 1.5707963267948966), pick(v, r2, K(v, 0.7853981633974483), zero));
    LLVMValueRef blo =
        pick(v, r3, K(v, 6.123233995736766e-17), pick(v, r2, K(v, 3.061616997868383e-17), zero));
    LLVMValueRef nbhi = pick(v, r3, K(v, 1.5707963267948966),
                             pick(v, r2, K(v, 2.356194490192345), K(v, 3.141592653589793)));
    LLVMValueRef nblo =
        pick(v, r3, K(v, 6.123233995736766e-17),
             pick(v, r2, K(v, 9.184850993605148e-17), K(v, 1.2246467991473532e-16)));
    bhi = pick(v, xneg, nbhi, bhi);
    blo = pick(v, xneg, nblo, blo);
    LLVMValueRef tail = atan_tail(v, t, tl);
    t = pick(v, xneg, neg(v, t), t);
    tail = pick(v, xneg, neg(v, tail), tail);
    return add(v, bhi, add(v, t, add(v, blo, tail)));
}

static LLVMValueRef atan_d(const vm *v, LLVMValueRef x)
{
    LLVMValueRef no = LLVMConstInt(LLVMInt1TypeInContext(LLVMGetTypeContext(v->t)), 0, 0);
    LLVMValueRef r = atan_ratio(v, fabs_(v, x), K(v, 1.0), no);
    return keep_nan(v, x, copysign_(v, r, x));
}

static LLVMValueRef atan2_d(const vm *v, LLVMValueRef y, LLVMValueRef x)
{
    LLVMValueRef xbits = LLVMBuildBitCast(v->b, x, v->it, "");
    LLVMValueRef xneg = LLVMBuildICmp(v->b, LLVMIntSLT, xbits, KI(v, 0), ""); /* -0 counts */
    LLVMValueRef r = atan_ratio(v, fabs_(v, y), fabs_(v, x), xneg);
    r = copysign_(v, r, y);
    return keep_nan(v, y, keep_nan(v, x, r));
}

/* asin(sqrt(z)) pieces for z in [0, 1/4]: s (= sqrt z rounded) and the rest, s_lo + s z R(z) */
static LLVMValueRef asin_tail(const vm *v, LLVMValueRef s, LLVMValueRef slo, LLVMValueRef z)
{
    static const double R[] = {0.029635026263548546,  -0.019277545928584553, 0.019579201619744684,
                               0.0030350071727267636, 0.009322101501082774,  0.009621402747344831,
                               0.011566511821890942,  0.013963775787848137,  0.017352816768546473,
                               0.022372157435623815,  0.030381944475693704,  0.04464285714255019,
                               0.07500000000000119,   0.16666666666666666};
    return fma_(v, mul(v, s, z), horner(v, z, R, 14), slo);
}

/* the shared reduction: big = |x| > 1/2, s + slo = sqrt((1 - |x|)/2) there, else s = |x| */
static void asin_reduce(const vm *v, LLVMValueRef a, LLVMValueRef *big, LLVMValueRef *s,
                        LLVMValueRef *slo, LLVMValueRef *z)
{
    *big = cmp(v, LLVMRealOGT, a, K(v, 0.5));
    LLVMValueRef zb = mul(v, sub(v, K(v, 1.0), a), K(v, 0.5)); /* exact for |x| in [1/2, 1] */
    LLVMValueRef sb = call1(v, "llvm.sqrt", zb);
    LLVMValueRef e = fma_(v, neg(v, sb), sb, zb);
    LLVMValueRef lo = sel(v, LLVMRealOEQ, sb, K(v, 0.0), K(v, 0.0), dv(v, e, add(v, sb, sb)));
    *z = pick(v, *big, zb, mul(v, a, a));
    *s = pick(v, *big, sb, a);
    *slo = pick(v, *big, lo, K(v, 0.0));
}

static LLVMValueRef asin_d(const vm *v, LLVMValueRef x)
{
    LLVMValueRef a = fabs_(v, x), big, s, slo, z;
    asin_reduce(v, a, &big, &s, &slo, &z);
    LLVMValueRef tail = asin_tail(v, s, slo, z);
    LLVMValueRef small = add(v, s, tail);
    /* pi/2 - 2 (s + tail) */
    LLVMValueRef large =
        sub(v, K(v, 1.5707963267948966),
            sub(v, add(v, s, s), sub(v, K(v, 6.123233995736766e-17), add(v, tail, tail))));
    LLVMValueRef r = pick(v, big, large, small);
    return keep_nan(v, x, copysign_(v, r, x));
}

static LLVMValueRef acos_d(const vm *v, LLVMValueRef x)
{
    LLVMValueRef a = fabs_(v, x), big, s, slo, z;
    asin_reduce(v, a, &big, &s, &slo, &z);
    LLVMValueRef tail = asin_tail(v, s, slo, z);
    /* |x| <= 1/2: pi/2 - asin(x), with x's sign */
    LLVMValueRef sx = copysign_(v, s, x), tx = copysign_(v, tail, x);
    LLVMValueRef mid =
        sub(v, K(v, 1.5707963267948966), sub(v, sx, sub(v, K(v, 6.123233995736766e-17), tx)));
    LLVMValueRef pos = mul(v, K(v, 2.0), add(v, s, tail)); /* x > 1/2: 2 asin(s) */
    LLVMValueRef negr =
        sub(v, K(v, 3.141592653589793),
            sub(v, add(v, s, s), sub(v, K(v, 1.2246467991473532e-16), add(v, tail, tail))));
    LLVMValueRef r = pick(v, big, sel(v, LLVMRealOLT, x, K(v, 0.0), negr, pos), mid);
    return keep_nan(v, x, r);
}

LLVMValueRef tjV_atan(LLVMBuilderRef b, LLVMValueRef x)
{
    vm v = vm_of(b, x);
    return tjV_via_double(&v, x, atan_d);
}

LLVMValueRef tjV_atan2(LLVMBuilderRef b, LLVMValueRef y, LLVMValueRef x)
{
    vm v = vm_of(b, y);
    if (v.dbl)
        return atan2_d(&v, y, x);
    vm d = vm_double(&v);
    LLVMValueRef r = atan2_d(&d, LLVMBuildFPExt(b, y, d.t, ""), LLVMBuildFPExt(b, x, d.t, ""));
    return LLVMBuildFPTrunc(b, r, v.t, "");
}

LLVMValueRef tjV_asin(LLVMBuilderRef b, LLVMValueRef x)
{
    vm v = vm_of(b, x);
    return tjV_via_double(&v, x, asin_d);
}

LLVMValueRef tjV_acos(LLVMBuilderRef b, LLVMValueRef x)
{
    vm v = vm_of(b, x);
    return tjV_via_double(&v, x, acos_d);
}
