/* Indexing of issue 3: slices (literal and symbolic bounds, numpy's edge cases written out by
 * hand), integer indexing, take (integer-array indexing on any axis), set_subtensor and
 * inc_subtensor (duplicate indices, broadcasting, integer wrap), the givens minibatch pattern,
 * run-time and build-time errors with their messages, and gradients by finite differences.
 * Through the compiled plan (FAST_RUN) and the reference executor (FAST_COMPILE). */
#include "shape_util.h"

TestSuite(index, .init = setup, .fini = teardown, .timeout = 120);

#define O TJ_OPEN

static tj_var *lit(int64_t v) { return tj_lit_int(ctx, v); }

/* x[start:stop:step] of a 7-vector: numpy's answers, by hand (-1 ends a list) */
static const struct {
    int64_t b[3];
    int idx[8];
} cases[] = {
    {{O, O, -1}, {6, 5, 4, 3, 2, 1, 0, -1}}, {{-2, O, O}, {5, 6, -1}},
    {{5, 1, -2}, {5, 3, -1}},                {{10, O, O}, {-1}},
    {{1, 3, O}, {1, 2, -1}},                 {{O, -3, O}, {0, 1, 2, 3, -1}},
    {{-10, 2, O}, {0, 1, -1}},               {{O, O, 3}, {0, 3, 6, -1}},
    {{6, -8, -1}, {6, 5, 4, 3, 2, 1, 0, -1}}, {{-1, -8, -3}, {6, 3, 0, -1}},
    {{3, 3, O}, {-1}},                       {{4, 2, O}, {-1}},
    {{O, 100, 2}, {0, 2, 4, 6, -1}},         {{-100, -5, O}, {0, 1, -1}},
    {{O, 2, -1}, {6, 5, 4, 3, -1}},          {{2, O, -1}, {2, 1, 0, -1}},
    {{-3, O, -2}, {4, 2, 0, -1}},            {{100, O, -3}, {6, 3, 0, -1}},
    {{O, O, 100}, {0, -1}},                  {{O, -100, -1}, {6, 5, 4, 3, 2, 1, 0, -1}},
    {{0, 0, -1}, {-1}},
};
#define NCASES ((int)(sizeof cases / sizeof cases[0]))

Test(index, slice_edge_cases_every_dtype_literal_and_symbolic)
{
    /* symbolic bounds: one int64 input per bound (an int32 one for the first case) */
    tj_var *in[2 + 3 * NCASES];
    tj_array *val[2 + 3 * NCASES];
    int nin = 2;
    tj_var *bnd[NCASES][3];
    for (int c = 0; c < NCASES; c++) {
        for (int j = 0; j < 3; j++) {
            bnd[c][j] = NULL;
            if (cases[c].b[j] == O)
                continue;
            tj_dtype bt = c == 0 || c == 2 ? TJ_INT32 : TJ_INT64;
            bnd[c][j] = in[nin] = tj_scalar(ctx, bt, NULL);
            val[nin++] = tj_array_scalar(bt, (double)cases[c].b[j]);
        }
    }
    for (int t = 0; t < NDTYPES; t++) {
        tj_dtype dt = all_dtypes[t];
        in[0] = tj_vector(ctx, dt, "x");
        in[1] = tj_vector(ctx, dt, "xs");
        tj_array *a = vals(dt, 1, (int64_t[]){7}, 1), *an = noncontig(a);
        val[0] = a;
        val[1] = an;
        tj_var *outs[3 * NCASES];
        for (int c = 0; c < NCASES; c++) {
            outs[3 * c] = tj_slicei(in[0], 0, cases[c].b[0], cases[c].b[1], cases[c].b[2]);
            outs[3 * c + 1] = tj_slice(in[0], 0, bnd[c][0], bnd[c][1], bnd[c][2]);
            outs[3 * c + 2] = tj_slicei(in[1], -1, cases[c].b[0], cases[c].b[1], cases[c].b[2]);
        }
        results r;
        run_both(in, val, nin, outs, 3 * NCASES, &r);
        for (int c = 0; c < NCASES; c++) {
            double w[8];
            int n = 0;
            while (cases[c].idx[n] >= 0) {
                w[n] = val_of(dt, cases[c].idx[n], 1);
                n++;
            }
            char what[96];
            snprintf(what, sizeof what, "%s x[%lld:%lld:%lld]", tj_dtype_name(dt),
                     (long long)cases[c].b[0], (long long)cases[c].b[1], (long long)cases[c].b[2]);
            for (int k = 0; k < 3; k++)
                expect_out(&r, 3 * c + k, dt, 1, (int64_t[]){n}, w, 0, what);
        }
        results_free(&r);
        tj_array_unref(a);
        tj_array_unref(an);
    }
    for (int i = 2; i < nin; i++)
        tj_array_unref(val[i]);
}

