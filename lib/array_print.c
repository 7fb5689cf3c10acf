/* Printing arrays as numpy's repr() does, with numpy's default options (checked against numpy
 * 2.4): linewidth 75, threshold 1000 with 3 edge items, precision 8, floatmode 'maxprec'.
 *
 * DOCUMENTED CHOICE: the contract (API.md, the seed's examples, the REPL transcripts) prints a
 * 0-d float as Theano's numpy did, through Python's float repr: `array(5.0, dtype=float32)`,
 * where modern numpy writes `array(5., dtype=float32)`. So a 0-d float whose digits end in the
 * point gets a "0"; every other string is modern numpy's repr exactly.
 *
 * Following numpy >= 2.3 exactly, including what older numpy did differently: a summarized array
 * (more than 1000 elements) gets `shape=(...)` after it, and float32 switches to scientific
 * notation at 1e6 (float64 at 1e8).
 *
 * The layout transcribes numpy/_core/arrayprint.py: FloatingFormat.fillFormat picks one format
 * for the whole array from the shown (possibly summarized) values, _formatArray wraps rows and
 * nests brackets, _array_repr_implementation appends the shape=/dtype= extras. Positional floats
 * use the shortest digits that read back to the same value in their own dtype (float32 0.1f
 * prints 0.1), cut at 8 digits after the point with correct rounding (ties to even, like
 * Dragon4). In scientific notation every value shows as many digits as the longest needs, and
 * those digits are real digits of the value (numpy's min_digits), not zero padding. */
#include "internal.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { LINE_WIDTH = 75, THRESHOLD = 1000, EDGE_ITEMS = 3, PRECISION = 8 };
#define PREFIX "array("

/* ---- a growing string ------------------------------------------------------------------------ */
/* On the C library: arrays print without a context, and the text is the caller's to free(). */
typedef struct {
    char *p;
    size_t len, cap;
    bool oom;
} sbuf;

