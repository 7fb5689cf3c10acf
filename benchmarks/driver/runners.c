/* Starting the runner processes: tensorjit on one thread and on every core, the C limit, and each
 * peer under the first Python that can import it. Every runner answers a hello line before any
 * measurement starts, so no import or start-up overlaps a timed sample. */
#include "runners.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { HELLO_TIMEOUT = 600 };

typedef struct {
    const char *name, *script, *arg;
    bool system_blas; /* Debian's build, on the system OpenBLAS: gets the run's OPENBLAS_CORETYPE */
} peer_def;

static const peer_def peer_defs[] = {
    {"numpy", "numpy_peer.py", NULL, false},
    {"numexpr", "numexpr_peer.py", NULL, false},
    {"torch", "torch_peer.py", NULL, true},
    {"jax", "jax_peer.py", NULL, false},
    {"pytensor-c", "pytensor_peer.py", "c", false},
    {"pytensor-numba", "pytensor_peer.py", "numba", false},
};

static void log_path(const char *dir, const char *name, char *out, size_t len)
{
    snprintf(out, len, "%s/%s.log", dir, name);
    for (char *p = out + strlen(dir) + 1; *p; p++)
        if (*p == ' ')
            *p = '_';
}

/* Reads the hello line; 0 = ready, 1 = the runner says skip (reason in note), -1 = failure. */
static int hello(bx_runner *r)
{
    char line[4096];
    jl_obj o;
    int rc = bp_recv(r->proc, HELLO_TIMEOUT, line, sizeof line);
    if (rc != 0 || jl_parse(line, &o) != 0) {
        snprintf(r->note, sizeof r->note, "%s", rc == -2 ? "no hello (timed out)" : "no hello");
        return -1;
    }
    if (!jl_bool(&o, "ok", false)) {
        snprintf(r->note, sizeof r->note, "%s", jl_str(&o, "skip"));
        return 1;
    }
    snprintf(r->version, sizeof r->version, "%s", jl_str(&o, "version"));
    r->note[0] = '\0';
    const char *info = jl_str(&o, "info");
    if (info[0])
        snprintf(r->note, sizeof r->note, "%s", info);
    return 0;
}

static bx_runner *add(bx_run *run, const char *name, rk_kind kind, int threads)
{
    bx_runner *r = &run->runners[run->nrunners++];
    memset(r, 0, sizeof *r);
    snprintf(r->name, sizeof r->name, "%s", name);
    r->kind = kind;
    r->threads = threads;
    return r;
}

void bx_c_runner(const char *tjrun, char *out, size_t len)
{
    snprintf(out, len, "%s-c", tjrun);
}

static void start_native(bx_run *run, const char *tjrun, const char *logs)
{
    int cores = run->cfg.cores;
    char th1[] = "TJ_NUM_THREADS=1", blas1[] = "OPENBLAS_NUM_THREADS=1";
    char thn[32], blasn[48], name[16], path[1024];
    snprintf(thn, sizeof thn, "TJ_NUM_THREADS=%d", cores);
    snprintf(blasn, sizeof blasn, "OPENBLAS_NUM_THREADS=%d", cores);
    snprintf(name, sizeof name, "tj %dt", cores);
    const char *core = run->blas_env[0] ? run->blas_env : NULL;
    /* No disk cache in the runners: "W7 compile cold" must compile (compile_disk.c measures the
     * disk cache in fresh processes), and a benchmark leaves the user's cache alone. */
    const char *env1[] = {th1, blas1, "TJ_CACHE_DIR=off", core, NULL};
    const char *envn[] = {thn, blasn, "TJ_CACHE_DIR=off", core, NULL};
    const char *envc[] = {"OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", core, NULL};
    char crun[1024];
    bx_c_runner(tjrun, crun, sizeof crun); /* the C limit in a process without tensorjit */
    struct {
        const char *name, *bin, *impl, *const *env;
        rk_kind kind;
        int threads;
    } defs[] = {{"tj 1t", tjrun, "tj", env1, RK_TJ, 1}, {name, tjrun, "tj", envn, RK_TJ, cores},
                {"C", crun, "c", envc, RK_C, 0}};
    for (int i = 0; i < 3; i++) {
        bx_runner *r = add(run, defs[i].name, defs[i].kind, defs[i].threads);
        char *argv[] = {(char *)defs[i].bin, (char *)defs[i].impl, NULL};
        log_path(logs, r->name, path, sizeof path);
        r->proc = bp_start(argv, defs[i].env, path);
        if (!r->proc)
            snprintf(r->note, sizeof r->note, "could not start %.200s", defs[i].bin);
    }
    for (int i = run->nrunners - 3; i < run->nrunners; i++) {
        bx_runner *r = &run->runners[i];
        if (r->proc && hello(r) != 0) {
            bp_stop(r->proc);
            r->proc = NULL;
        }
    }
}

static void start_peers(bx_run *run, const bx_paths *paths)
{
    const char *blas_env[] = {run->blas_env[0] ? run->blas_env : NULL, NULL};
    int n = (int)(sizeof peer_defs / sizeof peer_defs[0]);
    bx_runner *rs[16];
    for (int i = 0; i < n; i++)
        rs[i] = add(run, peer_defs[i].name, RK_PEER, 0);
    for (int py = 0; py < paths->npythons; py++) {
        /* Every peer still missing starts under this Python at once; then each hello is read. */
        for (int i = 0; i < n; i++) {
            if (rs[i]->version[0])
                continue;
            char script[1024], path[1024];
            snprintf(script, sizeof script, "%s/%s", paths->peers_dir, peer_defs[i].script);
            char *argv[] = {(char *)paths->pythons[py], script, (char *)peer_defs[i].arg, NULL};
            log_path(paths->log_dir, rs[i]->name, path, sizeof path);
            rs[i]->proc = bp_start(argv, peer_defs[i].system_blas ? blas_env : NULL, path);
            snprintf(rs[i]->interp, sizeof rs[i]->interp, "%s", paths->pythons[py]);
        }
        for (int i = 0; i < n; i++) {
            if (!rs[i]->proc || rs[i]->version[0])
                continue;
            char prev[600], head[600], tail[600];
            bx_note(prev, sizeof prev, rs[i]->note, NULL);
            if (hello(rs[i]) != 0) {
                bp_stop(rs[i]->proc);
                rs[i]->proc = NULL;
                bx_note(head, sizeof head, prev, prev[0] ? "; " : "");
                bx_note(tail, sizeof tail, paths->pythons[py], ": ");
                bx_note(prev, sizeof prev, tail, rs[i]->note);
                bx_note(rs[i]->note, sizeof rs[i]->note, head, prev);
                rs[i]->interp[0] = '\0';
            }
        }
    }
    for (int i = 0; i < n; i++)
        if (!rs[i]->proc && !rs[i]->note[0])
            snprintf(rs[i]->note, sizeof rs[i]->note, "no Python given (make bench-peers)");
}

void bx_start_runners(bx_run *run, const bx_paths *paths, bool with_peers)
{
    start_native(run, paths->tjrun, paths->log_dir);
    if (with_peers)
        start_peers(run, paths);
}

void bx_stop_runners(bx_run *run)
{
    for (int i = 0; i < run->nrunners; i++) {
        bp_stop(run->runners[i].proc);
        run->runners[i].proc = NULL;
    }
}
