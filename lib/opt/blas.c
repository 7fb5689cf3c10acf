/* BLAS: dot products become gemm/gemv/ger calls that absorb scalings, additions and transposes:
 *   alpha * dot(X, Y) + beta * Z   in any arrangement (sums, differences, negations, scalar
 *                                  products and quotients, nested gemm terms)
 * becomes one call with alpha, beta and transpose flags; a transposed operand is passed with a
 * flag, never copied. Outer products dot(x[:, None], y[None, :]) become ger; sum(x * x) of a
 * vector becomes dot(x, x). Integer dots stay numpy dots (BLAS has none). */
#include "algebra.h"

#include <math.h>

#define P TJR_P
#define P0 TJR_P0
#define V TJR_V

/* ---- dot forms ------------------------------------------------------------------------------- */

typedef struct {
    tj_op op;      /* GEMM, GEMV or GER */
    tj_var *A, *B;
    int ta, tb;
} dotform;

/* m, or the matrix m is the transpose of (flag set) */
static tj_var *untranspose(tj_var *m, int *t)
{
    *t = 0;
    if (m->op == TJ_OP_DIMSHUFFLE && m->ndim == 2 && m->in[0]->ndim == 2 && m->attr[0] == 1 &&
        m->attr[1] == 0) {
        *t = 1;
        return m->in[0];
    }
    return m;
}

static bool is_column(const tj_var *m, int other) /* x[:, None] (other = 1) or x[None, :] (0) */
{
    return m->op == TJ_OP_DIMSHUFFLE && m->ndim == 2 && m->in[0]->ndim == 1 &&
           m->attr[other] == -1 && m->attr[1 - other] == 0;
}

/* The BLAS call computing dot node d (or the product part of a gemm-family node). */
static bool dot_form(const tj_var *d, dotform *f)
{
    if (!tj_dtype_is_float(d->dtype))
        return false;
    if (d->op == TJ_OP_GEMM || d->op == TJ_OP_GEMV || d->op == TJ_OP_GER) {
        *f = (dotform){d->op, d->in[0], d->in[1], d->nattr > 0 ? (int)d->attr[0] : 0,
                       d->nattr > 1 ? (int)d->attr[1] : 0};
        return true;
    }
    if (d->op != TJ_OP_DOT)
        return false;
    tj_var *a = d->in[0], *b = d->in[1];
    int t;
    if (a->ndim == 2 && b->ndim == 2) {
        if (is_column(a, 1) && is_column(b, 0)) {
            *f = (dotform){TJ_OP_GER, a->in[0], b->in[0], 0, 0};
            return true;
        }
        f->op = TJ_OP_GEMM;
        f->A = untranspose(a, &f->ta);
        f->B = untranspose(b, &f->tb);
        return true;
    }
    if (a->ndim == 2 && b->ndim == 1) {
        *f = (dotform){TJ_OP_GEMV, untranspose(a, &t), b, t, 0};
        return true;
    }
    if (a->ndim == 1 && b->ndim == 2) { /* v . M = M^T v */
        *f = (dotform){TJ_OP_GEMV, untranspose(b, &t), a, !t, 0};
        return true;
    }
    return false;
}

static tj_var *blas_node(tj_var *like, const dotform *f, tj_var *alpha, tj_var *beta, tj_var *z)
{
    if (!alpha || !beta || !z)
        return NULL;
    int64_t attr[2] = {f->ta, f->tb};
    int nattr = f->op == TJ_OP_GEMM ? 2 : f->op == TJ_OP_GEMV ? 1 : 0;
    tj_var *in[5] = {f->A, f->B, alpha, beta, z};
    return tjG_make(like->ctx, f->op, like->dtype, like->ndim, like->bcast, in, 5, attr, nattr,
                    NULL);
}

/* ---- linear combinations --------------------------------------------------------------------- */

enum { MAX_TERMS = 16, WORK = 48, VISITS = 128 };

typedef struct {
    tj_var *t;
    double k;   /* constant coefficient */
    tj_var *s;  /* symbolic 0-d coefficient, or NULL */
    bool dot;   /* t is a gemm-family node standing for its product part only */
} term;

typedef struct {
    term t[MAX_TERMS];
    int n;
    bool full;
} lincomb;

