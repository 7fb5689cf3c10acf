/* W2 in tensorjit: one training step of the seed's logistic regression, float32. */
#include "tj_impls.h"

#include "workload_data.h"

#include <math.h>

tj_array *tjw2_w0(int64_t feats)
{
    return tu_normal(1, &feats, WD_W2_W, 1.0 / sqrt((double)feats));
}

tj_fn *tjw2_build(tj_ctx *ctx, tjw2_vars *v, tj_array *w0)
{
    if (!v->x)
        v->x = tj_matrix(ctx, TJ_FLOAT32, "x");
    if (!v->y)
        v->y = tj_vector(ctx, TJ_FLOAT32, "y");
    if (!v->w)
        v->w = tj_shared(ctx, w0, "w", false);
    if (!v->b) {
        tj_array *b0 = tj_array_scalar(TJ_FLOAT32, 0.0);
        v->b = tj_shared(ctx, b0, "b", false);
        tj_array_unref(b0);
    }
    tj_var *x = v->x, *y = v->y, *w = v->w, *b = v->b;
    tj_var *p_1 = tj_rdivc(1, tj_addc(tj_exp(tj_sub(tj_neg(tj_dot(x, w)), b)), 1));
    tj_var *prediction = tj_gt(p_1, tj_lit(ctx, 0.5));
    tj_var *xent = tj_sub(tj_mul(tj_neg(y), tj_log(p_1)),
                          tj_mul(tj_rsubc(1, y), tj_log(tj_rsubc(1, p_1))));
    tj_var *cost = tj_add(tj_mean(xent, NULL, 0, false),
                          tj_mulc(tj_sum(tj_powc(w, 2), NULL, 0, false), WD_W2_L2));
    tj_var *g[2];
    if (!cost || tj_grad(cost, (tj_var *[]){w, b}, 2, g) != TJ_OK)
        return NULL;
    tj_function_opts o = TJ_FUNCTION_OPTS_INIT;
    o.name = "train";
    o.updates = (tj_update[]){{w, tj_sub(w, tj_mulc(g[0], WD_W2_LR))},
                              {b, tj_sub(b, tj_mulc(g[1], WD_W2_LR))}};
    o.nupdates = 2;
    return tj_function(ctx, (tj_var *[]){x, y}, 2, (tj_var *[]){prediction, xent, cost}, 3, &o);
}

int tjw2_setup(const bi_spec *spec, bi_case *c, char *err, size_t errlen)
{
    int64_t n = spec->dims[0], feats = spec->dims[1], shape[2] = {n, feats};
    tu_fn *f = tu_fn_new();
    if (!f)
        return tu_fail(NULL, "tj_ctx_new", err, errlen);
    tj_array *w0 = tjw2_w0(feats);
    tjw2_vars v = {0};
    f->fn = w0 ? tjw2_build(f->ctx, &v, w0) : NULL;
    tj_array_unref(w0);
    f->nin = 2;
    f->in[0] = tu_normal(2, shape, WD_W2_X, 1.0);
    f->in[1] = tu_bernoulli(1, &n, WD_W2_Y);
    f->shared[0] = v.w;
    f->shared[1] = v.b;
    f->nshared = 2;
    f->into = true; /* the outputs' buffers are reused, as the C limit's */
    if (tu_fn_finish(f, c, err, errlen) != 0) {
        tu_fn_destroy(f);
        return -1;
    }
    return 0;
}
