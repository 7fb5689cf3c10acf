/* Reference executor: evaluates any node plainly in C, and whole graphs by walking them.
 *
 * It is the oracle of the tests, the engine of TJ_MODE_FAST_COMPILE, the constant folder and the
 * JIT's fallback, so it checks what the builders promise (dtypes, ranks, static broadcast
 * patterns) instead of trusting it, and reports violations as errors rather than crashing.
 * Arithmetic lives in interp_ops.c; this file has the node checks, leaves, shape ops, dot and the
 * graph walk. Results are always fresh C-contiguous arrays; inputs may have any byte strides. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

/* ---- shared helpers -------------------------------------------------------------------------- */

tj_status tjI_error(tj_ctx *ctx, const tj_var *node, tj_status st, const char *fmt, ...)
{
    char desc[256], msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (node)
        tjC_error(ctx, st, "%s: %s", tjG_describe(node, desc, sizeof desc), msg);
    else
        tjC_error(ctx, st, "%s", msg);
    return st;
}

tj_status tjI_alloc(tj_ctx *ctx, const tj_var *node, int ndim, const int64_t *shape, tj_array **out)
{
    *out = tjA_alloc(ctx, node->dtype, ndim, shape, false);
    if (*out)
        return TJ_OK;
    tj_status st = tjA_last_status();
    return tjI_error(ctx, node, st != TJ_OK ? st : TJ_ERR_NOMEM, "cannot allocate the result: %s",
                     tjA_last_msg());
}

/* numpy's spelling of a shape, for messages: (3, 4), (5,), () */
static const char *shape_str(const tj_array *a, char *buf, size_t len)
{
    size_t n = (size_t)snprintf(buf, len, "(");
    for (int d = 0; d < a->ndim && n < len; d++)
        n += (size_t)snprintf(buf + n, len - n, "%s%lld", d ? ", " : "", (long long)a->shape[d]);
    if (n < len)
        snprintf(buf + n, len - n, a->ndim == 1 ? ",)" : ")");
    return buf;
}

/* ---- leaves and shape ops -------------------------------------------------------------------- */

static tj_status eval_leaf(tj_ctx *ctx, const tj_var *node, tj_array **out)
{
    if (node->op == TJ_OP_INPUT) {
        if (node->name)
            return tjI_error(ctx, NULL, TJ_ERR_INVALID, "input '%s' has no value", node->name);
        return tjI_error(ctx, node, TJ_ERR_INVALID, "input has no value");
    }
    if (!node->value || node->value->magic != TJ_ARRAY_MAGIC)
        return tjI_error(ctx, node, TJ_ERR_INVALID, "%s has no value", tjG_ops[node->op].name);
    *out = tj_array_ref(node->value);
    return TJ_OK;
}

static tj_status eval_shape_of(tj_ctx *ctx, const tj_var *node, tj_array *const *in, tj_array **out)
{
    if (node->nattr < 1 || node->attr[0] < 0 || node->attr[0] >= in[0]->ndim)
        return tjI_error(ctx, node, TJ_ERR_INVALID, "shape_of axis is out of range for rank %d",
                         in[0]->ndim);
    if (node->dtype != TJ_INT64 || node->ndim != 0)
        return tjI_error(ctx, node, TJ_ERR_INVALID, "shape_of must be an int64 scalar");
    tj_status st = tjI_alloc(ctx, node, 0, NULL, out);
    if (st == TJ_OK)
        memcpy((*out)->data, &in[0]->shape[node->attr[0]], sizeof(int64_t));
    return st;
}

