/* Shape operations of issue 3: reshape (literal and symbolic sizes, -1), flatten, permute,
 * squeeze, expand_dims, concatenate/join, stack, split, alloc, zeros_like/ones_like, arange.
 * Every dtype, empty and non-contiguous inputs, through the compiled plan (FAST_RUN) and the
 * reference executor (FAST_COMPILE), against values computed here from the index arithmetic;
 * static broadcast flags; views; errors with their messages; gradients by finite differences. */
#include "shape_util.h"

TestSuite(shape, .init = setup, .fini = teardown, .timeout = 120);

static tj_var *lit(int64_t v) { return tj_lit_int(ctx, v); }

/* want[i] = val_of(dt, i, seed) for n elements (what a C-order reshape preserves) */
static double *seq(tj_dtype dt, int64_t n, int seed)
{
    double *w = malloc(sizeof *w * (size_t)(n + 1));
    for (int64_t i = 0; i < n; i++)
        w[i] = val_of(dt, i, seed);
    return w;
}

/* ---- reshape --------------------------------------------------------------------------------- */

Test(shape, reshape_every_dtype_contiguous_strided_empty)
{
    for (int t = 0; t < NDTYPES; t++) {
        tj_dtype dt = all_dtypes[t];
        tj_var *x = tj_tensor(ctx, dt, 3, NULL, "x"), *y = tj_tensor(ctx, dt, 3, NULL, "y");
        tj_var *e = tj_matrix(ctx, dt, "e");
        int64_t sx[3] = {2, 3, 4}, se[2] = {0, 3};
        tj_array *ax = vals(dt, 3, sx, 1), *ay0 = vals(dt, 3, sx, 2), *ay = noncontig(ay0);
        tj_array *ae = vals(dt, 2, se, 3);
        tj_var *outs[] = {
            tj_reshape(x, (int64_t[]){4, 6}, 2),     tj_reshape(x, (int64_t[]){-1}, 1),
            tj_reshape(x, (int64_t[]){2, -1, 2}, 3), tj_reshape(x, (int64_t[]){1, 24}, 2),
            tj_reshape(y, (int64_t[]){6, 4}, 2),     tj_reshape(y, (int64_t[]){24}, 1),
            tj_reshape(e, (int64_t[]){3, 0}, 2),     tj_reshape(e, (int64_t[]){-1, 3}, 2),
            tj_reshape(x, (int64_t[]){24, 1, 1}, 3),
        };
        cr_expect(tj_var_broadcastable(outs[3], 0) && !tj_var_broadcastable(outs[3], 1),
                  "a literal 1 is broadcastable");
        cr_expect(tj_var_broadcastable(outs[8], 1) && tj_var_broadcastable(outs[8], 2));
        results r;
        run_both((tj_var *[]){x, y, e}, (tj_array *[]){ax, ay, ae}, 3, outs, 9, &r);
        double *w1 = seq(dt, 24, 1), *w2 = seq(dt, 24, 2);
        char what[64];
        snprintf(what, sizeof what, "%s reshape", tj_dtype_name(dt));
        expect_out(&r, 0, dt, 2, (int64_t[]){4, 6}, w1, 0, what);
        expect_out(&r, 1, dt, 1, (int64_t[]){24}, w1, 0, what);
        expect_out(&r, 2, dt, 3, (int64_t[]){2, 6, 2}, w1, 0, what);
        expect_out(&r, 3, dt, 2, (int64_t[]){1, 24}, w1, 0, what);
        expect_out(&r, 4, dt, 2, (int64_t[]){6, 4}, w2, 0, what);
        expect_out(&r, 5, dt, 1, (int64_t[]){24}, w2, 0, what);
        expect_out(&r, 6, dt, 2, (int64_t[]){3, 0}, w1, 0, what);
        expect_out(&r, 7, dt, 2, (int64_t[]){0, 3}, w1, 0, what);
        expect_out(&r, 8, dt, 3, (int64_t[]){24, 1, 1}, w1, 0, what);
        free(w1);
        free(w2);
        results_free(&r);
        tj_array_unref(ax);
        tj_array_unref(ay0);
        tj_array_unref(ay);
        tj_array_unref(ae);
    }
}

Test(shape, reshape_views_share_the_buffer_and_copies_do_not)
{
    tj_var *x = tj_tensor(ctx, TJ_FLOAT32, 3, NULL, "x");
    int64_t sx[3] = {2, 3, 4};
    tj_array *a = vals(TJ_FLOAT32, 3, sx, 1), *t = NULL, *out = NULL;
    tj_var *r = tj_reshape(x, (int64_t[]){6, 4}, 2);
    cr_assert_eq(tjI_shape_op(ctx, r, &a, true, &out), TJ_OK, "%s", tj_errmsg(ctx));
    cr_expect_eq(out->data, a->data, "a reshape of a C-contiguous array is a view");
    cr_expect_eq(atomic_load(&a->refcount), 2, "the view holds a reference on its base");
    tj_array_unref(out);
    /* the same values with the first two axes swapped (a contiguous copy, for comparison) */
    int pattern[3] = {1, 0, 2};
    tj_var *p = tj_dimshuffle(x, pattern, 3);
    cr_assert_eq(tjI_eval(ctx, &x, &a, 1, &p, 1, &t), TJ_OK);
    tj_array *tv = NULL;
    /* a strided view of the same values: transposed axes 0 and 1 */
    int64_t sh[3] = {3, 2, 4}, st[3] = {16, 48, 4};
    tv = tj_array_wrap(TJ_FLOAT32, 3, sh, st, a->data, NULL, NULL);
    tj_var *y = tj_tensor(ctx, TJ_FLOAT32, 3, NULL, "y");
    tj_var *r2 = tj_reshape(y, (int64_t[]){6, 4}, 2);
    tj_var *r3 = tj_reshape(y, (int64_t[]){3, 2, 2, 2}, 4);
    cr_assert_eq(tjI_shape_op(ctx, r2, &tv, true, &out), TJ_OK);
    cr_expect_neq(out->data, a->data, "merging transposed axes needs a copy");
    for (int64_t i = 0; i < 24; i++)
        cr_expect_eq(tjt_at(out, i), tjt_at(t, i), "copy element %lld", (long long)i);
    tj_array_unref(out);
    cr_assert_eq(tjI_shape_op(ctx, r3, &tv, true, &out), TJ_OK);
    cr_expect_eq(out->data, a->data, "splitting the contiguous last axis is a view");
    for (int64_t i = 0; i < 24; i++)
        cr_expect_eq(tjt_at(out, i), tjt_at(t, i), "view element %lld", (long long)i);
    tj_array_unref(out);
    tj_array_unref(tv);
    tj_array_unref(t);
    tj_array_unref(a);
}

