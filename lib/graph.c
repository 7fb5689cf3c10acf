/* Graph nodes: hash-consing (building the same expression twice gives the same node),
 * descriptions for messages, and an iterative topological order. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

bool tjG_valid(const tj_var *v) { return v && v->magic == TJ_VAR_MAGIC && tjC_valid(v->ctx); }

bool tjG_live(const tj_var *v, const char *fn)
{
    if (tjG_valid(v))
        return true;
    if (!v) {
        if (tjA_last_status() == TJ_OK) /* sticky: an earlier failure stays the one recorded */
            tjA_error(TJ_ERR_INVALID, "%s: an operand is NULL (when an earlier builder failed, "
                      "tj_errmsg of its context says why)", fn);
    } else {
        tjA_error(TJ_ERR_INVALID, "%s: an operand is not a live tj_var (another kind of handle, "
                  "or its context was freed)", fn);
    }
    return false;
}

static uint64_t mix(uint64_t h, uint64_t v)
{
    h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    return h * 0xff51afd7ed558ccdull;
}

static uint64_t hash_value(const tj_array *a)
{
    uint64_t h = mix((uint64_t)a->dtype, (uint64_t)a->ndim);
    for (int d = 0; d < a->ndim; d++)
        h = mix(h, (uint64_t)a->shape[d]);
    size_t n = (size_t)a->size * tj_dtype_size(a->dtype);
    for (size_t i = 0; i < n; i++) /* constants are contiguous copies */
        h = mix(h, (unsigned char)a->data[i]);
    return h;
}

static bool same_value(const tj_array *a, const tj_array *b)
{
    if (a->dtype != b->dtype || a->ndim != b->ndim)
        return false;
    if (memcmp(a->shape, b->shape, sizeof(int64_t) * (size_t)a->ndim) != 0)
        return false;
    return memcmp(a->data, b->data, (size_t)a->size * tj_dtype_size(a->dtype)) == 0;
}

static uint64_t node_hash(tj_op op, tj_dtype dtype, int ndim, uint32_t bcast, bool weak,
                          tj_var *const *in, int nin, const int64_t *attr, int nattr,
                          const tj_array *value)
{
    uint64_t h = mix(mix(mix((uint64_t)op, (uint64_t)dtype), (uint64_t)ndim), bcast);
    h = mix(h, weak);
    for (int i = 0; i < nin; i++)
        h = mix(h, in[i]->id);
    for (int i = 0; i < nattr; i++)
        h = mix(h, (uint64_t)attr[i]);
    if (value)
        h = mix(h, hash_value(value));
    return h;
}

static bool node_equal(const tj_var *v, tj_op op, tj_dtype dtype, int ndim, uint32_t bcast,
                       bool weak, tj_var *const *in, int nin, const int64_t *attr, int nattr,
                       const tj_array *value)
{
    if (v->op != op || v->dtype != dtype || v->ndim != ndim || v->bcast != bcast ||
        v->weak != weak || v->nin != nin || v->nattr != nattr)
        return false;
    for (int i = 0; i < nin; i++)
        if (v->in[i] != in[i])
            return false;
    for (int i = 0; i < nattr; i++)
        if (v->attr[i] != attr[i])
            return false;
    return !value || same_value(v->value, value);
}

static bool grow_table(tj_ctx *ctx)
{
    size_t nb = ctx->nbuckets * 2;
    tj_var **b = tjC_calloc(ctx, nb, sizeof *b);
    if (!b)
        return false;
    for (size_t i = 0; i < ctx->nbuckets; i++) {
        for (tj_var *v = ctx->buckets[i], *next; v; v = next) {
            next = v->hnext;
            v->hnext = b[v->hash & (nb - 1)];
            b[v->hash & (nb - 1)] = v;
        }
    }
    tjC_free(ctx, ctx->buckets);
    ctx->buckets = b;
    ctx->nbuckets = nb;
    return true;
}

