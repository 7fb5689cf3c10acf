/* Merge: hash-consing already makes equal expressions one node (CSE for free); merge adds what
 * hash-consing cannot see: the two operand orders of a commutative op, and constants spelled as
 * length-1 arrays, which become the one scalar literal form dimshuffle(0-d constant). */
#include "opt.h"

#include <string.h>

/* add(b, a) and add(a, b) in one graph become one node (the older one). Nothing is reordered
 * otherwise: structurally equal graphs keep equal kernels (and share compiled code). */
static tj_var *rw_commutative(tjR_match *m)
{
    tj_var *r = m->root;
    if (!tj_op_is(r->op, OPF_COMMUTE) || r->nin != 2 || r->in[0] == r->in[1])
        return NULL;
    tj_var *in[2] = {r->in[1], r->in[0]};
    tj_var *twin =
        tjG_make(r->ctx, r->op, r->dtype, r->ndim, r->bcast, in, 2, r->attr, r->nattr, NULL);
    if (!twin || twin->id > r->id || !tjR_in_graph(m->run, twin))
        return NULL;
    return twin;
}

/* A constant broadcastable on every axis of rank >= 1 holds one element: make it the scalar
 * literal form, bit for bit (no double round trip, so int64 beyond 2^53 survives). */
static tj_var *rw_scalar_constant(tjR_match *m)
{
    tj_var *r = m->root;
    if (r->ndim == 0 || !tjR_is_scalar(r) || !r->value || r->value->size != 1)
        return NULL;
    tj_array *a = tjA_alloc(r->ctx, r->dtype, 0, NULL, false);
    if (!a) {
        tjC_error(r->ctx, TJ_ERR_NOMEM, "out of memory merging a constant");
        return NULL;
    }
    memcpy(a->data, r->value->data, tj_dtype_size(r->dtype));
    tj_var *c = tjG_make(r->ctx, TJ_OP_CONSTANT, r->dtype, 0, 0, NULL, 0, NULL, 0, a);
    int pattern[TJ_MAX_NDIM];
    for (int d = 0; d < r->ndim; d++)
        pattern[d] = -1;
    return c ? tj_dimshuffle(c, pattern, r->ndim) : NULL;
}

#define P0 TJR_P0
static const tjR_rule rules[] = {
    {"merge_commutative", TJR_ANY, rw_commutative, 0},
    {"merge_scalar_constant", P0(CONSTANT), rw_scalar_constant, 0},
};

const tjR_family tjR_merge_rules = {"merge", rules, sizeof rules / sizeof rules[0]};
