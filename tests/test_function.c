/* tj_function's options with Theano's semantics: givens, default updates, parallel updates,
 * outputs that alias nothing, profile, DEBUG mode. */
#include "support.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

static tj_array *vec(tj_dtype dt, int64_t n, const double *v) { return tjt_array(dt, 1, &n, v); }

Test(function, givens_replace_a_variable_before_compiling)
{
    tj_ctx *ctx = tj_ctx_new();
    tj_array *d = vec(TJ_FLOAT64, 3, (double[]){1, 2, 3});
    tj_var *data = tj_shared(ctx, d, "data", false);
    tj_var *x = tj_vector(ctx, TJ_FLOAT64, "x"), *k = tj_scalar(ctx, TJ_FLOAT64, "k");
    tj_var *y = tj_sum(tj_mul(x, k), NULL, 0, false);
    tj_function_opts o = TJ_FUNCTION_OPTS_INIT;
    o.givens = (tj_given[]){{x, tj_mulc(data, 2)}};
    o.ngivens = 1;
    for (int mode = 0; mode < 2; mode++) {
        o.mode = mode ? TJ_MODE_FAST_COMPILE : TJ_MODE_FAST_RUN;
        tj_fn *f = tj_function(ctx, &k, 1, &y, 1, &o);
        cr_assert(f, "%s", tj_errmsg(ctx));
        tj_array *kv = tj_array_scalar(TJ_FLOAT64, 10), *out;
        cr_assert_eq(tj_call(f, &kv, &out), TJ_OK, "%s", tj_errmsg(ctx));
        cr_expect_eq(tj_array_get(out, NULL), 120.0); /* (2+4+6) * 10 */
        tj_array_unref(out);
        tj_array_unref(kv);
    }
    /* replacing a function input is an error */
    tj_function_opts bad = o;
    bad.givens = (tj_given[]){{k, tj_const(ctx, TJ_FLOAT64, 1)}};
    cr_expect_null(tj_function(ctx, &k, 1, &y, 1, &bad));
    cr_expect(strstr(tj_errmsg(ctx), "cannot be replaced"), "%s", tj_errmsg(ctx));
    /* rebuild_strict: the replacement must keep the type; without it the graph is retyped */
    tj_function_opts loose = o;
    loose.givens = (tj_given[]){{x, tj_cast(data, TJ_FLOAT32)}};
    cr_expect_null(tj_function(ctx, &k, 1, &y, 1, &loose));
    cr_expect_eq(tj_errcode(ctx), TJ_ERR_TYPE);
    loose.rebuild_strict = false;
    loose.mode = TJ_MODE_FAST_RUN;
    tj_fn *f = tj_function(ctx, &k, 1, &y, 1, &loose);
    cr_assert(f, "%s", tj_errmsg(ctx));
    tj_array *kv = tj_array_scalar(TJ_FLOAT64, 2), *out;
    cr_assert_eq(tj_call(f, &kv, &out), TJ_OK, "%s", tj_errmsg(ctx));
    cr_expect_eq(tj_array_get(out, NULL), 12.0);
    tj_array_unref(out);
    tj_array_unref(kv);
    tj_array_unref(d);
    tj_ctx_free(ctx);
}

Test(function, default_updates_and_no_default_updates)
{
    tj_ctx *ctx = tj_ctx_new();
    tj_array *z = tj_array_scalar(TJ_INT64, 0);
    tj_var *count = tj_shared(ctx, z, "count", false);
    tj_array_unref(z);
    cr_assert_eq(tj_shared_set_default_update(count, tj_addc(count, 1)), TJ_OK);
    tj_var *x = tj_scalar(ctx, TJ_INT64, "x");
    tj_var *y = tj_add(x, count);
    tj_fn *f = tj_function(ctx, &x, 1, &y, 1, NULL);
    tj_function_opts o = TJ_FUNCTION_OPTS_INIT;
    o.no_default_updates = true;
    tj_fn *g = tj_function(ctx, &x, 1, &y, 1, &o);
    cr_assert(f && g, "%s", tj_errmsg(ctx));
    tj_array *xv = tj_array_scalar(TJ_INT64, 100), *out;
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(tj_call(f, &xv, &out), TJ_OK, "%s", tj_errmsg(ctx));
        cr_expect_eq(tj_array_get(out, NULL), 100.0 + i); /* pre-call value, then +1 */
        tj_array_unref(out);
    }
    cr_assert_eq(tj_call(g, &xv, &out), TJ_OK);
    cr_expect_eq(tj_array_get(out, NULL), 103.0);
    tj_array_unref(out);
    cr_assert_eq(tj_call(g, &xv, &out), TJ_OK);
    cr_expect_eq(tj_array_get(out, NULL), 103.0); /* no_default_updates: unchanged */
    tj_array_unref(out);
    /* an explicit update wins over the default one */
    tj_function_opts e = TJ_FUNCTION_OPTS_INIT;
    e.updates = (tj_update[]){{count, tj_addc(count, 10)}};
    e.nupdates = 1;
    tj_fn *h = tj_function(ctx, &x, 1, &y, 1, &e);
    cr_assert_eq(tj_call(h, &xv, &out), TJ_OK);
    tj_array_unref(out);
    tj_array *c = tj_shared_get(count, false);
    cr_expect_eq(tj_array_get(c, NULL), 13.0);
    tj_array_unref(c);
    tj_array_unref(xv);
    tj_ctx_free(ctx);
}

