/* exp, log, tanh and sigmoid for float and double, emitted inline as straight-line IR.
 *
 * Why inline: a loop calling expf/llvm.exp is widened and then split back into scalar calls;
 * straight-line polynomial code is widened to <8 x float> / <4 x double> and fuses with its
 * neighbours. Every branch is a select (both sides are computed), so a lane never diverges.
 *
 * Contracts kept by every function here:
 * - no fast-math flags: the range reductions (Cody-Waite) and the special-case selects must be
 *   evaluated as written; reassociation would cancel the split constants and nnan/ninf would
 *   delete the NaN/Inf handling. Horner steps use llvm.fmuladd (an FMA on the host);
 * - NaN in gives NaN out, infinities give the libm limits, subnormal inputs and results are
 *   handled (2^n is applied in two exponent multiplies so a subnormal result rounds once).
 * Coefficients are Cephes' (expf, exp, logf, tanhf, tanh) and fdlibm's (log). Measured accuracy
 * is in docs/VMATH.md. */
#include "vmath.h"

#include <string.h>

LLVMValueRef tjV_intrinsic(LLVMBuilderRef b, const char *name, LLVMTypeRef *types, unsigned ntypes,
                           LLVMValueRef *args, unsigned nargs)
{
    LLVMValueRef fn0 = LLVMGetBasicBlockParent(LLVMGetInsertBlock(b));
    LLVMModuleRef m = LLVMGetGlobalParent(fn0);
    unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
    LLVMValueRef fn = LLVMGetIntrinsicDeclaration(m, id, types, ntypes);
    LLVMTypeRef fty = LLVMIntrinsicGetType(LLVMGetModuleContext(m), id, types, ntypes);
    return LLVMBuildCall2(b, fty, fn, args, nargs, "");
}

/* 2^k as a float of v's type, for an integer k (type v->it) in the normal exponent range. */
LLVMValueRef tjV_pow2i(const vm *v, LLVMValueRef k)
{
    LLVMValueRef e = LLVMBuildAdd(v->b, k, KI(v, v->dbl ? 1023 : 127), "");
    e = LLVMBuildShl(v->b, e, KI(v, v->dbl ? 52 : 23), "");
    return LLVMBuildBitCast(v->b, e, v->t, "");
}

/* ---- exp ----------------------------------------------------------------------------------- */

/* exp(x) = 2^n * exp(r), n = rint(x log2 e), r = x - n ln 2 (Cody-Waite, two constants).
 * The clamp keeps n in [-1076, 1024] (float: [-150, 128]); beyond it the true result is 0 or
 * +inf, which the scaling produces. NaN passes both clamps (ordered compares are false). */
void tjV_exp_reduce(const vm *v, LLVMValueRef x, double lo, double hi, LLVMValueRef *fn,
                    LLVMValueRef *r)
{
    x = sel(v, LLVMRealOGT, x, K(v, hi), K(v, hi), x);
    x = sel(v, LLVMRealOLT, x, K(v, lo), K(v, lo), x);
    *fn = call1(v, "llvm.roundeven", mul(v, x, K(v, 1.4426950408889634074)));
    *r = tjV_exp_cw(v, x, *fn);
}

LLVMValueRef tjV_exp_cw(const vm *v, LLVMValueRef x, LLVMValueRef fn)
{
    if (!v->dbl)
        return fma_(v, fn, K(v, 2.12194440e-4), fma_(v, fn, K(v, -0.693359375), x));
    return fma_(v, fn, K(v, -1.42860682030941723212E-6),
                fma_(v, fn, K(v, -6.93145751953125E-1), x));
}

/* float: Cephes' expf polynomial, r + r^2 P(r); double: r + (r^2/2 + r^3 P(r)), P a Chebyshev
 * fit (mpmath) of (expm1(r) - r - r^2/2) / r^3 on [-ln2/2, ln2/2], relative error ~1e-19: the
 * leading terms stay apart so expm1's cancellation near n = +-1 does not magnify rounding. */
