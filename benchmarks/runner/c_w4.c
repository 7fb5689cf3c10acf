/* W4 with the C limit: cblas_sgemm, variants sgemm_1t and sgemm_mt. */
#include "c_impls.h"

#include "baselines.h"
#include "bench_data.h"
#include "workload_data.h"

#include <stdlib.h>

typedef struct {
    float *A, *B, *C;
    int m, k, n, threads;
} w4;

static int op(void *p)
{
    w4 *s = p;
    cb_w4_sgemm(s->A, s->B, s->C, s->m, s->k, s->n, s->threads);
    return 0;
}

static void destroy(void *p)
{
    w4 *s = p;
    if (s) {
        free(s->A);
        free(s->B);
        free(s->C);
        free(s);
    }
}

int cw4_setup(const bi_spec *spec, bi_case *c, char *err, size_t errlen)
{
    int threads = ca_threads(spec->variant);
    if (!threads)
        return ca_bad_variant(spec, err, errlen);
    w4 *s = calloc(1, sizeof *s);
    if (!s)
        return -1;
    s->m = (int)spec->dims[0];
    s->k = (int)spec->dims[1];
    s->n = (int)spec->dims[2];
    s->threads = threads;
    size_t m = (size_t)s->m, k = (size_t)s->k, n = (size_t)s->n;
    s->A = ca_floats(m * k);
    s->B = ca_floats(k * n);
    s->C = ca_floats(m * n);
    if (!s->A || !s->B || !s->C) {
        destroy(s);
        return -1;
    }
    bd_fill_normal(s->A, m * k, WD_W4_A, 1.0);
    bd_fill_normal(s->B, k * n, WD_W4_B, 1.0);
    op(s);
    double fp[BD_FP_LEN];
    bd_fingerprint_f32(s->C, m * n, fp);
    bi_check_add(c, fp);
    c->state = s;
    c->op = op;
    c->destroy = destroy;
    c->threads = threads;
    return 0;
}
