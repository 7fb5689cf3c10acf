/* A kernel description (lib/kernel.h) -> LLVM functions; the kernel has the tjK_fn signature
 *   void k(char *const *ptrs, const int64_t *shape, const int64_t *strides, int64_t ndim,
 *          int64_t begin, int64_t end)
 *
 * Shape of the generated code:
 *   kernel     loads base pointers and inner-axis strides, picks a variant from the strides once
 *              per call, then walks rows: the rows [begin, end) of an n-D space (offsets from the
 *              module's odometer helpers, rows.c), or, in 1-D, one row covering [begin, end)
 *   row functions (internal, never inlined; one per variant and mode), called once per row:
 *     unit      every non-scalar operand has inner stride 1: element j at rowp + j, a single
 *               loop the vectorizer widens (with ndim == 1 this is the whole flat path)
 *     buffered  otherwise: the row is cut into chunks; strided operands are gathered into stack
 *               buffers, the unit function runs on the buffers (so broadcast operands with inner
 *               stride 0 also get vector code), outputs are scattered back
 * Reductions (one output, stride 0 on reduced axes; sum prod max min all any, see combine()):
 * when the output's inner stride is 0 the row is reduced in a register over segments aligned to
 * absolute indices (BLOCK elements, vector partial results inside), the segment results
 * combined in order (float sums with Kahan compensation), then combined into the output once;
 * otherwise each element is read-modify-written (column sums walk rows). Segment boundaries
 * depend only on absolute indices, so a call over [begin, end) split at multiples of BLOCK
 * reduces the same segments; lib/runtime_reduce.c makes results independent of any split.
 *
 * Every operand access carries scoped-noalias metadata (one scope per operand): operands never
 * overlap except exact in-place reuse, and the metadata spares the vectorizer runtime alias
 * checks. Scalar operands are loaded once per row, before its loop. Index arithmetic is nsw
 * (sizes fit int64). */
#include "llvm.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK 4096         /* reduction segment: pairwise-like float error, fits in L1 */
#define BUFFER_BYTES 16384 /* stack for the gather buffers of the buffered variant */

/* what the inner loop does with each output value; M_RMW2: read-modify-write of two rows that
 * share their output row, out = (out op v_r) op v_r+1: the same additions in the same order as
 * two M_RMW rows, with the output row read and written once (a column sum's partial row) */
enum { M_STORE, M_RMW, M_ACC, M_RMW2, NMODES };

typedef struct {
    tjL_fn f;
    const tjK_kernel *k;
    int nops;
    long long chunk; /* elements per gather buffer (a power of two) */
    const char *fname;
    LLVMValueRef fn; /* the function being emitted: the kernel or one of its row functions */
    LLVMValueRef a_ptrs, a_shape, a_strides, a_ndim, a_begin, a_end; /* the kernel's params */
    LLVMValueRef rowarr; /* kernel: alloca ptr[nops], the row pointers handed to a row function */
    LLVMValueRef rowarr2; /* kernel: the next row's pointers, for M_RMW2 */
    LLVMValueRef unit_fn[NMODES]; /* the unit-stride row function of each mode, once made */
    LLVMValueRef bufrow;     /* buffered row function: alloca ptr[nops] pointing at the buffers */
    LLVMValueRef cell;  /* buffered sum: alloca of one output element, the unit function's output */
    LLVMValueRef *base; /* nops: operand element pointers (kernel) */
    LLVMValueRef *ival; /* nin: scalar input values (row function) */
    bool *used;         /* nin: read by some LOAD */
    LLVMValueRef *istr; /* nops: inner-axis stride (strided operands) */
    LLVMValueRef *buf;  /* nops: alloca [chunk x T] gather buffer (buffered row function) */
    LLVMValueRef idx;   /* alloca i64[ndim]: the odometer's multi-index */
    LLVMValueRef offs;  /* alloca i64[nops]: each operand's offset at the current row */
    LLVMValueRef rb, re, lo, hi; /* rows [rb, re), inner range [lo, hi) */
    unsigned kscope, knoalias;
    LLVMValueRef *mscope, *mnoalias; /* nops: metadata of each operand's accesses */
    LLVMValueRef *in, *vals;         /* scratch: nin input values, ncode instruction values */
    LLVMBasicBlockRef ret;
} lw;

static bool scalar_in(const lw *w, int k) { return k < w->k->nin && w->k->scalar[k]; }
/* operands addressed through strides: outputs and the non-scalar inputs actually read */
static bool strided(const lw *w, int k)
{
    return !scalar_in(w, k) && (k >= w->k->nin || w->used[k]);
}
static tj_dtype out_dtype(const lw *w) { return w->k->dtype[w->k->nin]; }

static LLVMValueRef i64c(const lw *w, long long v)
{
    return LLVMConstInt(w->f.i64, (unsigned long long)v, 1);
}

static LLVMBasicBlockRef block(lw *w, const char *name)
{
    return LLVMAppendBasicBlockInContext(w->f.ctx, w->fn, name);
}

static LLVMTypeRef mem_type(const lw *w, int k) { return tjL_mem_type(&w->f, w->k->dtype[k]); }

static void tag(const lw *w, int k, LLVMValueRef inst)
{
    LLVMSetMetadata(inst, w->kscope, w->mscope[k]);
    if (w->mnoalias[k])
        LLVMSetMetadata(inst, w->knoalias, w->mnoalias[k]);
}

/* Raw element of operand k's memory type (no bool conversion). */
static LLVMValueRef load_raw(lw *w, int k, LLVMValueRef p)
{
    LLVMValueRef v = LLVMBuildLoad2(w->f.b, mem_type(w, k), p, "");
    LLVMSetAlignment(v, (unsigned)tj_dtype_size(w->k->dtype[k]));
    tag(w, k, v);
    return v;
}

