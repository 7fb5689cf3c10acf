/* The semantics of each kernel instruction as IR, for one index of the iteration space.
 *
 * Contract (shared with the reference executor, lib/interp_ops.c): floats compute in their own
 * dtype; integers wrap (no nsw/nuw anywhere); bool lives in registers as i1 and reads any
 * non-zero byte as true; comparisons give bool and are false on NaN except NEQ; maximum/minimum
 * propagate NaN as numpy; CAST saturates float -> integer with NaN -> 0. The only deliberate
 * differences are the fast-math flags on float arithmetic (contract afn nsz; never nnan/ninf;
 * not arcp: x / c as x * (1/c) overflows for a subnormal c, 0 / c became 0 * inf = NaN; and not
 * reassoc: (x - m) - l with loop-invariant m and l became x - (m + l), hoisted, which loses l
 * entirely when |m| >> |l| (log_softmax of -1e18s gave 0, not -log 2); both found by
 * fuzz-diff), reassoc only on a reduction's accumulation (tjL_fast_reduce), and our own
 * exp/log/tanh (docs/VMATH.md). */
#include "llvm.h"

#include <math.h>

static LLVMValueRef flags(LLVMValueRef v, LLVMFastMathFlags extra)
{
    if (LLVMIsAInstruction(v) && LLVMCanValueUseFastMathFlags(v))
        LLVMSetFastMathFlags(v, LLVMFastMathAllowContract | LLVMFastMathApproxFunc |
                                    LLVMFastMathNoSignedZeros | extra);
    return v;
}

LLVMValueRef tjL_fast(LLVMValueRef v) { return flags(v, 0); }
LLVMValueRef tjL_fast_reduce(LLVMValueRef v) { return flags(v, LLVMFastMathAllowReassoc); }

LLVMTypeRef tjL_reg_type(const tjL_fn *f, tj_dtype d)
{
    switch (d) {
    case TJ_BOOL: return f->i1;
    case TJ_INT8:
    case TJ_UINT8: return f->i8;
    case TJ_INT16: return LLVMInt16TypeInContext(f->ctx);
    case TJ_INT32: return f->i32;
    case TJ_INT64: return f->i64;
    case TJ_FLOAT32: return LLVMFloatTypeInContext(f->ctx);
    default: return LLVMDoubleTypeInContext(f->ctx);
    }
}

LLVMTypeRef tjL_mem_type(const tjL_fn *f, tj_dtype d)
{
    return d == TJ_BOOL ? f->i8 : tjL_reg_type(f, d);
}

static bool is_float(tj_dtype d) { return tj_dtype_is_float(d); }
/* bool and uint8 convert and compare as unsigned */
static bool is_signed(tj_dtype d) { return tj_dtype_is_signed(d); }
static unsigned bits(tj_dtype d) { return d == TJ_BOOL ? 1 : (unsigned)tj_dtype_size(d) * 8; }

static LLVMValueRef call1(tjL_fn *f, const char *name, LLVMValueRef x)
{
    LLVMTypeRef t = LLVMTypeOf(x);
    return tjV_intrinsic(f->b, name, &t, 1, &x, 1);
}

/* A literal of dtype d, converted from double as tjA_store does (integers saturate, NaN -> 0). */
static LLVMValueRef constant(tjL_fn *f, tj_dtype d, double x)
{
    if (is_float(d))
        return LLVMConstReal(tjL_reg_type(f, d), x);
    if (d == TJ_BOOL)
        return LLVMConstInt(f->i1, x != 0, 0); /* NaN is true */
    double lo = is_signed(d) ? -ldexp(1.0, (int)bits(d) - 1) : 0.0;
    double hi = is_signed(d) ? ldexp(1.0, (int)bits(d) - 1) : ldexp(1.0, (int)bits(d));
    int64_t v;
    if (x != x)
        v = 0;
    else if (x <= lo)
        v = d == TJ_INT64 ? INT64_MIN : (int64_t)lo;
    else if (x >= hi)
        v = d == TJ_INT64 ? INT64_MAX : (int64_t)hi - 1;
    else
        v = (int64_t)x;
    return LLVMConstInt(tjL_reg_type(f, d), (unsigned long long)v, 1);
}

