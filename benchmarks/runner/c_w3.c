/* W3 with the C limit: sum / row sums / column sums, variants loop_1t and loop_mt. */
#include "c_impls.h"

#include "baselines.h"
#include "bench_data.h"
#include "workload_data.h"

#include <stdlib.h>

typedef enum { SUM, ROWS, COLS } kind;

typedef struct {
    kind k;
    float *x, *out;
    size_t rows, cols;
    int threads;
} w3;

static int op(void *p)
{
    w3 *s = p;
    int mt = s->threads > 1;
    switch (s->k) {
    case SUM:
        s->out[0] = mt ? cb_w3_sum_mt(s->x, s->cols, s->threads) : cb_w3_sum(s->x, s->cols);
        break;
    case ROWS:
        mt ? cb_w3_rows_mt(s->x, s->rows, s->cols, s->out, s->threads)
           : cb_w3_rows(s->x, s->rows, s->cols, s->out);
        break;
    case COLS:
        mt ? cb_w3_cols_mt(s->x, s->rows, s->cols, s->out, s->threads)
           : cb_w3_cols(s->x, s->rows, s->cols, s->out);
        break;
    }
    return 0;
}

static void destroy(void *p)
{
    w3 *s = p;
    if (s) {
        free(s->x);
        free(s->out);
        free(s);
    }
}

static int setup(kind k, const bi_spec *spec, bi_case *c, char *err, size_t errlen)
{
    int threads = ca_threads(spec->variant);
    if (!threads)
        return ca_bad_variant(spec, err, errlen);
    w3 *s = calloc(1, sizeof *s);
    if (!s)
        return -1;
    s->k = k;
    s->threads = threads;
    s->rows = k == SUM ? 1 : (size_t)spec->dims[0];
    s->cols = k == SUM ? (size_t)spec->dims[0] : (size_t)spec->dims[1];
    size_t nout = k == SUM ? 1 : k == ROWS ? s->rows : s->cols;
    s->x = ca_floats(s->rows * s->cols);
    s->out = ca_floats(nout);
    if (!s->x || !s->out) {
        destroy(s);
        return -1;
    }
    bd_fill_uniform(s->x, s->rows * s->cols, k == SUM ? WD_W3_X : WD_W3_M);
    op(s);
    double fp[BD_FP_LEN];
    bd_fingerprint_f32(s->out, nout, fp);
    bi_check_add(c, fp);
    c->state = s;
    c->op = op;
    c->destroy = destroy;
    c->threads = threads;
    return 0;
}

int cw3_sum_setup(const bi_spec *spec, bi_case *c, char *err, size_t errlen)
{
    return setup(SUM, spec, c, err, errlen);
}

int cw3_rows_setup(const bi_spec *spec, bi_case *c, char *err, size_t errlen)
{
    return setup(ROWS, spec, c, err, errlen);
}

int cw3_cols_setup(const bi_spec *spec, bi_case *c, char *err, size_t errlen)
{
    return setup(COLS, spec, c, err, errlen);
}