static void store_raw(lw *w, int k, LLVMValueRef p, LLVMValueRef v)
{
    LLVMValueRef s = LLVMBuildStore(w->f.b, v, p);
    LLVMSetAlignment(s, (unsigned)tj_dtype_size(w->k->dtype[k]));
    tag(w, k, s);
}

static LLVMValueRef load_op(lw *w, int k, LLVMValueRef p)
{
    LLVMValueRef v = load_raw(w, k, p);
    if (w->k->dtype[k] == TJ_BOOL) /* any non-zero byte is true */
        v = LLVMBuildICmp(w->f.b, LLVMIntNE, v, LLVMConstNull(w->f.i8), "");
    return v;
}

static void store_op(lw *w, int k, LLVMValueRef p, LLVMValueRef v)
{
    if (w->k->dtype[k] == TJ_BOOL)
        v = LLVMBuildZExt(w->f.b, v, w->f.i8, "");
    store_raw(w, k, p, v);
}

/* strides[k*ndim + ndim - 1]: operand k's stride on the inner axis */
static LLVMValueRef inner_stride(lw *w, LLVMValueRef strides, LLVMValueRef ndim, int k)
{
    LLVMBuilderRef b = w->f.b;
    LLVMValueRef i =
        LLVMBuildNSWAdd(b, LLVMBuildNSWMul(b, i64c(w, k + 1), ndim, ""), i64c(w, -1), "");
    LLVMValueRef p = LLVMBuildInBoundsGEP2(b, w->f.i64, strides, &i, 1, "");
    return LLVMBuildLoad2(b, w->f.i64, p, "");
}

static LLVMValueRef shape_of(lw *w, LLVMValueRef d)
{
    LLVMValueRef p = LLVMBuildInBoundsGEP2(w->f.b, w->f.i64, w->a_shape, &d, 1, "");
    return LLVMBuildLoad2(w->f.b, w->f.i64, p, "");
}

/* &p[j * stride] (stride NULL: 1) in operand k's element type */
static LLVMValueRef at(lw *w, int k, LLVMValueRef p, LLVMValueRef j, LLVMValueRef stride)
{
    LLVMValueRef i = stride ? LLVMBuildNSWMul(w->f.b, j, stride, "") : j;
    return LLVMBuildInBoundsGEP2(w->f.b, mem_type(w, k), p, &i, 1, "");
}

/* The kernel's reduction applied to an accumulator and a value of dtype d. Every one of them is
 * a reduction the loop vectorizer widens: float sum/prod carry reassoc (vector partial results),
 * max/min are llvm.maximum/minimum (NaN-propagating as numpy, vectorized without nnan) or the
 * integer smax/umax..., bool max/min/all/any are or/and. */
static LLVMValueRef combine(lw *w, tj_dtype d, LLVMValueRef acc, LLVMValueRef v)
{
    LLVMBuilderRef b = w->f.b;
    bool fl = tj_dtype_is_float(d);
    int op = w->k->reduce;
    if (op == TJ_OP_MAX || op == TJ_OP_MIN) {
        bool max = op == TJ_OP_MAX;
        if (d == TJ_BOOL)
            return max ? LLVMBuildOr(b, acc, v, "") : LLVMBuildAnd(b, acc, v, "");
        const char *name = fl ? (max ? "llvm.maximum" : "llvm.minimum")
                           : tj_dtype_is_signed(d) ? (max ? "llvm.smax" : "llvm.smin")
                                                   : (max ? "llvm.umax" : "llvm.umin");
        LLVMTypeRef t = LLVMTypeOf(acc);
        LLVMValueRef args[2] = {acc, v};
        return tjV_intrinsic(b, name, &t, 1, args, 2);
    }
    if (op == TJ_OP_ALL || (op == TJ_OP_PROD && d == TJ_BOOL))
        return LLVMBuildAnd(b, acc, v, "");
    if (op == TJ_OP_ANY || d == TJ_BOOL)
        return LLVMBuildOr(b, acc, v, "");
    if (op == TJ_OP_PROD)
        return fl ? tjL_fast_reduce(LLVMBuildFMul(b, acc, v, "")) : LLVMBuildMul(b, acc, v, "");
    return fl ? tjL_fast_reduce(LLVMBuildFAdd(b, acc, v, "")) : LLVMBuildAdd(b, acc, v, "");
}

/* The reduction's identity in d's register type: sum 0, prod 1, max the lowest value (-inf),
 * min the highest, all true, any false. The runtime fills outputs with the same values. */
static LLVMValueRef identity(lw *w, tj_dtype d)
{
    LLVMTypeRef t = tjL_reg_type(&w->f, d);
    int op = w->k->reduce;
    unsigned bits = (unsigned)tj_dtype_size(d) * 8;
    unsigned long long top = 1ull << (bits - 1); /* the sign bit: signed minimum */
    if (d == TJ_BOOL)
        return LLVMConstInt(t, op == TJ_OP_PROD || op == TJ_OP_MIN || op == TJ_OP_ALL, 0);
    if (op == TJ_OP_PROD)
        return tj_dtype_is_float(d) ? LLVMConstReal(t, 1.0) : LLVMConstInt(t, 1, 0);
    if (op == TJ_OP_MAX || op == TJ_OP_MIN) {
        bool max = op == TJ_OP_MAX;
        if (tj_dtype_is_float(d))
            return LLVMConstReal(t, max ? -INFINITY : INFINITY);
        if (tj_dtype_is_signed(d))
            return LLVMConstInt(t, max ? top : top - 1, 0);
        return max ? LLVMConstNull(t) : LLVMConstAllOnes(t);
    }
    return LLVMConstNull(t);
}

/* ---- loops ---------------------------------------------------------------------------------- */

