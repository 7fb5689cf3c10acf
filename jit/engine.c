/* The JIT engine: one LLJIT for the host CPU, the symbols generated code may call, and the lock
 * that serializes adding and looking up code (concurrent adds to one LLJIT fail, LLVM-NOTES.md).
 *
 * Ownership: the engine owns the LLJIT and the three host strings. Target machines are made per
 * use (tjJ_target_machine) because a target machine is not thread-safe; the one given to the
 * LLJIT builder is consumed by it. Teardown (LLVM-NOTES.md): every module's tracker is removed
 * first (tjJ_module_free), then the LLJIT is disposed. */
#define TJ_JIT_PRIVATE
#include "jit.h"

#include <llvm-c/Error.h>
#include <llvm-c/LLJIT.h>
#include <llvm-c/Target.h>

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct tjJ_engine {
    LLVMOrcLLJITRef jit;
    pthread_mutex_t lock;          /* held around every add, lookup and removal */
    const char *triple, *cpu, *features; /* the process-wide host strings (init_targets) */
    char session_err[512]; /* the last error the execution session reported (under lock) */
    tjJ_module *live;      /* modules whose code is in the JIT, by digest (under lock) */
    char *cache_dir;       /* the disk cache, or NULL when it is off */
    tj_allocator mem;      /* the context's: the engine, its modules and their texts */
};

/* $TJ_CACHE_DIR, else $XDG_CACHE_HOME/tensorjit, else $HOME/.cache/tensorjit; "off" or an
 * empty value turns the disk cache off (*dir NULL). false: out of memory. */
static bool cache_dir_from_env(const tj_allocator *mem, char **dir)
{
    const char *env = getenv("TJ_CACHE_DIR");
    char buf[4096];
    *dir = NULL;
    if (env && (!*env || !strcmp(env, "off")))
        return true;
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    if (!env && xdg && *xdg)
        snprintf(buf, sizeof buf, "%s/tensorjit", xdg);
    else if (!env && home && *home)
        snprintf(buf, sizeof buf, "%s/.cache/tensorjit", home);
    else if (!env)
        return true;
    *dir = tjC_mem_strdup(mem, env ? env : buf);
    return *dir != NULL;
}

const char *tjJ_engine_cache_dir(const tjJ_engine *eng) { return eng->cache_dir; }
const tj_allocator *tjJ_engine_mem(const tjJ_engine *eng) { return &eng->mem; }

void tjJ_engine_host(const tjJ_engine *eng, const char **triple, const char **cpu,
                     const char **features)
{
    *triple = eng->triple;
    *cpu = eng->cpu;
    *features = eng->features;
}

void tjJ_engine_lock(tjJ_engine *eng) { pthread_mutex_lock(&eng->lock); }
void tjJ_engine_unlock(tjJ_engine *eng) { pthread_mutex_unlock(&eng->lock); }
tjJ_module **tjJ_engine_live(tjJ_engine *eng) { return &eng->live; }

tj_status tjJ_fail(char *err, size_t errlen, tj_status st, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return st;
}

bool tjJ_fault(const char *point)
{
    const char *env = getenv("TJ_JIT_FAULT");
    size_t n = strlen(point);
    for (const char *p = env; p && *p; p += strcspn(p, ",")) {
        p += *p == ',';
        if (!strncmp(p, point, n) && (p[n] == ',' || p[n] == '\0'))
            return true;
    }
    return false;
}

tj_status tjJ_fail_llvm(char *err, size_t errlen, const char *what, LLVMErrorRef e)
{
    char *msg = LLVMGetErrorMessage(e); /* consumes e */
    tjJ_fail(err, errlen, TJ_ERR_JIT, "%s: %s", what, msg ? msg : "unknown LLVM error");
    LLVMDisposeErrorMessage(msg);
    return TJ_ERR_JIT;
}

/* ---- once per process ----------------------------------------------------------------------- */

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static bool init_ok;
/* The host, asked once: the CPU queries run cpuid, which traps to the hypervisor on a virtual
 * machine (~6% of a disk-cache-warm compile when asked per engine). Kept for the process. */
static char *host_triple, *host_cpu, *host_features;

static void init_targets(void)
{
    /* without the asm printer the JIT is created but the first lookup fails */
    init_ok = !LLVMInitializeNativeTarget() && !LLVMInitializeNativeAsmPrinter();
    host_triple = LLVMGetDefaultTargetTriple();
    host_cpu = LLVMGetHostCPUName();
    host_features = LLVMGetHostCPUFeatures();
    init_ok = init_ok && host_triple && host_cpu && host_features;
}

/* ---- target machines ------------------------------------------------------------------------ */

