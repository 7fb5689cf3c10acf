/* tjrun: the process that runs the tensorjit ("tj") or the C-limit ("c") implementations for the
 * driver (tjbench), one JSON line answering each command line read on stdin:
 *   case ID WORKLOAD SIZE VARIANT  -> {"ok":true,"check":[...],"threads":N,"note":"..."}
 *                                     | {"ok":false,"skip":"..."} | {"ok":false,"error":"..."}
 *   warmup ID MIN_SECONDS [MAX_OP] -> {"ok":true,"reps":N,"seconds":per_op}  (stops after one
 *                                     operation that took longer than MAX_OP seconds)
 *   sample ID                      -> {"ok":true,"reps":N,"seconds":per_op}
 *   rewarm ID SECONDS              -> {"ok":true}  (untimed operations, at least one)
 *   end ID                         -> {"ok":true,"note":"..."}
 *   quit
 * The peers (peers/common.py) speak the same protocol. On start it prints
 * {"ok":true,"runner":"tj"|"c","version":"..."}.
 * Two other modes, used for measurements that need a fresh process:
 *   tjrun --rss tj|c WORKLOAD SIZE VARIANT OPS  -> {"ok":true,"maxrss_kb":K,"hwm_kb":K,
 *                                                   "server_kb":K (the compile server's peak)}
 *   tjrun --compile-once FEATS                  -> {"ok":true,"compile_s":S,"llvm_compiles":N,...}
 *   tjrun --blas-info                           -> {"ok":true,"core":"Haswell","avx2":true,...}
 */
#include "baselines.h"
#include "bench_impl.h"
#include "json_out.h"
#include "sampler.h"
#include "tensorjit.h" /* TJ_VERSION_STRING; tjrun-c links no tensorjit symbol */
#ifndef TJB_C_ONLY
#include "tj_impls.h"
#endif

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

enum { MAX_CASES = 16 };

typedef struct {
    int id;
    bool live;
    bi_case c;
    long reps;
    double min_s; /* the minimum sample time warmup was given */
} slot;

static int parse_size(const char *s, bi_spec *spec)
{
    spec->ndims = 0;
    if (strcmp(s, "-") == 0 || strcmp(s, "0d") == 0)
        return 0;
    const char *p = s;
    while (*p && spec->ndims < BI_MAX_DIMS) {
        char *end;
        long long v = strtoll(p, &end, 10);
        if (end == p || v < 1)
            return -1;
        spec->dims[spec->ndims++] = v;
        if (*end == 'x')
            end++;
        else if (*end)
            return -1;
        p = end;
    }
    return *p ? -1 : 0;
}

static const bi_entry *find(const bi_entry *table, const char *workload)
{
    for (; table->workload; table++)
        if (strcmp(table->workload, workload) == 0)
            return table;
    return NULL;
}

/* The implementations behind "tj" (tjrun, built with TJB_TJ_ONLY) and "c" (tjrun-c, built with
 * TJB_C_ONLY): each process holds only its own, so the C limit's peak memory is what a C program
 * would use (no tensorjit, no libLLVM), and tensorjit's has no OpenMP runtime in it. */
static const bi_entry *table_of(const char *impl)
{
#ifndef TJB_C_ONLY
    if (strcmp(impl, "tj") == 0)
        return bi_tj_entries;
#endif
#ifndef TJB_TJ_ONLY
    if (strcmp(impl, "c") == 0)
        return bi_c_entries;
#endif
    return NULL;
}

static void reply_error(const char *key, const char *msg)
{
    printf("{\"ok\":false,\"%s\":", key);
    jo_str(stdout, msg);
    printf("}\n");
}

static int setup_case(const bi_entry *table, const char *workload, const char *size,
                      const char *variant, bi_case *c, char *err, size_t errlen)
{
    bi_spec spec = {0};
    snprintf(spec.workload, sizeof spec.workload, "%s", workload);
    snprintf(spec.size, sizeof spec.size, "%s", size);
    snprintf(spec.variant, sizeof spec.variant, "%s", variant);
    if (parse_size(size, &spec) != 0) {
        snprintf(err, errlen, "bad size '%s'", size);
        return -1;
    }
    const bi_entry *e = find(table, workload);
    if (!e) {
        snprintf(err, errlen, "skip: no implementation of %s", workload);
        return -1;
    }
    memset(c, 0, sizeof *c);
    return e->setup(&spec, c, err, errlen);
}