LLVMValueRef tjL_convert(tjL_fn *f, LLVMValueRef v, tj_dtype from, tj_dtype to)
{
    LLVMBuilderRef b = f->b;
    LLVMTypeRef t = tjL_reg_type(f, to);
    if (from == to)
        return v;
    if (to == TJ_BOOL) /* != 0; a NaN is true, as bool(nan) */
        return is_float(from) ? LLVMBuildFCmp(b, LLVMRealUNE, v, LLVMConstNull(LLVMTypeOf(v)), "")
                              : LLVMBuildICmp(b, LLVMIntNE, v, LLVMConstNull(LLVMTypeOf(v)), "");
    if (!is_float(from) && !is_float(to)) {
        if (bits(to) < bits(from))
            return LLVMBuildTrunc(b, v, t, "");
        if (bits(to) == bits(from))
            return v; /* int8 <-> uint8: same bits */
        return is_signed(from) ? LLVMBuildSExt(b, v, t, "") : LLVMBuildZExt(b, v, t, "");
    }
    if (!is_float(from))
        return is_signed(from) ? LLVMBuildSIToFP(b, v, t, "") : LLVMBuildUIToFP(b, v, t, "");
    if (is_float(to))
        return to == TJ_FLOAT64 ? LLVMBuildFPExt(b, v, t, "") : LLVMBuildFPTrunc(b, v, t, "");
    LLVMTypeRef types[2] = {t, LLVMTypeOf(v)};
    return tjV_intrinsic(b, is_signed(to) ? "llvm.fptosi.sat" : "llvm.fptoui.sat", types, 2, &v, 1);
}

/* ---- pow ----------------------------------------------------------------------------------- */

/* The CONST value an exponent instruction holds, rounded to its dtype, if it is one. */
static bool const_exponent(const tjK_kernel *k, int32_t arg, double *c)
{
    const tjK_instr *e = &k->code[arg];
    if (e->op != TJK_CONST)
        return false;
    *c = e->dtype == TJ_FLOAT32 ? (double)(float)e->value : e->value;
    return true;
}

/* Float pow. Exponents known at lowering time that have an exact cheap form are expanded;
 * everything else is the inline vector pow of jit/vmath_pow.c. */
static LLVMValueRef pow_float(tjL_fn *f, LLVMValueRef x, LLVMValueRef y, int32_t ey)
{
    LLVMBuilderRef b = f->b;
    LLVMTypeRef t = LLVMTypeOf(x);
    double c;
    if (const_exponent(f->k, ey, &c)) {
        if (c == 0)
            return LLVMConstReal(t, 1.0); /* pow(NaN, 0) = 1 */
        if (c == 1)
            return x;
        if (c == 2)
            return tjL_fast(LLVMBuildFMul(b, x, x, ""));
        if (c == 3)
            return tjL_fast(LLVMBuildFMul(b, tjL_fast(LLVMBuildFMul(b, x, x, "")), x, ""));
        if (c == -1)
            return tjL_fast(LLVMBuildFDiv(b, LLVMConstReal(t, 1.0), x, ""));
        if (c == 0.5) {
            /* pow(-0, .5) = +0 and pow(-inf, .5) = +inf, where sqrt gives -0 and NaN */
            LLVMValueRef s = call1(f, "llvm.fabs", call1(f, "llvm.sqrt", x));
            LLVMValueRef inf = LLVMConstReal(t, INFINITY);
            LLVMValueRef ninf = LLVMBuildFCmp(b, LLVMRealOEQ, x, LLVMConstReal(t, -INFINITY), "");
            return LLVMBuildSelect(b, ninf, inf, s, "");
        }
    }
    return tjV_math(b, TJ_OP_POW, x, y); /* our vectorizable pow (jit/vmath_pow.c) */
}

