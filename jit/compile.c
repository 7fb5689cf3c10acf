/* tjJ_compile: kernels -> LLVM modules -> verified -> optimized (O3, host CPU) -> object files
 * -> linked into the JIT; or the same object files from the disk cache.
 *
 * The identity of compiled code is a digest: BLAKE3 of the kernels' canonical bytes, the LLVM
 * version, the host triple/CPU/features, the library version, a hash of the code generator's
 * sources (TJ_JIT_BUILD_ID, so an edited lowering never runs stale cached objects) and the
 * pipeline. Symbols are named
 * after it, so cached objects link in any process; the engine keeps one live module per digest
 * (refcounted), so the same kernels are never linked twice into one JIT.
 *
 * Compiling is split across threads: the kernels are dealt into groups, each group is lowered,
 * optimized and code-generated in its own LLVMContext with its own target machine (neither is
 * thread-safe), and only linking takes the engine lock. LLVM never writes to stderr here:
 * diagnostics go to a handler, verification returns a status. */
#define TJ_JIT_PRIVATE
#include "jit.h"

#include <llvm-c/Analysis.h>
#include <llvm-c/Error.h>
#include <llvm-c/Transforms/PassBuilder.h>
#include <llvm-c/blake3.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <malloc.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "jit_build_id.h" /* generated: a hash of the code generator's sources */

#define PIPELINE "default<O3>"

struct tjJ_module {
    tjJ_engine *eng;
    tjJ_module *next; /* the engine's live list */
    int refs;         /* under the engine lock */
    uint8_t digest[LLVM_BLAKE3_OUT_LEN];
    LLVMOrcResourceTrackerRef rt; /* owns the code */
    int nfn;
    tjK_fn *fns;
    tjJ_artifacts art;  /* texts per group (objects were handed to the JIT) */
    char *ir, *ir_opt;  /* all groups' texts, joined on first request */
    double ms;
    bool from_disk;
};

tjK_fn tjJ_kernel_fn(const tjJ_module *m, int i)
{
    return m && i >= 0 && i < m->nfn ? m->fns[i] : NULL;
}

double tjJ_module_compile_ms(const tjJ_module *m) { return m ? m->ms : 0.0; }
bool tjJ_module_from_disk(const tjJ_module *m) { return m && m->from_disk; }
tjJ_engine *tjJ_module_engine(const tjJ_module *m) { return m ? m->eng : NULL; }
int tjJ_module_groups(const tjJ_module *m) { return m ? m->art.ngroups : 0; }
const char *tjJ_module_group_ir(const tjJ_module *m, int g)
{
    return m && g >= 0 && g < m->art.ngroups ? m->art.ir_opt[g] : NULL;
}

static char *join(const tj_allocator *mem, char *const *parts, int n)
{
    size_t len = 1;
    for (int i = 0; i < n; i++)
        len += strlen(parts[i]);
    char *s = tjC_mem_malloc(mem, len), *p = s;
    for (int i = 0; s && i < n; i++) {
        size_t k = strlen(parts[i]);
        memcpy(p, parts[i], k);
        p += k;
    }
    if (s)
        *p = '\0';
    return s;
}

const char *tjJ_module_ir(const tjJ_module *cm, bool optimized)
{
    if (!cm)
        return NULL;
    tjJ_module *m = (tjJ_module *)cm; /* the joined text is a cache, made once */
    char **text = optimized ? &m->ir_opt : &m->ir;
    if (!*text)
        *text = join(tjJ_engine_mem(m->eng), optimized ? m->art.ir_opt : m->art.ir,
                     m->art.ngroups);
    return *text;
}

static void module_destroy(tjJ_module *m)
{
    if (m->rt)
        tjJ_engine_remove(m->eng, m->rt);
    tjJ_artifacts_free(&m->art);
    const tj_allocator *mem = tjJ_engine_mem(m->eng);
    tjC_mem_free(mem, m->fns);
    tjC_mem_free(mem, m->ir);
    tjC_mem_free(mem, m->ir_opt);
    tjC_mem_free(mem, m);
}

