/* W6 with the C limit: the MLP step, variants blas_1t and blas_mt (OpenBLAS threads). */
#include "c_impls.h"

#include "baselines.h"
#include "bench_data.h"
#include "workload_data.h"

#include <math.h>
#include <stdlib.h>

typedef struct {
    cb_mlp m;
    float *bufs[11];
    int threads;
} w6;

static int op(void *p)
{
    w6 *s = p;
    cb_w6_step(&s->m, s->threads);
    return 0;
}

static void destroy(void *p)
{
    w6 *s = p;
    if (!s)
        return;
    for (int i = 0; i < 11; i++)
        free(s->bufs[i]);
    free(s);
}

int cw6_setup(const bi_spec *spec, bi_case *c, char *err, size_t errlen)
{
    int threads = ca_threads(spec->variant);
    if (!threads)
        return ca_bad_variant(spec, err, errlen);
    w6 *s = calloc(1, sizeof *s);
    if (!s)
        return -1;
    size_t B = (size_t)spec->dims[0], I = WD_W6_IN, H = WD_W6_HIDDEN, C = WD_W6_CLASSES;
    size_t sizes[11] = {B * I, B * C, I * H, H, H * C, C, 1, B * H, B * C, B * H, 0};
    for (int i = 0; i < 10; i++)
        if (!(s->bufs[i] = ca_floats(sizes[i]))) {
            destroy(s);
            return -1;
        }
    float **b = s->bufs;
    bd_fill_normal(b[0], B * I, WD_W6_X, 1.0);
    bd_fill_onehot(b[1], B, C, WD_W6_Y);
    bd_fill_normal(b[2], I * H, WD_W6_W1, 1.0 / sqrt((double)I));
    bd_fill_normal(b[4], H * C, WD_W6_W2, 1.0 / sqrt((double)H));
    s->m = (cb_mlp){.X = b[0], .Y = b[1], .batch = (int)B, .in = (int)I, .hid = (int)H,
                    .cls = (int)C, .W1 = b[2], .b1 = b[3], .W2 = b[4], .b2 = b[5], .loss = b[6],
                    .H = b[7], .L = b[8], .dH = b[9], .lr = (float)WD_W6_LR};
    s->threads = threads;
    op(s);
    double fp[BD_FP_LEN];
    const size_t order[5] = {6, 2, 3, 4, 5}; /* loss, W1, b1, W2, b2: tensorjit's order */
    for (int i = 0; i < 5; i++) {
        bd_fingerprint_f32(b[order[i]], sizes[order[i]], fp);
        bi_check_add(c, fp);
    }
    c->state = s;
    c->op = op;
    c->destroy = destroy;
    c->threads = threads;
    return 0;
}