static tj_status eval_dimshuffle(tj_ctx *ctx, const tj_var *node, tj_array *const *in,
                                 tj_array **out)
{
    const tj_array *a = in[0];
    int64_t shape[TJ_MAX_NDIM], strides[TJ_MAX_NDIM];
    bool listed[TJ_MAX_NDIM] = {false};
    if (node->nattr != node->ndim)
        return tjI_error(ctx, node, TJ_ERR_INVALID, "dimshuffle pattern has %d entries for rank %d",
                         node->nattr, node->ndim);
    if (node->dtype != a->dtype)
        return tjI_error(ctx, node, TJ_ERR_INVALID, "dimshuffle changes the dtype");
    for (int i = 0; i < node->ndim; i++) {
        int64_t p = node->attr[i];
        if (p < -1 || p >= a->ndim || (p >= 0 && listed[p]))
            return tjI_error(ctx, node, TJ_ERR_INVALID,
                             "dimshuffle pattern entry %d (%lld) is out of range or repeated", i,
                             (long long)p);
        if (p >= 0)
            listed[p] = true;
        shape[i] = p >= 0 ? a->shape[p] : 1;
        strides[i] = p >= 0 ? a->strides[p] : 0;
    }
    for (int d = 0; d < a->ndim; d++) {
        if (!listed[d] && a->shape[d] != 1)
            return tjI_error(ctx, node, TJ_ERR_SHAPE,
                             "dimshuffle drops axis %d of length %lld (only length-1 axes can be "
                             "dropped)",
                             d, (long long)a->shape[d]);
    }
    return tjI_result(ctx, node, in[0], node->ndim, shape, strides, a->data, false, out);
}

static tj_status eval_dot(tj_ctx *ctx, const tj_var *node, tj_array *const *in, tj_array **out)
{
    const tj_array *a = in[0], *b = in[1];
    char sa[128], sb[128];
    if (a->ndim < 1 || a->ndim > 2 || b->ndim < 1 || b->ndim > 2)
        return tjI_error(ctx, node, TJ_ERR_INVALID, "dot takes vectors and matrices, not %s and %s",
                         shape_str(a, sa, sizeof sa), shape_str(b, sb, sizeof sb));
    if (a->dtype != node->dtype || b->dtype != node->dtype)
        return tjI_error(ctx, node, TJ_ERR_INVALID, "dot inputs are %s and %s, the node is %s",
                         tj_dtype_name(a->dtype), tj_dtype_name(b->dtype),
                         tj_dtype_name(node->dtype));
    if (a->ndim + b->ndim - 2 != node->ndim)
        return tjI_error(ctx, node, TJ_ERR_INVALID, "dot of ranks %d and %d cannot have rank %d",
                         a->ndim, b->ndim, node->ndim);
    if (a->shape[a->ndim - 1] != b->shape[0])
        return tjI_error(ctx, node, TJ_ERR_SHAPE,
                         "dot shapes %s and %s not aligned: %lld (dim %d) != %lld (dim 0)",
                         shape_str(a, sa, sizeof sa), shape_str(b, sb, sizeof sb),
                         (long long)a->shape[a->ndim - 1], a->ndim - 1, (long long)b->shape[0]);
    int64_t shape[2];
    int nd = 0;
    if (a->ndim == 2)
        shape[nd++] = a->shape[0];
    if (b->ndim == 2)
        shape[nd++] = b->shape[1];
    tj_status st = tjI_alloc(ctx, node, nd, shape, out);
    if (st == TJ_OK)
        tjB_dot(ctx, a, b, *out);
    return st;
}

/* ---- one node -------------------------------------------------------------------------------- */

/* What every node promises about its input values: present, of the input variable's dtype and
 * rank, and length 1 on its statically broadcastable axes. */
static tj_status check_inputs(tj_ctx *ctx, const tj_var *node, tj_array *const *in)
{
    int arity = tjG_ops[node->op].arity;
    if ((arity >= 0 && node->nin != arity) || node->nin < 0 || (node->nin > 0 && !node->in))
        return tjI_error(ctx, node, TJ_ERR_INVALID, "has %d inputs, %s takes %d", node->nin,
                         tjG_ops[node->op].name, arity);
    if (node->nin > 0 && !in)
        return tjI_error(ctx, node, TJ_ERR_INVALID, "no input values given");
    for (int i = 0; i < node->nin; i++) {
        const tj_var *v = node->in[i];
        const tj_array *a = in[i];
        if (!v || v->magic != TJ_VAR_MAGIC)
            return tjI_error(ctx, node, TJ_ERR_INVALID, "input %d is not a variable", i);
        if (!a || a->magic != TJ_ARRAY_MAGIC)
            return tjI_error(ctx, node, TJ_ERR_INVALID, "input %d has no value", i);
        if (a->dtype != v->dtype || a->ndim != v->ndim)
            return tjI_error(ctx, node, TJ_ERR_TYPE,
                             "input %d holds a %s array of rank %d, its variable is %s of rank %d",
                             i, tj_dtype_name(a->dtype), a->ndim, tj_dtype_name(v->dtype), v->ndim);
        for (int d = 0; d < a->ndim; d++) {
            if (((v->bcast >> d) & 1u) && a->shape[d] != 1)
                return tjI_error(ctx, node, TJ_ERR_SHAPE,
                                 "input %d is broadcastable on axis %d but has length %lld", i, d,
                                 (long long)a->shape[d]);
        }
    }
    return TJ_OK;
}