/* Opens `for (j = lo; j < hi; j++)`: returns j; the builder is in the body. */
static LLVMValueRef loop_open(lw *w, LLVMValueRef lo, LLVMValueRef hi, LLVMBasicBlockRef *pre,
                              LLVMBasicBlockRef *exit, const char *name)
{
    LLVMBuilderRef b = w->f.b;
    LLVMBasicBlockRef body = block(w, name);
    *pre = LLVMGetInsertBlock(b);
    *exit = block(w, "exit");
    LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntSLT, lo, hi, ""), body, *exit);
    LLVMPositionBuilderAtEnd(b, body);
    return LLVMBuildPhi(b, w->f.i64, "j");
}

/* Closes the loop opened with j; returns the latch block. The builder is in the exit. */
static LLVMBasicBlockRef loop_close(lw *w, LLVMValueRef j, LLVMValueRef lo, LLVMValueRef hi,
                                    LLVMBasicBlockRef pre, LLVMBasicBlockRef exit)
{
    LLVMBuilderRef b = w->f.b;
    LLVMBasicBlockRef latch = LLVMGetInsertBlock(b);
    LLVMValueRef jn = LLVMBuildNSWAdd(b, j, i64c(w, 1), "");
    LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntSLT, jn, hi, ""), LLVMGetInstructionParent(j), exit);
    LLVMBasicBlockRef from[2] = {pre, latch};
    LLVMValueRef in[2] = {lo, jn};
    LLVMAddIncoming(j, in, from, 2);
    LLVMPositionBuilderAtEnd(b, exit);
    return latch;
}

/* The code at element j of the inputs at rowp: loads, then the instructions into w->vals. */
static void evaluate(lw *w, LLVMValueRef *rowp, LLVMValueRef j)
{
    const tjK_kernel *k = w->k;
    for (int i = 0; i < k->nin; i++) {
        w->in[i] = NULL;
        if (scalar_in(w, i))
            w->in[i] = w->ival[i];
        else if (w->used[i])
            w->in[i] = load_op(w, i, at(w, i, rowp[i], j, NULL));
    }
    tjL_emit_code(&w->f, w->in, w->vals);
}

/* Output o's value from w->vals, in its dtype. */
static LLVMValueRef output_value(lw *w, int o)
{
    const tjK_kernel *k = w->k;
    int src = k->out_instr[o];
    return tjL_convert(&w->f, w->vals[src], k->code[src].dtype, k->dtype[k->nin + o]);
}

/* for j in [lo, hi): evaluate the code at element j of every operand (at rowp[k] + j) and store /
 * read-modify-write / accumulate each output (M_RMW2: also the inputs at rowp2, combined after
 * rowp's). Returns the accumulated value in M_ACC (starting from acc0). */
static LLVMValueRef inner(lw *w, LLVMValueRef *rowp, LLVMValueRef *rowp2, LLVMValueRef lo,
                          LLVMValueRef hi, int mode, LLVMValueRef acc0)
{
    const tjK_kernel *k = w->k;
    LLVMBuilderRef b = w->f.b;
    LLVMBasicBlockRef pre, exit;
    LLVMValueRef j = loop_open(w, lo, hi, &pre, &exit, "loop"), acc = NULL, accn = NULL;
    if (mode == M_ACC)
        acc = LLVMBuildPhi(b, LLVMTypeOf(acc0), "acc");
    evaluate(w, rowp, j);
    for (int o = 0; o < k->nout; o++) {
        int op = k->nin + o;
        tj_dtype d = k->dtype[op];
        LLVMValueRef v = output_value(w, o);
        if (mode == M_ACC) {
            accn = combine(w, d, acc, v);
            continue;
        }
        LLVMValueRef p = at(w, op, rowp[op], j, NULL);
        if (mode == M_RMW || mode == M_RMW2)
            v = combine(w, d, load_op(w, op, p), v);
        if (mode == M_RMW2) { /* a reduction kernel: its one output */
            evaluate(w, rowp2, j);
            v = combine(w, d, v, output_value(w, o));
        }
        store_op(w, op, p, v);
    }
    LLVMBasicBlockRef latch = loop_close(w, j, lo, hi, pre, exit);
    if (mode != M_ACC)
        return NULL;
    LLVMBasicBlockRef from[2] = {pre, latch};
    LLVMValueRef ain[2] = {acc0, accn};
    LLVMAddIncoming(acc, ain, from, 2);
    LLVMValueRef res = LLVMBuildPhi(b, LLVMTypeOf(acc0), "sum");
    LLVMAddIncoming(res, ain, from, 2);
    return res;
}

/* dst[i * ds] = src[i * ss] for i in [0, n >= 1), raw elements of operand k; one side is a
 * gather buffer (stride NULL: 1). A unit stride on the other side is a memcpy; any other stride
 * (0 for broadcasts) a plain scalar loop, which costs about a cycle per element. */
static void copy(lw *w, int k, LLVMValueRef dst, LLVMValueRef ds, LLVMValueRef src, LLVMValueRef ss,
                 LLVMValueRef n)
{
    LLVMBuilderRef b = w->f.b;
    LLVMBasicBlockRef fast = block(w, "copy.contig"), slow = block(w, "copy.strided");
    LLVMBasicBlockRef done = block(w, "copy.done");
    LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntEQ, ds ? ds : ss, i64c(w, 1), ""), fast, slow);
    LLVMPositionBuilderAtEnd(b, fast);
    size_t size = tj_dtype_size(w->k->dtype[k]);
    LLVMBuildMemCpy(b, dst, (unsigned)size, src, (unsigned)size,
                    LLVMBuildNSWMul(b, n, i64c(w, (long long)size), ""));
    LLVMBuildBr(b, done);
    LLVMPositionBuilderAtEnd(b, slow);
    LLVMBasicBlockRef pre, exit;
    LLVMValueRef zero = i64c(w, 0);
    LLVMValueRef i = loop_open(w, zero, n, &pre, &exit, "copy");
    store_raw(w, k, at(w, k, dst, i, ds), load_raw(w, k, at(w, k, src, i, ss)));
    tjL_loop_hints(LLVMGetBasicBlockTerminator(loop_close(w, i, zero, n, pre, exit)), false);
    LLVMBuildBr(b, done);
    LLVMPositionBuilderAtEnd(b, done);
}

