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

enum { WALK_BUDGET = 256 }; /* elementwise nodes visited per walk; beyond it, assume the worst */

typedef struct {
    tj_var *v[WALK_BUDGET];
    int n;
} node_set;

static bool set_has(const node_set *s, const tj_var *v)
{
    for (int i = 0; i < s->n; i++)
        if (s->v[i] == v)
            return true;
    return false;
}

static bool set_add(node_set *s, tj_var *v)
{
    if (set_has(s, v))
        return true;
    if (s->n == WALK_BUDGET)
        return false;
    s->v[s->n++] = v;
    return true;
}

/* Constants are leaves whose shapes are known: two of one shape check the same thing. */
static bool same_check(const tj_var *a, const tj_var *b)
{
    if (a == b)
        return true;
    if (a->op != TJ_OP_CONSTANT || b->op != TJ_OP_CONSTANT || a->bcast != b->bcast ||
        a->value->ndim != b->value->ndim)
        return false;
    for (int d = 0; d < a->value->ndim; d++)
        if (a->value->shape[d] != b->value->shape[d])
            return false;
    return true;
}

/* Adds v's shape leaves to *leaves, walking its elementwise nodes (recorded in *seen, so a DAG
 * is walked once). False when the walk exceeds its budget: *leaves is then incomplete. */
static bool add_leaves(tj_var *v, node_set *leaves, node_set *seen)
{
    tj_var *stack[WALK_BUDGET];
    int top = 0;
    stack[top++] = v;
    while (top) {
        tj_var *u = stack[--top];
        if (tjR_is_scalar(u))
            continue;
        if (!tj_op_is(u->op, OPF_ELEMWISE)) {
            if (!set_add(leaves, u))
                return false;
            continue;
        }
        if (set_has(seen, u))
            continue;
        if (!set_add(seen, u) || top + u->nin > WALK_BUDGET)
            return false;
        for (int i = u->nin - 1; i >= 0; i--)
            stack[top++] = u->in[i];
    }
    return true;
}

/* Removes from *need every leaf that n's expression checks; stops early once none is left. */
static void drop_checked(tj_var *n, node_set *need)
{
    node_set have = {.n = 0}, seen = {.n = 0};
    add_leaves(n, &have, &seen); /* an incomplete set only keeps a check too many */
    for (int i = 0; i < need->n;) {
        bool found = false;
        for (int j = 0; j < have.n && !found; j++)
            found = same_check(need->v[i], have.v[j]);
        if (found)
            need->v[i] = need->v[--need->n];
        else
            i++;
    }
}

tj_var *tjR_keep_shape_checks(tj_var *r, tj_var *n, tj_var *const *dropped, int ndropped)
{
    if (!n)
        return NULL;
    node_set need = {.n = 0}, seen = {.n = 0};
    for (int i = 0; i < ndropped; i++)
        if (dropped[i] != n && !add_leaves(dropped[i], &need, &seen))
            return NULL; /* too big to tell: the rewrite is not made */
    drop_checked(n, &need);
    for (int i = need.n - 1; i >= 0 && n; i--) /* the first leaf outermost */
        n = tjR_e2(TJ_OP_SECOND, need.v[i], n);
    return tjR_same_type(n, r) ? n : NULL;
}
