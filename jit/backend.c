/* Finding the LLVM plugin (libtensorjit-llvm.so) at the first compile from scratch.
 *
 * Where: $TJ_LLVM_PLUGIN when set (a path); else beside the binary that holds this code (the
 * installed libtensorjit.so, or an executable linked with the static library); else the
 * install's library directory; else the build tree. The plugin must come from the same build:
 * its ABI number and the hash of the code generator's sources must equal ours, since both sides
 * share kernel descriptions and the disk cache's key. */
#include "backend.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jit_build_id.h"

#define PLUGIN "libtensorjit-llvm.so"

static pthread_once_t once = PTHREAD_ONCE_INIT;
static const tjJ_backend *backend;
static char why[1024];

/* Opens path; on success sets backend, else appends the reason to why. */
static void try_open(const char *path)
{
    if (backend || !path)
        return;
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    size_t at = strlen(why);
    if (!h) {
        const char *e = dlerror();
        snprintf(why + at, sizeof why - at, "%s%s", at ? "; " : "", e ? e : path);
        return;
    }
    const tjJ_backend *(*get)(void);
    *(void **)&get = dlsym(h, TJJ_BACKEND_SYMBOL);
    const tjJ_backend *b = get ? get() : NULL;
    if (b && b->abi == TJJ_BACKEND_ABI && !strcmp(b->build_id, TJ_JIT_BUILD_ID)) {
        backend = b; /* kept open for the process: its code may be running */
        return;
    }
    snprintf(why + at, sizeof why - at, "%s%s is %s", at ? "; " : "", path,
             b ? "from another build of tensorjit" : "not a tensorjit plugin");
    dlclose(h);
}

int tjJ_install_paths(const char *file, char paths[3][4096])
{
    const char *env = getenv("TJ_LLVM_PLUGIN");
    if (env && *env) { /* the directory of the plugin named there */
        const char *slash = strrchr(env, '/');
        int dir = slash ? (int)(slash - env) : 1;
        snprintf(paths[0], sizeof paths[0], "%.*s/%s", dir, slash ? env : ".", file);
        return 1;
    }
    char here[4096] = "";
    Dl_info info;
    if (dladdr((void *)tjJ_install_paths, &info) && info.dli_fname) {
        const char *slash = strrchr(info.dli_fname, '/');
        if (slash)
            snprintf(here, sizeof here, "%.*s/%s", (int)(slash - info.dli_fname),
                     info.dli_fname, file);
    }
    const char *dirs[] = {TJ_PLUGIN_INSTALL_DIR, TJ_PLUGIN_BUILD_DIR};
    int n = 0;
    if (here[0])
        snprintf(paths[n++], sizeof paths[0], "%s", here);
    for (int i = 0; i < 2; i++) { /* in a build tree the binary's directory is the build dir */
        char p[4096];
        snprintf(p, sizeof p, "%s/%s", dirs[i], file);
        bool seen = false;
        for (int j = 0; j < n && !seen; j++)
            seen = !strcmp(p, paths[j]);
        if (!seen)
            snprintf(paths[n++], sizeof paths[0], "%s", p);
    }
    return n;
}

static void open_plugin(void)
{
    const char *env = getenv("TJ_LLVM_PLUGIN");
    if (env && *env) {
        try_open(env);
        return;
    }
    char paths[3][4096];
    int n = tjJ_install_paths(PLUGIN, paths);
    for (int i = 0; i < n; i++)
        try_open(paths[i]);
}

const tjJ_backend *tjJ_backend_get(char *err, size_t errlen)
{
    pthread_once(&once, open_plugin);
    if (!backend)
        tjJ_fail(err, errlen, TJ_ERR_JIT,
                 "the LLVM plugin (" PLUGIN ") could not be loaded: %s; set TJ_LLVM_PLUGIN to its "
                 "path",
                 why[0] ? why : "not found");
    return backend;
}