Test(index, slices_of_matrices_and_views)
{
    tj_var *m = tj_matrix(ctx, TJ_INT32, "m"), *t = tj_tensor(ctx, TJ_FLOAT64, 3, NULL, "t");
    tj_var *b = tj_tensor(ctx, TJ_INT32, 2, (bool[]){true, false}, "b");
    tj_var *outs[] = {
        tj_slicei(m, 1, O, O, -1), tj_slicei(m, 0, 1, O, O), tj_slicei(m, -1, -3, -1, O),
        tj_slicei(t, 1, O, O, 2),  tj_slicei(b, 0, O, O, O), tj_slicei(b, 0, 1, O, O),
        tj_slicei(b, 0, O, 5, 1),
    };
    cr_expect(tj_var_broadcastable(outs[4], 0), "b[:] keeps the broadcastable axis");
    cr_expect(!tj_var_broadcastable(outs[5], 0), "b[1:] may be empty");
    cr_expect(tj_var_broadcastable(outs[6], 0), "b[:5] keeps it (Theano's rule)");
    tj_array *am0 = vals(TJ_INT32, 2, (int64_t[]){3, 4}, 1), *am = noncontig(am0);
    tj_array *at = vals(TJ_FLOAT64, 3, (int64_t[]){2, 3, 2}, 2);
    tj_array *ab = vals(TJ_INT32, 2, (int64_t[]){1, 3}, 3);
    results r;
    run_both((tj_var *[]){m, t, b}, (tj_array *[]){am, at, ab}, 3, outs, 7, &r);
    double w0[12], w1[8], w2[6], w3[8], wb[3];
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 4; j++)
            w0[i * 4 + j] = val_of(TJ_INT32, i * 4 + 3 - j, 1);
    for (int k = 0; k < 8; k++)
        w1[k] = val_of(TJ_INT32, 4 + k, 1);
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 2; j++)
            w2[i * 2 + j] = val_of(TJ_INT32, i * 4 + 1 + j, 1);
    for (int i = 0; i < 2; i++) /* t[:, ::2] keeps rows 0 and 2 of each 3x2 block */
        for (int j = 0; j < 2; j++)
            for (int k = 0; k < 2; k++)
                w3[(i * 2 + j) * 2 + k] = val_of(TJ_FLOAT64, i * 6 + j * 2 * 2 + k, 2);
    for (int k = 0; k < 3; k++)
        wb[k] = val_of(TJ_INT32, k, 3);
    expect_out(&r, 0, TJ_INT32, 2, (int64_t[]){3, 4}, w0, 0, "m[:, ::-1]");
    expect_out(&r, 1, TJ_INT32, 2, (int64_t[]){2, 4}, w1, 0, "m[1:]");
    expect_out(&r, 2, TJ_INT32, 2, (int64_t[]){3, 2}, w2, 0, "m[:, -3:-1]");
    expect_out(&r, 3, TJ_FLOAT64, 3, (int64_t[]){2, 2, 2}, w3, 0, "t[:, ::2]");
    expect_out(&r, 4, TJ_INT32, 2, (int64_t[]){1, 3}, wb, 0, "b[:]");
    expect_out(&r, 5, TJ_INT32, 2, (int64_t[]){0, 3}, wb, 0, "b[1:]");
    expect_out(&r, 6, TJ_INT32, 2, (int64_t[]){1, 3}, wb, 0, "b[:5]");
    results_free(&r);

    /* in the compiled plan a slice shares its operand's buffer */
    tj_array *out = NULL;
    cr_assert_eq(tjI_shape_op(ctx, outs[1], &am0, true, &out), TJ_OK, "%s", tj_errmsg(ctx));
    cr_expect_eq(out->data, am0->data + 4 * sizeof(int32_t), "m[1:] starts at row 1, no copy");
    tj_array_unref(out);
    cr_assert_eq(tjI_shape_op(ctx, outs[0], &am0, true, &out), TJ_OK, "%s", tj_errmsg(ctx));
    cr_expect_eq(out->strides[1], -(int64_t)sizeof(int32_t), "m[:, ::-1] walks backwards");
    tj_array_unref(out);
    tj_array_unref(am0);
    tj_array_unref(am);
    tj_array_unref(at);
    tj_array_unref(ab);
}

Test(index, slice_errors)
{
    tj_var *x = tj_vector(ctx, TJ_FLOAT32, "x"), *s = tj_scalar(ctx, TJ_INT32, "s");
    built_fails(tj_slicei(x, 0, O, O, 0), TJ_ERR_VALUE, "a slice step cannot be zero");
    built_fails(tj_slicei(x, 1, O, O, O), TJ_ERR_VALUE, "axis 1 is out of range");
    built_fails(tj_slicei(tj_scalar(ctx, TJ_FLOAT32, "z"), 0, O, O, O), TJ_ERR_TYPE, "is 0-d");
    built_fails(tj_slice(x, 0, tj_lit(ctx, 1.5), NULL, NULL), TJ_ERR_TYPE,
                "the start must be an integer scalar");
    built_fails(tj_slice(x, 0, NULL, tj_vector(ctx, TJ_INT32, "v"), NULL), TJ_ERR_TYPE,
                "the stop must be an integer scalar");
    tj_array *a = vals(TJ_FLOAT32, 1, (int64_t[]){5}, 1), *zero = tj_array_scalar(TJ_INT32, 0);
    run_fails((tj_var *[]){x, s}, (tj_array *[]){a, zero}, 2, tj_slice(x, 0, NULL, NULL, s),
              TJ_ERR_VALUE, "slice step cannot be zero");
    tj_array_unref(a);
    tj_array_unref(zero);
}

/* ---- integer indexing ------------------------------------------------------------------------ */

Test(index, integer_index)
{
    tj_var *m = tj_matrix(ctx, TJ_UINT8, "m"), *t = tj_tensor(ctx, TJ_BOOL, 3, NULL, "t");
    tj_var *i = tj_scalar(ctx, TJ_INT16, "i");
    tj_var *outs[] = {tj_indexi(m, 0, 1), tj_indexi(m, 0, -1), tj_indexi(m, 1, -4),
                      tj_index(m, 1, i),  tj_indexi(t, 2, 1),  tj_indexi(tj_indexi(m, 0, 2), 0, 3)};
    tj_array *am0 = vals(TJ_UINT8, 2, (int64_t[]){3, 4}, 1), *am = noncontig(am0);
    tj_array *at = vals(TJ_BOOL, 3, (int64_t[]){2, 2, 3}, 2), *ai = tj_array_scalar(TJ_INT16, -2);
    results r;
    run_both((tj_var *[]){m, t, i}, (tj_array *[]){am, at, ai}, 3, outs, 6, &r);
    double w0[4], w1[4], w2[3], w3[3], w4[4], w5 = val_of(TJ_UINT8, 11, 1);
    for (int k = 0; k < 4; k++) {
        w0[k] = val_of(TJ_UINT8, 4 + k, 1);
        w1[k] = val_of(TJ_UINT8, 8 + k, 1);
        w4[k] = val_of(TJ_BOOL, k * 3 + 1, 2);
    }
    for (int k = 0; k < 3; k++) {
        w2[k] = val_of(TJ_UINT8, k * 4, 1);
        w3[k] = val_of(TJ_UINT8, k * 4 + 2, 1);
    }
    expect_out(&r, 0, TJ_UINT8, 1, (int64_t[]){4}, w0, 0, "m[1]");
    expect_out(&r, 1, TJ_UINT8, 1, (int64_t[]){4}, w1, 0, "m[-1]");
    expect_out(&r, 2, TJ_UINT8, 1, (int64_t[]){3}, w2, 0, "m[:, -4]");
    expect_out(&r, 3, TJ_UINT8, 1, (int64_t[]){3}, w3, 0, "m[:, i=-2]");
    expect_out(&r, 4, TJ_BOOL, 2, (int64_t[]){2, 2}, w4, 0, "t[:, :, 1]");
    expect_out(&r, 5, TJ_UINT8, 0, NULL, &w5, 0, "m[2][3]");
    results_free(&r);

    tj_array *three = tj_array_scalar(TJ_INT16, 3), *m4 = tj_array_scalar(TJ_INT16, -4);
    run_fails((tj_var *[]){m, i}, (tj_array *[]){am, three}, 2, tj_index(m, 0, i), TJ_ERR_VALUE,
              "index 3 is out of bounds for axis 0 with size 3");
    run_fails((tj_var *[]){m, i}, (tj_array *[]){am, m4}, 2, tj_index(m, 0, i), TJ_ERR_VALUE,
              "index -4 is out of bounds for axis 0 with size 3");
    run_fails(&m, &am, 1, tj_indexi(m, 1, 4), TJ_ERR_VALUE,
              "index 4 is out of bounds for axis 1 with size 4");
    tj_var *b = tj_tensor(ctx, TJ_UINT8, 2, (bool[]){true, false}, "b");
    built_fails(tj_indexi(b, 0, 2), TJ_ERR_VALUE, "index 2 is out of bounds for axis 0");
    built_fails(tj_index(m, 0, tj_scalar(ctx, TJ_BOOL, "flag")), TJ_ERR_TYPE,
                "the index must be an integer scalar");
    tj_array_unref(am0);
    tj_array_unref(am);
    tj_array_unref(at);
    tj_array_unref(ai);
    tj_array_unref(three);
    tj_array_unref(m4);
}

