/* W2 with the C limit: variants two_pass_1t, two_pass_mt, blocked_1t, blocked_mt. */
#include "c_impls.h"

#include "baselines.h"
#include "bench_data.h"
#include "workload_data.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    cb_logreg lr;
    float *X, *y, *w, *b, *xent, *cost, *z, *gw;
    uint8_t *pred;
    int threads, blocked;
} w2;

static int op(void *p)
{
    w2 *s = p;
    if (s->threads == 1)
        cb_blas_threads(1);
    if (s->blocked)
        s->threads == 1 ? cb_w2_blocked(&s->lr) : cb_w2_blocked_mt(&s->lr, s->threads);
    else if (s->threads == 1)
        cb_w2_two_pass(&s->lr);
    else {
        cb_blas_threads(1); /* one BLAS thread inside each of our threads */
        cb_w2_two_pass_mt(&s->lr, s->threads);
    }
    return 0;
}

static void destroy(void *p)
{
    w2 *s = p;
    if (!s)
        return;
    free(s->X);
    free(s->y);
    free(s->w);
    free(s->b);
    free(s->xent);
    free(s->cost);
    free(s->z);
    free(s->gw);
    free(s->pred);
    free(s);
}

int cw2_setup(const bi_spec *spec, bi_case *c, char *err, size_t errlen)
{
    int threads = ca_threads(spec->variant);
    int blocked = strncmp(spec->variant, "blocked_", 8) == 0;
    if (!threads || (!blocked && strncmp(spec->variant, "two_pass_", 9) != 0))
        return ca_bad_variant(spec, err, errlen);
    size_t n = (size_t)spec->dims[0], f = (size_t)spec->dims[1];
    w2 *s = calloc(1, sizeof *s);
    if (!s)
        return -1;
    s->threads = threads;
    s->blocked = blocked;
    s->X = ca_floats(n * f);
    s->y = ca_floats(n);
    s->w = ca_floats(f);
    s->b = ca_floats(1);
    s->xent = ca_floats(n);
    s->cost = ca_floats(1);
    s->z = ca_floats(n);
    s->gw = ca_floats(f * (size_t)threads);
    s->pred = calloc(n, 1);
    if (!s->X || !s->y || !s->w || !s->b || !s->xent || !s->cost || !s->z || !s->gw || !s->pred) {
        destroy(s);
        return -1;
    }
    bd_fill_normal(s->X, n * f, WD_W2_X, 1.0);
    bd_fill_bernoulli(s->y, n, WD_W2_Y);
    bd_fill_normal(s->w, f, WD_W2_W, 1.0 / sqrt((double)f));
    s->lr = (cb_logreg){.X = s->X, .y = s->y, .n = (int64_t)n, .f = (int64_t)f, .w = s->w,
                        .b = s->b, .pred = s->pred, .xent = s->xent, .cost = s->cost, .z = s->z,
                        .gw = s->gw, .lr = (float)WD_W2_LR, .l2 = (float)WD_W2_L2};
    op(s);
    double fp[BD_FP_LEN];
    bd_fingerprint_u8(s->pred, n, fp);
    bi_check_add(c, fp);
    bd_fingerprint_f32(s->xent, n, fp);
    bi_check_add(c, fp);
    bd_fingerprint_f32(s->cost, 1, fp);
    bi_check_add(c, fp);
    bd_fingerprint_f32(s->w, f, fp);
    bi_check_add(c, fp);
    bd_fingerprint_f32(s->b, 1, fp);
    bi_check_add(c, fp);
    c->state = s;
    c->op = op;
    c->destroy = destroy;
    c->threads = threads;
    return 0;
}
