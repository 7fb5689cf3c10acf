/* The seam between the core and the LLVM plugin (libtensorjit-llvm.so, jit/llvm/): a table of
 * functions the core finds with dlopen at its first LLVM compile (jit/backend.c), so a process
 * whose code all comes from the disk cache never loads libLLVM (~46 MB resident here).
 * Plain C on both sides; no llvm-c types cross it. */
#ifndef TJ_JIT_BACKEND_H
#define TJ_JIT_BACKEND_H

#include "../lib/kernel.h"

/* Bumped whenever the table, the artifacts or the server's messages (jit/wire.h) change shape. */
#define TJJ_BACKEND_ABI 3
/* The plugin's one exported symbol: a function returning its table. */
#define TJJ_BACKEND_SYMBOL "tjJ_llvm_backend"

/* Bytes from an allocator (tjC_mem_*). */
typedef struct {
    unsigned char *p;
    size_t len;
} tjJ_bytes;

/* What compiling produces, per group of kernels compiled together: IR texts before and after
 * optimization and the ELF object. The arrays come from the core (tjJ_artifacts_alloc); the
 * plugin fills their entries from the same allocator; objcache.c stores and loads them. */
typedef struct {
    const tj_allocator *mem;
    int ngroups;
    char **ir, **ir_opt;
    tjJ_bytes *obj;
} tjJ_artifacts;

typedef struct tjJ_orc tjJ_orc; /* the plugin's LLJIT for one engine */

typedef struct {
    int abi;              /* TJJ_BACKEND_ABI */
    const char *build_id; /* TJ_JIT_BUILD_ID of the plugin's build: the core's must be equal */
    /* A new LLJIT for the host, its own block from mem; NULL and a sentence in err on failure. */
    tjJ_orc *(*orc_new)(const tj_allocator *mem, char *err, size_t errlen);
    /* Frees the LLJIT; every linked code must have been unlinked. NULL-safe. */
    void (*orc_free)(tjJ_orc *orc);
    /* Lowers the n validated kernels (kernel i named syms[i]) into art->ngroups groups compiled
     * in parallel: verified, optimized (O3, host CPU) and emitted as objects. On failure the
     * filled entries stay in art for tjJ_artifacts_free. */
    tj_status (*compile)(const tjK_kernel *const *kernels, int n, const char *const *syms,
                         tjJ_artifacts *art, char *err, size_t errlen);
    /* Links art's objects into orc under one resource tracker and looks up the n symbols into
     * fns; *code owns the tracker (unlink). Under the caller's engine lock. */
    tj_status (*link)(tjJ_orc *orc, const tjJ_artifacts *art, const char *const *syms, int n,
                      tjK_fn *fns, void **code, char *err, size_t errlen);
    void (*unlink)(tjJ_orc *orc, void *code);
    /* The native assembly of the optimized IR texts as a malloc'd string, or NULL. */
    char *(*assembly)(char *const *ir_opt, int ngroups);
} tjJ_backend;

/* The plugin's table, loaded on first use (thread-safe); NULL with a sentence in err when the
 * plugin cannot be found, loaded or is from another build. */
TJ_HIDDEN const tjJ_backend *tjJ_backend_get(char *err, size_t errlen);

/* Where a file installed beside the plugin may be, in the order to try: beside the binary that
 * holds this code, the install's library directory, the build tree; or, when $TJ_LLVM_PLUGIN
 * names a plugin, only its directory. Returns how many of paths were filled (distinct). */
TJ_HIDDEN int tjJ_install_paths(const char *file, char paths[3][4096]);

/* The compile server (jit/remote.c): n kernels (ser: their tjK_serialize bytes, kernel i named
 * syms[i]) compiled in the server into art's art->ngroups groups, as the plugin's compile fills
 * them. *unavailable (TJ_ERR_JIT, nothing done) when no server runs or can be started: the
 * caller compiles in this process. A server that dies during the compile is reaped and the
 * compile fails (TJ_ERR_JIT); the next one starts a new server. */
TJ_HIDDEN tj_status tjJ_remote_compile(const unsigned char *ser, size_t serlen, int n,
                                       const char *const *syms, tjJ_artifacts *art,
                                       bool *unavailable, char *err, size_t errlen);
/* The native assembly of a module's optimized IR texts, printed by the compile server, as a new
 * malloc'd string; NULL when it could not. *unavailable when no server runs or can be started:
 * the caller prints it in this process. */
TJ_HIDDEN char *tjJ_remote_assembly(char *const *ir_opt, int ngroups, bool *unavailable);
/* Stops this process's server (it exits when its socket closes; reaped here) and lets the next
 * compile try to start one again; returns its pid (0: none). tj_compile_server_stop. */
TJ_HIDDEN int tjJ_remote_stop(void);
/* The running server's pid, 0 when none. */
TJ_HIDDEN int tjJ_remote_pid(void);

TJ_HIDDEN bool tjJ_artifacts_alloc(const tj_allocator *mem, tjJ_artifacts *a, int ngroups);
TJ_HIDDEN void tjJ_artifacts_free(tjJ_artifacts *a);

/* Writes a sentence into err (may be NULL) and returns st. */
TJ_HIDDEN tj_status tjJ_fail(char *err, size_t errlen, tj_status st, const char *fmt, ...)
    TJ_PRINTF(4, 5);
/* Test hook (issue 7): true when $TJ_JIT_FAULT names `point` (a comma-separated list of verify,
 * add, lookup, cache). Each point then fails as the real failure there would, so the tests see
 * the real fallback path: the function runs in the reference executor, reported. */
TJ_HIDDEN bool tjJ_fault(const char *point);

#endif /* TJ_JIT_BACKEND_H */
