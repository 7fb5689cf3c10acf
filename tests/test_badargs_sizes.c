/* Sizes known only at run time (symbolic shapes, arange bounds, draw shapes, reshapes of empty
 * arrays) that overflow 64 bits or cannot be inferred: each call fails with TJ_ERR_VALUE and a
 * message naming the node, in both executors, and allocates nothing huge on the way (the ASan
 * run would abort on a request of terabytes). */
#include "support.h"

#include <criterion/criterion.h>
#include <string.h>

static const tj_mode modes[] = {TJ_MODE_FAST_RUN, TJ_MODE_FAST_COMPILE};

/* Compiles out of the int64 scalars ins in each mode and calls it with vals; expects failure. */
static void expect_fails(tj_ctx *ctx, tj_var *const *ins, int nin, tj_var *out, const int64_t *vals,
                         const char *what)
{
    cr_assert(out, "%s: %s", what, tj_errmsg(ctx));
    tj_array *args[4];
    for (int i = 0; i < nin; i++)
        args[i] = tj_array_from_data(TJ_INT64, 0, NULL, &vals[i]);
    for (int m = 0; m < 2; m++) {
        tj_function_opts o = TJ_FUNCTION_OPTS_INIT;
        o.mode = modes[m];
        o.on_unused_input = TJ_UNUSED_IGNORE;
        tj_fn *fn = tj_function(ctx, ins, nin, &out, 1, &o);
        cr_assert(fn, "%s: %s", what, tj_errmsg(ctx));
        tj_array *res = NULL;
        tj_clear_error(ctx);
        tj_status st = tj_call(fn, args, &res);
        cr_expect(st == TJ_ERR_VALUE || st == TJ_ERR_SHAPE, "%s (mode %d): %s, %s", what, m,
                  tj_status_name(st), tj_errmsg(ctx));
        cr_expect(tj_errmsg(ctx)[0], "%s (mode %d): no message", what, m);
        cr_expect_null(res);
        tj_array_unref(res);
        tj_fn_free(fn);
    }
    for (int i = 0; i < nin; i++)
        tj_array_unref(args[i]);
}

static tj_var *iscalar(tj_ctx *ctx, const char *name) { return tj_scalar(ctx, TJ_INT64, name); }

Test(badargs_sizes, alloc_of_symbolic_sizes_overflowing)
{
    tj_ctx *ctx = tj_ctx_new();
    tj_var *a = iscalar(ctx, "a"), *b = iscalar(ctx, "b");
    tj_var *out = tj_alloc(tj_const(ctx, TJ_FLOAT64, 1), (tj_var *[]){a, b}, 2);
    expect_fails(ctx, (tj_var *[]){a, b}, 2, out, (int64_t[]){INT64_C(1) << 32, INT64_C(1) << 32},
                 "alloc (2^32, 2^32)");
    expect_fails(ctx, (tj_var *[]){a, b}, 2, out, (int64_t[]){INT64_C(1) << 61, 1},
                 "alloc (2^61, 1) of float64: 2^64 bytes");
    expect_fails(ctx, (tj_var *[]){a, b}, 2, out, (int64_t[]){-3, 2}, "alloc (-3, 2)");
    tj_ctx_free(ctx);
}

Test(badargs_sizes, arange_count_overflowing)
{
    tj_ctx *ctx = tj_ctx_new();
    tj_var *lo = iscalar(ctx, "lo"), *hi = iscalar(ctx, "hi");
    tj_var *out = tj_arange(lo, hi, NULL, TJ_INT64);
    expect_fails(ctx, (tj_var *[]){lo, hi}, 2, out, (int64_t[]){INT64_MIN, INT64_MAX},
                 "arange(INT64_MIN, INT64_MAX): 2^64 values");
    expect_fails(ctx, (tj_var *[]){lo, hi}, 2, out, (int64_t[]){0, INT64_C(1) << 61},
                 "arange(0, 2^61): 2^64 bytes");
    tj_ctx_free(ctx);
}

