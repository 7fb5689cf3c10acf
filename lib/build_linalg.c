/* Public builders for linear algebra (issue 3): numpy.dot for any ranks, matmul with batch
 * axes, outer, tensordot. Everything becomes a DOT node (ranks 1 and 2, which the optimizer
 * turns into gemm/gemv) or a MATMUL node (a batch of matrix products), with dimshuffles and
 * reshapes around them that the compiled plan makes as views: no transpose is materialized. */
#include "internal.h"

static bool live2(tj_var *a, tj_var *b, const char *fn)
{
    if (!tjG_live(a, fn) || !tjG_live(b, fn))
        return false;
    if (a->ctx != b->ctx) {
        tjC_error(a->ctx, TJ_ERR_INVALID, "%s: the operands belong to different contexts", fn);
        return false;
    }
    return true;
}

/* Both operands in their common dtype (bool products count: int64, as the existing dot). */
static bool unify(tj_var **a, tj_var **b)
{
    tj_dtype t = tjA_promote((*a)->dtype, (*b)->dtype);
    if (t == TJ_BOOL)
        t = TJ_INT64;
    *a = tj_cast(*a, t);
    *b = tj_cast(*b, t);
    return *a && *b;
}

/* The DOT node of two operands of ranks 1/2 and one dtype. */
static tj_var *dot12(tj_var *a, tj_var *b)
{
    int ndim = 0;
    uint32_t bcast = 0;
    if (a->ndim == 2)
        bcast |= (a->bcast & 1u) << ndim++;
    if (b->ndim == 2)
        bcast |= ((b->bcast >> 1) & 1u) << ndim++;
    tj_var *in[2] = {a, b};
    return tjG_make(a->ctx, TJ_OP_DOT, a->dtype, ndim, bcast, in, 2, NULL, 0, NULL);
}

tj_var *tjG_matmul(tj_var *a, tj_var *b)
{
    if (!a || !b)
        return NULL;
    int r = a->ndim;
    uint32_t batch = r > 2 ? (1u << (r - 2)) - 1 : 0;
    uint32_t bcast = (a->bcast & b->bcast & batch) | (a->bcast & (1u << (r - 2))) |
                     (b->bcast & (1u << (r - 1)));
    tj_var *in[2] = {a, b};
    return tjG_make(a->ctx, TJ_OP_MATMUL, a->dtype, r, bcast, in, 2, NULL, 0, NULL);
}

static bool rank_ok(tj_var *a, int r, const char *fn)
{
    if (r <= TJ_MAX_NDIM)
        return true;
    tjC_error(a->ctx, TJ_ERR_VALUE, "%s: the product would need %d dimensions (at most %d)", fn,
              r, TJ_MAX_NDIM);
    return false;
}

/* numpy.dot of ranks beyond 2, as one batched product: a (I..., M, K) and b (J..., K, N) become
 * a' (I..., 1 x |J|, M, K) and b' (1 x |I|, J..., K, N); the product (I..., J..., M, N) is shown
 * as (I..., M, J..., N). A vector operand lends a new length-1 M or N axis, dropped at the end. */
static tj_var *dot_nd(tj_var *a, tj_var *b)
{
    int na = a->ndim, nb = b->ndim;
    int ia = na > 2 ? na - 2 : 0, jb = nb > 2 ? nb - 2 : 0, r = ia + jb + 2;
    if (!rank_ok(a, r, "tj_dot"))
        return NULL;
    int pa[TJ_MAX_NDIM], pb[TJ_MAX_NDIM], pc[TJ_MAX_NDIM];
    for (int d = 0; d < r; d++) {
        pa[d] = d < ia ? d : -1;
        pb[d] = d >= ia && d < ia + jb ? d - ia : -1;
    }
    pa[r - 2] = na >= 2 ? na - 2 : -1;
    pa[r - 1] = na - 1;
    pb[r - 2] = nb >= 2 ? nb - 2 : 0;
    pb[r - 1] = nb >= 2 ? nb - 1 : -1;
    tj_var *c = tjG_matmul(tj_dimshuffle(a, pa, r), tj_dimshuffle(b, pb, r));
    int n = 0;
    for (int d = 0; d < ia; d++)
        pc[n++] = d;
    if (na >= 2)
        pc[n++] = r - 2;
    for (int d = 0; d < jb; d++)
        pc[n++] = ia + d;
    if (nb >= 2)
        pc[n++] = r - 1;
    return tj_dimshuffle(c, pc, n);
}

