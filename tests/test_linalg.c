/* Linear algebra of issue 3: numpy.dot for every rank combination, matmul with batch axes
 * (broadcast where broadcastable), outer, tensordot; float32/float64 (BLAS) and integer/bool
 * dtypes (our loop, integers wrapping); empty and non-contiguous operands; errors; gradients.
 * Expected values come from plain loops here (numpy's definitions), in double or exact int64. */
#include "shape_util.h"

TestSuite(linalg, .init = setup, .fini = teardown, .timeout = 120);

/* v in dtype dt as numpy stores it: integers wrap, bool is v != 0 */
static double as_dtype(tj_dtype dt, int64_t v)
{
    switch (dt) {
    case TJ_INT8: return (int8_t)(uint8_t)v;
    case TJ_INT16: return (int16_t)(uint16_t)v;
    case TJ_INT32: return (int32_t)(uint32_t)v;
    case TJ_UINT8: return (uint8_t)v;
    case TJ_BOOL: return v != 0;
    default: return (double)v;
    }
}

/* The dtype of a product (bool operands count in int64, as tj_dot documents). */
static tj_dtype prod_dtype(tj_dtype dt) { return dt == TJ_BOOL ? TJ_INT64 : dt; }

static double tol_of(tj_dtype dt) { return dt == TJ_FLOAT32 ? 2e-6 : dt == TJ_FLOAT64 ? 1e-13 : 0; }

/* Finishes a sum: floats as they are, integers wrapped into the result dtype. */
static double finish(tj_dtype rt, double fsum, int64_t isum)
{
    return tj_dtype_is_float(rt) ? fsum : as_dtype(rt, isum);
}

/* numpy.dot of a (na, sa) seed sa_seed and b, by its definition:
 * dot(a, b)[i..., j..., n] = sum_k a[i..., k] * b[j..., k, n]. Fills shape/ndim and returns the
 * values (malloc'd). */
static double *dot_ref(tj_dtype dt, int na, const int64_t *sa, int seeda, int nb,
                       const int64_t *sb, int seedb, int *nd, int64_t *shape)
{
    tj_dtype rt = prod_dtype(dt);
    int64_t K = sa[na - 1], I = size_of(na - 1, sa), N = nb >= 2 ? sb[nb - 1] : 1;
    int64_t J = nb >= 2 ? size_of(nb - 2, sb) : 1;
    *nd = 0;
    for (int d = 0; d < na - 1; d++)
        shape[(*nd)++] = sa[d];
    for (int d = 0; d < nb - 2; d++)
        shape[(*nd)++] = sb[d];
    if (nb >= 2)
        shape[(*nd)++] = N;
    double *w = malloc(sizeof *w * (size_t)(I * J * N + 1));
    for (int64_t i = 0; i < I; i++)
        for (int64_t j = 0; j < J; j++)
            for (int64_t n = 0; n < N; n++) {
                double fs = 0;
                int64_t is = 0;
                for (int64_t k = 0; k < K; k++) {
                    double x = val_of(dt, i * K + k, seeda),
                           y = val_of(dt, (j * K + k) * N + n, seedb);
                    fs += x * y;
                    is += (int64_t)x * (int64_t)y;
                }
                w[(i * J + j) * N + n] = finish(rt, fs, is);
            }
    return w;
}