Test(shape, reshape_symbolic_sizes)
{
    tj_var *x = tj_vector(ctx, TJ_FLOAT32, "x"), *n = tj_scalar(ctx, TJ_INT32, "n");
    tj_var *m = tj_scalar(ctx, TJ_INT64, "m");
    tj_var *outs[] = {
        tj_reshape_sym(x, (tj_var *[]){n, m}, 2),
        tj_reshape_sym(x, (tj_var *[]){n, lit(-1)}, 2),
        tj_reshape_sym(x, (tj_var *[]){lit(1), n, m}, 3),
        tj_reshape_sym(x, (tj_var *[]){tj_shape_of(x, 0)}, 1),
    };
    cr_expect(tj_var_broadcastable(outs[2], 0) && !tj_var_broadcastable(outs[2], 1));
    tj_array *ax = vals(TJ_FLOAT32, 1, (int64_t[]){12}, 4);
    tj_array *an = tj_array_scalar(TJ_INT32, 3), *am = tj_array_scalar(TJ_INT64, 4);
    results r;
    run_both((tj_var *[]){x, n, m}, (tj_array *[]){ax, an, am}, 3, outs, 4, &r);
    double *w = seq(TJ_FLOAT32, 12, 4);
    expect_out(&r, 0, TJ_FLOAT32, 2, (int64_t[]){3, 4}, w, 0, "reshape (n, m)");
    expect_out(&r, 1, TJ_FLOAT32, 2, (int64_t[]){3, 4}, w, 0, "reshape (n, -1)");
    expect_out(&r, 2, TJ_FLOAT32, 3, (int64_t[]){1, 3, 4}, w, 0, "reshape (1, n, m)");
    expect_out(&r, 3, TJ_FLOAT32, 1, (int64_t[]){12}, w, 0, "reshape (len,)");
    free(w);
    results_free(&r);
    tj_array_unref(ax);
    tj_array_unref(an);
    tj_array_unref(am);
}

Test(shape, reshape_errors)
{
    tj_var *x = tj_matrix(ctx, TJ_FLOAT64, "x"), *n = tj_scalar(ctx, TJ_INT32, "n");
    built_fails(tj_reshape(x, (int64_t[]){-1, -1}, 2), TJ_ERR_VALUE, "can only infer one size");
    built_fails(tj_reshape(x, (int64_t[]){2, -3}, 2), TJ_ERR_VALUE, "size -3 for axis 1");
    built_fails(tj_reshape(x, (int64_t[]){1}, 33), TJ_ERR_INVALID, "33 entries");
    built_fails(tj_reshape_sym(x, (tj_var *[]){tj_lit(ctx, 2.0)}, 1), TJ_ERR_TYPE,
                "must be an integer scalar");
    tj_var *one = tj_tensor(ctx, TJ_FLOAT64, 2, (bool[]){true, true}, "one");
    built_fails(tj_reshape(one, (int64_t[]){2}, 1), TJ_ERR_VALUE, "has 1 element");
    tj_var *ok = tj_reshape(one, (int64_t[]){-1, 1, 1}, 3);
    cr_expect(ok && tj_var_broadcastable(ok, 0), "the -1 of a one-element array is 1");

    tj_array *a = vals(TJ_FLOAT64, 2, (int64_t[]){2, 3}, 1), *an = tj_array_scalar(TJ_INT32, -2);
    run_fails((tj_var *[]){x}, &a, 1, tj_reshape(x, (int64_t[]){4, 2}, 2), TJ_ERR_VALUE,
              "cannot reshape an array of size 6 (shape (2, 3)) into shape (4, 2)");
    run_fails((tj_var *[]){x}, &a, 1, tj_reshape(x, (int64_t[]){4, -1}, 2), TJ_ERR_VALUE,
              "into shape (4, -1)");
    run_fails((tj_var *[]){x, n}, (tj_array *[]){a, an}, 2,
              tj_reshape_sym(x, (tj_var *[]){n, lit(3)}, 2), TJ_ERR_VALUE,
              "size -2 for axis 0 of the new shape is negative");
    tj_array *am1 = tj_array_scalar(TJ_INT32, -1);
    run_fails((tj_var *[]){x, n}, (tj_array *[]){a, am1}, 2,
              tj_reshape_sym(x, (tj_var *[]){n, lit(-1)}, 2), TJ_ERR_VALUE,
              "can only infer one size");
    tj_array_unref(a);
    tj_array_unref(an);
    tj_array_unref(am1);
}

/* ---- flatten, permute, squeeze, expand_dims ---------------------------------------------------
 */