/* ---- take ------------------------------------------------------------------------------------ */

Test(index, take)
{
    tj_var *x = tj_matrix(ctx, TJ_FLOAT32, "x"), *iv = tj_vector(ctx, TJ_INT32, "iv");
    tj_var *iw = tj_vector(ctx, TJ_INT64, "iw"), *im = tj_matrix(ctx, TJ_INT8, "im");
    tj_var *i0 = tj_scalar(ctx, TJ_INT64, "i0"), *ie = tj_vector(ctx, TJ_UINT8, "ie");
    tj_var *xb = tj_vector(ctx, TJ_BOOL, "xb");
    tj_var *outs[] = {tj_take(x, iv, 0), tj_take(x, iw, 1), tj_take(x, im, 0),
                      tj_take(x, i0, 1), tj_take(x, ie, 0), tj_take(xb, iv, 0)};
    cr_expect_eq(tj_var_ndim(outs[2]), 3);
    cr_expect_eq(tj_var_ndim(outs[3]), 1);
    tj_array *ax0 = vals(TJ_FLOAT32, 2, (int64_t[]){5, 3}, 1), *ax = noncontig(ax0);
    tj_array *aiv = tjt_array(TJ_INT32, 1, (int64_t[]){5}, (double[]){4, -1, 0, 0, 2});
    tj_array *aiw = tjt_array(TJ_INT64, 1, (int64_t[]){4}, (double[]){2, 0, -3, 1});
    tj_array *aim = tjt_array(TJ_INT8, 2, (int64_t[]){2, 2}, (double[]){1, 0, 3, 3});
    tj_array *ai0 = tj_array_scalar(TJ_INT64, -2), *aie = tj_array_new(TJ_UINT8, 1, (int64_t[]){0});
    tj_array *axb = vals(TJ_BOOL, 1, (int64_t[]){5}, 2);
    results r;
    run_both((tj_var *[]){x, iv, iw, im, i0, ie, xb},
             (tj_array *[]){ax, aiv, aiw, aim, ai0, aie, axb}, 7, outs, 6, &r);
    static const int rows[5] = {4, 4, 0, 0, 2}, cols[4] = {2, 0, 0, 1}, mi[4] = {1, 0, 3, 3};
    double w0[15], w1[20], w2[12], w3[5], w5[5];
    for (int k = 0; k < 5; k++)
        for (int j = 0; j < 3; j++)
            w0[k * 3 + j] = val_of(TJ_FLOAT32, rows[k] * 3 + j, 1);
    for (int i = 0; i < 5; i++)
        for (int k = 0; k < 4; k++)
            w1[i * 4 + k] = val_of(TJ_FLOAT32, i * 3 + cols[k], 1);
    for (int k = 0; k < 4; k++)
        for (int j = 0; j < 3; j++)
            w2[k * 3 + j] = val_of(TJ_FLOAT32, mi[k] * 3 + j, 1);
    for (int i = 0; i < 5; i++) {
        w3[i] = val_of(TJ_FLOAT32, i * 3 + 1, 1);
        w5[i] = val_of(TJ_BOOL, rows[i], 2);
    }
    expect_out(&r, 0, TJ_FLOAT32, 2, (int64_t[]){5, 3}, w0, 0, "take rows");
    expect_out(&r, 1, TJ_FLOAT32, 2, (int64_t[]){5, 4}, w1, 0, "take columns");
    expect_out(&r, 2, TJ_FLOAT32, 3, (int64_t[]){2, 2, 3}, w2, 0, "take with a matrix");
    expect_out(&r, 3, TJ_FLOAT32, 1, (int64_t[]){5}, w3, 0, "take a 0-d index");
    expect_out(&r, 4, TJ_FLOAT32, 2, (int64_t[]){0, 3}, w0, 0, "take nothing");
    expect_out(&r, 5, TJ_BOOL, 1, (int64_t[]){5}, w5, 0, "take bool");
    results_free(&r);

    tj_array *bad = tjt_array(TJ_INT32, 1, (int64_t[]){3}, (double[]){0, 5, 1});
    tj_array *bad2 = tjt_array(TJ_INT32, 1, (int64_t[]){1}, (double[]){-6});
    run_fails((tj_var *[]){x, iv}, (tj_array *[]){ax, bad}, 2, tj_take(x, iv, 0), TJ_ERR_VALUE,
              "index 5 (at position 1 of the indices) is out of bounds for axis 0 with size 5");
    run_fails((tj_var *[]){x, iv}, (tj_array *[]){ax, bad2}, 2, tj_take(x, iv, 0), TJ_ERR_VALUE,
              "index -6 (at position 0 of the indices) is out of bounds");
    built_fails(tj_take(x, xb, 0), TJ_ERR_TYPE, "integer indices are expected");
    built_fails(tj_take(x, tj_vector(ctx, TJ_FLOAT64, "f"), 0), TJ_ERR_TYPE, "are float64");
    built_fails(tj_take(x, iv, 2), TJ_ERR_VALUE, "axis 2 is out of range");
    tj_array *arrs[] = {ax0, ax, aiv, aiw, aim, ai0, aie, axb, bad, bad2};
    for (int k = 0; k < 10; k++)
        tj_array_unref(arrs[k]);
}