Test(linalg, dot_every_rank_pair_and_dtype)
{
    static const int64_t sa[4][4] = {{3}, {2, 3}, {2, 2, 3}, {2, 1, 2, 3}};
    static const int64_t sb[4][4] = {{3}, {3, 4}, {2, 3, 4}, {1, 2, 3, 2}};
    static const tj_dtype dts[] = {TJ_FLOAT64, TJ_FLOAT32, TJ_INT32, TJ_INT8, TJ_UINT8, TJ_BOOL,
                                   TJ_INT64, TJ_INT16};
    for (int t = 0; t < 8; t++) {
        tj_dtype dt = dts[t];
        tj_var *in[11];
        tj_array *val[11], *base[8];
        for (int r = 0; r < 4; r++) {
            in[r] = tj_tensor(ctx, dt, r + 1, NULL, NULL);
            in[4 + r] = tj_tensor(ctx, dt, r + 1, NULL, NULL);
            base[r] = vals(dt, r + 1, sa[r], 1);
            base[4 + r] = vals(dt, r + 1, sb[r], 2);
            /* rank-3 operands arrive strided */
            val[r] = r == 2 ? noncontig(base[r]) : tj_array_ref(base[r]);
            val[4 + r] = r == 2 ? noncontig(base[4 + r]) : tj_array_ref(base[4 + r]);
        }
        in[8] = tj_matrix(ctx, dt, "empty_rows");
        in[9] = tj_matrix(ctx, dt, "k0a");
        in[10] = tj_matrix(ctx, dt, "k0b");
        val[8] = vals(dt, 2, (int64_t[]){0, 3}, 3);
        val[9] = vals(dt, 2, (int64_t[]){2, 0}, 3);
        val[10] = vals(dt, 2, (int64_t[]){0, 4}, 3);
        tj_var *outs[19];
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 4; j++)
                outs[i * 4 + j] = tj_dot(in[i], in[4 + j]);
        outs[16] = tj_dot(in[8], in[6]);
        outs[17] = tj_dot(in[9], in[10]);
        outs[18] = tj_dot(tj_const(ctx, dt, 1), in[5]);
        results r;
        run_both(in, val, 11, outs, 19, &r);
        tj_dtype rt = prod_dtype(dt);
        for (int i = 0; i < 4; i++) {
            for (int j = 0; j < 4; j++) {
                int nd;
                int64_t shape[8];
                double *w = dot_ref(dt, i + 1, sa[i], 1, j + 1, sb[j], 2, &nd, shape);
                char what[64];
                snprintf(what, sizeof what, "%s dot of ranks %d and %d", tj_dtype_name(dt), i + 1,
                         j + 1);
                expect_out(&r, i * 4 + j, rt, nd, shape, w, tol_of(dt), what);
                free(w);
            }
        }
        double zeros[8] = {0};
        expect_out(&r, 16, rt, 3, (int64_t[]){0, 2, 4}, zeros, 0, "dot with no rows");
        expect_out(&r, 17, rt, 2, (int64_t[]){2, 4}, zeros, 0, "dot over an empty axis");
        double *w18 = malloc(sizeof *w18 * 12);
        for (int k = 0; k < 12; k++)
            w18[k] = val_of(dt, k, 2);
        expect_out(&r, 18, dt == TJ_BOOL ? TJ_BOOL : dt, 2, (int64_t[]){3, 4}, w18, 0,
                   "dot with a scalar multiplies");
        free(w18);
        results_free(&r);
        for (int k = 0; k < 11; k++)
            tj_array_unref(val[k]);
        for (int k = 0; k < 8; k++)
            tj_array_unref(base[k]);
    }
}

/* numpy.matmul with batch broadcasting, for operands given as (rank, shape, seed); a vector
 * operand is promoted as numpy does (the test passes it already promoted: vec_a / vec_b say
 * which axis to drop from the result). */
static double *matmul_ref(tj_dtype dt, int r, const int64_t *sa, int seeda, const int64_t *sb,
                          int seedb, int64_t *shape)
{
    tj_dtype rt = prod_dtype(dt);
    int64_t M = sa[r - 2], K = sa[r - 1], N = sb[r - 1];
    for (int d = 0; d < r - 2; d++)
        shape[d] = sa[d] > sb[d] ? sa[d] : sb[d];
    shape[r - 2] = M;
    shape[r - 1] = N;
    int64_t B = size_of(r - 2, shape), idx[8];
    double *w = malloc(sizeof *w * (size_t)(B * M * N + 1));
    for (int64_t bi = 0; bi < B; bi++) {
        int64_t rem = bi, fa = 0, fb = 0, ma = 1, mb = 1;
        for (int d = r - 3; d >= 0; d--) {
            idx[d] = rem % shape[d];
            rem /= shape[d];
        }
        for (int d = r - 3; d >= 0; d--) { /* flat batch offset of each operand (1 = broadcast) */
            fa += (sa[d] == 1 ? 0 : idx[d]) * ma;
            fb += (sb[d] == 1 ? 0 : idx[d]) * mb;
            ma *= sa[d];
            mb *= sb[d];
        }
        for (int64_t m = 0; m < M; m++)
            for (int64_t n = 0; n < N; n++) {
                double fs = 0;
                int64_t is = 0;
                for (int64_t k = 0; k < K; k++) {
                    double x = val_of(dt, (fa * M + m) * K + k, seeda);
                    double y = val_of(dt, (fb * K + k) * N + n, seedb);
                    fs += x * y;
                    is += (int64_t)x * (int64_t)y;
                }
                w[(bi * M + m) * N + n] = finish(rt, fs, is);
            }
    }
    return w;
}

