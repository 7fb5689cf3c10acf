/* A kernel description (lib/kernel.h) -> one LLVM function with the tjK_fn signature:
 *   void k(char *const *ptrs, const int64_t *shape, const int64_t *strides, int64_t ndim,
 *          int64_t begin, int64_t end)
 *
 * Shape of the generated code:
 *   entry   load base pointers and inner-axis strides; pick a loop variant from the strides
 *   1-D     ndim == 1: one loop over [begin, end) (the flat path when every stride is 1)
 *   n-D     rows [begin, end) walked by an odometer (offsets updated incrementally, one
 *           div/mod chain at `begin` only), an inner loop over the last axis per row
 * Inner-loop variants, chosen once per call:
 *   unit     every non-scalar operand has inner stride 1: i-th element at base + i, which the
 *            loop vectorizer widens
 *   generic  element at base + i * stride
 * Reductions (one output, stride 0 on reduced axes): when the output's inner stride is 0 the
 * row is summed in a register, in blocks of BLOCK elements aligned to absolute indices (vector
 * partial sums inside a block, Kahan-compensated block totals), and added to the output once;
 * otherwise each element is read-modify-written (column sums walk rows).
 *
 * Every operand access carries scoped-noalias metadata (one scope per operand): operands never
 * overlap except exact in-place reuse, and the metadata spares the vectorizer runtime alias
 * checks. Scalar operands are loaded once. */
#define TJ_JIT_PRIVATE
#include "jit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_OPERANDS 1024 /* bounds the O(n^2) alias metadata; real kernels have a handful */
#define BLOCK 4096        /* reduction block: pairwise-like float error, fits in L1 */

/* ---- validation ----------------------------------------------------------------------------- */

/* Which compute dtypes each op accepts (as the reference executor's `supports`). */
static bool op_supports(int op, tj_dtype d)
{
    switch (op) {
    case TJ_OP_EXP: case TJ_OP_LOG: case TJ_OP_SQRT: case TJ_OP_INV: case TJ_OP_SIGMOID:
    case TJ_OP_TANH: case TJ_OP_DIV:
        return tj_dtype_is_float(d);
    case TJ_OP_NEG: case TJ_OP_SQR: case TJ_OP_SUB: case TJ_OP_POW:
        return d != TJ_BOOL;
    default:
        return true;
    }
}

static tj_status check_instr(const tjK_kernel *k, int i, char *err, size_t errlen)
{
    const tjK_instr *c = &k->code[i];
    if (!tj_dtype_valid(c->dtype))
        return tjJ_fail(err, errlen, TJ_ERR_INVALID, "kernel instruction %d has invalid dtype %d",
                        i, (int)c->dtype);
    if (c->op == TJK_LOAD) {
        int a = c->args[0];
        if (a < 0 || a >= k->nin)
            return tjJ_fail(err, errlen, TJ_ERR_INVALID,
                            "kernel instruction %d loads operand %d, which is not one of the %d "
                            "inputs", i, a, k->nin);
        if (k->dtype[a] != c->dtype)
            return tjJ_fail(err, errlen, TJ_ERR_INVALID,
                            "kernel instruction %d loads input %d as %s but the input is %s", i, a,
                            tj_dtype_name(c->dtype), tj_dtype_name(k->dtype[a]));
        return TJ_OK;
    }
    if (c->op == TJK_CONST)
        return TJ_OK;
    if (c->op < 0 || c->op >= TJ_NUM_OPS || !tj_op_is((tj_op)c->op, OPF_ELEMWISE))
        return tjJ_fail(err, errlen, TJ_ERR_INVALID,
                        "kernel instruction %d has op %d, which is not an elementwise op, a load "
                        "or a constant", i, c->op);
    const char *name = tjG_ops[c->op].name;
    int arity = tjG_ops[c->op].arity;
    tj_dtype ad[3] = {c->dtype, c->dtype, c->dtype};
    for (int j = 0; j < arity; j++) {
        int a = c->args[j];
        if (a < 0 || a >= i)
            return tjJ_fail(err, errlen, TJ_ERR_INVALID,
                            "kernel instruction %d (%s): argument %d refers to instruction %d, "
                            "but arguments must be earlier instructions", i, name, j, a);
        ad[j] = k->code[a].dtype;
    }
    bool ok;
    switch (c->op) {
    case TJ_OP_CAST: ok = true; break;
    case TJ_OP_SECOND: ok = ad[1] == c->dtype; break;
    case TJ_OP_SWITCH: ok = ad[0] == TJ_BOOL && ad[1] == c->dtype && ad[2] == c->dtype; break;
    default:
        if (tj_op_is((tj_op)c->op, OPF_BOOLOUT)) {
            ok = c->dtype == TJ_BOOL && ad[0] == ad[1];
        } else {
            ok = op_supports(c->op, c->dtype);
            for (int j = 0; j < arity; j++)
                ok = ok && ad[j] == c->dtype;
        }
    }
    if (!ok)
        return tjJ_fail(err, errlen, TJ_ERR_INVALID,
                        "kernel instruction %d (%s %s) has arguments of the wrong dtype (%s%s%s)",
                        i, name, tj_dtype_name(c->dtype), tj_dtype_name(ad[0]),
                        arity > 1 ? ", " : "", arity > 1 ? tj_dtype_name(ad[1]) : "");
    return TJ_OK;
}

