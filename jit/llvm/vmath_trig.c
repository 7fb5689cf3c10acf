/* sin, cos, tan in double (float is computed through double and rounded once).
 *
 * Reduction: n = rint(x 2/pi), y = x - n pi/2 as a double-double y0 + y1, by fdlibm's
 * __rem_pio2 with pi/2 in three 33-bit parts and their tails, all three steps always (the
 * products n * part are exact for |n| < 2^20, and each step's rounding is carried): good to
 * about 2^-100 relative for |x| <= 2^20 pi/2. Kernels on |y| <= pi/4: sin y = y0 + (y0 z S(z)
 * + y1 (1 - z/2)), cos y = 1 - z/2 + z^2 C(z) - y0 y1 with fdlibm's exact 1 - z/2 trick; S, C
 * are degree-6 Chebyshev fits (mpmath, < 1e-4 ulp). The quadrant picks sin/cos and the sign;
 * tan = sin/cos (or -cos/sin).
 *
 * |x| > 2^20 pi/2 (finite): the exact Payne-Hanek reduction is not worth its code here, so those
 * lanes call glibc's sin/cos/tan. The call is to a small module-internal helper whose vector
 * variants (vector-function-abi-variant, VF 2..16) test the lanes first and return at once when
 * none is that large: the loop stays vectorized and pays a compare and a branch per vector. */
#include "vmath.h"

#include <stdio.h>
#include <string.h>

#define MEDIUM_MAX 1647099.3291652855 /* 2^20 pi/2 */

/* ---- the glibc path for huge arguments ------------------------------------------------------ */

static LLVMValueRef libm_decl(LLVMModuleRef m, LLVMTypeRef d, const char *name)
{
    LLVMValueRef fn = LLVMGetNamedFunction(m, name);
    if (!fn) {
        fn = LLVMAddFunction(m, name, LLVMFunctionType(d, &d, 1, 0));
        LLVMContextRef c = LLVMGetModuleContext(m);
        unsigned k = LLVMGetEnumAttributeKindForName("nounwind", 8);
        LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex, LLVMCreateEnumAttribute(c, k, 0));
    }
    return fn;
}

static void fn_attrs(LLVMValueRef fn, LLVMContextRef c)
{
    static const char *const names[] = {"nounwind", "willreturn", "noinline"};
    for (size_t i = 0; i < 3; i++) {
        unsigned k = LLVMGetEnumAttributeKindForName(names[i], strlen(names[i]));
        LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex, LLVMCreateEnumAttribute(c, k, 0));
    }
    /* memory(none): glibc is only called with finite arguments, where it sets no errno */
    unsigned mk = LLVMGetEnumAttributeKindForName("memory", 6);
    LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex, LLVMCreateEnumAttribute(c, mk, 0));
    LLVMSetLinkage(fn, LLVMInternalLinkage);
}

/* Adds fn to @llvm.compiler.used: the vector variants are only named in a call-site attribute,
 * and unreferenced internal functions would be deleted before the vectorizer looks for them. */
static void keep(LLVMModuleRef m, LLVMValueRef fn)
{
    LLVMContextRef c = LLVMGetModuleContext(m);
    LLVMTypeRef ptr = LLVMPointerTypeInContext(c, 0);
    LLVMValueRef old = LLVMGetNamedGlobal(m, "llvm.compiler.used");
    LLVMValueRef items[64];
    unsigned n = 0;
    if (old) {
        LLVMValueRef init = LLVMGetInitializer(old);
        n = (unsigned)LLVMGetNumOperands(init);
        for (unsigned i = 0; i < n && i < 63; i++)
            items[i] = LLVMGetOperand(init, i);
        LLVMDeleteGlobal(old);
    }
    items[n++] = fn;
    LLVMValueRef g = LLVMAddGlobal(m, LLVMArrayType2(ptr, n), "llvm.compiler.used");
    LLVMSetInitializer(g, LLVMConstArray2(ptr, items, n));
    LLVMSetLinkage(g, LLVMAppendingLinkage);
    LLVMSetSection(g, "llvm.metadata");
}

/* r[i] = |x[i]| > MEDIUM_MAX && finite ? libm(x[i]) : 0, for a vector (n lanes) or a scalar
 * (n = 0); returns at once when no lane qualifies. */
