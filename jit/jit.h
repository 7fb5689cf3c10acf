/* The seam between lib/ and the LLVM JIT: plain C, no llvm-c types. Only jit/ includes llvm-c. */
#ifndef TJ_JIT_H
#define TJ_JIT_H

#include "../lib/kernel.h"

typedef struct tjJ_engine tjJ_engine; /* one LLJIT + host target machine, per context */
typedef struct tjJ_module tjJ_module; /* the compiled kernels of one function: code + texts */

/* Creates an engine for the host CPU whose own memory, modules and texts come from *mem (copied;
 * NULL: the C library; LLVM's allocations are its own). On failure returns TJ_ERR_JIT (or NOMEM)
 * and writes a sentence into err. */
TJ_HIDDEN tj_status tjJ_engine_new(const tj_allocator *mem, tjJ_engine **out, char *err,
                                   size_t errlen);
/* Frees every module's code first (modules must have been freed), then the LLJIT. NULL-safe. */
TJ_HIDDEN void tjJ_engine_free(tjJ_engine *eng);

/* Lowers the kernels into one LLVM module, verifies it, optimizes it (O3 for the host CPU),
 * adds it to the engine under its own resource tracker and looks every kernel up.
 * `name` makes symbols unique in the engine (e.g. the structural hash as hex).
 * On failure returns TJ_ERR_JIT with the LLVM message in err; nothing is left in the engine. */
TJ_HIDDEN tj_status tjJ_compile(tjJ_engine *eng, const tjK_kernel *const *kernels, int nkernels,
                                const char *name, tjJ_module **out, char *err, size_t errlen);
/* The entry point of kernel i of the module. */
TJ_HIDDEN tjK_fn tjJ_kernel_fn(const tjJ_module *m, int i);
/* IR text before (optimized=false) or after optimization; borrowed, lives with the module. */
TJ_HIDDEN const char *tjJ_module_ir(const tjJ_module *m, bool optimized);
/* Native assembly of the optimized module as a new malloc'd string (the caller free()s it:
 * tj_fn_asm hands it out), or NULL. */
TJ_HIDDEN char *tjJ_module_asm(tjJ_module *m);
/* True when the module's code came from the disk cache (no LLVM compile). */
TJ_HIDDEN bool tjJ_module_from_disk(const tjJ_module *m);
/* Milliseconds spent in LLVM for this module. */
TJ_HIDDEN double tjJ_module_compile_ms(const tjJ_module *m);
/* Releases the module's code (its resource tracker). NULL-safe. */
TJ_HIDDEN void tjJ_module_free(tjJ_module *m);

/* ---- private to jit/ ---------------------------------------------------------------------------
 * The files of jit/ define TJ_JIT_PRIVATE before including this header; lib/ never does, so it
 * never sees llvm-c. Prefixes: tjJ_ engine/module, tjL_ lowering, tjV_ vector math. */
#ifdef TJ_JIT_PRIVATE
#include <llvm-c/Core.h>
#include <llvm-c/Orc.h>
#include <llvm-c/TargetMachine.h>

/* Writes a sentence into err (may be NULL) and returns st. */
TJ_HIDDEN tj_status tjJ_fail(char *err, size_t errlen, tj_status st, const char *fmt, ...)
    TJ_PRINTF(4, 5);
/* Test hook (issue 7): true when $TJ_JIT_FAULT names `point` (a comma-separated list of verify,
 * add, lookup, cache). Each point then fails as LLVM's own failure there would, so the tests see
 * the real fallback path: the function runs in the reference executor, reported. */
TJ_HIDDEN bool tjJ_fault(const char *point);
/* Consumes e and writes "what: <LLVM message>" into err; returns TJ_ERR_JIT. */
TJ_HIDDEN tj_status tjJ_fail_llvm(char *err, size_t errlen, const char *what, LLVMErrorRef e);
/* A new target machine for the engine's host (triple, CPU, features, PIC, O3 codegen); the
 * caller owns it. NULL with a sentence in err on failure. */
TJ_HIDDEN LLVMTargetMachineRef tjJ_target_machine(const tjJ_engine *eng, char *err, size_t errlen);
/* With the engine lock held (tjJ_engine_lock): adds the object files (ownership taken, even on
 * failure; entries set to NULL) under a new resource tracker and looks up the n symbols into
 * fns. On success *rt owns the tracker (tjJ_engine_remove); on failure nothing stays. */
