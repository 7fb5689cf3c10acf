/* tjJ_compile and the engine of a context, on the core side: no LLVM here.
 *
 * The identity of compiled code is a digest: SHA-256 of the library version, the LLVM version it
 * was built against, a hash of the code generator's sources (TJ_JIT_BUILD_ID, so an edited
 * lowering never runs stale cached objects), the host CPU's identity and the kernels' canonical
 * bytes. Symbols are named after it, so cached objects link in any process; the engine keeps one
 * live module per digest (refcounted), so the same kernels are never linked twice into one JIT.
 *
 * Code comes from, in order: a live module of the engine; the disk cache, linked by our own
 * loader (elf_load.c), so such a process never loads LLVM; the LLVM plugin (backend.h), which
 * compiles, after which the objects go to the disk cache and into the plugin's LLJIT. */
#include "elf_load.h"
#include "jit.h"
#include "objcache.h"
#include "runtime_symbols.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <malloc.h>
#include <string.h>
#include <unistd.h>

#include "jit_build_id.h" /* generated: a hash of the code generator's sources */

struct tjJ_engine {
    pthread_mutex_t lock; /* the live list; every add, lookup and removal in the LLJIT */
    tjJ_module *live;     /* modules whose code is linked, by digest */
    char *cache_dir;      /* the disk cache, or NULL when it is off */
    const tjJ_backend *be;
    tjJ_orc *orc;         /* the plugin's LLJIT, made at the first compile from scratch */
    tj_allocator mem;     /* the context's: the engine, its modules and their texts */
};

struct tjJ_module {
    tjJ_engine *eng;
    tjJ_module *next; /* the engine's live list */
    int refs;         /* under the engine lock */
    uint8_t digest[TJJ_DIGEST_LEN];
    void *orc_code;   /* the LLJIT's resource tracker, for code compiled here */
    tjJ_image *image; /* our loader's mapping, for code from the disk cache */
    int nfn;
    tjK_fn *fns;
    tjJ_artifacts art; /* texts per group; the objects are dropped once linked */
    char *ir, *ir_opt; /* all groups' texts, joined on first request */
    double ms;
    bool from_disk;
};

/* ---- the engine ----------------------------------------------------------------------------- */

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

tj_status tjJ_engine_new(const tj_allocator *mem, tjJ_engine **out, char *err, size_t errlen)
{
    if (!out)
        return tjJ_fail(err, errlen, TJ_ERR_INVALID, "tjJ_engine_new: out is NULL");
    *out = NULL;
    tjJ_engine *eng = tjC_mem_calloc(mem, 1, sizeof *eng);
    if (!eng)
        return tjJ_fail(err, errlen, TJ_ERR_NOMEM, "out of memory creating the JIT engine");
    if (mem)
        eng->mem = *mem;
    if (pthread_mutex_init(&eng->lock, NULL) != 0) {
        tjC_mem_free(mem, eng);
        return tjJ_fail(err, errlen, TJ_ERR_NOMEM, "could not create the JIT engine lock");
    }
    if (!cache_dir_from_env(mem, &eng->cache_dir)) {
        tjJ_engine_free(eng);
        return tjJ_fail(err, errlen, TJ_ERR_NOMEM, "out of memory creating the JIT engine");
    }
    *out = eng;
    return TJ_OK;
}

void tjJ_engine_free(tjJ_engine *eng)
{
    if (!eng)
        return;
    if (eng->orc)
        eng->be->orc_free(eng->orc);
    pthread_mutex_destroy(&eng->lock);
    tj_allocator mem = eng->mem; /* the engine's own block goes back through it last */
    tjC_mem_free(&mem, eng->cache_dir);
    tjC_mem_free(&mem, eng);
}

/* ---- modules -------------------------------------------------------------------------------- */

tjK_fn tjJ_kernel_fn(const tjJ_module *m, int i)
{
    return m && i >= 0 && i < m->nfn ? m->fns[i] : NULL;
}