static LLVMValueRef big_helper(LLVMModuleRef m, const char *fname, int n, LLVMValueRef libm)
{
    LLVMContextRef c = LLVMGetModuleContext(m);
    LLVMTypeRef d = LLVMDoubleTypeInContext(c), i1 = LLVMInt1TypeInContext(c);
    LLVMTypeRef i32 = LLVMInt32TypeInContext(c);
    LLVMTypeRef t = n ? LLVMVectorType(d, (unsigned)n) : d;
    char name[64];
    snprintf(name, sizeof name, "tj.vm.%s.big%s%d", fname, n ? ".v" : "", n);
    LLVMValueRef fn = LLVMGetNamedFunction(m, name);
    if (fn)
        return fn;
    fn = LLVMAddFunction(m, name, LLVMFunctionType(t, &t, 1, 0));
    fn_attrs(fn, c);
    if (n)
        keep(m, fn);
    LLVMBuilderRef b = LLVMCreateBuilderInContext(c);
    LLVMBasicBlockRef entry = LLVMAppendBasicBlockInContext(c, fn, "entry");
    LLVMBasicBlockRef slow = LLVMAppendBasicBlockInContext(c, fn, "slow");
    LLVMBasicBlockRef fast = LLVMAppendBasicBlockInContext(c, fn, "none");
    LLVMPositionBuilderAtEnd(b, entry);
    LLVMValueRef x = LLVMGetParam(fn, 0);
    LLVMValueRef ax = tjV_intrinsic(b, "llvm.fabs", &t, 1, &x, 1);
    LLVMValueRef lim = LLVMConstReal(d, MEDIUM_MAX), inf = LLVMConstReal(d, __builtin_inf());
    LLVMValueRef vlim =
        n ? LLVMConstVector((LLVMValueRef[16]){lim, lim, lim, lim, lim, lim, lim, lim, lim, lim,
                                               lim, lim, lim, lim, lim, lim},
                            (unsigned)n)
          : lim;
    LLVMValueRef vinf =
        n ? LLVMConstVector((LLVMValueRef[16]){inf, inf, inf, inf, inf, inf, inf, inf, inf, inf,
                                               inf, inf, inf, inf, inf, inf},
                            (unsigned)n)
          : inf;
    LLVMValueRef want = LLVMBuildAnd(b, LLVMBuildFCmp(b, LLVMRealOGT, ax, vlim, ""),
                                     LLVMBuildFCmp(b, LLVMRealOLT, ax, vinf, ""), "");
    LLVMValueRef any = want;
    if (n) { /* or-reduce the lanes */
        LLVMTypeRef vt = LLVMTypeOf(want);
        any = tjV_intrinsic(b, "llvm.vector.reduce.or", &vt, 1, &want, 1);
    }
    LLVMValueRef br = LLVMBuildCondBr(b, any, slow, fast);
    /* the glibc path is cold: !prof branch_weights 1 : 4096 */
    LLVMMetadataRef w[3] = {LLVMMDStringInContext2(c, "branch_weights", 14),
                            LLVMValueAsMetadata(LLVMConstInt(i32, 1, 0)),
                            LLVMValueAsMetadata(LLVMConstInt(i32, 4096, 0))};
    LLVMSetMetadata(br, LLVMGetMDKindIDInContext(c, "prof", 4),
                    LLVMMetadataAsValue(c, LLVMMDNodeInContext2(c, w, 3)));
    LLVMPositionBuilderAtEnd(b, fast);
    LLVMBuildRet(b, LLVMConstNull(t));
    LLVMPositionBuilderAtEnd(b, slow);
    LLVMTypeRef lt = LLVMGlobalGetValueType(libm);
    if (!n) {
        LLVMValueRef r = LLVMBuildCall2(b, lt, libm, &x, 1, "");
        LLVMBuildRet(b, LLVMBuildSelect(b, want, r, LLVMConstReal(d, 0), ""));
    } else {
        /* lane by lane; lanes that do not qualify keep 0 (libm is never given inf or NaN) */
        LLVMValueRef acc = LLVMConstNull(t);
        for (int i = 0; i < n; i++) {
            LLVMValueRef idx = LLVMConstInt(i32, (unsigned long long)i, 0);
            LLVMValueRef xi = LLVMBuildExtractElement(b, x, idx, "");
            LLVMValueRef wi = LLVMBuildExtractElement(b, want, idx, "");
            LLVMValueRef safe = LLVMBuildSelect(b, wi, xi, LLVMConstReal(d, 0), "");
            LLVMValueRef r = LLVMBuildCall2(b, lt, libm, &safe, 1, "");
            acc = LLVMBuildInsertElement(b, acc, r, idx, "");
        }
        LLVMBuildRet(b, acc);
    }
    (void)i1;
    LLVMDisposeBuilder(b);
    return fn;
}

