/* The direct call (lib/function_direct.c): which functions take it, values against a float64
 * reference on both sides of the thread pool's size threshold, and every call it must hand to
 * the general path (conversions, strides, bad shapes, aliasing) giving the general path's
 * values and errors. */
#include "function.h"
#include "support.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static bool direct(const tj_fn *f) { return f->direct != NULL; }

static tj_array *ramp(tj_dtype d, int64_t n, double scale)
{
    tj_array *a = tj_array_new(d, 1, &n);
    for (int64_t i = 0; i < n; i++)
        tj_array_set(a, &i, scale * cos(0.001 * (double)i));
    return a;
}

/* The functions that are one kernel over leaves take the direct call; the rest do not. */
Test(direct, which_functions)
{
    tj_ctx *ctx = tj_ctx_new();
    tj_var *x = tj_vector(ctx, TJ_FLOAT32, "x"), *y = tj_vector(ctx, TJ_FLOAT32, "y");
    tj_array *s0 = tj_array_scalar(TJ_FLOAT32, 2);
    tj_var *s = tj_shared(ctx, s0, "s", false);
    tj_array_unref(s0);
    tj_fn *one = tj_function(ctx, (tj_var *[]){x, y}, 2,
                             (tj_var *[]){tj_add(tj_mul(x, s), y), tj_exp(x)}, 2, NULL);
    tj_fn *reduce = tj_function(ctx, &x, 1, (tj_var *[]){tj_sum(x, NULL, 0, false)}, 1, NULL);
    tj_function_opts up = TJ_FUNCTION_OPTS_INIT;
    up.updates = (tj_update[]){{s, tj_addc(s, 1)}};
    up.nupdates = 1;
    tj_fn *updates = tj_function(ctx, &x, 1, (tj_var *[]){tj_mul(x, s)}, 1, &up);
    tj_function_opts prof = TJ_FUNCTION_OPTS_INIT;
    prof.profile = true;
    tj_fn *profiled = tj_function(ctx, &x, 1, (tj_var *[]){tj_mul(x, s)}, 1, &prof);
    tj_function_opts fc = TJ_FUNCTION_OPTS_INIT;
    fc.mode = TJ_MODE_FAST_COMPILE;
    tj_fn *slow = tj_function(ctx, &x, 1, (tj_var *[]){tj_mul(x, s)}, 1, &fc);
    tj_fn *same = tj_function(ctx, &x, 1, (tj_var *[]){x}, 1, NULL); /* no kernel at all */
    cr_assert(one && reduce && updates && profiled && slow && same, "%s", tj_errmsg(ctx));
    cr_expect_eq(direct(one), !tjt_jit_off());
    cr_expect(!direct(reduce) && !direct(updates) && !direct(profiled) && !direct(slow) &&
              !direct(same));
    tj_ctx_free(ctx);
}

/* a * x + b with a shared scalar and a literal, in float32 against float64, below and above
 * the size where the kernel is split over the thread pool; tj_call and tj_call_into agree. */
Test(direct, values_small_and_pooled)
{
    tj_ctx *ctx = tj_ctx_new();
    tj_ctx_set_num_threads(ctx, 2);
    tj_var *x = tj_vector(ctx, TJ_FLOAT32, "x");
    tj_array *a0 = tj_array_scalar(TJ_FLOAT32, -1.25);
    tj_var *a = tj_shared(ctx, a0, "a", false);
    tj_array_unref(a0);
    tj_var *e = tj_addc(tj_mul(a, x), 0.5);
    tj_fn *f = tj_function(ctx, &x, 1, (tj_var *[]){tj_rdivc(1, tj_addc(tj_exp(tj_neg(e)), 1)), e},
                           2, NULL);
    cr_assert(f, "%s", tj_errmsg(ctx));
    cr_expect_eq(direct(f), !tjt_jit_off()); /* the scalar's broadcast view is folded */
    int64_t sizes[] = {0, 1, 7, 1000, 300001};
    for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
        int64_t n = sizes[k];
        tj_array *in = ramp(TJ_FLOAT32, n, 3.0);
        tj_array *fresh[2] = {NULL, NULL};
        tj_array *into[2] = {tj_array_new(TJ_FLOAT32, 1, &n), tj_array_new(TJ_FLOAT32, 1, &n)};
        cr_assert_eq(tj_call(f, &in, fresh), TJ_OK, "%s", tj_errmsg(ctx));
        cr_assert_eq(tj_call_into(f, &in, into), TJ_OK, "%s", tj_errmsg(ctx));
        for (int o = 0; o < 2; o++) {
            cr_assert_eq(tj_array_size(fresh[o]), n);
            cr_assert_eq(tj_array_size(into[o]), n);
        }
        for (int64_t i = 0; i < n; i++) {
            double xv = (float)(3.0 * cos(0.001 * (double)i)), ev = -1.25 * xv + 0.5;
            double sig = 1.0 / (1.0 + exp(-ev));
            cr_assert(fabs(tjt_at(fresh[0], i) - sig) <= 2e-7 * fmax(1.0, sig), "n %lld i %lld",
                      (long long)n, (long long)i);
            cr_assert(fabs(tjt_at(fresh[1], i) - ev) <= 1e-6 * fmax(1.0, fabs(ev)));
            cr_assert_eq(tjt_at(into[0], i), tjt_at(fresh[0], i));
            cr_assert_eq(tjt_at(into[1], i), tjt_at(fresh[1], i));
        }
        for (int o = 0; o < 2; o++) {
            tj_array_unref(fresh[o]);
            tj_array_unref(into[o]);
        }
        tj_array_unref(in);
    }
    tj_ctx_free(ctx);
}