Test(linalg, matmul_batches_and_broadcasting)
{
    static const tj_dtype dts[] = {TJ_FLOAT64, TJ_FLOAT32, TJ_INT32, TJ_INT8};
    for (int t = 0; t < 4; t++) {
        tj_dtype dt = dts[t];
        tj_var *a = tj_tensor(ctx, dt, 3, NULL, "a"), *b = tj_tensor(ctx, dt, 3, NULL, "b");
        tj_var *a2 = tj_matrix(ctx, dt, "a2"), *v = tj_vector(ctx, dt, "v");
        tj_var *ab = tj_tensor(ctx, dt, 3, (bool[]){true, false, false}, "ab");
        tj_var *a4 = tj_tensor(ctx, dt, 4, (bool[]){false, true, false, false}, "a4");
        tj_var *e1 = tj_tensor(ctx, dt, 3, NULL, "e1"), *e2 = tj_tensor(ctx, dt, 3, NULL, "e2");
        tj_var *an = tj_tensor(ctx, dt, 3, NULL, "an");
        tj_var *outs[] = {tj_matmul(a, b),  tj_matmul(a2, b), tj_matmul(ab, b), tj_matmul(v, b),
                          tj_matmul(a, v),  tj_matmul(a4, b), tj_matmul(e1, e2),
                          tj_matmul(a2, tj_transpose(a2)), tj_matmul(an, b)};
        cr_expect(tj_var_broadcastable(outs[2], 0) == false, "broadcast batch takes b's length");
        int64_t sA[3] = {2, 3, 4}, sB[3] = {2, 4, 5}, sA2[2] = {3, 4}, sAb[3] = {1, 3, 4};
        int64_t sA4[4] = {2, 1, 3, 4};
        tj_array *aa0 = vals(dt, 3, sA, 1), *aa = noncontig(aa0), *abv = vals(dt, 3, sB, 2);
        tj_array *aa2 = vals(dt, 2, sA2, 3), *av = vals(dt, 1, (int64_t[]){4}, 4);
        tj_array *aab = vals(dt, 3, sAb, 5), *aa4 = vals(dt, 4, sA4, 6);
        tj_array *ae1 = vals(dt, 3, (int64_t[]){0, 3, 4}, 7),
                 *ae2 = vals(dt, 3, (int64_t[]){0, 4, 5}, 8);
        results r;
        run_both((tj_var *[]){a, b, a2, v, ab, a4, e1, e2, an},
                 (tj_array *[]){aa0, abv, aa2, av, aab, aa4, ae1, ae2, aa}, 9, outs, 9, &r);
        tj_dtype rt = prod_dtype(dt);
        double tol = tol_of(dt);
        int64_t shape[8];
        double *w = matmul_ref(dt, 3, sA, 1, sB, 2, shape);
        expect_out(&r, 0, rt, 3, shape, w, tol, "a @ b");
        expect_out(&r, 8, rt, 3, shape, w, tol, "a @ b, a strided");
        free(w);
        w = matmul_ref(dt, 3, (int64_t[]){1, 3, 4}, 3, sB, 2, shape);
        expect_out(&r, 1, rt, 3, shape, w, tol, "matrix @ batch");
        free(w);
        w = matmul_ref(dt, 3, sAb, 5, sB, 2, shape);
        expect_out(&r, 2, rt, 3, shape, w, tol, "broadcast batch @ batch");
        free(w);
        w = matmul_ref(dt, 3, (int64_t[]){1, 1, 4}, 4, sB, 2, shape);
        expect_out(&r, 3, rt, 2, (int64_t[]){2, 5}, w, tol, "vector @ batch");
        free(w);
        w = matmul_ref(dt, 3, sA, 1, (int64_t[]){1, 4, 1}, 4, shape);
        expect_out(&r, 4, rt, 2, (int64_t[]){2, 3}, w, tol, "batch @ vector");
        free(w);
        w = matmul_ref(dt, 4, sA4, 6, (int64_t[]){1, 2, 4, 5}, 2, shape);
        expect_out(&r, 5, rt, 4, shape, w, tol, "4-d broadcasting both ways");
        free(w);
        expect_out(&r, 6, rt, 3, (int64_t[]){0, 3, 5}, NULL, 0, "empty batch");
        double w7[9];
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 3; j++) {
                double fs = 0;
                int64_t is = 0;
                for (int k = 0; k < 4; k++) {
                    double x = val_of(dt, i * 4 + k, 3), y = val_of(dt, j * 4 + k, 3);
                    fs += x * y;
                    is += (int64_t)x * (int64_t)y;
                }
                w7[i * 3 + j] = finish(rt, fs, is);
            }
        expect_out(&r, 7, rt, 2, (int64_t[]){3, 3}, w7, tol, "a2 @ a2.T");
        results_free(&r);
        tj_array *arrs[] = {aa0, aa, abv, aa2, av, aab, aa4, ae1, ae2};
        for (int k = 0; k < 9; k++)
            tj_array_unref(arrs[k]);
    }
}