/* ---- set_subtensor / inc_subtensor ----------------------------------------------------------- */

Test(index, set_and_inc_subtensor)
{
    tj_var *x = tj_matrix(ctx, TJ_FLOAT64, "x"), *v = tj_matrix(ctx, TJ_FLOAT64, "v");
    tj_var *row = tj_vector(ctx, TJ_FLOAT64, "row"), *idx = tj_vector(ctx, TJ_INT32, "idx");
    tj_var *col = tj_tensor(ctx, TJ_FLOAT64, 2, (bool[]){false, true}, "col");
    tj_var *xi = tj_vector(ctx, TJ_INT8, "xi"), *xb = tj_vector(ctx, TJ_BOOL, "xb");
    tj_var *i = tj_scalar(ctx, TJ_INT64, "i");
    tj_var *v2 = tj_slicei(v, 0, 0, 2, O);
    tj_array *ones = tjt_array(TJ_INT64, 1, (int64_t[]){2}, (double[]){1, 1});
    tj_var *outs[] = {
        tj_set_subtensor(tj_slicei(x, 0, 1, 3, O), v2),
        tj_inc_subtensor(tj_slicei(x, 1, O, O, -1), row),
        tj_set_subtensor(tj_indexi(x, 1, -1), tj_lit(ctx, 7)),
        tj_inc_subtensor(tj_take(x, idx, 0), v),
        tj_set_subtensor(tj_take(x, idx, 0), v),
        tj_inc_subtensor(tj_take(x, tj_constant(ctx, ones), 1), col),
        tj_inc_subtensor(tj_slicei(xi, 0, O, O, 2), tj_lit(ctx, 10)),
        tj_set_subtensor(tj_indexi(xb, 0, 1), tj_const(ctx, TJ_BOOL, 1)),
        tj_set_subtensor(tj_slice(x, 0, i, NULL, NULL), row),
        tj_inc_subtensor(tj_slicei(x, 0, 3, 1, O), tj_lit(ctx, 5)),
        tj_inc_subtensor(tj_slicei(x, 0, 1, 3, O), v2),
    };
    cr_expect_eq(tj_var_dtype(outs[6]), TJ_INT8);
    tj_array *ax = vals(TJ_FLOAT64, 2, (int64_t[]){4, 3}, 1);
    tj_array *av0 = vals(TJ_FLOAT64, 2, (int64_t[]){4, 3}, 2), *av = noncontig(av0);
    tj_array *arow = vals(TJ_FLOAT64, 1, (int64_t[]){3}, 3);
    tj_array *aidx = tjt_array(TJ_INT32, 1, (int64_t[]){4}, (double[]){0, 2, 0, -4});
    tj_array *acol = vals(TJ_FLOAT64, 2, (int64_t[]){4, 1}, 4);
    tj_array *axi = tjt_array(TJ_INT8, 1, (int64_t[]){5}, (double[]){120, 1, -5, 3, 127});
    tj_array *axb = tjt_array(TJ_BOOL, 1, (int64_t[]){3}, (double[]){0, 0, 1});
    tj_array *ai = tj_array_scalar(TJ_INT64, -2);
    results r;
    run_both((tj_var *[]){x, v, row, idx, col, xi, xb, i},
             (tj_array *[]){ax, av, arow, aidx, acol, axi, axb, ai}, 8, outs, 11, &r);
    double X[12], V[12], R[3], C[4], w[12];
#define RESET memcpy(w, X, sizeof w)
    for (int k = 0; k < 12; k++) {
        X[k] = val_of(TJ_FLOAT64, k, 1);
        V[k] = val_of(TJ_FLOAT64, k, 2);
    }
    for (int k = 0; k < 3; k++)
        R[k] = val_of(TJ_FLOAT64, k, 3);
    for (int k = 0; k < 4; k++)
        C[k] = val_of(TJ_FLOAT64, k, 4);
    int64_t s43[2] = {4, 3};
    RESET; /* x[1:3] = v[0:2] */
    for (int k = 0; k < 6; k++)
        w[3 + k] = V[k];
    expect_out(&r, 0, TJ_FLOAT64, 2, s43, w, 0, "x[1:3] = v[:2]");
    RESET; /* x[:, ::-1] += row: column 2-j gets row[j] */
    for (int a = 0; a < 4; a++)
        for (int j = 0; j < 3; j++)
            w[a * 3 + 2 - j] += R[j];
    expect_out(&r, 1, TJ_FLOAT64, 2, s43, w, 0, "x[:, ::-1] += row");
    RESET;
    for (int a = 0; a < 4; a++)
        w[a * 3 + 2] = 7;
    expect_out(&r, 2, TJ_FLOAT64, 2, s43, w, 0, "x[:, -1] = 7");
    RESET; /* idx = [0, 2, 0, -4]: row 0 gets v rows 0, 2 and 3, row 2 gets v row 1 */
    for (int j = 0; j < 3; j++) {
        w[j] += V[j] + V[6 + j] + V[9 + j];
        w[6 + j] += V[3 + j];
    }
    expect_out(&r, 3, TJ_FLOAT64, 2, s43, w, 0, "x[idx] += v accumulates duplicates");
    RESET;
    for (int j = 0; j < 3; j++) {
        w[j] = V[9 + j];
        w[6 + j] = V[3 + j];
    }
    expect_out(&r, 4, TJ_FLOAT64, 2, s43, w, 0, "x[idx] = v: the last write wins");
    RESET;
    for (int a = 0; a < 4; a++)
        w[a * 3 + 1] += 2 * C[a];
    expect_out(&r, 5, TJ_FLOAT64, 2, s43, w, 0, "x[:, [1, 1]] += col");
    expect_out(&r, 6, TJ_INT8, 1, (int64_t[]){5}, (double[]){-126, 1, 5, 3, -119}, 0,
               "int8 += 10 wraps");
    expect_out(&r, 7, TJ_BOOL, 1, (int64_t[]){3}, (double[]){0, 1, 1}, 0, "bool set");
    RESET;
    for (int a = 2; a < 4; a++)
        for (int j = 0; j < 3; j++)
            w[a * 3 + j] = R[j];
    expect_out(&r, 8, TJ_FLOAT64, 2, s43, w, 0, "x[i:] = row");
    RESET;
    expect_out(&r, 9, TJ_FLOAT64, 2, s43, w, 0, "x[3:1] += 5 changes nothing");
    RESET; /* rows 1 and 2 of x, contiguous: one run of 6 after coalescing */
    for (int k = 0; k < 6; k++)
        w[3 + k] += V[k];
    expect_out(&r, 10, TJ_FLOAT64, 2, s43, w, 0, "x[1:3] += v[:2]");
#undef RESET
    results_free(&r);

    run_fails((tj_var *[]){x, v}, (tj_array *[]){ax, av}, 2,
              tj_set_subtensor(tj_slicei(x, 0, 0, 2, O), tj_slicei(v, 0, 0, 3, O)), TJ_ERR_SHAPE,
              "the value has length 3 on axis 0 but the selected region has 2");
    tj_array *badidx = tjt_array(TJ_INT32, 1, (int64_t[]){4}, (double[]){0, 1, 2, 4});
    run_fails((tj_var *[]){x, v, idx}, (tj_array *[]){ax, av, badidx}, 3,
              tj_inc_subtensor(tj_take(x, idx, 0), v), TJ_ERR_VALUE,
              "index 4 (at position 3 of the indices) is out of bounds for axis 0 with size 4");
    built_fails(tj_set_subtensor(x, v), TJ_ERR_INVALID, "was not built by tj_slice");
    built_fails(tj_inc_subtensor(tj_indexi(x, 0, 0), v), TJ_ERR_TYPE,
                "has 2 dimensions, more than the 1 of the selected region");
    tj_array *arrs[] = {ax, av0, av, arow, aidx, acol, axi, axb, ai, badidx, ones};
    for (int k = 0; k < 11; k++)
        tj_array_unref(arrs[k]);
}

