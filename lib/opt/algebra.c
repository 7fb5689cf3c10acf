/* Product and sum views of elementwise trees, and their rebuilding with the builders.
 * Walks use a bounded worklist (never recursion): a long chain only makes the view "full". */
#include "algebra.h"

#include <math.h>

enum { WORK = 64, VISITS = 256 };

tj_var *tjR_e1(tj_op op, tj_var *a) { return a ? tjG_elemwise(op, &a, 1) : NULL; }

tj_var *tjR_e2(tj_op op, tj_var *a, tj_var *b)
{
    if (!a || !b)
        return NULL;
    tj_var *in[2] = {a, b};
    return tjG_elemwise(op, in, 2);
}

static bool can_enter(tjR_run *run, const tj_var *root, const tj_var *v)
{
    return v == root || (v->dtype == root->dtype && v->ndim == root->ndim &&
                         tjR_clients(run, v) == 1);
}

static void add_factor(tjR_product *p, tj_var *f, int e)
{
    for (int i = 0; i < p->n; i++)
        if (p->f[i] == f) {
            if ((p->e[i] > 0) != (e > 0))
                p->ncancel++;
            p->e[i] += e;
            return;
        }
    if (p->n == TJR_MAX_FACTORS) {
        p->full = true;
        return;
    }
    p->f[p->n] = f;
    p->e[p->n++] = e;
}

void tjR_product_of(tjR_run *run, tj_var *root, unsigned flags, tjR_product *p)
{
    *p = (tjR_product){.k = 1.0};
    bool is_float = tj_dtype_is_float(root->dtype);
    struct {
        tj_var *v;
        int e;
    } work[WORK];
    int nw = 0, visits = 0;
    work[nw++].v = root;
    work[0].e = 1;
    while (nw > 0) {
        tj_var *v = work[nw - 1].v;
        int e = work[--nw].e;
        if (++visits > VISITS) {
            p->full = true;
            return;
        }
        double c;
        if ((flags & TJR_ABSORB_CONST) && v != root && tjR_uniform(v, &c) &&
            (e > 0 || (is_float && c != 0))) {
            for (int i = 0; i < (e > 0 ? e : -e); i++)
                p->k = e > 0 ? p->k * c : p->k / c;
            p->nconst++;
            continue;
        }
        int nsub = 0;
        tj_var *sub[2];
        int se[2];
        if (can_enter(run, root, v)) {
            switch (v->op) {
            case TJ_OP_MUL:
                if (v->dtype != TJ_BOOL) {
                    sub[0] = v->in[0], se[0] = e, sub[1] = v->in[1], se[1] = e, nsub = 2;
                }
                break;
            case TJ_OP_DIV:
                if ((flags & TJR_THROUGH_DIV) && is_float)
                    sub[0] = v->in[0], se[0] = e, sub[1] = v->in[1], se[1] = -e, nsub = 2;
                break;
            case TJ_OP_NEG:
                p->neg = !p->neg;
                p->nneg++;
                sub[0] = v->in[0], se[0] = e, nsub = 1;
                break;
            case TJ_OP_SQR:
                if (flags & TJR_THROUGH_POWER)
                    sub[0] = v->in[0], se[0] = 2 * e, nsub = 1;
                break;
            case TJ_OP_INV:
                if (flags & TJR_THROUGH_POWER)
                    sub[0] = v->in[0], se[0] = -e, nsub = 1;
                break;
            case TJ_OP_SECOND:
                if (flags & TJR_THROUGH_SECOND)
                    sub[0] = v->in[1], se[0] = e, nsub = 1;
                break;
            default:
                break;
            }
        }
        if (nsub == 0) {
            add_factor(p, v, e);
            continue;
        }
        /* negations under an even power cancel: only odd exponents carry the sign */
        if (v->op == TJ_OP_NEG && e % 2 == 0) {
            p->neg = !p->neg;
            p->nneg--;
        }
        if (nw + nsub > WORK) {
            p->full = true;
            return;
        }
        for (int i = nsub - 1; i >= 0; i--) {
            work[nw].v = sub[i];
            work[nw++].e = se[i];
        }
    }
}

