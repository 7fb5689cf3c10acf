/* Bad input never crashes: each case returns the right status with a message naming the culprit. */
#include "support.h"

#include <criterion/criterion.h>
#include <string.h>

#define EXPECT_MSG(ctx, needle)                                                               \
    cr_expect(strstr(tj_errmsg(ctx), needle), "message '%s' lacks '%s'", tj_errmsg(ctx), needle)

Test(errors, wrong_input_count)
{
    tj_ctx *ctx = tj_ctx_new();
    tj_var *x = tj_scalar(ctx, TJ_FLOAT32, "x");
    tj_var *y = tj_addc(x, 1);
    tj_fn *f = tj_function(ctx, &x, 1, &y, 1, NULL);
    cr_assert(f, "%s", tj_errmsg(ctx));
    tj_array *a = tj_array_scalar(TJ_FLOAT32, 1), *out[2];
    cr_expect_eq(tj_call_n(f, (tj_array *[]){a, a}, 2, out, 1), TJ_ERR_INVALID);
    EXPECT_MSG(ctx, "takes 1 inputs");
    cr_expect_eq(tj_call(f, NULL, out), TJ_ERR_INVALID);
    EXPECT_MSG(ctx, "inputs");
    tj_array_unref(a);
    tj_ctx_free(ctx);
}

Test(errors, wrong_dtype_and_rank)
{
    tj_ctx *ctx = tj_ctx_new();
    tj_var *x = tj_vector(ctx, TJ_FLOAT32, "x");
    tj_var *y = tj_exp(x);
    tj_fn *f = tj_function(ctx, &x, 1, &y, 1, NULL);
    cr_assert(f);
    int64_t n = 3;
    tj_array *d = tj_array_new(TJ_FLOAT64, 1, &n), *m = tj_array_new(TJ_FLOAT32, 2,
                                                                   (int64_t[]){2, 2}), *out;
    cr_expect_eq(tj_call(f, &d, &out), TJ_ERR_TYPE);
    EXPECT_MSG(ctx, "'x'");
    EXPECT_MSG(ctx, "allow_input_downcast");
    cr_expect_eq(tj_call(f, &m, &out), TJ_ERR_TYPE);
    EXPECT_MSG(ctx, "needs 1 dimensions");
    /* a lossless upcast is accepted: int32 data into a float64 input */
    tj_var *z = tj_vector(ctx, TJ_FLOAT64, "z");
    tj_var *zz = tj_mulc(z, 2);
    tj_fn *g = tj_function(ctx, &z, 1, &zz, 1, NULL);
    tj_array *iv = tjt_array(TJ_INT32, 1, &n, (double[]){1, 2, 3});
    cr_assert_eq(tj_call(g, &iv, &out), TJ_OK, "%s", tj_errmsg(ctx));
    cr_expect_eq(tjt_at(out, 2), 6.0);
    tj_array_unref(out);
    /* and a downcast works when allowed */
    tj_function_opts o = TJ_FUNCTION_OPTS_INIT;
    o.allow_input_downcast = 1;
    tj_fn *h = tj_function(ctx, &x, 1, &y, 1, &o);
    cr_assert_eq(tj_call(h, &d, &out), TJ_OK, "%s", tj_errmsg(ctx));
    cr_expect_eq(tj_array_dtype(out), TJ_FLOAT32);
    tj_array_unref(out);
    tj_array_unref(iv);
    tj_array_unref(d);
    tj_array_unref(m);
    tj_ctx_free(ctx);
}

Test(errors, runtime_shape_mismatch_names_inputs_and_axis)
{
    tj_ctx *ctx = tj_ctx_new();
    tj_var *x = tj_matrix(ctx, TJ_FLOAT64, "x"), *y = tj_matrix(ctx, TJ_FLOAT64, "y");
    tj_var *s = tj_add(x, y);
    tj_function_opts modes[2] = {TJ_FUNCTION_OPTS_INIT, TJ_FUNCTION_OPTS_INIT};
    modes[1].mode = TJ_MODE_FAST_COMPILE;
    for (int k = 0; k < 2; k++) {
        tj_fn *f = tj_function(ctx, (tj_var *[]){x, y}, 2, &s, 1, &modes[k]);
        cr_assert(f);
        tj_array *a = tj_array_new(TJ_FLOAT64, 2, (int64_t[]){2, 3});
        tj_array *b = tj_array_new(TJ_FLOAT64, 2, (int64_t[]){2, 4}), *out;
        cr_expect_eq(tj_call(f, (tj_array *[]){a, b}, &out), TJ_ERR_SHAPE);
        EXPECT_MSG(ctx, "axis 1");
        EXPECT_MSG(ctx, "3");
        EXPECT_MSG(ctx, "4");
        tj_array_unref(a);
        tj_array_unref(b);
    }
    /* a dot with mismatched inner dimensions */
    tj_var *d = tj_dot(x, y);
    tj_fn *f = tj_function(ctx, (tj_var *[]){x, y}, 2, &d, 1, NULL);
    tj_array *a = tj_array_new(TJ_FLOAT64, 2, (int64_t[]){2, 3}), *out;
    cr_expect_eq(tj_call(f, (tj_array *[]){a, a}, &out), TJ_ERR_SHAPE);
    EXPECT_MSG(ctx, "inner dimensions");
    tj_array_unref(a);
    tj_ctx_free(ctx);
}