/* x * w for a float64 vector x and a shared vector w of length 4. */
static tj_fn *times_shared(tj_ctx *ctx, tj_var **w)
{
    tj_var *x = tj_vector(ctx, TJ_FLOAT64, "x");
    tj_array *w0 = ramp(TJ_FLOAT64, 4, 1.0);
    *w = tj_shared(ctx, w0, "w", false);
    tj_array_unref(w0);
    tj_fn *f = tj_function(ctx, &x, 1, (tj_var *[]){tj_mul(x, *w)}, 1, NULL);
    cr_assert(f, "%s", tj_errmsg(ctx));
    return f;
}

/* A shared value set with another length between calls is what the next call reads. */
Test(direct, reads_the_current_shared_value)
{
    tj_ctx *ctx = tj_ctx_new();
    tj_var *w;
    tj_fn *f = times_shared(ctx, &w);
    cr_expect_eq(direct(f), !tjt_jit_off());
    for (int64_t n = 4; n <= 6; n++) {
        tj_array *wv = ramp(TJ_FLOAT64, n, -2.0), *in = ramp(TJ_FLOAT64, n, 0.5), *out = NULL;
        cr_assert_eq(tj_shared_set(w, wv, false), TJ_OK, "%s", tj_errmsg(ctx));
        cr_assert_eq(tj_call(f, &in, &out), TJ_OK, "%s", tj_errmsg(ctx));
        for (int64_t i = 0; i < n; i++)
            cr_expect_eq(tjt_at(out, i), tjt_at(in, i) * tjt_at(wv, i));
        tj_array_unref(wv);
        tj_array_unref(in);
        tj_array_unref(out);
    }
    tj_ctx_free(ctx);
}

/* Calls the direct path hands on: a strided input, a converted input, and a length-1 input
 * where the graph expects a full vector: the general path's values. */
Test(direct, general_path_values)
{
    tj_ctx *ctx = tj_ctx_new();
    tj_var *x = tj_vector(ctx, TJ_FLOAT32, "x"), *y = tj_vector(ctx, TJ_FLOAT32, "y");
    tj_function_opts o = TJ_FUNCTION_OPTS_INIT;
    o.allow_input_downcast = 1;
    tj_fn *f = tj_function(ctx, (tj_var *[]){x, y}, 2, (tj_var *[]){tj_sub(x, y)}, 1, &o);
    cr_assert(f, "%s", tj_errmsg(ctx));
    cr_expect_eq(direct(f), !tjt_jit_off());
    float buf[10];
    for (int i = 0; i < 10; i++)
        buf[i] = (float)i * 1.5f;
    int64_t n = 5, stride = 2 * sizeof(float);
    tj_array *strided = tj_array_wrap(TJ_FLOAT32, 1, &n, &stride, buf, NULL, NULL);
    tj_array *y32 = ramp(TJ_FLOAT32, n, 1.0), *y64 = ramp(TJ_FLOAT64, n, 1.0);
    tj_array *out = NULL;
    cr_assert_eq(tj_call(f, (tj_array *[]){strided, y32}, &out), TJ_OK, "%s", tj_errmsg(ctx));
    for (int64_t i = 0; i < n; i++)
        cr_expect_eq(tjt_at(out, i), (double)(buf[2 * i] - (float)tjt_at(y32, i)));
    tj_array_unref(out);
    out = NULL;
    cr_assert_eq(tj_call(f, (tj_array *[]){strided, y64}, &out), TJ_OK, "%s", tj_errmsg(ctx));
    for (int64_t i = 0; i < n; i++)
        cr_expect_eq(tjt_at(out, i), (double)(buf[2 * i] - (float)tjt_at(y64, i)));
    tj_array_unref(out);
    tj_array_unref(strided);
    tj_array_unref(y32);
    tj_array_unref(y64);
    tj_ctx_free(ctx);
}

