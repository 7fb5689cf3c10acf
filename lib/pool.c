/* The persistent thread pool (pool.h). One job at a time: its description lives on the
 * submitter's stack, workers join it under the lock while helpers are still wanted, take items
 * from an atomic counter, and the submitter waits until every worker that joined has left before
 * its stack frame goes away. Workers are detached and live until the process exits.
 *
 * Between jobs a worker spins for a short while before it parks on the condition variable, and
 * the submitter spins before it sleeps waiting for the helpers: waking a parked thread costs a
 * futex call and, on a virtual machine, an interrupt to a halted virtual CPU, which is a large
 * part of a sub-millisecond kernel. A BLAS step makes spinning workers park at once, so they
 * never compete with OpenBLAS's threads for the cores. */
#include "pool.h"

#include <cblas.h>
#include <stdlib.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define cpu_relax() _mm_pause() /* lets the sibling hyperthread run, saves power */
#else
#define cpu_relax() ((void)0)
#endif

typedef struct {
    tjP_task task;
    void *arg;
    int64_t n;
    _Atomic int64_t next;
    /* the failure with the lowest item index: (item << 8) | status, INT64_MAX when none */
    _Atomic int64_t failed;
} job;

static struct {
    pthread_mutex_t lock;
    pthread_cond_t wake; /* workers: a job wants helpers */
    pthread_cond_t done; /* submitter: the last helper left */
    int nworkers;
    bool busy;
    job *cur;
    /* written under the lock; atomic so that spinning threads may read them without it */
    _Atomic int want;   /* helpers the current job still takes */
    _Atomic int active; /* workers inside the current job */
    _Atomic unsigned park; /* bumped to make spinning workers park now (a BLAS step) */
    _Atomic int spinning;  /* workers spinning between jobs */
} P = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, false,
       NULL, 0, 0, 0, 0};

/* How long a thread spins for the pool's next event before it sleeps: $TJ_POOL_SPIN_US
 * microseconds (0 disables spinning), default 100. */
static int64_t spin_ns;
static pthread_once_t spin_once = PTHREAD_ONCE_INIT;

static void read_spin(void)
{
    const char *env = getenv("TJ_POOL_SPIN_US");
    char *end = NULL;
    long v = env ? strtol(env, &end, 10) : -1;
    spin_ns = env && end != env && *end == '\0' && v >= 0 && v <= 1000000 ? v * 1000 : 100000;
}

/* Spins (without the lock) until done() holds, the spin time runs out or, for a worker, a
 * BLAS step asks it to park; returns whether done() held. */
static bool spin_until(bool (*done)(void), bool parkable)
{
    pthread_once(&spin_once, read_spin);
    if (spin_ns == 0)
        return done();
    unsigned park = atomic_load_explicit(&P.park, memory_order_relaxed);
    int64_t deadline = tjC_now_ns() + spin_ns;
    for (unsigned k = 1;; k++) {
        if (done())
            return true;
        if (parkable && atomic_load_explicit(&P.park, memory_order_relaxed) != park)
            return false;
        if (k % 64 == 0 && tjC_now_ns() > deadline)
            return false;
        cpu_relax();
    }
}

static bool job_posted(void) { return atomic_load(&P.want) > 0; }
static bool helpers_left(void) { return atomic_load(&P.active) == 0; }

static void record_failure(job *j, int64_t item, tj_status st)
{
    int64_t key = item << 8 | (int64_t)(st & 0xff);
    int64_t seen = atomic_load(&j->failed);
    while (key < seen && !atomic_compare_exchange_weak(&j->failed, &seen, key)) {
    }
}

static void work(job *j)
{
    for (;;) {
        int64_t i = atomic_fetch_add(&j->next, 1);
        if (i >= j->n)
            return;
        if (atomic_load(&j->failed) >> 8 < i)
            continue; /* an earlier item failed: the job's status is decided */
        tj_status st = j->task(j->arg, i);
        if (st != TJ_OK)
            record_failure(j, i, st);
    }
}

static void *worker_main(void *unused)
{
    (void)unused;
    pthread_mutex_lock(&P.lock);
    for (;;) {
        if (P.want == 0) { /* spin a while for the next job, then park */
            atomic_fetch_add(&P.spinning, 1);
            pthread_mutex_unlock(&P.lock);
            spin_until(job_posted, true);
            atomic_fetch_sub(&P.spinning, 1);
            pthread_mutex_lock(&P.lock);
        }
        while (P.want == 0)
            pthread_cond_wait(&P.wake, &P.lock);
        P.want--;
        P.active++;
        job *j = P.cur;
        pthread_mutex_unlock(&P.lock);
        work(j);
        pthread_mutex_lock(&P.lock);
        if (--P.active == 0)
            pthread_cond_signal(&P.done);
    }
    return NULL;
}

/* Starts workers up to `count` (under the lock); a failure leaves fewer. */
static void grow(int count)
{
    while (P.nworkers < count) {
        pthread_t t;
        pthread_attr_t attr;
        if (pthread_attr_init(&attr) != 0)
            return;
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        int rc = pthread_create(&t, &attr, worker_main, NULL);
        pthread_attr_destroy(&attr);
        if (rc != 0)
            return;
        pthread_setname_np(t, TJP_WORKER_NAME); /* what top, perf and gdb show */
        P.nworkers++;
    }
}