Test(shape, flatten)
{
    tj_var *x = tj_tensor(ctx, TJ_INT32, 3, NULL, "x"), *e = tj_tensor(ctx, TJ_INT32, 3, NULL, "e");
    tj_var *b = tj_tensor(ctx, TJ_INT32, 3, (bool[]){true, false, true}, "b");
    tj_var *s = tj_scalar(ctx, TJ_INT32, "s");
    tj_var *outs[] = {tj_flatten(x, 1), tj_flatten(x, 2), tj_flatten(x, 3), tj_flatten(e, 2),
                      tj_flatten(e, 1), tj_flatten(b, 2), tj_flatten(b, 1), tj_flatten(s, 1)};
    cr_expect_eq(outs[2], x, "flatten to the same rank is the identity");
    cr_expect(tj_var_broadcastable(outs[5], 0) && !tj_var_broadcastable(outs[5], 1));
    cr_expect(tj_var_broadcastable(outs[7], 0), "a flattened scalar has one element");
    tj_array *ax = vals(TJ_INT32, 3, (int64_t[]){2, 3, 4}, 1);
    tj_array *ae = vals(TJ_INT32, 3, (int64_t[]){2, 0, 3}, 1);
    tj_array *ab = vals(TJ_INT32, 3, (int64_t[]){1, 3, 1}, 2), *as = tj_array_scalar(TJ_INT32, 7);
    results r;
    run_both((tj_var *[]){x, e, b, s}, (tj_array *[]){ax, ae, ab, as}, 4, outs, 8, &r);
    double *w = seq(TJ_INT32, 24, 1), *wb = seq(TJ_INT32, 3, 2), seven = 7;
    expect_out(&r, 0, TJ_INT32, 1, (int64_t[]){24}, w, 0, "flatten 1");
    expect_out(&r, 1, TJ_INT32, 2, (int64_t[]){2, 12}, w, 0, "flatten 2");
    expect_out(&r, 2, TJ_INT32, 3, (int64_t[]){2, 3, 4}, w, 0, "flatten 3");
    expect_out(&r, 3, TJ_INT32, 2, (int64_t[]){2, 0}, w, 0, "flatten empty 2");
    expect_out(&r, 4, TJ_INT32, 1, (int64_t[]){0}, w, 0, "flatten empty 1");
    expect_out(&r, 5, TJ_INT32, 2, (int64_t[]){1, 3}, wb, 0, "flatten bcast 2");
    expect_out(&r, 6, TJ_INT32, 1, (int64_t[]){3}, wb, 0, "flatten bcast 1");
    expect_out(&r, 7, TJ_INT32, 1, (int64_t[]){1}, &seven, 0, "flatten scalar");
    free(w);
    free(wb);
    results_free(&r);
    tj_array_unref(ax);
    tj_array_unref(ae);
    tj_array_unref(ab);
    tj_array_unref(as);
    built_fails(tj_flatten(x, 0), TJ_ERR_VALUE, "ndim 0 is out of range");
    built_fails(tj_flatten(x, 4), TJ_ERR_VALUE, "expected 1 to 3");
}

Test(shape, permute_squeeze_expand_dims)
{
    tj_var *x = tj_tensor(ctx, TJ_INT16, 3, NULL, "x");
    tj_var *t = tj_tensor(ctx, TJ_INT16, 4, (bool[]){false, true, false, true}, "t");
    tj_var *u = tj_matrix(ctx, TJ_INT16, "u");
    tj_var *outs[] = {
        tj_permute(x, (int[]){2, 0, 1}, 3), tj_permute(x, (int[]){-1, -3, -2}, 3),
        tj_squeeze(t, NULL, 0),             tj_squeeze(t, (int[]){1}, 1),
        tj_squeeze(u, (int[]){-1}, 1),      tj_expand_dims(x, 0),
        tj_expand_dims(x, -1),              tj_expand_dims(x, 2),
        tj_transpose(x),
    };
    cr_expect(!tj_var_broadcastable(outs[3], 1) && tj_var_broadcastable(outs[3], 2));
    cr_expect(tj_var_broadcastable(outs[5], 0) && tj_var_broadcastable(outs[6], 3) &&
              tj_var_broadcastable(outs[7], 2));
    int64_t sx[3] = {2, 3, 4};
    tj_array *a0 = vals(TJ_INT16, 3, sx, 1), *ax = noncontig(a0);
    tj_array *at = vals(TJ_INT16, 4, (int64_t[]){2, 1, 3, 1}, 2);
    tj_array *au = vals(TJ_INT16, 2, (int64_t[]){3, 1}, 3);
    results r;
    run_both((tj_var *[]){x, t, u}, (tj_array *[]){ax, at, au}, 3, outs, 9, &r);
    double perm[24], tr[24];
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 2; j++)
            for (int k = 0; k < 3; k++)
                perm[(i * 2 + j) * 3 + k] = val_of(TJ_INT16, (j * 3 + k) * 4 + i, 1);
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 3; j++)
            for (int k = 0; k < 2; k++)
                tr[(i * 3 + j) * 2 + k] = val_of(TJ_INT16, (k * 3 + j) * 4 + i, 1);
    double *w = seq(TJ_INT16, 24, 1), *wt = seq(TJ_INT16, 6, 2), *wu = seq(TJ_INT16, 3, 3);
    expect_out(&r, 0, TJ_INT16, 3, (int64_t[]){4, 2, 3}, perm, 0, "permute");
    expect_out(&r, 1, TJ_INT16, 3, (int64_t[]){4, 2, 3}, perm, 0, "permute negative axes");
    expect_out(&r, 2, TJ_INT16, 2, (int64_t[]){2, 3}, wt, 0, "squeeze all");
    expect_out(&r, 3, TJ_INT16, 3, (int64_t[]){2, 3, 1}, wt, 0, "squeeze axis 1");
    expect_out(&r, 4, TJ_INT16, 1, (int64_t[]){3}, wu, 0, "squeeze a length-1 axis");
    expect_out(&r, 5, TJ_INT16, 4, (int64_t[]){1, 2, 3, 4}, w, 0, "expand_dims 0");
    expect_out(&r, 6, TJ_INT16, 4, (int64_t[]){2, 3, 4, 1}, w, 0, "expand_dims -1");
    expect_out(&r, 7, TJ_INT16, 4, (int64_t[]){2, 3, 1, 4}, w, 0, "expand_dims 2");
    expect_out(&r, 8, TJ_INT16, 3, (int64_t[]){4, 3, 2}, tr, 0, "transpose");
    free(w);
    free(wt);
    free(wu);
    results_free(&r);
    tj_array *au2 = vals(TJ_INT16, 2, (int64_t[]){3, 2}, 3);
    run_fails(&u, &au2, 1, tj_squeeze(u, (int[]){1}, 1), TJ_ERR_SHAPE, "drops axis 1");
    built_fails(tj_permute(x, (int[]){0, 0, 1}, 3), TJ_ERR_VALUE, "repeated");
    built_fails(tj_permute(x, (int[]){0, 1}, 2), TJ_ERR_VALUE, "2 axes given");
    built_fails(tj_expand_dims(x, 4), TJ_ERR_VALUE, "axis 4 is out of range");
    built_fails(tj_squeeze(x, (int[]){3}, 1), TJ_ERR_VALUE, "axis 3 is out of range");
    tj_array_unref(a0);
    tj_array_unref(ax);
    tj_array_unref(at);
    tj_array_unref(au);
    tj_array_unref(au2);
}

