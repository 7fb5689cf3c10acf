/* W4 in tensorjit: a float32 matrix product, dims M x K x N. */
#include "tj_impls.h"

#include "workload_data.h"

int tjw4_setup(const bi_spec *spec, bi_case *c, char *err, size_t errlen)
{
    int64_t m = spec->dims[0], k = spec->dims[1], n = spec->dims[2];
    tu_fn *f = tu_fn_new();
    if (!f)
        return tu_fail(NULL, "tj_ctx_new", err, errlen);
    tj_var *a = tj_matrix(f->ctx, TJ_FLOAT32, "A"), *b = tj_matrix(f->ctx, TJ_FLOAT32, "B");
    tj_var *p = tj_dot(a, b);
    f->fn = tj_function(f->ctx, (tj_var *[]){a, b}, 2, &p, 1, NULL);
    f->nin = 2;
    f->in[0] = tu_normal(2, (int64_t[]){m, k}, WD_W4_A, 1.0);
    f->in[1] = tu_normal(2, (int64_t[]){k, n}, WD_W4_B, 1.0);
    f->into = true; /* the output buffer is reused, as the C limit's */
    if (tu_fn_finish(f, c, err, errlen) != 0) {
        tu_fn_destroy(f);
        return -1;
    }
    return 0;
}