/* The segment [c, ce) of a row in the buffered variant: gather the strided operands into the
 * buffers, run the unit-stride row function of the same mode on them (so the compute loop exists
 * once per mode in the module), scatter the outputs back. A sum goes to `cell` and is returned. */
static LLVMValueRef buffered(lw *w, LLVMValueRef *rowp, LLVMValueRef c, LLVMValueRef ce, int mode)
{
    LLVMBuilderRef b = w->f.b;
    const tjK_kernel *k = w->k;
    LLVMValueRef len = LLVMBuildNSWSub(b, ce, c, "");
    for (int op = 0; op < w->nops; op++)
        if (strided(w, op) && (op < k->nin || mode == M_RMW))
            copy(w, op, w->buf[op], NULL, at(w, op, rowp[op], c, w->istr[op]), w->istr[op], len);
    if (mode == M_ACC)
        store_op(w, k->nin, w->cell, identity(w, out_dtype(w)));
    LLVMValueRef fn = w->unit_fn[mode];
    LLVMValueRef args[5] = {w->bufrow, LLVMGetParam(w->fn, 1), LLVMGetParam(w->fn, 2), i64c(w, 0),
                            len};
    LLVMBuildCall2(b, LLVMGlobalGetValueType(fn), fn, args, 5, "");
    if (mode == M_ACC)
        return load_op(w, k->nin, w->cell);
    for (int op = k->nin; op < w->nops; op++)
        copy(w, op, at(w, op, rowp[op], c, w->istr[op]), w->istr[op], w->buf[op], NULL, len);
    return NULL;
}

/* A row cut into segments aligned to multiples of `seg` (so splitting [begin, end) at such a
 * boundary changes nothing): used by the buffered variant (seg = buffer size) and by register
 * reductions (seg = BLOCK). Segment results are combined in order (float sums with Kahan
 * compensation, with no fast-math flags: they would cancel it), then into the output once. */
static void segmented(lw *w, LLVMValueRef *rowp, int mode, bool unit)
{
    LLVMBuilderRef b = w->f.b;
    bool acc = mode == M_ACC;
    bool kahan = acc && tj_dtype_is_float(out_dtype(w)) && w->k->reduce == TJ_OP_SUM;
    long long seg = unit ? BLOCK : w->chunk;
    LLVMTypeRef t = tjL_reg_type(&w->f, out_dtype(w));
    LLVMValueRef zero = LLVMConstNull(t), id = identity(w, out_dtype(w));
    LLVMValueRef tot = NULL, comp = NULL, tn = NULL, cn = zero;
    LLVMBasicBlockRef pre, exit;
    LLVMValueRef c = loop_open(w, w->lo, w->hi, &pre, &exit, "seg");
    if (acc) {
        tot = LLVMBuildPhi(b, t, "tot");
        comp = LLVMBuildPhi(b, t, "comp");
    }
    LLVMValueRef aligned = LLVMBuildAnd(b, c, i64c(w, -seg), "");
    LLVMValueRef end = LLVMBuildNSWAdd(b, aligned, i64c(w, seg), "");
    LLVMValueRef ce =
        LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSLT, end, w->hi, ""), end, w->hi, "");
    LLVMValueRef s =
        unit ? inner(w, rowp, NULL, c, ce, M_ACC, id) : buffered(w, rowp, c, ce, mode);
    if (kahan) {
        LLVMValueRef y = LLVMBuildFSub(b, s, comp, "");
        tn = LLVMBuildFAdd(b, tot, y, "");
        cn = LLVMBuildFSub(b, LLVMBuildFSub(b, tn, tot, ""), y, "");
        /* once the total is infinite the compensation would be inf - inf: drop it */
        LLVMTypeRef ty = t;
        LLVMValueRef mag = tjV_intrinsic(b, "llvm.fabs", &ty, 1, &tn, 1);
        LLVMValueRef finite = LLVMBuildFCmp(b, LLVMRealOLT, mag, LLVMConstReal(t, INFINITY), "");
        cn = LLVMBuildSelect(b, finite, cn, zero, "");
    } else if (acc) {
        tn = combine(w, out_dtype(w), tot, s);
    }
    /* step: c = ce (loop_close would add 1) */
    LLVMBasicBlockRef latch = LLVMGetInsertBlock(b);
    tjL_loop_hints(LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntSLT, ce, w->hi, ""),
                                   LLVMGetInstructionParent(c), exit),
                   false);
    LLVMBasicBlockRef from[2] = {pre, latch};
    LLVMValueRef cin[2] = {w->lo, ce};
    LLVMAddIncoming(c, cin, from, 2);
    LLVMPositionBuilderAtEnd(b, exit);
    if (!acc)
        return;
    LLVMValueRef tin[2] = {id, tn}, kin[2] = {zero, cn};
    LLVMAddIncoming(tot, tin, from, 2);
    LLVMAddIncoming(comp, kin, from, 2);
    LLVMValueRef total = LLVMBuildPhi(b, t, "total");
    LLVMAddIncoming(total, tin, from, 2);
    if (kahan) {
        LLVMValueRef rc = LLVMBuildPhi(b, t, "");
        LLVMAddIncoming(rc, kin, from, 2);
        total = LLVMBuildFSub(b, total, rc, "");
    }
    int op = w->k->nin;
    store_op(w, op, rowp[op], combine(w, out_dtype(w), load_op(w, op, rowp[op]), total));
}

