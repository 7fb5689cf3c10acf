/* Small helpers the REPL's modules share: a bump arena for one statement's tokens and syntax
 * tree, and a growing string buffer for building output text. */
#ifndef TJ_REPL_UTIL_H
#define TJ_REPL_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

/* Everything allocated from an arena lives until repl_arena_free; one statement, one arena,
 * so the parser never frees node by node. */
typedef struct repl_arena_chunk repl_arena_chunk;
typedef struct {
    repl_arena_chunk *head;
} repl_arena;

void *repl_arena_alloc(repl_arena *a, size_t size); /* zeroed; NULL when out of memory */
char *repl_arena_strndup(repl_arena *a, const char *s, size_t n);
void repl_arena_free(repl_arena *a);

/* A NUL-terminated string that grows. After an allocation failure `failed` is set and further
 * appends are ignored, so callers check once at the end. */
typedef struct {
    char *data;
    size_t len, cap;
    bool failed;
} repl_buf;

void repl_buf_append(repl_buf *b, const char *s, size_t n);
void repl_buf_puts(repl_buf *b, const char *s);
void repl_buf_printf(repl_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void repl_buf_vprintf(repl_buf *b, const char *fmt, va_list ap);
void repl_buf_free(repl_buf *b);
/* The text so far ("" when empty); valid until the next append. */
const char *repl_buf_str(const repl_buf *b);

/* Python's repr of a float: the shortest text that reads back to the same double, with
 * Python's choice between fixed and exponent notation ("0.1", "1e+16", "5.0", "inf"). */
void repl_format_float(double x, char *out, size_t size);

#endif
