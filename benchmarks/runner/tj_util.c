/* Helpers for the tensorjit implementations (tj_util.h). */
#include "tj_util.h"

#include "bench_data.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

tu_fn *tu_fn_new(void)
{
    tu_fn *f = calloc(1, sizeof *f);
    if (f && !(f->ctx = tj_ctx_new())) {
        free(f);
        return NULL;
    }
    return f;
}

void tu_fn_destroy(void *state)
{
    tu_fn *f = state;
    if (!f)
        return;
    for (int i = 0; i < f->nin; i++)
        tj_array_unref(f->in[i]);
    for (int i = 0; i < f->nout; i++)
        tj_array_unref(f->out[i]);
    tj_ctx_free(f->ctx);
    free(f);
}

static int plain_call(tu_fn *f)
{
    tj_array *out[TU_MAX_IO];
    if (tj_call(f->fn, f->in, out) != TJ_OK)
        return -1;
    for (int k = 0; k < f->nout; k++)
        tj_array_unref(out[k]);
    return 0;
}

int tu_fn_op(void *state)
{
    tu_fn *f = state;
    if (f->into)
        return tj_call_into(f->fn, f->in, f->out) == TJ_OK ? 0 : -1;
    return plain_call(f);
}

double tu_plain_call_ns(tu_fn *f, int reps)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int r = 0; r < reps; r++)
        if (plain_call(f) != 0)
            return -1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return ((double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec)) / reps;
}

int tu_fail(tj_ctx *ctx, const char *what, char *err, size_t errlen)
{
    snprintf(err, errlen, "%s: %s", what, ctx ? tj_errmsg(ctx) : tj_errmsg(NULL));
    return -1;
}

int tu_fn_finish(tu_fn *f, bi_case *c, char *err, size_t errlen)
{
    if (!f->fn)
        return tu_fail(f->ctx, "tj_function", err, errlen);
    for (int i = 0; i < f->nin; i++)
        if (!f->in[i])
            return tu_fail(NULL, "input array", err, errlen);
    f->nout = tj_fn_nout(f->fn);
    if (f->nout > TU_MAX_IO) {
        snprintf(err, errlen, "too many outputs");
        return -1;
    }
    tj_array *out[TU_MAX_IO] = {0};
    if (tj_call(f->fn, f->in, out) != TJ_OK)
        return tu_fail(f->ctx, "tj_call", err, errlen);
    int rc = 0;
    double fp[BD_FP_LEN];
    for (int k = 0; k < f->nout; k++) {
        if (rc == 0 && (tu_fingerprint(out[k], fp) != 0 || bi_check_add(c, fp) != 0))
            rc = -1;
        if (f->into) /* kept: every later call writes into it */
            f->out[k] = out[k];
        else
            tj_array_unref(out[k]);
    }
    for (int k = 0; k < f->nshared && rc == 0; k++) {
        tj_array *v = tj_shared_get(f->shared[k], true);
        if (!v || tu_fingerprint(v, fp) != 0 || bi_check_add(c, fp) != 0)
            rc = -1;
        tj_array_unref(v);
    }
    if (rc != 0) {
        snprintf(err, errlen, "fingerprinting the outputs failed");
        return -1;
    }
    c->state = f;
    c->op = tu_fn_op;
    c->destroy = tu_fn_destroy;
    snprintf(c->note, sizeof c->note, "%s", tj_fn_jitted(f->fn) ? "" : "NOT JITTED (reference executor)");
    return 0;
}

static int64_t count(int ndim, const int64_t *shape)
{
    int64_t n = 1;
    for (int i = 0; i < ndim; i++)
        n *= shape[i];
    return n;
}

typedef enum { NORMAL, UNIFORM, BERNOULLI } kind;

/* Generates straight into the array's own memory: no second copy of the data, which would show
 * in the peak-memory measurement as if tensorjit had used it. */
static tj_array *filled(kind k, int ndim, const int64_t *shape, uint64_t seed, double scale)
{
    tj_array *a = tj_array_new(TJ_FLOAT32, ndim, shape);
    float *buf = a ? tj_array_data(a) : NULL;
    if (!buf) {
        tj_array_unref(a);
        return NULL;
    }
    size_t n = (size_t)count(ndim, shape);
    if (k == NORMAL)
        bd_fill_normal(buf, n, seed, scale);
    else if (k == UNIFORM)
        bd_fill_uniform(buf, n, seed);
    else
        bd_fill_bernoulli(buf, n, seed);
    return a;
}

tj_array *tu_normal(int ndim, const int64_t *shape, uint64_t seed, double scale)
{
    return filled(NORMAL, ndim, shape, seed, scale);
}

tj_array *tu_uniform(int ndim, const int64_t *shape, uint64_t seed)
{
    return filled(UNIFORM, ndim, shape, seed, 1.0);
}

tj_array *tu_bernoulli(int ndim, const int64_t *shape, uint64_t seed)
{
    return filled(BERNOULLI, ndim, shape, seed, 1.0);
}

tj_array *tu_onehot(int64_t rows, int64_t classes, uint64_t seed)
{
    tj_array *a = tj_array_new(TJ_FLOAT32, 2, (int64_t[]){rows, classes});
    float *buf = a ? tj_array_data(a) : NULL;
    if (!buf) {
        tj_array_unref(a);
        return NULL;
    }
    bd_fill_onehot(buf, (size_t)rows, (size_t)classes, seed);
    return a;
}

int tu_fingerprint(tj_array *a, double *fp)
{
    if (!a)
        return -1;
    tj_array *c = tj_array_data(a) ? tj_array_ref(a) : tj_array_copy(a);
    if (!c)
        return -1;
    size_t n = (size_t)tj_array_size(c);
    const void *d = tj_array_data(c);
    int rc = 0;
    switch (tj_array_dtype(c)) {
    case TJ_FLOAT32:
        bd_fingerprint_f32(d, n, fp);
        break;
    case TJ_FLOAT64:
        bd_fingerprint_f64(d, n, fp);
        break;
    case TJ_BOOL:
    case TJ_UINT8:
        bd_fingerprint_u8(d, n, fp);
        break;
    default:
        rc = -1;
    }
    tj_array_unref(c);
    return rc;
}