/* x^n for a non-negative literal n: repeated squaring unrolled at lowering time (wrapping). */
static LLVMValueRef ipow_const(tjL_fn *f, LLVMValueRef x, uint64_t n)
{
    LLVMValueRef r = NULL, sq = x;
    while (n) {
        if (n & 1u)
            r = r ? LLVMBuildMul(f->b, r, sq, "") : sq;
        n >>= 1;
        if (n)
            sq = LLVMBuildMul(f->b, sq, sq, "");
    }
    return r ? r : LLVMConstInt(LLVMTypeOf(x), 1, 0);
}

/* A negative exponent: 1 for base 1, +-1 by parity for base -1, else 0 (signed types only). */
static LLVMValueRef ipow_negative(tjL_fn *f, LLVMValueRef x, LLVMValueRef odd)
{
    LLVMBuilderRef b = f->b;
    LLVMTypeRef t = LLVMTypeOf(x);
    LLVMValueRef one = LLVMConstInt(t, 1, 0), mone = LLVMConstAllOnes(t);
    LLVMValueRef r = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntEQ, x, mone, ""),
                                     LLVMBuildSelect(b, odd, mone, one, ""), LLVMConstNull(t), "");
    return LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntEQ, x, one, ""), one, r, "");
}

/* Integer pow as the reference's wpow: a literal exponent is unrolled; otherwise an inline
 * square-and-multiply loop (this one keeps the enclosing loop scalar). */
static LLVMValueRef pow_int(tjL_fn *f, tj_dtype d, LLVMValueRef x, LLVMValueRef y, int32_t ey)
{
    LLVMBuilderRef b = f->b;
    LLVMTypeRef t = LLVMTypeOf(x);
    if (f->k->code[ey].op == TJK_CONST) {
        /* the literal as the exponent operand holds it (saturated into d) */
        unsigned long long n = LLVMConstIntGetZExtValue(y);
        long long sn = LLVMConstIntGetSExtValue(y);
        if (is_signed(d) && sn < 0)
            return ipow_negative(f, x, LLVMConstInt(f->i1, (unsigned long long)sn & 1u, 0));
        return ipow_const(f, x, n);
    }
    LLVMValueRef fn = LLVMGetBasicBlockParent(LLVMGetInsertBlock(b));
    LLVMBasicBlockRef pre = LLVMGetInsertBlock(b);
    LLVMBasicBlockRef head = LLVMAppendBasicBlockInContext(f->ctx, fn, "ipow.head");
    LLVMBasicBlockRef step = LLVMAppendBasicBlockInContext(f->ctx, fn, "ipow.step");
    LLVMBasicBlockRef neg = LLVMAppendBasicBlockInContext(f->ctx, fn, "ipow.neg");
    LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(f->ctx, fn, "ipow.done");
    LLVMValueRef zero = LLVMConstNull(t), one = LLVMConstInt(t, 1, 0);
    if (is_signed(d))
        LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntSLT, y, zero, ""), neg, head);
    else
        LLVMBuildBr(b, head);

    LLVMPositionBuilderAtEnd(b, head);
    LLVMValueRef r = LLVMBuildPhi(b, t, "r"), sq = LLVMBuildPhi(b, t, "sq");
    LLVMValueRef n = LLVMBuildPhi(b, t, "n");
    LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntEQ, n, zero, ""), done, step);

    LLVMPositionBuilderAtEnd(b, step);
    LLVMValueRef bit = LLVMBuildTrunc(b, n, f->i1, "");
    LLVMValueRef r2 = LLVMBuildSelect(b, bit, LLVMBuildMul(b, r, sq, ""), r, "");
    LLVMValueRef sq2 = LLVMBuildMul(b, sq, sq, "");
    LLVMValueRef n2 = LLVMBuildLShr(b, n, one, "");
    LLVMBuildBr(b, head);
    LLVMValueRef rin[2] = {one, r2}, sqin[2] = {x, sq2}, nin[2] = {y, n2};
    LLVMBasicBlockRef from[2] = {pre, step};
    LLVMAddIncoming(r, rin, from, 2);
    LLVMAddIncoming(sq, sqin, from, 2);
    LLVMAddIncoming(n, nin, from, 2);

    LLVMPositionBuilderAtEnd(b, neg);
    LLVMValueRef rneg = ipow_negative(f, x, LLVMBuildTrunc(b, y, f->i1, ""));
    LLVMBuildBr(b, done);

    LLVMPositionBuilderAtEnd(b, done);
    LLVMValueRef out = LLVMBuildPhi(b, t, "ipow");
    LLVMValueRef oin[2] = {r, rneg};
    LLVMBasicBlockRef ofrom[2] = {head, neg};
    LLVMAddIncoming(out, oin, ofrom, 2);
    return out;
}

