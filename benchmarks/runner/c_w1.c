/* W1 with the C limit: variants loop_1t, loop_mt. */
#include "c_impls.h"

#include "baselines.h"
#include "bench_data.h"
#include "workload_data.h"

#include <stdlib.h>

typedef struct {
    float *x, *y;
    size_t n;
    int threads;
} w1;

static int op(void *p)
{
    w1 *s = p;
    if (s->threads == 1)
        cb_w1_sigmoid(s->x, s->y, s->n, (float)WD_W1_A, (float)WD_W1_B);
    else
        cb_w1_sigmoid_mt(s->x, s->y, s->n, (float)WD_W1_A, (float)WD_W1_B, s->threads);
    return 0;
}

static void destroy(void *p)
{
    w1 *s = p;
    if (s) {
        free(s->x);
        free(s->y);
        free(s);
    }
}

int cw1_setup(const bi_spec *spec, bi_case *c, char *err, size_t errlen)
{
    int threads = ca_threads(spec->variant);
    if (!threads)
        return ca_bad_variant(spec, err, errlen);
    w1 *s = calloc(1, sizeof *s);
    if (!s)
        return -1;
    s->n = (size_t)spec->dims[0];
    s->threads = threads;
    s->x = ca_floats(s->n);
    s->y = ca_floats(s->n);
    if (!s->x || !s->y) {
        destroy(s);
        return -1;
    }
    bd_fill_normal(s->x, s->n, WD_W1_X, 1.0);
    op(s);
    double fp[BD_FP_LEN];
    bd_fingerprint_f32(s->y, s->n, fp);
    bi_check_add(c, fp);
    c->state = s;
    c->op = op;
    c->destroy = destroy;
    c->threads = threads;
    return 0;
}