tj_status tjL_validate(const tjK_kernel *k, char *err, size_t errlen)
{
    if (!k)
        return tjJ_fail(err, errlen, TJ_ERR_INVALID, "a kernel description is NULL");
    if (k->nin < 0 || k->nout < 1 || k->nin + k->nout > MAX_OPERANDS)
        return tjJ_fail(err, errlen, TJ_ERR_INVALID,
                        "a kernel has %d inputs and %d outputs (needs >= 0, >= 1, at most %d "
                        "operands)", k->nin, k->nout, MAX_OPERANDS);
    if (!k->dtype || !k->code || k->ncode < 1 || !k->out_instr || (k->nin > 0 && !k->scalar))
        return tjJ_fail(err, errlen, TJ_ERR_INVALID,
                        "a kernel description lacks its dtypes, scalar flags, code or outputs");
    for (int i = 0; i < k->nin + k->nout; i++)
        if (!tj_dtype_valid(k->dtype[i]))
            return tjJ_fail(err, errlen, TJ_ERR_INVALID, "kernel operand %d has invalid dtype %d",
                            i, (int)k->dtype[i]);
    for (int i = 0; i < k->ncode; i++) {
        tj_status st = check_instr(k, i, err, errlen);
        if (st != TJ_OK)
            return st;
    }
    for (int o = 0; o < k->nout; o++)
        if (k->out_instr[o] < 0 || k->out_instr[o] >= k->ncode)
            return tjJ_fail(err, errlen, TJ_ERR_INVALID,
                            "kernel output %d stores instruction %d of %d", o, k->out_instr[o],
                            k->ncode);
    if (k->reduce != TJ_OP_NONE_ && k->reduce != TJ_OP_SUM)
        return tjJ_fail(err, errlen, TJ_ERR_INVALID, "kernel reduction %d is not sum", k->reduce);
    if (k->reduce == TJ_OP_SUM && k->nout != 1)
        return tjJ_fail(err, errlen, TJ_ERR_INVALID, "a sum kernel has %d outputs, not 1",
                        k->nout);
    return TJ_OK;
}

/* ---- lowering state ------------------------------------------------------------------------- */

enum { M_STORE, M_RMW, M_ACC }; /* what the inner loop does with each output value */

typedef struct {
    tjL_fn f;
    const tjK_kernel *k;
    int nops;
    LLVMValueRef fn, a_ptrs, a_shape, a_strides, a_ndim, a_begin, a_end;
    LLVMValueRef *base;   /* nops: operand element pointers */
    LLVMValueRef *ival;   /* nin: scalar input values */
    bool *used;           /* nin: read by some LOAD */
    LLVMValueRef *istr;   /* nops: inner-axis stride (non-scalar operands) */
    LLVMValueRef *off;    /* nops: alloca of the current row offset (n-D path) */
    LLVMValueRef idx;     /* alloca i64[ndim]: the odometer */
    LLVMValueRef ninner;  /* shape[ndim-1] */
    unsigned kscope, knoalias;
    LLVMValueRef *mscope, *mnoalias; /* nops: metadata of each operand's accesses */
    LLVMValueRef *in, *vals;          /* scratch: nin input values, ncode instruction values */
    LLVMBasicBlockRef ret;
} lw;