LLVMValueRef tjV_expm1_poly(const vm *v, LLVMValueRef r)
{
    LLVMValueRef z = mul(v, r, r);
    if (!v->dbl) {
        static const double P[] = {1.9875691500E-4, 1.3981999507E-3, 8.3334519073E-3,
                                   4.1665795894E-2, 1.6666665459E-1, 5.0000001201E-1};
        return fma_(v, horner(v, r, P, 6), z, r);
    }
    static const double P[] = {2.09112987659402e-09,   2.5100472505694996e-08,
                               2.7557282838800484e-07, 2.7557268276905696e-06,
                               2.4801587317228724e-05, 0.00019841269863171557,
                               0.0013888888888886537,  0.008333333333330039,
                               0.041666666666666664,   0.16666666666666669};
    LLVMValueRef tail = fma_(v, mul(v, z, r), horner(v, r, P, 10), mul(v, z, K(v, 0.5)));
    return add(v, r, tail);
}

/* fptosi of NaN is poison: freeze it; the NaN already in y carries the result. Doubles go
 * through i32 too: AVX2 has no packed double -> int64 conversion. */
LLVMValueRef tjV_ldexp(const vm *v, LLVMValueRef y, LLVMValueRef fn)
{
    LLVMBuilderRef b = v->b;
    LLVMTypeRef i32 = LLVMInt32TypeInContext(LLVMGetTypeContext(v->t));
    LLVMValueRef n = LLVMBuildFreeze(b, LLVMBuildFPToSI(b, fn, i32, ""), "");
    if (v->dbl)
        n = LLVMBuildSExt(b, n, v->it, "");
    LLVMValueRef n1 = LLVMBuildAShr(b, n, KI(v, 1), "");
    LLVMValueRef n2 = LLVMBuildSub(b, n, n1, "");
    return mul(v, mul(v, y, tjV_pow2i(v, n1)), tjV_pow2i(v, n2));
}

/* float exp in fewer instructions than the double path (it is what W1 and the sigmoid of every
 * logistic model spend their time in; 512-bit code here is bound by the count of vector ops):
 * - n = rint(x log2 e) by the shifter trick: t = x log2 e + 1.5 * 2^23 holds n in its low
 *   mantissa bits, so t << 23 is n << 23 (the high bits shift out) with no conversion;
 * - e^r = 1 + r + r^2 Q(r), Q of degree 4 fitted (weighted least squares, relative error) on
 *   [-ln2/2, ln2/2]: 0.06 ulp with the float coefficients, one Horner chain of 6 fmas;
 * - 2^n applied as 2^(n + b) by an exponent add (a normal number for every clamped n) times 2^-b,
 *   b = 64 for n <= 0 and -64 above: the one rounding happens in the last multiply, so
 *   subnormal results round once and overflow gives +inf.
 * `nonpositive`: the caller knows x <= 0 (the sigmoid's -|x|): no upper clamp, b is always 64. */
static LLVMValueRef exp_float(const vm *v, LLVMValueRef x, bool nonpositive)
{
    LLVMBuilderRef b = v->b;
    x = sel(v, LLVMRealOLT, x, K(v, -104.0), K(v, -104.0), x);
    if (!nonpositive)
        x = sel(v, LLVMRealOGT, x, K(v, 89.0), K(v, 89.0), x);
    LLVMValueRef shifter = K(v, 12582912.0);
    LLVMValueRef t = fma_(v, x, K(v, 1.4426950408889634), shifter);
    LLVMValueRef fn = sub(v, t, shifter);
    LLVMValueRef r = fma_(v, fn, K(v, 2.12194440e-4), fma_(v, fn, K(v, -0.693359375), x));
    static const double P[] = {0.0013814539415761828, 0.00836874544620514, 0.04166838899254799,
                               0.1666652113199234,    0.4999999403953552,  1.0,
                               1.0};
    LLVMValueRef p = horner(v, r, P, 7);
    LLVMValueRef k = LLVMBuildShl(b, LLVMBuildBitCast(b, t, v->it, ""), KI(v, 23), "");
    LLVMValueRef up = LLVMConstInt(v->it, (127 + 64) << 23, 0);
    LLVMValueRef bias = up, down = K(v, 0x1p-64);
    if (!nonpositive) {
        LLVMValueRef pos = cmp(v, LLVMRealOGT, fn, K(v, 0.0));
        bias = LLVMBuildSelect(b, pos, LLVMConstInt(v->it, (127 - 64) << 23, 0), up, "");
        down = LLVMBuildSelect(b, pos, K(v, 0x1p64), down, "");
    }
    LLVMValueRef scale = LLVMBuildBitCast(b, LLVMBuildAdd(b, k, bias, ""), v->t, "");
    return mul(v, mul(v, p, scale), down);
}