tj_status tjP_run(int nthreads, int64_t n, tjP_task task, void *arg)
{
    job j = {task, arg, n, 0, INT64_MAX};
    bool pooled = false;
    if (nthreads > TJP_MAX_THREADS)
        nthreads = TJP_MAX_THREADS;
    if (nthreads > 1 && n > 1) {
        pthread_mutex_lock(&P.lock);
        if (!P.busy) {
            grow(nthreads - 1);
            int helpers = (int)(n - 1 < nthreads - 1 ? n - 1 : nthreads - 1);
            P.want = helpers < P.nworkers ? helpers : P.nworkers;
            if (P.want > 0) {
                P.busy = pooled = true;
                P.cur = &j;
                pthread_cond_broadcast(&P.wake);
            }
        }
        pthread_mutex_unlock(&P.lock);
    }
    work(&j);
    if (pooled) {
        pthread_mutex_lock(&P.lock);
        P.want = 0; /* latecomers would find nothing left */
        if (P.active > 0) { /* the helpers finish their last items: spin a while first */
            pthread_mutex_unlock(&P.lock);
            spin_until(helpers_left, false);
            pthread_mutex_lock(&P.lock);
        }
        while (P.active > 0)
            pthread_cond_wait(&P.done, &P.lock);
        P.cur = NULL;
        P.busy = false;
        pthread_mutex_unlock(&P.lock);
    }
    int64_t failed = atomic_load(&j.failed);
    return failed == INT64_MAX ? TJ_OK : (tj_status)(failed & 0xff);
}

/* ---- the thread budget ----------------------------------------------------------------------- */

static int clamp_threads(long v) { return v < 1 ? 1 : v > TJP_MAX_THREADS ? TJP_MAX_THREADS : (int)v; }

static int default_threads;
static pthread_once_t default_once = PTHREAD_ONCE_INIT;

static void read_default(void)
{
    const char *env = getenv("TJ_NUM_THREADS");
    char *end = NULL;
    long v = env ? strtol(env, &end, 10) : 0;
    if (env && end != env && *end == '\0' && v >= 1)
        default_threads = clamp_threads(v);
    else
        default_threads = clamp_threads(sysconf(_SC_NPROCESSORS_ONLN));
}

int tjP_threads(const tj_ctx *ctx)
{
    int n = tjC_valid(ctx) ? atomic_load(&ctx->num_threads) : 0;
    if (n > 0)
        return n;
    pthread_once(&default_once, read_default);
    return default_threads;
}

void tjP_blas_threads(int nthreads)
{
    if (nthreads > 1 && atomic_load_explicit(&P.spinning, memory_order_relaxed) > 0)
        atomic_fetch_add(&P.park, 1); /* OpenBLAS's threads get the cores */
    static _Atomic int given; /* what we last handed OpenBLAS (0: nothing yet) */
    /* a plain load first: the budget rarely changes, and an exchange is a locked instruction
     * on every BLAS step */
    if (atomic_load_explicit(&given, memory_order_relaxed) != nthreads &&
        atomic_exchange(&given, nthreads) != nthreads)
        openblas_set_num_threads(nthreads);
}

/* ---- kernels over row ranges ----------------------------------------------------------------- */

/* below this many elements a kernel runs on the calling thread: a parked worker takes tens of
 * microseconds to join (W1's kernel, 16K-element chunks: two threads gained nothing at 2^15 and
 * 2^16 elements, ~5% at 2^17, ~35% at 2^18) */
#define TJP_PARALLEL_ELEMS (1 << 17)

typedef struct {
    tjK_fn fn;
    char *const *ptrs;
    const int64_t *shape, *strides;
    int64_t ndim, rows, chunk;
} rows_job;

static tj_status rows_task(void *arg, int64_t item)
{
    const rows_job *r = arg;
    int64_t lo = item * r->chunk, hi = lo + r->chunk < r->rows ? lo + r->chunk : r->rows;
    r->fn(r->ptrs, r->shape, r->strides, r->ndim, lo, hi);
    return TJ_OK;
}

void tjP_run_rows(const tj_ctx *ctx, tjK_fn fn, char *const *ptrs, const int64_t *shape,
                  const int64_t *strides, int64_t ndim, int64_t rows, int64_t unit)
{
    int64_t row_elems = ndim == 1 ? 1 : shape[ndim - 1];
    bool small = rows <= unit || row_elems == 0 || rows <= TJP_PARALLEL_ELEMS / row_elems;
    int nthreads = small ? 1 : tjP_threads(ctx);
    if (nthreads <= 1) {
        fn(ptrs, shape, strides, ndim, 0, rows);
        return;
    }
    int64_t chunk = TJP_CHUNK_ELEMS / row_elems;
    chunk = (chunk + unit - 1) / unit * unit;
    if (chunk < unit)
        chunk = unit;
    rows_job r = {fn, ptrs, shape, strides, ndim, rows, chunk};
    tjP_run(nthreads, (rows + chunk - 1) / chunk, rows_task, &r);
}