static bool scalar_in(const lw *w, int k) { return k < w->k->nin && w->k->scalar[k]; }
static bool strided(const lw *w, int k) { return !scalar_in(w, k) && (k >= w->k->nin || w->used[k]); }
static tj_dtype out_dtype(const lw *w) { return w->k->dtype[w->k->nin]; }

static LLVMValueRef i64c(const lw *w, long long v) { return LLVMConstInt(w->f.i64, (unsigned long long)v, 1); }

static LLVMBasicBlockRef block(lw *w, const char *name)
{
    return LLVMAppendBasicBlockInContext(w->f.ctx, w->fn, name);
}

static void tag(const lw *w, int k, LLVMValueRef inst)
{
    LLVMSetMetadata(inst, w->kscope, w->mscope[k]);
    if (w->mnoalias[k])
        LLVMSetMetadata(inst, w->knoalias, w->mnoalias[k]);
}

static LLVMValueRef load_op(lw *w, int k, LLVMValueRef p)
{
    tj_dtype d = w->k->dtype[k];
    LLVMValueRef v = LLVMBuildLoad2(w->f.b, tjL_mem_type(&w->f, d), p, "");
    LLVMSetAlignment(v, (unsigned)tj_dtype_size(d));
    tag(w, k, v);
    if (d == TJ_BOOL) /* any non-zero byte is true */
        v = LLVMBuildICmp(w->f.b, LLVMIntNE, v, LLVMConstNull(w->f.i8), "");
    return v;
}

static void store_op(lw *w, int k, LLVMValueRef p, LLVMValueRef v)
{
    tj_dtype d = w->k->dtype[k];
    if (d == TJ_BOOL)
        v = LLVMBuildZExt(w->f.b, v, w->f.i8, "");
    LLVMValueRef s = LLVMBuildStore(w->f.b, v, p);
    LLVMSetAlignment(s, (unsigned)tj_dtype_size(d));
    tag(w, k, s);
}

/* strides[k*ndim + d] */
static LLVMValueRef stride_of(lw *w, int k, LLVMValueRef d)
{
    LLVMBuilderRef b = w->f.b;
    LLVMValueRef i = LLVMBuildNSWAdd(b, LLVMBuildNSWMul(b, i64c(w, k), w->a_ndim, ""), d, "");
    LLVMValueRef p = LLVMBuildInBoundsGEP2(b, w->f.i64, w->a_strides, &i, 1, "");
    return LLVMBuildLoad2(b, w->f.i64, p, "");
}

static LLVMValueRef shape_of(lw *w, LLVMValueRef d)
{
    LLVMValueRef p = LLVMBuildInBoundsGEP2(w->f.b, w->f.i64, w->a_shape, &d, 1, "");
    return LLVMBuildLoad2(w->f.b, w->f.i64, p, "");
}

/* Address of element j of operand k's row starting at rowp. */
static LLVMValueRef elem(lw *w, int k, LLVMValueRef rowp, LLVMValueRef j, bool unit)
{
    LLVMValueRef i = unit ? j : LLVMBuildNSWMul(w->f.b, j, w->istr[k], "");
    return LLVMBuildInBoundsGEP2(w->f.b, tjL_mem_type(&w->f, w->k->dtype[k]), rowp, &i, 1, "");
}

/* acc + v in dtype d: float adds carry reassoc so the vectorizer keeps vector partial sums. */
static LLVMValueRef acc_add(lw *w, tj_dtype d, LLVMValueRef acc, LLVMValueRef v)
{
    if (tj_dtype_is_float(d))
        return tjL_fast(LLVMBuildFAdd(w->f.b, acc, v, ""));
    if (d == TJ_BOOL)
        return LLVMBuildOr(w->f.b, acc, v, "");
    return LLVMBuildAdd(w->f.b, acc, v, "");
}

/* ---- loops ---------------------------------------------------------------------------------- */

/* for j in [lo, hi): evaluate the code and store / read-modify-write / accumulate each output.
 * Returns the accumulated value in M_ACC (starting from acc0). The builder ends in the exit. */