/* The result must be what the node says it is; for leaves this catches a stale value. */
static tj_status check_result(tj_ctx *ctx, const tj_var *node, const tj_array *r)
{
    if (r->dtype != node->dtype || r->ndim != node->ndim)
        return tjI_error(ctx, node, TJ_ERR_TYPE, "value is a %s array of rank %d",
                         tj_dtype_name(r->dtype), r->ndim);
    for (int d = 0; d < r->ndim; d++) {
        if (((node->bcast >> d) & 1u) && r->shape[d] != 1)
            return tjI_error(ctx, node, TJ_ERR_SHAPE,
                             "value has length %lld on broadcastable axis %d",
                             (long long)r->shape[d], d);
    }
    return TJ_OK;
}

tj_status tjI_eval_node(tj_ctx *ctx, const tj_var *node, tj_array *const *in, tj_array **out)
{
    if (!out)
        return tjC_error(ctx, TJ_ERR_INVALID, "tjI_eval_node: no place for the result");
    *out = NULL;
    if (!node || node->magic != TJ_VAR_MAGIC || (unsigned)node->op >= TJ_NUM_OPS ||
        !tj_dtype_valid(node->dtype) || node->ndim < 0 || node->ndim > TJ_MAX_NDIM ||
        (node->nattr > 0 && !node->attr))
        return tjC_error(ctx, TJ_ERR_INVALID, "tjI_eval_node: not a valid graph node");
    tj_status st = check_inputs(ctx, node, in);
    if (st != TJ_OK)
        return st;

    tj_array *r = NULL;
    if (tj_op_is(node->op, OPF_ELEMWISE)) {
        st = tjI_elemwise(ctx, node, in, &r);
    } else {
        switch (node->op) {
        case TJ_OP_INPUT:
        case TJ_OP_CONSTANT:
        case TJ_OP_SHARED: st = eval_leaf(ctx, node, &r); break;
        case TJ_OP_SUM: case TJ_OP_MEAN: case TJ_OP_PROD: case TJ_OP_MAX: case TJ_OP_MIN:
        case TJ_OP_ALL: case TJ_OP_ANY: case TJ_OP_ARGMAX: case TJ_OP_ARGMIN:
        case TJ_OP_SOFTMAX: case TJ_OP_LOG_SOFTMAX: case TJ_OP_LOGSUMEXP:
            st = tjI_reduce(ctx, node, in, &r);
            break;
        case TJ_OP_DOT: st = eval_dot(ctx, node, in, &r); break;
        case TJ_OP_GEMM: case TJ_OP_GEMV: case TJ_OP_GER: /* the optimizer's (interp_blas.c) */
            st = tjI_blas(ctx, node, in, &r);
            break;
        case TJ_OP_DIMSHUFFLE: st = eval_dimshuffle(ctx, node, in, &r); break;
        case TJ_OP_SHAPE_OF: st = eval_shape_of(ctx, node, in, &r); break;
        /* random numbers and gradient markers (the runtime's host steps call here too) */
        case TJ_OP_RANDOM:
        case TJ_OP_RNG_NEXT: st = tjS_random_eval(ctx, node, in, &r); break;
        case TJ_OP_ZERO_GRAD:
        case TJ_OP_DISCONNECTED_GRAD: r = tj_array_ref(in[0]); break;
        /* shape, indexing, matmul (interp_shape.c, interp_index.c, interp_linalg.c) */
        case TJ_OP_RESHAPE: case TJ_OP_JOIN: case TJ_OP_SPLIT: case TJ_OP_ALLOC:
        case TJ_OP_ARANGE: case TJ_OP_SLICE: case TJ_OP_INDEX: case TJ_OP_TAKE:
        case TJ_OP_SET_SUBTENSOR: case TJ_OP_INC_SUBTENSOR: case TJ_OP_MATMUL:
            st = tjI_shape_op(ctx, node, in, false, &r);
            break;
        default:
            st = tjI_error(ctx, node, TJ_ERR_INVALID, "the reference executor has no %s",
                           tjG_ops[node->op].name);
            break;
        }
    }
    if (st == TJ_OK)
        st = check_result(ctx, node, r);
    if (st != TJ_OK) {
        tj_array_unref(r);
        return st;
    }
    *out = r;
    return TJ_OK;
}