/* ---- one instruction ----------------------------------------------------------------------- */

static LLVMValueRef cmp(tjL_fn *f, int op, tj_dtype d, LLVMValueRef x, LLVMValueRef y)
{
    LLVMBuilderRef b = f->b;
    if (is_float(d)) {
        LLVMRealPredicate p = op == TJ_OP_GT   ? LLVMRealOGT
                              : op == TJ_OP_LT ? LLVMRealOLT
                              : op == TJ_OP_GE ? LLVMRealOGE
                              : op == TJ_OP_LE ? LLVMRealOLE
                              : op == TJ_OP_EQ ? LLVMRealOEQ
                                               : LLVMRealUNE; /* NaN != anything */
        return LLVMBuildFCmp(b, p, x, y, "");
    }
    bool s = is_signed(d);
    LLVMIntPredicate p = op == TJ_OP_GT   ? (s ? LLVMIntSGT : LLVMIntUGT)
                         : op == TJ_OP_LT ? (s ? LLVMIntSLT : LLVMIntULT)
                         : op == TJ_OP_GE ? (s ? LLVMIntSGE : LLVMIntUGE)
                         : op == TJ_OP_LE ? (s ? LLVMIntSLE : LLVMIntULE)
                         : op == TJ_OP_EQ ? LLVMIntEQ
                                          : LLVMIntNE;
    return LLVMBuildICmp(b, p, x, y, "");
}

/* numpy: maximum(x, y) = (x > y || isnan(x)) ? x : y, so a NaN in either operand wins (x's
 * if both) and a tie (-0, +0) gives y, as numpy 2. (A single fcmp ugt would also pick x when
 * only y is NaN.) */
static LLVMValueRef minmax(tjL_fn *f, bool max, tj_dtype d, LLVMValueRef x, LLVMValueRef y)
{
    LLVMBuilderRef b = f->b;
    LLVMValueRef c;
    if (is_float(d))
        c = LLVMBuildOr(b, LLVMBuildFCmp(b, max ? LLVMRealOGT : LLVMRealOLT, x, y, ""),
                        LLVMBuildFCmp(b, LLVMRealUNO, x, x, ""), "");
    else if (is_signed(d))
        c = LLVMBuildICmp(b, max ? LLVMIntSGT : LLVMIntSLT, x, y, "");
    else
        c = LLVMBuildICmp(b, max ? LLVMIntUGT : LLVMIntULT, x, y, "");
    return LLVMBuildSelect(b, c, x, y, "");
}

/* ---- numpy's exact ops ---------------------------------------------------------------------- */

static LLVMValueRef fcmp(tjL_fn *f, LLVMRealPredicate p, LLVMValueRef x, LLVMValueRef y)
{
    return LLVMBuildFCmp(f->b, p, x, y, "");
}

static LLVMValueRef fconst(LLVMValueRef like, double c)
{
    return LLVMConstReal(LLVMTypeOf(like), c);
}

/* numpy's sign: 1, -1, 0 for +-0 (positive zero), NaN stays */
static LLVMValueRef sign_float(tjL_fn *f, LLVMValueRef x)
{
    LLVMBuilderRef b = f->b;
    LLVMValueRef r = LLVMBuildSelect(b, fcmp(f, LLVMRealOEQ, x, fconst(x, 0)), fconst(x, 0), x, "");
    r = LLVMBuildSelect(b, fcmp(f, LLVMRealOLT, x, fconst(x, 0)), fconst(x, -1), r, "");
    return LLVMBuildSelect(b, fcmp(f, LLVMRealOGT, x, fconst(x, 0)), fconst(x, 1), r, "");
}