static void row(lw *w, LLVMValueRef *rowp, LLVMValueRef *rowp2, int mode, bool unit)
{
    if (unit && mode != M_ACC)
        inner(w, rowp, rowp2, w->lo, w->hi, mode, NULL);
    else
        segmented(w, rowp, mode, unit);
}

static void attrs(LLVMValueRef fn, LLVMContextRef c, unsigned nptr, bool internal);

/* The row function of one variant, void row(ptr rowp[nops], ptr strides, i64 ndim, i64 lo,
 * i64 hi): operand k's element j is at rowp[k] + j (+ j * inner stride when buffered). Kept out
 * of line and never inlined, so no function holds a loop nest: LLVM's time on a kernel grows
 * steeply with nesting (measured ~40 ms for row loop + inner loop in one function against ~10 ms
 * for the same loops apart), while a call per row costs a few nanoseconds. */
static LLVMValueRef row_function(lw *w, int mode, bool unit)
{
    static const char *const modes[] = {"store", "rmw", "sum", "rmw2"};
    bool pair = mode == M_RMW2; /* (rowp, rowp2, strides, ndim, lo, hi); unit only */
    if (unit && w->unit_fn[mode])
        return w->unit_fn[mode];
    if (!unit) /* the buffered function calls the unit one */
        row_function(w, mode, true);
    LLVMBuilderRef b = w->f.b;
    /* the row function has its own lo, hi and strides: keep the kernel's */
    LLVMBasicBlockRef back = LLVMGetInsertBlock(b);
    LLVMValueRef kernel = w->fn, lo = w->lo, hi = w->hi, istr[TJL_MAX_OPERANDS];
    memcpy(istr, w->istr, (size_t)w->nops * sizeof *istr);
    char name[600];
    snprintf(name, sizeof name, "%s.row.%s.%s", w->fname, modes[mode], unit ? "unit" : "buffered");
    LLVMTypeRef params[6] = {w->f.ptr, w->f.ptr, w->f.ptr, w->f.i64, w->f.i64, w->f.i64};
    unsigned np = pair ? 6 : 5;
    LLVMValueRef fn = LLVMAddFunction(
        w->f.mod, name,
        LLVMFunctionType(LLVMVoidTypeInContext(w->f.ctx), params + (pair ? 0 : 1), np, 0));
    attrs(fn, w->f.ctx, pair ? 3 : 2, true);
    w->fn = fn;
    LLVMPositionBuilderAtEnd(b, block(w, "entry"));
    LLVMValueRef rowp[TJL_MAX_OPERANDS], rowp2[TJL_MAX_OPERANDS];
    if (!unit) {
        w->bufrow = LLVMBuildAlloca(b, LLVMArrayType2(w->f.ptr, (uint64_t)w->nops), "bufrow");
        w->cell = LLVMBuildAlloca(b, mem_type(w, w->k->nin), "cell");
    }
    for (int k = 0; k < w->nops; k++) {
        rowp[k] = NULL;
        if (!strided(w, k) && !(scalar_in(w, k) && w->used[k]))
            continue;
        LLVMValueRef ki = i64c(w, k);
        rowp[k] = LLVMBuildLoad2(
            b, w->f.ptr, LLVMBuildInBoundsGEP2(b, w->f.ptr, LLVMGetParam(fn, 0), &ki, 1, ""), "");
        if (pair && k < w->k->nin && !scalar_in(w, k)) /* the second row's inputs */
            rowp2[k] = LLVMBuildLoad2(
                b, w->f.ptr, LLVMBuildInBoundsGEP2(b, w->f.ptr, LLVMGetParam(fn, 1), &ki, 1, ""),
                "");
        if (unit && scalar_in(w, k))
            w->ival[k] = load_op(w, k, rowp[k]);
        if (unit)
            continue;
        /* buffered: the unit function sees scalars as they are, the rest through buffers */
        LLVMValueRef slot = LLVMBuildInBoundsGEP2(b, w->f.ptr, w->bufrow, &ki, 1, "");
        if (scalar_in(w, k)) {
            LLVMBuildStore(b, rowp[k], slot);
            continue;
        }
        w->istr[k] = inner_stride(w, LLVMGetParam(fn, 1), LLVMGetParam(fn, 2), k);
        w->buf[k] = LLVMBuildAlloca(b, LLVMArrayType2(mem_type(w, k), (uint64_t)w->chunk), "buf");
        LLVMSetAlignment(w->buf[k], 64);
        bool sum_out = k >= w->k->nin && mode == M_ACC;
        LLVMBuildStore(b, sum_out ? w->cell : w->buf[k], slot);
    }
    w->lo = LLVMGetParam(fn, np - 2);
    w->hi = LLVMGetParam(fn, np - 1);
    row(w, rowp, pair ? rowp2 : NULL, mode, unit);
    LLVMBuildRetVoid(b);
    if (unit)
        w->unit_fn[mode] = fn;
    w->fn = kernel;
    w->lo = lo;
    w->hi = hi;
    memcpy(w->istr, istr, (size_t)w->nops * sizeof *istr);
    LLVMPositionBuilderAtEnd(b, back);
    return fn;
}

/* Calls the module's odometer helper: init (for row rb) or step. */
static void odometer(lw *w, bool init)
{
    LLVMValueRef fn = tjL_rows_helper(w->f.mod, init);
    LLVMValueRef args[7] = {w->idx,    w->offs,          w->a_shape, w->a_strides,
                            w->a_ndim, i64c(w, w->nops), w->rb};
    LLVMBuildCall2(w->f.b, LLVMGlobalGetValueType(fn), fn, args, init ? 7 : 6, "");
}