Test(badargs_sizes, reshape_symbolic_overflowing_or_uninferable)
{
    tj_ctx *ctx = tj_ctx_new();
    tj_var *x = tj_vector(ctx, TJ_FLOAT64, "x");
    tj_var *a = iscalar(ctx, "a"), *b = iscalar(ctx, "b");
    tj_var *out = tj_reshape_sym(x, (tj_var *[]){a, b}, 2);
    cr_assert(out, "%s", tj_errmsg(ctx));
    tj_var *ins[3] = {x, a, b};
    int64_t n = 0;
    tj_array *empty = tj_array_new(TJ_FLOAT64, 1, &n);
    for (int m = 0; m < 2; m++) {
        tj_function_opts o = TJ_FUNCTION_OPTS_INIT;
        o.mode = modes[m];
        tj_fn *fn = tj_function(ctx, ins, 3, &out, 1, &o);
        cr_assert(fn, "%s", tj_errmsg(ctx));
        static const int64_t cases[][2] = {
            {INT64_C(1) << 32, INT64_C(1) << 32}, /* the product overflows to 0 */
            {0, -1},                              /* -1 next to 0: numpy cannot infer it */
            {-1, -1},                             /* two inferred sizes */
            {-2, 0},
        };
        for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
            tj_array *av = tj_array_from_data(TJ_INT64, 0, NULL, &cases[k][0]);
            tj_array *bv = tj_array_from_data(TJ_INT64, 0, NULL, &cases[k][1]);
            tj_array *res = NULL;
            tj_clear_error(ctx);
            tj_status st = tj_call(fn, (tj_array *[]){empty, av, bv}, &res);
            cr_expect_eq(st, TJ_ERR_VALUE, "mode %d: reshape of 0 elements to (%lld, %lld): %s %s",
                         m, (long long)cases[k][0], (long long)cases[k][1],
                         tj_status_name(st), tj_errmsg(ctx));
            cr_expect(tj_errmsg(ctx)[0]);
            tj_array_unref(res);
            tj_array_unref(av);
            tj_array_unref(bv);
        }
        tj_fn_free(fn);
    }
    tj_array_unref(empty);
    tj_ctx_free(ctx);
}

Test(badargs_sizes, random_draw_shape_overflowing)
{
    tj_ctx *ctx = tj_ctx_new();
    tj_var *a = iscalar(ctx, "a"), *b = iscalar(ctx, "b");
    tj_var *state = tj_rng_state(ctx, 1, "rng");
    tj_var *out = tj_random_uniform(state, tj_stack((tj_var *[]){a, b}, 2, 0), TJ_FLOAT64, NULL);
    expect_fails(ctx, (tj_var *[]){a, b}, 2, out, (int64_t[]){INT64_C(1) << 32, INT64_C(1) << 32},
                 "uniform of shape (2^32, 2^32)");
    expect_fails(ctx, (tj_var *[]){a, b}, 2, out, (int64_t[]){INT64_C(1) << 61, 1},
                 "uniform of shape (2^61, 1)");
    tj_ctx_free(ctx);
}

/* Sizes that fit 64 bits but not the machine: a valid view of 2^40 elements (stride 0 over one
 * float) doubled needs 4 TiB. Both executors answer TJ_ERR_NOMEM with the sizes, in this run and
 * under ASan (no allocator_may_return_null needed: the request never reaches malloc). */
Test(badargs_sizes, result_larger_than_the_machine)
{
    tj_ctx *ctx = tj_ctx_new();
    tj_var *x = tj_vector(ctx, TJ_FLOAT32, "x");
    float one = 1.0f;
    int64_t n = INT64_C(1) << 40, stride = 0;
    tj_array *huge = tj_array_wrap(TJ_FLOAT32, 1, &n, &stride, &one, NULL, NULL);
    cr_assert(huge, "a view of 2^40 elements over one float is valid");
    for (int m = 0; m < 2; m++) {
        tj_function_opts o = TJ_FUNCTION_OPTS_INIT;
        o.mode = modes[m];
        tj_fn *fn = tj_function(ctx, &x, 1, (tj_var *[]){tj_mulc(x, 2)}, 1, &o);
        cr_assert(fn, "%s", tj_errmsg(ctx));
        tj_array *res = NULL;
        cr_expect_eq(tj_call(fn, &huge, &res), TJ_ERR_NOMEM, "mode %d: %s", m, tj_errmsg(ctx));
        cr_expect(strstr(tj_errmsg(ctx), "more than this machine's memory"), "mode %d: %s", m,
                  tj_errmsg(ctx));
        cr_expect_null(res);
        tj_fn_free(fn);
    }
    tj_clear_error(NULL);
    cr_expect_null(tj_array_new(TJ_FLOAT64, 1, &n));
    cr_expect_eq(tj_errcode(NULL), TJ_ERR_NOMEM, "%s", tj_errmsg(NULL));
    tj_array_unref(huge);
    tj_ctx_free(ctx);
}