/* numpy's npy_divmod, step by step as the reference executor runs it (no fast-math flags, so the
 * two agree bit for bit): mod = fmod(a, b) moved to b's sign, floordiv = (a - mod) / b snapped to
 * the nearest integer; b == 0 gives a / b and fmod's NaN. Returns floordiv or the remainder. */
static LLVMValueRef divmod_float(tjL_fn *f, LLVMValueRef a, LLVMValueRef bb, bool want_div)
{
    LLVMBuilderRef b = f->b;
    LLVMTypeRef t = LLVMTypeOf(a);
    LLVMValueRef zero = fconst(a, 0);
    LLVMValueRef mod = LLVMBuildFRem(b, a, bb, "");
    LLVMValueRef bzero = fcmp(f, LLVMRealOEQ, bb, zero);
    LLVMValueRef nz = fcmp(f, LLVMRealUNE, mod, zero); /* C's `if (mod)`: NaN is true */
    LLVMValueRef flip =
        LLVMBuildXor(b, fcmp(f, LLVMRealOLT, bb, zero), fcmp(f, LLVMRealOLT, mod, zero), "");
    LLVMValueRef adj = LLVMBuildAnd(b, nz, flip, "");
    if (!want_div) {
        LLVMValueRef args[2] = {zero, bb};
        LLVMValueRef z = tjV_intrinsic(b, "llvm.copysign", &t, 1, args, 2);
        LLVMValueRef m = LLVMBuildSelect(b, nz, mod, z, "");
        m = LLVMBuildSelect(b, adj, LLVMBuildFAdd(b, mod, bb, ""), m, "");
        return LLVMBuildSelect(b, bzero, mod, m, "");
    }
    LLVMValueRef q = LLVMBuildFDiv(b, a, bb, "");
    LLVMValueRef div = LLVMBuildFDiv(b, LLVMBuildFSub(b, a, mod, ""), bb, "");
    div = LLVMBuildSelect(b, adj, LLVMBuildFSub(b, div, fconst(a, 1), ""), div, "");
    LLVMValueRef fl = call1(f, "llvm.floor", div);
    LLVMValueRef up = fcmp(f, LLVMRealOGT, LLVMBuildFSub(b, div, fl, ""), fconst(a, 0.5));
    fl = LLVMBuildSelect(b, up, LLVMBuildFAdd(b, fl, fconst(a, 1), ""), fl, "");
    LLVMValueRef args[2] = {zero, q};
    LLVMValueRef z = tjV_intrinsic(b, "llvm.copysign", &t, 1, args, 2);
    fl = LLVMBuildSelect(b, fcmp(f, LLVMRealUNE, div, zero), fl, z, "");
    return LLVMBuildSelect(b, bzero, q, fl, "");
}

/* numpy's integer // and %: x // 0 = x % 0 = 0, x // -1 a wrapping negation; the divisor fed
 * to sdiv/srem is never 0 or -1, so there is no UB and no SIGFPE. */