void tjJ_module_free(tjJ_module *m)
{
    if (!m)
        return;
    tjJ_engine_lock(m->eng);
    bool last = --m->refs == 0;
    if (last)
        for (tjJ_module **p = tjJ_engine_live(m->eng); *p; p = &(*p)->next)
            if (*p == m) {
                *p = m->next;
                break;
            }
    tjJ_engine_unlock(m->eng);
    if (last)
        module_destroy(m);
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

/* ---- identity ------------------------------------------------------------------------------- */

static bool digest_of(const tjJ_engine *eng, const tjK_kernel *const *kernels, int n,
                      uint8_t *digest)
{
    size_t len;
    unsigned char *bytes = tjK_serialize(tjJ_engine_mem(eng), kernels, n, &len);
    if (!bytes)
        return false;
    const char *triple, *cpu, *features;
    tjJ_engine_host(eng, &triple, &cpu, &features);
    unsigned v[3];
    LLVMGetVersion(&v[0], &v[1], &v[2]);
    char env[192];
    snprintf(env, sizeof env, "llvm %u.%u.%u tensorjit %s codegen %s %s", v[0], v[1], v[2],
             TJ_VERSION_STRING, TJ_JIT_BUILD_ID, PIPELINE);
    llvm_blake3_hasher h;
    llvm_blake3_hasher_init(&h);
    const char *parts[4] = {env, triple, cpu, features};
    for (int i = 0; i < 4; i++)
        llvm_blake3_hasher_update(&h, parts[i], strlen(parts[i]) + 1);
    llvm_blake3_hasher_update(&h, bytes, len);
    llvm_blake3_hasher_finalize(&h, digest, LLVM_BLAKE3_OUT_LEN);
    tjC_mem_free(tjJ_engine_mem(eng), bytes);
    return true;
}

/* Kernel i's symbol: named after the digest, so a cached object links in any process. */
static void symbol_name(const uint8_t *digest, int i, char *out, size_t len)
{
    char hex[33];
    for (int b = 0; b < 16; b++)
        snprintf(hex + 2 * b, 3, "%02x", digest[b]);
    snprintf(out, len, "tjk_%s_%d", hex, i);
}

/* ---- compiling one group -------------------------------------------------------------------- */

typedef struct {
    tjJ_engine *eng;
    const tjK_kernel *const *kernels;
    const uint8_t *digest;
    int *members; /* kernel indices of this group */
    int nmembers;
    char *ir, *ir_opt;
    LLVMMemoryBufferRef obj;
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
    return e ? tjJ_fail_llvm(err, errlen, "optimizing the generated IR failed", e) : TJ_OK;
}

/* lower -> verify -> IR text -> optimize -> IR text -> object file, all in a private context */
static void *compile_group(void *arg)
{
    group *g = arg;
    char *msg = NULL;
    LLVMTargetMachineRef tm = tjJ_target_machine(g->eng, g->err, sizeof g->err);
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
    for (int i = 0; i < g->nmembers && g->st == TJ_OK; i++) {
        char sym[64];
        symbol_name(g->digest, g->members[i], sym, sizeof sym);
        g->st = tjL_lower(mod, g->kernels[g->members[i]], sym, tjJ_engine_mem(g->eng), g->err,
                          sizeof g->err);
    }
    if (g->st == TJ_OK && tjJ_fault("verify"))
        g->st = tjJ_fail(g->err, sizeof g->err, TJ_ERR_JIT,
                         "generated IR does not verify: injected fault (TJ_JIT_FAULT=verify)");
    if (g->st == TJ_OK && LLVMVerifyModule(mod, LLVMReturnStatusAction, &msg))
        g->st = tjJ_fail(g->err, sizeof g->err, TJ_ERR_JIT, "generated IR does not verify: %s",
                         msg ? msg : "(no message)");
    LLVMDisposeMessage(msg);
    msg = NULL;
    if (g->st == TJ_OK && !(g->ir = tjJ_module_text(tjJ_engine_mem(g->eng), mod)))
        g->st = tjJ_fail(g->err, sizeof g->err, TJ_ERR_NOMEM, "out of memory keeping the IR");
    if (g->st == TJ_OK)
        g->st = optimize(mod, tm, g->err, sizeof g->err);
    if (g->st == TJ_OK && !(g->ir_opt = tjJ_module_text(tjJ_engine_mem(g->eng), mod)))
        g->st = tjJ_fail(g->err, sizeof g->err, TJ_ERR_NOMEM, "out of memory keeping the IR");
    if (g->st == TJ_OK &&
        LLVMTargetMachineEmitToMemoryBuffer(tm, mod, LLVMObjectFile, &msg, &g->obj))
        g->st = tjJ_fail(g->err, sizeof g->err, TJ_ERR_JIT, "code generation failed: %s",
                         msg ? msg : "(no message)");
    LLVMDisposeMessage(msg);
    if (g->st == TJ_OK && g->diag[0])
        g->st = tjJ_fail(g->err, sizeof g->err, TJ_ERR_JIT, "LLVM reported: %s", g->diag);
    LLVMDisposeModule(mod);
    LLVMDisposeTargetData(dl);
    LLVMContextDispose(ctx);
    LLVMDisposeTargetMachine(tm);
    return NULL;
}

/* How many threads compile: $TJ_JIT_THREADS, else the online cores (at most 8). */
static int compile_threads(void)
{
    const char *env = getenv("TJ_JIT_THREADS");
    long n = env && *env ? strtol(env, NULL, 10) : sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 8 ? 8 : (int)n;
}

/* Deals kernels into ngroups groups of similar size (largest first, to the lightest group),
 * compiles them in parallel and gathers the artifacts. */
static tj_status compile_all(tjJ_engine *eng, const tjK_kernel *const *kernels, int n,
                             const uint8_t *digest, tjJ_artifacts *art, char *err, size_t errlen)
{
    int ng = compile_threads();
    ng = ng < n ? ng : n;
    const tj_allocator *mem = tjJ_engine_mem(eng);
    group *gs = tjC_mem_calloc(mem, (size_t)ng, sizeof *gs);
    int *order = tjC_mem_malloc(mem, sizeof *order * (size_t)n);
    int *load = tjC_mem_calloc(mem, (size_t)ng, sizeof *load);
    int *slots = tjC_mem_malloc(mem, sizeof *slots * (size_t)n);
    pthread_t *th = tjC_mem_calloc(mem, (size_t)ng, sizeof *th);
    bool *started = tjC_mem_calloc(mem, (size_t)ng, sizeof *started);
    tj_status st = TJ_OK;
    if (!gs || !order || !load || !slots || !th || !started ||
        !tjJ_artifacts_alloc(mem, art, ng)) {
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
        gs[g] = (group){.eng = eng, .kernels = kernels, .digest = digest, .members = slots};
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

/* ---- the entry point ------------------------------------------------------------------------ */

static tjJ_module *find_live(tjJ_engine *eng, const uint8_t *digest)
{
    for (tjJ_module *m = *tjJ_engine_live(eng); m; m = m->next)
        if (!memcmp(m->digest, digest, sizeof m->digest))
            return m;
    return NULL;
}

tj_status tjJ_compile(tjJ_engine *eng, const tjK_kernel *const *kernels, int nkernels,
                      const char *name, tjJ_module **out, char *err, size_t errlen)
{
    (void)name; /* code is named by its digest; the caller's name is for its own messages */
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
    const tj_allocator *mem = tjJ_engine_mem(eng);
    tjJ_module *m = tjC_mem_calloc(mem, 1, sizeof *m);
    char **syms = tjC_mem_calloc(mem, (size_t)nkernels, sizeof *syms);
    if (m)
        m->fns = tjC_mem_calloc(mem, (size_t)nkernels, sizeof *m->fns);
    if (!m || !m->fns || !syms || !digest_of(eng, kernels, nkernels, m->digest)) {
        tjC_mem_free(mem, syms);
        if (m)
            tjC_mem_free(mem, m->fns);
        tjC_mem_free(mem, m);
        return tjJ_fail(err, errlen, TJ_ERR_NOMEM, "out of memory compiling %d kernels",
                        nkernels);
    }
    m->eng = eng;
    m->nfn = nkernels;
    m->refs = 1;
    tj_status st = TJ_OK;
    for (int i = 0; i < nkernels && st == TJ_OK; i++)
        if (!(syms[i] = tjC_mem_malloc(mem, 64)))
            st = tjJ_fail(err, errlen, TJ_ERR_NOMEM, "out of memory naming kernels");
        else
            symbol_name(m->digest, i, syms[i], 64);

    tjJ_engine_lock(eng);
    tjJ_module *live = st == TJ_OK ? find_live(eng, m->digest) : NULL;
    if (live)
        live->refs++;
    tjJ_engine_unlock(eng);
    if (live) { /* the same kernels are already linked: share them */
        *out = live;
        goto done;
    }
    char path[4200];
    bool cached = st == TJ_OK && tjJ_cache_path(tjJ_engine_cache_dir(eng), m->digest, path,
                                                sizeof path);
    bool nomem = false;
    m->from_disk = cached && tjJ_cache_load(mem, path, m->digest, &m->art, &nomem);
    if (nomem)
        st = tjJ_fail(err, errlen, TJ_ERR_NOMEM, "out of memory reading the disk cache (%s)",
                      path);
    if (st == TJ_OK && !m->from_disk) {
        st = compile_all(eng, kernels, nkernels, m->digest, &m->art, err, errlen);
#ifdef __GLIBC__
        malloc_trim(0); /* LLVM's freed working memory goes back to the system, not to peak RSS */
#endif
        if (st == TJ_OK && cached)
            tjJ_cache_store(path, tjJ_engine_cache_dir(eng), m->digest, &m->art);
    }
    if (st == TJ_OK) {
        tjJ_engine_lock(eng);
        live = find_live(eng, m->digest); /* another thread may have linked it meanwhile */
        if (live)
            live->refs++;
        else
            st = tjJ_engine_add_objects_locked(eng, m->art.obj, m->art.ngroups,
                                               (const char *const *)syms, nkernels, m->fns,
                                               &m->rt, err, errlen);
        if (st != TJ_OK && m->from_disk) { /* say where the code came from */
            char why[1024];
            snprintf(why, sizeof why, "%s", err);
            tjJ_fail(err, errlen, st, "code loaded from the disk cache (%s): %s", path, why);
        }
        if (st == TJ_OK && !live) {
            m->next = *tjJ_engine_live(eng);
            *tjJ_engine_live(eng) = m;
        }
        tjJ_engine_unlock(eng);
        if (live) {
            *out = live;
            goto done;
        }
    }
    if (st == TJ_OK) {
        m->ms = now_ms() - t0;
        *out = m;
        m = NULL;
    }
done:
    for (int i = 0; i < nkernels; i++)
        tjC_mem_free(mem, syms[i]);
    tjC_mem_free(mem, syms);
    if (m)
        module_destroy(m);
    return st;
}