Test(linalg, matmul_and_dot_errors)
{
    tj_var *a = tj_tensor(ctx, TJ_FLOAT64, 3, NULL, "a"),
           *b = tj_tensor(ctx, TJ_FLOAT64, 3, NULL, "b");
    tj_array *aa = vals(TJ_FLOAT64, 3, (int64_t[]){2, 3, 4}, 1);
    tj_array *ab = vals(TJ_FLOAT64, 3, (int64_t[]){3, 4, 5}, 2);
    tj_array *ak = vals(TJ_FLOAT64, 3, (int64_t[]){2, 5, 5}, 2);
    run_fails((tj_var *[]){a, b}, (tj_array *[]){aa, ab}, 2, tj_matmul(a, b), TJ_ERR_SHAPE,
              "batch axis 0 has length 2 in the left operand and 3 in the right");
    run_fails((tj_var *[]){a, b}, (tj_array *[]){aa, ak}, 2, tj_matmul(a, b), TJ_ERR_SHAPE,
              "the inner dimensions differ: 4 (the last axis of the left operand) vs 5");
    run_fails((tj_var *[]){a, b}, (tj_array *[]){aa, ak}, 2, tj_dot(a, b), TJ_ERR_SHAPE,
              "the inner dimensions differ: 4");
    built_fails(tj_matmul(a, tj_scalar(ctx, TJ_FLOAT64, "s")), TJ_ERR_TYPE,
                "does not take 0-d operands");
    built_fails(tj_tensordot(a, b, (int[]){3}, (int[]){0}, 1), TJ_ERR_VALUE,
                "axes_a[0] = 3 is out of range");
    built_fails(tj_tensordot(a, b, (int[]){0, 0}, (int[]){0, 1}, 2), TJ_ERR_VALUE, "repeated");
    built_fails(tj_tensordot(a, b, NULL, NULL, 4), TJ_ERR_VALUE, "cannot sum over 4 axes");
    tj_array_unref(aa);
    tj_array_unref(ab);
    tj_array_unref(ak);
}

/* ---- outer, tensordot ------------------------------------------------------------------------ */

/* numpy.tensordot by its definition: out[free_a..., free_b...] = sum over the paired axes */
static double *tensordot_ref(tj_dtype dt, int na, const int64_t *sa, int seeda, int nb,
                             const int64_t *sb, int seedb, const int *axa, const int *axb, int n,
                             int *nd, int64_t *shape)
{
    int fa[8], fb[8], nfa = 0, nfb = 0;
    for (int d = 0; d < na; d++) {
        bool s = false;
        for (int k = 0; k < n; k++)
            s = s || axa[k] == d;
        if (!s)
            fa[nfa++] = d;
    }
    for (int d = 0; d < nb; d++) {
        bool s = false;
        for (int k = 0; k < n; k++)
            s = s || axb[k] == d;
        if (!s)
            fb[nfb++] = d;
    }
    *nd = nfa + nfb;
    for (int k = 0; k < nfa; k++)
        shape[k] = sa[fa[k]];
    for (int k = 0; k < nfb; k++)
        shape[nfa + k] = sb[fb[k]];
    int64_t total = size_of(*nd, shape), S = 1, ks[8];
    for (int k = 0; k < n; k++) {
        ks[k] = sa[axa[k]];
        S *= ks[k];
    }
    double *w = malloc(sizeof *w * (size_t)(total + 1));
    for (int64_t o = 0; o < total; o++) {
        int64_t ia[8] = {0}, ib[8] = {0}, rem = o;
        for (int k = *nd - 1; k >= 0; k--) {
            int64_t v = rem % shape[k];
            rem /= shape[k];
            if (k < nfa)
                ia[fa[k]] = v;
            else
                ib[fb[k - nfa]] = v;
        }
        double fs = 0;
        int64_t is = 0;
        for (int64_t s = 0; s < S; s++) {
            int64_t r2 = s;
            for (int k = n - 1; k >= 0; k--) {
                ia[axa[k]] = ib[axb[k]] = r2 % ks[k];
                r2 /= ks[k];
            }
            int64_t fla = 0, flb = 0;
            for (int d = 0; d < na; d++)
                fla = fla * sa[d] + ia[d];
            for (int d = 0; d < nb; d++)
                flb = flb * sb[d] + ib[d];
            double x = val_of(dt, fla, seeda), y = val_of(dt, flb, seedb);
            fs += x * y;
            is += (int64_t)x * (int64_t)y;
        }
        w[o] = finish(prod_dtype(dt), fs, is);
    }
    return w;
}

