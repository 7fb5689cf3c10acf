/* A kernel: one fused group of elementwise ops, optionally feeding one reduction, described as a
 * small straight-line program. This is the plain-C contract between the scheduler (lib/) and the
 * LLVM lowering (jit/). No LLVM types here.
 *
 * Operands: inputs 0..nin-1, then outputs nin..nin+nout-1. Each has a dtype.
 *
 * Calling convention of a compiled kernel (tjK_fn):
 *   ptrs[nin+nout]      base pointer of each operand (element 0 of the iteration space)
 *   shape[ndim]         iteration shape, ndim >= 1 (a 0-d space is passed as shape {1});
 *                       the caller has coalesced dimensions, so any ndim may arrive
 *   strides[(nin+nout)*ndim]  operand-major strides IN ELEMENTS (0 on broadcast axes);
 *                       strides[k*ndim + d] is operand k's stride on axis d
 *   begin, end          half-open range of the row index to run: when ndim == 1 a "row" is one
 *                       element; when ndim >= 2 the rows are the product of shape[0..ndim-2]
 *                       and each row covers the innermost axis in full. The thread pool splits
 *                       [0, rows) across threads without recompiling.
 * Operands marked `scalar` are statically broadcast on every axis: their strides are ignored and
 * the value is loaded once.
 *
 * Elementwise kernel (reduce == TJ_OP_NONE_): for every index, each output k stores
 *   code[out_instr[k]] converted to its dtype.
 * Reduction kernel (reduce == TJ_OP_SUM, PROD, MAX, MIN, ALL or ANY): exactly one output, whose
 * strides are 0 on the reduced axes; for every index, out[o] = out[o] (op) value, accumulated in
 * the output's dtype (max/min propagate NaN; bool max/min are or/and; all/any are bool). The
 * caller has filled the output with the op's identity (0, 1, -inf or the lowest integer, +inf or
 * the highest, true, false) before the call; accumulation order within a row may be
 * reassociated (vector partial results). Means are sum kernels the runtime divides afterwards.
 *
 * Splitting (for a thread pool): a row whose output inner stride is 0 is reduced in segments at
 * absolute multiples of BLOCK (jit/llvm/lower.c) combined in order, so its result depends only on the
 * row, never on where a 1-D [begin, end) is cut at such multiples. Rows that share an output
 * element must still not run concurrently: lib/runtime_reduce.c cuts every reduction into a fixed
 * list of independent pieces (each with its own output) and combines them in a fixed order, so
 * results never depend on the number of threads. */
#ifndef TJ_KERNEL_H
#define TJ_KERNEL_H

#include "internal.h"

/* Instruction opcodes: any elementwise tj_op (OPF_ELEMWISE), plus these two. */
enum {
    TJK_LOAD = TJ_NUM_OPS, /* args[0] = input operand index: the operand's value at this index */
    TJK_CONST,             /* value: a literal of `dtype` */
};

typedef struct {
    int op;            /* tj_op with OPF_ELEMWISE, TJK_LOAD or TJK_CONST */
    tj_dtype dtype;    /* result dtype; for CAST the target dtype */
    int32_t args[3];   /* earlier instruction indices (LOAD: the operand index); -1 = unused */
    double value;      /* TJK_CONST */
} tjK_instr;

#define TJ_OP_NONE_ (-1)

typedef struct {
    int nin, nout;
    tj_dtype *dtype;    /* nin + nout operand dtypes */
    bool *scalar;       /* nin flags: statically all-broadcast input */
    tjK_instr *code;
    int ncode;
    int32_t *out_instr; /* nout: which instruction each output stores */
    int reduce;         /* TJ_OP_NONE_, or the reduction: TJ_OP_SUM PROD MAX MIN ALL ANY */
    /* the iteration space has rank 0 or 1: the kernel is called with ndim == 1 and inner stride
     * 1 on every operand that is not scalar (the runtime copies a strided operand first), so it
     * is one loop without row or strided variants, half the code for LLVM to compile */
    bool flat;
} tjK_kernel;

/* The canonical bytes of n kernels (from mem, released with tjC_mem_free; NULL when out of
 * memory): equal bytes, equal code. */
TJ_HIDDEN unsigned char *tjK_serialize(const tj_allocator *mem, const tjK_kernel *const *kernels,
                                       int n, size_t *len);

/* The kernels tjK_serialize wrote (each with its arrays in one block from mem), *n of them;
 * NULL when the bytes are malformed (sizes out of range, short, trailing bytes) or memory is out.
 * Only the layout is checked: the content is jit/validate.c's to check. */
TJ_HIDDEN tjK_kernel **tjK_deserialize(const tj_allocator *mem, const unsigned char *p,
                                       size_t len, int *n);
TJ_HIDDEN void tjK_free_all(const tj_allocator *mem, tjK_kernel **kernels, int n);

typedef void (*tjK_fn)(char *const *ptrs, const int64_t *shape, const int64_t *strides,
                       int64_t ndim, int64_t begin, int64_t end);

#endif /* TJ_KERNEL_H */
