/* tjbench: runs the benchmark cases (cases.c) with tensorjit, the C limit and the peers, and
 * writes the report (stdout and RESULTS/latest.txt), RESULTS/latest.json with a dated copy, and
 * RESULTS/latest.svg. `make bench` runs it; `tjbench --help` lists the options. */
#include "bench.h"
#include "runners.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifndef TJB_SOURCE_DIR
#define TJB_SOURCE_DIR "benchmarks"
#endif

static void usage(FILE *f)
{
    fprintf(f,
            "usage: tjbench [options]\n"
            "  --quick             the reduced set (make bench QUICK=1)\n"
            "  --samples N         samples per participant (at least 7; default 7)\n"
            "  --min-sample-ms M   the shortest sample (at least 20; default 20)\n"
            "  --python PATH       a Python to run the peers with (repeatable, tried in order)\n"
            "  --no-peers          tensorjit and the C limit only\n"
            "  --only W[,W...]     only cases whose workload starts with one of these; MEM for\n"
            "                      peak memory, W7 includes the new-process compile (writes\n"
            "                      partial-* files instead of latest-*)\n"
            "  --runner PATH       the tjrun binary (default: next to tjbench)\n"
            "  --peers DIR         the peer scripts (default: %s/peers)\n"
            "  --out DIR           where results go (default: %s/results)\n"
            "  --git REV           the revision to record\n"
            "  --openblas-coretype auto|default|NAME\n"
            "                      OpenBLAS kernels for tjrun and Debian's torch (auto: replace the\n"
            "                      generic Prescott fallback by what the CPU runs; default)\n",
            TJB_SOURCE_DIR, TJB_SOURCE_DIR);
}

static bool selected(const char *only, const char *workload)
{
    if (!only)
        return true;
    const char *p = only;
    while (*p) {
        size_t n = strcspn(p, ",");
        if (n > 0 && strncmp(workload, p, n) == 0)
            return true;
        p += n + (p[n] == ',');
    }
    return false;
}

static void machine_name(char *out, size_t len)
{
    snprintf(out, len, "unknown CPU");
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[512];
    while (f && fgets(line, sizeof line, f)) {
        if (strncmp(line, "model name", 10) == 0) {
            char *v = strchr(line, ':');
            if (v) {
                v += 1 + (v[1] == ' ');
                v[strcspn(v, "\n")] = '\0';
                snprintf(out, len, "%s", v);
            }
            break;
        }
    }
    if (f)
        fclose(f);
}

