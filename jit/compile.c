/* tjJ_compile: kernels -> one LLVM module -> verified -> optimized (O3, host CPU) -> JIT code.
 *
 * Ownership along the way: the ThreadSafeContext owns the LLVMContext (ours is disposed once the
 * module is wrapped; the ThreadSafeModule keeps it alive), the module is ours until it is wrapped
 * into the ThreadSafeModule, which tjJ_engine_add consumes. A compile-local target machine runs
 * the passes (target machines are not thread-safe), so only add+lookup take the engine lock.
 * LLVM never writes to stderr here: diagnostics go to a handler, verification returns status. */
#define TJ_JIT_PRIVATE
#include "jit.h"

#include <llvm-c/Analysis.h>
#include <llvm-c/Error.h>
#include <llvm-c/Transforms/PassBuilder.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct tjJ_module {
    tjJ_engine *eng;
    LLVMOrcResourceTrackerRef rt; /* owns the code */
    int nfn;
    tjK_fn *fns;
    char *ir, *ir_opt; /* IR text before and after optimization */
    double ms;
    char diag[512]; /* the first LLVM error diagnostic, if any */
};

tjK_fn tjJ_kernel_fn(const tjJ_module *m, int i)
{
    return m && i >= 0 && i < m->nfn ? m->fns[i] : NULL;
}

const char *tjJ_module_ir(const tjJ_module *m, bool optimized)
{
    return m ? (optimized ? m->ir_opt : m->ir) : NULL;
}

double tjJ_module_compile_ms(const tjJ_module *m) { return m ? m->ms : 0.0; }

tjJ_engine *tjJ_module_engine(const tjJ_module *m) { return m ? m->eng : NULL; }