Test(linalg, outer_and_tensordot)
{
    tj_var *p = tj_vector(ctx, TJ_FLOAT64, "p"), *q = tj_vector(ctx, TJ_FLOAT64, "q");
    tj_var *m = tj_matrix(ctx, TJ_INT16, "m"), *u = tj_vector(ctx, TJ_INT16, "u");
    tj_var *a = tj_tensor(ctx, TJ_FLOAT64, 3, NULL, "a"),
           *b = tj_tensor(ctx, TJ_FLOAT64, 3, NULL, "b");
    tj_var *c = tj_matrix(ctx, TJ_INT32, "c"), *d = tj_matrix(ctx, TJ_INT32, "d");
    tj_var *e = tj_tensor(ctx, TJ_FLOAT64, 3, NULL, "e");
    tj_var *outs[] = {
        tj_outer(p, q),
        tj_outer(m, u),
        tj_tensordot(a, b, (int[]){1, 0}, (int[]){0, 1}, 2),
        tj_tensordot(c, d, NULL, NULL, 1),
        tj_tensordot(c, d, NULL, NULL, 0),
        tj_tensordot(a, e, NULL, NULL, 2),
        tj_tensordot(c, c, (int[]){-2, -1}, (int[]){0, 1}, 2),
        tj_tensordot(a, b, (int[]){-1}, (int[]){-1}, 1),
    };
    int64_t sp[1] = {3}, sq[1] = {4}, sm[2] = {2, 2}, su[1] = {3}, sa[3] = {3, 4, 5};
    int64_t sb[3] = {4, 3, 5}, sc[2] = {2, 3}, sd[2] = {3, 4}, se[3] = {4, 5, 2};
    tj_array *ap = vals(TJ_FLOAT64, 1, sp, 1), *aq = vals(TJ_FLOAT64, 1, sq, 2);
    tj_array *am = vals(TJ_INT16, 2, sm, 3), *au = vals(TJ_INT16, 1, su, 4);
    tj_array *aa0 = vals(TJ_FLOAT64, 3, sa, 5), *aa = noncontig(aa0),
             *ab = vals(TJ_FLOAT64, 3, sb, 6);
    tj_array *ac = vals(TJ_INT32, 2, sc, 7), *ad = vals(TJ_INT32, 2, sd, 8);
    tj_array *ae = vals(TJ_FLOAT64, 3, se, 9);
    results r;
    run_both((tj_var *[]){p, q, m, u, a, b, c, d, e},
             (tj_array *[]){ap, aq, am, au, aa, ab, ac, ad, ae}, 9, outs, 8, &r);
    double w0[12], w1[12];
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 4; j++)
            w0[i * 4 + j] = val_of(TJ_FLOAT64, i, 1) * val_of(TJ_FLOAT64, j, 2);
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 3; j++)
            w1[i * 3 + j] = val_of(TJ_INT16, i, 3) * val_of(TJ_INT16, j, 4);
    expect_out(&r, 0, TJ_FLOAT64, 2, (int64_t[]){3, 4}, w0, 0, "outer");
    expect_out(&r, 1, TJ_INT16, 2, (int64_t[]){4, 3}, w1, 0, "outer flattens");
    struct {
        int out, na, nb, n, seeda, seedb;
        const int64_t *sa, *sb;
        int axa[3], axb[3];
        tj_dtype dt;
    } td[] = {
        {2, 3, 3, 2, 5, 6, sa, sb, {1, 0}, {0, 1}, TJ_FLOAT64},
        {3, 2, 2, 1, 7, 8, sc, sd, {1}, {0}, TJ_INT32},
        {4, 2, 2, 0, 7, 8, sc, sd, {0}, {0}, TJ_INT32},
        {5, 3, 3, 2, 5, 9, sa, se, {1, 2}, {0, 1}, TJ_FLOAT64},
        {6, 2, 2, 2, 7, 7, sc, sc, {0, 1}, {0, 1}, TJ_INT32},
        {7, 3, 3, 1, 5, 6, sa, sb, {2}, {2}, TJ_FLOAT64},
    };
    for (int k = 0; k < 6; k++) {
        int nd;
        int64_t shape[8];
        double *w = tensordot_ref(td[k].dt, td[k].na, td[k].sa, td[k].seeda, td[k].nb, td[k].sb,
                                  td[k].seedb, td[k].axa, td[k].axb, td[k].n, &nd, shape);
        char what[48];
        snprintf(what, sizeof what, "tensordot case %d", k);
        expect_out(&r, td[k].out, td[k].dt, nd, shape, w, 1e-13, what);
        free(w);
    }
    results_free(&r);
    tj_array *arrs[] = {ap, aq, am, au, aa0, aa, ab, ac, ad, ae};
    for (int k = 0; k < 10; k++)
        tj_array_unref(arrs[k]);
}