/* libm(x) for lanes with |x| > MEDIUM_MAX (finite), 0 elsewhere, as a call the vectorizer can
 * widen to one of the helper's vector variants. */
static LLVMValueRef big_call(const vm *v, const char *fname, LLVMValueRef x)
{
    LLVMBasicBlockRef bb = LLVMGetInsertBlock(v->b);
    LLVMModuleRef m = LLVMGetGlobalParent(LLVMGetBasicBlockParent(bb));
    LLVMContextRef c = LLVMGetModuleContext(m);
    LLVMValueRef libm = libm_decl(m, v->t, fname);
    LLVMValueRef scalar = big_helper(m, fname, 0, libm);
    char variants[1024] = "";
    size_t len = 0;
    for (int n = 2; n <= 16; n *= 2) {
        LLVMValueRef vf = big_helper(m, fname, n, libm);
        len += (size_t)snprintf(variants + len, sizeof variants - len, "%s_ZGV_LLVM_N%dv_%s(%s)",
                                len ? "," : "", n, LLVMGetValueName(scalar), LLVMGetValueName(vf));
    }
    LLVMValueRef call = LLVMBuildCall2(v->b, LLVMGlobalGetValueType(scalar), scalar, &x, 1, "");
    const char *key = "vector-function-abi-variant";
    LLVMAddCallSiteAttribute(
        call, LLVMAttributeFunctionIndex,
        LLVMCreateStringAttribute(c, key, (unsigned)strlen(key), variants, (unsigned)len));
    return call;
}

/* ---- reduction and kernels ------------------------------------------------------------------ */

/* x = n pi/2 + y0 + y1 for |x| <= MEDIUM_MAX; *fn = n as a double */
static void rem_pio2(const vm *v, LLVMValueRef x, LLVMValueRef *fn, LLVMValueRef *y0,
                     LLVMValueRef *y1)
{
    static const double part[3] = {1.5707963267341256, 6.077100506303966e-11,
                                   2.0222662487111665e-21};
    static const double tail[3] = {6.077100506506192e-11, 2.0222662487959506e-21,
                                   8.4784276603689e-32};
    *fn = call1(v, "llvm.roundeven", mul(v, x, K(v, 0.6366197723675814)));
    LLVMValueRef r = fma_(v, *fn, K(v, -part[0]), x); /* exact */
    LLVMValueRef w = mul(v, *fn, K(v, tail[0]));
    for (int i = 1; i < 3; i++) {
        LLVMValueRef t = r;
        LLVMValueRef pw = mul(v, *fn, K(v, part[i])); /* exact: 33-bit part, |n| < 2^21 */
        /* fold the previous tail into the part: (t - w_prev) is handled as fdlibm's loop */
        r = sub(v, t, pw);
        w = sub(v, mul(v, *fn, K(v, tail[i])), sub(v, sub(v, t, r), pw));
    }
    *y0 = sub(v, r, w);
    *y1 = sub(v, sub(v, r, *y0), w);
}

static LLVMValueRef k_sin(const vm *v, LLVMValueRef y0, LLVMValueRef y1, LLVMValueRef z)
{
    static const double S[] = {-7.586636882825159e-13, 1.6058530596645953e-10,
                               -2.50521062259944e-08,  2.755731921932058e-06,
                               -0.0001984126984126504, 0.008333333333333331,
                               -0.16666666666666666};
    LLVMValueRef t =
        fma_(v, mul(v, y0, z), horner(v, z, S, 7), mul(v, y1, fma_(v, z, K(v, -0.5), K(v, 1.0))));
    return add(v, y0, t);
}