/* ---- the graph walk -------------------------------------------------------------------------- */

/* Open-addressing map from node pointer to its slot in the walk (graphs here need not belong to
 * a context, so node ids cannot index an array). */
typedef struct {
    const tj_var **keys;
    size_t *vals;
    size_t cap, n;
} nodemap;

static size_t hash_ptr(const void *p, size_t cap)
{
    uint64_t h = (uint64_t)(uintptr_t)p;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return (size_t)h & (cap - 1);
}

static bool map_find(const nodemap *m, const tj_var *v, size_t *val)
{
    if (m->cap == 0)
        return false;
    for (size_t i = hash_ptr(v, m->cap);; i = (i + 1) & (m->cap - 1)) {
        if (!m->keys[i])
            return false;
        if (m->keys[i] == v) {
            *val = m->vals[i];
            return true;
        }
    }
}

static bool map_grow(tj_ctx *ctx, nodemap *m)
{
    size_t cap = m->cap ? m->cap * 2 : 64;
    const tj_var **keys = tjC_calloc(ctx, cap, sizeof *keys);
    size_t *vals = tjC_calloc(ctx, cap, sizeof *vals);
    if (!keys || !vals) {
        tjC_free(ctx, keys);
        tjC_free(ctx, vals);
        return false;
    }
    for (size_t j = 0; j < m->cap; j++) {
        if (!m->keys[j])
            continue;
        size_t i = hash_ptr(m->keys[j], cap);
        while (keys[i])
            i = (i + 1) & (cap - 1);
        keys[i] = m->keys[j];
        vals[i] = m->vals[j];
    }
    tjC_free(ctx, m->keys);
    tjC_free(ctx, m->vals);
    m->keys = keys;
    m->vals = vals;
    m->cap = cap;
    return true;
}

/* Inserts v (not yet present) with value val. */
static bool map_put(tj_ctx *ctx, nodemap *m, const tj_var *v, size_t val)
{
    if (2 * (m->n + 1) > m->cap && !map_grow(ctx, m))
        return false;
    size_t i = hash_ptr(v, m->cap);
    while (m->keys[i])
        i = (i + 1) & (m->cap - 1);
    m->keys[i] = v;
    m->vals[i] = val;
    m->n++;
    return true;
}

/* Per-node state of one evaluation. Slots are numbered in discovery order. */
typedef struct {
    nodemap map;
    const tj_var **node;  /* slot -> node */
    tj_array **value;     /* slot -> current value (owned) or NULL */
    int64_t *uses;        /* slot -> consumers still to run (+1 per output occurrence) */
    unsigned char *state; /* 0 discovered, 1 on the DFS stack, 2 finished, 3 supplied */
    size_t *order;        /* post-order of non-supplied slots */
    size_t n, norder, cap;
} walk;