/* float32 through BLAS: a batch folded into one gemm, transposed (strided) operands passed as
 * BLAS flags; compared with double sums. */
Test(linalg, float32_blas_paths)
{
    tj_var *a = tj_tensor(ctx, TJ_FLOAT32, 3, NULL, "a"), *b = tj_matrix(ctx, TJ_FLOAT32, "b");
    tj_var *outs[] = {
        tj_dot(a, b), tj_dot(a, tj_transpose(tj_transpose(b))),
        tj_matmul(tj_permute(a, (int[]){0, 2, 1}, 3), tj_dimshuffle(b, (int[]){-1, 0, 1}, 3))};
    int64_t sa[3] = {4, 5, 6}, sb[2] = {6, 3};
    tj_array *aa = vals(TJ_FLOAT32, 3, sa, 1), *ab0 = vals(TJ_FLOAT32, 2, sb, 2);
    tj_array *ab = noncontig(ab0);
    results r;
    run_both((tj_var *[]){a, b}, (tj_array *[]){aa, ab}, 2, outs, 2, &r);
    int nd;
    int64_t shape[4];
    double *w = dot_ref(TJ_FLOAT32, 3, sa, 1, 2, sb, 2, &nd, shape);
    expect_out(&r, 0, TJ_FLOAT32, nd, shape, w, 2e-6, "(4,5,6) . (6,3)");
    expect_out(&r, 1, TJ_FLOAT32, nd, shape, w, 2e-6, "(4,5,6) . b.T.T");
    free(w);
    results_free(&r);
    /* (4,6,5) @ (1,6,3): the inner lengths 5 and 6 differ */
    run_fails((tj_var *[]){a, b}, (tj_array *[]){aa, ab}, 2, outs[2], TJ_ERR_SHAPE,
              "the inner dimensions differ: 5");
    tj_array_unref(aa);
    tj_array_unref(ab0);
    tj_array_unref(ab);
}

/* Integer products by our loop over rows long enough for its vectorized part (37 columns: vectors
 * and a tail), contiguous and strided (b's inner axis reversed and strided), with sums past int8's
 * and uint8's range; then int16 and int32 products that wrap, written out: 300 * 300 * 2 =
 * 180000 = 2 * 65536 + 48928, int16 -16608; 70000 * 70000 * 2 = 9.8e9 = 2 * 2^32 + 1210065408. */
