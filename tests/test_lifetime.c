/* Lifetime, as the header defines it: a function freed while its context lives (its handle then
 * reads as dead), a context freed with functions and arrays outstanding, arrays returned by calls
 * used after their context is gone, a freed context's handle, and a shared variable set to
 * another shape between calls (checked at the next call, in both executors). Run under ASan too:
 * any use of freed memory or leak here is a failure. */
#include "support.h"

#include <criterion/criterion.h>
#include <string.h>

static tj_fn *compile(tj_ctx *ctx, tj_var *const *in, int nin, tj_var *out, tj_mode mode,
                      const tj_update *upd, int nupd)
{
    tj_function_opts o = TJ_FUNCTION_OPTS_INIT;
    o.mode = mode;
    o.updates = upd;
    o.nupdates = nupd;
    tj_fn *fn = tj_function(ctx, in, nin, out ? &out : NULL, out ? 1 : 0, &o);
    cr_assert(fn, "%s", tj_errmsg(ctx));
    return fn;
}

static tj_array *vec(int64_t n, const double *v) { return tjt_array(TJ_FLOAT64, 1, &n, v); }

static const tj_mode modes[] = {TJ_MODE_FAST_RUN, TJ_MODE_FAST_COMPILE};

Test(lifetime, function_freed_while_context_lives)
{
    tj_ctx *ctx = tj_ctx_new();
    tj_var *x = tj_vector(ctx, TJ_FLOAT64, "x");
    tj_var *y = tj_mulc(x, 3);
    tj_fn *f = compile(ctx, &x, 1, y, TJ_MODE_FAST_RUN, NULL, 0);
    tj_fn *g = compile(ctx, &x, 1, tj_addc(x, 1), TJ_MODE_FAST_RUN, NULL, 0);
    tj_array *a = vec(3, (double[]){1, 2, 3}), *out = NULL;
    tj_fn_free(f);
    /* the handle reads as dead: every use is TJ_ERR_INVALID with a message, never a crash */
    tj_clear_error(NULL);
    cr_expect_eq(tj_call(f, &a, &out), TJ_ERR_INVALID);
    cr_expect_null(out);
    cr_expect(strstr(tj_errmsg(NULL), "not a live tj_fn"), "%s", tj_errmsg(NULL));
    cr_expect_eq(tj_fn_nin(f), -1);
    cr_expect_null(tj_fn_graph(f));
    tj_fn_free(f); /* a second free is a no-op */
    /* the context and its other function are untouched */
    cr_assert_eq(tj_call(g, &a, &out), TJ_OK, "%s", tj_errmsg(ctx));
    cr_expect_eq(tjt_at(out, 2), 4.0);
    tj_array_unref(out);
    /* the same graph compiles again (from the code cache) and runs */
    tj_fn *h = compile(ctx, &x, 1, y, TJ_MODE_FAST_RUN, NULL, 0);
    cr_assert_eq(tj_call(h, &a, &out), TJ_OK, "%s", tj_errmsg(ctx));
    cr_expect_eq(tjt_at(out, 1), 6.0);
    tj_array_unref(out);
    tj_array_unref(a);
    tj_ctx_free(ctx);
}