LLVMValueRef tjV_exp(LLVMBuilderRef b, LLVMValueRef x)
{
    vm v = vm_of(b, x);
    if (!v.dbl)
        return exp_float(&v, x, false);
    LLVMValueRef fn, r;
    tjV_exp_reduce(&v, x, -746.0, 710.0, &fn, &r);
    return tjV_ldexp(&v, add(&v, tjV_expm1_poly(&v, r), K(&v, 1.0)), fn);
}

/* exp(-|x|): the sigmoid's and softplus's argument, never above 0. */
LLVMValueRef tjV_exp_neg_abs(const vm *v, LLVMValueRef x)
{
    LLVMValueRef m = LLVMBuildFNeg(v->b, fabs_(v, x), "");
    return v->dbl ? tjV_exp(v->b, m) : exp_float(v, m, true);
}

/* ---- log ----------------------------------------------------------------------------------- */

/* Splits positive finite x into m * 2^e with m in [sqrt(1/2), sqrt(2)); e as a float.
 * Subnormals are first scaled into the normal range. */
void tjV_log_split(const vm *v, LLVMValueRef x, LLVMValueRef *m, LLVMValueRef *fe)
{
    LLVMBuilderRef b = v->b;
    int mant = v->dbl ? 52 : 23, bias = v->dbl ? 1023 : 127, sc = v->dbl ? 54 : 25;
    LLVMValueRef tiny = LLVMBuildFCmp(
        b, LLVMRealOLT, x, K(v, v->dbl ? 2.2250738585072014e-308 : 1.17549435082228751e-38), "");
    LLVMValueRef xs = LLVMBuildSelect(b, tiny, mul(v, x, K(v, (double)(1ull << sc))), x, "");
    LLVMValueRef adj = LLVMBuildSelect(b, tiny, KI(v, -sc), KI(v, 0), "");
    LLVMValueRef bits = LLVMBuildBitCast(b, xs, v->it, "");
    LLVMValueRef e =
        LLVMBuildAnd(b, LLVMBuildLShr(b, bits, KI(v, mant), ""), KI(v, v->dbl ? 0x7ff : 0xff), "");
    e = LLVMBuildAdd(b, LLVMBuildSub(b, e, KI(v, bias), ""), adj, "");
    unsigned long long fracmask = (1ull << mant) - 1, one = (unsigned long long)bias << mant;
    LLVMValueRef mb = LLVMBuildOr(b, LLVMBuildAnd(b, bits, LLVMConstInt(v->it, fracmask, 0), ""),
                                  LLVMConstInt(v->it, one, 0), "");
    LLVMValueRef mm = LLVMBuildBitCast(b, mb, v->t, ""); /* [1, 2) */
    LLVMValueRef big = LLVMBuildFCmp(b, LLVMRealOGT, mm, K(v, 1.41421356237309504880), "");
    *m = LLVMBuildSelect(b, big, mul(v, mm, K(v, 0.5)), mm, ""); /* exact */
    e = LLVMBuildAdd(b, e, LLVMBuildZExt(b, big, v->it, ""), "");
    /* |e| < 1100: i32 -> floating converts packed on AVX2, i64 does not */
    LLVMTypeRef i32 = LLVMInt32TypeInContext(LLVMGetTypeContext(v->t));
    if (v->dbl)
        e = LLVMBuildTrunc(b, e, i32, "");
    *fe = LLVMBuildSIToFP(b, e, v->t, "");
}

