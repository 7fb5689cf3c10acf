/* Arena, string buffer and Python-style float formatting. */
#include "util.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct repl_arena_chunk {
    repl_arena_chunk *next;
    size_t used, cap;
    max_align_t data[];
};

enum { ARENA_CHUNK = 64 * 1024 };

void *repl_arena_alloc(repl_arena *a, size_t size)
{
    size = (size + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
    repl_arena_chunk *c = a->head;
    if (!c || c->cap - c->used < size) {
        size_t cap = size > ARENA_CHUNK ? size : ARENA_CHUNK;
        c = malloc(sizeof *c + cap);
        if (!c)
            return NULL;
        c->used = 0;
        c->cap = cap;
        c->next = a->head;
        a->head = c;
    }
    void *p = (char *)c->data + c->used;
    c->used += size;
    memset(p, 0, size);
    return p;
}

char *repl_arena_strndup(repl_arena *a, const char *s, size_t n)
{
    char *d = repl_arena_alloc(a, n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

void repl_arena_free(repl_arena *a)
{
    while (a->head) {
        repl_arena_chunk *next = a->head->next;
        free(a->head);
        a->head = next;
    }
}

static bool buf_reserve(repl_buf *b, size_t extra)
{
    if (b->failed)
        return false;
    if (b->len + extra + 1 <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + extra + 1) {
        if (cap > SIZE_MAX / 2) {
            b->failed = true;
            return false;
        }
        cap *= 2;
    }
    char *d = realloc(b->data, cap);
    if (!d) {
        b->failed = true;
        return false;
    }
    b->data = d;
    b->cap = cap;
    return true;
}

void repl_buf_append(repl_buf *b, const char *s, size_t n)
{
    if (!buf_reserve(b, n))
        return;
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void repl_buf_puts(repl_buf *b, const char *s) { repl_buf_append(b, s, strlen(s)); }

void repl_buf_vprintf(repl_buf *b, const char *fmt, va_list ap)
{
    va_list copy;
    va_copy(copy, ap);
    int n = vsnprintf(NULL, 0, fmt, copy);
    va_end(copy);
    if (n < 0 || !buf_reserve(b, (size_t)n))
        return;
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
}

void repl_buf_printf(repl_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    repl_buf_vprintf(b, fmt, ap);
    va_end(ap);
}

void repl_buf_free(repl_buf *b)
{
    free(b->data);
    *b = (repl_buf){0};
}

const char *repl_buf_str(const repl_buf *b) { return b->data ? b->data : ""; }

void repl_format_float(double x, char *out, size_t size)
{
    if (isnan(x)) {
        snprintf(out, size, "nan");
        return;
    }
    if (isinf(x)) {
        snprintf(out, size, x < 0 ? "-inf" : "inf");
        return;
    }
    /* Shortest round-trip digits in exponent form: d.ddde±XX. */
    char sci[40];
    for (int prec = 0; prec <= 16; prec++) {
        snprintf(sci, sizeof sci, "%.*e", prec, x);
        if (strtod(sci, NULL) == x)
            break;
    }
    char *e = strchr(sci, 'e');
    int exp10 = atoi(e + 1);
    char digits[24];
    size_t nd = 0;
    bool neg = sci[0] == '-';
    for (const char *p = sci + neg; p < e; p++)
        if (*p >= '0' && *p <= '9')
            digits[nd++] = *p;
    while (nd > 1 && digits[nd - 1] == '0')
        nd--;
    digits[nd] = '\0';
    /* Python's repr: fixed notation when -4 <= exponent < 16, else exponent notation. */
    char body[64];
    size_t n = 0;
    if (exp10 >= -4 && exp10 < 16) {
        if (exp10 < 0) {
            n += (size_t)snprintf(body + n, sizeof body - n, "0.");
            for (int i = -1; i > exp10; i--)
                body[n++] = '0';
            memcpy(body + n, digits, nd);
            n += nd;
        } else {
            for (int i = 0; i <= exp10; i++)
                body[n++] = (size_t)i < nd ? digits[i] : '0';
            body[n++] = '.';
            if ((size_t)exp10 + 1 < nd) {
                memcpy(body + n, digits + exp10 + 1, nd - (size_t)exp10 - 1);
                n += nd - (size_t)exp10 - 1;
            } else {
                body[n++] = '0';
            }
        }
        body[n] = '\0';
    } else {
        body[n++] = digits[0];
        if (nd > 1) {
            body[n++] = '.';
            memcpy(body + n, digits + 1, nd - 1);
            n += nd - 1;
        }
        snprintf(body + n, sizeof body - n, "e%c%02d", exp10 < 0 ? '-' : '+', abs(exp10));
    }
    snprintf(out, size, "%s%s", neg ? "-" : "", body);
}