static int mkdirs(const char *path)
{
    char tmp[2048];
    bx_note(tmp, sizeof tmp, path, NULL);
    for (char *p = tmp + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
                return -1;
            *p = '/';
        }
    return mkdir(tmp, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

static void default_runner(const char *argv0, char *out, size_t len)
{
    const char *slash = strrchr(argv0, '/');
    if (slash)
        snprintf(out, len, "%.*s/tjrun", (int)(slash - argv0), argv0);
    else
        snprintf(out, len, "tjrun");
}

int main(int argc, char **argv)
{
    static bx_run run; /* large: keep it off the stack */
    bx_paths paths = {0};
    char runner[1024], logs[1100];
    const char *out_dir = TJB_SOURCE_DIR "/results";
    bool peers = true;
    const char *blas_mode = "auto";
    default_runner(argv[0], runner, sizeof runner);
    paths.tjrun = runner;
    paths.peers_dir = TJB_SOURCE_DIR "/peers";
    run.cfg = (bx_config){.samples = 7, .min_sample_s = 0.02, .quick_row_budget_s = 5,
                          .row_budget_s = 240, .cores = (int)sysconf(_SC_NPROCESSORS_ONLN)};
    if (run.cfg.cores < 1)
        run.cfg.cores = 1;
    snprintf(run.git, sizeof run.git, "unknown revision");
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        bool takes = strcmp(a, "--samples") == 0 || strcmp(a, "--min-sample-ms") == 0 ||
                     strcmp(a, "--python") == 0 || strcmp(a, "--only") == 0 ||
                     strcmp(a, "--runner") == 0 || strcmp(a, "--peers") == 0 ||
                     strcmp(a, "--out") == 0 || strcmp(a, "--git") == 0 ||
                     strcmp(a, "--openblas-coretype") == 0;
        if (takes && !v) {
            usage(stderr);
            return 2;
        }
        if (strcmp(a, "--quick") == 0)
            run.cfg.quick = true;
        else if (strcmp(a, "--no-peers") == 0)
            peers = false;
        else if (strcmp(a, "--samples") == 0)
            run.cfg.samples = atoi(v);
        else if (strcmp(a, "--min-sample-ms") == 0)
            run.cfg.min_sample_s = atof(v) / 1e3;
        else if (strcmp(a, "--python") == 0 && paths.npythons < 8)
            paths.pythons[paths.npythons++] = v;
        else if (strcmp(a, "--only") == 0)
            run.cfg.only = v;
        else if (strcmp(a, "--runner") == 0)
            paths.tjrun = v;
        else if (strcmp(a, "--peers") == 0)
            paths.peers_dir = v;
        else if (strcmp(a, "--out") == 0)
            out_dir = v;
        else if (strcmp(a, "--openblas-coretype") == 0)
            blas_mode = v;
        else if (strcmp(a, "--git") == 0)
            snprintf(run.git, sizeof run.git, "%s", v);
        else if (strcmp(a, "--help") == 0) {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            return 2;
        }
        i += takes;
    }
    /* The rules of the harness: at least 7 samples, each at least 20 ms. */
    if (run.cfg.samples < 7)
        run.cfg.samples = 7;
    if (run.cfg.samples > BX_MAX_SAMPLES)
        run.cfg.samples = BX_MAX_SAMPLES;
    if (run.cfg.min_sample_s < 0.02)
        run.cfg.min_sample_s = 0.02;
    signal(SIGPIPE, SIG_IGN);

    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    strftime(run.date, sizeof run.date, "%Y-%m-%d %H:%M", &tm);
    machine_name(run.machine, sizeof run.machine);
    snprintf(logs, sizeof logs, "%s/logs", out_dir);
    if (mkdirs(logs) != 0) {
        fprintf(stderr, "tjbench: cannot create %s: %s\n", logs, strerror(errno));
        return 1;
    }
    paths.log_dir = logs;
    char native_log[1200];
    snprintf(native_log, sizeof native_log, "%s/tjrun-fresh.log", logs);

    bx_choose_blas(&run, paths.tjrun, blas_mode);
    fprintf(stderr, "tjbench: %s\n", run.blas_note);

    /* Fresh-process measurements first, while nothing else of ours is running. */
    if (selected(run.cfg.only, "MEM")) {
        fprintf(stderr, "tjbench: peak memory (fresh processes)\n");
        bx_measure_memory(&run, paths.tjrun, native_log);
    }
    if (selected(run.cfg.only, "W7")) {
        fprintf(stderr, "tjbench: W7 in new processes\n");
        bx_measure_disk_cache(&run, paths.tjrun, native_log);
        run.disk_measured = true;
    }
    fprintf(stderr, "tjbench: starting the runners%s\n", peers ? " and the peers" : "");
    bx_start_runners(&run, &paths, peers);
    for (int i = 0; i < run.nrunners; i++)
        if (!run.runners[i].proc)
            fprintf(stderr, "tjbench: %s not available: %s\n", run.runners[i].name,
                    run.runners[i].note);

    int total = 0;
    for (int i = 0; i < bc_ncases; i++)
        total += (!run.cfg.quick || bc_cases[i].quick) && selected(run.cfg.only, bc_cases[i].workload);
    for (int i = 0; i < bc_ncases; i++) {
        const bc_case *c = &bc_cases[i];
        if ((run.cfg.quick && !c->quick) || !selected(run.cfg.only, c->workload))
            continue;
        fprintf(stderr, "tjbench: [%d/%d] %s %s\n", run.nresults + 1, total, c->title,
                c->size_label);
        bx_run_case(c, &run, &run.results[run.nresults++]);
    }
    bx_stop_runners(&run);

    bx_print_report(stdout, &run);
    const char *prefix = run.cfg.only ? "partial" : "latest";
    char path[1400], stamp[32];
    snprintf(path, sizeof path, "%s/%s.txt", out_dir, prefix);
    FILE *txt = fopen(path, "w");
    if (txt) {
        bx_print_report(txt, &run);
        fclose(txt);
    }
    snprintf(path, sizeof path, "%s/%s.json", out_dir, prefix);
    int rc = bx_write_json(path, &run);
    if (!run.cfg.only) {
        strftime(stamp, sizeof stamp, "%Y-%m-%dT%H%M", &tm);
        snprintf(path, sizeof path, "%s/%s%s.json", out_dir, stamp, run.cfg.quick ? "-quick" : "");
        rc |= bx_write_json(path, &run);
    }
    snprintf(path, sizeof path, "%s/%s.svg", out_dir, prefix);
    rc |= bx_write_svg(path, &run);
    if (rc != 0)
        fprintf(stderr, "tjbench: could not write every result file in %s\n", out_dir);
    int failed = 0;
    for (int i = 0; i < run.nresults; i++)
        for (int k = 0; k < run.results[i].nrows; k++)
            failed += run.results[i].rows[k].status == RS_FAILED;
    fprintf(stderr, "tjbench: results in %s/%s.{txt,json,svg}%s\n", out_dir, prefix,
            failed ? "; some rows FAILED their result check (see the report)" : "");
    return rc != 0;
}