/* log(0) = -inf, log(x<0) = NaN, log(+inf) = +inf, log(NaN) = NaN. */
LLVMValueRef tjV_log_specials(const vm *v, LLVMValueRef x, LLVMValueRef r)
{
    r = sel(v, LLVMRealOEQ, x, K(v, __builtin_inf()), K(v, __builtin_inf()), r);
    r = sel(v, LLVMRealOEQ, x, K(v, 0.0), K(v, -__builtin_inf()), r);
    r = sel(v, LLVMRealOLT, x, K(v, 0.0), K(v, __builtin_nan("")), r);
    return sel(v, LLVMRealUNO, x, x, x, r);
}

void tjV_log1p_parts(const vm *v, LLVMValueRef f, LLVMValueRef *hfsq, LLVMValueRef *s,
                     LLVMValueRef *R)
{
    static const double odd[] = {1.479819860511658591e-01, 1.818357216161805012e-01,
                                 2.857142874366239149e-01, 6.666666666666735130e-01};
    static const double even[] = {1.531383769920937332e-01, 2.222219843214978396e-01,
                                  3.999999999940941908e-01};
    *hfsq = mul(v, mul(v, K(v, 0.5), f), f);
    *s = dv(v, f, add(v, K(v, 2.0), f));
    LLVMValueRef z = mul(v, *s, *s), w = mul(v, z, z);
    *R = add(v, mul(v, z, horner(v, w, odd, 4)), mul(v, w, horner(v, w, even, 3)));
}

LLVMValueRef tjV_log_core(const vm *v, LLVMValueRef x, LLVMValueRef c)
{
    LLVMBuilderRef b = v->b;
    LLVMValueRef m, fe, r;
    tjV_log_split(v, x, &m, &fe);
    LLVMValueRef f = sub(v, m, K(v, 1.0)); /* exact: m in [0.707, 1.414] */
    if (!v->dbl) {
        /* Cephes logf: log(1+f) = f - f^2/2 + f^3 P(f) */
        static const double P[] = {7.0376836292E-2,  -1.1514610310E-1, 1.1676998740E-1,
                                   -1.2420140846E-1, 1.4249322787E-1,  -1.6668057665E-1,
                                   2.0000714765E-1,  -2.4999993993E-1, 3.3333331174E-1};
        LLVMValueRef z = mul(v, f, f);
        LLVMValueRef y = fma_(v, mul(v, horner(v, f, P, 9), f), z, c);
        y = fma_(v, fe, K(v, -2.12194440e-4), y);
        y = fma_(v, z, K(v, -0.5), y);
        r = fma_(v, fe, K(v, 0.693359375), add(v, f, y));
    } else {
        LLVMValueRef hfsq, s, R;
        tjV_log1p_parts(v, f, &hfsq, &s, &R);
        LLVMValueRef lo = fma_(v, fe, K(v, 1.90821492927058770002e-10), c);
        LLVMValueRef in = fma_(v, s, add(v, hfsq, R), lo);
        LLVMValueRef t = sub(v, sub(v, hfsq, in), f);
        r = fma_(v, fe, K(v, 6.93147180369123816490e-01), LLVMBuildFNeg(b, t, ""));
    }
    return r;
}

LLVMValueRef tjV_log(LLVMBuilderRef b, LLVMValueRef x)
{
    vm v = vm_of(b, x);
    return tjV_log_specials(&v, x, tjV_log_core(&v, x, K(&v, 0.0)));
}

/* ---- tanh, sigmoid ------------------------------------------------------------------------- */

/* |x| < 0.625: odd polynomial (rational for double); else 1 - 2/(exp(2|x|) + 1), which reaches
 * exactly 1 once exp overflows. The sign is copied at the end, so tanh(-0) = -0. */
