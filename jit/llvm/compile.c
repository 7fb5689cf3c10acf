/* tjO_compile: kernels -> LLVM modules -> verified -> optimized (O3, host CPU) -> object files.
 *
 * Compiling is split across threads: the core deals the kernels into groups (art->ngroups),
 * each group is lowered, optimized and code-generated in its own LLVMContext with its own target
 * machine (neither is thread-safe). LLVM never writes to stderr here: diagnostics go to a
 * handler, verification returns a status. Linking is engine.c's (tjO_link). */
#include "llvm.h"

#include <llvm-c/Analysis.h>
#include <llvm-c/Error.h>
#include <llvm-c/Transforms/PassBuilder.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PIPELINE "default<O3>"

/* ---- compiling one group -------------------------------------------------------------------- */

typedef struct {
    const tj_allocator *mem; /* the texts' and the object's */
    const tjK_kernel *const *kernels;
    const char *const *syms;
    int *members; /* kernel indices of this group */
    int nmembers;
    char *ir, *ir_opt;
    tjJ_bytes obj;
    tj_status st;
    char err[512];
    char diag[512]; /* the first LLVM error diagnostic, if any */
} group;

/* LLVM reports backend errors as diagnostics; without a handler it prints them and, for an
 * error, exits the process. Keep the first error. */
static void on_diagnostic(LLVMDiagnosticInfoRef di, void *ctx)
{
    group *g = ctx;
    if (LLVMGetDiagInfoSeverity(di) != LLVMDSError || g->diag[0])
        return;
    char *msg = LLVMGetDiagInfoDescription(di);
    snprintf(g->diag, sizeof g->diag, "%s", msg ? msg : "unknown");
    LLVMDisposeMessage(msg);
}

static tj_status optimize(LLVMModuleRef mod, LLVMTargetMachineRef tm, char *err, size_t errlen)
{
    LLVMPassBuilderOptionsRef opts = LLVMCreatePassBuilderOptions();
    LLVMPassBuilderOptionsSetLoopVectorization(opts, 1);
    LLVMPassBuilderOptionsSetSLPVectorization(opts, 1);
    LLVMPassBuilderOptionsSetLoopInterleaving(opts, 1);
    LLVMPassBuilderOptionsSetLoopUnrolling(opts, 1);
    LLVMErrorRef e = LLVMRunPasses(mod, PIPELINE, tm, opts);
    LLVMDisposePassBuilderOptions(opts);
    return e ? tjO_fail_llvm(err, errlen, "optimizing the generated IR failed", e) : TJ_OK;
}

/* lower -> verify -> IR text -> optimize -> IR text -> object file, all in a private context */
static void *compile_group(void *arg)
{
    group *g = arg;
    char *msg = NULL;
    LLVMTargetMachineRef tm = tjO_target_machine(g->err, sizeof g->err);
    if (!tm) {
        g->st = TJ_ERR_JIT;
        return NULL;
    }
    LLVMContextRef ctx = LLVMContextCreate();
    LLVMContextSetDiagnosticHandler(ctx, on_diagnostic, g);
    LLVMModuleRef mod = LLVMModuleCreateWithNameInContext("tensorjit", ctx);
    /* triple and data layout first: the vectorizer's cost model needs them */
    char *triple = LLVMGetTargetMachineTriple(tm);
    LLVMSetTarget(mod, triple);
    LLVMDisposeMessage(triple);
    LLVMTargetDataRef dl = LLVMCreateTargetDataLayout(tm);
    LLVMSetModuleDataLayout(mod, dl);
    g->st = TJ_OK;
    for (int i = 0; i < g->nmembers && g->st == TJ_OK; i++)
        g->st = tjL_lower(mod, g->kernels[g->members[i]], g->syms[g->members[i]], g->mem, g->err,
                          sizeof g->err);
    if (g->st == TJ_OK && tjJ_fault("verify"))
        g->st = tjJ_fail(g->err, sizeof g->err, TJ_ERR_JIT,
                         "generated IR does not verify: injected fault (TJ_JIT_FAULT=verify)");
    if (g->st == TJ_OK && LLVMVerifyModule(mod, LLVMReturnStatusAction, &msg))
        g->st = tjJ_fail(g->err, sizeof g->err, TJ_ERR_JIT, "generated IR does not verify: %s",
                         msg ? msg : "(no message)");
    LLVMDisposeMessage(msg);
    msg = NULL;
    if (g->st == TJ_OK && !(g->ir = tjO_module_text(g->mem, mod)))
        g->st = tjJ_fail(g->err, sizeof g->err, TJ_ERR_NOMEM, "out of memory keeping the IR");
    if (g->st == TJ_OK)
        g->st = optimize(mod, tm, g->err, sizeof g->err);
    if (g->st == TJ_OK && !(g->ir_opt = tjO_module_text(g->mem, mod)))
        g->st = tjJ_fail(g->err, sizeof g->err, TJ_ERR_NOMEM, "out of memory keeping the IR");
    LLVMMemoryBufferRef obj = NULL;
    if (g->st == TJ_OK && LLVMTargetMachineEmitToMemoryBuffer(tm, mod, LLVMObjectFile, &msg, &obj))
        g->st = tjJ_fail(g->err, sizeof g->err, TJ_ERR_JIT, "code generation failed: %s",
                         msg ? msg : "(no message)");
    LLVMDisposeMessage(msg);
    if (obj) { /* the core keeps objects as bytes from its allocator */
        size_t n = LLVMGetBufferSize(obj);
        if ((g->obj.p = tjC_mem_malloc(g->mem, n))) {
            memcpy(g->obj.p, LLVMGetBufferStart(obj), n);
            g->obj.len = n;
        } else if (g->st == TJ_OK) {
            g->st = tjJ_fail(g->err, sizeof g->err, TJ_ERR_NOMEM, "out of memory keeping code");
        }
        LLVMDisposeMemoryBuffer(obj);
    }
    if (g->st == TJ_OK && g->diag[0])
        g->st = tjJ_fail(g->err, sizeof g->err, TJ_ERR_JIT, "LLVM reported: %s", g->diag);
    LLVMDisposeModule(mod);
    LLVMDisposeTargetData(dl);
    LLVMContextDispose(ctx);
    LLVMDisposeTargetMachine(tm);
    return NULL;
}