static bool walk_reserve(tj_ctx *ctx, walk *w)
{
    if (w->n < w->cap)
        return true;
    size_t cap = w->cap ? w->cap * 2 : 64;
    const tj_var **node = tjC_realloc(ctx, w->node, cap * sizeof *node);
    if (node)
        w->node = node;
    tj_array **value = tjC_realloc(ctx, w->value, cap * sizeof *value);
    if (value)
        w->value = value;
    int64_t *uses = tjC_realloc(ctx, w->uses, cap * sizeof *uses);
    if (uses)
        w->uses = uses;
    unsigned char *state = tjC_realloc(ctx, w->state, cap * sizeof *state);
    if (state)
        w->state = state;
    size_t *order = tjC_realloc(ctx, w->order, cap * sizeof *order);
    if (order)
        w->order = order;
    if (!node || !value || !uses || !state || !order)
        return false;
    w->cap = cap;
    return true;
}

/* A new slot for v; false on NOMEM. */
static bool walk_add(tj_ctx *ctx, walk *w, const tj_var *v, unsigned char state, size_t *slot)
{
    if (!walk_reserve(ctx, w) || !map_put(ctx, &w->map, v, w->n))
        return false;
    *slot = w->n++;
    w->node[*slot] = v;
    w->value[*slot] = NULL;
    w->uses[*slot] = 0;
    w->state[*slot] = state;
    return true;
}

static void walk_free(tj_ctx *ctx, walk *w)
{
    for (size_t i = 0; i < w->n; i++)
        tj_array_unref(w->value[i]);
    tjC_free(ctx, w->map.keys);
    tjC_free(ctx, w->map.vals);
    tjC_free(ctx, w->node);
    tjC_free(ctx, w->value);
    tjC_free(ctx, w->uses);
    tjC_free(ctx, w->state);
    tjC_free(ctx, w->order);
}

/* Iterative DFS from the outputs (a 100,000-node chain must not overflow the C stack); supplied
 * nodes are not descended into. Fills w->order with every needed node, inputs first. */
static tj_status walk_sort(tj_ctx *ctx, walk *w, tj_var *const *outs, int nouts)
{
    struct frame {
        size_t slot;
        int next;
    } *stack = NULL;
    size_t depth = 0, stack_cap = 0;
    tj_status st = TJ_OK;
    for (int o = 0; o < nouts && st == TJ_OK; o++) {
        size_t slot;
        if (map_find(&w->map, outs[o], &slot))
            continue;
        const tj_var *root = outs[o];
        for (;;) {
            if (root) {
                if (root->magic != TJ_VAR_MAGIC) {
                    st = tjI_error(ctx, NULL, TJ_ERR_INVALID, "the graph holds a non-variable");
                    break;
                }
                if (depth == stack_cap) {
                    size_t cap = stack_cap ? stack_cap * 2 : 64;
                    struct frame *s = tjC_realloc(ctx, stack, cap * sizeof *s);
                    if (!s)
                        goto nomem;
                    stack = s;
                    stack_cap = cap;
                }
                if (!walk_add(ctx, w, root, 1, &slot))
                    goto nomem;
                stack[depth++] = (struct frame){slot, 0};
                root = NULL;
            }
            if (depth == 0)
                break;
            struct frame *f = &stack[depth - 1];
            const tj_var *v = w->node[f->slot];
            if (v->nin > 0 && !v->in) {
                st = tjI_error(ctx, v, TJ_ERR_INVALID, "has %d inputs but no input list", v->nin);
                break;
            }
            if (f->next >= v->nin) {
                w->state[f->slot] = 2;
                w->order[w->norder++] = f->slot;
                depth--;
                continue;
            }
            const tj_var *child = v->in[f->next++];
            if (!child) {
                st = tjI_error(ctx, v, TJ_ERR_INVALID, "input %d is NULL", f->next - 1);
                break;
            }
            size_t cs;
            if (!map_find(&w->map, child, &cs)) {
                root = child;
            } else if (w->state[cs] == 1) {
                st = tjI_error(ctx, v, TJ_ERR_INVALID, "the graph has a cycle");
                break;
            }
        }
    }
    tjC_free(ctx, stack);
    return st;
nomem:
    tjC_free(ctx, stack);
    return tjC_error(ctx, TJ_ERR_NOMEM, "out of memory walking a graph of %zu nodes", w->n);
}