static LLVMTargetMachineRef target_machine(const tjJ_engine *eng, const char *cpu,
                                           const char *features, LLVMCodeGenOptLevel level,
                                           char *err, size_t errlen)
{
    LLVMTargetRef target;
    char *msg = NULL;
    if (LLVMGetTargetFromTriple(eng->triple, &target, &msg)) {
        tjJ_fail(err, errlen, TJ_ERR_JIT, "no LLVM target for %s: %s", eng->triple,
                 msg ? msg : "unknown");
        LLVMDisposeMessage(msg);
        return NULL;
    }
    LLVMTargetMachineRef tm = LLVMCreateTargetMachine(target, eng->triple, cpu, features, level,
                                                      LLVMRelocPIC, LLVMCodeModelSmall);
    if (!tm)
        tjJ_fail(err, errlen, TJ_ERR_JIT, "LLVM could not create a target machine for %s (%s)",
                 eng->triple, cpu);
    return tm;
}

LLVMTargetMachineRef tjJ_target_machine(const tjJ_engine *eng, char *err, size_t errlen)
{
    return target_machine(eng, eng->cpu, eng->features, LLVMCodeGenLevelAggressive, err, errlen);
}


/* ---- symbols -------------------------------------------------------------------------------- */

/* What generated code may call: pow for non-literal exponents, and what LLVM's own rewrites may
 * introduce (memset/memcpy from loop idioms, exp2/ldexp from pow(2, x)). Defined explicitly so
 * resolution never depends on which libraries the process happened to link. */
static const struct {
    const char *name;
    void *addr;
} runtime_symbols[] = {
    {"pow", (void *)pow},       {"powf", (void *)powf},     {"exp2", (void *)exp2},
    {"exp2f", (void *)exp2f},   {"ldexp", (void *)ldexp},   {"ldexpf", (void *)ldexpf},
    {"memset", (void *)memset}, {"memcpy", (void *)memcpy}, {"memmove", (void *)memmove},
};

static tj_status define_symbols(tjJ_engine *eng, char *err, size_t errlen)
{
    enum { N = sizeof runtime_symbols / sizeof *runtime_symbols };
    LLVMOrcCSymbolMapPair pairs[N];
    for (size_t i = 0; i < N; i++) {
        pairs[i].Name = LLVMOrcLLJITMangleAndIntern(eng->jit, runtime_symbols[i].name);
        pairs[i].Sym.Address = (LLVMOrcExecutorAddress)(uintptr_t)runtime_symbols[i].addr;
        pairs[i].Sym.Flags.GenericFlags =
            LLVMJITSymbolGenericFlagsExported | LLVMJITSymbolGenericFlagsCallable;
        pairs[i].Sym.Flags.TargetFlags = 0;
    }
    LLVMOrcMaterializationUnitRef mu = LLVMOrcAbsoluteSymbols(pairs, N); /* takes the names */
    LLVMErrorRef e = LLVMOrcJITDylibDefine(LLVMOrcLLJITGetMainJITDylib(eng->jit), mu);
    if (e) {
        LLVMOrcDisposeMaterializationUnit(mu); /* still ours on failure */
        return tjJ_fail_llvm(err, errlen, "defining the JIT runtime symbols failed", e);
    }
    return TJ_OK;
}

/* Errors the session cannot return to a caller (e.g. unresolved symbols while linking). */
static void report_session_error(void *ctx, LLVMErrorRef e)
{
    tjJ_engine *eng = ctx;
    char *msg = LLVMGetErrorMessage(e);
    snprintf(eng->session_err, sizeof eng->session_err, "%s", msg ? msg : "unknown");
    LLVMDisposeErrorMessage(msg);
}

/* ---- lifetime ------------------------------------------------------------------------------- */