LLVMValueRef tjV_tanh(LLVMBuilderRef b, LLVMValueRef x)
{
    vm v = vm_of(b, x);
    LLVMValueRef a = call1(&v, "llvm.fabs", x);
    LLVMValueRef z = mul(&v, a, a), small;
    if (!v.dbl) {
        static const double P[] = {-5.70498872745E-3, 2.06390887954E-2, -5.37397155531E-2,
                                   1.33314422036E-1, -3.33332819422E-1};
        small = fma_(&v, mul(&v, horner(&v, z, P, 5), z), a, a);
    } else {
        static const double P[] = {-9.64399179425052238628E-1, -9.92877231001918586564E1,
                                   -1.61468768441708447952E3};
        static const double Q[] = {1.0, 1.12811678491632931402E2, 2.23548839060100448583E3,
                                   4.84406305325125486048E3};
        LLVMValueRef pq = dv(&v, horner(&v, z, P, 3), horner(&v, z, Q, 4));
        small = fma_(&v, mul(&v, a, z), pq, a);
    }
    LLVMValueRef e = tjV_exp(b, add(&v, a, a));
    LLVMValueRef large = sub(&v, K(&v, 1.0), dv(&v, K(&v, 2.0), add(&v, e, K(&v, 1.0))));
    LLVMValueRef r = sel(&v, LLVMRealOLT, a, K(&v, 0.625), small, large);
    LLVMValueRef args[2] = {r, x};
    LLVMTypeRef t = v.t;
    return tjV_intrinsic(b, "llvm.copysign", &t, 1, args, 2);
}

/* 1/(1+exp(-x)) evaluated as e/(1+e) with e = exp(-|x|) for x < 0, so the result never
 * overflows an intermediate and keeps full relative accuracy down to subnormal results. */
LLVMValueRef tjV_sigmoid(LLVMBuilderRef b, LLVMValueRef x)
{
    vm v = vm_of(b, x);
    LLVMValueRef e = tjV_exp_neg_abs(&v, x);
    LLVMValueRef num = sel(&v, LLVMRealOGE, x, K(&v, 0.0), K(&v, 1.0), e);
    return dv(&v, num, add(&v, K(&v, 1.0), e));
}

LLVMValueRef tjV_via_double(const vm *v, LLVMValueRef x,
                            LLVMValueRef (*f)(const vm *d, LLVMValueRef x))
{
    if (v->dbl)
        return f(v, x);
    vm d = vm_double(v);
    LLVMValueRef r = f(&d, LLVMBuildFPExt(v->b, x, d.t, ""));
    return LLVMBuildFPTrunc(v->b, r, v->t, "");
}

/* ---- dispatch ------------------------------------------------------------------------------ */

LLVMValueRef tjV_math(LLVMBuilderRef b, int op, LLVMValueRef x, LLVMValueRef y)
{
    switch (op) {
    case TJ_OP_EXP: return tjV_exp(b, x);
    case TJ_OP_LOG: return tjV_log(b, x);
    case TJ_OP_TANH: return tjV_tanh(b, x);
    case TJ_OP_SIGMOID: return tjV_sigmoid(b, x);
    case TJ_OP_EXPM1: return tjV_expm1(b, x);
    case TJ_OP_LOG1P: return tjV_log1p(b, x);
    case TJ_OP_SOFTPLUS: return tjV_softplus(b, x);
    case TJ_OP_EXP2: return tjV_exp2(b, x);
    case TJ_OP_LOG2: return tjV_log2(b, x);
    case TJ_OP_LOG10: return tjV_log10(b, x);
    case TJ_OP_SINH: return tjV_sinh(b, x);
    case TJ_OP_COSH: return tjV_cosh(b, x);
    case TJ_OP_ARCSINH: return tjV_asinh(b, x);
    case TJ_OP_ARCCOSH: return tjV_acosh(b, x);
    case TJ_OP_ARCTANH: return tjV_atanh(b, x);
    case TJ_OP_ERF: return tjV_erf(b, x);
    case TJ_OP_ERFC: return tjV_erfc(b, x);
    case TJ_OP_ARCTAN: return tjV_atan(b, x);
    case TJ_OP_ARCTAN2: return tjV_atan2(b, x, y);
    case TJ_OP_ARCSIN: return tjV_asin(b, x);
    case TJ_OP_ARCCOS: return tjV_acos(b, x);
    case TJ_OP_SIN: return tjV_sin(b, x);
    case TJ_OP_COS: return tjV_cos(b, x);
    case TJ_OP_TAN: return tjV_tan(b, x);
    case TJ_OP_POW: return tjV_pow(b, x, y);
    default: return NULL;
    }
}
