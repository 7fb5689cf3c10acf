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

typedef struct {
    const unsigned char *p;
    size_t left;
} tjY_reader;

/* Copies the next n bytes to out; false (nothing taken) when fewer are left. */
TJ_HIDDEN bool tjY_take(tjY_reader *r, void *out, size_t n);
/* The next blob tjY_put_blob wrote, pointing into the reader's bytes. */
TJ_HIDDEN bool tjY_take_blob(tjY_reader *r, const unsigned char **p, size_t *n);

#endif /* TJ_BYTES_H */