Test(linalg, integer_dot_over_long_rows_wraps)
{
    static const tj_dtype dts[] = {TJ_INT8, TJ_INT16, TJ_INT32, TJ_INT64, TJ_UINT8, TJ_BOOL};
    int64_t sa[2] = {5, 29}, sb[2] = {29, 37};
    for (int t = 0; t < 6; t++) {
        tj_dtype dt = dts[t];
        tj_var *a = tj_matrix(ctx, dt, "a"), *b = tj_matrix(ctx, dt, "b");
        tj_array *va = vals(dt, 2, sa, 1), *vb = vals(dt, 2, sb, 2), *vs = noncontig(vb);
        tj_var *outs[1] = {tj_dot(a, b)};
        int nd;
        int64_t shape[4];
        double *w = dot_ref(dt, 2, sa, 1, 2, sb, 2, &nd, shape);
        char what[64];
        for (int strided = 0; strided < 2; strided++) {
            results r;
            run_both((tj_var *[]){a, b}, (tj_array *[]){va, strided ? vs : vb}, 2, outs, 1, &r);
            snprintf(what, sizeof what, "%s (5,29) . %s(29,37)", tj_dtype_name(dt),
                     strided ? "strided " : "");
            expect_out(&r, 0, prod_dtype(dt), nd, shape, w, 0, what);
            results_free(&r);
        }
        free(w);
        tj_array_unref(va);
        tj_array_unref(vb);
        tj_array_unref(vs);
    }
    static const struct {
        tj_dtype dt;
        double x, want;
    } wraps[] = {{TJ_INT16, 300, -16608}, {TJ_INT32, 70000, 1210065408}};
    for (int t = 0; t < 2; t++) {
        tj_var *a = tj_matrix(ctx, wraps[t].dt, "a"), *b = tj_matrix(ctx, wraps[t].dt, "b");
        double x = wraps[t].x;
        tj_array *va = tjt_array(wraps[t].dt, 2, (int64_t[]){1, 2}, (double[]){x, x});
        tj_array *vb = tjt_array(wraps[t].dt, 2, (int64_t[]){2, 1}, (double[]){x, x});
        results r;
        run_both((tj_var *[]){a, b}, (tj_array *[]){va, vb}, 2, (tj_var *[]){tj_dot(a, b)}, 1,
                 &r);
        expect_out(&r, 0, wraps[t].dt, 2, (int64_t[]){1, 1}, &wraps[t].want, 0,
                   tj_dtype_name(wraps[t].dt));
        results_free(&r);
        tj_array_unref(va);
        tj_array_unref(vb);
    }
}

/* A runtime scale of 0 that the optimizer folds into gemv, gemm or ger (their alpha, or the beta
 * of the added term) keeps numpy's 0 * inf = NaN. BLAS reads nothing a 0 multiplies (fuzz finding
 * 15). Expected values from the definition: A = [[inf, 1], [2, 3]], v = [1, 2],
 * B = [[1, 2], [3, 4]], u = [inf, 1], s = 0. */
