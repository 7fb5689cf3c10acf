/* The thread pool (lib/pool.c) and what runs on it: every item of a job runs exactly once, the
 * failure of the lowest item is the job's status, a job inside a job runs inline; large kernels
 * and every reduction op over each axis give the same bytes with 1, 2, 3 and 8 threads (and the
 * right values, checked against float64 / int64 loops); concurrent user calls while the pool is
 * busy; the thread-count option's checks. */
#include <criterion/criterion.h>

#include <dirent.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pool.h"
#include "support.h"

static const int thread_counts[] = {1, 2, 3, 8};
enum { NCOUNTS = 4 };

/* ---- the pool itself ------------------------------------------------------------------------- */

typedef struct {
    _Atomic int runs[1000];
    int64_t fail_a, fail_b;
} count_job;

static tj_status count_task(void *arg, int64_t item)
{
    count_job *j = arg;
    atomic_fetch_add(&j->runs[item], 1);
    if (item == j->fail_a)
        return TJ_ERR_VALUE;
    if (item == j->fail_b)
        return TJ_ERR_NOMEM;
    return TJ_OK;
}

Test(pool, every_item_once)
{
    for (int c = 0; c < NCOUNTS; c++) {
        static count_job j;
        memset(&j, 0, sizeof j);
        j.fail_a = j.fail_b = -1;
        cr_assert_eq(tjP_run(thread_counts[c], 1000, count_task, &j), TJ_OK);
        for (int i = 0; i < 1000; i++)
            cr_assert_eq(atomic_load(&j.runs[i]), 1, "%d threads: item %d ran %d times",
                         thread_counts[c], i, atomic_load(&j.runs[i]));
    }
}

/* Whichever thread fails first in time, the status is that of the lowest failing item, and
 * every item before it ran. */
Test(pool, lowest_failure_reported)
{
    for (int rep = 0; rep < 50; rep++) {
        static count_job j;
        memset(&j, 0, sizeof j);
        j.fail_a = 700;
        j.fail_b = 300;
        cr_assert_eq(tjP_run(4, 1000, count_task, &j), TJ_ERR_NOMEM, "repetition %d", rep);
        for (int i = 0; i <= 300; i++)
            cr_assert_eq(atomic_load(&j.runs[i]), 1, "item %d", i);
    }
}

static tj_status nested_task(void *arg, int64_t item)
{
    (void)item;
    return tjP_run(4, 10, count_task, arg); /* the pool is busy: runs inline */
}

Test(pool, job_inside_a_job_runs_inline)
{
    static count_job inner;
    inner.fail_a = inner.fail_b = -1;
    cr_assert_eq(tjP_run(4, 64, nested_task, &inner), TJ_OK);
    for (int i = 0; i < 10; i++)
        cr_assert_eq(atomic_load(&inner.runs[i]), 64, "inner item %d", i);
}

/* A stand-in kernel recording the row ranges it is called with. */
static struct {
    _Atomic int n;
    int64_t lo[4096], hi[4096];
} calls;

static void record_rows(char *const *ptrs, const int64_t *shape, const int64_t *strides,
                        int64_t ndim, int64_t begin, int64_t end)
{
    (void)ptrs, (void)shape, (void)strides, (void)ndim;
    int i = atomic_fetch_add(&calls.n, 1);
    if (i < 4096) {
        calls.lo[i] = begin;
        calls.hi[i] = end;
    }
}