/* take-scatters along a later axis, written element by element from the definition: x[:, idx]
 * with a 2-d index (its value axes contiguous or not), a block of two elements after a middle
 * axis, and int8 wrap; duplicates accumulate in order or the last one wins. */
Test(index, take_scatter_along_a_later_axis)
{
    bool f3[3] = {false, false, false};
    tj_var *x = tj_matrix(ctx, TJ_FLOAT64, "x"), *x3 = tj_tensor(ctx, TJ_FLOAT64, 3, f3, "x3");
    tj_var *v = tj_tensor(ctx, TJ_FLOAT64, 3, f3, "v"), *xi = tj_matrix(ctx, TJ_INT8, "xi");
    tj_var *vi = tj_matrix(ctx, TJ_INT8, "vi");
    tj_array *i2 = tjt_array(TJ_INT64, 2, (int64_t[]){2, 2}, (double[]){2, 0, 2, -3});
    tj_array *i3 = tjt_array(TJ_INT64, 1, (int64_t[]){3}, (double[]){1, 1, 0});
    tj_array *i0 = tjt_array(TJ_INT64, 1, (int64_t[]){2}, (double[]){0, 0});
    tj_var *idx2 = tj_constant(ctx, i2), *idx3 = tj_constant(ctx, i3), *idx0 = tj_constant(ctx, i0);
    tj_var *outs[] = {
        tj_set_subtensor(tj_take(x, idx2, 1), v),
        tj_inc_subtensor(tj_take(x, idx2, 1), v),
        tj_inc_subtensor(tj_take(x3, idx3, 1), x3),
        tj_inc_subtensor(tj_take(xi, idx0, 1), vi),
    };
    tj_array *ax = vals(TJ_FLOAT64, 2, (int64_t[]){3, 4}, 1);
    tj_array *av = vals(TJ_FLOAT64, 3, (int64_t[]){3, 2, 2}, 2), *avn = noncontig(av);
    tj_array *ax3 = vals(TJ_FLOAT64, 3, (int64_t[]){2, 3, 2}, 3);
    tj_array *axi = tjt_array(TJ_INT8, 2, (int64_t[]){2, 3}, (double[]){100, 1, 2, -100, 3, 4});
    tj_array *avi = tjt_array(TJ_INT8, 2, (int64_t[]){2, 2}, (double[]){20, 10, -30, -1});
    for (int contiguous = 1; contiguous >= 0; contiguous--) {
        results r;
        run_both((tj_var *[]){x, v, x3, xi, vi},
                 (tj_array *[]){ax, contiguous ? av : avn, ax3, axi, avi}, 5, outs, 4, &r);
        double X[12], V[12], X3[12], set[12], inc[12], inc3[12];
        for (int k = 0; k < 12; k++) {
            X[k] = val_of(TJ_FLOAT64, k, 1);
            V[k] = val_of(TJ_FLOAT64, k, 2);
            X3[k] = val_of(TJ_FLOAT64, k, 3);
        }
        memcpy(set, X, sizeof set);
        memcpy(inc, X, sizeof inc);
        const int cols[4] = {2, 0, 2, 1}; /* idx2 flattened, -3 wrapped */
        for (int a = 0; a < 3; a++)
            for (int k = 0; k < 4; k++) {
                set[a * 4 + cols[k]] = V[a * 4 + k];
                inc[a * 4 + cols[k]] += V[a * 4 + k];
            }
        memcpy(inc3, X3, sizeof inc3); /* x3[:, [1, 1, 0]] += x3 */
        const int mids[3] = {1, 1, 0};
        for (int a = 0; a < 2; a++)
            for (int k = 0; k < 3; k++)
                for (int c = 0; c < 2; c++)
                    inc3[(a * 3 + mids[k]) * 2 + c] += X3[(a * 3 + k) * 2 + c];
        const char *how = contiguous ? "contiguous value" : "strided value";
        expect_out(&r, 0, TJ_FLOAT64, 2, (int64_t[]){3, 4}, set, 0, how);
        expect_out(&r, 1, TJ_FLOAT64, 2, (int64_t[]){3, 4}, inc, 0, how);
        expect_out(&r, 2, TJ_FLOAT64, 3, (int64_t[]){2, 3, 2}, inc3, 0, "middle axis");
        /* column 0 += both columns of vi: 100 + 30 wraps to -126, -100 - 31 to 125 */
        expect_out(&r, 3, TJ_INT8, 2, (int64_t[]){2, 3}, (double[]){-126, 1, 2, 125, 3, 4}, 0,
                   "int8 column inc wraps");
        results_free(&r);
    }
    tj_array_unref(ax);
    tj_array_unref(av);
    tj_array_unref(avn);
    tj_array_unref(ax3);
    tj_array_unref(axi);
    tj_array_unref(avi);
    tj_array_unref(i2);
    tj_array_unref(i3);
    tj_array_unref(i0);
}

