/* Private to the LLVM plugin (jit/llvm/, libtensorjit-llvm.so): lowering kernels to LLVM IR,
 * the inline vector math, the LLJIT. Prefixes: tjL_ lowering, tjV_ vector math, tjO_ the ORC
 * engine and compile driver. Only this directory includes llvm-c. */
#ifndef TJ_JIT_LLVM_H
#define TJ_JIT_LLVM_H

#include "../backend.h"
#include "../jit.h" /* TJL_MAX_OPERANDS */

#include <llvm-c/Core.h>
#include <llvm-c/Orc.h>
#include <llvm-c/TargetMachine.h>

/* Consumes e and writes "what: <LLVM message>" into err; returns TJ_ERR_JIT. */
TJ_HIDDEN tj_status tjO_fail_llvm(char *err, size_t errlen, const char *what, LLVMErrorRef e);
/* A new target machine for the host (triple, CPU, features, PIC, O3 codegen); the caller owns
 * it. NULL with a sentence in err on failure (also when LLVM has no native target). */
TJ_HIDDEN LLVMTargetMachineRef tjO_target_machine(char *err, size_t errlen);
/* The backend table's functions (plugin.c gathers them). */
TJ_HIDDEN tjJ_orc *tjO_orc_new(const tj_allocator *mem, char *err, size_t errlen);
TJ_HIDDEN void tjO_orc_free(tjJ_orc *orc);
TJ_HIDDEN tj_status tjO_compile(const tjK_kernel *const *kernels, int n, const char *const *syms,
                                tjJ_artifacts *art, char *err, size_t errlen);
TJ_HIDDEN tj_status tjO_link(tjJ_orc *orc, const tjJ_artifacts *art, const char *const *syms,
                             int n, tjK_fn *fns, void **code, char *err, size_t errlen);
TJ_HIDDEN void tjO_unlink(tjJ_orc *orc, void *code);
TJ_HIDDEN char *tjO_assembly(char *const *ir_opt, int ngroups);
/* The IR text of m as a new string from mem (tjC_mem_free), or NULL. */
TJ_HIDDEN char *tjO_module_text(const tj_allocator *mem, LLVMModuleRef m);

/* Adds the kernel function `fname` (and its internal row functions) computing the validated
 * kernel k to mod, whose target triple and data layout are already set; its work arrays come
 * from mem. TJ_ERR_NOMEM is the only failure. */
TJ_HIDDEN tj_status tjL_lower(LLVMModuleRef mod, const tjK_kernel *k, const char *fname,
                              const tj_allocator *mem, char *err, size_t errlen);

/* Marks the loop whose back edge is `br`: never unrolled, and not vectorized unless asked (for
 * loops that gain nothing from it but would still cost LLVM time). */
TJ_HIDDEN void tjL_loop_hints(LLVMValueRef br, bool vectorize);
/* The module's n-D row odometer helper (rows.c), made on first use: init(idx, off, shape,
 * strides, ndim, nops, row) when `init`, else step(idx, off, shape, strides, ndim, nops). */
TJ_HIDDEN LLVMValueRef tjL_rows_helper(LLVMModuleRef mod, bool init);

/* The lowering state shared by lower.c (loops, memory) and lower_ops.c (instructions). */
typedef struct {
    LLVMContextRef ctx;
    LLVMModuleRef mod;
    LLVMBuilderRef b;
    const tjK_kernel *k;
    LLVMTypeRef i1, i8, i32, i64, ptr;
} tjL_fn;

/* Register type of a dtype (bool is i1) and memory type (bool is i8). */
TJ_HIDDEN LLVMTypeRef tjL_reg_type(const tjL_fn *f, tj_dtype d);
TJ_HIDDEN LLVMTypeRef tjL_mem_type(const tjL_fn *f, tj_dtype d);
/* Emits k->code for one index: in[j] is input j's value (NULL if never loaded); fills v[ncode]. */
TJ_HIDDEN void tjL_emit_code(tjL_fn *f, LLVMValueRef const *in, LLVMValueRef *v);
/* v (register value of dtype from) converted to dtype to with CAST semantics. */
TJ_HIDDEN LLVMValueRef tjL_convert(tjL_fn *f, LLVMValueRef v, tj_dtype from, tj_dtype to);
/* Sets the kernels' fast-math flags (contract afn nsz; not reassoc or arcp: lower_ops.c says why)
 * on v if it takes them. */
TJ_HIDDEN LLVMValueRef tjL_fast(LLVMValueRef v);
/* The same plus reassoc, for a reduction's accumulation (vector partial results). */
TJ_HIDDEN LLVMValueRef tjL_fast_reduce(LLVMValueRef v);

/* Inline polynomial vector math on a float or double scalar; the loop vectorizer widens it. */
TJ_HIDDEN LLVMValueRef tjV_exp(LLVMBuilderRef b, LLVMValueRef x);
TJ_HIDDEN LLVMValueRef tjV_log(LLVMBuilderRef b, LLVMValueRef x);
TJ_HIDDEN LLVMValueRef tjV_tanh(LLVMBuilderRef b, LLVMValueRef x);
TJ_HIDDEN LLVMValueRef tjV_sigmoid(LLVMBuilderRef b, LLVMValueRef x);
/* The inline vector math of elementwise op `op` (log1p, sin, erf, arctan2, ...; the functions of
 * jit/vmath*.c) on x (and y for binary ops), or NULL when op has none. */
TJ_HIDDEN LLVMValueRef tjV_math(LLVMBuilderRef b, int op, LLVMValueRef x, LLVMValueRef y);
/* A call of the intrinsic `name` overloaded on types[ntypes] in the builder's module. */
TJ_HIDDEN LLVMValueRef tjV_intrinsic(LLVMBuilderRef b, const char *name, LLVMTypeRef *types,
                                     unsigned ntypes, LLVMValueRef *args, unsigned nargs);
#endif /* TJ_JIT_LLVM_H */