static LLVMValueRef inner(lw *w, LLVMValueRef *rowp, LLVMValueRef lo, LLVMValueRef hi,
                          bool unit, int mode, LLVMValueRef acc0)
{
    const tjK_kernel *k = w->k;
    LLVMBuilderRef b = w->f.b;
    LLVMBasicBlockRef pre = LLVMGetInsertBlock(b), loop = block(w, "loop"), exit = block(w, "loop.end");
    LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntSLT, lo, hi, ""), loop, exit);

    LLVMPositionBuilderAtEnd(b, loop);
    LLVMValueRef j = LLVMBuildPhi(b, w->f.i64, "j"), acc = NULL, accn = NULL;
    if (mode == M_ACC)
        acc = LLVMBuildPhi(b, LLVMTypeOf(acc0), "acc");
    for (int i = 0; i < k->nin; i++) {
        w->in[i] = NULL;
        if (scalar_in(w, i))
            w->in[i] = w->ival[i];
        else if (w->used[i])
            w->in[i] = load_op(w, i, elem(w, i, rowp[i], j, unit));
    }
    tjL_emit_code(&w->f, w->in, w->vals);
    for (int o = 0; o < k->nout; o++) {
        int op = k->nin + o;
        tj_dtype d = k->dtype[op];
        LLVMValueRef v = tjL_convert(&w->f, w->vals[k->out_instr[o]], k->code[k->out_instr[o]].dtype, d);
        if (mode == M_ACC) {
            accn = acc_add(w, d, acc, v);
            continue;
        }
        LLVMValueRef p = elem(w, op, rowp[op], j, unit);
        if (mode == M_RMW)
            v = acc_add(w, d, load_op(w, op, p), v);
        store_op(w, op, p, v);
    }
    LLVMBasicBlockRef latch = LLVMGetInsertBlock(b);
    LLVMValueRef jn = LLVMBuildNSWAdd(b, j, i64c(w, 1), "");
    LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntSLT, jn, hi, ""), loop, exit);
    LLVMBasicBlockRef from[2] = {pre, latch};
    LLVMValueRef jin[2] = {lo, jn};
    LLVMAddIncoming(j, jin, from, 2);
    LLVMPositionBuilderAtEnd(b, exit);
    if (mode != M_ACC)
        return NULL;
    LLVMValueRef ain[2] = {acc0, accn};
    LLVMAddIncoming(acc, ain, from, 2);
    LLVMValueRef res = LLVMBuildPhi(b, LLVMTypeOf(acc0), "sum");
    LLVMAddIncoming(res, ain, from, 2);
    return res;
}

/* Sum of the row [lo, hi) in the output dtype. Floats: blocks of BLOCK elements aligned to
 * multiples of BLOCK (so a split of the range at block boundaries sums identically), block
 * totals combined with Kahan compensation (no fast-math flags: they would cancel it). */
static LLVMValueRef row_sum(lw *w, LLVMValueRef *rowp, LLVMValueRef lo, LLVMValueRef hi, bool unit)
{
    LLVMBuilderRef b = w->f.b;
    tj_dtype d = out_dtype(w);
    LLVMTypeRef t = tjL_reg_type(&w->f, d);
    LLVMValueRef zero = LLVMConstNull(t);
    if (!tj_dtype_is_float(d))
        return inner(w, rowp, lo, hi, unit, M_ACC, zero);
    LLVMBasicBlockRef pre = LLVMGetInsertBlock(b), head = block(w, "blk"), exit = block(w, "blk.end");
    LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntSLT, lo, hi, ""), head, exit);

    LLVMPositionBuilderAtEnd(b, head);
    LLVMValueRef blo = LLVMBuildPhi(b, w->f.i64, "blo"), tot = LLVMBuildPhi(b, t, "tot");
    LLVMValueRef comp = LLVMBuildPhi(b, t, "comp");
    LLVMValueRef bend = LLVMBuildNSWAdd(b, LLVMBuildAnd(b, blo, i64c(w, -BLOCK), ""), i64c(w, BLOCK), "");
    LLVMValueRef bhi = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSLT, bend, hi, ""), bend, hi, "");
    LLVMValueRef s = inner(w, rowp, blo, bhi, unit, M_ACC, zero);
    LLVMValueRef y = LLVMBuildFSub(b, s, comp, "");
    LLVMValueRef tn = LLVMBuildFAdd(b, tot, y, "");
    LLVMValueRef cn = LLVMBuildFSub(b, LLVMBuildFSub(b, tn, tot, ""), y, "");
    LLVMBasicBlockRef latch = LLVMGetInsertBlock(b);
    LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntSLT, bhi, hi, ""), head, exit);
    LLVMBasicBlockRef from[2] = {pre, latch};
    LLVMValueRef bin[2] = {lo, bhi}, tin[2] = {zero, tn}, cin[2] = {zero, cn};
    LLVMAddIncoming(blo, bin, from, 2);
    LLVMAddIncoming(tot, tin, from, 2);
    LLVMAddIncoming(comp, cin, from, 2);

    LLVMPositionBuilderAtEnd(b, exit);
    LLVMValueRef rt = LLVMBuildPhi(b, t, ""), rc = LLVMBuildPhi(b, t, "");
    LLVMAddIncoming(rt, tin, from, 2);
    LLVMAddIncoming(rc, cin, from, 2);
    return LLVMBuildFSub(b, rt, rc, "");
}

