/* W3 in tensorjit: reductions of float32 data (sum of a vector; row and column sums of a matrix). */
#include "tj_impls.h"

#include "workload_data.h"

static int reduce_setup(tj_var *(*input)(tj_ctx *), int ndim, const int64_t *shape,
                        uint64_t seed, const int *axes, int naxes, bi_case *c, char *err,
                        size_t errlen)
{
    tu_fn *f = tu_fn_new();
    if (!f)
        return tu_fail(NULL, "tj_ctx_new", err, errlen);
    tj_var *x = input(f->ctx);
    tj_var *s = tj_sum(x, axes, naxes, false);
    f->fn = tj_function(f->ctx, &x, 1, &s, 1, NULL);
    f->nin = 1;
    f->in[0] = tu_uniform(ndim, shape, seed);
    if (tu_fn_finish(f, c, err, errlen) != 0) {
        tu_fn_destroy(f);
        return -1;
    }
    return 0;
}

static tj_var *vec(tj_ctx *ctx)
{
    return tj_vector(ctx, TJ_FLOAT32, "x");
}

static tj_var *mat(tj_ctx *ctx)
{
    return tj_matrix(ctx, TJ_FLOAT32, "X");
}

int tjw3_sum_setup(const bi_spec *spec, bi_case *c, char *err, size_t errlen)
{
    return reduce_setup(vec, 1, spec->dims, WD_W3_X, NULL, 0, c, err, errlen);
}

int tjw3_rows_setup(const bi_spec *spec, bi_case *c, char *err, size_t errlen)
{
    return reduce_setup(mat, 2, spec->dims, WD_W3_M, (int[]){1}, 1, c, err, errlen);
}

int tjw3_cols_setup(const bi_spec *spec, bi_case *c, char *err, size_t errlen)
{
    return reduce_setup(mat, 2, spec->dims, WD_W3_M, (int[]){0}, 1, c, err, errlen);
}