static void sb_put(sbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 128;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_puts(sbuf *b, const char *s) { sb_put(b, s, strlen(s)); }

static void sb_spaces(sbuf *b, int n)
{
    static const char sp[] = "                                                                ";
    for (; n > 0; n -= (int)sizeof sp - 1)
        sb_put(b, sp, n < (int)sizeof sp - 1 ? (size_t)n : sizeof sp - 1);
}

/* ---- decimal digits of a float --------------------------------------------------------------- */
typedef struct {
    bool neg;
    char dig[32]; /* significant digits, no trailing zeros except a lone "0" */
    int n;
    int exp; /* value = dig[0].dig[1..] x 10^exp */
} decimal;

/* Parses printf's "%.Ne" output. Any non-digit before the 'e' is the radix character (locale). */
static void parse_sci(const char *s, decimal *d)
{
    d->neg = *s == '-';
    if (*s == '-' || *s == '+')
        s++;
    d->n = 0;
    for (; *s && *s != 'e'; s++)
        if (*s >= '0' && *s <= '9' && d->n < (int)sizeof d->dig - 1)
            d->dig[d->n++] = *s;
    d->exp = *s == 'e' ? atoi(s + 1) : 0;
    while (d->n > 1 && d->dig[d->n - 1] == '0')
        d->n--;
    d->dig[d->n] = '\0';
}

/* The shortest digits that read back to v in its own dtype (numpy's unique mode). printf's
 * rounding is correct, so the first precision that round-trips is also the closest candidate. */
static void shortest(double v, bool f32, decimal *d)
{
    char buf[48];
    for (int p = 0; p <= (f32 ? 8 : 16); p++) {
        snprintf(buf, sizeof buf, "%.*e", p, v);
        if (f32 ? strtof(buf, NULL) == (float)v : strtod(buf, NULL) == v)
            break;
    }
    parse_sci(buf, d);
}

/* dragon4_scientific(unique, precision=prec): the shortest digits, or the value rounded to prec
 * digits after the point when the shortest need more. */
static void scientific(double v, bool f32, int prec, decimal *d)
{
    shortest(v, f32, d);
    if (d->n - 1 > prec) {
        char buf[48];
        snprintf(buf, sizeof buf, "%.*e", prec, v);
        parse_sci(buf, d);
    }
}

/* dragon4_positional(unique, fractional, precision=PRECISION, trim='.'): integer and fraction
 * digits (the fraction without trailing zeros). Only used for |v| < 1e8, so the buffers fit. */
static void positional(double v, bool f32, char *ip, size_t ipn, char *fp, size_t fpn)
{
    decimal d;
    shortest(v, f32, &d);
    int nfrac = d.n - 1 - d.exp;
    if (nfrac > PRECISION) {
        char buf[400];
        snprintf(buf, sizeof buf, "%.*f", PRECISION, v);
        const char *s = buf;
        size_t k = 0;
        if (*s == '-')
            ip[k++] = *s++;
        while (*s >= '0' && *s <= '9' && k + 1 < ipn)
            ip[k++] = *s++;
        ip[k] = '\0';
        if (*s)
            s++; /* the radix character */
        size_t n = 0;
        while (*s >= '0' && *s <= '9' && n + 1 < fpn)
            fp[n++] = *s++;
        while (n > 0 && fp[n - 1] == '0')
            n--;
        fp[n] = '\0';
        return;
    }
    size_t k = 0, f = 0;
    if (d.neg)
        ip[k++] = '-';
    if (d.exp < 0) {
        ip[k++] = '0';
        for (int i = 0; i < -d.exp - 1 && f + 1 < fpn; i++)
            fp[f++] = '0';
        for (int i = 0; i < d.n && f + 1 < fpn; i++)
            fp[f++] = d.dig[i];
    } else {
        for (int i = 0; i <= d.exp && k + 1 < ipn; i++)
            ip[k++] = i < d.n ? d.dig[i] : '0';
        for (int i = d.exp + 1; i < d.n && f + 1 < fpn; i++)
            fp[f++] = d.dig[i];
    }
    if (d.n == 1 && d.dig[0] == '0')
        f = 0; /* zero has no fraction digits */
    ip[k] = '\0';
    fp[f] = '\0';
}

static int exp_len(int e)
{
    int n = 0;
    for (e = abs(e); e; e /= 10)
        n++;
    return n < 2 ? 2 : n;
}

/* ---- one format for the whole array (numpy's *Format classes) -------------------------------- */
typedef struct {
    tj_dtype dtype;
    bool zero_d;     /* bool: "True" instead of " True" */
    int width;       /* integers: right-aligned width */
    bool exp;        /* floats: scientific notation */
    int pad_left;    /* floats: width of the integer part */
    int pad_right;   /* floats: width of the fraction (positional) or of ".ddde+XX" (scientific) */
    int precision;   /* scientific: digits after the point, all values */
    int exp_digits;  /* scientific: exponent digits */
} format;

typedef struct {
    const tj_array *a;
    bool summary;
} shown; /* the elements numpy looks at: all of them, or the edge items when summarizing */

typedef void (*visit_fn)(void *ud, const char *p);

static void visit(const shown *sh, int axis, uint64_t off, visit_fn fn, void *ud)
{
    const tj_array *a = sh->a;
    if (axis == a->ndim) {
        fn(ud, a->data + (int64_t)off);
        return;
    }
    int64_t n = a->shape[axis];
    bool cut = sh->summary && n > 2 * EDGE_ITEMS;
    for (int64_t i = 0; i < n; i++) {
        if (cut && i == EDGE_ITEMS)
            i = n - EDGE_ITEMS;
        visit(sh, axis + 1, off + (uint64_t)i * (uint64_t)a->strides[axis], fn, ud);
    }
}


typedef struct {
    format *f;
    int64_t imin, imax;                /* integers */
    double fmin, fmax;                 /* floats: |v| over finite non-zero values */
    int64_t nnonzero, nfinite, nother; /* floats */
    bool neginf;
    int ilen, flen, elen;              /* first pass: longest parts */
} stats;

static void int_stats(void *ud, const char *p)
{
    stats *s = ud;
    int64_t v = tjA_load_int(s->f->dtype, p);
    if (v < s->imin)
        s->imin = v;
    if (v > s->imax)
        s->imax = v;
}

static void float_stats(void *ud, const char *p)
{
    stats *s = ud;
    double v = tjA_load(s->f->dtype, p, 0);
    if (!isfinite(v)) {
        s->nother++;
        s->neginf |= isinf(v) && v < 0;
        return;
    }
    s->nfinite++;
    if (v == 0)
        return;
    v = fabs(v);
    if (s->nnonzero++ == 0) {
        s->fmin = s->fmax = v;
    } else {
        s->fmin = v < s->fmin ? v : s->fmin;
        s->fmax = v > s->fmax ? v : s->fmax;
    }
}

/* fillFormat's first pass: the longest integer part, fraction and exponent. */
static void float_lengths(void *ud, const char *p)
{
    stats *s = ud;
    double v = tjA_load(s->f->dtype, p, 0);
    bool f32 = s->f->dtype == TJ_FLOAT32;
    int il, fl, el = 0;
    if (!isfinite(v))
        return;
    if (s->f->exp) {
        decimal d;
        scientific(v, f32, PRECISION, &d);
        il = 1 + d.neg;
        fl = d.n - 1;
        el = exp_len(d.exp);
    } else {
        char ip[64], fp[64];
        positional(v, f32, ip, sizeof ip, fp, sizeof fp);
        il = (int)strlen(ip);
        fl = (int)strlen(fp);
    }
    if (il > s->ilen)
        s->ilen = il;
    if (fl > s->flen)
        s->flen = fl;
    if (el > s->elen)
        s->elen = el;
}

static int ilen(int64_t v) { return snprintf(NULL, 0, "%" PRId64, v); }

/* numpy decides scientific notation in the array's own precision: float32 compares and divides
 * in float32 (0.0001f is not < 0.0001f), and its cutoff for large values is 1e6, float64's 1e8. */
static bool wants_exp(const stats *s, bool f32)
{
    if (s->nnonzero == 0)
        return false;
    if (f32) {
        float mx = (float)s->fmax, mn = (float)s->fmin;
        return mx >= 1e6f || mn < 0.0001f || mx / mn > 1000.0f;
    }
    return s->fmax >= 1e8 || s->fmin < 0.0001 || s->fmax / s->fmin > 1000.0;
}

static void make_format(const tj_array *a, bool summary, format *f)
{
    shown sh = {a, summary};
    stats s = {.f = f, .imin = INT64_MAX, .imax = INT64_MIN};
    memset(f, 0, sizeof *f);
    f->dtype = a->dtype;
    f->zero_d = a->ndim == 0;
    if (tj_dtype_is_int(a->dtype)) {
        visit(&sh, 0, 0, int_stats, &s);
        f->width = ilen(s.imax) > ilen(s.imin) ? ilen(s.imax) : ilen(s.imin);
        return;
    }
    if (!tj_dtype_is_float(a->dtype))
        return; /* bool */
    visit(&sh, 0, 0, float_stats, &s);
    f->exp = wants_exp(&s, a->dtype == TJ_FLOAT32);
    if (s.nfinite > 0) {
        visit(&sh, 0, 0, float_lengths, &s);
        f->pad_left = s.ilen;
        if (f->exp) {
            f->precision = s.flen;
            f->exp_digits = s.elen;
            f->pad_right = s.elen + 2 + s.flen;
        } else {
            f->pad_right = s.flen;
        }
    }
    if (s.nother > 0) { /* room for "nan", "inf", "-inf" */
        int offset = f->pad_right + 1;
        if (3 - offset > f->pad_left)
            f->pad_left = 3 - offset;
        if (3 + s.neginf - offset > f->pad_left)
            f->pad_left = 3 + s.neginf - offset;
    }
}

/* One element as numpy's format function prints it. */
static void render(const format *f, const char *p, char *out, size_t n)
{
    if (f->dtype == TJ_BOOL) {
        snprintf(out, n, "%s", p[0] ? (f->zero_d ? "True" : " True") : "False");
        return;
    }
    if (tj_dtype_is_int(f->dtype)) {
        snprintf(out, n, "%*" PRId64, f->width, tjA_load_int(f->dtype, p));
        return;
    }
    double v = tjA_load(f->dtype, p, 0);
    bool f32 = f->dtype == TJ_FLOAT32;
    if (!isfinite(v)) {
        snprintf(out, n, "%*s", f->pad_left + f->pad_right + 1,
                 isnan(v) ? "nan" : v < 0 ? "-inf" : "inf");
    } else if (f->exp) {
        /* numpy passes min_digits = precision: values with shorter unique digits get more real
         * digits (not zeros), i.e. every value is the exact value rounded to `precision` */
        char buf[48];
        decimal d;
        snprintf(buf, sizeof buf, "%.*e", f->precision, v);
        parse_sci(buf, &d);
        int k = d.n - 1;
        char *frac = d.dig + 1;
        while (k < f->precision)
            frac[k++] = '0'; /* parse_sci trimmed them */
        frac[k] = '\0';
        /* the sign and first digit right-aligned in pad_left columns */
        snprintf(out, n, "%*s%c.%se%c%0*d", f->pad_left - 1, d.neg ? "-" : "", d.dig[0], frac,
                 d.exp < 0 ? '-' : '+', f->exp_digits, abs(d.exp));
    } else {
        char ip[64], fp[64];
        positional(v, f32, ip, sizeof ip, fp, sizeof fp);
        snprintf(out, n, "%*s.%-*s", f->pad_left, ip, f->pad_right, fp);
    }
}

/* ---- layout (numpy's _formatArray) ----------------------------------------------------------- */
typedef struct {
    const tj_array *a;
    const format *f;
    bool summary;
} printer;

/* Appends `line` to out without its trailing spaces (numpy's rstrip before a newline) and, on
 * the first line, without the hanging indent that '[' replaces. */
static void flush_line(sbuf *out, const sbuf *line, size_t skip, bool newline)
{
    size_t n = line->len;
    if (newline)
        while (n > skip && line->p[n - 1] == ' ')
            n--;
    if (n > skip)
        sb_put(out, line->p + skip, n - skip);
    if (newline)
        sb_puts(out, "\n");
}

/* One row (the last axis): elements separated by ", ", wrapped before `width` columns. */
static void format_row(const printer *pr, uint64_t off, int hang, int width, sbuf *out)
{
    const tj_array *a = pr->a;
    int axis = a->ndim - 1;
    int64_t n = a->shape[axis];
    bool cut = pr->summary && n > 2 * EDGE_ITEMS;
    int elem_width = width - 1; /* room for the ',' or ']' that follows */
    sbuf line = {0};
    bool first = true;
    sb_spaces(&line, hang);
    for (int64_t i = 0; i < n; i++) {
        char word[128];
        if (cut && i == EDGE_ITEMS) {
            snprintf(word, sizeof word, "...");
            i = n - EDGE_ITEMS - 1; /* the loop's ++ lands on the first trailing item */
        } else {
            uint64_t p = off + (uint64_t)i * (uint64_t)a->strides[axis];
            render(pr->f, a->data + (int64_t)p, word, sizeof word);
        }
        size_t wl = strlen(word);
        /* wrap when the word would pass the width, unless the line holds only the indent */
        if (line.len + wl > (size_t)elem_width && line.len > (size_t)hang) {
            flush_line(out, &line, first ? (size_t)hang : 0, true);
            first = false;
            line.len = 0;
            sb_spaces(&line, hang);
        }
        sb_puts(&line, word);
        if (i < n - 1)
            sb_puts(&line, ", ");
    }
    flush_line(out, &line, first ? (size_t)hang : 0, false);
    if (line.oom)
        out->oom = true;
    free(line.p);
}

/* '[' + the items of `axis` + ']'; inner axes are separated by ",\n" plus one blank line per
 * extra level, each line indented to `hang` columns. */
static void format_axis(const printer *pr, int axis, uint64_t off, int hang, int width, sbuf *out)
{
    const tj_array *a = pr->a;
    int left = a->ndim - axis;
    sb_puts(out, "[");
    if (left == 1) {
        format_row(pr, off, hang, width, out);
    } else {
        int64_t n = a->shape[axis];
        bool cut = pr->summary && n > 2 * EDGE_ITEMS;
        for (int64_t i = 0; i < n; i++) {
            if (i > 0)
                sb_spaces(out, hang);
            if (cut && i == EDGE_ITEMS) {
                sb_puts(out, "...");
                i = n - EDGE_ITEMS - 1;
            } else {
                format_axis(pr, axis + 1, off + (uint64_t)i * (uint64_t)a->strides[axis],
                            hang + 1, width - 1, out);
            }
            if (i < n - 1) {
                sb_puts(out, ",");
                for (int k = 0; k < left - 1; k++)
                    sb_puts(out, "\n");
            }
        }
    }
    sb_puts(out, "]");
}

/* "(2000,)", "(0, 3)": a Python tuple. */
static void put_shape(sbuf *b, const tj_array *a)
{
    char num[32];
    sb_puts(b, "(");
    for (int d = 0; d < a->ndim; d++) {
        snprintf(num, sizeof num, "%s%" PRId64, d ? ", " : "", a->shape[d]);
        sb_puts(b, num);
    }
    sb_puts(b, a->ndim == 1 ? ",)" : ")");
}

/* numpy's _array_repr_implementation. */
static void repr(const tj_array *a, sbuf *out)
{
    bool summary = a->size > THRESHOLD;
    sb_puts(out, PREFIX);
    if (a->size == 0) {
        sb_puts(out, "[]");
    } else {
        format f;
        make_format(a, summary, &f);
        printer pr = {a, &f, summary};
        if (a->ndim == 0) {
            char word[128];
            render(&f, a->data, word, sizeof word);
            sb_puts(out, word);
            size_t wl = strlen(word);
            if (tj_dtype_is_float(a->dtype) && wl > 0 && word[wl - 1] == '.')
                sb_puts(out, "0"); /* the contract's `array(5.0, ...)`, see above */
        } else {
            /* the hanging indent skips "array(" and the '['; rows keep room for the closing
             * ")" (numpy's array2string subtracts len(suffix) from the line width) */
            format_axis(&pr, 0, 0, (int)strlen(PREFIX) + 1, LINE_WIDTH - 1, out);
        }
    }

    /* shape= when the text does not show it, dtype= unless it is float64, int64 or bool */
    bool show_shape = (a->size == 0 && a->ndim != 1) || summary;
    bool implied = a->dtype == TJ_FLOAT64 || a->dtype == TJ_INT64 || a->dtype == TJ_BOOL;
    bool show_dtype = !implied || a->size == 0;
    if (!show_shape && !show_dtype) {
        sb_puts(out, ")");
        return;
    }
    sbuf extra = {0};
    if (show_shape) {
        sb_puts(&extra, "shape=");
        put_shape(&extra, a);
    }
    if (show_dtype) {
        sb_puts(&extra, show_shape ? ", dtype=" : "dtype=");
        sb_puts(&extra, tj_dtype_name(a->dtype));
    }
    sb_puts(&extra, ")");
    sb_puts(out, ",");
    if (!out->oom && !extra.oom) {
        const char *nl = strrchr(out->p, '\n');
        size_t last = out->len - (nl ? (size_t)(nl - out->p) + 1 : 0);
        if (last + extra.len + 1 > LINE_WIDTH) {
            sb_puts(out, "\n");
            sb_spaces(out, (int)strlen(PREFIX));
        } else {
            sb_puts(out, " ");
        }
        sb_put(out, extra.p, extra.len);
    }
    if (extra.oom)
        out->oom = true;
    free(extra.p);
}

char *tj_array_to_string(const tj_array *a)
{
    if (!tjA_valid(a)) {
        if (a || tjA_last_status() == TJ_OK) /* a NULL keeps the failure that produced it */
            tjA_error(TJ_ERR_INVALID, "tj_array_to_string: the array is %s",
                      a ? "not a live tj_array" : "NULL");
        return NULL;
    }
    sbuf out = {0};
    repr(a, &out);
    if (out.oom) {
        free(out.p);
        tjA_error(TJ_ERR_NOMEM, "tj_array_to_string: out of memory building the text");
        return NULL;
    }
    return out.p;
}

int tj_array_print(const tj_array *a, FILE *out)
{
    if (!out) {
        tjA_error(TJ_ERR_INVALID, "tj_array_print: out is NULL; expected an open FILE");
        return -1;
    }
    char *s = tj_array_to_string(a);
    if (!s)
        return -1;
    size_t n = strlen(s);
    int rc = fwrite(s, 1, n, out) == n ? (int)n : -1;
    free(s);
    return rc;
}