Test(lifetime, context_freed_with_functions_and_arrays_outstanding)
{
    for (int m = 0; m < 2; m++) {
        tj_ctx *ctx = tj_ctx_new();
        tj_var *x = tj_vector(ctx, TJ_FLOAT64, "x");
        tj_array *w0 = vec(3, (double[]){10, 20, 30});
        tj_var *w = tj_shared(ctx, w0, "w", true);
        tj_array_unref(w0); /* the shared variable holds its own reference */
        tj_array_unref(tj_shared_get(w, true)); /* borrow: a reference on the internal value */
        tj_var *y = tj_add(tj_sqr(x), w);
        tj_update upd = {w, tj_addc(w, 1)};
        tj_fn *f = compile(ctx, &x, 1, y, modes[m], &upd, 1);
        compile(ctx, &x, 1, tj_exp(x), modes[m], NULL, 0); /* never freed by hand */
        tj_array *a = vec(3, (double[]){1, 2, 3}), *out = NULL;
        cr_assert_eq(tj_call(f, &a, &out), TJ_OK, "%s", tj_errmsg(ctx));
        tj_array *wv = tj_shared_get(w, true), *wc = tj_shared_get(w, false);
        tj_ctx_free(ctx); /* frees both functions and every variable; the arrays stay ours */
        /* outputs and shared values handed out are independent of the context */
        cr_expect_eq(tjt_at(out, 0), 11.0);
        cr_expect_eq(tjt_at(out, 2), 39.0);
        cr_expect_eq(tjt_at(wv, 1), 21.0); /* the value after the update */
        cr_expect_eq(tjt_at(wc, 2), 31.0);
        cr_expect_eq(tj_array_set(out, (int64_t[]){1}, -5.0), TJ_OK);
        cr_expect_eq(tjt_at(out, 1), -5.0);
        char *text = tj_array_to_string(out);
        cr_expect_str_eq(text, "array([11., -5., 39.])"); /* repr(np.array([11., -5., 39.])) */
        free(text);
        /* and they feed a function of a new context */
        tj_ctx *c2 = tj_ctx_new();
        tj_var *z = tj_vector(c2, TJ_FLOAT64, "z");
        tj_fn *g = compile(c2, &z, 1, tj_sum(z, NULL, 0, false), modes[m], NULL, 0);
        tj_array *s = NULL;
        cr_assert_eq(tj_call(g, &wv, &s), TJ_OK, "%s", tj_errmsg(c2));
        cr_expect_eq(tjt_at(s, 0), 63.0); /* 11 + 21 + 31 */
        tj_array_unref(s);
        tj_ctx_free(c2);
        tj_array_unref(out);
        tj_array_unref(wv);
        tj_array_unref(wc);
        tj_array_unref(a);
    }
}

Test(lifetime, freed_context_handle)
{
    tj_ctx *live = tj_ctx_new();
    tj_ctx *dead = tj_ctx_new();
    tj_var *x = tj_scalar(dead, TJ_FLOAT32, "x");
    cr_assert(x);
    tj_ctx_free(dead);
    /* no tj_ctx_new since: the header is still dead */
    tj_clear_error(NULL);
    cr_expect_eq(tj_errcode(dead), TJ_ERR_INVALID);
    cr_expect(strstr(tj_errmsg(NULL), "not a live tj_ctx"), "%s", tj_errmsg(NULL));
    cr_expect_null(tj_scalar(dead, TJ_FLOAT32, "y"));
    cr_expect_null(tj_function(dead, NULL, 0, NULL, 0, NULL));
    tj_ctx_free(dead); /* a second free is a no-op */
    cr_expect_eq(tj_errcode(live), TJ_OK); /* the live context saw none of it */
    tj_ctx_free(live);
}

