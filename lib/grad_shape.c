/* Vector-Jacobian products of the shape, indexing and linear-algebra ops of issue 3 (grad.c's
 * rule() calls tjD_shape_vjp), written with the builders as Theano writes them: a slice or index
 * sends g back with inc/set_subtensor into zeros, take accumulates (AdvancedIncSubtensor1),
 * reshape reshapes back, join slices g apart, matmul multiplies by the other operand's transpose
 * (a view). Integer operands (sizes, bounds, indices) get none; grad.c's fit() then reduces each
 * term to its input's exact type (summing over broadcast axes). */
#include "internal.h"

static tj_var *lit(tj_ctx *ctx, int64_t v) { return tj_const(ctx, TJ_INT64, (double)v); }

/* the length of x's axis d as an int64 scalar (a literal 1 on a broadcastable axis) */
static tj_var *len_of(tj_var *x, int d)
{
    return (x->bcast >> d) & 1 ? lit(x->ctx, 1) : tj_shape_of(x, d);
}

static tj_var *reshape_back(tj_var *x, tj_var *g)
{
    tj_var *shape[TJ_MAX_NDIM + 1];
    for (int d = 0; d < x->ndim; d++)
        shape[d] = len_of(x, d);
    return tj_reshape_sym(g, shape, x->ndim);
}

/* input i of a join: its stretch of g along the join axis */
static tj_var *join_part(tj_var *node, int i, tj_var *g)
{
    int ax = (int)node->attr[0];
    tj_var *start = NULL;
    for (int j = 0; j < i; j++)
        start = start ? tj_add(start, len_of(node->in[j], ax)) : len_of(node->in[j], ax);
    if (!start)
        start = lit(node->ctx, 0);
    return tj_slice(g, ax, start, tj_add(start, len_of(node->in[i], ax)), NULL);
}

/* part p of a split: g written into zeros of x's shape at the part's place; offsets after the
 * inferred (-1) part count from the end of the axis */
static tj_var *split_back(tj_var *node, tj_var *g)
{
    tj_var *x = node->in[0];
    int ax = (int)node->attr[0], p = (int)node->attr[1], n = (int)node->attr[2], infer = -1;
    const int64_t *sizes = node->attr + 3;
    int64_t before = 0, from = 0, after = 0; /* sums of sizes before p, from p on, after p */
    for (int j = 0; j < n; j++) {
        if (sizes[j] == -1) {
            infer = j;
            continue;
        }
        before += j < p ? sizes[j] : 0;
        from += j >= p ? sizes[j] : 0;
        after += j > p ? sizes[j] : 0;
    }
    tj_ctx *ctx = x->ctx;
    tj_var *len = len_of(x, ax), *start, *stop;
    if (infer < 0 || p < infer) {
        start = lit(ctx, before);
        stop = lit(ctx, before + sizes[p]);
    } else if (p == infer) {
        start = lit(ctx, before);
        stop = tj_sub(len, lit(ctx, after));
    } else {
        start = tj_sub(len, lit(ctx, from));
        stop = tj_sub(len, lit(ctx, after));
    }
    return tj_set_subtensor(tj_slice(tj_zeros_like(x), ax, start, stop, NULL), g);
}

/* matmul's operand with its last two axes swapped (a view) */
static tj_var *swap_last(tj_var *a)
{
    int pattern[TJ_MAX_NDIM], r = a->ndim;
    for (int d = 0; d < r; d++)
        pattern[d] = d;
    pattern[r - 2] = r - 1;
    pattern[r - 1] = r - 2;
    return tj_dimshuffle(a, pattern, r);
}

/* Whether b is the same matrix for every batch entry (all its batch axes broadcastable). */
static bool batch_broadcast(const tj_var *b)
{
    uint32_t batch = (1u << (b->ndim - 2)) - 1;
    return b->ndim > 2 && (b->bcast & batch) == batch;
}

/* The gradient of a matrix b shared by a batch (numpy.dot of an N-d array and a matrix): one
 * product a2^T g2 with the batch stacked over the rows, a2 (P, K) and g2 (P, N), instead of a
 * product per batch entry summed afterwards. fit() adds b's leading broadcastable axes. */
static tj_var *shared_b_grad(tj_var *a, tj_var *g)
{
    int r = a->ndim;
    tj_var *rows = NULL;
    for (int d = 0; d < r - 1; d++)
        if (!((a->bcast >> d) & 1))
            rows = rows ? tj_mul(rows, tj_shape_of(a, d)) : tj_shape_of(a, d);
    if (!rows)
        rows = lit(a->ctx, 1);
    tj_var *a2 = tj_reshape_sym(a, (tj_var *[]){rows, len_of(a, r - 1)}, 2);
    tj_var *g2 = tj_reshape_sym(g, (tj_var *[]){rows, len_of(g, r - 1)}, 2);
    return tj_dot(tj_transpose(a2), g2);
}

tj_var *tjD_shape_vjp(tj_var *node, int i, tj_var *g, bool *none)
{
    tj_var *x = node->in[0];
    *none = false;
    switch (node->op) {
    case TJ_OP_RESHAPE:
        if (i == 0)
            return reshape_back(x, g);
        break;
    case TJ_OP_JOIN:
        return join_part(node, i, g);
    case TJ_OP_SPLIT:
        return split_back(node, g);
    case TJ_OP_ALLOC: /* fit() sums g over the axes the value was broadcast along */
        if (i == 0)
            return g;
        break;
    case TJ_OP_ARANGE: /* values start + k*step: d/dstart = sum g, d/dstep = sum k*g */
        if (i == 0)
            return tj_sum(g, NULL, 0, false);
        if (i == 2)
            return tj_sum(tj_mul(g, tj_arange(NULL, tj_shape_of(node, 0), NULL, node->dtype)),
                          NULL, 0, false);
        break; /* stop only sets the length */
    case TJ_OP_SLICE:
    case TJ_OP_INDEX:
        if (i == 0)
            return tj_set_subtensor(
                tjG_subtensor(node->op, tj_zeros_like(x), node->attr, node->in + 1, node->nin - 1),
                g);
        break;
    case TJ_OP_TAKE: /* repeated indices accumulate */
        if (i == 0)
            return tj_inc_subtensor(tj_take(tj_zeros_like(x), node->in[1], (int)node->attr[0]), g);
        break;
    case TJ_OP_SET_SUBTENSOR:
    case TJ_OP_INC_SUBTENSOR: {
        bool set = node->op == TJ_OP_SET_SUBTENSOR;
        if (i == 0 && !set)
            return g;
        if (i > 1)
            break;
        tj_var *gsub = tjG_subtensor((tj_op)node->attr[0], g, node->attr + 1, node->in + 2,
                                     node->nin - 2);
        if (i == 1) /* the value: g on the region (fit sums where the value was broadcast) */
            return gsub;
        return tj_set_subtensor(gsub, tjG_const_like(g, 0.0)); /* x: overwritten places get 0 */
    }
    case TJ_OP_MATMUL:
        if (i == 1 && batch_broadcast(node->in[1]))
            return shared_b_grad(x, g);
        return i == 0 ? tjG_matmul(g, swap_last(node->in[1])) : tjG_matmul(swap_last(x), g);
    default: {
        char buf[160];
        tjC_error(node->ctx, TJ_ERR_INVALID, "internal error: %s has no shape-family gradient",
                  tjG_describe(node, buf, sizeof buf));
        return NULL;
    }
    }
    *none = true;
    return NULL;
}
