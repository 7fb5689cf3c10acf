/* W5 in tensorjit: the call overhead of f(x, y) -> [x+y, x*y] on 0-d float32 arrays: one
 * tj_call_into writing both results into reused arrays (no allocation). The note gives the
 * plain tj_call, which allocates and releases both outputs, measured at setup. */
#include "tj_impls.h"

#include "workload_data.h"

#include <stdio.h>

int tjw5_setup(const bi_spec *spec, bi_case *c, char *err, size_t errlen)
{
    (void)spec;
    tu_fn *f = tu_fn_new();
    if (!f)
        return tu_fail(NULL, "tj_ctx_new", err, errlen);
    tj_var *x = tj_scalar(f->ctx, TJ_FLOAT32, "x"), *y = tj_scalar(f->ctx, TJ_FLOAT32, "y");
    f->fn = tj_function(f->ctx, (tj_var *[]){x, y}, 2, (tj_var *[]){tj_add(x, y), tj_mul(x, y)},
                        2, NULL);
    f->nin = 2;
    f->in[0] = tj_array_scalar(TJ_FLOAT32, WD_W5_X);
    f->in[1] = tj_array_scalar(TJ_FLOAT32, WD_W5_Y);
    f->into = true;
    if (tu_fn_finish(f, c, err, errlen) != 0) {
        tu_fn_destroy(f);
        return -1;
    }
    double plain = tu_plain_call_ns(f, 20000);
    snprintf(c->note, sizeof c->note, "tj_call_into; plain tj_call (new outputs): %.0f ns", plain);
    return 0;
}
