/* The allocator hook: every block of a context, its functions and its JIT comes through here,
 * so tests can fail any allocation. Also compiled into the LLVM plugin (jit/llvm/), which
 * allocates its texts and objects from the context's allocator too. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

bool tjC_mem_hooked(const tj_allocator *m)
{
    return m && m->malloc_fn && m->realloc_fn && m->free_fn;
}

void *tjC_mem_malloc(const tj_allocator *m, size_t bytes)
{
    bytes = bytes ? bytes : 1;
    return tjC_mem_hooked(m) ? m->malloc_fn(m->user, bytes) : malloc(bytes);
}

void *tjC_mem_calloc(const tj_allocator *m, size_t n, size_t size)
{
    size_t bytes;
    if (__builtin_mul_overflow(n, size, &bytes))
        return NULL;
    void *p = tjC_mem_malloc(m, bytes);
    if (p)
        memset(p, 0, bytes);
    return p;
}

void *tjC_mem_realloc(const tj_allocator *m, void *p, size_t bytes)
{
    bytes = bytes ? bytes : 1;
    if (!tjC_mem_hooked(m))
        return realloc(p, bytes);
    return p ? m->realloc_fn(m->user, p, bytes) : m->malloc_fn(m->user, bytes);
}

void tjC_mem_free(const tj_allocator *m, void *p)
{
    if (!p)
        return;
    if (tjC_mem_hooked(m))
        m->free_fn(m->user, p);
    else
        free(p);
}

char *tjC_mem_strdup(const tj_allocator *m, const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *p = tjC_mem_malloc(m, n);
    if (p)
        memcpy(p, s, n);
    return p;
}