void tjJ_module_free(tjJ_module *m)
{
    if (!m)
        return;
    if (m->rt)
        tjJ_engine_remove(m->eng, m->rt);
    free(m->fns);
    free(m->ir);
    free(m->ir_opt);
    free(m);
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

/* LLVM reports errors of the backend as diagnostics; without a handler it prints them and, for
 * an error, exits the process. Keep the first error. */
static void on_diagnostic(LLVMDiagnosticInfoRef di, void *ctx)
{
    tjJ_module *m = ctx;
    if (LLVMGetDiagInfoSeverity(di) != LLVMDSError || m->diag[0])
        return;
    char *msg = LLVMGetDiagInfoDescription(di);
    snprintf(m->diag, sizeof m->diag, "%s", msg ? msg : "unknown");
    LLVMDisposeMessage(msg);
}

/* Symbol names: the caller's name reduced to [A-Za-z0-9_], an engine serial (two live modules
 * with one name stay distinct), the kernel index. */
static char **symbol_names(tjJ_engine *eng, const char *name, int n)
{
    char **syms = calloc((size_t)n, sizeof *syms);
    if (!syms)
        return NULL;
    char clean[96];
    size_t j = 0;
    for (const char *p = name ? name : ""; *p && j + 1 < sizeof clean; p++) {
        char c = *p;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        clean[j++] = ok ? c : '_';
    }
    clean[j] = '\0';
    unsigned long long serial = (unsigned long long)tjJ_engine_serial(eng);
    for (int i = 0; i < n; i++) {
        size_t len = strlen(clean) + 64;
        syms[i] = malloc(len);
        if (!syms[i])
            return syms; /* caller checks every entry */
        snprintf(syms[i], len, "tj_%s_%llu_k%d", clean, serial, i);
    }
    return syms;
}

static void free_names(char **syms, int n)
{
    if (!syms)
        return;
    for (int i = 0; i < n; i++)
        free(syms[i]);
    free(syms);
}

/* Lowers every kernel into mod and verifies it. */
static tj_status build(LLVMModuleRef mod, const tjK_kernel *const *kernels, int n,
                       char *const *syms, char *err, size_t errlen)
{
    for (int i = 0; i < n; i++) {
        tj_status st = tjL_lower(mod, kernels[i], syms[i], err, errlen);
        if (st != TJ_OK)
            return st;
    }
    char *msg = NULL;
    if (LLVMVerifyModule(mod, LLVMReturnStatusAction, &msg)) {
        tjJ_fail(err, errlen, TJ_ERR_JIT, "generated IR does not verify: %s",
                 msg ? msg : "(no message)");
        LLVMDisposeMessage(msg);
        return TJ_ERR_JIT;
    }
    LLVMDisposeMessage(msg);
    return TJ_OK;
}

static tj_status optimize(LLVMModuleRef mod, LLVMTargetMachineRef tm, char *err, size_t errlen)
{
    LLVMPassBuilderOptionsRef opts = LLVMCreatePassBuilderOptions();
    LLVMPassBuilderOptionsSetLoopVectorization(opts, 1);
    LLVMPassBuilderOptionsSetSLPVectorization(opts, 1);
    LLVMPassBuilderOptionsSetLoopInterleaving(opts, 1);
    LLVMPassBuilderOptionsSetLoopUnrolling(opts, 1);
    LLVMErrorRef e = LLVMRunPasses(mod, "default<O3>", tm, opts);
    LLVMDisposePassBuilderOptions(opts);
    return e ? tjJ_fail_llvm(err, errlen, "optimizing the generated IR failed", e) : TJ_OK;
}

tj_status tjJ_compile(tjJ_engine *eng, const tjK_kernel *const *kernels, int nkernels,
                      const char *name, tjJ_module **out, char *err, size_t errlen)
{
    if (!out)
        return tjJ_fail(err, errlen, TJ_ERR_INVALID, "tjJ_compile: out is NULL");
    *out = NULL;
    if (!eng || !kernels || nkernels < 1)
        return tjJ_fail(err, errlen, TJ_ERR_INVALID,
                        "tjJ_compile needs an engine and at least one kernel");
    for (int i = 0; i < nkernels; i++) {
        tj_status st = tjL_validate(kernels[i], err, errlen);
        if (st != TJ_OK)
            return st;
    }
    double t0 = now_ms();
    tj_status st = TJ_OK;
    LLVMOrcThreadSafeContextRef tsc = NULL;
    LLVMModuleRef mod = NULL;
    LLVMTargetMachineRef tm = NULL;
    LLVMTargetDataRef dl = NULL;
    char **syms = NULL;
    tjJ_module *m = calloc(1, sizeof *m);
    if (m) {
        m->fns = calloc((size_t)nkernels, sizeof *m->fns);
        syms = symbol_names(eng, name, nkernels);
    }
    bool names_ok = syms != NULL;
    for (int i = 0; names_ok && i < nkernels; i++)
        names_ok = syms[i] != NULL;
    if (!m || !m->fns || !names_ok) {
        st = tjJ_fail(err, errlen, TJ_ERR_NOMEM, "out of memory compiling %s", name ? name : "");
        goto fail;
    }
    m->eng = eng;
    m->nfn = nkernels;

    tm = tjJ_target_machine(eng, err, errlen);
    if (!tm) {
        st = TJ_ERR_JIT;
        goto fail;
    }
    tsc = LLVMOrcCreateNewThreadSafeContext();
    LLVMContextRef ctx = LLVMOrcThreadSafeContextGetContext(tsc);
    LLVMContextSetDiagnosticHandler(ctx, on_diagnostic, m);
    mod = LLVMModuleCreateWithNameInContext(name ? name : "tj", ctx);
    /* triple and data layout before anything else: the vectorizer's cost model needs them and
     * LLJIT rejects a module whose layout differs from its own */
    char *triple = LLVMGetTargetMachineTriple(tm);
    LLVMSetTarget(mod, triple);
    LLVMDisposeMessage(triple);
    dl = LLVMCreateTargetDataLayout(tm);
    LLVMSetModuleDataLayout(mod, dl);

    st = build(mod, kernels, nkernels, syms, err, errlen);
    if (st != TJ_OK)
        goto fail;
    m->ir = tjJ_module_text(mod);
    st = optimize(mod, tm, err, errlen);
    if (st != TJ_OK)
        goto fail;
    m->ir_opt = tjJ_module_text(mod);
    if (!m->ir || !m->ir_opt) {
        st = tjJ_fail(err, errlen, TJ_ERR_NOMEM, "out of memory keeping the IR of %s",
                      name ? name : "");
        goto fail;
    }
    if (m->diag[0]) {
        st = tjJ_fail(err, errlen, TJ_ERR_JIT, "LLVM reported: %s", m->diag);
        goto fail;
    }
    LLVMOrcThreadSafeModuleRef tsm = LLVMOrcCreateNewThreadSafeModule(mod, tsc); /* takes mod */
    mod = NULL;
    st = tjJ_engine_add(eng, tsm, (const char *const *)syms, nkernels, m->fns, &m->rt, err, errlen);
    if (st == TJ_OK && m->diag[0]) /* a backend error that still produced code */
        st = tjJ_fail(err, errlen, TJ_ERR_JIT, "LLVM reported: %s", m->diag);
    if (st != TJ_OK)
        goto fail;
    m->ms = now_ms() - t0;
    *out = m;
    m = NULL;
fail:
    /* the context is shared with the ThreadSafeModule once made; ours can always go. Later
     * diagnostics cannot reach m: code generation ran inside tjJ_engine_add */
    if (mod)
        LLVMDisposeModule(mod);
    if (tsc)
        LLVMOrcDisposeThreadSafeContext(tsc);
    if (dl)
        LLVMDisposeTargetData(dl);
    if (tm)
        LLVMDisposeTargetMachine(tm);
    free_names(syms, nkernels);
    tjJ_module_free(m);
    return st;
}