static void add_term(lincomb *l, tj_var *t, double k, tj_var *s, bool dot)
{
    if (!dot)
        for (int i = 0; i < l->n; i++)
            if (!l->t[i].dot && l->t[i].t == t && l->t[i].s == s) {
                l->t[i].k += k;
                return;
            }
    if (l->n == MAX_TERMS) {
        l->full = true;
        return;
    }
    l->t[l->n++] = (term){t, k, s, dot};
}

static tj_var *times(tj_var *s, tj_var *x) { return s ? tjR_e2(TJ_OP_MUL, s, x) : x; }

/* root as sum k_i * s_i * t_i, through add, sub, neg, products and quotients by scalars, and
 * gemm-family nodes with one consumer (their product part and their beta * Z) */
static void collect(tjR_run *run, tj_var *root, lincomb *l)
{
    struct {
        tj_var *v, *s;
        double k;
    } work[WORK];
    int nw = 0, visits = 0;
    work[nw].v = root, work[nw].s = NULL, work[nw++].k = 1;
    *l = (lincomb){.n = 0};
    while (nw > 0 && !l->full) {
        nw--;
        tj_var *v = work[nw].v, *s = work[nw].s;
        double k = work[nw].k, c;
        if (++visits > VISITS || nw + 2 > WORK) {
            l->full = true;
            return;
        }
        bool inside = v == root || (v->dtype == root->dtype && v->ndim == root->ndim &&
                                    tjR_clients(run, v) == 1);
        if (!inside) {
            add_term(l, v, k, s, false);
            continue;
        }
        switch (v->op) {
        case TJ_OP_ADD:
        case TJ_OP_SUB:
            work[nw].v = v->in[0], work[nw].s = s, work[nw++].k = k;
            work[nw].v = v->in[1], work[nw].s = s, work[nw++].k = v->op == TJ_OP_SUB ? -k : k;
            continue;
        case TJ_OP_NEG:
            work[nw].v = v->in[0], work[nw].s = s, work[nw++].k = -k;
            continue;
        case TJ_OP_MUL:
            for (int i = 0; i < 2; i++) {
                tj_var *sc = v->in[i], *other = v->in[1 - i];
                if (!tjR_is_scalar(sc) || tjR_is_scalar(other))
                    continue;
                if (tjR_uniform(sc, &c)) {
                    work[nw].v = other, work[nw].s = s, work[nw++].k = k * c;
                } else {
                    tj_var *s0 = tjR_scalar_of(sc);
                    if (!s0) {
                        l->full = true;
                        return;
                    }
                    work[nw].v = other, work[nw].s = s ? tjR_e2(TJ_OP_MUL, s, s0) : s0;
                    work[nw++].k = k;
                }
                goto next;
            }
            break;
        case TJ_OP_DIV:
            if (tjR_uniform(v->in[1], &c) && c != 0 && tjR_is_scalar(v->in[1])) {
                work[nw].v = v->in[0], work[nw].s = s, work[nw++].k = k / c;
                continue;
            }
            break;
        case TJ_OP_GEMM:
        case TJ_OP_GEMV:
        case TJ_OP_GER:
            if (v != root) {
                double a, b;
                tj_var *sa = tjR_uniform(v->in[2], &a) ? NULL : v->in[2];
                tj_var *sb = tjR_uniform(v->in[3], &b) ? NULL : v->in[3];
                add_term(l, v, sa ? k : k * a, sa ? times(s, sa) : s, true);
                if (sb || b != 0)
                    add_term(l, v->in[4], sb ? k : k * b, sb ? times(s, sb) : s, false);
                continue;
            }
            break;
        default:
            break;
        }
        add_term(l, v, k, s, false);
    next:;
    }
}

/* k * s as a 0-d node of dtype d */
static tj_var *coef(tj_ctx *ctx, tj_dtype d, double k, tj_var *s)
{
    if (!s)
        return tjR_const(ctx, d, k);
    return k == 1 ? s : tjR_e2(TJ_OP_MUL, s, tjR_const(ctx, d, k));
}

