/* The n-D row odometer shared by every kernel of a module: two small internal functions,
 *   init(idx, off, shape, strides, ndim, nops, row)  idx/off of row `row` (div/mod, once a call)
 *   step(idx, off, shape, strides, ndim, nops)       advance to the next row (carry as needed)
 * where idx[ndim-1] is the multi-index over the outer axes and off[nops] each operand's element
 * offset. They are generic over the operand count, emitted once per module, and never inlined:
 * inlined into every loop variant they tripled LLVM's time on a kernel (measured: ~30 ms of a
 * ~65 ms compile) for a saving of a call per row, which a row of any useful length hides.
 * Arithmetic wraps (no nsw): scalar operands' strides are garbage by contract and are carried
 * along unused. Every loop here is marked not to be vectorized or unrolled: left alone, LLVM
 * vectorizes the loops over operands (gathers + alias checks), costing more time than the whole
 * kernel's inner loops and running slower for a handful of operands. */
#include "llvm.h"

#include <llvm-c/DebugInfo.h>

#include <string.h>

void tjL_loop_hints(LLVMValueRef br, bool vectorize)
{
    LLVMContextRef c = LLVMGetTypeContext(LLVMTypeOf(br));
    static const char unroll[] = "llvm.loop.unroll.disable", vec[] = "llvm.loop.vectorize.enable";
    LLVMMetadataRef props[3], s = LLVMMDStringInContext2(c, unroll, sizeof unroll - 1);
    size_t n = 1;
    props[n++] = LLVMMDNodeInContext2(c, &s, 1);
    if (!vectorize) {
        LLVMMetadataRef kv[2] = {LLVMMDStringInContext2(c, vec, sizeof vec - 1),
                                 LLVMValueAsMetadata(LLVMConstInt(LLVMInt1TypeInContext(c), 0, 0))};
        props[n++] = LLVMMDNodeInContext2(c, kv, 2);
    }
    /* a loop ID refers to itself: built through a temporary node */
    props[0] = LLVMTemporaryMDNode(c, NULL, 0);
    LLVMMetadataRef id = LLVMMDNodeInContext2(c, props, n);
    LLVMMetadataReplaceAllUsesWith(props[0], id); /* also frees the temporary */
    LLVMSetMetadata(br, LLVMGetMDKindIDInContext(c, "llvm.loop", 9), LLVMMetadataAsValue(c, id));
}

typedef struct {
    LLVMContextRef c;
    LLVMBuilderRef b;
    LLVMValueRef fn;
    LLVMTypeRef i64, ptr;
} hb; /* helper builder */

static LLVMValueRef K(const hb *h, long long v)
{
    return LLVMConstInt(h->i64, (unsigned long long)v, 1);
}

static LLVMBasicBlockRef blk(const hb *h, const char *name)
{
    return LLVMAppendBasicBlockInContext(h->c, h->fn, name);
}

static LLVMValueRef ld(const hb *h, LLVMValueRef base, LLVMValueRef i)
{
    return LLVMBuildLoad2(h->b, h->i64, LLVMBuildGEP2(h->b, h->i64, base, &i, 1, ""), "");
}

static void st(const hb *h, LLVMValueRef base, LLVMValueRef i, LLVMValueRef v)
{
    LLVMBuildStore(h->b, v, LLVMBuildGEP2(h->b, h->i64, base, &i, 1, ""));
}

/* for k in [0, nops): off[k] += strides[k*ndim + d] * scale (sub: -=). Ends in a new block. */
static void bump(const hb *h, LLVMValueRef off, LLVMValueRef strides, LLVMValueRef ndim,
                 LLVMValueRef nops, LLVMValueRef d, LLVMValueRef scale, bool sub)
{
    LLVMBuilderRef b = h->b;
    LLVMBasicBlockRef pre = LLVMGetInsertBlock(b), loop = blk(h, "bump"), done = blk(h, "bumped");
    LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntSGT, nops, K(h, 0), ""), loop, done);
    LLVMPositionBuilderAtEnd(b, loop);
    LLVMValueRef k = LLVMBuildPhi(b, h->i64, "k");
    LLVMValueRef s = ld(h, strides, LLVMBuildAdd(b, LLVMBuildMul(b, k, ndim, ""), d, ""));
    LLVMValueRef delta = LLVMBuildMul(b, s, scale, "");
    LLVMValueRef o = ld(h, off, k);
    st(h, off, k, sub ? LLVMBuildSub(b, o, delta, "") : LLVMBuildAdd(b, o, delta, ""));
    LLVMValueRef kn = LLVMBuildAdd(b, k, K(h, 1), "");
    tjL_loop_hints(LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntSLT, kn, nops, ""), loop, done),
                   false);
    LLVMValueRef in[2] = {K(h, 0), kn};
    LLVMBasicBlockRef from[2] = {pre, loop};
    LLVMAddIncoming(k, in, from, 2);
    LLVMPositionBuilderAtEnd(b, done);
}

static LLVMValueRef declare(LLVMModuleRef mod, hb *h, const char *name, bool init)
{
    h->c = LLVMGetModuleContext(mod);
    h->i64 = LLVMInt64TypeInContext(h->c);
    h->ptr = LLVMPointerTypeInContext(h->c, 0);
    LLVMTypeRef params[7] = {h->ptr, h->ptr, h->ptr, h->ptr, h->i64, h->i64, h->i64};
    LLVMTypeRef fty = LLVMFunctionType(LLVMVoidTypeInContext(h->c), params, init ? 7 : 6, 0);
    h->fn = LLVMAddFunction(mod, name, fty);
    LLVMSetLinkage(h->fn, LLVMInternalLinkage);
    static const char *const attrs[] = {"noinline", "nounwind"};
    for (size_t i = 0; i < 2; i++) {
        unsigned kind = LLVMGetEnumAttributeKindForName(attrs[i], strlen(attrs[i]));
        LLVMAddAttributeAtIndex(h->fn, LLVMAttributeFunctionIndex,
                                LLVMCreateEnumAttribute(h->c, kind, 0));
    }
    h->b = LLVMCreateBuilderInContext(h->c);
    LLVMPositionBuilderAtEnd(h->b, blk(h, "entry"));
    return h->fn;
}