static void destroy_case(bi_case *c)
{
    if (c->destroy)
        c->destroy(c->state);
    memset(c, 0, sizeof *c);
}

static slot *find_slot(slot *slots, int id)
{
    for (int i = 0; i < MAX_CASES; i++)
        if (slots[i].live && slots[i].id == id)
            return &slots[i];
    return NULL;
}

static void cmd_case(slot *slots, const bi_entry *table, int id, const char *w, const char *size,
                     const char *variant)
{
    slot *s = NULL;
    for (int i = 0; i < MAX_CASES && !s; i++)
        if (!slots[i].live)
            s = &slots[i];
    if (!s || find_slot(slots, id)) {
        reply_error("error", s ? "case id in use" : "too many open cases");
        return;
    }
    char err[512] = "";
    if (setup_case(table, w, size, variant, &s->c, err, sizeof err) != 0) {
        bool skip = strncmp(err, "skip: ", 6) == 0;
        reply_error(skip ? "skip" : "error", skip ? err + 6 : err[0] ? err : "setup failed");
        destroy_case(&s->c);
        return;
    }
    s->live = true;
    s->id = id;
    s->reps = 1;
    s->min_s = 0.02;
    printf("{\"ok\":true,\"threads\":%d,\"note\":", s->c.threads);
    jo_str(stdout, s->c.note);
    printf(",\"check\":[");
    for (int i = 0; i < s->c.ncheck; i++) {
        if (i)
            putchar(',');
        jo_num(stdout, s->c.check[i]);
    }
    printf("]}\n");
}

static void reply_time(double t, long reps)
{
    if (t < 0)
        reply_error("error", "the operation failed");
    else
        printf("{\"ok\":true,\"reps\":%ld,\"seconds\":%.9g}\n", reps, t);
}

static int serve(const char *impl)
{
    const bi_entry *table = table_of(impl);
    if (!table) {
        fprintf(stderr, "tjrun: unknown implementation '%s'\n", impl);
        return 2;
    }
    slot slots[MAX_CASES];
    memset(slots, 0, sizeof slots);
    printf("{\"ok\":true,\"runner\":\"%s\",\"version\":", impl);
    jo_str(stdout, TJ_VERSION_STRING);
    printf("}\n");
    fflush(stdout);
    char line[1024];
    while (fgets(line, sizeof line, stdin)) {
        char cmd[32] = "", w[32] = "", size[64] = "", variant[64] = "";
        int id = -1;
        double min_s = 0.02, max_op = 0;
        int n = sscanf(line, "%31s %d %31s %63s %63s", cmd, &id, w, size, variant);
        slot *s = n >= 2 ? find_slot(slots, id) : NULL;
        if (strcmp(cmd, "quit") == 0 || n < 1)
            break;
        if (strcmp(cmd, "case") == 0 && n == 5) {
            cmd_case(slots, table, id, w, size, variant);
        } else if (!s) {
            reply_error("error", "unknown command or case id");
        } else if (strcmp(cmd, "warmup") == 0) {
            if (n >= 3)
                min_s = atof(w);
            if (n >= 4)
                max_op = atof(size);
            s->min_s = min_s;
            double t = sm_warmup(&s->c, min_s, max_op, &s->reps);
            reply_time(t, s->reps);
        } else if (strcmp(cmd, "rewarm") == 0) {
            if (sm_rewarm(&s->c, n >= 3 ? atof(w) : 0) != 0)
                reply_error("error", "the operation failed");
            else
                printf("{\"ok\":true}\n");
        } else if (strcmp(cmd, "sample") == 0) {
            double t = sm_sample(&s->c, s->min_s, &s->reps);
            reply_time(t, s->reps);
        } else if (strcmp(cmd, "end") == 0) {
            char note[256] = "";
            if (s->c.describe)
                s->c.describe(s->c.state, note, sizeof note);
            destroy_case(&s->c);
            s->live = false;
            printf("{\"ok\":true,\"note\":");
            jo_str(stdout, note);
            printf("}\n");
        } else {
            reply_error("error", "unknown command");
        }
        fflush(stdout);
    }
    for (int i = 0; i < MAX_CASES; i++)
        if (slots[i].live)
            destroy_case(&slots[i].c);
    return 0;
}