double tjJ_module_compile_ms(const tjJ_module *m) { return m ? m->ms : 0.0; }
bool tjJ_module_from_disk(const tjJ_module *m) { return m && m->from_disk; }

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
        *text = join(&m->eng->mem, optimized ? m->art.ir_opt : m->art.ir, m->art.ngroups);
    return *text;
}

char *tjJ_module_asm(tjJ_module *m)
{
    if (!m)
        return NULL;
    bool unavailable; /* the server prints it, so this process still maps no LLVM */
    char *text = tjJ_remote_assembly(m->art.ir_opt, m->art.ngroups, &unavailable);
    const tjJ_backend *be = unavailable ? tjJ_backend_get(NULL, 0) : NULL;
    return be ? be->assembly(m->art.ir_opt, m->art.ngroups) : text;
}

static void module_destroy(tjJ_module *m)
{
    tjJ_engine *eng = m->eng;
    if (m->orc_code) {
        pthread_mutex_lock(&eng->lock);
        eng->be->unlink(eng->orc, m->orc_code);
        pthread_mutex_unlock(&eng->lock);
    }
    tjJ_image_free(m->image);
    tjJ_artifacts_free(&m->art);
    tjC_mem_free(&eng->mem, m->fns);
    tjC_mem_free(&eng->mem, m->ir);
    tjC_mem_free(&eng->mem, m->ir_opt);
    tjC_mem_free(&eng->mem, m);
}

void tjJ_module_free(tjJ_module *m)
{
    if (!m)
        return;
    pthread_mutex_lock(&m->eng->lock);
    bool last = --m->refs == 0;
    if (last)
        for (tjJ_module **p = &m->eng->live; *p; p = &(*p)->next)
            if (*p == m) {
                *p = m->next;
                break;
            }
    pthread_mutex_unlock(&m->eng->lock);
    if (last)
        module_destroy(m);
}

/* ---- identity ------------------------------------------------------------------------------- */

/* The digest of the kernels' bytes; *known false for a host we cannot identify (no disk cache
 * then). */
static void digest_of(const unsigned char *ser, size_t serlen, uint8_t *digest, bool *known)
{
    const char *host = tjJ_host_id();
    *known = host != NULL;
    static const char env[] = "tensorjit " TJ_VERSION_STRING " llvm " TJ_LLVM_VERSION
                              " codegen " TJ_JIT_BUILD_ID;
    tjJ_sha256 h;
    tjJ_sha256_init(&h);
    tjJ_sha256_update(&h, env, sizeof env);
    tjJ_sha256_update(&h, host ? host : "", host ? strlen(host) + 1 : 1);
    tjJ_sha256_update(&h, ser, serlen);
    tjJ_sha256_final(&h, digest);
}

/* Kernel i's symbol: named after the digest, so a cached object links in any process. */
static void symbol_name(const uint8_t *digest, int i, char *out, size_t len)
{
    char hex[33];
    for (int b = 0; b < 16; b++)
        snprintf(hex + 2 * b, 3, "%02x", digest[b]);
    snprintf(out, len, "tjk_%s_%d", hex, i);
}

static tjJ_module *find_live(tjJ_engine *eng, const uint8_t *digest)
{
    for (tjJ_module *m = eng->live; m; m = m->next)
        if (!memcmp(m->digest, digest, sizeof m->digest))
            return m;
    return NULL;
}

/* ---- linking -------------------------------------------------------------------------------- */

/* Our table first; then, as the LLJIT does for code compiled here, the process's symbols (a
 * newer code generator may call a libm function the table does not list yet). */
static void *runtime_symbol(const char *name)
{
    for (size_t i = 0; i < sizeof tjJ_runtime_symbols / sizeof *tjJ_runtime_symbols; i++)
        if (!strcmp(tjJ_runtime_symbols[i].name, name))
            return tjJ_runtime_symbols[i].addr;
    return dlsym(RTLD_DEFAULT, name);
}