static void emit_init(hb *h)
{
    LLVMBuilderRef b = h->b;
    LLVMValueRef idx = LLVMGetParam(h->fn, 0), off = LLVMGetParam(h->fn, 1);
    LLVMValueRef shape = LLVMGetParam(h->fn, 2), strides = LLVMGetParam(h->fn, 3);
    LLVMValueRef ndim = LLVMGetParam(h->fn, 4), nops = LLVMGetParam(h->fn, 5);
    LLVMValueRef row = LLVMGetParam(h->fn, 6);
    LLVMValueRef zero8 = LLVMConstInt(LLVMInt8TypeInContext(h->c), 0, 0);
    LLVMBuildMemSet(b, off, zero8, LLVMBuildMul(b, nops, K(h, 8), ""), 8);
    LLVMValueRef d0 = LLVMBuildSub(b, ndim, K(h, 2), "");
    LLVMBasicBlockRef pre = LLVMGetInsertBlock(b), loop = blk(h, "axis"), done = blk(h, "done");
    LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntSGE, d0, K(h, 0), ""), loop, done);
    LLVMPositionBuilderAtEnd(b, loop);
    LLVMValueRef d = LLVMBuildPhi(b, h->i64, "d"), rem = LLVMBuildPhi(b, h->i64, "rem");
    LLVMValueRef sh = ld(h, shape, d);
    LLVMValueRef q = LLVMBuildSDiv(b, rem, sh, ""); /* non-empty range: every outer length >= 1 */
    LLVMValueRef i = LLVMBuildSub(b, rem, LLVMBuildMul(b, q, sh, ""), "");
    st(h, idx, d, i);
    bump(h, off, strides, ndim, nops, d, i, false);
    LLVMValueRef dn = LLVMBuildSub(b, d, K(h, 1), "");
    LLVMBasicBlockRef latch = LLVMGetInsertBlock(b);
    tjL_loop_hints(LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntSGT, d, K(h, 0), ""), loop, done),
                   false);
    LLVMBasicBlockRef from[2] = {pre, latch};
    LLVMValueRef din[2] = {d0, dn}, rin[2] = {row, q};
    LLVMAddIncoming(d, din, from, 2);
    LLVMAddIncoming(rem, rin, from, 2);
    LLVMPositionBuilderAtEnd(b, done);
    LLVMBuildRetVoid(b);
}

static void emit_step(hb *h)
{
    LLVMBuilderRef b = h->b;
    LLVMValueRef idx = LLVMGetParam(h->fn, 0), off = LLVMGetParam(h->fn, 1);
    LLVMValueRef shape = LLVMGetParam(h->fn, 2), strides = LLVMGetParam(h->fn, 3);
    LLVMValueRef ndim = LLVMGetParam(h->fn, 4), nops = LLVMGetParam(h->fn, 5);
    LLVMValueRef d0 = LLVMBuildSub(b, ndim, K(h, 2), "");
    LLVMBasicBlockRef pre = LLVMGetInsertBlock(b), axis = blk(h, "axis");
    LLVMBasicBlockRef fits = blk(h, "fits"), wrap = blk(h, "wrap");
    LLVMBuildBr(b, axis);
    /* the innermost outer axis advances; on wrap-around it resets and carries into the next */
    LLVMPositionBuilderAtEnd(b, axis);
    LLVMValueRef d = LLVMBuildPhi(b, h->i64, "d");
    LLVMValueRef i = LLVMBuildAdd(b, ld(h, idx, d), K(h, 1), "");
    bump(h, off, strides, ndim, nops, d, K(h, 1), false);
    LLVMValueRef sh = ld(h, shape, d);
    LLVMValueRef ok = LLVMBuildOr(b, LLVMBuildICmp(b, LLVMIntSLT, i, sh, ""),
                                  LLVMBuildICmp(b, LLVMIntSLE, d, K(h, 0), ""), "");
    LLVMBuildCondBr(b, ok, fits, wrap);
    LLVMPositionBuilderAtEnd(b, fits);
    st(h, idx, d, i);
    LLVMBuildRetVoid(b);
    LLVMPositionBuilderAtEnd(b, wrap);
    st(h, idx, d, K(h, 0));
    bump(h, off, strides, ndim, nops, d, sh, true);
    LLVMValueRef dn = LLVMBuildSub(b, d, K(h, 1), "");
    LLVMBasicBlockRef latch = LLVMGetInsertBlock(b);
    tjL_loop_hints(LLVMBuildBr(b, axis), false);
    LLVMBasicBlockRef from[2] = {pre, latch};
    LLVMValueRef din[2] = {d0, dn};
    LLVMAddIncoming(d, din, from, 2);
}

LLVMValueRef tjL_rows_helper(LLVMModuleRef mod, bool init)
{
    const char *name = init ? "tj.rows.init" : "tj.rows.step";
    LLVMValueRef fn = LLVMGetNamedFunction(mod, name);
    if (fn)
        return fn;
    hb h;
    fn = declare(mod, &h, name, init);
    if (init)
        emit_init(&h);
    else
        emit_step(&h);
    LLVMDisposeBuilder(h.b);
    return fn;
}