/* Fills arr (ptr[nops]) with each strided operand's pointer at the odometer's offsets. */
static void row_pointers(lw *w, LLVMValueRef arr)
{
    LLVMBuilderRef b = w->f.b;
    for (int k = 0; k < w->nops; k++) {
        if (!strided(w, k))
            continue;
        LLVMValueRef ki = i64c(w, k);
        LLVMValueRef o = LLVMBuildLoad2(
            b, w->f.i64, LLVMBuildInBoundsGEP2(b, w->f.i64, w->offs, &ki, 1, ""), "");
        LLVMBuildStore(b, at(w, k, w->base[k], o, NULL),
                       LLVMBuildInBoundsGEP2(b, w->f.ptr, arr, &ki, 1, ""));
    }
}

/* The output operand's element offset at the odometer's row. */
static LLVMValueRef out_offset(lw *w)
{
    LLVMValueRef ki = i64c(w, w->k->nin);
    return LLVMBuildLoad2(w->f.b, w->f.i64,
                          LLVMBuildInBoundsGEP2(w->f.b, w->f.i64, w->offs, &ki, 1, ""), "");
}

/* A call of a row function over the row(s) at w->rowarr (and w->rowarr2 for a pair). */
static void call_row(lw *w, LLVMValueRef fn, bool pair)
{
    LLVMValueRef two[6] = {w->rowarr, w->rowarr2, w->a_strides, w->a_ndim, w->lo, w->hi};
    LLVMValueRef one[5] = {w->rowarr, w->a_strides, w->a_ndim, w->lo, w->hi};
    LLVMBuildCall2(w->f.b, LLVMGlobalGetValueType(fn), fn, pair ? two : one, pair ? 6 : 5, "");
}

/* The unit read-modify-write variant of a reduction: two consecutive rows whose output rows are
 * the same (a column sum: the output's stride on the outer axis is 0) go to the M_RMW2 row
 * function together, which reads and writes that output row once for both; other rows go one
 * by one. Per output element the additions stay in row order: the bits do not change. */
static LLVMBasicBlockRef variant_pairs(lw *w)
{
    LLVMBuilderRef b = w->f.b;
    LLVMBasicBlockRef bb = block(w, "rmw.pairs");
    LLVMValueRef one = row_function(w, M_RMW, true), two = row_function(w, M_RMW2, true);
    LLVMPositionBuilderAtEnd(b, bb);
    LLVMBasicBlockRef head = block(w, "row"), try_pair = block(w, "row.try"),
                      last = block(w, "row.last"), single = block(w, "row.single"),
                      both = block(w, "row.pair"), after = block(w, "row.after");
    LLVMBuildBr(b, head);
    LLVMPositionBuilderAtEnd(b, head); /* the odometer is at row r */
    LLVMValueRef r = LLVMBuildPhi(b, w->f.i64, "r");
    row_pointers(w, w->rowarr);
    LLVMValueRef r1 = LLVMBuildNSWAdd(b, r, i64c(w, 1), "");
    LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntSLT, r1, w->re, ""), try_pair, last);
    LLVMPositionBuilderAtEnd(b, last);
    call_row(w, one, false);
    LLVMBuildBr(b, w->ret);
    LLVMPositionBuilderAtEnd(b, try_pair);
    LLVMValueRef o0 = out_offset(w);
    odometer(w, false); /* now at row r + 1 */
    row_pointers(w, w->rowarr2);
    LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntEQ, out_offset(w), o0, ""), both, single);
    LLVMPositionBuilderAtEnd(b, single); /* row r alone; the odometer is already at r + 1 */
    call_row(w, one, false);
    LLVMBuildBr(b, head);
    LLVMPositionBuilderAtEnd(b, both);
    call_row(w, two, true);
    LLVMValueRef r2 = LLVMBuildNSWAdd(b, r, i64c(w, 2), "");
    LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntSLT, r2, w->re, ""), after, w->ret);
    LLVMPositionBuilderAtEnd(b, after);
    odometer(w, false); /* row r + 2 */
    tjL_loop_hints(LLVMBuildBr(b, head), false);
    LLVMBasicBlockRef from[3] = {bb, single, after};
    LLVMValueRef rin[3] = {w->rb, r1, r2};
    LLVMAddIncoming(r, rin, from, 3);
    return bb;
}

/* Kernel: rows [rb, re) of one variant, each a call of its row function with the operand
 * pointers at the odometer's offsets; the step helper advances between rows. */
static LLVMBasicBlockRef variant(lw *w, int mode, bool unit)
{
    LLVMBuilderRef b = w->f.b;
    LLVMBasicBlockRef bb = block(w, unit ? "unit" : "buffered");
    LLVMValueRef fn = row_function(w, mode, unit);
    LLVMPositionBuilderAtEnd(b, bb);
    LLVMBasicBlockRef head = block(w, "row"), next = block(w, "row.next");
    LLVMBuildBr(b, head);
    LLVMPositionBuilderAtEnd(b, head);
    LLVMValueRef r = LLVMBuildPhi(b, w->f.i64, "r");
    row_pointers(w, w->rowarr);
    call_row(w, fn, false);
    LLVMValueRef rn = LLVMBuildNSWAdd(b, r, i64c(w, 1), "");
    LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntSLT, rn, w->re, ""), next, w->ret);
    LLVMPositionBuilderAtEnd(b, next);
    odometer(w, false);
    tjL_loop_hints(LLVMBuildBr(b, head), false);
    LLVMBasicBlockRef from[2] = {bb, next};
    LLVMValueRef rin[2] = {w->rb, rn};
    LLVMAddIncoming(r, rin, from, 2);
    return bb;
}

static LLVMValueRef all_unit(lw *w, int from, int to)
{
    LLVMValueRef c = LLVMConstInt(w->f.i1, 1, 0);
    for (int k = from; k < to; k++)
        if (strided(w, k))
            c = LLVMBuildAnd(w->f.b, c,
                             LLVMBuildICmp(w->f.b, LLVMIntEQ, w->istr[k], i64c(w, 1), ""), "");
    return c;
}

