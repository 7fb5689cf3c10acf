/* W6 in tensorjit: one forward + backward + SGD step of an MLP 784-512-10 (tanh hidden layer,
 * softmax cross-entropy), float32, batch B:
 *   h = tanh(X W1 + b1); logits = h W2 + b2
 *   loss = -mean(sum(Y * log_softmax(logits, 1), 1))   (tj_log_softmax: max-subtracted)
 * and SGD updates p <- p - lr * d loss / d p for W1, b1, W2, b2. */
#include "tj_impls.h"

#include "workload_data.h"

#include <math.h>

static tj_var *shared_normal(tj_ctx *ctx, int ndim, const int64_t *shape, uint64_t seed,
                             double scale, const char *name)
{
    tj_array *a = seed ? tu_normal(ndim, shape, seed, scale) : tj_array_new(TJ_FLOAT32, ndim, shape);
    tj_var *v = a ? tj_shared(ctx, a, name, false) : NULL;
    tj_array_unref(a);
    return v;
}

int tjw6_setup(const bi_spec *spec, bi_case *c, char *err, size_t errlen)
{
    int64_t batch = spec->dims[0], in = WD_W6_IN, hid = WD_W6_HIDDEN, cls = WD_W6_CLASSES;
    tu_fn *f = tu_fn_new();
    if (!f)
        return tu_fail(NULL, "tj_ctx_new", err, errlen);
    tj_ctx *ctx = f->ctx;
    tj_var *X = tj_matrix(ctx, TJ_FLOAT32, "X"), *Y = tj_matrix(ctx, TJ_FLOAT32, "Y");
    tj_var *W1 = shared_normal(ctx, 2, (int64_t[]){in, hid}, WD_W6_W1, 1.0 / sqrt((double)in), "W1");
    tj_var *b1 = shared_normal(ctx, 1, &hid, 0, 0, "b1");
    tj_var *W2 = shared_normal(ctx, 2, (int64_t[]){hid, cls}, WD_W6_W2, 1.0 / sqrt((double)hid), "W2");
    tj_var *b2 = shared_normal(ctx, 1, &cls, 0, 0, "b2");
    tj_var *h = tj_tanh(tj_add(tj_dot(X, W1), b1));
    tj_var *logits = tj_add(tj_dot(h, W2), b2);
    tj_var *loss = tj_neg(tj_mean(tj_sum(tj_mul(Y, tj_log_softmax(logits, 1)), (int[]){1}, 1,
                                         false), NULL, 0, false));
    tj_var *params[4] = {W1, b1, W2, b2}, *g[4];
    if (!loss || tj_grad(loss, params, 4, g) != TJ_OK) {
        tu_fn_destroy(f);
        return tu_fail(ctx, "building the MLP", err, errlen);
    }
    tj_update up[4];
    for (int i = 0; i < 4; i++)
        up[i] = (tj_update){params[i], tj_sub(params[i], tj_mulc(g[i], WD_W6_LR))};
    tj_function_opts o = TJ_FUNCTION_OPTS_INIT;
    o.name = "mlp_step";
    o.updates = up;
    o.nupdates = 4;
    f->fn = tj_function(ctx, (tj_var *[]){X, Y}, 2, &loss, 1, &o);
    f->nin = 2;
    f->in[0] = tu_normal(2, (int64_t[]){batch, in}, WD_W6_X, 1.0);
    f->in[1] = tu_onehot(batch, cls, WD_W6_Y);
    for (int i = 0; i < 4; i++)
        f->shared[i] = params[i];
    f->nshared = 4;
    if (tu_fn_finish(f, c, err, errlen) != 0) {
        tu_fn_destroy(f);
        return -1;
    }
    return 0;
}