tj_var *tj_dot(tj_var *a, tj_var *b)
{
    if (!live2(a, b, "tj_dot"))
        return NULL;
    if (a->ndim == 0 || b->ndim == 0)
        return tj_mul(a, b); /* numpy.dot with a scalar */
    if (!unify(&a, &b))
        return NULL;
    if (a->ndim <= 2 && b->ndim <= 2)
        return dot12(a, b);
    return dot_nd(a, b);
}

tj_var *tj_matmul(tj_var *a, tj_var *b)
{
    char b1[160], b2[160];
    if (!live2(a, b, "tj_matmul"))
        return NULL;
    if (a->ndim == 0 || b->ndim == 0) {
        tjC_error(a->ctx, TJ_ERR_TYPE, "tj_matmul: %s and %s have ranks %d and %d; matmul does "
                  "not take 0-d operands (use tj_mul)", tjG_describe(a, b1, sizeof b1),
                  tjG_describe(b, b2, sizeof b2), a->ndim, b->ndim);
        return NULL;
    }
    if (!unify(&a, &b))
        return NULL;
    if (a->ndim <= 2 && b->ndim <= 2)
        return dot12(a, b); /* numpy.matmul and numpy.dot agree here */
    int na = a->ndim < 2 ? 2 : a->ndim, nb = b->ndim < 2 ? 2 : b->ndim;
    int r = na > nb ? na : nb;
    int pa[TJ_MAX_NDIM], pb[TJ_MAX_NDIM];
    /* a vector a is a row (1, K), a vector b a column (K, 1); then leading broadcastable axes */
    for (int d = 0; d < r; d++) {
        int ja = d - (r - a->ndim), jb = d - (r - b->ndim);
        pa[d] = ja >= 0 ? ja : -1;
        pb[d] = jb >= 0 ? jb : -1;
    }
    if (a->ndim == 1) {
        pa[r - 2] = -1;
        pa[r - 1] = 0;
    }
    if (b->ndim == 1) {
        pb[r - 2] = 0;
        pb[r - 1] = -1;
    }
    tj_var *c = tjG_matmul(tj_dimshuffle(a, pa, r), tj_dimshuffle(b, pb, r));
    int pc[TJ_MAX_NDIM], n = 0;
    for (int d = 0; d < r; d++)
        if (!(d == r - 2 && a->ndim == 1) && !(d == r - 1 && b->ndim == 1))
            pc[n++] = d;
    return n == r ? c : tj_dimshuffle(c, pc, n);
}

tj_var *tj_outer(tj_var *a, tj_var *b)
{
    static const int col[2] = {0, -1}, row[2] = {-1, 0};
    if (!live2(a, b, "tj_outer"))
        return NULL;
    if (!unify(&a, &b))
        return NULL;
    tj_var *fa = tj_flatten(a, 1), *fb = tj_flatten(b, 1);
    if (!fa || !fb)
        return NULL;
    return dot12(tj_dimshuffle(fa, col, 2), tj_dimshuffle(fb, row, 2));
}

/* The product of x's lengths on the listed axes, as an int64 scalar (1 when none). */
static tj_var *size_of_axes(tj_var *x, const int *axes, int n)
{
    tj_var *p = NULL;
    for (int i = 0; i < n; i++) {
        if ((x->bcast >> axes[i]) & 1)
            continue;
        tj_var *len = tj_shape_of(x, axes[i]);
        p = p ? tj_mul(p, len) : len;
    }
    return p ? p : tj_const(x->ctx, TJ_INT64, 1);
}