/* Bad calls of a direct function get the general path's errors and leave no output behind. */
Test(direct, errors_are_the_general_paths)
{
    tj_ctx *ctx = tj_ctx_new();
    tj_var *x = tj_vector(ctx, TJ_FLOAT32, "x"), *y = tj_vector(ctx, TJ_FLOAT32, "y");
    tj_fn *f = tj_function(ctx, (tj_var *[]){x, y}, 2, (tj_var *[]){tj_add(x, y)}, 1, NULL);
    cr_assert(f, "%s", tj_errmsg(ctx));
    cr_expect_eq(direct(f), !tjt_jit_off());
    tj_array *x4 = ramp(TJ_FLOAT32, 4, 1.0), *y5 = ramp(TJ_FLOAT32, 5, 1.0);
    tj_array *y4 = ramp(TJ_FLOAT32, 4, 2.0), *i4 = ramp(TJ_INT32, 4, 1.0);
    tj_array *out = NULL;
    cr_expect_eq(tj_call(f, (tj_array *[]){x4, y5}, &out), TJ_ERR_SHAPE);
    cr_expect(strstr(tj_errmsg(ctx), "axis 0") && strstr(tj_errmsg(ctx), "has length 4"), "%s",
              tj_errmsg(ctx));
    cr_expect_null(out);
    cr_expect_eq(tj_call(f, (tj_array *[]){x4, NULL}, &out), TJ_ERR_INVALID);
    cr_expect(strstr(tj_errmsg(ctx), "input 1"), "%s", tj_errmsg(ctx));
    cr_expect_eq(tj_call(f, (tj_array *[]){x4, i4}, &out), TJ_ERR_TYPE);
    cr_expect(strstr(tj_errmsg(ctx), "can lose precision"), "%s", tj_errmsg(ctx));
    cr_expect_null(out);
    /* into: the output may not be an input, nor have another length */
    tj_array *into = x4;
    cr_expect_eq(tj_call_into(f, (tj_array *[]){x4, y4}, &into), TJ_ERR_INVALID);
    cr_expect(strstr(tj_errmsg(ctx), "shares memory with input 0"), "%s", tj_errmsg(ctx));
    tj_array *wrong = ramp(TJ_FLOAT32, 3, 1.0);
    into = wrong;
    cr_expect_eq(tj_call_into(f, (tj_array *[]){x4, y4}, &into), TJ_ERR_SHAPE);
    cr_expect(strstr(tj_errmsg(ctx), "outputs[0] has shape (3)"), "%s", tj_errmsg(ctx));
    for (int64_t i = 0; i < 3; i++) /* untouched */
        cr_expect_eq(tjt_at(wrong, i), (double)(float)cos(0.001 * (double)i));
    tj_array_unref(x4);
    tj_array_unref(y4);
    tj_array_unref(y5);
    tj_array_unref(i4);
    tj_array_unref(wrong);
    tj_ctx_free(ctx);
}

/* An input no output reads is still checked as the general path checks it: a broadcastable
 * axis must have length 1. */