static int by_lo(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Rows [0, rows) of `inner` elements each, cut by tjP_run_rows at multiples of unit: the ranges
 * tile [0, rows) exactly; returns how many there were. */
static int cuts(int nthreads, int64_t rows, int64_t inner, int64_t unit)
{
    int64_t shape[2] = {rows, inner};
    tj_ctx *ctx = tj_ctx_new();
    cr_assert_eq(tj_ctx_set_num_threads(ctx, nthreads), TJ_OK);
    atomic_store(&calls.n, 0);
    tjP_run_rows(ctx, record_rows, NULL, shape, NULL, 2, rows, unit);
    tj_ctx_free(ctx);
    int n = atomic_load(&calls.n);
    cr_assert(n <= 4096);
    int64_t pairs[4096][2];
    for (int i = 0; i < n; i++)
        pairs[i][0] = calls.lo[i], pairs[i][1] = calls.hi[i];
    qsort(pairs, (size_t)n, sizeof pairs[0], by_lo);
    for (int i = 0; i < n; i++) {
        cr_assert_eq(pairs[i][0], i ? pairs[i - 1][1] : 0, "range %d starts at %lld", i,
                     (long long)pairs[i][0]);
        cr_assert(pairs[i][1] > pairs[i][0]);
        cr_assert(pairs[i][0] % unit == 0, "a cut at row %lld, not a multiple of %lld",
                  (long long)pairs[i][0], (long long)unit);
    }
    cr_assert_eq(pairs[n - 1][1], rows);
    return n;
}

Test(pool, rows_cut_at_units)
{
    /* chunks of TJP_CHUNK_ELEMS / 40 rows, rounded up to a multiple of 24 */
    int64_t chunk = (TJP_CHUNK_ELEMS / 40 + 23) / 24 * 24;
    cr_assert_eq(cuts(4, 7200, 40, 24), (7200 + chunk - 1) / chunk);
    cr_assert_eq(cuts(4, 7200, 40, 7200), 1, "one unit: one call");
    cr_assert_eq(cuts(1, 7200, 40, 1), 1, "one thread: one call");
    cr_assert_eq(cuts(4, 1000, 100, 1), 1, "10^5 elements: below the threshold");
    cr_assert_eq(cuts(3, 1000003, 1, 1), (1000003 + TJP_CHUNK_ELEMS - 1) / TJP_CHUNK_ELEMS);
}

/* The pool's workers alive in this process, by their thread name: a count that does not depend
 * on what ran before in the process (the in-process runner of make check-tsan) */
static int pool_workers(void)
{
    DIR *d = opendir("/proc/self/task");
    int n = 0;
    cr_assert(d);
    for (struct dirent *e; (e = readdir(d));) {
        char path[300], name[32] = "";
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "/proc/self/task/%s/comm", e->d_name);
        FILE *f = fopen(path, "r");
        if (f && fgets(name, sizeof name, f))
            n += strcmp(name, TJP_WORKER_NAME "\n") == 0;
        if (f)
            fclose(f);
    }
    closedir(d);
    return n;
}

/* ---- the thread-count option ----------------------------------------------------------------- */

Test(pool, num_threads_option)
{
    tj_ctx *ctx = tj_ctx_new();
    int dflt = tj_ctx_num_threads(ctx);
    cr_assert(dflt >= 1 && dflt <= TJP_MAX_THREADS, "default %d", dflt);
    cr_assert_eq(tj_ctx_set_num_threads(ctx, 3), TJ_OK);
    cr_assert_eq(tj_ctx_num_threads(ctx), 3);
    cr_assert_eq(tj_ctx_set_num_threads(ctx, -1), TJ_ERR_INVALID);
    cr_assert(strstr(tj_errmsg(ctx), "thread count is -1"), "%s", tj_errmsg(ctx));
    cr_assert_eq(tj_ctx_set_num_threads(ctx, TJP_MAX_THREADS + 1), TJ_ERR_INVALID);
    cr_assert_eq(tj_ctx_num_threads(ctx), 3, "a refused count changes nothing");
    cr_assert_eq(tj_ctx_set_num_threads(ctx, 0), TJ_OK);
    cr_assert_eq(tj_ctx_num_threads(ctx), dflt);
    cr_assert_eq(tj_ctx_set_num_threads(NULL, 2), TJ_ERR_INVALID);
    cr_assert_eq(tj_ctx_num_threads(NULL), -1);
    tj_ctx_free(ctx);
}

/* ---- bit-identical results for every thread count -------------------------------------------- */

static uint64_t next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static size_t nbytes(tj_array *a)
{
    return (size_t)tj_array_size(a) * tj_dtype_size(tj_array_dtype(a));
}

/* Calls f on in with each thread count; every output's bytes must equal the 1-thread call's.
 * Returns the 1-thread outputs (the caller checks their values). */