Test(function, updates_are_a_parallel_assignment)
{
    tj_ctx *ctx = tj_ctx_new();
    tj_array *av = vec(TJ_FLOAT32, 2, (double[]){1, 2}), *bv = vec(TJ_FLOAT32, 2, (double[]){3, 4});
    tj_var *a = tj_shared(ctx, av, "a", false), *b = tj_shared(ctx, bv, "b", false);
    tj_function_opts o = TJ_FUNCTION_OPTS_INIT;
    o.updates = (tj_update[]){{a, b}, {b, a}};
    o.nupdates = 2;
    o.on_unused_input = TJ_UNUSED_IGNORE;
    tj_var *s = tj_sum(tj_sub(a, b), NULL, 0, false);
    tj_fn *f = tj_function(ctx, NULL, 0, &s, 1, &o);
    cr_assert(f, "%s", tj_errmsg(ctx));
    tj_array *out;
    cr_assert_eq(tj_call(f, NULL, &out), TJ_OK, "%s", tj_errmsg(ctx));
    cr_expect_eq(tj_array_get(out, NULL), -4.0);
    tj_array_unref(out);
    tj_array *na = tj_shared_get(a, true), *nb = tj_shared_get(b, true);
    cr_expect_eq(tjt_at(na, 0), 3.0);
    cr_expect_eq(tjt_at(na, 1), 4.0);
    cr_expect_eq(tjt_at(nb, 0), 1.0);
    cr_expect_eq(tjt_at(nb, 1), 2.0);
    cr_expect_neq(tj_array_data(na), tj_array_data(nb));
    tj_array_unref(na);
    tj_array_unref(nb);
    tj_array_unref(av);
    tj_array_unref(bv);
    tj_ctx_free(ctx);
}

/* Every returned array is safe to modify without touching another or the function's state. */
Test(function, outputs_alias_nothing)
{
    tj_ctx *ctx = tj_ctx_new();
    tj_array *wv = vec(TJ_FLOAT64, 2, (double[]){5, 6});
    tj_var *w = tj_shared(ctx, wv, "w", false);
    tj_var *x = tj_matrix(ctx, TJ_FLOAT64, "x");
    tj_var *e = tj_exp(x);
    tj_var *outs[5] = {x, w, e, e, tj_transpose(e)};
    tj_fn *f = tj_function(ctx, &x, 1, outs, 5, NULL);
    cr_assert(f, "%s", tj_errmsg(ctx));
    int64_t shape[2] = {1, 2};
    tj_array *xv = tjt_array(TJ_FLOAT64, 2, shape, (double[]){0, 1}), *r[5];
    cr_assert_eq(tj_call(f, &xv, r), TJ_OK, "%s", tj_errmsg(ctx));
    for (int i = 0; i < 5; i++)
        for (int j = 0; j < i; j++)
            cr_expect_neq(tj_array_data(r[i]), tj_array_data(r[j]), "outputs %d and %d share", j, i);
    cr_expect_neq(tj_array_data(r[0]), tj_array_data(xv));
    tj_array_set(r[1], (int64_t[]){0}, 99);
    tj_array *wnow = tj_shared_get(w, true);
    cr_expect_eq(tjt_at(wnow, 0), 5.0);
    cr_expect_eq(tj_array_ndim(r[4]), 2);
    cr_expect_eq(tj_array_shape(r[4])[0], 2);
    for (int i = 0; i < 5; i++)
        tj_array_unref(r[i]);
    tj_array_unref(wnow);
    tj_array_unref(xv);
    tj_array_unref(wv);
    tj_ctx_free(ctx);
}