static long hwm_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmHWM: %ld", &kb) == 1)
            break;
    if (f)
        fclose(f);
    return kb;
}

/* Peak memory of one configuration in this fresh process: setup, `ops` operations, getrusage. */
static int rss(int argc, char **argv)
{
    if (argc != 7) {
        fprintf(stderr, "usage: tjrun --rss tj|c WORKLOAD SIZE VARIANT OPS\n");
        return 2;
    }
    const bi_entry *table = table_of(argv[2]);
    if (!table) {
        reply_error("error", "unknown implementation");
        return 2;
    }
    long ops = atol(argv[6]);
    bi_case c;
    char err[512] = "";
    if (strcmp(argv[3], "idle") != 0) {
        if (setup_case(table, argv[3], argv[4], argv[5], &c, err, sizeof err) != 0 ||
            sm_run(&c, ops) < 0) {
            reply_error("error", err[0] ? err : "the operation failed");
            return 1;
        }
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    long server_kb = 0;
#ifndef TJB_C_ONLY
    /* LLVM compiled in the compile server: its peak too (a reaped child's ru_maxrss) */
    struct rusage kids;
    if (tj_compile_server_stop() > 0 && getrusage(RUSAGE_CHILDREN, &kids) == 0)
        server_kb = kids.ru_maxrss;
#endif
    printf("{\"ok\":true,\"maxrss_kb\":%ld,\"hwm_kb\":%ld,\"server_kb\":%ld}\n",
           ru.ru_maxrss, hwm_kb(), server_kb);
    return 0; /* the process ends: nothing to free */
}

#ifndef TJB_C_ONLY
/* The first compile of W2's train function in this fresh process (W7 across processes). */
static int compile_once(int argc, char **argv)
{
    int64_t feats = argc > 2 ? atoll(argv[2]) : 784;
    double t0 = sm_now();
    tj_ctx *ctx = tj_ctx_new();
    tj_array *w0 = tjw2_w0(feats);
    tjw2_vars v = {0};
    tj_fn *fn = ctx && w0 ? tjw2_build(ctx, &v, w0) : NULL;
    double t = sm_now() - t0;
    if (!fn) {
        reply_error("error", ctx ? tj_errmsg(ctx) : "tj_ctx_new failed");
        return 1;
    }
    tj_stats st;
    tj_ctx_stats(ctx, &st);
    printf("{\"ok\":true,\"compile_s\":%.9g,\"llvm_compiles\":%llu,\"cache_hits\":%llu,"
           "\"disk_cache_hits\":%llu,\"llvm_ms\":%.6g}\n",
           t, (unsigned long long)st.llvm_compiles, (unsigned long long)st.cache_hits,
           (unsigned long long)st.disk_cache_hits, st.compile_ms);
    tj_array_unref(w0);
    tj_ctx_free(ctx);
    return 0;
}
#endif

/* The OpenBLAS kernel set in use and what the CPU could run (the driver's OPENBLAS_CORETYPE). */
static int blas_info(void)
{
    __builtin_cpu_init();
    printf("{\"ok\":true,\"core\":");
    jo_str(stdout, cb_blas_core());
    printf(",\"avx2\":%s,\"avx512f\":%s}\n", __builtin_cpu_supports("avx2") ? "true" : "false",
           __builtin_cpu_supports("avx512f") ? "true" : "false");
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--blas-info") == 0)
        return blas_info();
    if (argc >= 2 && strcmp(argv[1], "--rss") == 0)
        return rss(argc, argv);
#ifndef TJB_C_ONLY
    if (argc >= 2 && strcmp(argv[1], "--compile-once") == 0)
        return compile_once(argc, argv);
#endif
    if (argc != 2) {
        fprintf(stderr, "usage: tjrun tj|c  (a protocol on stdin; see the top of tjrun.c)\n");
        return 2;
    }
    return serve(argv[1]);
}