/* Normalizes n summed axes of x into ax[] and lists the others, in order, in freeax[]. */
static bool split_axes(tj_var *x, const int *axes, int n, const char *which, int *ax,
                       int *freeax, int *nfree)
{
    char buf[160];
    uint32_t seen = 0;
    for (int k = 0; k < n; k++) {
        int v = axes[k] < 0 ? axes[k] + x->ndim : axes[k];
        if (v < 0 || v >= x->ndim || ((seen >> v) & 1)) {
            tjC_error(x->ctx, TJ_ERR_VALUE, "tj_tensordot: %s[%d] = %d is out of range or "
                      "repeated for %s (ndim %d)", which, k, axes[k],
                      tjG_describe(x, buf, sizeof buf), x->ndim);
            return false;
        }
        seen |= 1u << v;
        ax[k] = v;
    }
    *nfree = 0;
    for (int d = 0; d < x->ndim; d++)
        if (!((seen >> d) & 1))
            freeax[(*nfree)++] = d;
    return true;
}

tj_var *tj_tensordot(tj_var *a, tj_var *b, const int *axes_a, const int *axes_b, int n)
{
    char b1[160], b2[160];
    if (!live2(a, b, "tj_tensordot"))
        return NULL;
    int defa[TJ_MAX_NDIM], defb[TJ_MAX_NDIM];
    bool integer_form = !axes_a && !axes_b;
    if (n < 0 || n > a->ndim || n > b->ndim || (!integer_form && (!axes_a || !axes_b))) {
        tjC_error(
            a->ctx, TJ_ERR_VALUE,
            "tj_tensordot: cannot sum over %d axes of %s and %s "
            "(ranks %d and %d%s)",
            n, tjG_describe(a, b1, sizeof b1), tjG_describe(b, b2, sizeof b2), a->ndim, b->ndim,
            integer_form || n < 0 ? "" : "; axes_a and axes_b must both be given or both NULL");
        return NULL;
    }
    if (integer_form) {
        for (int k = 0; k < n; k++) {
            defa[k] = a->ndim - n + k;
            defb[k] = k;
        }
        axes_a = defa;
        axes_b = defb;
    }
    if (!unify(&a, &b))
        return NULL;
    int sa[TJ_MAX_NDIM], sb[TJ_MAX_NDIM], fa[TJ_MAX_NDIM], fb[TJ_MAX_NDIM], nfa, nfb;
    if (!split_axes(a, axes_a, n, "axes_a", sa, fa, &nfa) ||
        !split_axes(b, axes_b, n, "axes_b", sb, fb, &nfb) || !rank_ok(a, nfa + nfb, "tj_tensordot"))
        return NULL;
    /* a as (free, summed) and b as (summed, free) matrices: views when their strides allow */
    int pa[TJ_MAX_NDIM], pb[TJ_MAX_NDIM];
    for (int k = 0; k < nfa; k++)
        pa[k] = fa[k];
    for (int k = 0; k < n; k++) {
        pa[nfa + k] = sa[k];
        pb[k] = sb[k];
    }
    for (int k = 0; k < nfb; k++)
        pb[n + k] = fb[k];
    tj_var *ma = tj_reshape_sym(tj_permute(a, pa, a->ndim),
                                (tj_var *[]){size_of_axes(a, fa, nfa), size_of_axes(a, sa, n)}, 2);
    tj_var *mb = tj_reshape_sym(tj_permute(b, pb, b->ndim),
                                (tj_var *[]){size_of_axes(b, sb, n), size_of_axes(b, fb, nfb)}, 2);
    if (!ma || !mb)
        return NULL;
    tj_var *shape[TJ_MAX_NDIM];
    for (int k = 0; k < nfa; k++)
        shape[k] = size_of_axes(a, &fa[k], 1);
    for (int k = 0; k < nfb; k++)
        shape[nfa + k] = size_of_axes(b, &fb[k], 1);
    return tj_reshape_sym(dot12(ma, mb), shape, nfa + nfb);
}