/* Makes a node; `weak` is taken from value-less literal callers through tjG_make_weak. */
static tj_var *make(tj_ctx *ctx, tj_op op, tj_dtype dtype, int ndim, uint32_t bcast, bool weak,
                    tj_var *const *in, int nin, const int64_t *attr, int nattr, tj_array *value)
{
    bool unique = tj_op_is(op, OPF_UNIQUE);
    /* only constants are identified by their value (shared values change and may be strided) */
    const tj_array *key = op == TJ_OP_CONSTANT ? value : NULL;
    uint64_t h = node_hash(op, dtype, ndim, bcast, weak, in, nin, attr, nattr, key);
    if (!unique) {
        for (tj_var *v = ctx->buckets[h & (ctx->nbuckets - 1)]; v; v = v->hnext)
            if (node_equal(v, op, dtype, ndim, bcast, weak, in, nin, attr, nattr, key)) {
                tj_array_unref(value); /* the found node already holds an equal value */
                return v;
            }
    }
    if (ctx->nvars == ctx->vars_cap) {
        size_t cap = ctx->vars_cap ? ctx->vars_cap * 2 : 256;
        tj_var **vs = tjC_realloc(ctx, ctx->vars, cap * sizeof *vs);
        if (!vs)
            goto nomem;
        ctx->vars = vs;
        ctx->vars_cap = cap;
    }
    if (ctx->nvars * 2 > ctx->nbuckets && !grow_table(ctx))
        goto nomem;
    tj_var *v = tjC_alloc(ctx, sizeof *v);
    tj_var **vin = nin ? tjC_alloc(ctx, sizeof *vin * (size_t)nin) : NULL;
    int64_t *vattr = nattr ? tjC_alloc(ctx, sizeof *vattr * (size_t)nattr) : NULL;
    if (!v || (nin && !vin) || (nattr && !vattr)) {
        tj_array_unref(value);
        return NULL;
    }
    if (nin)
        memcpy(vin, in, sizeof *vin * (size_t)nin);
    if (nattr)
        memcpy(vattr, attr, sizeof *vattr * (size_t)nattr);
    *v = (tj_var){.magic = TJ_VAR_MAGIC, .op = op, .dtype = dtype, .ndim = ndim, .bcast = bcast,
                  .weak = weak, .nin = nin, .in = vin, .nattr = nattr, .attr = vattr,
                  .value = value, .ctx = ctx, .id = ctx->nvars, .hash = h};
    ctx->vars[ctx->nvars++] = v;
    if (!unique) {
        v->hnext = ctx->buckets[h & (ctx->nbuckets - 1)];
        ctx->buckets[h & (ctx->nbuckets - 1)] = v;
    }
    return v;
nomem:
    tj_array_unref(value);
    tjC_error(ctx, TJ_ERR_NOMEM, "out of memory adding a %s node to the graph", tjG_ops[op].name);
    return NULL;
}

tj_var *tjG_make(tj_ctx *ctx, tj_op op, tj_dtype dtype, int ndim, uint32_t bcast,
                 tj_var *const *in, int nin, const int64_t *attr, int nattr, tj_array *value)
{
    return make(ctx, op, dtype, ndim, bcast, false, in, nin, attr, nattr, value);
}

tj_var *tjG_make_weak(tj_ctx *ctx, tj_array *value)
{
    return make(ctx, TJ_OP_CONSTANT, value->dtype, 0, 0, true, NULL, 0, NULL, 0, value);
}

const char *tjG_describe(const tj_var *v, char *buf, size_t len)
{
    if (!v) {
        snprintf(buf, len, "(null)");
        return buf;
    }
    char shape[3 * TJ_MAX_NDIM + 4];
    size_t n = 0;
    shape[n++] = '(';
    for (int d = 0; d < v->ndim && n < sizeof shape - 4; d++) {
        n += (size_t)snprintf(shape + n, sizeof shape - n, "%s%s", d ? "," : "",
                              (v->bcast >> d) & 1 ? "1" : "?");
    }
    snprintf(shape + n, sizeof shape - n, ")");
    if (v->name)
        snprintf(buf, len, "'%s' (%s %s %s)", v->name, tjG_ops[v->op].name,
                 tj_dtype_name(v->dtype), shape);
    else
        snprintf(buf, len, "node #%llu (%s %s %s)", (unsigned long long)v->id,
                 tjG_ops[v->op].name, tj_dtype_name(v->dtype), shape);
    return buf;
}