/* Deals the kernels into art->ngroups groups of similar size (largest first, to the lightest
 * group), compiles them in parallel and gathers the artifacts. */
tj_status tjO_compile(const tjK_kernel *const *kernels, int n, const char *const *syms,
                      tjJ_artifacts *art, char *err, size_t errlen)
{
    int ng = art->ngroups;
    if (ng < 1 || ng > n)
        return tjJ_fail(err, errlen, TJ_ERR_INVALID, "%d groups for %d kernels", ng, n);
    const tj_allocator *mem = art->mem;
    group *gs = tjC_mem_calloc(mem, (size_t)ng, sizeof *gs);
    int *order = tjC_mem_malloc(mem, sizeof *order * (size_t)n);
    int *load = tjC_mem_calloc(mem, (size_t)ng, sizeof *load);
    int *slots = tjC_mem_malloc(mem, sizeof *slots * (size_t)n);
    pthread_t *th = tjC_mem_calloc(mem, (size_t)ng, sizeof *th);
    bool *started = tjC_mem_calloc(mem, (size_t)ng, sizeof *started);
    tj_status st = TJ_OK;
    if (!gs || !order || !load || !slots || !th || !started) {
        st = tjJ_fail(err, errlen, TJ_ERR_NOMEM, "out of memory compiling %d kernels", n);
        goto done;
    }
    for (int i = 0; i < n; i++)
        order[i] = i;
    for (int i = 1; i < n; i++) /* insertion sort by size, largest first (n is small) */
        for (int j = i; j > 0 && kernels[order[j]]->ncode > kernels[order[j - 1]]->ncode; j--) {
            int t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    for (int g = 0; g < ng; g++)
        gs[g] = (group){.mem = mem, .kernels = kernels, .syms = syms, .members = slots};
    /* members are stored contiguously per group: count first, then place */
    int *assign = tjC_mem_malloc(mem, sizeof *assign * (size_t)n);
    if (!assign) {
        st = tjJ_fail(err, errlen, TJ_ERR_NOMEM, "out of memory compiling %d kernels", n);
        goto done;
    }
    for (int i = 0; i < n; i++) {
        int best = 0;
        for (int g = 1; g < ng; g++)
            if (load[g] < load[best])
                best = g;
        assign[order[i]] = best;
        load[best] += kernels[order[i]]->ncode + 8;
        gs[best].nmembers++;
    }
    for (int g = 0, off = 0; g < ng; g++) {
        gs[g].members = slots + off;
        off += gs[g].nmembers;
        gs[g].nmembers = 0;
    }
    for (int i = 0; i < n; i++)
        gs[assign[i]].members[gs[assign[i]].nmembers++] = i;
    tjC_mem_free(mem, assign);
    for (int g = 1; g < ng; g++) /* group 0 runs on this thread */
        started[g] = pthread_create(&th[g], NULL, compile_group, &gs[g]) == 0;
    compile_group(&gs[0]);
    for (int g = 1; g < ng; g++) {
        if (started[g])
            pthread_join(th[g], NULL);
        else
            compile_group(&gs[g]); /* no thread to be had: compile here */
    }
    for (int g = 0; g < ng; g++) {
        if (gs[g].st != TJ_OK && st == TJ_OK)
            st = tjJ_fail(err, errlen, gs[g].st, "%s", gs[g].err);
        art->ir[g] = gs[g].ir;
        art->ir_opt[g] = gs[g].ir_opt;
        art->obj[g] = gs[g].obj;
    }
done:
    tjC_mem_free(mem, gs);
    tjC_mem_free(mem, order);
    tjC_mem_free(mem, load);
    tjC_mem_free(mem, slots);
    tjC_mem_free(mem, th);
    tjC_mem_free(mem, started);
    return st;
}