static tj_var *power(tj_var *f, int e)
{
    tj_var *r = NULL;
    if (e >= 2 && e % 2 == 0) {
        tj_var *h = power(f, e / 2); /* depth log2(e): exponents are small */
        return tjR_e1(TJ_OP_SQR, h);
    }
    for (int i = 0; i < e; i++)
        r = r ? tjR_e2(TJ_OP_MUL, r, f) : f;
    return r;
}

tj_var *tjR_product_build(tj_var *root, const tjR_product *p)
{
    if (p->full)
        return NULL;
    tj_var *num = NULL, *den = NULL;
    for (int i = 0; i < p->n; i++) {
        if (p->e[i] > 0) {
            tj_var *t = power(p->f[i], p->e[i]);
            num = num ? tjR_e2(TJ_OP_MUL, num, t) : t;
        } else if (p->e[i] < 0) {
            tj_var *t = power(p->f[i], -p->e[i]);
            den = den ? tjR_e2(TJ_OP_MUL, den, t) : t;
        }
    }
    if (den && !tj_dtype_is_float(root->dtype))
        return NULL;
    double k = p->neg ? -p->k : p->k;
    if (!num && !den)
        return tjR_const_like(root, k);
    tj_var *r;
    if (!num)
        r = tjR_e2(TJ_OP_DIV, tjR_const_like(root, k), den), k = 1;
    else
        r = den ? tjR_e2(TJ_OP_DIV, num, den) : num;
    if (!r || !isfinite(k))
        return NULL;
    if (k == -1)
        return tjR_e1(TJ_OP_NEG, r);
    if (k != 1)
        r = tjR_e2(TJ_OP_MUL, r, tjR_const_like(root, k));
    return r;
}

void tjR_sum_of(tjR_run *run, tj_var *root, bool absorb, tjR_sum *s)
{
    *s = (tjR_sum){.k = 0};
    struct {
        tj_var *v;
        int sign;
    } work[WORK];
    int nw = 0, visits = 0;
    work[nw].v = root;
    work[nw++].sign = 1;
    while (nw > 0) {
        tj_var *v = work[nw - 1].v;
        int sign = work[--nw].sign;
        if (++visits > VISITS) {
            s->full = true;
            return;
        }
        double c;
        if (absorb && v != root && tjR_uniform(v, &c)) {
            s->k += sign * c;
            s->nconst++;
            continue;
        }
        int nsub = 0;
        tj_var *sub[2];
        int ss[2];
        if (can_enter(run, root, v) && v->dtype != TJ_BOOL) {
            if (v->op == TJ_OP_ADD)
                sub[0] = v->in[0], ss[0] = sign, sub[1] = v->in[1], ss[1] = sign, nsub = 2;
            else if (v->op == TJ_OP_SUB)
                sub[0] = v->in[0], ss[0] = sign, sub[1] = v->in[1], ss[1] = -sign, nsub = 2;
            else if (v->op == TJ_OP_NEG)
                sub[0] = v->in[0], ss[0] = -sign, nsub = 1;
        }
        if (nsub == 0) {
            if (s->n == TJR_MAX_FACTORS) {
                s->full = true;
                return;
            }
            s->t[s->n] = v;
            s->s[s->n++] = sign;
            continue;
        }
        if (nw + nsub > WORK) {
            s->full = true;
            return;
        }
        for (int i = nsub - 1; i >= 0; i--) {
            work[nw].v = sub[i];
            work[nw++].sign = ss[i];
        }
    }
}

tj_var *tjR_sum_build(tj_var *root, const tjR_sum *s)
{
    if (s->full)
        return NULL;
    tj_var *r = NULL;
    for (int i = 0; i < s->n; i++) {
        if (!r)
            r = s->s[i] > 0 ? s->t[i] : tjR_e1(TJ_OP_NEG, s->t[i]);
        else
            r = tjR_e2(s->s[i] > 0 ? TJ_OP_ADD : TJ_OP_SUB, r, s->t[i]);
    }
    if (!r)
        return tjR_const_like(root, s->k);
    if (s->k != 0)
        r = tjR_e2(TJ_OP_ADD, r, tjR_const_like(root, s->k));
    return r;
}