static void same_bytes(tj_ctx *ctx, tj_fn *f, tj_array **in, int nin, int nout, tj_array **ref,
                       const char *what)
{
    (void)nin;
    tj_array **got = calloc((size_t)nout, sizeof *got);
    cr_assert(got);
    for (int c = 0; c < NCOUNTS; c++) {
        cr_assert_eq(tj_ctx_set_num_threads(ctx, thread_counts[c]), TJ_OK);
        tj_array **dst = c == 0 ? ref : got;
        cr_assert_eq(tj_call(f, in, dst), TJ_OK, "%s: %s", what, tj_errmsg(ctx));
        for (int o = 0; c > 0 && o < nout; o++) {
            cr_assert_eq(nbytes(got[o]), nbytes(ref[o]));
            cr_expect(memcmp(tj_array_data(got[o]), tj_array_data(ref[o]), nbytes(ref[o])) == 0,
                      "%s output %d: %d threads give other bytes than 1", what, o,
                      thread_counts[c]);
            tj_array_unref(got[o]);
        }
    }
    free(got);
}

enum { NOPS = 7, NAXES = 4 };
typedef tj_var *(*reduce_fn)(tj_var *, const int *, int, bool);
static const reduce_fn ops[NOPS] = {tj_sum, tj_prod, tj_max, tj_min, tj_mean, tj_all, tj_any};
static const char *const op_names[NOPS] = {"sum", "prod", "max", "min", "mean", "all", "any"};

/* 3-d (D0, D1, D2): large enough that the whole reduction is cut into pieces, axis 0 of the
 * (D0, D1*D2) view is column-style, and kernels are split across the pool. */
enum { D0 = 300, D1 = 24, D2 = 40, N3 = D0 * D1 * D2 };

/* The reference of op over axis `ax` (-1: all axes) at output index o, in double / int64. */
static void reference(int op, const double *v, int ax, int64_t o, double *want)
{
    int64_t dims[3] = {D0, D1, D2}, idx[3], n = ax < 0 ? N3 : dims[ax];
    if (ax >= 0) { /* o indexes the kept axes in C order */
        int64_t r = o;
        for (int d = 2; d >= 0; d--) {
            if (d == ax)
                continue;
            idx[d] = r % dims[d];
            r /= dims[d];
        }
    }
    double acc = op == 1 || op == 5 ? 1 : op == 2 ? -INFINITY : op == 3 ? INFINITY : 0;
    for (int64_t k = 0; k < n; k++) {
        int64_t i = k;
        if (ax >= 0) {
            idx[ax] = k;
            i = (idx[0] * D1 + idx[1]) * D2 + idx[2];
        }
        double x = v[i];
        switch (op) {
        case 1: acc *= x; break;
        case 2: acc = x > acc ? x : acc; break;
        case 3: acc = x < acc ? x : acc; break;
        case 5: acc = acc && x != 0; break;
        case 6: acc = acc || x != 0; break;
        default: acc += x; break;
        }
    }
    *want = op == 4 ? acc / (double)n : acc;
}

