/* W1 in tensorjit: the fused elementwise 1/(1+exp(-(a*x+b))) over a float32 vector. */
#include "tj_impls.h"

#include "workload_data.h"

int tjw1_setup(const bi_spec *spec, bi_case *c, char *err, size_t errlen)
{
    int64_t n = spec->dims[0];
    tu_fn *f = tu_fn_new();
    if (!f)
        return tu_fail(NULL, "tj_ctx_new", err, errlen);
    tj_var *a = tj_scalar(f->ctx, TJ_FLOAT32, "a"), *b = tj_scalar(f->ctx, TJ_FLOAT32, "b");
    tj_var *x = tj_vector(f->ctx, TJ_FLOAT32, "x");
    tj_var *y = tj_rdivc(1, tj_addc(tj_exp(tj_neg(tj_add(tj_mul(a, x), b))), 1));
    f->fn = tj_function(f->ctx, (tj_var *[]){a, b, x}, 3, &y, 1, NULL);
    f->nin = 3;
    f->in[0] = tj_array_scalar(TJ_FLOAT32, WD_W1_A);
    f->in[1] = tj_array_scalar(TJ_FLOAT32, WD_W1_B);
    f->in[2] = tu_normal(1, &n, WD_W1_X, 1.0);
    f->into = true; /* the output buffer is reused, as the C limit's */
    if (tu_fn_finish(f, c, err, errlen) != 0) {
        tu_fn_destroy(f);
        return -1;
    }
    return 0;
}
