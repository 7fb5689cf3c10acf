/* What the reports show of a case: tensorjit's row, the C limit, medians, formatted times. */
#include "bench.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double bx_median(const double *v, int n, double *min, double *max)
{
    if (n <= 0) {
        *min = *max = NAN;
        return NAN;
    }
    double s[BX_MAX_SAMPLES];
    memcpy(s, v, (size_t)n * sizeof *v);
    qsort(s, (size_t)n, sizeof *s, cmp);
    *min = s[0];
    *max = s[n - 1];
    return n % 2 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
}

/* tensorjit on one thread, or with every core (the default configuration). */
const bx_row *bx_tj_row(const bx_result *r, bool single_thread)
{
    for (int i = 0; i < r->nrows; i++) {
        const bx_row *row = &r->rows[i];
        if (row->runner->kind == RK_TJ && (row->runner->threads == 1) == single_thread)
            return row;
    }
    return NULL;
}

/* The C limit: the fastest checked C variant on one thread, or on up to every core. */
const bx_row *bx_c_limit(const bx_result *r, bool single_thread)
{
    const bx_row *best = NULL;
    for (int i = 0; i < r->nrows; i++) {
        const bx_row *row = &r->rows[i];
        if (row->runner->kind != RK_C || row->status != RS_OK || row->nsamples == 0)
            continue;
        if (single_thread && row->threads != 1)
            continue;
        if (!best || row->median < best->median)
            best = row;
    }
    return best;
}

const bx_row *bx_row_of(const bx_result *r, const bx_runner *runner)
{
    for (int i = 0; i < r->nrows; i++)
        if (r->rows[i].runner == runner)
            return &r->rows[i];
    return NULL;
}

void bx_format_time(double s, char *out, int len)
{
    if (!isfinite(s))
        snprintf(out, (size_t)len, "-");
    else if (s < 1e-6)
        snprintf(out, (size_t)len, "%.3g ns", s * 1e9);
    else if (s < 1e-3)
        snprintf(out, (size_t)len, "%.3g us", s * 1e6);
    else if (s < 1)
        snprintf(out, (size_t)len, "%.3g ms", s * 1e3);
    else
        snprintf(out, (size_t)len, "%.3g s", s);
}

const char *bx_status_name(rs_status s)
{
    switch (s) {
    case RS_OK:
        return "ok";
    case RS_SKIPPED:
        return "skipped";
    case RS_FAILED:
        return "FAILED";
    case RS_ERROR:
        return "error";
    }
    return "?";
}

void bx_note(char *dst, size_t len, const char *a, const char *b)
{
    size_t n = 0;
    for (const char *s = a; s && *s && n + 1 < len; s++)
        dst[n++] = *s;
    for (const char *s = b; s && *s && n + 1 < len; s++)
        dst[n++] = *s;
    if (len)
        dst[n] = '\0';
}