/* ---- concatenate, stack, split --------------------------------------------------------------- */

Test(shape, concatenate_and_stack)
{
    tj_var *a = tj_matrix(ctx, TJ_INT8, "a"), *b = tj_matrix(ctx, TJ_FLOAT32, "b");
    tj_var *c = tj_matrix(ctx, TJ_INT8, "c"), *d = tj_matrix(ctx, TJ_INT8, "d");
    tj_var *p = tj_vector(ctx, TJ_BOOL, "p"), *q = tj_vector(ctx, TJ_BOOL, "q");
    tj_var *outs[] = {
        tj_concatenate((tj_var *[]){a, b, c}, 3, 1),
        tj_concatenate((tj_var *[]){a, b, c}, 3, -1),
        tj_join(0, (tj_var *[]){a, d}, 2),
        tj_stack((tj_var *[]){p, q}, 2, 0),
        tj_stack((tj_var *[]){p, q}, 2, 1),
        tj_stack((tj_var *[]){p, q, p}, 3, -1),
        tj_concatenate((tj_var *[]){a}, 1, 0),
    };
    cr_expect_eq(tj_var_dtype(outs[0]), TJ_FLOAT32, "int8 and float32 join as float32");
    cr_expect_eq(outs[6], a, "joining one operand gives it back");
    tj_array *va = vals(TJ_INT8, 2, (int64_t[]){2, 3}, 1);
    tj_array *vb0 = vals(TJ_FLOAT32, 2, (int64_t[]){2, 2}, 2), *vb = noncontig(vb0);
    tj_array *vc = vals(TJ_INT8, 2, (int64_t[]){2, 0}, 3);
    tj_array *vd = vals(TJ_INT8, 2, (int64_t[]){1, 3}, 4);
    tj_array *vp = vals(TJ_BOOL, 1, (int64_t[]){3}, 5), *vq = vals(TJ_BOOL, 1, (int64_t[]){3}, 6);
    results r;
    run_both((tj_var *[]){a, b, c, d, p, q}, (tj_array *[]){va, vb, vc, vd, vp, vq}, 6, outs, 6,
             &r);
    double w0[10], w2[9], s0[6], s1[6], s2[9];
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 5; j++)
            w0[i * 5 + j] =
                j < 3 ? val_of(TJ_INT8, i * 3 + j, 1) : val_of(TJ_FLOAT32, i * 2 + j - 3, 2);
    for (int i = 0; i < 9; i++)
        w2[i] = i < 6 ? val_of(TJ_INT8, i, 1) : val_of(TJ_INT8, i - 6, 4);
    for (int k = 0; k < 3; k++) {
        s0[k] = val_of(TJ_BOOL, k, 5);
        s0[3 + k] = val_of(TJ_BOOL, k, 6);
        s1[2 * k] = s0[k];
        s1[2 * k + 1] = s0[3 + k];
        s2[3 * k] = s2[3 * k + 2] = s0[k];
        s2[3 * k + 1] = s0[3 + k];
    }
    expect_out(&r, 0, TJ_FLOAT32, 2, (int64_t[]){2, 5}, w0, 0, "concatenate axis 1");
    expect_out(&r, 1, TJ_FLOAT32, 2, (int64_t[]){2, 5}, w0, 0, "concatenate axis -1");
    expect_out(&r, 2, TJ_INT8, 2, (int64_t[]){3, 3}, w2, 0, "join axis 0");
    expect_out(&r, 3, TJ_BOOL, 2, (int64_t[]){2, 3}, s0, 0, "stack axis 0");
    expect_out(&r, 4, TJ_BOOL, 2, (int64_t[]){3, 2}, s1, 0, "stack axis 1");
    expect_out(&r, 5, TJ_BOOL, 2, (int64_t[]){3, 3}, s2, 0, "stack axis -1");
    results_free(&r);

    run_fails((tj_var *[]){a, d}, (tj_array *[]){va, vd}, 2,
              tj_concatenate((tj_var *[]){a, d}, 2, 1), TJ_ERR_SHAPE,
              "input 1 has length 1 on axis 0 but input 0 has 2");
    built_fails(tj_concatenate((tj_var *[]){a, p}, 2, 0), TJ_ERR_TYPE, "same rank");
    built_fails(tj_concatenate((tj_var *[]){a, b}, 2, 2), TJ_ERR_VALUE, "axis 2 is out of range");
    tj_var *s = tj_scalar(ctx, TJ_INT8, "s");
    built_fails(tj_concatenate((tj_var *[]){s, s}, 2, 0), TJ_ERR_TYPE, "zero-dimensional");
    built_fails(tj_stack((tj_var *[]){p, q}, 2, 2), TJ_ERR_VALUE, "axis 2 is out of range");
    cr_expect_null(tj_concatenate(NULL, 0, 0));
    cr_expect_eq(tj_errcode(NULL), TJ_ERR_INVALID, "no context: the thread's error slot");
    cr_expect(strstr(tj_errmsg(NULL), "needs at least one"), "%s", tj_errmsg(NULL));
    tj_array *arrs[] = {va, vb0, vb, vc, vd, vp, vq};
    for (int i = 0; i < 7; i++)
        tj_array_unref(arrs[i]);
}