/* The dot term of l that can carry the result (its type is the root's), or -1. */
static int pick_dot(tjR_run *run, const lincomb *l, const tj_var *root, dotform *f)
{
    for (int i = 0; i < l->n; i++) {
        const term *t = &l->t[i];
        if (t->k == 0 || !tjR_same_type(t->t, root))
            continue;
        /* a dot another node also reads stays: the call would compute it twice */
        bool own = t->dot || (t->t->op == TJ_OP_DOT && tjR_clients(run, t->t) == 1);
        if (own && dot_form(t->t, f))
            return i;
    }
    return -1;
}

static tj_var *rw_lincomb(tjR_match *m)
{
    tj_var *r = m->root;
    tj_ctx *ctx = r->ctx;
    if (!tj_dtype_is_float(r->dtype) || r->ndim < 1 || r->ndim > 2)
        return NULL;
    lincomb l;
    collect(m->run, r, &l);
    dotform f;
    int d = l.full ? -1 : pick_dot(m->run, &l, r, &f);
    if (d < 0)
        return NULL;
    tj_var *alpha = coef(ctx, r->dtype, l.t[d].k, l.t[d].s), *beta, *z = NULL;
    int nz = 0, last = -1;
    for (int i = 0; i < l.n; i++)
        if (i != d && l.t[i].k != 0)
            nz++, last = i;
    if (nz == 0) {
        beta = tjR_const(ctx, r->dtype, 0);
        z = tjR_const_like(r, 0);
    } else if (nz == 1 && tjR_same_type(l.t[last].t, r) && !l.t[last].dot) {
        beta = coef(ctx, r->dtype, l.t[last].k, l.t[last].s);
        z = l.t[last].t;
    } else { /* several terms: their sum is Z, computed by a fused kernel */
        for (int i = 0; i < l.n; i++) {
            if (i == d || l.t[i].k == 0)
                continue;
            if (l.t[i].dot)
                return NULL; /* two products: one call cannot take both */
            tj_var *t = l.t[i].t;
            if (l.t[i].s)
                t = tjR_e2(TJ_OP_MUL, t, l.t[i].s);
            if (l.t[i].k != 1)
                t = tjR_e2(TJ_OP_MUL, t, tjR_const_like(l.t[i].t, l.t[i].k));
            z = z ? tjR_e2(TJ_OP_ADD, z, t) : t;
        }
        if (!tjR_same_type(z, r))
            return NULL; /* a broadcast bias: left to the kernel that adds it for free */
        beta = tjR_const(ctx, r->dtype, 1);
    }
    return blas_node(r, &f, alpha, beta, z);
}

/* dot(X, Y) of matrices and vectors -> gemm/gemv/ger with alpha 1, beta 0 */
static tj_var *rw_dot(tjR_match *m)
{
    dotform f;
    tj_var *r = m->root;
    if (!dot_form(r, &f))
        return NULL;
    return blas_node(r, &f, tjR_const(r->ctx, r->dtype, 1), tjR_const(r->ctx, r->dtype, 0),
                     tjR_const_like(r, 0));
}

/* sum(x * x) of a float vector -> dot(x, x) */
static tj_var *rw_dot_self(tjR_match *m)
{
    tj_var *r = m->root, *x = m->v[0];
    if (!tj_dtype_is_float(r->dtype) || x->ndim != 1 || r->attr[0] != 1 || x->bcast)
        return NULL;
    tj_var *d = tj_dot(x, x);
    return r->attr[1] ? tj_dimshuffle(d, (int[]){-1}, 1) : d;
}

static const tjR_rule rules[] = {
    {"blas_dot", P0(DOT), rw_dot, 0},
    {"blas_lincomb", P0(ADD), rw_lincomb, 0},
    {"blas_lincomb", P0(SUB), rw_lincomb, 0},
    {"blas_lincomb", P0(NEG), rw_lincomb, 0},
    {"blas_lincomb", P0(MUL), rw_lincomb, 0},
    {"blas_lincomb", P0(DIV), rw_lincomb, 0},
    {"blas_dot_self", P(SUM, P(SQR, V(0))), rw_dot_self, 0},
    {"blas_dot_self", P(SUM, P(MUL, V(0), V(0))), rw_dot_self, 0},
};

const tjR_family tjR_blas_rules = {"blas", rules, sizeof rules / sizeof rules[0]};