static LLVMValueRef divmod_int(tjL_fn *f, tj_dtype d, LLVMValueRef a, LLVMValueRef bb,
                               bool want_div)
{
    LLVMBuilderRef b = f->b;
    LLVMTypeRef t = LLVMTypeOf(a);
    LLVMValueRef zero = LLVMConstNull(t), one = LLVMConstInt(t, 1, 0);
    LLVMValueRef bz = LLVMBuildICmp(b, LLVMIntEQ, bb, zero, "");
    if (!is_signed(d)) {
        LLVMValueRef bs = LLVMBuildSelect(b, bz, one, bb, "");
        LLVMValueRef r = want_div ? LLVMBuildUDiv(b, a, bs, "") : LLVMBuildURem(b, a, bs, "");
        return LLVMBuildSelect(b, bz, zero, r, "");
    }
    LLVMValueRef bm1 = LLVMBuildICmp(b, LLVMIntEQ, bb, LLVMConstAllOnes(t), "");
    LLVMValueRef bs = LLVMBuildSelect(b, LLVMBuildOr(b, bz, bm1, ""), one, bb, "");
    LLVMValueRef r = LLVMBuildSRem(b, a, bs, "");
    /* the remainder is non-zero and its sign differs from the divisor's */
    LLVMValueRef fix =
        LLVMBuildAnd(b, LLVMBuildICmp(b, LLVMIntNE, r, zero, ""),
                     LLVMBuildICmp(b, LLVMIntSLT, LLVMBuildXor(b, r, bs, ""), zero, ""), "");
    if (!want_div) {
        r = LLVMBuildAdd(b, r, LLVMBuildSelect(b, fix, bs, zero, ""), "");
        return LLVMBuildSelect(b, bz, zero, r, ""); /* b = -1 gave bs = 1, r = 0 */
    }
    LLVMValueRef q = LLVMBuildSDiv(b, a, bs, "");
    q = LLVMBuildSub(b, q, LLVMBuildZExt(b, fix, t, ""), "");
    q = LLVMBuildSelect(b, bm1, LLVMBuildSub(b, zero, a, ""), q, "");
    return LLVMBuildSelect(b, bz, zero, q, "");
}

/* numpy.clip: m = x < lo ? lo : x, then m > hi ? hi : m; in floats a NaN lo or hi wins (a NaN x
 * passes both compares); in bool max is or, min is and. */
static LLVMValueRef clip(tjL_fn *f, tj_dtype d, LLVMValueRef x, LLVMValueRef lo, LLVMValueRef hi)
{
    LLVMBuilderRef b = f->b;
    if (d == TJ_BOOL)
        return LLVMBuildAnd(b, LLVMBuildOr(b, x, lo, ""), hi, "");
    LLVMValueRef below, above;
    if (is_float(d)) {
        below = LLVMBuildOr(b, fcmp(f, LLVMRealOLT, x, lo), fcmp(f, LLVMRealUNO, lo, lo), "");
        LLVMValueRef m = LLVMBuildSelect(b, below, lo, x, "");
        above = LLVMBuildOr(b, fcmp(f, LLVMRealOGT, m, hi), fcmp(f, LLVMRealUNO, hi, hi), "");
        return LLVMBuildSelect(b, above, hi, m, "");
    }
    bool s = is_signed(d);
    LLVMValueRef m =
        LLVMBuildSelect(b, LLVMBuildICmp(b, s ? LLVMIntSLT : LLVMIntULT, x, lo, ""), lo, x, "");
    return LLVMBuildSelect(b, LLVMBuildICmp(b, s ? LLVMIntSGT : LLVMIntUGT, m, hi, ""), hi, m, "");
}

/* isnan, isinf, not: bool from any dtype (integers are never NaN or infinite) */
static LLVMValueRef test(tjL_fn *f, int op, tj_dtype d, LLVMValueRef x)
{
    LLVMBuilderRef b = f->b;
    if (op == TJ_OP_NOT) {
        if (d == TJ_BOOL)
            return LLVMBuildNot(b, x, "");
        if (is_float(d)) /* not(NaN) is false: NaN is truthy */
            return fcmp(f, LLVMRealOEQ, x, fconst(x, 0));
        return LLVMBuildICmp(b, LLVMIntEQ, x, LLVMConstNull(LLVMTypeOf(x)), "");
    }
    if (!is_float(d))
        return LLVMConstInt(f->i1, 0, 0);
    if (op == TJ_OP_ISNAN)
        return fcmp(f, LLVMRealUNO, x, x);
    return fcmp(f, LLVMRealOEQ, call1(f, "llvm.fabs", x), fconst(x, INFINITY));
}

