/* Private to jit/vmath*.c: the small IR-building vocabulary the vector math is written in, and
 * the cores the functions share (one exp reduction, one log core, ...), so a kernel that uses
 * several functions does not carry several copies of the same idea in its source.
 *
 * Every helper works on a float or double scalar; the loop vectorizer widens the result. No
 * fast-math flags anywhere (see vmath.c). */
#ifndef TJ_VMATH_H
#define TJ_VMATH_H

#include "llvm.h"

typedef struct {
    LLVMBuilderRef b;
    LLVMTypeRef t;  /* float or double */
    LLVMTypeRef it; /* the integer type of the same width */
    bool dbl;
} vm;

static inline vm vm_of(LLVMBuilderRef b, LLVMValueRef x)
{
    vm v;
    v.b = b;
    v.t = LLVMTypeOf(x);
    v.dbl = LLVMGetTypeKind(v.t) == LLVMDoubleTypeKind;
    v.it = LLVMIntTypeInContext(LLVMGetTypeContext(v.t), v.dbl ? 64 : 32);
    return v;
}

static inline LLVMValueRef K(const vm *v, double c) { return LLVMConstReal(v->t, c); }
static inline LLVMValueRef KI(const vm *v, long long c)
{
    return LLVMConstInt(v->it, (unsigned long long)c, 1);
}
static inline LLVMValueRef call1(const vm *v, const char *name, LLVMValueRef x)
{
    LLVMTypeRef t = v->t;
    return tjV_intrinsic(v->b, name, &t, 1, &x, 1);
}
static inline LLVMValueRef call2(const vm *v, const char *name, LLVMValueRef x, LLVMValueRef y)
{
    LLVMTypeRef t = v->t;
    LLVMValueRef args[2] = {x, y};
    return tjV_intrinsic(v->b, name, &t, 1, args, 2);
}
static inline LLVMValueRef fma_(const vm *v, LLVMValueRef a, LLVMValueRef x, LLVMValueRef c)
{
    LLVMValueRef args[3] = {a, x, c};
    LLVMTypeRef t = v->t;
    return tjV_intrinsic(v->b, "llvm.fmuladd", &t, 1, args, 3);
}
static inline LLVMValueRef add(const vm *v, LLVMValueRef a, LLVMValueRef c)
{
    return LLVMBuildFAdd(v->b, a, c, "");
}
static inline LLVMValueRef sub(const vm *v, LLVMValueRef a, LLVMValueRef c)
{
    return LLVMBuildFSub(v->b, a, c, "");
}
static inline LLVMValueRef mul(const vm *v, LLVMValueRef a, LLVMValueRef c)
{
    return LLVMBuildFMul(v->b, a, c, "");
}
static inline LLVMValueRef dv(const vm *v, LLVMValueRef a, LLVMValueRef c)
{
    return LLVMBuildFDiv(v->b, a, c, "");
}
static inline LLVMValueRef neg(const vm *v, LLVMValueRef a) { return LLVMBuildFNeg(v->b, a, ""); }
static inline LLVMValueRef fabs_(const vm *v, LLVMValueRef a) { return call1(v, "llvm.fabs", a); }
static inline LLVMValueRef cmp(const vm *v, LLVMRealPredicate p, LLVMValueRef a, LLVMValueRef c)
{
    return LLVMBuildFCmp(v->b, p, a, c, "");
}
static inline LLVMValueRef pick(const vm *v, LLVMValueRef c, LLVMValueRef yes, LLVMValueRef no)
{
    return LLVMBuildSelect(v->b, c, yes, no, "");
}
/* (a p c) ? yes : no */
static inline LLVMValueRef sel(const vm *v, LLVMRealPredicate p, LLVMValueRef a, LLVMValueRef c,
                               LLVMValueRef yes, LLVMValueRef no)
{
    return pick(v, cmp(v, p, a, c), yes, no);
}
static inline LLVMValueRef copysign_(const vm *v, LLVMValueRef mag, LLVMValueRef sgn)
{
    return call2(v, "llvm.copysign", mag, sgn);
}
/* NaN in x -> x, else r: for cores that do not propagate NaN by themselves */
static inline LLVMValueRef keep_nan(const vm *v, LLVMValueRef x, LLVMValueRef r)
{
    return sel(v, LLVMRealUNO, x, x, x, r);
}

/* c[0]*x^(n-1) + ... + c[n-1], Horner with fmuladd. */
static inline LLVMValueRef horner(const vm *v, LLVMValueRef x, const double *c, int n)
{
    LLVMValueRef p = K(v, c[0]);
    for (int i = 1; i < n; i++)
        p = fma_(v, p, x, K(v, c[i]));
    return p;
}

/* The same value in the other precision (float <-> double): for functions whose float version is
 * computed through the double one, rounded once at the end. */
static inline vm vm_double(const vm *v)
{
    vm d = *v;
    LLVMContextRef c = LLVMGetTypeContext(v->t);
    d.t = LLVMDoubleTypeInContext(c);
    d.it = LLVMInt64TypeInContext(c);
    d.dbl = true;
    return d;
}

/* ---- shared cores (vmath.c) ---------------------------------------------------------------- */

/* exp's argument reduction: x clamped to [lo, hi] (NaN passes), *fn = roundeven(x log2 e) as a
 * float, *r = x - fn ln2 (Cody-Waite), |r| <= ln2/2. */
TJ_HIDDEN void tjV_exp_reduce(const vm *v, LLVMValueRef x, double lo, double hi, LLVMValueRef *fn,
                              LLVMValueRef *r);
