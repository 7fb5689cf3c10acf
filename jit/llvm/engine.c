/* The plugin's JIT engine: one LLJIT for the host CPU, with the symbols generated code may call.
 * The core's engine (jit/module.c) makes one per context at its first compile from scratch and
 * holds its lock around every link, lookup and removal (concurrent adds to one LLJIT fail,
 * LLVM-NOTES.md).
 *
 * Target machines are made per use (tjO_target_machine) because a target machine is not
 * thread-safe; the one given to the LLJIT builder is consumed by it. Teardown (LLVM-NOTES.md):
 * every module's tracker is removed first (tjO_unlink), then the LLJIT is disposed. */
#include "llvm.h"
#include "../runtime_symbols.h"

#include <llvm-c/Error.h>
#include <llvm-c/LLJIT.h>
#include <llvm-c/Target.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct tjJ_orc {
    LLVMOrcLLJITRef jit;
    tj_allocator mem;      /* the context's, for this block (LLVM's memory is its own) */
    char session_err[512]; /* the last error the execution session reported (under lock) */
};

tj_status tjO_fail_llvm(char *err, size_t errlen, const char *what, LLVMErrorRef e)
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

/* For the host CPU and its features, or (host false) a generic x86-64. */
static LLVMTargetMachineRef target_machine(bool host, LLVMCodeGenOptLevel level, char *err,
                                           size_t errlen)
{
    pthread_once(&init_once, init_targets);
    const char *cpu = host ? host_cpu : "generic", *features = host ? host_features : "";
    if (!init_ok) {
        tjJ_fail(err, errlen, TJ_ERR_JIT, "LLVM has no native target for this machine");
        return NULL;
    }
    LLVMTargetRef target;
    char *msg = NULL;
    if (LLVMGetTargetFromTriple(host_triple, &target, &msg)) {
        tjJ_fail(err, errlen, TJ_ERR_JIT, "no LLVM target for %s: %s", host_triple,
                 msg ? msg : "unknown");
        LLVMDisposeMessage(msg);
        return NULL;
    }
    LLVMTargetMachineRef tm = LLVMCreateTargetMachine(target, host_triple, cpu, features, level,
                                                      LLVMRelocPIC, LLVMCodeModelSmall);
    if (!tm)
        tjJ_fail(err, errlen, TJ_ERR_JIT, "LLVM could not create a target machine for %s (%s)",
                 host_triple, cpu);
    return tm;
}

LLVMTargetMachineRef tjO_target_machine(char *err, size_t errlen)
{
    return target_machine(true, LLVMCodeGenLevelAggressive, err, errlen);
}

/* ---- symbols -------------------------------------------------------------------------------- */

static tj_status define_symbols(tjJ_orc *orc, char *err, size_t errlen)
{
    enum { N = sizeof tjJ_runtime_symbols / sizeof *tjJ_runtime_symbols };
    LLVMOrcCSymbolMapPair pairs[N];
    for (size_t i = 0; i < N; i++) {
        pairs[i].Name = LLVMOrcLLJITMangleAndIntern(orc->jit, tjJ_runtime_symbols[i].name);
        pairs[i].Sym.Address = (LLVMOrcExecutorAddress)(uintptr_t)tjJ_runtime_symbols[i].addr;
        pairs[i].Sym.Flags.GenericFlags =
            LLVMJITSymbolGenericFlagsExported | LLVMJITSymbolGenericFlagsCallable;
        pairs[i].Sym.Flags.TargetFlags = 0;
    }
    LLVMOrcMaterializationUnitRef mu = LLVMOrcAbsoluteSymbols(pairs, N); /* takes the names */
    LLVMErrorRef e = LLVMOrcJITDylibDefine(LLVMOrcLLJITGetMainJITDylib(orc->jit), mu);
    if (e) {
        LLVMOrcDisposeMaterializationUnit(mu); /* still ours on failure */
        return tjO_fail_llvm(err, errlen, "defining the JIT runtime symbols failed", e);
    }
    return TJ_OK;
}

/* Errors the session cannot return to a caller (e.g. unresolved symbols while linking). */
static void report_session_error(void *ctx, LLVMErrorRef e)
{
    tjJ_orc *orc = ctx;
    char *msg = LLVMGetErrorMessage(e);
    snprintf(orc->session_err, sizeof orc->session_err, "%s", msg ? msg : "unknown");
    LLVMDisposeErrorMessage(msg);
}

/* ---- lifetime ------------------------------------------------------------------------------- */

