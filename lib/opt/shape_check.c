/* Keeping broadcasting's shape checks through rewrites.
 *
 * An elementwise expression checks at run time that the shapes of its shape leaves (the first
 * nodes below it that are not elementwise) broadcast together, and fails the call when they do
 * not, as numpy does. A rewrite that drops an operand whose only job was the shape (second(x, y)
 * -> y, x * ones -> x, a - a -> zeros) would drop that check with it and return a result where
 * numpy raises (docs/RELIABILITY.md, finding 23; Theano's local_fill_cut does drop it). So the
 * replacement keeps every shape leaf of the dropped operands that it does not already have, as
 * second(leaf, replacement): a leaf is already computed, and second reads only its shape.
 * Scalars (broadcastable on every axis) broadcast against anything and need no check. */
#include "opt.h"

#include "algebra.h"

#include <string.h>

enum { WALK_BUDGET = 256, SLOTS = 512 }; /* nodes per walk; beyond it, assume the worst */

/* A set of at most WALK_BUDGET nodes: open addressing on the node's hash-cons hash, and the
 * members in insertion order. */
typedef struct {
    tj_var *slot[SLOTS];
    tj_var *v[WALK_BUDGET];
    int n;
} node_set;

static void set_init(node_set *s)
{
    memset(s->slot, 0, sizeof s->slot);
    s->n = 0;
}

/* the slot holding v, or the empty one where it would go */
static tj_var **set_find(node_set *s, const tj_var *v)
{
    size_t i = (size_t)(v->hash ^ v->id) & (SLOTS - 1);
    while (s->slot[i] && s->slot[i] != v)
        i = (i + 1) & (SLOTS - 1);
    return &s->slot[i];
}

static bool set_has(node_set *s, const tj_var *v) { return *set_find(s, v) != NULL; }

static bool set_add(node_set *s, tj_var *v)
{
    tj_var **p = set_find(s, v);
    if (*p)
        return true;
    if (s->n == WALK_BUDGET)
        return false;
    *p = s->v[s->n++] = v;
    return true;
}

/* Constants are leaves whose shapes are known: two of one shape check the same thing. */
static bool same_check(const tj_var *a, const tj_var *b)
{
    if (a == b)
        return true;
    return a->op == TJ_OP_CONSTANT && b->op == TJ_OP_CONSTANT && a->bcast == b->bcast &&
           a->value->ndim == b->value->ndim &&
           tjA_same_shape(a->value->ndim, a->value->shape, b->value->shape);
}

static bool visit(tj_var *u, node_set *seen, node_set *leaves, node_set *known)
{
    while (u->op == TJ_OP_SOFTMAX || u->op == TJ_OP_LOG_SOFTMAX)
        u = u->in[0]; /* its input's shape: a witness needs only the input computed */
    if (tjR_is_scalar(u) || set_has(seen, u) || (known && set_has(known, u)))
        return true;
    return tj_op_is(u->op, OPF_ELEMWISE) ? set_add(seen, u) : set_add(leaves, u);
}

/* Walks v's elementwise nodes into *seen and its shape leaves into *leaves, breadth first (the
 * top levels, where a rebuilt node meets the parts it reuses, before the depths), skipping the
 * nodes of *known (what the replacement still checks). False when the walk exceeds its budget:
 * the sets are then incomplete. */
static bool walk(tj_var *v, node_set *seen, node_set *leaves, node_set *known)
{
    int head = seen->n;
    if (!visit(v, seen, leaves, known))
        return false;
    for (; head < seen->n; head++) /* seen's members, in order, are the queue */
        for (int i = 0; i < seen->v[head]->nin; i++)
            if (!visit(seen->v[head]->in[i], seen, leaves, known))
                return false;
    return true;
}

/* n and its elementwise operands two levels down: where r's walk usually meets n again (below
 * a node that is not elementwise, as a join, shapes are that node's business, not n's) */
static void near_nodes(tj_var *n, node_set *near)
{
    set_add(near, n);
    if (!tj_op_is(n->op, OPF_ELEMWISE))
        return;
    for (int i = 0; i < n->nin; i++) {
        tj_var *u = n->in[i];
        set_add(near, u);
        for (int j = 0; tj_op_is(u->op, OPF_ELEMWISE) && j < u->nin; j++)
            set_add(near, u->in[j]);
    }
}

tj_var *tjR_keep_shape_checks(tj_var *r, tj_var *n)
{
    if (!n)
        return NULL;
    /* the leaves of r's parts that n does not have near its top (usually none) */
    node_set known, seen, need, have_leaves;
    set_init(&known);
    set_init(&seen);
    set_init(&need);
    near_nodes(n, &known);
    if (!walk(r, &seen, &need, &known) || need.n) {
        /* again, skipping all n checks (an incomplete walk of n: only a check too many) */
        set_init(&known);
        set_init(&have_leaves);
        walk(n, &known, &have_leaves, NULL);
        for (int i = 0; i < have_leaves.n; i++)
            set_add(&known, have_leaves.v[i]);
        set_init(&seen);
        set_init(&need);
        if (!walk(r, &seen, &need, &known))
            return NULL; /* too big to tell: the rewrite is not made */
        int kept = 0;
        for (int i = 0; i < need.n; i++) {
            bool checked = false; /* constants of one shape check one thing */
            for (int j = 0; j < have_leaves.n && !checked; j++)
                checked = same_check(need.v[i], have_leaves.v[j]);
            for (int j = 0; j < kept && !checked; j++)
                checked = same_check(need.v[i], need.v[j]);
            if (!checked)
                need.v[kept++] = need.v[i];
        }
        need.n = kept;
    }
    for (int i = need.n - 1; i >= 0 && n; i--) /* the first leaf outermost */
        n = tjR_e2(TJ_OP_SECOND, need.v[i], n);
    return tjR_same_type(n, r) ? n : NULL;
}
