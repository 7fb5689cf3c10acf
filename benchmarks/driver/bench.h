/* The driver's model of a benchmark run: runners (processes), per-case results with one row per
 * participant, the memory and compile-cache measurements, and the configuration. */
#ifndef BENCH_H
#define BENCH_H

#include "cases.h"
#include "jsonl.h"
#include "proc.h"

#include <stdbool.h>
#include <stdio.h>

#define BX_MAX_SAMPLES 64
#define BX_MAX_ROWS 24
#define BX_MAX_RUNNERS 16

typedef enum { RK_TJ, RK_C, RK_PEER } rk_kind;

typedef struct {
    char name[32]; /* "tj 1t", "tj 2t", "C", "numpy", "pytensor-c" */
    rk_kind kind;
    int threads;   /* tensorjit: TJ_NUM_THREADS given; others 0 */
    bp_proc *proc; /* NULL: not available (see note) */
    char version[64];
    char note[600];
    char interp[256]; /* the Python that runs a peer */
} bx_runner;

typedef enum { RS_OK, RS_SKIPPED, RS_FAILED, RS_ERROR } rs_status;

typedef struct {
    char label[48]; /* "tj 1t", "C blocked_mt", "numpy" */
    char variant[32];
    bx_runner *runner;
    int threads;
    rs_status status;
    bool opened, checked;
    char note[600];
    double check[JL_MAX_ARRAY];
    int ncheck, id;
    long reps;
    double samples[BX_MAX_SAMPLES];
    int nsamples;
    double median, min, max;
} bx_row;

typedef struct {
    const bc_case *c;
    bx_row rows[BX_MAX_ROWS];
    int nrows;
    char note[512];
} bx_result;

typedef struct {
    char what[48];   /* "W6 batch 256", "idle process" */
    char config[48]; /* "tj 1t", "C blas_1t" */
    bool is_c, ok;
    double mb[BX_MAX_SAMPLES]; /* ru_maxrss of each run, MiB */
    int n;
    double median_mb, hwm_mb;
    double server_mb; /* the compile server's peak in the last run (0: none ran) */
    char note[256];
} bx_mem;

typedef struct {
    double first[BX_MAX_SAMPLES], warm[BX_MAX_SAMPLES];
    int n;
    unsigned long long disk_hits, first_llvm_compiles;
    bool ok, quick_cut; /* quick_cut: fewer pairs than samples (QUICK time budget) */
    char note[256];
    double first_median, first_min, first_max, warm_median, warm_min, warm_max;
} bx_disk;

typedef struct {
    int samples;
    double min_sample_s;
    bool quick;
    double quick_row_budget_s; /* QUICK: a peer whose samples would take longer is skipped */
    double row_budget_s;       /* the same in a full run */
    int cores;
    const char *only; /* run only cases whose workload starts with this (NULL: all) */
} bx_config;

typedef struct {
    bx_config cfg;
    char date[32], machine[256], git[64];
    bx_runner runners[BX_MAX_RUNNERS];
    int nrunners;
    bx_result results[32];
    int nresults;
    bx_mem mem[16];
    int nmem;
    bx_disk disk;
    bool disk_measured;
    char blas_env[64];   /* "OPENBLAS_CORETYPE=..." for processes on the system OpenBLAS, or "" */
    char blas_note[300]; /* what was detected and used */
} bx_run;

/* run_case.c: every participant of one case, interleaved. */
void bx_run_case(const bc_case *c, bx_run *run, bx_result *res);

/* summary.c: what the tables and the chart show. */
const bx_row *bx_tj_row(const bx_result *r, bool single_thread);
const bx_row *bx_c_limit(const bx_result *r, bool single_thread);
const bx_row *bx_row_of(const bx_result *r, const bx_runner *runner);
double bx_median(const double *v, int n, double *min, double *max);
void bx_format_time(double seconds, char *out, int len); /* "1.23 ms" */
const char *bx_status_name(rs_status s);
/* dst = a followed by b, cut to len (either may be NULL). */
void bx_note(char *dst, size_t len, const char *a, const char *b);

/* blas.c: the OpenBLAS kernel set for tjrun and the system-BLAS peers ("auto", "default", NAME). */
void bx_choose_blas(bx_run *run, const char *tjrun, const char *mode);

/* runners.c: the C limit's runner, tjrun-c next to tjrun (no tensorjit, no libLLVM). */
void bx_c_runner(const char *tjrun, char *out, size_t len);

/* memory.c and compile_disk.c: measurements in fresh processes. */
void bx_measure_memory(bx_run *run, const char *tjrun, const char *log_path);
void bx_measure_disk_cache(bx_run *run, const char *tjrun, const char *log_path);
void bx_remove_tree(const char *dir); /* a directory and everything in it */

/* report_*.c */
void bx_print_report(FILE *f, const bx_run *run);
int bx_write_json(const char *path, const bx_run *run);
int bx_write_svg(const char *path, const bx_run *run);

#endif