Test(shape, split)
{
    tj_var *x = tj_matrix(ctx, TJ_UINT8, "x"), *parts[3], *rows[2];
    cr_assert_eq(tj_split(x, (int64_t[]){2, -1, 1}, 3, 1, parts), TJ_OK, "%s", tj_errmsg(ctx));
    cr_assert_eq(tj_split(x, (int64_t[]){1, 1}, 2, -2, rows), TJ_OK, "%s", tj_errmsg(ctx));
    cr_expect(tj_var_broadcastable(parts[2], 1) && !tj_var_broadcastable(parts[1], 1));
    cr_expect(tj_var_broadcastable(rows[0], 0));
    tj_array *a0 = vals(TJ_UINT8, 2, (int64_t[]){2, 7}, 1), *a = noncontig(a0);
    results r;
    run_both(&x, &a, 1, (tj_var *[]){parts[0], parts[1], parts[2], rows[0], rows[1]}, 5, &r);
    static const int lo[3] = {0, 2, 6}, n[3] = {2, 4, 1};
    for (int p = 0; p < 3; p++) {
        double w[8];
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < n[p]; j++)
                w[i * n[p] + j] = val_of(TJ_UINT8, i * 7 + lo[p] + j, 1);
        expect_out(&r, p, TJ_UINT8, 2, (int64_t[]){2, n[p]}, w, 0, "split axis 1");
    }
    double *w = seq(TJ_UINT8, 14, 1);
    expect_out(&r, 3, TJ_UINT8, 2, (int64_t[]){1, 7}, w, 0, "split row 0");
    expect_out(&r, 4, TJ_UINT8, 2, (int64_t[]){1, 7}, w + 7, 0, "split row 1");
    free(w);
    results_free(&r);

    tj_var *bad[3];
    cr_assert_eq(tj_split(x, (int64_t[]){2, 2}, 2, 1, bad), TJ_OK);
    run_fails(&x, &a, 1, bad[1], TJ_ERR_VALUE, "add up to 4, but axis 1 of the input has length 7");
    cr_assert_eq(tj_split(x, (int64_t[]){5, -1, 4}, 3, 1, bad), TJ_OK);
    run_fails(&x, &a, 1, bad[0], TJ_ERR_VALUE, "add up to 9 without the -1");
    cr_expect_eq(tj_split(x, (int64_t[]){-1, -1}, 2, 1, bad), TJ_ERR_VALUE);
    cr_expect(strstr(tj_errmsg(ctx), "size -1 of part 1 is invalid"), "%s", tj_errmsg(ctx));
    cr_expect_null(bad[0]);
    cr_expect_eq(tj_split(x, (int64_t[]){1}, 1, 2, bad), TJ_ERR_VALUE);
    cr_expect(strstr(tj_errmsg(ctx), "axis 2 is out of range"), "%s", tj_errmsg(ctx));
    tj_array_unref(a0);
    tj_array_unref(a);
}

/* ---- alloc, zeros_like, ones_like, arange ---------------------------------------------------- */

Test(shape, alloc_zeros_ones)
{
    tj_var *v = tj_scalar(ctx, TJ_FLOAT32, "v"), *n = tj_scalar(ctx, TJ_INT32, "n");
    tj_var *row = tj_vector(ctx, TJ_INT64, "row"), *m = tj_matrix(ctx, TJ_INT32, "m");
    tj_var *bv = tj_vector(ctx, TJ_BOOL, "bv"), *s = tj_scalar(ctx, TJ_FLOAT64, "s");
    tj_var *col = tj_tensor(ctx, TJ_INT64, 2, (bool[]){false, true}, "col");
    tj_var *outs[] = {
        tj_alloc(v, (tj_var *[]){n, lit(3)}, 2), tj_alloc(row, (tj_var *[]){lit(2), lit(3)}, 2),
        tj_alloc(v, (tj_var *[]){lit(1), n}, 2), tj_alloc(col, (tj_var *[]){lit(2), lit(3)}, 2),
        tj_zeros_like(m),                        tj_ones_like(bv),
        tj_zeros_like(s),                        tj_alloc(v, (tj_var *[]){n, lit(0)}, 2),
    };
    cr_expect(tj_var_broadcastable(outs[2], 0) && !tj_var_broadcastable(outs[2], 1));
    cr_expect_eq(tj_var_dtype(outs[4]), TJ_INT32);
    tj_array *av = tj_array_scalar(TJ_FLOAT32, 2.5), *an = tj_array_scalar(TJ_INT32, 2);
    tj_array *arow = vals(TJ_INT64, 1, (int64_t[]){3}, 1),
             *am = vals(TJ_INT32, 2, (int64_t[]){2, 3}, 2);
    tj_array *abv = vals(TJ_BOOL, 1, (int64_t[]){4}, 3), *as = tj_array_scalar(TJ_FLOAT64, 9);
    tj_array *acol = vals(TJ_INT64, 2, (int64_t[]){2, 1}, 4);
    results r;
    run_both((tj_var *[]){v, n, row, m, bv, s, col},
             (tj_array *[]){av, an, arow, am, abv, as, acol}, 7, outs, 8, &r);
    double w0[6], w1[6], w3[6], zeros[6] = {0}, ones[4] = {1, 1, 1, 1};
    for (int i = 0; i < 6; i++) {
        w0[i] = 2.5;
        w1[i] = val_of(TJ_INT64, i % 3, 1);
        w3[i] = val_of(TJ_INT64, i / 3, 4);
    }
    expect_out(&r, 0, TJ_FLOAT32, 2, (int64_t[]){2, 3}, w0, 0, "alloc scalar");
    expect_out(&r, 1, TJ_INT64, 2, (int64_t[]){2, 3}, w1, 0, "alloc row");
    expect_out(&r, 2, TJ_FLOAT32, 2, (int64_t[]){1, 2}, w0, 0, "alloc (1, n)");
    expect_out(&r, 3, TJ_INT64, 2, (int64_t[]){2, 3}, w3, 0, "alloc broadcast column");
    expect_out(&r, 4, TJ_INT32, 2, (int64_t[]){2, 3}, zeros, 0, "zeros_like");
    expect_out(&r, 5, TJ_BOOL, 1, (int64_t[]){4}, ones, 0, "ones_like bool");
    expect_out(&r, 6, TJ_FLOAT64, 0, NULL, zeros, 0, "zeros_like scalar");
    expect_out(&r, 7, TJ_FLOAT32, 2, (int64_t[]){2, 0}, zeros, 0, "alloc empty");
    results_free(&r);

    tj_var *vec = tj_vector(ctx, TJ_FLOAT32, "vec");
    tj_array *avec = vals(TJ_FLOAT32, 1, (int64_t[]){4}, 1), *aneg = tj_array_scalar(TJ_INT32, -1);
    run_fails(&vec, &avec, 1, tj_alloc(vec, (tj_var *[]){lit(2), lit(3)}, 2), TJ_ERR_SHAPE,
              "the value has length 4 on its axis 0, but the shape asks for 3");
    run_fails((tj_var *[]){v, n}, (tj_array *[]){av, aneg}, 2,
              tj_alloc(v, (tj_var *[]){n}, 1), TJ_ERR_VALUE, "size -1 for axis 0 is negative");
    built_fails(tj_alloc(m, (tj_var *[]){n}, 1), TJ_ERR_VALUE, "more than the 1 of the shape");
    built_fails(tj_alloc(v, (tj_var *[]){lit(-4)}, 1), TJ_ERR_VALUE, "size -4 for axis 0");
    tj_array *arrs[] = {av, an, arow, am, abv, as, acol, avec, aneg};
    for (int i = 0; i < 9; i++)
        tj_array_unref(arrs[i]);
}