TJ_HIDDEN tj_status tjJ_engine_add_objects_locked(tjJ_engine *eng, LLVMMemoryBufferRef *objs,
                                                  int nobj, const char *const *syms, int n,
                                                  tjK_fn *fns, LLVMOrcResourceTrackerRef *rt,
                                                  char *err, size_t errlen);
TJ_HIDDEN void tjJ_engine_lock(tjJ_engine *eng);
TJ_HIDDEN void tjJ_engine_unlock(tjJ_engine *eng);
/* The head of the engine's list of modules with code in the JIT (use under the lock). */
TJ_HIDDEN tjJ_module **tjJ_engine_live(tjJ_engine *eng);
/* The allocator the engine's memory and its modules' memory come from (tjC_mem_*). */
TJ_HIDDEN const tj_allocator *tjJ_engine_mem(const tjJ_engine *eng);
/* The disk cache directory, or NULL when the disk cache is off. */
TJ_HIDDEN const char *tjJ_engine_cache_dir(const tjJ_engine *eng);
/* The host the engine compiles for (borrowed strings). */
TJ_HIDDEN void tjJ_engine_host(const tjJ_engine *eng, const char **triple, const char **cpu,
                               const char **features);

/* What compiling a module produces, per group of kernels compiled together: IR texts before and
 * after optimization and the object file. objcache.c stores and loads it. */
typedef struct {
    const tj_allocator *mem; /* the texts' and arrays' allocator (tjJ_artifacts_alloc) */
    int ngroups;
    char **ir, **ir_opt;
    LLVMMemoryBufferRef *obj;
} tjJ_artifacts;
TJ_HIDDEN bool tjJ_artifacts_alloc(const tj_allocator *mem, tjJ_artifacts *a, int ngroups);
TJ_HIDDEN void tjJ_artifacts_free(tjJ_artifacts *a);
/* The cache file of a digest under dir; false when dir is NULL (the cache is off). */
TJ_HIDDEN bool tjJ_cache_path(const char *dir, const uint8_t *digest, char *path, size_t len);
/* Loads a valid cache file for digest into out, memory from mem (false: absent, foreign or
 * damaged, or *nomem: mem failed, which is the compile's failure rather than a miss). */
TJ_HIDDEN bool tjJ_cache_load(const tj_allocator *mem, const char *path, const uint8_t *digest,
                              tjJ_artifacts *out, bool *nomem);
/* Writes the artifacts atomically; a failure only means no cache file. */
TJ_HIDDEN void tjJ_cache_store(const char *path, const char *dir, const uint8_t *digest,
                               const tjJ_artifacts *a);
/* Removes the tracker's code from the engine and releases rt. */
TJ_HIDDEN void tjJ_engine_remove(tjJ_engine *eng, LLVMOrcResourceTrackerRef rt);
/* The module's groups (kernels compiled together) and each group's optimized IR text. */
TJ_HIDDEN int tjJ_module_groups(const tjJ_module *m);
TJ_HIDDEN const char *tjJ_module_group_ir(const tjJ_module *m, int g);
/* The engine a module was compiled by (borrowed). */
TJ_HIDDEN tjJ_engine *tjJ_module_engine(const tjJ_module *m);
/* The IR text of m as a new string from mem (tjC_mem_free), or NULL. */
TJ_HIDDEN char *tjJ_module_text(const tj_allocator *mem, LLVMModuleRef m);

/* At most this many operands per kernel (bounds the O(n^2) alias metadata and stack use). */
#define TJL_MAX_OPERANDS 1024

/* Checks a kernel description before lowering: TJ_ERR_INVALID with a sentence on a bad one. */
TJ_HIDDEN tj_status tjL_validate(const tjK_kernel *k, char *err, size_t errlen);
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
/* Sets the kernels' fast-math flags (reassoc contract afn nsz; not arcp: lower_ops.c says why)
 * on v if it takes them. */
TJ_HIDDEN LLVMValueRef tjL_fast(LLVMValueRef v);

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
#endif /* TJ_JIT_PRIVATE */

#endif /* TJ_JIT_H */
