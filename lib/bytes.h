/* Growing byte buffers and bounded readers: the kernels' canonical bytes (lib/kernel.c) and the
 * messages to and from the compile server (jit/wire.c) are written and read with these. */
#ifndef TJ_BYTES_H
#define TJ_BYTES_H

#include "internal.h"

typedef struct {
    const tj_allocator *mem;
    unsigned char *p;
    size_t len, cap;
    bool oom; /* an append failed: the buffer is incomplete */
} tjY_buf;

/* Appends n bytes (nothing once oom). */
TJ_HIDDEN void tjY_put(tjY_buf *b, const void *data, size_t n);
/* Appends a u64 length, then the n bytes. */
TJ_HIDDEN void tjY_put_blob(tjY_buf *b, const void *data, size_t n);
/* Appends the C string s as a blob (without its NUL); NULL as the empty blob. */
TJ_HIDDEN void tjY_put_str(tjY_buf *b, const char *s);

typedef struct {
    const unsigned char *p;
    size_t left;
} tjY_reader;

/* Copies the next n bytes to out; false (nothing taken) when fewer are left. */
TJ_HIDDEN bool tjY_take(tjY_reader *r, void *out, size_t n);
/* The next blob tjY_put_blob wrote, pointing into the reader's bytes. */
TJ_HIDDEN bool tjY_take_blob(tjY_reader *r, const unsigned char **p, size_t *n);
/* The next blob, of at most max bytes, as a NUL-terminated string: in a new block from mem
 * (*out), or, when mem is NULL, copied into *out (a buffer of max + 1 bytes). false when the blob
 * is missing or too long, or (*nomem set) memory is out. */
TJ_HIDDEN bool tjY_take_str(tjY_reader *r, const tj_allocator *mem, char **out, size_t max,
                            bool *nomem);

/* FNV-1a of n bytes: the caches' bucket hash (a hit still compares the whole key), and the
 * name of a recorded compile request. */
static inline uint64_t tjY_hash(const unsigned char *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

#endif /* TJ_BYTES_H */