Test(function, profile_reports_steps)
{
    tj_ctx *ctx = tj_ctx_new();
    tj_var *x = tj_matrix(ctx, TJ_FLOAT32, "x"), *v = tj_vector(ctx, TJ_FLOAT32, "v");
    tj_var *y = tj_sum(tj_tanh(tj_dot(x, v)), NULL, 0, false);
    tj_function_opts o = TJ_FUNCTION_OPTS_INIT;
    o.profile = true;
    o.name = "prof";
    tj_fn *f = tj_function(ctx, (tj_var *[]){x, v}, 2, &y, 1, &o);
    cr_assert(f, "%s", tj_errmsg(ctx));
    int64_t s[2] = {4, 3}, n = 3;
    tj_array *X = tj_array_new(TJ_FLOAT32, 2, s), *V = tj_array_new(TJ_FLOAT32, 1, &n), *out;
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(tj_call(f, (tj_array *[]){X, V}, &out), TJ_OK);
        tj_array_unref(out);
    }
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    cr_assert_eq(tj_fn_profile_print(f, mem), TJ_OK);
    fclose(mem);
    cr_expect(strstr(text, "'prof'"), "%s", text);
    cr_expect(strstr(text, "3 calls"), "%s", text);
    cr_expect(strstr(text, "blas"), "%s", text);
    cr_expect(strstr(text, "kernel"), "%s", text);
    free(text);
    tj_fn *g = tj_function(ctx, (tj_var *[]){x, v}, 2, &y, 1, NULL);
    cr_expect_eq(tj_fn_profile_print(g, stderr), TJ_ERR_INVALID);
    tj_array_unref(X);
    tj_array_unref(V);
    tj_ctx_free(ctx);
}

Test(function, debug_mode_agrees_with_reference)
{
    tj_ctx *ctx = tj_ctx_new();
    tj_var *x = tj_matrix(ctx, TJ_FLOAT32, "x");
    tj_var *y = tj_mean(tj_sigmoid(tj_mulc(x, 3)), (int[]){1}, 1, false);
    tj_function_opts o = TJ_FUNCTION_OPTS_INIT;
    o.mode = TJ_MODE_DEBUG;
    tj_fn *f = tj_function(ctx, &x, 1, &y, 1, &o);
    cr_assert(f, "%s", tj_errmsg(ctx));
    int64_t s[2] = {2, 3};
    tj_array *X = tjt_array(TJ_FLOAT32, 2, s, (double[]){-1, 0, 1, 2, 3, -4}), *out;
    cr_assert_eq(tj_call(f, &X, &out), TJ_OK, "%s", tj_errmsg(ctx));
    cr_expect_eq(tj_array_size(out), 2);
    tj_array_unref(out);
    tj_array_unref(X);
    tj_ctx_free(ctx);
}

/* theano.function([i], [], updates=...): no outputs, only the update. */
Test(function, updates_only_function)
{
    tj_ctx *ctx = tj_ctx_new();
    tj_array *z = tj_array_scalar(TJ_INT64, 1);
    tj_var *w = tj_shared(ctx, z, "w", false);
    tj_array_unref(z);
    tj_var *i = tj_scalar(ctx, TJ_INT64, "i");
    tj_function_opts o = TJ_FUNCTION_OPTS_INIT;
    o.updates = (tj_update[]){{w, tj_mul(w, i)}};
    o.nupdates = 1;
    tj_fn *f = tj_function(ctx, &i, 1, NULL, 0, &o);
    cr_assert(f, "%s", tj_errmsg(ctx));
    cr_expect_eq(tj_fn_nout(f), 0);
    tj_array *three = tj_array_scalar(TJ_INT64, 3);
    for (int k = 0; k < 2; k++)
        cr_assert_eq(tj_call(f, &three, NULL), TJ_OK, "%s", tj_errmsg(ctx));
    tj_array *wv = tj_shared_get(w, false);
    cr_expect_eq(tj_array_get(wv, NULL), 9.0);
    tj_array_unref(wv);
    tj_array_unref(three);
    tj_ctx_free(ctx);
}