static LLVMValueRef k_cos(const vm *v, LLVMValueRef y0, LLVMValueRef y1, LLVMValueRef z)
{
    static const double C[] = {4.745838412531023e-14,  -1.1470460319209511e-11,
                               2.0876755787492604e-09, -2.755731922139249e-07,
                               2.4801587301584632e-05, -0.0013888888888888887,
                               0.041666666666666664};
    LLVMValueRef hz = mul(v, z, K(v, 0.5)), w = sub(v, K(v, 1.0), hz);
    LLVMValueRef rest = fma_(v, mul(v, z, z), horner(v, z, C, 7), neg(v, mul(v, y0, y1)));
    return add(v, w, add(v, sub(v, sub(v, K(v, 1.0), w), hz), rest));
}

enum { F_SIN, F_COS, F_TAN };

static LLVMValueRef trig_d(const vm *v, LLVMValueRef x, int which)
{
    static const char *const names[] = {"sin", "cos", "tan"};
    LLVMBuilderRef b = v->b;
    LLVMValueRef fn, y0, y1;
    LLVMValueRef xm = sel(v, LLVMRealOGT, fabs_(v, x), K(v, MEDIUM_MAX), K(v, 0.0), x);
    rem_pio2(v, xm, &fn, &y0, &y1);
    LLVMValueRef z = mul(v, y0, y0);
    LLVMValueRef s = k_sin(v, y0, y1, z), c = k_cos(v, y0, y1, z);
    LLVMTypeRef i32 = LLVMInt32TypeInContext(LLVMGetTypeContext(v->t));
    LLVMValueRef n = LLVMBuildFreeze(b, LLVMBuildFPToSI(b, fn, i32, ""), "");
    LLVMValueRef odd = LLVMBuildTrunc(b, n, LLVMInt1TypeInContext(LLVMGetTypeContext(v->t)), "");
    LLVMValueRef q2 = LLVMBuildICmp(b, LLVMIntNE, LLVMBuildAnd(b, n, LLVMConstInt(i32, 2, 0), ""),
                                    LLVMConstInt(i32, 0, 0), "");
    LLVMValueRef r;
    if (which == F_TAN) {
        r = pick(v, odd, dv(v, neg(v, c), s), dv(v, s, c));
    } else {
        /* sin: quadrants 0..3 give s, c, -s, -c; cos: c, -s, -c, s */
        LLVMValueRef neg_ = which == F_SIN ? q2 : LLVMBuildXor(b, q2, odd, "");
        r = which == F_SIN ? pick(v, odd, c, s) : pick(v, odd, s, c);
        r = pick(v, neg_, neg(v, r), r);
    }
    if (which != F_COS) /* sin(-0) = tan(-0) = -0 */
        r = sel(v, LLVMRealOEQ, x, K(v, 0.0), x, r);
    LLVMValueRef ax = fabs_(v, x);
    r = sel(v, LLVMRealOGT, ax, K(v, MEDIUM_MAX), big_call(v, names[which], x), r);
    r = sel(v, LLVMRealOEQ, ax, K(v, __builtin_inf()), K(v, __builtin_nan("")), r);
    return keep_nan(v, x, r);
}

static LLVMValueRef sin_d(const vm *v, LLVMValueRef x) { return trig_d(v, x, F_SIN); }
static LLVMValueRef cos_d(const vm *v, LLVMValueRef x) { return trig_d(v, x, F_COS); }
static LLVMValueRef tan_d(const vm *v, LLVMValueRef x) { return trig_d(v, x, F_TAN); }

LLVMValueRef tjV_sin(LLVMBuilderRef b, LLVMValueRef x)
{
    vm v = vm_of(b, x);
    return tjV_via_double(&v, x, sin_d);
}

LLVMValueRef tjV_cos(LLVMBuilderRef b, LLVMValueRef x)
{
    vm v = vm_of(b, x);
    return tjV_via_double(&v, x, cos_d);
}

LLVMValueRef tjV_tan(LLVMBuilderRef b, LLVMValueRef x)
{
    vm v = vm_of(b, x);
    return tjV_via_double(&v, x, tan_d);
}