/* One row (or the whole 1-D range) in the given mode. */
static void row(lw *w, LLVMValueRef *rowp, LLVMValueRef lo, LLVMValueRef hi, int mode, bool unit)
{
    if (mode != M_ACC) {
        inner(w, rowp, lo, hi, unit, mode, NULL);
        return;
    }
    int op = w->k->nin;
    LLVMValueRef total = row_sum(w, rowp, lo, hi, unit);
    store_op(w, op, rowp[op], acc_add(w, out_dtype(w), load_op(w, op, rowp[op]), total));
}

/* off[k] (+|-)= delta for every strided operand */
static void bump(lw *w, LLVMValueRef d, LLVMValueRef scale, bool sub)
{
    LLVMBuilderRef b = w->f.b;
    for (int k = 0; k < w->nops; k++) {
        if (!strided(w, k))
            continue;
        LLVMValueRef s = stride_of(w, k, d);
        if (scale)
            s = LLVMBuildMul(b, s, scale, "");
        LLVMValueRef o = LLVMBuildLoad2(b, w->f.i64, w->off[k], "");
        LLVMBuildStore(b, sub ? LLVMBuildSub(b, o, s, "") : LLVMBuildAdd(b, o, s, ""), w->off[k]);
    }
}

/* n-D: offsets of row `begin` by one div/mod chain over the outer axes (ndim >= 2, and the
 * range is non-empty, so every outer length is >= 1). */
static void odometer_init(lw *w)
{
    LLVMBuilderRef b = w->f.b;
    for (int k = 0; k < w->nops; k++)
        if (strided(w, k))
            LLVMBuildStore(b, i64c(w, 0), w->off[k]);
    LLVMValueRef d0 = LLVMBuildSub(b, w->a_ndim, i64c(w, 2), "");
    LLVMBasicBlockRef pre = LLVMGetInsertBlock(b), loop = block(w, "odo.init"), done = block(w, "odo.done");
    LLVMBuildBr(b, loop);
    LLVMPositionBuilderAtEnd(b, loop);
    LLVMValueRef d = LLVMBuildPhi(b, w->f.i64, "d"), rem = LLVMBuildPhi(b, w->f.i64, "rem");
    LLVMValueRef sh = shape_of(w, d);
    LLVMValueRef q = LLVMBuildSDiv(b, rem, sh, "");
    LLVMValueRef i = LLVMBuildSub(b, rem, LLVMBuildMul(b, q, sh, ""), "");
    LLVMBuildStore(b, i, LLVMBuildInBoundsGEP2(b, w->f.i64, w->idx, &d, 1, ""));
    bump(w, d, i, false);
    LLVMValueRef dn = LLVMBuildSub(b, d, i64c(w, 1), "");
    LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntSGT, d, i64c(w, 0), ""), loop, done);
    LLVMBasicBlockRef from[2] = {pre, loop};
    LLVMValueRef din[2] = {d0, dn}, rin[2] = {w->a_begin, q};
    LLVMAddIncoming(d, din, from, 2);
    LLVMAddIncoming(rem, rin, from, 2);
    LLVMPositionBuilderAtEnd(b, done);
}

/* n-D: rows [begin, end), each an inner loop over [0, shape[ndim-1]), then the odometer steps:
 * the innermost outer axis advances, carrying into the next on wrap-around. */