/* From the current block, branches to the variant the inner strides call for. */
static void dispatch(lw *w)
{
    LLVMBuilderRef b = w->f.b;
    const tjK_kernel *k = w->k;
    LLVMBasicBlockRef at_ = LLVMGetInsertBlock(b);
    LLVMValueRef in_unit = all_unit(w, 0, k->nin);
    LLVMValueRef unit = LLVMBuildAnd(b, in_unit, all_unit(w, k->nin, w->nops), "");
    if (k->reduce == TJ_OP_NONE_) {
        LLVMBasicBlockRef u = variant(w, M_STORE, true), g = variant(w, M_STORE, false);
        LLVMPositionBuilderAtEnd(b, at_);
        LLVMBuildCondBr(b, unit, u, g);
        return;
    }
    LLVMValueRef acc = LLVMBuildICmp(b, LLVMIntEQ, w->istr[k->nin], i64c(w, 0), "");
    LLVMBasicBlockRef au = variant(w, M_ACC, true), ag = variant(w, M_ACC, false);
    LLVMBasicBlockRef ru = variant_pairs(w), rg = variant(w, M_RMW, false);
    LLVMBasicBlockRef a = block(w, "acc"), r = block(w, "rmw");
    LLVMPositionBuilderAtEnd(b, a);
    LLVMBuildCondBr(b, in_unit, au, ag);
    LLVMPositionBuilderAtEnd(b, r);
    LLVMBuildCondBr(b, unit, ru, rg);
    LLVMPositionBuilderAtEnd(b, at_);
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
    LLVMMetadataRef scopes[TJL_MAX_OPERANDS], others[TJL_MAX_OPERANDS];
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
        w->mnoalias[k] =
            n ? LLVMMetadataAsValue(c, LLVMMDNodeInContext2(c, others, (size_t)n)) : NULL;
    }
    w->kscope = LLVMGetMDKindIDInContext(c, "alias.scope", 11);
    w->knoalias = LLVMGetMDKindIDInContext(c, "noalias", 7);
}

/* Whether the host has AVX-512: LLVM then still prefers 256-bit vectors unless told otherwise,
 * while W1's C limit (gcc -march=native) runs 16 floats per instruction. */
static bool wide;
static void read_wide(void)
{
    char *f = LLVMGetHostCPUFeatures();
    wide = f && strstr(f, "+avx512f") != NULL;
    LLVMDisposeMessage(f);
}
static bool wide_vectors(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, read_wide);
    return wide;
}

/* Pointer params 1..nptr are read-only and never escape; internal functions are never inlined. */
static void attrs(LLVMValueRef fn, LLVMContextRef c, unsigned nptr, bool internal)
{
    static const char *const names[] = {"noalias", "nocapture", "readonly"};
    for (unsigned p = 1; p <= nptr; p++)
        for (size_t a = 0; a < sizeof names / sizeof *names; a++) {
            unsigned kind = LLVMGetEnumAttributeKindForName(names[a], strlen(names[a]));
            if (kind) /* "nocapture" is spelled differently after LLVM 20 */
                LLVMAddAttributeAtIndex(fn, p, LLVMCreateEnumAttribute(c, kind, 0));
        }
    static const char *const fattrs[] = {"nounwind", "noinline"};
    for (size_t a = 0; a < (internal ? 2u : 1u); a++) {
        unsigned kind = LLVMGetEnumAttributeKindForName(fattrs[a], strlen(fattrs[a]));
        LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex,
                                LLVMCreateEnumAttribute(c, kind, 0));
    }
    if (wide_vectors()) {
        static const char k[] = "prefer-vector-width", v[] = "512";
        LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex,
                                LLVMCreateStringAttribute(c, k, sizeof k - 1, v, sizeof v - 1));
    }
    if (internal)
        LLVMSetLinkage(fn, LLVMInternalLinkage);
}

/* Gather buffers share BUFFER_BYTES: the largest power of two of elements that fits, 16..1024. */
static long long chunk_elems(const lw *w)
{
    size_t bytes = 0;
    for (int k = 0; k < w->nops; k++)
        if (strided(w, k))
            bytes += tj_dtype_size(w->k->dtype[k]);
    long long n = 1024;
    while (n > 16 && (size_t)n * bytes > BUFFER_BYTES)
        n /= 2;
    return n;
}

/* The base pointer of every operand the kernel reads or writes (w->base); the row pointer
 * array gets the scalars' (the same for every row) and, with all, every operand's. */
static void load_bases(lw *w, bool all)
{
    LLVMBuilderRef b = w->f.b;
    for (int i = 0; i < w->nops; i++) {
        if (!strided(w, i) && !(scalar_in(w, i) && w->used[i]))
            continue;
        LLVMValueRef ki = i64c(w, i);
        LLVMValueRef p = LLVMBuildInBoundsGEP2(b, w->f.ptr, w->a_ptrs, &ki, 1, "");
        w->base[i] = LLVMBuildLoad2(b, w->f.ptr, p, "");
        if (all || !strided(w, i))
            LLVMBuildStore(b, w->base[i],
                           LLVMBuildInBoundsGEP2(b, w->f.ptr, w->rowarr, &ki, 1, ""));
    }
}

/* The kernel's entry block (builder left there), its return block and row pointer array;
 * returns the block that runs when [begin, end) is not empty. */
static LLVMBasicBlockRef prologue(lw *w)
{
    LLVMBuilderRef b = w->f.b;
    LLVMBasicBlockRef entry = block(w, "entry"), go = block(w, "go");
    w->ret = block(w, "ret");
    LLVMPositionBuilderAtEnd(b, entry);
    w->rowarr = LLVMBuildAlloca(b, LLVMArrayType2(w->f.ptr, (uint64_t)w->nops), "rowp");
    w->rowarr2 = LLVMBuildAlloca(b, LLVMArrayType2(w->f.ptr, (uint64_t)w->nops), "rowp2");
    return go;
}