static LLVMValueRef float_op(tjL_fn *f, const tjK_instr *in, LLVMValueRef x, LLVMValueRef y)
{
    LLVMBuilderRef b = f->b;
    LLVMTypeRef t = LLVMTypeOf(x);
    switch (in->op) {
    case TJ_OP_NEG: return tjL_fast(LLVMBuildFNeg(b, x, ""));
    case TJ_OP_ABS: return call1(f, "llvm.fabs", x);
    case TJ_OP_EXP: return tjV_exp(b, x);
    case TJ_OP_LOG: return tjV_log(b, x);
    case TJ_OP_SQRT: return tjL_fast(call1(f, "llvm.sqrt", x));
    case TJ_OP_SQR: return tjL_fast(LLVMBuildFMul(b, x, x, ""));
    case TJ_OP_INV: return tjL_fast(LLVMBuildFDiv(b, LLVMConstReal(t, 1.0), x, ""));
    case TJ_OP_SIGMOID: return tjV_sigmoid(b, x);
    case TJ_OP_TANH: return tjV_tanh(b, x);
    case TJ_OP_ADD: return tjL_fast(LLVMBuildFAdd(b, x, y, ""));
    case TJ_OP_SUB: return tjL_fast(LLVMBuildFSub(b, x, y, ""));
    case TJ_OP_MUL: return tjL_fast(LLVMBuildFMul(b, x, y, ""));
    case TJ_OP_DIV: return tjL_fast(LLVMBuildFDiv(b, x, y, ""));
    case TJ_OP_POW: return pow_float(f, x, y, in->args[1]);
    case TJ_OP_MAXIMUM: return minmax(f, true, in->dtype, x, y);
    case TJ_OP_MINIMUM: return minmax(f, false, in->dtype, x, y);
    case TJ_OP_SIGN: return sign_float(f, x);
    case TJ_OP_FLOOR: return call1(f, "llvm.floor", x);
    case TJ_OP_CEIL: return call1(f, "llvm.ceil", x);
    case TJ_OP_ROUND: return call1(f, "llvm.roundeven", x);
    case TJ_OP_TRUNC: return call1(f, "llvm.trunc", x);
    /* no flags: with afn/arcp LLVM may emit an rsqrt estimate, the reference is exact */
    case TJ_OP_RSQRT: return LLVMBuildFDiv(b, LLVMConstReal(t, 1.0), call1(f, "llvm.sqrt", x), "");
    case TJ_OP_INT_DIV: return divmod_float(f, x, y, true);
    case TJ_OP_MOD: return divmod_float(f, x, y, false);
    default: return tjV_math(b, in->op, x, y);
    }
}

static LLVMValueRef int_op(tjL_fn *f, const tjK_instr *in, LLVMValueRef x, LLVMValueRef y)
{
    LLVMBuilderRef b = f->b;
    switch (in->op) {
    case TJ_OP_NEG: return LLVMBuildSub(b, LLVMConstNull(LLVMTypeOf(x)), x, "");
    case TJ_OP_ABS:
        if (!is_signed(in->dtype))
            return x;
        {
            LLVMValueRef args[2] = {x, LLVMConstInt(f->i1, 0, 0)}; /* abs(INT_MIN) wraps */
            LLVMTypeRef t = LLVMTypeOf(x);
            return tjV_intrinsic(b, "llvm.abs", &t, 1, args, 2);
        }
    case TJ_OP_SQR: return LLVMBuildMul(b, x, x, "");
    case TJ_OP_ADD: return LLVMBuildAdd(b, x, y, "");
    case TJ_OP_SUB: return LLVMBuildSub(b, x, y, "");
    case TJ_OP_MUL: return LLVMBuildMul(b, x, y, "");
    case TJ_OP_POW: return pow_int(f, in->dtype, x, y, in->args[1]);
    case TJ_OP_MAXIMUM: return minmax(f, true, in->dtype, x, y);
    case TJ_OP_SIGN: {
        LLVMTypeRef t = LLVMTypeOf(x);
        LLVMValueRef zero = LLVMConstNull(t);
        LLVMValueRef pos = LLVMBuildZExt(
            b, LLVMBuildICmp(b, is_signed(in->dtype) ? LLVMIntSGT : LLVMIntUGT, x, zero, ""), t,
            "");
        if (!is_signed(in->dtype))
            return pos;
        LLVMValueRef negv = LLVMBuildZExt(b, LLVMBuildICmp(b, LLVMIntSLT, x, zero, ""), t, "");
        return LLVMBuildSub(b, pos, negv, "");
    }
    case TJ_OP_FLOOR:
    case TJ_OP_CEIL:
    case TJ_OP_ROUND:
    case TJ_OP_TRUNC: return x;
    case TJ_OP_INVERT: return LLVMBuildNot(b, x, "");
    case TJ_OP_AND: return LLVMBuildAnd(b, x, y, "");
    case TJ_OP_OR: return LLVMBuildOr(b, x, y, "");
    case TJ_OP_XOR: return LLVMBuildXor(b, x, y, "");
    case TJ_OP_INT_DIV: return divmod_int(f, in->dtype, x, y, true);
    case TJ_OP_MOD: return divmod_int(f, in->dtype, x, y, false);
    default: return minmax(f, false, in->dtype, x, y); /* MINIMUM */
    }
}