Test(shape, arange)
{
    tj_var *s = tj_scalar(ctx, TJ_INT32, "s"), *e = tj_scalar(ctx, TJ_INT32, "e");
    tj_var *outs[] = {
        tj_arange(lit(0), lit(5), lit(1), TJ_INT64),
        tj_arange(lit(5), lit(0), lit(-2), TJ_INT32),
        tj_arange(lit(2), lit(2), NULL, TJ_INT64),
        tj_arange(lit(-3), lit(10), lit(4), TJ_INT16),
        tj_arange(NULL, lit(1), tj_lit(ctx, 0.25), TJ_FLOAT32),
        tj_arange(s, e, NULL, TJ_INT8),
        tj_arange(NULL, e, NULL, TJ_FLOAT64),
        tj_arange(tj_lit(ctx, 1.5), lit(-1), tj_lit(ctx, -0.5), TJ_FLOAT64),
        tj_arange(lit(7), lit(2), NULL, TJ_UINT8),
    };
    tj_array *as = tj_array_scalar(TJ_INT32, 2), *ae = tj_array_scalar(TJ_INT32, 7);
    results r;
    run_both((tj_var *[]){s, e}, (tj_array *[]){as, ae}, 2, outs, 9, &r);
    expect_out(&r, 0, TJ_INT64, 1, (int64_t[]){5}, (double[]){0, 1, 2, 3, 4}, 0, "arange 5");
    expect_out(&r, 1, TJ_INT32, 1, (int64_t[]){3}, (double[]){5, 3, 1}, 0, "arange down");
    expect_out(&r, 2, TJ_INT64, 1, (int64_t[]){0}, NULL, 0, "arange empty");
    expect_out(&r, 3, TJ_INT16, 1, (int64_t[]){4}, (double[]){-3, 1, 5, 9}, 0, "arange by 4");
    expect_out(&r, 4, TJ_FLOAT32, 1, (int64_t[]){4}, (double[]){0, .25, .5, .75}, 0, "float");
    expect_out(&r, 5, TJ_INT8, 1, (int64_t[]){5}, (double[]){2, 3, 4, 5, 6}, 0, "symbolic");
    expect_out(&r, 6, TJ_FLOAT64, 1, (int64_t[]){7}, (double[]){0, 1, 2, 3, 4, 5, 6}, 0, "stop");
    expect_out(&r, 7, TJ_FLOAT64, 1, (int64_t[]){5}, (double[]){1.5, 1, .5, 0, -.5}, 0, "down");
    expect_out(&r, 8, TJ_UINT8, 1, (int64_t[]){0}, NULL, 0, "arange(7, 2)");
    results_free(&r);
    tj_array *zero = tj_array_scalar(TJ_INT32, 0);
    run_fails((tj_var *[]){s}, &zero, 1, tj_arange(lit(0), lit(3), s, TJ_INT64), TJ_ERR_VALUE,
              "the step of arange is 0");
    built_fails(tj_arange(NULL, lit(3), NULL, TJ_BOOL), TJ_ERR_TYPE, "dtype bool");
    built_fails(tj_arange(NULL, tj_vector(ctx, TJ_INT32, "v"), NULL, TJ_INT32), TJ_ERR_TYPE,
                "stop must be a numeric scalar");
    tj_array_unref(as);
    tj_array_unref(ae);
    tj_array_unref(zero);
}

/* ---- gradients ------------------------------------------------------------------------------- */

static tj_var *g_reshape(tj_var **x) { return tj_reshape(x[0], (int64_t[]){4, 6}, 2); }
static tj_var *g_reshape_t(tj_var **x)
{
    return tj_reshape(tj_transpose(x[0]), (int64_t[]){-1}, 1);
}
static tj_var *g_flatten(tj_var **x) { return tj_flatten(x[0], 2); }
static tj_var *g_permute(tj_var **x) { return tj_permute(x[0], (int[]){2, 0, 1}, 3); }
static tj_var *g_squeeze(tj_var **x) { return tj_squeeze(x[0], NULL, 0); }
static tj_var *g_expand(tj_var **x) { return tj_expand_dims(x[0], 1); }
static tj_var *g_concat(tj_var **x) { return tj_concatenate(x, 3, 1); }
static tj_var *g_stack(tj_var **x) { return tj_stack(x, 2, 1); }
static tj_var *g_split(tj_var **x)
{
    tj_var *p[3];
    if (tj_split(x[0], (int64_t[]){2, -1, 1}, 3, 1, p) != TJ_OK)
        return NULL;
    return tj_concatenate((tj_var *[]){p[2], tj_mulc(p[0], 3.0), p[1]}, 3, 1);
}
static tj_var *g_split0(tj_var **x)
{
    tj_var *p[2];
    if (tj_split(x[0], (int64_t[]){-1, 2}, 2, 0, p) != TJ_OK)
        return NULL;
    return tj_mul(p[0], tj_sum(p[1], NULL, 0, false));
}
static tj_var *g_alloc(tj_var **x) { return tj_alloc(x[0], (tj_var *[]){lit(2), lit(3)}, 2); }
static tj_var *g_alloc_b(tj_var **x) { return tj_alloc(x[0], (tj_var *[]){lit(4), lit(3)}, 2); }
static tj_var *g_arange(tj_var **x)
{
    tj_var *start = tj_mulc(x[0], 0.1), *step = tj_addc(tj_mulc(x[1], 0.1), 0.7);
    return tj_arange(start, tj_lit(ctx, 3.0), step, TJ_FLOAT64);
}