static void rows(lw *w, int mode, bool unit)
{
    LLVMBuilderRef b = w->f.b;
    LLVMBasicBlockRef pre = LLVMGetInsertBlock(b), head = block(w, "row");
    LLVMBuildBr(b, head);
    LLVMPositionBuilderAtEnd(b, head);
    LLVMValueRef r = LLVMBuildPhi(b, w->f.i64, "r");
    LLVMValueRef rowp[MAX_OPERANDS];
    for (int k = 0; k < w->nops; k++) {
        rowp[k] = NULL;
        if (!strided(w, k))
            continue;
        LLVMValueRef o = LLVMBuildLoad2(b, w->f.i64, w->off[k], "");
        rowp[k] = LLVMBuildInBoundsGEP2(b, tjL_mem_type(&w->f, w->k->dtype[k]), w->base[k], &o, 1, "");
    }
    row(w, rowp, i64c(w, 0), w->ninner, mode, unit);
    LLVMValueRef rn = LLVMBuildNSWAdd(b, r, i64c(w, 1), "");
    LLVMValueRef d0 = LLVMBuildSub(b, w->a_ndim, i64c(w, 2), "");
    LLVMBasicBlockRef latch = LLVMGetInsertBlock(b), carry = block(w, "odo.step");
    LLVMBasicBlockRef next = block(w, "odo.next"), wrap = block(w, "odo.wrap");
    LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntSLT, rn, w->a_end, ""), carry, w->ret);

    LLVMPositionBuilderAtEnd(b, carry);
    LLVMValueRef d = LLVMBuildPhi(b, w->f.i64, "d");
    LLVMValueRef ip = LLVMBuildInBoundsGEP2(b, w->f.i64, w->idx, &d, 1, "");
    LLVMValueRef i = LLVMBuildNSWAdd(b, LLVMBuildLoad2(b, w->f.i64, ip, ""), i64c(w, 1), "");
    bump(w, d, NULL, false);
    LLVMValueRef sh = shape_of(w, d);
    LLVMValueRef fits = LLVMBuildOr(b, LLVMBuildICmp(b, LLVMIntSLT, i, sh, ""),
                                    LLVMBuildICmp(b, LLVMIntSLE, d, i64c(w, 0), ""), "");
    LLVMBuildCondBr(b, fits, next, wrap);

    LLVMPositionBuilderAtEnd(b, next);
    LLVMBuildStore(b, i, ip);
    LLVMBuildBr(b, head);

    LLVMPositionBuilderAtEnd(b, wrap);
    LLVMBuildStore(b, i64c(w, 0), ip);
    bump(w, d, sh, true);
    LLVMValueRef dn = LLVMBuildSub(b, d, i64c(w, 1), "");
    LLVMBuildBr(b, carry);

    LLVMBasicBlockRef dfrom[2] = {latch, wrap}, rfrom[2] = {pre, next};
    LLVMValueRef din[2] = {d0, dn}, rin[2] = {w->a_begin, rn};
    LLVMAddIncoming(d, din, dfrom, 2);
    LLVMAddIncoming(r, rin, rfrom, 2);
}

/* Emits the variant for `mode`/`unit` in a new block and returns that block. */
static LLVMBasicBlockRef variant(lw *w, bool nd, int mode, bool unit)
{
    LLVMBasicBlockRef bb = block(w, unit ? "unit" : "generic");
    LLVMPositionBuilderAtEnd(w->f.b, bb);
    if (nd) {
        rows(w, mode, unit);
    } else {
        row(w, w->base, w->a_begin, w->a_end, mode, unit);
        LLVMBuildBr(w->f.b, w->ret);
    }
    return bb;
}

static LLVMValueRef all_unit(lw *w, int from, int to)
{
    LLVMValueRef c = LLVMConstInt(w->f.i1, 1, 0);
    for (int k = from; k < to; k++)
        if (strided(w, k))
            c = LLVMBuildAnd(w->f.b, c, LLVMBuildICmp(w->f.b, LLVMIntEQ, w->istr[k], i64c(w, 1), ""), "");
    return c;
}

