/* Texts for inspection: IR before/after optimization (kept by compile.c) and native assembly.
 *
 * Assembly is produced on demand from the optimized IR text, parsed into a fresh context: the
 * module given to the JIT is consumed by its code generation and lives in a context the JIT may
 * still use, so re-parsing is the one copy that nobody else touches. Same target machine
 * settings as the JIT, so the text is the code that runs. */
#include "llvm.h"

#include <llvm-c/IRReader.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *tjO_module_text(const tj_allocator *mem, LLVMModuleRef m)
{
    char *s = LLVMPrintModuleToString(m);
    char *copy = s ? tjC_mem_strdup(mem, s) : NULL;
    LLVMDisposeMessage(s);
    return copy;
}

static void ignore_diagnostic(LLVMDiagnosticInfoRef di, void *ctx)
{
    (void)di;
    (void)ctx;
}

/* One group's optimized IR -> assembly text (from mem), or NULL. */
static char *group_asm(const tj_allocator *mem, LLVMTargetMachineRef tm, const char *ir)
{
    char *out = NULL, *msg = NULL;
    LLVMContextRef ctx = LLVMContextCreate();
    LLVMContextSetDiagnosticHandler(ctx, ignore_diagnostic, NULL);
    LLVMModuleRef mod = NULL;
    LLVMMemoryBufferRef text = LLVMCreateMemoryBufferWithMemoryRangeCopy(ir, strlen(ir), "ir");
    LLVMMemoryBufferRef code = NULL;
    if (LLVMParseIRInContext(ctx, text, &mod, &msg)) /* takes text */
        goto done;
    if (LLVMTargetMachineEmitToMemoryBuffer(tm, mod, LLVMAssemblyFile, &msg, &code))
        goto done;
    size_t n = LLVMGetBufferSize(code);
    out = tjC_mem_malloc(mem, n + 1);
    if (out) {
        memcpy(out, LLVMGetBufferStart(code), n);
        out[n] = '\0';
    }
done:
    LLVMDisposeMessage(msg);
    if (code)
        LLVMDisposeMemoryBuffer(code);
    if (mod)
        LLVMDisposeModule(mod);
    LLVMContextDispose(ctx);
    return out;
}

char *tjO_assembly(char *const *ir_opt, int ngroups)
{
    if (ngroups < 1)
        return NULL;
    LLVMTargetMachineRef tm = tjO_target_machine(NULL, 0);
    if (!tm)
        return NULL;
    /* the result is the caller's to free() (tj_fn_asm): the C library's, not the context's */
    char *all = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&all, &len);
    bool ok = f != NULL;
    for (int g = 0; ok && g < ngroups; g++) {
        char *text = group_asm(NULL, tm, ir_opt[g]);
        ok = text != NULL;
        if (ok)
            fputs(text, f);
        free(text);
    }
    if (f)
        fclose(f);
    LLVMDisposeTargetMachine(tm);
    if (!ok) {
        free(all);
        return NULL;
    }
    return all;
}