/* Code from the disk cache, through our loader (the same fault points as the LLJIT's). */
static tj_status load_image(tjJ_module *m, const char *const *syms, char *err, size_t errlen)
{
    enum { MAX = 64 };
    const void *objs[MAX];
    size_t lens[MAX];
    if (m->art.ngroups > MAX)
        return tjJ_fail(err, errlen, TJ_ERR_JIT, "%d object files, at most %d", m->art.ngroups,
                        MAX);
    for (int g = 0; g < m->art.ngroups; g++) {
        objs[g] = m->art.obj[g].p;
        lens[g] = m->art.obj[g].len;
    }
    const char *fault = tjJ_fault("add") ? "add" : tjJ_fault("lookup") ? "lookup" : NULL;
    if (fault)
        return tjJ_fail(err, errlen, TJ_ERR_JIT, "linking failed: injected fault (TJ_JIT_FAULT=%s)",
                        fault);
    return tjJ_image_load(&m->eng->mem, objs, lens, m->art.ngroups, runtime_symbol, syms, m->nfn,
                          (void **)m->fns, &m->image, err, errlen);
}

/* A new compile: objects into art (and the disk cache when path is set), made by the compile
 * server (*remote true: our loader links them) or, when no server can run, by the plugin in this
 * process (the LLJIT links them). */
static tj_status compile_new(tjJ_module *m, const tjK_kernel *const *kernels,
                             const char *const *syms, const unsigned char *ser, size_t serlen,
                             const char *path, bool *remote, char *err, size_t errlen)
{
    tjJ_engine *eng = m->eng;
    /* How many threads compile: $TJ_JIT_THREADS, else the online cores (at most 8). */
    const char *env = getenv("TJ_JIT_THREADS");
    long ng = env && *env ? strtol(env, NULL, 10) : sysconf(_SC_NPROCESSORS_ONLN);
    ng = ng < 1 ? 1 : ng > 8 ? 8 : ng;
    ng = ng < m->nfn ? ng : m->nfn;
    if (!tjJ_artifacts_alloc(&eng->mem, &m->art, (int)ng))
        return tjJ_fail(err, errlen, TJ_ERR_NOMEM, "out of memory compiling %d kernels", m->nfn);
    bool unavailable;
    tj_status st = tjJ_remote_compile(ser, serlen, m->nfn, syms, &m->art, &unavailable, err,
                                      errlen);
    *remote = !unavailable;
    if (unavailable) {
        const tjJ_backend *be = tjJ_backend_get(err, errlen);
        if (!be)
            return TJ_ERR_JIT;
        st = be->compile(kernels, m->nfn, syms, &m->art, err, errlen);
#ifdef __GLIBC__
        malloc_trim(0); /* LLVM's freed working memory goes back to the system, not to peak RSS */
#endif
    }
    if (st == TJ_OK && path)
        tjJ_cache_store(path, eng->cache_dir, m->digest, &m->art);
    return st;
}

/* With the engine lock held: the plugin's LLJIT links art (made on first use). */
static tj_status link_orc_locked(tjJ_module *m, const char *const *syms, char *err,
                                 size_t errlen)
{
    tjJ_engine *eng = m->eng;
    if (!eng->orc) {
        eng->be = tjJ_backend_get(err, errlen);
        if (!eng->be)
            return TJ_ERR_JIT;
        if (!(eng->orc = eng->be->orc_new(&eng->mem, err, errlen)))
            return TJ_ERR_JIT;
    }
    return eng->be->link(eng->orc, &m->art, syms, m->nfn, m->fns, &m->orc_code, err, errlen);
}

/* ---- the entry point ------------------------------------------------------------------------ */