/* numpy's bool arithmetic: add/maximum/or are or, mul/minimum/and are and, invert is not;
 * abs, floor, ceil, trunc are the identity. */
static LLVMValueRef bool_op(tjL_fn *f, const tjK_instr *in, LLVMValueRef x, LLVMValueRef y)
{
    switch (in->op) {
    case TJ_OP_ADD:
    case TJ_OP_OR:
    case TJ_OP_MAXIMUM: return LLVMBuildOr(f->b, x, y, "");
    case TJ_OP_MUL:
    case TJ_OP_AND:
    case TJ_OP_MINIMUM: return LLVMBuildAnd(f->b, x, y, "");
    case TJ_OP_XOR: return LLVMBuildXor(f->b, x, y, "");
    case TJ_OP_INVERT: return LLVMBuildNot(f->b, x, "");
    default: return x; /* ABS, FLOOR, CEIL, TRUNC */
    }
}

void tjL_emit_code(tjL_fn *f, LLVMValueRef const *in, LLVMValueRef *v)
{
    const tjK_kernel *k = f->k;
    for (int i = 0; i < k->ncode; i++) {
        const tjK_instr *c = &k->code[i];
        LLVMValueRef x = c->args[0] >= 0 && c->op != TJK_LOAD ? v[c->args[0]] : NULL;
        LLVMValueRef y = c->args[1] >= 0 ? v[c->args[1]] : NULL;
        if (c->op == TJK_LOAD) {
            v[i] = in[c->args[0]];
        } else if (c->op == TJK_CONST) {
            v[i] = constant(f, c->dtype, c->value);
        } else if (c->op == TJ_OP_CAST) {
            v[i] = tjL_convert(f, x, k->code[c->args[0]].dtype, c->dtype);
        } else if (c->op == TJ_OP_SECOND) {
            v[i] = y;
        } else if (c->op == TJ_OP_SWITCH) {
            v[i] = LLVMBuildSelect(f->b, x, y, v[c->args[2]], "");
        } else if (c->op == TJ_OP_CLIP) {
            v[i] = clip(f, c->dtype, x, y, v[c->args[2]]);
        } else if (c->op == TJ_OP_ISNAN || c->op == TJ_OP_ISINF || c->op == TJ_OP_NOT) {
            v[i] = test(f, c->op, k->code[c->args[0]].dtype, x);
        } else if (tj_op_is((tj_op)c->op, OPF_BOOLOUT)) {
            v[i] = cmp(f, c->op, k->code[c->args[0]].dtype, x, y);
        } else if (is_float(c->dtype)) {
            v[i] = float_op(f, c, x, y);
        } else if (c->dtype == TJ_BOOL) {
            v[i] = bool_op(f, c, x, y);
        } else {
            v[i] = int_op(f, c, x, y);
        }
    }
}