/* x - fn ln2 by Cody-Waite (ln2 in two parts, the first exact in products with |fn| < 2^11). */
TJ_HIDDEN LLVMValueRef tjV_exp_cw(const vm *v, LLVMValueRef x, LLVMValueRef fn);
/* exp(-|x|) (the sigmoid's and softplus's term, in [0, 1]); cheaper than tjV_exp in float. */
TJ_HIDDEN LLVMValueRef tjV_exp_neg_abs(const vm *v, LLVMValueRef x);
/* exp(r) - 1 for |r| <= ln2/2, with full relative accuracy near 0. */
TJ_HIDDEN LLVMValueRef tjV_expm1_poly(const vm *v, LLVMValueRef r);
/* y * 2^fn for an integral float fn in [-1100, 1100] (float: [-160, 160]), in two exponent
 * multiplies so a subnormal result rounds once and a large one overflows to inf. */
TJ_HIDDEN LLVMValueRef tjV_ldexp(const vm *v, LLVMValueRef y, LLVMValueRef fn);
/* 2^k as a float of v's type, for an integer k (type v->it) in the normal exponent range. */
TJ_HIDDEN LLVMValueRef tjV_pow2i(const vm *v, LLVMValueRef k);
/* Positive finite x (subnormals included) as m * 2^fe, m in [sqrt(1/2), sqrt(2)), fe a float. */
TJ_HIDDEN void tjV_log_split(const vm *v, LLVMValueRef x, LLVMValueRef *m, LLVMValueRef *fe);
/* fdlibm e_log.c's pieces of log(1+f) for double f = m - 1: hfsq = f^2/2, s = f/(2+f) and the
 * polynomial R(s^2), with log(1+f) = f - (hfsq - s (hfsq + R)). */
TJ_HIDDEN void tjV_log1p_parts(const vm *v, LLVMValueRef f, LLVMValueRef *hfsq, LLVMValueRef *s,
                               LLVMValueRef *R);
/* log's special cases over r: 0 -> -inf, < 0 -> NaN, +inf -> +inf, NaN -> NaN. */
TJ_HIDDEN LLVMValueRef tjV_log_specials(const vm *v, LLVMValueRef x, LLVMValueRef r);
/* The float version of a function computed through its double version: x widened, f applied,
 * the result rounded once (for functions used rarely enough that half-width vectors are fine). */
TJ_HIDDEN LLVMValueRef tjV_via_double(const vm *v, LLVMValueRef x,
                                      LLVMValueRef (*f)(const vm *d, LLVMValueRef x));
/* log(x) + c for positive finite x (subnormals included), c a small correction added at the
 * low-order end (log1p's rounding compensation; 0 for log). No special values. */
TJ_HIDDEN LLVMValueRef tjV_log_core(const vm *v, LLVMValueRef x, LLVMValueRef c);
/* log1p(x) for x > -1 finite (x = +inf gives garbage): specials are the caller's. */
TJ_HIDDEN LLVMValueRef tjV_log1p_core(const vm *v, LLVMValueRef x);

/* ---- the functions, one per op (tjV_math dispatches) ----------------------------------------- */
TJ_HIDDEN LLVMValueRef tjV_expm1(LLVMBuilderRef b, LLVMValueRef x);
TJ_HIDDEN LLVMValueRef tjV_log1p(LLVMBuilderRef b, LLVMValueRef x);
TJ_HIDDEN LLVMValueRef tjV_softplus(LLVMBuilderRef b, LLVMValueRef x);
TJ_HIDDEN LLVMValueRef tjV_exp2(LLVMBuilderRef b, LLVMValueRef x);
TJ_HIDDEN LLVMValueRef tjV_log2(LLVMBuilderRef b, LLVMValueRef x);
TJ_HIDDEN LLVMValueRef tjV_log10(LLVMBuilderRef b, LLVMValueRef x);
TJ_HIDDEN LLVMValueRef tjV_sinh(LLVMBuilderRef b, LLVMValueRef x);
TJ_HIDDEN LLVMValueRef tjV_cosh(LLVMBuilderRef b, LLVMValueRef x);
TJ_HIDDEN LLVMValueRef tjV_asinh(LLVMBuilderRef b, LLVMValueRef x);
TJ_HIDDEN LLVMValueRef tjV_acosh(LLVMBuilderRef b, LLVMValueRef x);
TJ_HIDDEN LLVMValueRef tjV_atanh(LLVMBuilderRef b, LLVMValueRef x);
TJ_HIDDEN LLVMValueRef tjV_erf(LLVMBuilderRef b, LLVMValueRef x);
TJ_HIDDEN LLVMValueRef tjV_erfc(LLVMBuilderRef b, LLVMValueRef x);
TJ_HIDDEN LLVMValueRef tjV_atan(LLVMBuilderRef b, LLVMValueRef x);
TJ_HIDDEN LLVMValueRef tjV_atan2(LLVMBuilderRef b, LLVMValueRef y, LLVMValueRef x);
TJ_HIDDEN LLVMValueRef tjV_asin(LLVMBuilderRef b, LLVMValueRef x);
TJ_HIDDEN LLVMValueRef tjV_acos(LLVMBuilderRef b, LLVMValueRef x);
TJ_HIDDEN LLVMValueRef tjV_sin(LLVMBuilderRef b, LLVMValueRef x);
TJ_HIDDEN LLVMValueRef tjV_cos(LLVMBuilderRef b, LLVMValueRef x);
TJ_HIDDEN LLVMValueRef tjV_tan(LLVMBuilderRef b, LLVMValueRef x);
TJ_HIDDEN LLVMValueRef tjV_pow(LLVMBuilderRef b, LLVMValueRef x, LLVMValueRef y);

#endif /* TJ_VMATH_H */
