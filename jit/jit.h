/* The seam between lib/ and the JIT: plain C, no llvm-c types.
 *
 * The core side of jit/ (module.c, objcache.c, elf_load.c, ...) needs no LLVM: code from the
 * disk cache is linked by our own loader. LLVM lives in a plugin (jit/llvm/,
 * libtensorjit-llvm.so) that is loaded at the first kernel compiled from scratch. */
#ifndef TJ_JIT_H
#define TJ_JIT_H

#include "../lib/kernel.h"

typedef struct tjJ_engine tjJ_engine; /* per context: live modules, disk cache, LLJIT when used */
typedef struct tjJ_module tjJ_module; /* the compiled kernels of one function: code + texts */

/* Creates an engine for the host CPU whose own memory, modules and texts come from *mem (copied;
 * NULL: the C library; LLVM's allocations are its own). Loads no LLVM. On failure returns
 * TJ_ERR_NOMEM and writes a sentence into err. */
TJ_HIDDEN tj_status tjJ_engine_new(const tj_allocator *mem, tjJ_engine **out, char *err,
                                   size_t errlen);
/* Frees the LLJIT, if one was made; modules must have been freed. NULL-safe. */
TJ_HIDDEN void tjJ_engine_free(tjJ_engine *eng);

/* Compiled code for the kernels: the engine's live module with the same digest, else the disk
 * cache's objects linked by our loader, else new objects (lowered, verified, optimized O3 for the
 * host CPU, stored in the disk cache) from the compile server, linked by our loader, or, when no
 * server can run, from the LLVM plugin in this process, linked by its LLJIT. `ser` is the kernels as
 * tjK_serialize gives them (the caller's code cache holds them already), or NULL: serialized
 * here. On failure returns TJ_ERR_JIT (or TJ_ERR_INVALID for a bad kernel, TJ_ERR_NOMEM) with a
 * sentence in err; nothing is left in the engine. */
TJ_HIDDEN tj_status tjJ_compile(tjJ_engine *eng, const tjK_kernel *const *kernels, int nkernels,
                                const unsigned char *ser, size_t serlen, tjJ_module **out,
                                char *err, size_t errlen);
/* The entry point of kernel i of the module. */
TJ_HIDDEN tjK_fn tjJ_kernel_fn(const tjJ_module *m, int i);
/* IR text before (optimized=false) or after optimization; borrowed, lives with the module. */
TJ_HIDDEN const char *tjJ_module_ir(const tjJ_module *m, bool optimized);
/* Native assembly of the optimized module as a new malloc'd string (the caller free()s it:
 * tj_fn_asm hands it out), or NULL. Printed by the compile server; by the LLVM plugin in this
 * process only when no server runs. */
TJ_HIDDEN char *tjJ_module_asm(tjJ_module *m);
/* True when the module's code came from the disk cache (no LLVM compile). */
TJ_HIDDEN bool tjJ_module_from_disk(const tjJ_module *m);
/* Milliseconds spent compiling (or loading) this module. */
TJ_HIDDEN double tjJ_module_compile_ms(const tjJ_module *m);
/* Releases the module's code when its last user lets go. NULL-safe. */
TJ_HIDDEN void tjJ_module_free(tjJ_module *m);

/* At most this many operands per kernel (bounds the O(n^2) alias metadata and stack use). */
#define TJL_MAX_OPERANDS 1024
/* Checks a kernel description before lowering: TJ_ERR_INVALID with a sentence on a bad one. */
TJ_HIDDEN tj_status tjL_validate(const tjK_kernel *k, char *err, size_t errlen);

#endif /* TJ_JIT_H */