/* ---- the givens minibatch pattern ------------------------------------------------------------ */

/* Linear regression by minibatch SGD where the function takes only the batch index:
 * givens=[(x, data[i*bs:(i+1)*bs]), (t, target[i*bs:(i+1)*bs])]. The last batch is short (10 rows,
 * batches of 4), as Python's slicing makes it. Checked against the same loop in float64 here. */
Test(index, givens_minibatch_pattern)
{
    enum { N = 10, D = 3, BS = 4 };
    double X[N * D], T[N];
    for (int k = 0; k < N * D; k++)
        X[k] = val_of(TJ_FLOAT64, k, 1) * 0.1;
    for (int k = 0; k < N; k++)
        T[k] = val_of(TJ_FLOAT64, k, 2);
    for (int m = 0; m < 2; m++) {
        tj_array *ad = tjt_array(TJ_FLOAT64, 2, (int64_t[]){N, D}, X);
        tj_array *at = tjt_array(TJ_FLOAT64, 1, (int64_t[]){N}, T);
        tj_array *aw = tj_array_new(TJ_FLOAT64, 1, (int64_t[]){D});
        tj_var *data = tj_shared(ctx, ad, "data", false),
               *target = tj_shared(ctx, at, "target", false);
        tj_var *w = tj_shared(ctx, aw, "w", false);
        tj_var *x = tj_matrix(ctx, TJ_FLOAT64, "x"), *t = tj_vector(ctx, TJ_FLOAT64, "t");
        tj_var *i = tj_scalar(ctx, TJ_INT32, "i");
        tj_var *err = tj_sub(tj_dot(x, w), t);
        tj_var *cost = tj_mean(tj_sqr(err), NULL, 0, false), *gw;
        cr_assert_eq(tj_grad(cost, &w, 1, &gw), TJ_OK, "%s", tj_errmsg(ctx));
        tj_var *start = tj_mulc(i, BS), *stop = tj_mulc(tj_addc(i, 1), BS);
        tj_function_opts o = TJ_FUNCTION_OPTS_INIT;
        o.mode = m ? TJ_MODE_FAST_COMPILE : TJ_MODE_FAST_RUN;
        o.givens = (tj_given[]){{x, tj_slice(data, 0, start, stop, NULL)},
                                {t, tj_slice(target, 0, start, stop, NULL)}};
        o.ngivens = 2;
        o.updates = (tj_update[]){{w, tj_sub(w, tj_mulc(gw, 0.1))}};
        o.nupdates = 1;
        tj_fn *f = tj_function(ctx, &i, 1, &cost, 1, &o);
        cr_assert(f, "%s", tj_errmsg(ctx));
        if (m == 0) { /* the minibatch is a slice step of the plan, not an input */
            char *text = tj_fn_graph(f);
            cr_expect(text && strstr(text, "op ") && strstr(text, "slice"), "plan:\n%s", text);
            free(text);
        }
        double wref[D] = {0};
        for (int step = 0; step < 6; step++) {
            int b = step % 3, lo = b * BS, hi = lo + BS < N ? lo + BS : N, n = hi - lo;
            double g[D] = {0}, c = 0;
            for (int rr = lo; rr < hi; rr++) {
                double e = -T[rr];
                for (int j = 0; j < D; j++)
                    e += X[rr * D + j] * wref[j];
                c += e * e / n;
                for (int j = 0; j < D; j++)
                    g[j] += 2 * e * X[rr * D + j] / n;
            }
            for (int j = 0; j < D; j++)
                wref[j] -= 0.1 * g[j];
            tj_array *ai = tj_array_scalar(TJ_INT32, b), *out = NULL;
            cr_assert_eq(tj_call(f, &ai, &out), TJ_OK, "%s", tj_errmsg(ctx));
            cr_expect(fabs(tj_array_get(out, NULL) - c) <= 1e-12 * (1 + fabs(c)),
                      "mode %d step %d: cost %.17g, want %.17g", m, step, tj_array_get(out, NULL),
                      c);
            tj_array *wv = tj_shared_get(w, false);
            for (int j = 0; j < D; j++)
                cr_expect(fabs(tjt_at(wv, j) - wref[j]) <= 1e-12 * (1 + fabs(wref[j])),
                          "mode %d step %d: w[%d] = %.17g, want %.17g", m, step, j,
                          tjt_at(wv, j), wref[j]);
            tj_array_unref(wv);
            tj_array_unref(out);
            tj_array_unref(ai);
        }
        tj_fn_free(f);
        tj_array_unref(ad);
        tj_array_unref(at);
        tj_array_unref(aw);
    }
}

/* ---- gradients ------------------------------------------------------------------------------- */

static tj_array *ints(int n, const double *v) { return tjt_array(TJ_INT64, 1, (int64_t[]){n}, v); }

static tj_var *g_slice_rev(tj_var **x) { return tj_slicei(x[0], 0, O, O, -2); }
static tj_var *g_slice_sym(tj_var **x)
{
    tj_var *n = tj_shape_of(x[0], 0);
    return tj_slice(x[0], 0, tj_subc(n, 5), tj_subc(n, 1), lit(2));
}
static tj_var *g_slice_cols(tj_var **x) { return tj_slicei(x[0], 1, 1, 3, O); }
static tj_var *g_index(tj_var **x) { return tj_indexi(x[0], 1, -1); }
static tj_var *g_index_sym(tj_var **x)
{
    return tj_index(x[0], 0, tj_subc(tj_shape_of(x[0], 0), 2));
}
static tj_var *g_take(tj_var **x)
{
    tj_array *i = ints(5, (double[]){4, 0, 0, 2, -1});
    tj_var *r = tj_take(x[0], tj_constant(ctx, i), 0);
    tj_array_unref(i);
    return r;
}
static tj_var *g_take_cols(tj_var **x)
{
    tj_array *i = tjt_array(TJ_INT32, 2, (int64_t[]){2, 2}, (double[]){2, 2, 0, 1});
    tj_var *r = tj_take(x[0], tj_constant(ctx, i), 1);
    tj_array_unref(i);
    return r;
}
static tj_var *g_set_slice(tj_var **x)
{
    return tj_set_subtensor(tj_slicei(x[0], 0, 1, 3, O), x[1]);
}
static tj_var *g_set_bcast(tj_var **x)
{
    return tj_set_subtensor(tj_slicei(x[0], 0, 1, 3, O), x[1]);
}
static tj_var *g_inc_take(tj_var **x)
{
    tj_array *i = ints(4, (double[]){0, 2, 0, -4});
    tj_var *r = tj_inc_subtensor(tj_take(x[0], tj_constant(ctx, i), 0), x[1]);
    tj_array_unref(i);
    return r;
}
static tj_var *g_set_take(tj_var **x)
{
    tj_array *i = ints(2, (double[]){1, 3});
    tj_var *r = tj_set_subtensor(tj_take(x[0], tj_constant(ctx, i), 0), x[1]);
    tj_array_unref(i);
    return r;
}
static tj_var *g_inc_index(tj_var **x) { return tj_inc_subtensor(tj_indexi(x[0], 1, 2), x[1]); }
static tj_var *g_nested(tj_var **x)
{
    /* x[1:3, 0] = v written as Theano would: set the column inside the slice, then the slice */
    tj_var *s = tj_slicei(x[0], 0, 1, 3, O);
    return tj_mul(tj_set_subtensor(s, tj_set_subtensor(tj_indexi(s, 1, 0), x[1])), x[0]);
}

