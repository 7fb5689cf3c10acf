/* Peak memory: each configuration runs in a fresh `tjrun --rss` process (setup, a few operations)
 * that reports its getrusage ru_maxrss; three rounds (one in QUICK), interleaved, median reported.
 * The C limit runs in tjrun-c, a process without tensorjit and libLLVM, as a C program would.
 * Idle processes (each binary, nothing run) give the floors: tjrun's is mostly libLLVM, whose
 * static constructors alone make ~37 MB of its code resident when it is loaded.
 * tensorjit runs without a disk cache (LLVM compiles in the compile server, a process of its
 * own whose peak is reported beside: ~46 MB of it is libLLVM) and, once per workload, with the
 * disk cache warm (a process of a program run before: the compiled code is loaded, no LLVM). */
#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { ROUNDS = 3, QUICK_ROUNDS = 1, OPS = 5 };

typedef struct {
    const char *what, *impl, *workload, *size, *variant;
    int tj; /* tensorjit: 1 = one thread, 2 = every core; 0 for C */
    bool disk; /* tensorjit with the disk cache warm */
} config;

static const config configs[] = {
    {"idle process", "tj", "idle", "-", "-", 0, false},
    {"idle process", "c", "idle", "-", "-", 0, false},
    {"W6 batch 256", "tj", "W6", "256", "-", 1, false},
    {"W6 batch 256", "tj", "W6", "256", "-", 2, false},
    {"W6 batch 256", "tj", "W6", "256", "-", 1, true},
    {"W6 batch 256", "c", "W6", "256", "blas_1t", 0, false},
    {"W6 batch 256", "c", "W6", "256", "blas_mt", 0, false},
    {"W2 100000x100", "tj", "W2", "100000x100", "-", 1, false},
    {"W2 100000x100", "tj", "W2", "100000x100", "-", 2, false},
    {"W2 100000x100", "tj", "W2", "100000x100", "-", 1, true},
    {"W2 100000x100", "c", "W2", "100000x100", "two_pass_1t", 0, false},
    {"W2 100000x100", "c", "W2", "100000x100", "blocked_1t", 0, false},
};

static void run_one(const config *c, bx_mem *m, const char *tjrun, const char *log, int cores,
                    const char *blas_env, const char *cache_dir)
{
    char ops[16], th[32], blas[48], cache[300] = "TJ_CACHE_DIR=off";
    if (c->disk)
        snprintf(cache, sizeof cache, "TJ_CACHE_DIR=%s", cache_dir);
    snprintf(ops, sizeof ops, "%d", OPS);
    snprintf(th, sizeof th, "TJ_NUM_THREADS=%d", c->tj == 1 ? 1 : cores);
    snprintf(blas, sizeof blas, "OPENBLAS_NUM_THREADS=%d", c->tj == 1 ? 1 : cores);
    const char *env[] = {th, blas, cache, blas_env[0] ? blas_env : NULL, NULL};
    const char *cenv[] = {blas_env[0] ? blas_env : NULL, NULL};
    char crun[1024];
    bx_c_runner(tjrun, crun, sizeof crun);
    const char *bin = strcmp(c->impl, "c") == 0 ? crun : tjrun;
    char *argv[] = {(char *)bin, "--rss", (char *)c->impl, (char *)c->workload,
                    (char *)c->size, (char *)c->variant, ops, NULL};
    bp_proc *p = bp_start(argv, c->tj ? env : cenv, log);
    char line[1024];
    jl_obj o;
    if (!p) {
        snprintf(m->note, sizeof m->note, "could not start %.200s", bin);
        m->ok = false;
        return;
    }
    int rc = bp_recv(p, 600, line, sizeof line);
    bp_finish(p, 30, NULL);
    if (rc != 0 || jl_parse(line, &o) != 0 || !jl_bool(&o, "ok", false)) {
        snprintf(m->note, sizeof m->note, "%s", rc == 0 ? jl_str(&o, "error") : "no answer");
        m->ok = false;
        return;
    }
    m->mb[m->n++] = jl_num(&o, "maxrss_kb", 0) / 1024.0;
    m->hwm_mb = jl_num(&o, "hwm_kb", 0) / 1024.0;
    m->server_mb = jl_num(&o, "server_kb", 0) / 1024.0;
}

void bx_measure_memory(bx_run *run, const char *tjrun, const char *log_path)
{
    int n = (int)(sizeof configs / sizeof configs[0]);
    run->nmem = 0;
    for (int i = 0; i < n; i++) {
        bx_mem *m = &run->mem[run->nmem++];
        memset(m, 0, sizeof *m);
        snprintf(m->what, sizeof m->what, "%s", configs[i].what);
        if (configs[i].tj)
            snprintf(m->config, sizeof m->config, "tj %dt%s",
                     configs[i].tj == 1 ? 1 : run->cfg.cores,
                     configs[i].disk ? ", disk cache warm" : "");
        else if (strcmp(configs[i].workload, "idle") == 0)
            snprintf(m->config, sizeof m->config, "%s, nothing run",
                     strcmp(configs[i].impl, "c") == 0 ? "tjrun-c" : "tjrun");
        else
            snprintf(m->config, sizeof m->config, "C %s", configs[i].variant);
        m->is_c = strcmp(configs[i].impl, "c") == 0 && strcmp(configs[i].workload, "idle") != 0;
        m->ok = true;
    }
    char dir[] = "/tmp/tjbench-mem-XXXXXX";
    bool have_dir = mkdtemp(dir) != NULL;
    for (int i = 0; i < n; i++) { /* fill the disk cache: one unmeasured run per workload */
        bx_mem *m = &run->mem[i];
        if (configs[i].disk && !have_dir) {
            snprintf(m->note, sizeof m->note, "mkdtemp failed");
            m->ok = false;
        } else if (configs[i].disk) {
            run_one(&configs[i], m, tjrun, log_path, run->cfg.cores, run->blas_env, dir);
            m->n = 0;
        }
    }
    for (int r = 0; r < (run->cfg.quick ? QUICK_ROUNDS : ROUNDS); r++)
        for (int i = 0; i < n; i++)
            if (run->mem[i].ok)
                run_one(&configs[i], &run->mem[i], tjrun, log_path, run->cfg.cores,
                        run->blas_env, dir);
    if (have_dir)
        bx_remove_tree(dir);
    for (int i = 0; i < n; i++) {
        bx_mem *m = &run->mem[i];
        double lo, hi;
        if (m->ok)
            m->median_mb = bx_median(m->mb, m->n, &lo, &hi);
    }
}