/* From the current block, branches to the right variant (all emitted) for the strides. */
static void dispatch(lw *w, bool nd)
{
    LLVMBuilderRef b = w->f.b;
    const tjK_kernel *k = w->k;
    LLVMBasicBlockRef at = LLVMGetInsertBlock(b);
    LLVMValueRef in_unit = all_unit(w, 0, k->nin);
    LLVMValueRef out_unit = all_unit(w, k->nin, w->nops);
    if (k->reduce == TJ_OP_NONE_) {
        LLVMValueRef c = LLVMBuildAnd(b, in_unit, out_unit, "");
        LLVMBasicBlockRef u = variant(w, nd, M_STORE, true), g = variant(w, nd, M_STORE, false);
        LLVMPositionBuilderAtEnd(b, at);
        LLVMBuildCondBr(b, c, u, g);
        return;
    }
    LLVMValueRef acc = LLVMBuildICmp(b, LLVMIntEQ, w->istr[k->nin], i64c(w, 0), "");
    LLVMValueRef rmw_unit = LLVMBuildAnd(b, in_unit, out_unit, "");
    LLVMBasicBlockRef au = variant(w, nd, M_ACC, true), ag = variant(w, nd, M_ACC, false);
    LLVMBasicBlockRef ru = variant(w, nd, M_RMW, true), rg = variant(w, nd, M_RMW, false);
    LLVMBasicBlockRef a = block(w, "acc"), r = block(w, "rmw");
    LLVMPositionBuilderAtEnd(b, a);
    LLVMBuildCondBr(b, in_unit, au, ag);
    LLVMPositionBuilderAtEnd(b, r);
    LLVMBuildCondBr(b, rmw_unit, ru, rg);
    LLVMPositionBuilderAtEnd(b, at);
    LLVMBuildCondBr(b, acc, a, r);
}

/* ---- the function --------------------------------------------------------------------------- */

static void alias_metadata(lw *w, const char *fname)
{
    LLVMContextRef c = w->f.ctx;
    char buf[512];
    snprintf(buf, sizeof buf, "tj.%s", fname);
    LLVMMetadataRef dname = LLVMMDStringInContext2(c, buf, strlen(buf));
    LLVMMetadataRef domain = LLVMMDNodeInContext2(c, &dname, 1);
    LLVMMetadataRef scopes[MAX_OPERANDS], others[MAX_OPERANDS];
    for (int k = 0; k < w->nops; k++) {
        snprintf(buf, sizeof buf, "tj.%s.op%d", fname, k);
        LLVMMetadataRef ops[2] = {LLVMMDStringInContext2(c, buf, strlen(buf)), domain};
        scopes[k] = LLVMMDNodeInContext2(c, ops, 2);
    }
    for (int k = 0; k < w->nops; k++) {
        w->mscope[k] = LLVMMetadataAsValue(c, LLVMMDNodeInContext2(c, &scopes[k], 1));
        int n = 0;
        for (int j = 0; j < w->nops; j++)
            if (j != k)
                others[n++] = scopes[j];
        w->mnoalias[k] = n ? LLVMMetadataAsValue(c, LLVMMDNodeInContext2(c, others, (size_t)n)) : NULL;
    }
    w->kscope = LLVMGetMDKindIDInContext(c, "alias.scope", 11);
    w->knoalias = LLVMGetMDKindIDInContext(c, "noalias", 7);
}

static void param_attrs(lw *w)
{
    static const char *const names[] = {"noalias", "nocapture", "readonly"};
    for (unsigned p = 1; p <= 3; p++)
        for (size_t a = 0; a < sizeof names / sizeof *names; a++) {
            unsigned kind = LLVMGetEnumAttributeKindForName(names[a], strlen(names[a]));
            if (kind) /* "nocapture" is spelled differently after LLVM 20 */
                LLVMAddAttributeAtIndex(w->fn, p, LLVMCreateEnumAttribute(w->f.ctx, kind, 0));
        }
    unsigned nounwind = LLVMGetEnumAttributeKindForName("nounwind", 8);
    LLVMAddAttributeAtIndex(w->fn, LLVMAttributeFunctionIndex,
                            LLVMCreateEnumAttribute(w->f.ctx, nounwind, 0));
}