Test(index, gradients)
{
    const argspec v7 = {1, {7}, {false}}, m43 = {2, {4, 3}, {false, false}};
    const argspec m53 = {2, {5, 3}, {false, false}}, m23 = {2, {2, 3}, {false, false}};
    const argspec v3 = {1, {3}, {false}}, v4 = {1, {4}, {false}}, v2 = {1, {2}, {false}};
    const argspec b13 = {2, {1, 3}, {true, false}};
    check_grad("x[::-2]", g_slice_rev, 1, &v7, 1);
    check_grad("x[n-5:n-1:2]", g_slice_sym, 1, &v7, 2);
    check_grad("x[:, 1:3]", g_slice_cols, 1, &m43, 3);
    check_grad("x[:, -1]", g_index, 1, &m43, 4);
    check_grad("x[n-2]", g_index_sym, 1, &m43, 5);
    check_grad("take with repeats", g_take, 1, &m53, 6);
    check_grad("take columns with a matrix", g_take_cols, 1, &m43, 7);
    check_grad("set_subtensor slice", g_set_slice, 2, (argspec[]){m43, m23}, 8);
    check_grad("set_subtensor broadcast value", g_set_bcast, 2, (argspec[]){m43, b13}, 9);
    check_grad("set_subtensor vector value", g_set_bcast, 2, (argspec[]){m43, v3}, 10);
    check_grad("inc_subtensor take with repeats", g_inc_take, 2, (argspec[]){m43, m43}, 11);
    check_grad("set_subtensor take", g_set_take, 2, (argspec[]){m43, {2, {2, 3}, {false, false}}},
               12);
    check_grad("inc_subtensor index", g_inc_index, 2, (argspec[]){m43, v4}, 13);
    check_grad("nested set_subtensor", g_nested, 2, (argspec[]){m43, v2}, 14);
}

/* index, take, set_subtensor and inc_subtensor on every dtype, strided and empty operands. */
Test(index, every_op_every_dtype_strided_and_empty)
{
    tj_array *ai = tjt_array(TJ_INT64, 1, (int64_t[]){3}, (double[]){3, -4, 3});
    tj_array *aj = tjt_array(TJ_INT64, 1, (int64_t[]){3}, (double[]){2, 0, -1});
    tj_var *idx = tj_constant(ctx, ai), *jdx = tj_constant(ctx, aj);
    for (int t = 0; t < NDTYPES; t++) {
        tj_dtype dt = all_dtypes[t];
        tj_var *x = tj_matrix(ctx, dt, "x"), *y = tj_matrix(ctx, dt, "y");
        tj_var *z = tj_matrix(ctx, dt, "z"), *e = tj_matrix(ctx, dt, "e");
        tj_var *outs[] = {
            tj_indexi(x, 1, 2),
            tj_take(x, idx, 0),
            tj_set_subtensor(tj_slicei(x, 0, 1, O, 2), y),
            tj_inc_subtensor(tj_take(x, idx, 0), z),
            tj_take(e, jdx, 1),
            tj_set_subtensor(tj_slicei(e, 0, O, O, O), tj_const(ctx, dt, 1)),
            tj_indexi(e, 1, 0),
            tj_inc_subtensor(tj_indexi(x, 0, -1), tj_slicei(tj_indexi(z, 0, 0), 0, O, O, -1)),
        };
        int64_t s43[2] = {4, 3}, s23[2] = {2, 3}, s33[2] = {3, 3}, s03[2] = {0, 3};
        tj_array *ax0 = vals(dt, 2, s43, 1), *ax = noncontig(ax0), *ay = vals(dt, 2, s23, 2);
        tj_array *az0 = vals(dt, 2, s33, 3), *az = noncontig(az0), *ae = vals(dt, 2, s03, 4);
        results r;
        run_both((tj_var *[]){x, y, z, e}, (tj_array *[]){ax, ay, az, ae}, 4, outs, 8, &r);
        double X[12], Y[6], Z[9], w[12];
        for (int k = 0; k < 12; k++)
            X[k] = val_of(dt, k, 1);
        for (int k = 0; k < 6; k++)
            Y[k] = val_of(dt, k, 2);
        for (int k = 0; k < 9; k++)
            Z[k] = val_of(dt, k, 3);
        char what[64];
#define CHECK(i, nd, ...)                                                                         \
    do {                                                                                          \
        snprintf(what, sizeof what, "%s output %d", tj_dtype_name(dt), i);                        \
        expect_out(&r, i, dt, nd, (int64_t[]){__VA_ARGS__}, w, 0, what);                          \
    } while (0)
        /* a + b in dt: bool is or, integers here never leave their range */
#define ADD(a, b) (dt == TJ_BOOL ? (double)((a) != 0 || (b) != 0) : (a) + (b))
        for (int i = 0; i < 4; i++)
            w[i] = X[i * 3 + 2];
        CHECK(0, 1, 4);
        for (int j = 0; j < 3; j++) {
            w[j] = w[6 + j] = X[9 + j];
            w[3 + j] = X[j];
        }
        CHECK(1, 2, 3, 3);
        memcpy(w, X, sizeof X);
        for (int j = 0; j < 3; j++) {
            w[3 + j] = Y[j];
            w[9 + j] = Y[3 + j];
        }
        CHECK(2, 2, 4, 3);
        memcpy(w, X, sizeof X); /* rows 3, 0, 3 += z rows 0, 1, 2 */
        for (int j = 0; j < 3; j++) {
            w[9 + j] = ADD(ADD(X[9 + j], Z[j]), Z[6 + j]);
            w[j] = ADD(X[j], Z[3 + j]);
        }
        CHECK(3, 2, 4, 3);
        CHECK(4, 2, 0, 3);
        CHECK(5, 2, 0, 3);
        CHECK(6, 1, 0);
        memcpy(w, X, sizeof X); /* x[-1] += z[0][::-1] */
        for (int j = 0; j < 3; j++)
            w[9 + j] = ADD(X[9 + j], Z[2 - j]);
        CHECK(7, 2, 4, 3);
#undef ADD
#undef CHECK
        results_free(&r);
        tj_array *arrs[] = {ax0, ax, ay, az0, az, ae};
        for (int k = 0; k < 6; k++)
            tj_array_unref(arrs[k]);
    }
    tj_array_unref(ai);
    tj_array_unref(aj);
}

