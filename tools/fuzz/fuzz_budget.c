/* fz_budget: an allocator for tj_ctx_new_with_allocator that counts live bytes (fuzz.h).
 *
 * A fuzzed program can compound its arrays to gigabytes (one input of api run 13 peaked at
 * 20 GB and took 84 s natively, most of it the kernel zeroing fresh pages), or its graph: a
 * REPL script that takes the gradient of a gradient of a gradient doubles its graph each time
 * (one reached 1.2 GB in 7.8 s natively). With every context's memory counted, such a program
 * meets TJ_ERR_NOMEM at BUDGET live bytes: the target stays fast and the out-of-memory paths of
 * the builders, executors and calls get fuzzed inputs too. At 256 MiB the api corpus held
 * programs of ~200 MB that took 2 s each under ASan (its checks of every large memcpy and
 * memset), and their mutations held the target near 250 executions/s; at 32 MiB the same
 * corpus of 3,526 inputs ran in 2.4 s, not 13.8 s. */
#include "fuzz.h"

#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

enum { BUDGET = 32 << 20 };
static _Atomic size_t live_bytes;
typedef union {
    size_t size;
    max_align_t align; /* the block after the header keeps malloc's alignment */
} budget_hdr;

static void *budget_malloc(void *user, size_t size)
{
    (void)user;
    if (size > BUDGET || atomic_fetch_add(&live_bytes, size) + size > BUDGET) {
        if (size <= BUDGET)
            atomic_fetch_sub(&live_bytes, size);
        return NULL;
    }
    budget_hdr *h = malloc(sizeof *h + size);
    if (!h) {
        atomic_fetch_sub(&live_bytes, size);
        return NULL;
    }
    h->size = size;
    return h + 1;
}

static void budget_free(void *user, void *p)
{
    (void)user;
    if (!p)
        return;
    budget_hdr *h = (budget_hdr *)p - 1;
    atomic_fetch_sub(&live_bytes, h->size);
    free(h);
}

static void *budget_realloc(void *user, void *p, size_t size)
{
    if (!p)
        return budget_malloc(user, size);
    budget_hdr *h = (budget_hdr *)p - 1;
    void *q = budget_malloc(user, size);
    if (q) {
        memcpy(q, p, h->size < size ? h->size : size);
        budget_free(user, p);
    }
    return q;
}

const tj_allocator *fz_budget(void)
{
    static const tj_allocator budget = {budget_malloc, budget_realloc, budget_free, NULL};
    return &budget;
}