static void body(lw *w)
{
    const tjK_kernel *k = w->k;
    LLVMBuilderRef b = w->f.b;
    LLVMBasicBlockRef entry = block(w, "entry"), go = block(w, "go");
    LLVMBasicBlockRef one = block(w, "flat"), nd = block(w, "nd");
    w->ret = block(w, "ret");
    LLVMPositionBuilderAtEnd(b, entry);
    for (int i = 0; i < w->nops; i++) {
        if (strided(w, i))
            w->off[i] = LLVMBuildAlloca(b, w->f.i64, "off");
        if (i < k->nin && !w->used[i])
            continue;
        LLVMValueRef ki = i64c(w, i);
        LLVMValueRef p = LLVMBuildInBoundsGEP2(b, w->f.ptr, w->a_ptrs, &ki, 1, "");
        w->base[i] = LLVMBuildLoad2(b, w->f.ptr, p, "");
    }
    w->idx = LLVMBuildArrayAlloca(b, w->f.i64, w->a_ndim, "idx");
    LLVMValueRef last = LLVMBuildSub(b, w->a_ndim, i64c(w, 1), "");
    for (int i = 0; i < w->nops; i++)
        if (strided(w, i))
            w->istr[i] = stride_of(w, i, last);
    w->ninner = shape_of(w, last);
    LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntSLT, w->a_begin, w->a_end, ""), go, w->ret);

    LLVMPositionBuilderAtEnd(b, go);
    for (int i = 0; i < k->nin; i++)
        if (scalar_in(w, i) && w->used[i])
            w->ival[i] = load_op(w, i, w->base[i]);
    LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntSLE, w->a_ndim, i64c(w, 1), ""), one, nd);

    LLVMPositionBuilderAtEnd(b, one);
    dispatch(w, false);
    LLVMPositionBuilderAtEnd(b, nd);
    odometer_init(w);
    dispatch(w, true);
    LLVMPositionBuilderAtEnd(b, w->ret);
    LLVMBuildRetVoid(b);
}

tj_status tjL_lower(LLVMModuleRef mod, const tjK_kernel *k, const char *fname, char *err,
                    size_t errlen)
{
    lw w;
    memset(&w, 0, sizeof w);
    w.k = k;
    w.nops = k->nin + k->nout;
    w.f.ctx = LLVMGetModuleContext(mod);
    w.f.mod = mod;
    w.f.k = k;
    w.f.i1 = LLVMInt1TypeInContext(w.f.ctx);
    w.f.i8 = LLVMInt8TypeInContext(w.f.ctx);
    w.f.i32 = LLVMInt32TypeInContext(w.f.ctx);
    w.f.i64 = LLVMInt64TypeInContext(w.f.ctx);
    w.f.ptr = LLVMPointerTypeInContext(w.f.ctx, 0);
    w.base = calloc((size_t)w.nops, sizeof *w.base);
    w.ival = calloc((size_t)k->nin + 1, sizeof *w.ival);
    w.in = calloc((size_t)k->nin + 1, sizeof *w.in);
    w.used = calloc((size_t)k->nin + 1, sizeof *w.used);
    w.istr = calloc((size_t)w.nops, sizeof *w.istr);
    w.off = calloc((size_t)w.nops, sizeof *w.off);
    w.mscope = calloc((size_t)w.nops, sizeof *w.mscope);
    w.mnoalias = calloc((size_t)w.nops, sizeof *w.mnoalias);
    w.vals = calloc((size_t)k->ncode, sizeof *w.vals);
    tj_status st = TJ_OK;
    if (!w.base || !w.ival || !w.in || !w.used || !w.istr || !w.off || !w.mscope || !w.mnoalias ||
        !w.vals) {
        st = tjJ_fail(err, errlen, TJ_ERR_NOMEM, "out of memory lowering kernel %s", fname);
        goto done;
    }
    for (int i = 0; i < k->ncode; i++)
        if (k->code[i].op == TJK_LOAD)
            w.used[k->code[i].args[0]] = true;

    LLVMTypeRef params[6] = {w.f.ptr, w.f.ptr, w.f.ptr, w.f.i64, w.f.i64, w.f.i64};
    LLVMTypeRef fty = LLVMFunctionType(LLVMVoidTypeInContext(w.f.ctx), params, 6, 0);
    w.fn = LLVMAddFunction(mod, fname, fty);
    w.a_ptrs = LLVMGetParam(w.fn, 0);
    w.a_shape = LLVMGetParam(w.fn, 1);
    w.a_strides = LLVMGetParam(w.fn, 2);
    w.a_ndim = LLVMGetParam(w.fn, 3);
    w.a_begin = LLVMGetParam(w.fn, 4);
    w.a_end = LLVMGetParam(w.fn, 5);
    param_attrs(&w);
    alias_metadata(&w, fname);
    w.f.b = LLVMCreateBuilderInContext(w.f.ctx);
    body(&w);
    LLVMDisposeBuilder(w.f.b);
done:
    free(w.base);
    free(w.ival);
    free(w.in);
    free(w.used);
    free(w.istr);
    free(w.off);
    free(w.mscope);
    free(w.mnoalias);
    free(w.vals);
    return st;
}