static void body(lw *w)
{
    LLVMBuilderRef b = w->f.b;
    LLVMBasicBlockRef go = prologue(w);
    w->idx = LLVMBuildArrayAlloca(b, w->f.i64, w->a_ndim, "idx");
    w->offs = LLVMBuildAlloca(b, LLVMArrayType2(w->f.i64, (uint64_t)w->nops), "offs");
    load_bases(w, false);
    for (int i = 0; i < w->nops; i++)
        if (strided(w, i))
            w->istr[i] = inner_stride(w, w->a_strides, w->a_ndim, i);
    LLVMValueRef ninner = shape_of(w, LLVMBuildSub(b, w->a_ndim, i64c(w, 1), ""));
    LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntSLT, w->a_begin, w->a_end, ""), go, w->ret);

    LLVMPositionBuilderAtEnd(b, go);
    /* 1-D: a single row whose inner range is [begin, end); n-D: rows [begin, end) in full */
    LLVMValueRef flat = LLVMBuildICmp(b, LLVMIntSLE, w->a_ndim, i64c(w, 1), "");
    w->rb = LLVMBuildSelect(b, flat, i64c(w, 0), w->a_begin, "");
    w->re = LLVMBuildSelect(b, flat, i64c(w, 1), w->a_end, "");
    w->lo = LLVMBuildSelect(b, flat, w->a_begin, i64c(w, 0), "");
    w->hi = LLVMBuildSelect(b, flat, w->a_end, ninner, "");
    odometer(w, true);
    dispatch(w);
    LLVMPositionBuilderAtEnd(b, w->ret);
    LLVMBuildRetVoid(b);
}

/* A flat kernel (tjK_kernel.flat): the rows [begin, end) of its one row, through the unit row
 * function; no odometer, no strided variants. A reduction's output has stride 0 here. */
static void flat_body(lw *w)
{
    LLVMBuilderRef b = w->f.b;
    LLVMBasicBlockRef go = prologue(w);
    load_bases(w, true);
    LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntSLT, w->a_begin, w->a_end, ""), go, w->ret);
    LLVMPositionBuilderAtEnd(b, go);
    LLVMValueRef fn = row_function(w, w->k->reduce == TJ_OP_NONE_ ? M_STORE : M_ACC, true);
    LLVMPositionBuilderAtEnd(b, go);
    LLVMValueRef args[5] = {w->rowarr, w->a_strides, w->a_ndim, w->a_begin, w->a_end};
    LLVMBuildCall2(b, LLVMGlobalGetValueType(fn), fn, args, 5, "");
    LLVMBuildBr(b, w->ret);
    LLVMPositionBuilderAtEnd(b, w->ret);
    LLVMBuildRetVoid(b);
}

tj_status tjL_lower(LLVMModuleRef mod, const tjK_kernel *k, const char *fname,
                    const tj_allocator *mem, char *err, size_t errlen)
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
    size_t nops = (size_t)w.nops, nin = (size_t)k->nin + 1;
    w.base = tjC_mem_calloc(mem, nops, sizeof *w.base);
    w.istr = tjC_mem_calloc(mem, nops, sizeof *w.istr);
    w.buf = tjC_mem_calloc(mem, nops, sizeof *w.buf);
    w.mscope = tjC_mem_calloc(mem, nops, sizeof *w.mscope);
    w.mnoalias = tjC_mem_calloc(mem, nops, sizeof *w.mnoalias);
    w.ival = tjC_mem_calloc(mem, nin, sizeof *w.ival);
    w.in = tjC_mem_calloc(mem, nin, sizeof *w.in);
    w.used = tjC_mem_calloc(mem, nin, sizeof *w.used);
    w.vals = tjC_mem_calloc(mem, (size_t)k->ncode, sizeof *w.vals);
    tj_status st = TJ_OK;
    if (!w.base || !w.istr || !w.buf || !w.mscope || !w.mnoalias || !w.ival || !w.in || !w.used ||
        !w.vals) {
        st = tjJ_fail(err, errlen, TJ_ERR_NOMEM, "out of memory lowering kernel %s", fname);
        goto done;
    }
    for (int i = 0; i < k->ncode; i++)
        if (k->code[i].op == TJK_LOAD)
            w.used[k->code[i].args[0]] = true;
    w.chunk = chunk_elems(&w);

    LLVMTypeRef params[6] = {w.f.ptr, w.f.ptr, w.f.ptr, w.f.i64, w.f.i64, w.f.i64};
    LLVMTypeRef fty = LLVMFunctionType(LLVMVoidTypeInContext(w.f.ctx), params, 6, 0);
    w.fn = LLVMAddFunction(mod, fname, fty);
    w.a_ptrs = LLVMGetParam(w.fn, 0);
    w.a_shape = LLVMGetParam(w.fn, 1);
    w.a_strides = LLVMGetParam(w.fn, 2);
    w.a_ndim = LLVMGetParam(w.fn, 3);
    w.a_begin = LLVMGetParam(w.fn, 4);
    w.a_end = LLVMGetParam(w.fn, 5);
    attrs(w.fn, w.f.ctx, 3, false);
    w.fname = fname;
    alias_metadata(&w, fname);
    w.f.b = LLVMCreateBuilderInContext(w.f.ctx);
    if (k->flat)
        flat_body(&w);
    else
        body(&w);
    LLVMDisposeBuilder(w.f.b);
done:
    tjC_mem_free(mem, w.base);
    tjC_mem_free(mem, w.istr);
    tjC_mem_free(mem, w.buf);
    tjC_mem_free(mem, w.mscope);
    tjC_mem_free(mem, w.mnoalias);
    tjC_mem_free(mem, w.ival);
    tjC_mem_free(mem, w.in);
    tjC_mem_free(mem, w.used);
    tjC_mem_free(mem, w.vals);
    return st;
}