/* *arr (of *cap elements of size es) with room for one more, doubled when full */
static bool room_for_one(tj_ctx *ctx, void **arr, size_t *cap, size_t used, size_t es)
{
    if (used < *cap)
        return true;
    void *p = tjC_realloc(ctx, *arr, es * *cap * 2);
    if (!p)
        return false;
    *arr = p;
    *cap *= 2;
    return true;
}

tj_var **tjG_toposort(tj_ctx *ctx, tj_var *const *outs, int nouts, size_t *n)
{
    /* Iterative DFS with an explicit stack: a 100,000-node chain must not overflow the C stack.
     * A node is unseen until its `sort` is this sort's number; its pos is SIZE_MAX while it is
     * on the stack, then its place in the order. */
    uint64_t sort = ++ctx->sorts;
    struct frame { tj_var *v; int next; };
    size_t cap = 64, scap = 64, count = 0;
    tj_var **order = tjC_malloc(ctx, sizeof *order * cap);
    struct frame *stack = tjC_malloc(ctx, sizeof *stack * scap);
    bool ok = order && stack;
    for (int o = 0; o < nouts && ok; o++) {
        if (outs[o]->sort == sort)
            continue;
        size_t sp = 0;
        stack[sp++] = (struct frame){outs[o], 0};
        outs[o]->sort = sort;
        outs[o]->pos = SIZE_MAX;
        while (sp && ok) {
            struct frame *f = &stack[sp - 1];
            if (f->next < f->v->nin) {
                tj_var *c = f->v->in[f->next++];
                if (c->sort != sort &&
                    (ok = room_for_one(ctx, (void **)&stack, &scap, sp, sizeof *stack))) {
                    c->sort = sort;
                    c->pos = SIZE_MAX;
                    stack[sp++] = (struct frame){c, 0};
                }
            } else if ((ok = room_for_one(ctx, (void **)&order, &cap, count, sizeof *order))) {
                f->v->pos = count;
                order[count++] = f->v;
                sp--;
            }
        }
    }
    tjC_free(ctx, stack);
    if (!ok) {
        tjC_free(ctx, order);
        ctx->sorts++; /* the positions of a sort cut short mean nothing */
        tjC_error(ctx, TJ_ERR_NOMEM, "out of memory sorting a graph (%zu nodes so far)", count);
        return NULL;
    }
    *n = count;
    return order;
}

/* ---- public introspection ---- */

tj_ctx *tj_var_ctx(const tj_var *v) { return tjG_live(v, "tj_var_ctx") ? v->ctx : NULL; }
tj_dtype tj_var_dtype(const tj_var *v)
{
    return tjG_live(v, "tj_var_dtype") ? v->dtype : TJ_NUM_DTYPES;
}
int tj_var_ndim(const tj_var *v) { return tjG_live(v, "tj_var_ndim") ? v->ndim : -1; }
const char *tj_var_name(const tj_var *v) { return tjG_live(v, "tj_var_name") ? v->name : NULL; }

bool tj_var_broadcastable(const tj_var *v, int axis)
{
    if (!tjG_live(v, "tj_var_broadcastable"))
        return false;
    if (axis < 0 || axis >= v->ndim) {
        tjC_error(v->ctx, TJ_ERR_VALUE, "tj_var_broadcastable: axis %d is out of range for a "
                  "variable of %d dimensions", axis, v->ndim);
        return false;
    }
    return (v->bcast >> axis) & 1;
}

tj_status tj_var_set_name(tj_var *v, const char *name)
{
    if (!tjG_live(v, "tj_var_set_name"))
        return TJ_ERR_INVALID;
    char *copy = name ? tjC_strdup(v->ctx, name) : NULL;
    if (name && !copy)
        return TJ_ERR_NOMEM;
    v->name = copy;
    return TJ_OK;
}