tjJ_orc *tjO_orc_new(const tj_allocator *mem, char *err, size_t errlen)
{
    tjJ_orc *orc = tjC_mem_calloc(mem, 1, sizeof *orc);
    if (!orc) {
        tjJ_fail(err, errlen, TJ_ERR_NOMEM, "out of memory creating the JIT engine");
        return NULL;
    }
    if (mem)
        orc->mem = *mem;
    /* The LLJIT only links objects compiled by our own target machines (compile.c), so its
     * machines never generate code: a generic x86-64 one is enough for the data layout and much
     * cheaper to make (the host's feature list took ~0.45 ms per machine here, and LLJIT makes
     * two; a generic machine 0.014 ms). Anything that adds IR to this LLJIT must change this. */
    LLVMTargetMachineRef tm = target_machine(false, LLVMCodeGenLevelDefault, err, errlen);
    if (!tm)
        goto fail;
    /* tm -> jtmb -> builder -> LLJIT: each call consumes the previous object, even on error */
    LLVMOrcJITTargetMachineBuilderRef jtmb =
        LLVMOrcJITTargetMachineBuilderCreateFromTargetMachine(tm);
    LLVMOrcLLJITBuilderRef builder = LLVMOrcCreateLLJITBuilder();
    LLVMOrcLLJITBuilderSetJITTargetMachineBuilder(builder, jtmb);
    LLVMErrorRef e = LLVMOrcCreateLLJIT(&orc->jit, builder);
    if (e) {
        orc->jit = NULL;
        tjO_fail_llvm(err, errlen, "creating the LLVM JIT failed", e);
        goto fail;
    }
    LLVMOrcExecutionSessionSetErrorReporter(LLVMOrcLLJITGetExecutionSession(orc->jit),
                                            report_session_error, orc);
    if (define_symbols(orc, err, errlen) != TJ_OK)
        goto fail;
    return orc;
fail:
    tjO_orc_free(orc);
    return NULL;
}

void tjO_orc_free(tjJ_orc *orc)
{
    if (!orc)
        return;
    if (orc->jit) {
        LLVMErrorRef e = LLVMOrcDisposeLLJIT(orc->jit);
        if (e) /* nobody to report to at teardown: consume it */
            LLVMConsumeError(e);
    }
    tj_allocator mem = orc->mem; /* the block goes back through it last */
    tjC_mem_free(&mem, orc);
}

/* ---- code ----------------------------------------------------------------------------------- */

static void remove_tracker(LLVMOrcResourceTrackerRef rt)
{
    LLVMErrorRef e = LLVMOrcResourceTrackerRemove(rt);
    if (e)
        LLVMConsumeError(e);
    LLVMOrcReleaseResourceTracker(rt);
}

tj_status tjO_link(tjJ_orc *orc, const tjJ_artifacts *art, const char *const *syms, int n,
                   tjK_fn *fns, void **code, char *err, size_t errlen)
{
    tj_status st = TJ_OK;
    *code = NULL;
    orc->session_err[0] = '\0';
    LLVMOrcResourceTrackerRef t =
        LLVMOrcJITDylibCreateResourceTracker(LLVMOrcLLJITGetMainJITDylib(orc->jit));
    for (int g = 0; g < art->ngroups; g++) {
        LLVMMemoryBufferRef obj = LLVMCreateMemoryBufferWithMemoryRangeCopy(
            (const char *)art->obj[g].p, art->obj[g].len, "tj.o");
        LLVMErrorRef e = LLVMOrcLLJITAddObjectFileWithRT(orc->jit, t, obj); /* takes obj */
        if (!e && tjJ_fault("add"))
            e = LLVMCreateStringError("injected fault (TJ_JIT_FAULT=add)");
        if (e) {
            st = tjO_fail_llvm(err, errlen, "adding compiled code to the JIT failed", e);
            goto fail;
        }
    }
    for (int i = 0; i < n; i++) {
        LLVMOrcExecutorAddress addr = 0;
        LLVMErrorRef e = tjJ_fault("lookup")
                             ? LLVMCreateStringError("injected fault (TJ_JIT_FAULT=lookup)")
                             : LLVMOrcLLJITLookup(orc->jit, &addr, syms[i]); /* links them */
        if (e) {
            char what[sizeof orc->session_err + 256];
            if (orc->session_err[0])
                snprintf(what, sizeof what, "linking kernel %.200s failed (%s)", syms[i],
                         orc->session_err);
            else
                snprintf(what, sizeof what, "linking kernel %.200s failed", syms[i]);
            st = tjO_fail_llvm(err, errlen, what, e);
            goto fail;
        }
        fns[i] = (tjK_fn)(uintptr_t)addr;
    }
    *code = t;
    return TJ_OK;
fail:
    remove_tracker(t);
    return st;
}

void tjO_unlink(tjJ_orc *orc, void *code)
{
    (void)orc;
    if (code)
        remove_tracker(code);
}
