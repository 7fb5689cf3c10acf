/* W5 with the C limit: one call through a function pointer (variant fnptr). */
#include "c_impls.h"

#include "baselines.h"
#include "bench_data.h"
#include "workload_data.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    cb_w5_fn volatile fn; /* volatile: reloaded for every call, never inlined */
    float x, y, sum, prod;
} w5;

static int op(void *p)
{
    w5 *s = p;
    s->fn(&s->x, &s->y, &s->sum, &s->prod);
    return 0;
}

int cw5_setup(const bi_spec *spec, bi_case *c, char *err, size_t errlen)
{
    if (strcmp(spec->variant, "fnptr") != 0)
        return ca_bad_variant(spec, err, errlen);
    w5 *s = calloc(1, sizeof *s);
    if (!s)
        return -1;
    s->fn = cb_w5_function();
    s->x = (float)WD_W5_X;
    s->y = (float)WD_W5_Y;
    op(s);
    double fp[BD_FP_LEN];
    bd_fingerprint_f32(&s->sum, 1, fp);
    bi_check_add(c, fp);
    bd_fingerprint_f32(&s->prod, 1, fp);
    bi_check_add(c, fp);
    c->state = s;
    c->op = op;
    c->destroy = free;
    c->threads = 1;
    return 0;
}