Test(shape, gradients)
{
    const argspec m234 = {3, {2, 3, 4}, {false, false, false}};
    const argspec m23 = {2, {2, 3}, {false, false}}, m22 = {2, {2, 2}, {false, false}};
    const argspec m21b = {2, {2, 1}, {false, true}}, v3 = {1, {3}, {false}};
    const argspec m27 = {2, {2, 7}, {false, false}}, m53 = {2, {5, 3}, {false, false}};
    const argspec s213 = {3, {2, 1, 3}, {false, true, false}}, v1b = {1, {1}, {true}};
    const argspec sc = {0, {0}, {false}};
    check_grad("reshape", g_reshape, 1, &m234, 1);
    check_grad("reshape of a transpose", g_reshape_t, 1, &m234, 2);
    check_grad("flatten", g_flatten, 1, &m234, 3);
    check_grad("permute", g_permute, 1, &m234, 4);
    check_grad("squeeze", g_squeeze, 1, &s213, 5);
    check_grad("expand_dims", g_expand, 1, &m23, 6);
    check_grad("concatenate", g_concat, 3, (argspec[]){m23, m22, m21b}, 7);
    check_grad("stack", g_stack, 2, (argspec[]){v3, v3}, 8);
    check_grad("split", g_split, 1, &m27, 9);
    check_grad("split axis 0", g_split0, 1, &m53, 10);
    check_grad("alloc", g_alloc, 1, &v3, 11);
    check_grad("alloc broadcast", g_alloc_b, 1, &v1b, 12);
    check_grad("arange", g_arange, 2, (argspec[]){sc, sc}, 13);
}

/* Every shape op on every dtype, with a strided operand and an empty one. */
Test(shape, every_op_every_dtype_strided_and_empty)
{
    for (int t = 0; t < NDTYPES; t++) {
        tj_dtype dt = all_dtypes[t];
        tj_var *x = tj_tensor(ctx, dt, 3, NULL, "x"), *e = tj_tensor(ctx, dt, 3, NULL, "e");
        tj_var *sp[2], *se[2];
        cr_assert_eq(tj_split(x, (int64_t[]){1, -1}, 2, 2, sp), TJ_OK);
        cr_assert_eq(tj_split(e, (int64_t[]){2, -1}, 2, 2, se), TJ_OK);
        tj_var *outs[] = {
            tj_flatten(x, 2),
            tj_permute(x, (int[]){1, 2, 0}, 3),
            tj_squeeze(tj_expand_dims(x, 1), NULL, 0),
            tj_expand_dims(x, -2),
            tj_concatenate((tj_var *[]){x, x}, 2, 1),
            tj_stack((tj_var *[]){x, x}, 2, 3),
            sp[1],
            tj_alloc(x, (tj_var *[]){lit(2), lit(2), lit(3), lit(4)}, 4),
            tj_zeros_like(x),
            tj_ones_like(x),
            tj_flatten(e, 1),
            tj_concatenate((tj_var *[]){e, e}, 2, 0),
            se[1],
            tj_alloc(e, (tj_var *[]){lit(3), lit(2), lit(0), lit(3)}, 4),
            tj_permute(e, (int[]){2, 1, 0}, 3),
        };
        int64_t sx[3] = {2, 3, 4}, sz[3] = {2, 0, 3};
        tj_array *ax0 = vals(dt, 3, sx, 1), *ax = noncontig(ax0), *ae = vals(dt, 3, sz, 2);
        results r;
        run_both((tj_var *[]){x, e}, (tj_array *[]){ax, ae}, 2, outs, 15, &r);
        double w[48], X[24];
        for (int k = 0; k < 24; k++)
            X[k] = val_of(dt, k, 1);
        char what[64];
#define CHECK(i, nd, ...)                                                                         \
    do {                                                                                          \
        snprintf(what, sizeof what, "%s output %d", tj_dtype_name(dt), i);                        \
        expect_out(&r, i, dt, nd, (int64_t[]){__VA_ARGS__}, w, 0, what);                          \
    } while (0)
        memcpy(w, X, sizeof X);
        CHECK(0, 2, 2, 12);
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 4; j++)
                for (int k = 0; k < 2; k++)
                    w[(i * 4 + j) * 2 + k] = X[(k * 3 + i) * 4 + j];
        CHECK(1, 3, 3, 4, 2);
        memcpy(w, X, sizeof X);
        CHECK(2, 3, 2, 3, 4);
        CHECK(3, 4, 2, 3, 1, 4);
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 6; j++)
                for (int k = 0; k < 4; k++)
                    w[(i * 6 + j) * 4 + k] = X[(i * 3 + j % 3) * 4 + k];
        CHECK(4, 3, 2, 6, 4);
        for (int k = 0; k < 24; k++)
            w[2 * k] = w[2 * k + 1] = X[k];
        CHECK(5, 4, 2, 3, 4, 2);
        for (int i = 0; i < 6; i++)
            for (int k = 0; k < 3; k++)
                w[i * 3 + k] = X[i * 4 + 1 + k];
        CHECK(6, 3, 2, 3, 3);
        for (int k = 0; k < 48; k++)
            w[k] = X[k % 24];
        CHECK(7, 4, 2, 2, 3, 4);
        for (int k = 0; k < 24; k++)
            w[k] = 0;
        CHECK(8, 3, 2, 3, 4);
        for (int k = 0; k < 24; k++)
            w[k] = 1;
        CHECK(9, 3, 2, 3, 4);
        CHECK(10, 1, 0);
        CHECK(11, 3, 4, 0, 3);
        CHECK(12, 3, 2, 0, 1);
        CHECK(13, 4, 3, 2, 0, 3);
        CHECK(14, 3, 3, 0, 2);
#undef CHECK
        results_free(&r);
        tj_array_unref(ax0);
        tj_array_unref(ax);
        tj_array_unref(ae);
    }
}

/* A 0-d variable meeting a 32-d one is right-aligned with 32 new broadcastable axes; making that
 * mask shifted a 32-bit 1 by 32 (undefined; fuzz_api's finding 12): on x86 the new axes came out
 * not broadcastable, so the sum refused a (2, 1, ..., 1, 3) input. Every rank of the other operand
 * up to the maximum, both operand orders. */