/* DEBUG mode runs the plan (views) and the reference executor and compares every output. */
Test(index, debug_mode_agrees)
{
    tj_var *x = tj_matrix(ctx, TJ_FLOAT32, "x"), *i = tj_scalar(ctx, TJ_INT32, "i");
    tj_var *outs[] = {tj_slice(x, 1, i, NULL, lit(-1)), tj_take(x, tj_reshape(tj_arange(NULL, i,
                                                                            NULL, TJ_INT64),
                                                                  (int64_t[]){-1}, 1), 0),
                      tj_inc_subtensor(tj_indexi(x, 0, -1), tj_indexi(x, 0, 0)),
                      tj_reshape(tj_transpose(x), (int64_t[]){-1}, 1)};
    tj_function_opts o = TJ_FUNCTION_OPTS_INIT;
    o.mode = TJ_MODE_DEBUG;
    tj_fn *f = tj_function(ctx, (tj_var *[]){x, i}, 2, outs, 4, &o);
    cr_assert(f, "%s", tj_errmsg(ctx));
    tj_array *ax0 = vals(TJ_FLOAT32, 2, (int64_t[]){3, 4}, 1), *ax = noncontig(ax0);
    tj_array *ai = tj_array_scalar(TJ_INT32, 2), *res[4] = {NULL};
    cr_assert_eq(tj_call(f, (tj_array *[]){ax, ai}, res), TJ_OK, "%s", tj_errmsg(ctx));
    double w0[9], w3[12];
    for (int a = 0; a < 3; a++)
        for (int b = 0; b < 3; b++)
            w0[a * 3 + b] = val_of(TJ_FLOAT32, a * 4 + 2 - b, 1);
    for (int a = 0; a < 4; a++)
        for (int b = 0; b < 3; b++)
            w3[a * 3 + b] = val_of(TJ_FLOAT32, b * 4 + a, 1);
    expect_arr(res[0], TJ_FLOAT32, 2, (int64_t[]){3, 3}, w0, "x[:, i::-1]");
    expect_arr(res[3], TJ_FLOAT32, 1, (int64_t[]){12}, w3, "x.T.reshape(-1)");
    for (int k = 0; k < 4; k++)
        tj_array_unref(res[k]);
    tj_array_unref(ax0);
    tj_array_unref(ax);
    tj_array_unref(ai);
}

/* take walks its output in order when few elements follow the axis (lib/interp_index.c's
 * take_by_rows: one element, a block of one axis, a block of two) and slab by slab otherwise
 * (300 elements after axis 1 of the second array): every dtype's element size, a contiguous and
 * a strided, reversed x, negative and repeated indices, both executors, against the values
 * picked here by index arithmetic. */
Test(index, take_in_output_order_and_by_slabs)
{
    static const int64_t shapes[2][3] = {{6, 5, 40}, {3, 4, 300}};
    double iv[7] = {2, -1, 0, 2, 1, -2, 0};
    tj_array *idx = tjt_array(TJ_INT64, 1, (int64_t[]){7}, iv);
    for (int t = 0; t < NDTYPES; t++) {
        tj_dtype dt = all_dtypes[t];
        for (int s = 0; s < 2; s++) {
            const int64_t *shape = shapes[s];
            tj_array *dense = vals(dt, 3, shape, t + 1);
            for (int layout = 0; layout < 2; layout++) {
                tj_array *xv = layout ? noncontig(dense) : tj_array_ref(dense);
                tj_var *x = tj_tensor(ctx, dt, 3, NULL, "x"), *i = tj_vector(ctx, TJ_INT64, "i");
                tj_var *outs[3] = {tj_take(x, i, 0), tj_take(x, i, 1), tj_take(x, i, 2)};
                results res;
                run_both((tj_var *[]){x, i}, (tj_array *[]){xv, idx}, 2, outs, 3, &res);
                for (int ax = 0; ax < 3; ax++) {
                    int64_t oshape[3] = {shape[0], shape[1], shape[2]};
                    oshape[ax] = 7;
                    int64_t n = oshape[0] * oshape[1] * oshape[2];
                    double *want = malloc(sizeof *want * (size_t)n);
                    cr_assert(want);
                    for (int64_t o = 0; o < n; o++) {
                        int64_t c[3] = {o / (oshape[1] * oshape[2]), o / oshape[2] % oshape[1],
                                        o % oshape[2]};
                        int64_t k = (int64_t)iv[c[ax]];
                        c[ax] = k < 0 ? k + shape[ax] : k;
                        want[o] = val_of(dt, (c[0] * shape[1] + c[1]) * shape[2] + c[2], t + 1);
                    }
                    for (int m = 0; m < 2; m++) {
                        char what[96];
                        snprintf(what, sizeof what, "%s %s x (%lld, %lld, %lld) %s, take axis %d",
                                 m ? "FAST_COMPILE" : "FAST_RUN", tj_dtype_name(dt),
                                 (long long)shape[0], (long long)shape[1], (long long)shape[2],
                                 layout ? "strided" : "contiguous", ax);
                        expect_arr(res.r[m][ax], dt, 3, oshape, want, what);
                    }
                    free(want);
                }
                results_free(&res);
                tj_array_unref(xv);
            }
            tj_array_unref(dense);
        }
    }
    tj_array_unref(idx);
}