static void reductions(tj_dtype d, uint64_t seed)
{
    tj_ctx *ctx = tj_ctx_new();
    tj_var *x = tj_tensor(ctx, d, 3, NULL, "x"), *outs[NOPS * NAXES];
    const int axv[NAXES] = {-1, 0, 1, 2}; /* -1: every axis */
    int k = 0;
    for (int op = 0; op < NOPS; op++)
        for (int a = 0; a < NAXES; a++)
            outs[k++] = ops[op](x, axv[a] < 0 ? NULL : &axv[a], axv[a] < 0 ? 0 : 1, false);
    tj_fn *f = tj_function(ctx, &x, 1, outs, k, NULL);
    cr_assert(f, "%s", tj_errmsg(ctx));
    /* values near 1 keep products finite; a few zeros and negatives exercise all/any/min */
    double *v = malloc(sizeof *v * N3);
    cr_assert(v);
    for (int64_t i = 0; i < N3; i++) {
        double u = (double)(next(&seed) >> 11) / 9007199254740992.0;
        v[i] = d == TJ_INT32 ? (double)((int64_t)(u * 7) - 3) : 1.0 + (u - 0.5) * 1e-3;
        if (d != TJ_INT32 && i % 977 == 5)
            v[i] = -2.5 * u;
        if (d == TJ_INT32 && v[i] == 0 && i % 1013 != 0)
            v[i] = 1; /* a few zeros: all() is false on some lanes, true on others */
        if (d == TJ_FLOAT32)
            v[i] = (float)v[i];
    }
    int64_t shape[3] = {D0, D1, D2};
    tj_array *in = tjt_array(d, 3, shape, v), *res[NOPS * NAXES];
    same_bytes(ctx, f, &in, 1, k, res, tj_dtype_name(d));
    k = 0;
    for (int op = 0; op < NOPS; op++) {
        for (int a = 0; a < NAXES; a++, k++) {
            int ax = axv[a];
            int64_t n = tj_array_size(res[k]);
            for (int64_t o = 0; o < n; o += n / 7 + 1) {
                double want, got = tjt_at(res[k], o);
                reference(op, v, ax, o, &want);
                bool exact = d == TJ_INT32 && op != 1 && op != 4;
                /* float32 products of 10^5 terms: up to ~1e-3 relative after rounding */
                double tol = exact ? 0 : d != TJ_FLOAT32 ? 1e-9 : op == 1 ? 2e-3 : 1e-4;
                if (d == TJ_INT32 && op == 1)
                    continue; /* int products wrap: the bytes comparison covers them */
                cr_expect(fabs(got - want) <= tol * (1 + fabs(want)),
                          "%s %s axis %d [%lld]: %.10g, want %.10g", tj_dtype_name(d),
                          op_names[op], ax, (long long)o, got, want);
            }
            tj_array_unref(res[k]);
        }
    }
    tj_array_unref(in);
    free(v);
    tj_ctx_free(ctx);
}

Test(pool, reductions_float32) { reductions(TJ_FLOAT32, 7); }
Test(pool, reductions_float64) { reductions(TJ_FLOAT64, 8); }
Test(pool, reductions_int32) { reductions(TJ_INT32, 9); }

/* Column sums of a wide float32 matrix: 1300 rows cut into 6 pieces of 217 or 215 rows, whose
 * 6 x 3000 partial sums are folded on the pool in blocks of 1024 columns (the last one short). */
Test(pool, column_sums)
{
    enum { R = 1300, C = 3000 };
    tj_ctx *ctx = tj_ctx_new();
    tj_var *x = tj_matrix(ctx, TJ_FLOAT32, "x"), *s = tj_sum(x, (int[]){0}, 1, false);
    tj_fn *f = tj_function(ctx, &x, 1, &s, 1, NULL);
    cr_assert(f, "%s", tj_errmsg(ctx));
    double *v = malloc(sizeof *v * R * C);
    cr_assert(v);
    uint64_t seed = 3;
    for (int64_t i = 0; i < R * C; i++)
        v[i] = (double)(float)((double)(next(&seed) >> 11) / 9007199254740992.0 - 0.3);
    tj_array *in = tjt_array(TJ_FLOAT32, 2, (int64_t[]){R, C}, v), *res;
    same_bytes(ctx, f, &in, 1, 1, &res, "column sums");
    for (int64_t c = 0; c < C; c++) {
        double want = 0;
        for (int64_t r = 0; r < R; r++)
            want += v[r * C + c];
        cr_expect(fabs(tjt_at(res, c) - want) <= 1e-5 * (1 + fabs(want)), "column %lld",
                  (long long)c);
    }
    tj_array_unref(res);
    tj_array_unref(in);
    free(v);
    tj_ctx_free(ctx);
}