/* out = x + w for a shared vector w set to another length between calls */
Test(lifetime, shared_value_of_another_shape)
{
    for (int m = 0; m < 2; m++) {
        tj_ctx *ctx = tj_ctx_new();
        tj_var *x = tj_vector(ctx, TJ_FLOAT64, "x");
        tj_array *w3 = vec(3, (double[]){1, 2, 3});
        tj_var *w = tj_shared(ctx, w3, "w", false); /* a copy */
        tj_array_unref(w3);
        tj_var *y = tj_add(x, w);
        tj_update upd = {w, tj_mulc(w, 2)};
        tj_fn *f = compile(ctx, &x, 1, y, modes[m], &upd, 1);
        tj_fn *total = compile(ctx, NULL, 0, tj_sum(w, NULL, 0, false), modes[m], NULL, 0);
        tj_array *x3 = vec(3, (double[]){0, 0, 0}), *x4 = vec(4, (double[]){1, 1, 1, 1});
        tj_array *out = NULL;
        cr_assert_eq(tj_call(f, &x3, &out), TJ_OK, "%s", tj_errmsg(ctx));
        tj_array_unref(out);
        out = NULL;
        /* another length: accepted by tj_shared_set (dtype and rank match) ... */
        tj_array *w4 = vec(4, (double[]){5, 6, 7, 8});
        cr_assert_eq(tj_shared_set(w, w4, false), TJ_OK, "%s", tj_errmsg(ctx));
        /* ... and checked at the next call: x (3) + w (4) does not broadcast */
        cr_expect_eq(tj_call(f, &x3, &out), TJ_ERR_SHAPE, "mode %d: %s", m, tj_errmsg(ctx));
        cr_expect_null(out);
        cr_expect(strstr(tj_errmsg(ctx), "'w'") || strstr(tj_errmsg(ctx), "'x'"),
                  "the message names an operand: %s", tj_errmsg(ctx));
        /* the failed call committed no update: w is still the value set */
        tj_array *wv = tj_shared_get(w, false);
        cr_expect_eq(tj_array_size(wv), 4);
        cr_expect_eq(tjt_at(wv, 3), 8.0);
        tj_array_unref(wv);
        /* a fitting input works with the new value, and the update applies to it */
        cr_assert_eq(tj_call(f, &x4, &out), TJ_OK, "%s", tj_errmsg(ctx));
        cr_expect_eq(tjt_at(out, 0), 6.0);
        cr_expect_eq(tjt_at(out, 3), 9.0);
        tj_array_unref(out);
        tj_array *s = NULL;
        cr_assert_eq(tj_call(total, NULL, &s), TJ_OK, "%s", tj_errmsg(ctx));
        cr_expect_eq(tjt_at(s, 0), 52.0); /* 2 * (5 + 6 + 7 + 8) */
        tj_array_unref(s);
        /* another rank is refused at once */
        tj_array *m22 = tjt_array(TJ_FLOAT64, 2, (int64_t[]){2, 2}, (double[]){1, 2, 3, 4});
        cr_expect_eq(tj_shared_set(w, m22, false), TJ_ERR_TYPE);
        tj_array_unref(m22);
        /* an empty value: shapes (0,) and (0,) broadcast; the result is empty */
        tj_array *w0 = tj_array_new(TJ_FLOAT64, 1, (int64_t[]){0});
        cr_assert_eq(tj_shared_set(w, w0, true), TJ_OK);
        cr_assert_eq(tj_call(f, &w0, &out), TJ_OK, "%s", tj_errmsg(ctx));
        cr_expect_eq(tj_array_size(out), 0);
        tj_array_unref(out);
        tj_array_unref(w0);
        tj_array_unref(w4);
        tj_array_unref(x3);
        tj_array_unref(x4);
        tj_ctx_free(ctx);
    }
}

/* w of shape (3, 2) in dot(x, w): a new row count no longer matches x's length */
Test(lifetime, shared_matrix_of_another_shape_in_dot)
{
    for (int m = 0; m < 2; m++) {
        tj_ctx *ctx = tj_ctx_new();
        tj_var *x = tj_vector(ctx, TJ_FLOAT64, "x");
        tj_array *w0 = tjt_array(TJ_FLOAT64, 2, (int64_t[]){3, 2}, (double[]){1, 2, 3, 4, 5, 6});
        tj_var *w = tj_shared(ctx, w0, "w", false); /* a copy */
        tj_array_unref(w0);
        tj_fn *f = compile(ctx, &x, 1, tj_dot(x, w), modes[m], NULL, 0);
        tj_array *x3 = vec(3, (double[]){1, 1, 1}), *out = NULL;
        cr_assert_eq(tj_call(f, &x3, &out), TJ_OK, "%s", tj_errmsg(ctx));
        cr_expect_eq(tjt_at(out, 0), 9.0);
        cr_expect_eq(tjt_at(out, 1), 12.0);
        tj_array_unref(out);
        out = NULL;
        tj_array *w42 = tjt_array(TJ_FLOAT64, 2, (int64_t[]){4, 2},
                                  (double[]){1, 1, 1, 1, 1, 1, 1, 1});
        cr_assert_eq(tj_shared_set(w, w42, false), TJ_OK);
        tj_status st = tj_call(f, &x3, &out);
        cr_expect(st == TJ_ERR_SHAPE || st == TJ_ERR_VALUE, "mode %d: %s: %s", m,
                  tj_status_name(st), tj_errmsg(ctx));
        cr_expect_null(out);
        tj_array *w32 = tjt_array(TJ_FLOAT64, 2, (int64_t[]){3, 2}, (double[]){1, 0, 0, 1, 1, 1});
        cr_assert_eq(tj_shared_set(w, w32, false), TJ_OK);
        cr_assert_eq(tj_call(f, &x3, &out), TJ_OK, "%s", tj_errmsg(ctx));
        cr_expect_eq(tjt_at(out, 0), 2.0);
        cr_expect_eq(tjt_at(out, 1), 2.0);
        tj_array_unref(out);
        tj_array_unref(w32);
        tj_array_unref(w42);
        tj_array_unref(x3);
        tj_ctx_free(ctx);
    }
}
