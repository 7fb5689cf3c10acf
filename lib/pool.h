/* The process's one thread pool (tjP_): workers created lazily, parked on a condition variable
 * between jobs, and the rules that keep it and OpenBLAS from fighting over the cores.
 *
 * A job is a fixed list of n independent items; the caller and up to nthreads-1 workers take
 * items from a shared counter. Which thread runs an item never changes what the item computes,
 * so results depend only on how the work was cut into items, never on the thread count. A job
 * submitted while the pool is busy (another user thread, or a job inside a job) runs inline on
 * the calling thread: no deadlock, no waiting. */
#ifndef TJ_POOL_H
#define TJ_POOL_H

#include "internal.h"
#include "kernel.h"

/* The most threads one job may use (the caller plus TJP_MAX_THREADS-1 workers). */
#define TJP_MAX_THREADS 64
/* The name of every worker thread (at most 15 characters: Linux's limit) */
#define TJP_WORKER_NAME "tj-worker"

/* The elements one pool item covers: small enough to balance a busy core, a multiple of
 * jit/llvm/lower.c's BLOCK so 1-D chunks stay aligned to its reduction segments. */
#define TJP_CHUNK_ELEMS 16384 /* 64K elements balanced worse with a busy second core */

/* Runs item `item` of a job; returns TJ_OK or an error it has already recorded (tjC_error). */
typedef tj_status (*tjP_task)(void *arg, int64_t item);

/* Runs items 0..n-1 of task on at most nthreads threads and returns when all are done: TJ_OK,
 * or the status of the failing item with the lowest index (items after a failure may be
 * skipped). A worker that cannot be started leaves its share to the others. */
TJ_HIDDEN tj_status tjP_run(int nthreads, int64_t n, tjP_task task, void *arg);

/* The thread budget of calls in ctx: tj_ctx_set_num_threads, else $TJ_NUM_THREADS, else the
 * number of online cores (1..TJP_MAX_THREADS). */
TJ_HIDDEN int tjP_threads(const tj_ctx *ctx);

/* Before a BLAS step: hands OpenBLAS the thread budget (openblas_set_num_threads, called only
 * when the budget changes). Our pool is idle meanwhile: a call runs its steps one at a time. */
TJ_HIDDEN void tjP_blas_threads(int nthreads);

/* A kernel over rows [0, rows) (lib/kernel.h), cut at multiples of `unit` rows into chunks of
 * about TJP_CHUNK_ELEMS elements run on ctx's threads (tjP_threads) when the space is large
 * enough to pay for it; a small one runs here without asking for the thread count. */
TJ_HIDDEN void tjP_run_rows(const tj_ctx *ctx, tjK_fn fn, char *const *ptrs, const int64_t *shape,
                            const int64_t *strides, int64_t ndim, int64_t rows, int64_t unit);

#endif