/* A large fused elementwise kernel with a broadcast row: split across the pool, same bytes. */
Test(pool, elementwise_kernels)
{
    enum { R = 700, C = 600 };
    tj_ctx *ctx = tj_ctx_new();
    tj_var *x = tj_matrix(ctx, TJ_FLOAT32, "x"), *b = tj_vector(ctx, TJ_FLOAT32, "b");
    tj_var *y = tj_sigmoid(tj_add(x, b));
    tj_var *in_vars[2] = {x, b};
    tj_fn *f = tj_function(ctx, in_vars, 2, &y, 1, NULL);
    cr_assert(f, "%s", tj_errmsg(ctx));
    double *v = malloc(sizeof *v * R * C), bv[C];
    cr_assert(v);
    uint64_t seed = 5;
    for (int64_t i = 0; i < R * C; i++)
        v[i] = (double)(float)((double)(next(&seed) >> 11) / 9007199254740992.0 * 12 - 6);
    for (int c = 0; c < C; c++)
        bv[c] = (double)(float)(c * 0.01 - 3);
    tj_array *in[2] = {tjt_array(TJ_FLOAT32, 2, (int64_t[]){R, C}, v),
                       tjt_array(TJ_FLOAT32, 1, (int64_t[]){C}, bv)},
             *res;
    int before = pool_workers();
    same_bytes(ctx, f, in, 2, 1, &res, "sigmoid(x + b)");
    if (tjt_jit_off()) /* the reference executor runs the kernel on the calling thread */
        cr_expect(pool_workers() == before, "TJ_JIT=off: %d workers before, %d after", before,
                  pool_workers());
    else
        cr_expect(pool_workers() >= 7, "8 threads asked: %d workers before, %d after", before,
                  pool_workers());
    for (int64_t i = 0; i < R * C; i += 997) {
        double want = 1 / (1 + exp(-(v[i] + bv[i % C])));
        cr_expect(fabs(tjt_at(res, i) - want) <= 1e-6, "[%lld]", (long long)i);
    }
    tj_array_unref(res);
    tj_array_unref(in[0]);
    tj_array_unref(in[1]);
    free(v);
    tj_ctx_free(ctx);
}

/* ---- user threads calling at once: the pool is busy for most, who run inline ----------------- */

enum { USERS = 4, USER_CALLS = 12, UN = 300000 };

typedef struct {
    tj_fn *f;
    tj_array *in;
    const float *want;
    int bad;
} user;

static void *user_main(void *arg)
{
    user *u = arg;
    for (int c = 0; c < USER_CALLS; c++) {
        tj_array *out;
        if (tj_call(u->f, &u->in, &out) != TJ_OK) {
            u->bad++;
            continue;
        }
        u->bad += memcmp(tj_array_data(out), u->want, sizeof(float) * UN) != 0;
        tj_array_unref(out);
    }
    return NULL;
}

Test(pool, concurrent_callers)
{
    tj_ctx *ctx = tj_ctx_new();
    cr_assert_eq(tj_ctx_set_num_threads(ctx, 2), TJ_OK);
    tj_var *x = tj_vector(ctx, TJ_FLOAT32, "x"), *y = tj_mul(tj_tanh(x), x);
    tj_fn *f = tj_function(ctx, &x, 1, &y, 1, NULL);
    cr_assert(f, "%s", tj_errmsg(ctx));
    double *v = malloc(sizeof *v * UN);
    float *want = malloc(sizeof *want * UN);
    cr_assert(v && want);
    for (int i = 0; i < UN; i++)
        v[i] = sin(i * 0.001) * 3;
    int64_t n = UN;
    tj_array *in = tjt_array(TJ_FLOAT32, 1, &n, v), *first;
    cr_assert_eq(tj_call(f, &in, &first), TJ_OK);
    for (int i = 0; i < UN; i += 101) /* the reference bytes are right */
        cr_assert(fabs(tjt_at(first, i) - tanh((float)v[i]) * (float)v[i]) <= 1e-6, "[%d]", i);
    memcpy(want, tj_array_data(first), sizeof *want * UN);
    tj_array_unref(first);
    pthread_t t[USERS];
    user us[USERS];
    for (int i = 0; i < USERS; i++) {
        us[i] = (user){f, in, want, 0};
        cr_assert_eq(pthread_create(&t[i], NULL, user_main, &us[i]), 0);
    }
    for (int i = 0; i < USERS; i++) {
        pthread_join(t[i], NULL);
        cr_expect_eq(us[i].bad, 0, "user thread %d: %d bad calls", i, us[i].bad);
    }
    tj_array_unref(in);
    free(v);
    free(want);
    tj_ctx_free(ctx);
}