tj_status tjI_eval(tj_ctx *ctx, tj_var *const *inputs, tj_array *const *values, int nin,
                   tj_var *const *outs, int nouts, tj_array **results)
{
    if (nouts < 0 || nin < 0 || (nouts > 0 && (!outs || !results)) ||
        (nin > 0 && (!inputs || !values)))
        return tjC_error(ctx, TJ_ERR_INVALID, "tjI_eval: bad arguments");
    for (int j = 0; j < nouts; j++)
        results[j] = NULL;
    walk w;
    memset(&w, 0, sizeof w);
    tj_status st = TJ_OK;
    tj_array *in[3];
    tj_array **inv = in;
    size_t in_cap = 3, slot = 0; /* every node walked is in the map */

    /* Supplied values first: the walk stops at them, whatever op they are. */
    for (int i = 0; i < nin; i++) {
        if (!inputs[i] || inputs[i]->magic != TJ_VAR_MAGIC || !values[i] ||
            values[i]->magic != TJ_ARRAY_MAGIC) {
            st = tjC_error(ctx, TJ_ERR_INVALID, "tjI_eval: input %d or its value is missing", i);
            goto done;
        }
        if (map_find(&w.map, inputs[i], &slot)) {
            st = tjI_error(ctx, inputs[i], TJ_ERR_INVALID, "given two values");
            goto done;
        }
        if (!walk_add(ctx, &w, inputs[i], 3, &slot)) {
            st = tjC_error(ctx, TJ_ERR_NOMEM, "out of memory walking a graph");
            goto done;
        }
        if ((st = check_result(ctx, inputs[i], values[i])) != TJ_OK)
            goto done;
        w.value[slot] = tj_array_ref(values[i]);
    }
    for (int j = 0; j < nouts; j++) {
        if (!outs[j] || outs[j]->magic != TJ_VAR_MAGIC) {
            st = tjC_error(ctx, TJ_ERR_INVALID, "tjI_eval: output %d is not a variable", j);
            goto done;
        }
    }
    if ((st = walk_sort(ctx, &w, outs, nouts)) != TJ_OK)
        goto done;

    /* Reference counts: one per consuming edge, one per output occurrence. */
    for (size_t k = 0; k < w.norder; k++) {
        const tj_var *v = w.node[w.order[k]];
        for (int i = 0; i < v->nin; i++) {
            map_find(&w.map, v->in[i], &slot);
            w.uses[slot]++;
        }
    }
    for (int j = 0; j < nouts; j++) {
        map_find(&w.map, outs[j], &slot);
        w.uses[slot]++;
    }

    for (size_t k = 0; k < w.norder; k++) {
        size_t s = w.order[k];
        const tj_var *v = w.node[s];
        if ((size_t)v->nin > in_cap) {
            tj_array **p = inv == in ? tjC_malloc(ctx, v->nin * sizeof *p)
                                     : tjC_realloc(ctx, inv, v->nin * sizeof *p);
            if (!p) {
                st = tjC_error(ctx, TJ_ERR_NOMEM, "out of memory evaluating a graph");
                goto done;
            }
            inv = p;
            in_cap = (size_t)v->nin;
        }
        for (int i = 0; i < v->nin; i++) {
            map_find(&w.map, v->in[i], &slot);
            inv[i] = w.value[slot];
        }
        if ((st = tjI_eval_node(ctx, v, inv, &w.value[s])) != TJ_OK)
            goto done;
        /* Free intermediates as soon as their last consumer ran. */
        for (int i = 0; i < v->nin; i++) {
            map_find(&w.map, v->in[i], &slot);
            if (--w.uses[slot] == 0) {
                tj_array_unref(w.value[slot]);
                w.value[slot] = NULL;
            }
        }
    }
    for (int j = 0; j < nouts; j++) {
        map_find(&w.map, outs[j], &slot);
        results[j] = tj_array_ref(w.value[slot]);
    }
done:
    if (inv != in)
        tjC_free(ctx, inv);
    walk_free(ctx, &w);
    if (st != TJ_OK) {
        for (int j = 0; j < nouts; j++) {
            tj_array_unref(results[j]);
            results[j] = NULL;
        }
    }
    return st;
}