Test(direct, unused_input_checked)
{
    tj_ctx *ctx = tj_ctx_new();
    tj_var *x = tj_vector(ctx, TJ_FLOAT32, "x");
    tj_var *r = tj_tensor(ctx, TJ_FLOAT32, 2, (bool[]){true, false}, "r"); /* a row */
    tj_function_opts o = TJ_FUNCTION_OPTS_INIT;
    o.on_unused_input = TJ_UNUSED_IGNORE;
    tj_fn *f = tj_function(ctx, (tj_var *[]){x, r}, 2, (tj_var *[]){tj_mulc(x, 3)}, 1, &o);
    cr_assert(f, "%s", tj_errmsg(ctx));
    cr_expect_eq(direct(f), !tjt_jit_off());
    tj_array *xv = ramp(TJ_FLOAT32, 4, 1.0), *out = NULL;
    int64_t bad[2] = {2, 3}, good[2] = {1, 3};
    tj_array *rb = tj_array_new(TJ_FLOAT32, 2, bad), *rg = tj_array_new(TJ_FLOAT32, 2, good);
    cr_expect_eq(tj_call(f, (tj_array *[]){xv, rb}, &out), TJ_ERR_SHAPE);
    cr_expect(strstr(tj_errmsg(ctx), "broadcastable on axis 0"), "%s", tj_errmsg(ctx));
    cr_expect_null(out);
    cr_assert_eq(tj_call(f, (tj_array *[]){xv, rg}, &out), TJ_OK, "%s", tj_errmsg(ctx));
    for (int64_t i = 0; i < 4; i++)
        cr_expect_eq(tjt_at(out, i), (double)(3.0f * (float)cos(0.001 * (double)i)));
    tj_array_unref(out);
    tj_array_unref(xv);
    tj_array_unref(rb);
    tj_array_unref(rg);
    tj_ctx_free(ctx);
}

/* A call with the arrays of the previous call skips the checks (the memo of
 * function_direct.c). Arrays freed and made again, likely at the same addresses, with other
 * shapes or dtypes, are checked again: the general path's errors, outputs untouched. */
Test(direct, remembered_arrays_are_checked_again_when_replaced)
{
    tj_ctx *ctx = tj_ctx_new();
    tj_var *x = tj_vector(ctx, TJ_FLOAT32, "x"), *y = tj_vector(ctx, TJ_FLOAT32, "y");
    tj_fn *f = tj_function(ctx, (tj_var *[]){x, y}, 2, (tj_var *[]){tj_add(x, y)}, 1, NULL);
    cr_assert(f, "%s", tj_errmsg(ctx));
    cr_expect_eq(direct(f), !tjt_jit_off());
    tj_array *xv = ramp(TJ_FLOAT32, 4, 1.0), *yv = ramp(TJ_FLOAT32, 4, 2.0);
    tj_array *out = ramp(TJ_FLOAT32, 4, 0.0);
    for (int call = 0; call < 3; call++) { /* the first call remembers, the others hit */
        int64_t i0 = 0;
        tj_array_set(xv, &i0, call);
        cr_assert_eq(tj_call_into(f, (tj_array *[]){xv, yv}, &out), TJ_OK, "%s", tj_errmsg(ctx));
        cr_expect_eq(tjt_at(out, 0), (double)((float)call + (float)tjt_at(yv, 0)));
        for (int64_t i = 1; i < 4; i++)
            cr_expect_eq(tjt_at(out, i), (double)((float)tjt_at(xv, i) + (float)tjt_at(yv, i)));
    }
    /* x replaced by a length-5 array */
    tj_array_unref(xv);
    xv = ramp(TJ_FLOAT32, 5, 1.0);
    cr_expect_eq(tj_call_into(f, (tj_array *[]){xv, yv}, &out), TJ_ERR_SHAPE);
    /* x replaced by an int32 array of the right length */
    tj_array_unref(xv);
    xv = ramp(TJ_INT32, 4, 1.0);
    cr_expect_eq(tj_call_into(f, (tj_array *[]){xv, yv}, &out), TJ_ERR_TYPE);
    tj_array_unref(xv);
    xv = ramp(TJ_FLOAT32, 4, 1.0);
    cr_assert_eq(tj_call_into(f, (tj_array *[]){xv, yv}, &out), TJ_OK, "%s", tj_errmsg(ctx));
    /* the output replaced by a length-3 one; then the output is an input */
    tj_array_unref(out);
    out = ramp(TJ_FLOAT32, 3, 1.0);
    cr_expect_eq(tj_call_into(f, (tj_array *[]){xv, yv}, &out), TJ_ERR_SHAPE);
    for (int64_t i = 0; i < 3; i++)
        cr_expect_eq(tjt_at(out, i), (double)(float)cos(0.001 * (double)i));
    tj_array *alias = yv;
    cr_expect_eq(tj_call_into(f, (tj_array *[]){xv, yv}, &alias), TJ_ERR_INVALID);
    cr_expect(strstr(tj_errmsg(ctx), "shares memory with input 1"), "%s", tj_errmsg(ctx));
    tj_array_unref(xv);
    tj_array_unref(yv);
    tj_array_unref(out);
    tj_ctx_free(ctx);
}

