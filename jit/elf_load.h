/* A loader for the object files LLVM emits for our kernels (x86-64 ELF relocatable objects, PIC,
 * small code model): links them into one mapping without LLVM, so code from the disk cache
 * (objcache.c) can run in a process that never loads libLLVM. Plain C and POSIX, no llvm-c. */
#ifndef TJ_ELF_LOAD_H
#define TJ_ELF_LOAD_H

#include "../lib/internal.h"

typedef struct tjJ_image tjJ_image; /* the loaded code of several objects, one mapping */
/* Name -> address for undefined symbols; NULL when unknown. */
typedef void *(*tjJ_resolver)(const char *name);

/* Loads nobj relocatable x86-64 ELF objects (objs[i], lens[i] bytes; only read, not kept) into
 * one fresh mapping and links them: symbols defined in any object are visible to all, undefined
 * ones come from resolve (may be NULL). Code ends read+execute, constants read-only, writable
 * data read+write; never writable and executable at once. Writes the address of each of the n
 * symbols syms[] (defined globals of the objects) into addrs[]. Metadata from mem (NULL: the C
 * library). The bytes are untrusted: a damaged object is an error, never a crash. On failure
 * nothing stays mapped or allocated, *out and addrs[] are NULL, err holds a sentence naming the
 * object, section, relocation type or symbol at fault, and the result is TJ_ERR_JIT
 * (TJ_ERR_NOMEM when mem or mmap fails, TJ_ERR_INVALID for NULL or negative arguments). */
TJ_HIDDEN tj_status tjJ_image_load(const tj_allocator *mem, const void *const *objs,
                                   const size_t *lens, int nobj, tjJ_resolver resolve,
                                   const char *const *syms, int n, void **addrs, tjJ_image **out,
                                   char *err, size_t errlen);
/* Unmaps the image's code and frees it. NULL-safe. */
TJ_HIDDEN void tjJ_image_free(tjJ_image *img);

#endif /* TJ_ELF_LOAD_H */
