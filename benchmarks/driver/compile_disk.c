/* W7 across processes: pairs of fresh `tjrun --compile-once` processes sharing a new, empty
 * TJ_CACHE_DIR. The first compiles cold (including LLVM's start-up in a new process); the second
 * is the "new process, disk cache warm" case, and counts only if tensorjit reports disk-cache hits:
 * without them there is no disk cache and nothing is reported as if there were. A full run takes
 * `samples` pairs; QUICK stops early (after at least one pair) once 20 s have gone, and says so. */
#include "bench.h"

#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void bx_remove_tree(const char *dir) { nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS); }

static int compile_once(const char *tjrun, const char *dir, const char *log, const char *blas_env,
                        jl_obj *o)
{
    char env_dir[600];
    snprintf(env_dir, sizeof env_dir, "TJ_CACHE_DIR=%s", dir);
    const char *env[] = {env_dir, blas_env[0] ? blas_env : NULL, NULL};
    char *argv[] = {(char *)tjrun, "--compile-once", "784", NULL};
    bp_proc *p = bp_start(argv, env, log);
    if (!p)
        return -1;
    char line[1024];
    int rc = bp_recv(p, 300, line, sizeof line);
    bp_finish(p, 30, NULL);
    if (rc != 0 || jl_parse(line, o) != 0 || !jl_bool(o, "ok", false))
        return -1;
    return 0;
}

enum { QUICK_BUDGET_S = 20 };

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

void bx_measure_disk_cache(bx_run *run, const char *tjrun, const char *log_path)
{
    bx_disk *d = &run->disk;
    memset(d, 0, sizeof *d);
    d->ok = true;
    double start = now();
    for (int i = 0; i < run->cfg.samples && i < BX_MAX_SAMPLES; i++) {
        if (run->cfg.quick && i > 0 && now() - start > QUICK_BUDGET_S) {
            snprintf(d->note, sizeof d->note, "QUICK: %d pairs in the time budget", i);
            break;
        }
        char dir[] = "/tmp/tjbench-cache-XXXXXX";
        if (!mkdtemp(dir)) {
            snprintf(d->note, sizeof d->note, "mkdtemp failed");
            d->ok = false;
            return;
        }
        jl_obj a, b;
        int rc = compile_once(tjrun, dir, log_path, run->blas_env, &a);
        if (rc == 0)
            rc = compile_once(tjrun, dir, log_path, run->blas_env, &b);
        bx_remove_tree(dir);
        if (rc != 0) {
            snprintf(d->note, sizeof d->note, "tjrun --compile-once failed (see the log)");
            d->ok = false;
            return;
        }
        d->first[d->n] = jl_num(&a, "compile_s", NAN);
        d->warm[d->n] = jl_num(&b, "compile_s", NAN);
        d->first_llvm_compiles += (unsigned long long)jl_num(&a, "llvm_compiles", 0);
        d->disk_hits += (unsigned long long)jl_num(&b, "disk_cache_hits", 0);
        d->n++;
    }
    d->first_median = bx_median(d->first, d->n, &d->first_min, &d->first_max);
    d->warm_median = bx_median(d->warm, d->n, &d->warm_min, &d->warm_max);
    if (d->disk_hits == 0)
        snprintf(d->note, sizeof d->note,
                 "n/a: no disk cache (the second process reported 0 disk-cache hits)");
    d->quick_cut = d->n < run->cfg.samples;
}