/* A shared value replaced between calls with the same inputs and outputs is checked again: a
 * length that no longer matches is an error, the right length gives the new value's results. */
Test(direct, remembered_shared_value_replaced)
{
    tj_ctx *ctx = tj_ctx_new();
    tj_var *w;
    tj_fn *f = times_shared(ctx, &w);
    tj_array *in = ramp(TJ_FLOAT64, 4, 0.5), *out = ramp(TJ_FLOAT64, 4, 0.0);
    cr_assert_eq(tj_call_into(f, &in, &out), TJ_OK, "%s", tj_errmsg(ctx));
    cr_assert_eq(tj_call_into(f, &in, &out), TJ_OK, "%s", tj_errmsg(ctx));
    tj_array *w5 = ramp(TJ_FLOAT64, 5, 1.0), *w4 = ramp(TJ_FLOAT64, 4, -3.0);
    cr_assert_eq(tj_shared_set(w, w5, false), TJ_OK, "%s", tj_errmsg(ctx));
    cr_expect_eq(tj_call_into(f, &in, &out), TJ_ERR_SHAPE);
    cr_assert_eq(tj_shared_set(w, w4, false), TJ_OK, "%s", tj_errmsg(ctx));
    cr_assert_eq(tj_call_into(f, &in, &out), TJ_OK, "%s", tj_errmsg(ctx));
    for (int64_t i = 0; i < 4; i++)
        cr_expect_eq(tjt_at(out, i), tjt_at(in, i) * tjt_at(w4, i));
    tj_array_unref(w5);
    tj_array_unref(w4);
    tj_array_unref(in);
    tj_array_unref(out);
    tj_ctx_free(ctx);
}

/* Operands broadcastable on every axis: the made output has all-ones shape. That shape came from
 * a table of TJ_MAX_NDIM entries with only 8 ones, so at ranks 9 to 32 it had 0s: tj_call
 * returned an empty array of shape (1, ..., 1, 0, ...) and ran nothing. Every rank; the
 * function is checked to take the direct call where the JIT is on, and tj_call_into (which
 * compares the caller's shape with that table) gives the same value. */
Test(direct, every_operand_a_scalar_up_to_the_maximum_rank)
{
    bool all[TJ_MAX_NDIM];
    int64_t ones[TJ_MAX_NDIM];
    for (int d = 0; d < TJ_MAX_NDIM; d++) {
        all[d] = true;
        ones[d] = 1;
    }
    for (int nd = 1; nd <= TJ_MAX_NDIM; nd++) {
        tj_ctx *ctx = tj_ctx_new();
        tj_var *x = tj_tensor(ctx, TJ_FLOAT64, nd, all, "x");
        tj_fn *f = tj_function(ctx, &x, 1, (tj_var *[]){tj_addc(tj_mulc(x, 2), 1)}, 1, NULL);
        cr_assert(f, "rank %d: %s", nd, tj_errmsg(ctx));
        cr_expect_eq(direct(f), !tjt_jit_off(), "rank %d", nd);
        double three = 3;
        tj_array *in = tjt_array(TJ_FLOAT64, nd, ones, &three);
        tj_array *out = NULL, *into = tj_array_new(TJ_FLOAT64, nd, ones);
        cr_assert_eq(tj_call(f, &in, &out), TJ_OK, "rank %d: %s", nd, tj_errmsg(ctx));
        cr_assert_eq(tj_call_into(f, &in, &into), TJ_OK, "rank %d: %s", nd, tj_errmsg(ctx));
        cr_assert_eq(tj_array_ndim(out), nd, "rank %d", nd);
        for (int d = 0; d < nd; d++)
            cr_expect_eq(tj_array_shape(out)[d], 1, "rank %d: axis %d has length %lld", nd, d,
                         (long long)tj_array_shape(out)[d]);
        cr_assert_eq(tj_array_size(out), 1, "rank %d", nd);
        cr_expect_eq(tjt_at(out, 0), 7.0, "rank %d", nd);
        cr_expect_eq(tjt_at(into, 0), 7.0, "rank %d", nd);
        tj_array_unref(out);
        tj_array_unref(into);
        tj_array_unref(in);
        tj_ctx_free(ctx);
    }
}