Test(errors, non_scalar_cost)
{
    tj_ctx *ctx = tj_ctx_new();
    tj_var *x = tj_vector(ctx, TJ_FLOAT64, "x"), *g;
    tj_var *c = tj_exp(x);
    cr_expect_eq(tj_grad(c, &x, 1, &g), TJ_ERR_TYPE);
    EXPECT_MSG(ctx, "scalar");
    tj_ctx_free(ctx);
}

Test(errors, unused_input)
{
    tj_ctx *ctx = tj_ctx_new();
    tj_var *x = tj_scalar(ctx, TJ_FLOAT64, "x"), *u = tj_scalar(ctx, TJ_FLOAT64, "unused");
    tj_var *y = tj_exp(x);
    cr_expect_null(tj_function(ctx, (tj_var *[]){x, u}, 2, &y, 1, NULL));
    cr_expect_eq(tj_errcode(ctx), TJ_ERR_UNUSED_INPUT);
    EXPECT_MSG(ctx, "'unused'");
    tj_function_opts o = TJ_FUNCTION_OPTS_INIT;
    o.on_unused_input = TJ_UNUSED_IGNORE;
    cr_expect_not_null(tj_function(ctx, (tj_var *[]){x, u}, 2, &y, 1, &o));
    /* an input the outputs need but the caller did not list */
    cr_expect_null(tj_function(ctx, &u, 1, &y, 1, &o));
    EXPECT_MSG(ctx, "'x'");
    tj_ctx_free(ctx);
}

Test(errors, null_handles_everywhere)
{
    tj_ctx *ctx = tj_ctx_new();
    tj_var *x = tj_scalar(ctx, TJ_FLOAT64, "x");
    /* sticky: a NULL operand yields NULL and leaves no new error */
    tj_clear_error(ctx);
    cr_expect_null(tj_add(x, NULL));
    cr_expect_null(tj_exp(NULL));
    cr_expect_null(tj_sum(NULL, NULL, 0, false));
    cr_expect_null(tj_dot(NULL, x));
    cr_expect_eq(tj_errcode(ctx), TJ_OK);
    cr_expect_null(tj_scalar(NULL, TJ_FLOAT32, "x"));
    cr_expect_eq(tj_errcode(NULL), TJ_ERR_INVALID);
    cr_expect_null(tj_function(NULL, &x, 1, &x, 1, NULL));
    cr_expect_null(tj_function(ctx, &x, 1, (tj_var *[]){NULL}, 1, NULL));
    cr_expect_eq(tj_errcode(ctx), TJ_ERR_INVALID);
    cr_expect_eq(tj_call(NULL, NULL, NULL), TJ_ERR_INVALID);
    cr_expect_eq(tj_grad(NULL, &x, 1, (tj_var *[1]){0}), TJ_ERR_INVALID);
    cr_expect_null(tj_shared_get(x, false)); /* not a shared variable */
    cr_expect_eq(tj_errcode(ctx), TJ_ERR_INVALID);
    cr_expect_null(tj_fn_ir(NULL, false));
    cr_expect_null(tj_array_new(TJ_FLOAT32, -1, NULL));
    tj_fn_free(NULL);
    tj_ctx_free(NULL);
    tj_array_unref(NULL);
    /* a bad axis and a bad dimshuffle are errors, not crashes */
    tj_var *m = tj_matrix(ctx, TJ_FLOAT32, "m");
    cr_expect_null(tj_sum(m, (int[]){2}, 1, false));
    cr_expect_eq(tj_errcode(ctx), TJ_ERR_VALUE);
    cr_expect_null(tj_dimshuffle(m, (int[]){0}, 1));
    EXPECT_MSG(ctx, "not broadcastable");
    tj_ctx_free(ctx);
}

Test(errors, update_type_must_match)
{
    tj_ctx *ctx = tj_ctx_new();
    tj_array *v = tj_array_scalar(TJ_INT64, 1);
    tj_var *w = tj_shared(ctx, v, "w", false);
    tj_array_unref(v);
    tj_var *x = tj_scalar(ctx, TJ_FLOAT64, "x");
    tj_function_opts o = TJ_FUNCTION_OPTS_INIT;
    o.updates = (tj_update[]){{w, tj_add(w, x)}};
    o.nupdates = 1;
    cr_expect_null(tj_function(ctx, &x, 1, &w, 1, &o));
    cr_expect_eq(tj_errcode(ctx), TJ_ERR_TYPE);
    EXPECT_MSG(ctx, "'w'");
    tj_ctx_free(ctx);
}