Test(linalg, a_zero_scale_folded_into_blas_keeps_nan)
{
    tj_var *A = tj_matrix(ctx, TJ_FLOAT64, "A"), *B = tj_matrix(ctx, TJ_FLOAT64, "B");
    tj_var *v = tj_vector(ctx, TJ_FLOAT64, "v"), *u = tj_vector(ctx, TJ_FLOAT64, "u");
    tj_var *s = tj_scalar(ctx, TJ_FLOAT64, "s");
    tj_var *outs[] = {tj_dot(A, tj_mul(v, s)), tj_dot(A, tj_mul(B, s)),
                      tj_add(B, tj_mul(tj_outer(u, v), s)), tj_add(tj_mul(u, s), tj_dot(A, v)),
                      tj_add(tj_mul(A, s), tj_dot(B, B))};
    const char *blas[] = {"gemv{", "gemm{", "ger{", "gemv{", "gemm{"};
    tj_array *vals_in[] = {
        tjt_array(TJ_FLOAT64, 2, (int64_t[]){2, 2}, (double[]){INFINITY, 1, 2, 3}),
        tjt_array(TJ_FLOAT64, 2, (int64_t[]){2, 2}, (double[]){1, 2, 3, 4}),
        tjt_array(TJ_FLOAT64, 1, (int64_t[]){2}, (double[]){1, 2}),
        tjt_array(TJ_FLOAT64, 1, (int64_t[]){2}, (double[]){INFINITY, 1}),
        tj_array_scalar(TJ_FLOAT64, 0)};
    /* NaN marks where a 0 met an inf; elsewhere 0, the added term, or the product (A v = [inf,
     * 8], B B = [[7, 10], [15, 22]]) */
    const double want[5][4] = {
        {NAN, 0}, {NAN, NAN, 0, 0}, {NAN, NAN, 3, 4}, {NAN, 8}, {NAN, 10, 15, 22}};
    for (int mode = TJ_MODE_FAST_RUN; mode <= TJ_MODE_FAST_COMPILE; mode++)
        for (int k = 0; k < 5; k++) {
            tj_function_opts o = TJ_FUNCTION_OPTS_INIT;
            o.mode = (tj_mode)mode;
            o.on_unused_input = TJ_UNUSED_IGNORE;
            tj_fn *f = tj_function(ctx, (tj_var *[]){A, B, v, u, s}, 5, &outs[k], 1, &o);
            cr_assert(f, "%s", tj_errmsg(ctx));
            char *graph = tj_fn_graph(f);
            if (mode == TJ_MODE_FAST_RUN)
                cr_expect(graph && strstr(graph, blas[k]), "no %s in:\n%s", blas[k], graph);
            free(graph);
            tj_array *out;
            cr_assert_eq(tj_call(f, vals_in, &out), TJ_OK, "%s", tj_errmsg(ctx));
            for (int64_t i = 0; i < tj_array_size(out); i++) {
                double g = tjt_at(out, i), w = want[k][i];
                cr_expect(isnan(w) ? isnan(g) : g == w, "output %d (mode %d) element %lld: %g, "
                          "want %g", k, mode, (long long)i, g, w);
            }
            tj_array_unref(out);
            tj_fn_free(f);
        }
    for (int i = 0; i < 5; i++)
        tj_array_unref(vals_in[i]);
}

/* ---- gradients ------------------------------------------------------------------------------- */

static tj_var *g_dot(tj_var **x) { return tj_dot(x[0], x[1]); }
static tj_var *g_matmul(tj_var **x) { return tj_matmul(x[0], x[1]); }
static tj_var *g_outer(tj_var **x) { return tj_outer(x[0], x[1]); }
static tj_var *g_td(tj_var **x)
{
    return tj_tensordot(x[0], x[1], (int[]){1, 0}, (int[]){0, 1}, 2);
}
static tj_var *g_td1(tj_var **x) { return tj_tensordot(x[0], x[1], (int[]){0}, (int[]){2}, 1); }

Test(linalg, gradients)
{
    const argspec t223 = {3, {2, 2, 3}, {false, false, false}}, m34 = {2, {3, 4}, {false, false}};
    const argspec m23 = {2, {2, 3}, {false, false}}, t234 = {3, {2, 3, 4}, {false, false, false}};
    const argspec v3 = {1, {3}, {false}}, v4 = {1, {4}, {false}};
    const argspec b134 = {3, {1, 3, 4}, {true, false, false}},
                  t242 = {3, {2, 4, 2}, {false, false, false}};
    const argspec m22 = {2, {2, 2}, {false, false}}, t342 = {3, {3, 4, 2}, {false, false, false}};
    const argspec t432 = {3, {4, 3, 2}, {false, false, false}},
                  t253 = {3, {2, 5, 3}, {false, false, false}};
    check_grad("dot 3-d . 2-d", g_dot, 2, (argspec[]){t223, m34}, 1);
    check_grad("dot 2-d . 3-d", g_dot, 2, (argspec[]){m23, t234}, 2);
    check_grad("dot 1-d . 3-d", g_dot, 2, (argspec[]){v3, t234}, 3);
    check_grad("dot 3-d . 1-d", g_dot, 2, (argspec[]){t234, v4}, 4);
    check_grad("dot 3-d . 3-d", g_dot, 2, (argspec[]){t223, t234}, 5);
    check_grad("matmul broadcast batch", g_matmul, 2, (argspec[]){b134, t242}, 6);
    check_grad("matmul batch . vector", g_matmul, 2, (argspec[]){t234, v4}, 7);
    check_grad("matmul matrix . batch", g_matmul, 2, (argspec[]){m34, t242}, 8);
    check_grad("outer", g_outer, 2, (argspec[]){v3, m22}, 9);
    check_grad("tensordot two axes", g_td, 2, (argspec[]){t342, t432}, 10);
    check_grad("tensordot one axis", g_td1, 2, (argspec[]){t253, t432}, 11);
}