static tj_status compile_module(tjJ_module *m, const tjK_kernel *const *kernels,
                                const char *const *syms, const unsigned char *ser, size_t serlen,
                                bool cacheable, tjJ_module **out, char *err, size_t errlen)
{
    tjJ_engine *eng = m->eng;
    char path[4200];
    bool cached = cacheable && tjJ_cache_path(eng->cache_dir, m->digest, path, sizeof path);
    bool nomem = false;
    m->from_disk = cached && tjJ_cache_load(&eng->mem, path, m->digest, &m->art, &nomem);
    if (nomem)
        return tjJ_fail(err, errlen, TJ_ERR_NOMEM, "out of memory reading the disk cache (%s)",
                        path);
    tj_status st = TJ_OK;
    if (m->from_disk) {
        st = load_image(m, syms, err, errlen);
        if (st != TJ_OK) { /* say where the code came from */
            char why[1024];
            snprintf(why, sizeof why, "%s", err);
            return tjJ_fail(err, errlen, st, "code loaded from the disk cache (%s): %s", path,
                            why);
        }
    } else {
        bool remote = false;
        st = compile_new(m, kernels, syms, ser, serlen, cached ? path : NULL, &remote, err,
                         errlen);
        if (st == TJ_OK && remote)
            st = load_image(m, syms, err, errlen);
        if (st != TJ_OK)
            return st;
    }
    pthread_mutex_lock(&eng->lock);
    tjJ_module *live = find_live(eng, m->digest); /* another thread may have linked it */
    if (live)
        live->refs++;
    else if (!m->image) /* compiled in this process */
        st = link_orc_locked(m, syms, err, errlen);
    if (st == TJ_OK && !live) {
        m->next = eng->live;
        eng->live = m;
        *out = m;
    }
    pthread_mutex_unlock(&eng->lock);
    if (live)
        *out = live;
    for (int g = 0; st == TJ_OK && !live && g < m->art.ngroups; g++) { /* linked: not needed */
        tjC_mem_free(&eng->mem, m->art.obj[g].p);
        m->art.obj[g] = (tjJ_bytes){0};
    }
    return st;
}

tj_status tjJ_compile(tjJ_engine *eng, const tjK_kernel *const *kernels, int nkernels,
                      const unsigned char *ser, size_t serlen, tjJ_module **out, char *err,
                      size_t errlen)
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
    double t0 = (double)tjC_now_ns() * 1e-6;
    const tj_allocator *mem = &eng->mem;
    unsigned char *own = ser ? NULL : tjK_serialize(mem, kernels, nkernels, &serlen);
    ser = ser ? ser : own;
    tjJ_module *m = ser ? tjC_mem_calloc(mem, 1, sizeof *m) : NULL;
    char **syms = tjC_mem_calloc(mem, (size_t)nkernels, sizeof *syms);
    bool known = false;
    if (m)
        m->fns = tjC_mem_calloc(mem, (size_t)nkernels, sizeof *m->fns);
    if (!m || !m->fns || !syms) {
        tjC_mem_free(mem, own);
        tjC_mem_free(mem, syms);
        if (m)
            tjC_mem_free(mem, m->fns);
        tjC_mem_free(mem, m);
        return tjJ_fail(err, errlen, TJ_ERR_NOMEM, "out of memory compiling %d kernels",
                        nkernels);
    }
    digest_of(ser, serlen, m->digest, &known);
    m->eng = eng;
    m->nfn = nkernels;
    m->refs = 1;
    tj_status st = TJ_OK;
    for (int i = 0; i < nkernels && st == TJ_OK; i++)
        if (!(syms[i] = tjC_mem_malloc(mem, 64)))
            st = tjJ_fail(err, errlen, TJ_ERR_NOMEM, "out of memory naming kernels");
        else
            symbol_name(m->digest, i, syms[i], 64);
    pthread_mutex_lock(&eng->lock);
    tjJ_module *live = st == TJ_OK ? find_live(eng, m->digest) : NULL;
    if (live)
        live->refs++;
    pthread_mutex_unlock(&eng->lock);
    if (live) /* the same kernels are already linked: share them */
        *out = live;
    else if (st == TJ_OK)
        st = compile_module(m, kernels, (const char *const *)syms, ser, serlen, known, out, err,
                            errlen);
    if (*out == m)
        m->ms = (double)tjC_now_ns() * 1e-6 - t0;
    else
        module_destroy(m);
    for (int i = 0; i < nkernels; i++)
        tjC_mem_free(mem, syms[i]);
    tjC_mem_free(mem, syms);
    tjC_mem_free(mem, own);
    return st;
}