Test(shape, scalar_meets_every_rank_up_to_the_maximum)
{
    for (int nd = 1; nd <= TJ_MAX_NDIM; nd++) {
        tj_ctx *c = tj_ctx_new();
        tj_var *s = tj_scalar(c, TJ_FLOAT64, "s"), *t = tj_tensor(c, TJ_FLOAT64, nd, NULL, "t");
        tj_var *outs[2] = {tj_add(s, t), tj_mul(t, s)};
        tj_fn *f = tj_function(c, (tj_var *[]){s, t}, 2, outs, 2, NULL);
        cr_assert(f, "rank %d: %s", nd, tj_errmsg(c));
        int64_t shape[TJ_MAX_NDIM];
        for (int d = 0; d < nd; d++)
            shape[d] = d == 0 ? 2 : d == nd - 1 ? 3 : 1;
        int64_t n = nd == 1 ? 2 : 6;
        double tv[6] = {1, 2, 3, 4, 5, 6}, sv = 0.5;
        tj_array *in[2] = {tjt_array(TJ_FLOAT64, 0, NULL, &sv), tjt_array(TJ_FLOAT64, nd, shape, tv)};
        tj_array *r[2] = {NULL, NULL};
        cr_assert_eq(tj_call(f, in, r), TJ_OK, "rank %d: %s", nd, tj_errmsg(c));
        for (int k = 0; k < 2; k++) {
            cr_assert_eq(tj_array_ndim(r[k]), nd, "rank %d output %d", nd, k);
            for (int64_t i = 0; i < n; i++)
                cr_expect_eq(tjt_at(r[k], i), k == 0 ? tv[i] + 0.5 : tv[i] * 0.5,
                             "rank %d output %d [%lld]", nd, k, (long long)i);
            tj_array_unref(r[k]);
        }
        tj_array_unref(in[0]);
        tj_array_unref(in[1]);
        tj_ctx_free(c);
    }
}

/* One more axis than TJ_MAX_NDIM is an error naming the input, and tj_stack reports it as its
 * own: it said "tj_expand_dims: the result would have more than 32 dimensions", naming neither
 * the operand nor the function called. A 31-d operand still gains its 32nd axis at either end. */
Test(shape, an_axis_beyond_the_maximum_rank_names_the_input)
{
    tj_var *x = tj_tensor(ctx, TJ_FLOAT64, TJ_MAX_NDIM, NULL, "x");
    built_fails(tj_expand_dims(x, 0), TJ_ERR_VALUE, "tj_expand_dims: 'x'");
    built_fails(tj_expand_dims(x, -1), TJ_ERR_VALUE, "would have 33 dimensions");
    built_fails(tj_stack((tj_var *[]){x, x}, 2, 0), TJ_ERR_VALUE, "tj_stack: 'x'");
    built_fails(tj_stack((tj_var *[]){x, x}, 2, TJ_MAX_NDIM), TJ_ERR_VALUE,
                "would have 33 dimensions");
    tj_var *y = tj_tensor(ctx, TJ_FLOAT64, TJ_MAX_NDIM - 1, NULL, "y");
    cr_expect_eq(tj_var_ndim(tj_expand_dims(y, 0)), TJ_MAX_NDIM, "%s", tj_errmsg(ctx));
    cr_expect_eq(tj_var_ndim(tj_stack((tj_var *[]){y, y}, 2, -1)), TJ_MAX_NDIM, "%s",
                 tj_errmsg(ctx));
}

/* A result whose element count overflows int64 cannot exist even when it is empty or its
 * inputs are broadcast views: numpy raises "array is too big" (a ValueError). Both executors
 * say TJ_ERR_VALUE and name the node; FAST_RUN said TJ_ERR_NOMEM, as if memory had run out. */
Test(shape, a_result_too_big_for_int64_is_a_value_error_in_both_executors)
{
    static float one = 1;
    int64_t big = (int64_t)1 << 32;
    tj_var *x = tj_tensor(ctx, TJ_FLOAT32, 3, (bool[]){false, false, true}, "x");
    tj_var *y = tj_tensor(ctx, TJ_FLOAT32, 3, (bool[]){true, true, false}, "y");
    tj_var *a = tj_matrix(ctx, TJ_FLOAT32, "a"), *b = tj_matrix(ctx, TJ_FLOAT32, "b");
    /* (0, 2^32, 1) + (1, 1, 2^32): empty, but (0, 2^32, 2^32) has 2^64 elements apart from the 0
     * (the second operand a stride-0 view of one float); (2^32, 0) . (0, 2^32): (2^32, 2^32) */
    tj_array *xv = tj_array_new(TJ_FLOAT32, 3, (int64_t[]){0, big, 1});
    tj_array *yv = tj_array_wrap(TJ_FLOAT32, 3, (int64_t[]){1, 1, big}, (int64_t[]){0, 0, 0},
                                 &one, NULL, NULL);
    tj_array *av = tj_array_new(TJ_FLOAT32, 2, (int64_t[]){big, 0});
    tj_array *bv = tj_array_new(TJ_FLOAT32, 2, (int64_t[]){0, big});
    cr_assert(xv && yv && av && bv, "%s", tj_errmsg(ctx));
    struct { tj_var *out, *in[2]; tj_array *arg[2]; const char *what; } cases[] = {
        {tj_add(x, y), {x, y}, {xv, yv}, "an empty broadcast"},
        {tj_dot(a, b), {a, b}, {av, bv}, "a product over an empty axis"},
    };
    for (int m = 0; m < 2; m++) {
        for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
            tj_function_opts o = TJ_FUNCTION_OPTS_INIT;
            o.mode = m ? TJ_MODE_FAST_COMPILE : TJ_MODE_FAST_RUN;
            tj_fn *f = tj_function(ctx, cases[k].in, 2, &cases[k].out, 1, &o);
            cr_assert(f, "%s: %s", cases[k].what, tj_errmsg(ctx));
            tj_array *r = NULL;
            cr_expect_eq(tj_call(f, cases[k].arg, &r), TJ_ERR_VALUE, "mode %d, %s: %s", m,
                         cases[k].what, tj_errmsg(ctx));
            cr_expect(r == NULL, "mode %d, %s: no result", m, cases[k].what);
            cr_expect(strstr(tj_errmsg(ctx), "overflows int64") && strstr(tj_errmsg(ctx), "node #"),
                      "mode %d, %s: %s", m, cases[k].what, tj_errmsg(ctx));
            tj_fn_free(f);
        }
    }
    tj_array_unref(xv);
    tj_array_unref(yv);
    tj_array_unref(av);
    tj_array_unref(bv);
}