tj_status tjJ_engine_new(const tj_allocator *mem, tjJ_engine **out, char *err, size_t errlen)
{
    if (!out)
        return tjJ_fail(err, errlen, TJ_ERR_INVALID, "tjJ_engine_new: out is NULL");
    *out = NULL;
    pthread_once(&init_once, init_targets);
    if (!init_ok)
        return tjJ_fail(err, errlen, TJ_ERR_JIT, "LLVM has no native target for this machine");
    tjJ_engine *eng = tjC_mem_calloc(mem, 1, sizeof *eng);
    if (!eng)
        return tjJ_fail(err, errlen, TJ_ERR_NOMEM, "out of memory creating the JIT engine");
    if (mem)
        eng->mem = *mem;
    if (pthread_mutex_init(&eng->lock, NULL) != 0) {
        tjC_mem_free(mem, eng);
        return tjJ_fail(err, errlen, TJ_ERR_NOMEM, "could not create the JIT engine lock");
    }
    tj_status st;
    if (!cache_dir_from_env(mem, &eng->cache_dir)) {
        st = tjJ_fail(err, errlen, TJ_ERR_NOMEM, "out of memory creating the JIT engine");
        goto fail;
    }
    eng->triple = host_triple;
    eng->cpu = host_cpu;
    eng->features = host_features;
    /* The LLJIT only links objects compiled by our own target machines (compile.c), so its
     * machines never generate code: a generic x86-64 one is enough for the data layout and much
     * cheaper to make (the host's feature list took ~0.45 ms per machine here, and LLJIT makes
     * two; a generic machine 0.014 ms). Anything that adds IR to this LLJIT must change this. */
    LLVMTargetMachineRef tm =
        target_machine(eng, "generic", "", LLVMCodeGenLevelDefault, err, errlen);
    if (!tm) {
        st = TJ_ERR_JIT;
        goto fail;
    }
    /* tm -> jtmb -> builder -> LLJIT: each call consumes the previous object, even on error */
    LLVMOrcJITTargetMachineBuilderRef jtmb =
        LLVMOrcJITTargetMachineBuilderCreateFromTargetMachine(tm);
    LLVMOrcLLJITBuilderRef builder = LLVMOrcCreateLLJITBuilder();
    LLVMOrcLLJITBuilderSetJITTargetMachineBuilder(builder, jtmb);
    LLVMErrorRef e = LLVMOrcCreateLLJIT(&eng->jit, builder);
    if (e) {
        eng->jit = NULL;
        st = tjJ_fail_llvm(err, errlen, "creating the LLVM JIT failed", e);
        goto fail;
    }
    LLVMOrcExecutionSessionSetErrorReporter(LLVMOrcLLJITGetExecutionSession(eng->jit),
                                            report_session_error, eng);
    st = define_symbols(eng, err, errlen);
    if (st != TJ_OK)
        goto fail;
    *out = eng;
    return TJ_OK;
fail:
    tjJ_engine_free(eng);
    return st;
}

void tjJ_engine_free(tjJ_engine *eng)
{
    if (!eng)
        return;
    if (eng->jit) {
        LLVMErrorRef e = LLVMOrcDisposeLLJIT(eng->jit);
        if (e) /* nobody to report to at teardown: consume it */
            LLVMConsumeError(e);
    }
    pthread_mutex_destroy(&eng->lock);
    tj_allocator mem = eng->mem; /* the engine's own block goes back through it last */
    tjC_mem_free(&mem, eng->cache_dir);
    tjC_mem_free(&mem, eng);
}

/* ---- code ----------------------------------------------------------------------------------- */

static void remove_tracker(LLVMOrcResourceTrackerRef rt)
{
    LLVMErrorRef e = LLVMOrcResourceTrackerRemove(rt);
    if (e)
        LLVMConsumeError(e);
    LLVMOrcReleaseResourceTracker(rt);
}

tj_status tjJ_engine_add_objects_locked(tjJ_engine *eng, LLVMMemoryBufferRef *objs, int nobj,
                                       const char *const *syms, int n, tjK_fn *fns,
                                       LLVMOrcResourceTrackerRef *rt, char *err, size_t errlen)
{
    tj_status st = TJ_OK;
    *rt = NULL;
    eng->session_err[0] = '\0';
    LLVMOrcResourceTrackerRef t =
        LLVMOrcJITDylibCreateResourceTracker(LLVMOrcLLJITGetMainJITDylib(eng->jit));
    int g = 0;
    for (; g < nobj; g++) {
        LLVMErrorRef e = LLVMOrcLLJITAddObjectFileWithRT(eng->jit, t, objs[g]); /* takes it */
        objs[g] = NULL;
        if (!e && tjJ_fault("add"))
            e = LLVMCreateStringError("injected fault (TJ_JIT_FAULT=add)");
        if (e) {
            st = tjJ_fail_llvm(err, errlen, "adding compiled code to the JIT failed", e);
            goto fail;
        }
    }
    for (int i = 0; i < n; i++) {
        LLVMOrcExecutorAddress addr = 0;
        LLVMErrorRef e = tjJ_fault("lookup")
                             ? LLVMCreateStringError("injected fault (TJ_JIT_FAULT=lookup)")
                             : LLVMOrcLLJITLookup(eng->jit, &addr, syms[i]); /* links them */
        if (e) {
            char what[sizeof eng->session_err + 256];
            if (eng->session_err[0])
                snprintf(what, sizeof what, "linking kernel %.200s failed (%s)", syms[i],
                         eng->session_err);
            else
                snprintf(what, sizeof what, "linking kernel %.200s failed", syms[i]);
            st = tjJ_fail_llvm(err, errlen, what, e);
            goto fail;
        }
        fns[i] = (tjK_fn)(uintptr_t)addr;
    }
    *rt = t;
    return TJ_OK;
fail:
    for (g++; g < nobj; g++) { /* the buffers not handed to the JIT are still ours */
        LLVMDisposeMemoryBuffer(objs[g]);
        objs[g] = NULL;
    }
    remove_tracker(t);
    return st;
}

void tjJ_engine_remove(tjJ_engine *eng, LLVMOrcResourceTrackerRef rt)
{
    if (!rt)
        return;
    pthread_mutex_lock(&eng->lock);
    remove_tracker(rt);
    pthread_mutex_unlock(&eng->lock);
}
