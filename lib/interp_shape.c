/* Executing the shape ops of issue 3 (reshape, join, split, alloc, arange), and the family's
 * entry point tjI_shape_op, shared by both executors: the reference executor asks for fresh
 * C-contiguous results, the compiled plan (runtime_steps.c) accepts views that share their
 * operand's buffer (a reshape whose strides allow it, a split part). Inputs may have any strides.
 * Every size given at run time is checked here, with a sentence naming the node. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

/* ---- helpers shared with interp_index.c and interp_linalg.c ---------------------------------- */

void tjI_view_init(tj_array *v, tj_dtype dtype, int ndim, const int64_t *shape,
                   const int64_t *strides, char *data)
{
    memset(v, 0, sizeof *v);
    v->magic = TJ_ARRAY_MAGIC;
    atomic_init(&v->refcount, 1);
    v->dtype = dtype;
    v->ndim = ndim;
    v->size = 1;
    for (int d = 0; d < ndim; d++) {
        v->shape[d] = shape[d];
        v->strides[d] = strides[d];
        v->size *= shape[d]; /* bounded: a view of an existing array */
    }
    v->data = data;
}

int64_t tjI_int(const tj_array *a)
{
    switch (a->dtype) {
    case TJ_INT8: { int8_t v; memcpy(&v, a->data, sizeof v); return v; }
    case TJ_INT16: { int16_t v; memcpy(&v, a->data, sizeof v); return v; }
    case TJ_INT32: { int32_t v; memcpy(&v, a->data, sizeof v); return v; }
    case TJ_INT64: { int64_t v; memcpy(&v, a->data, sizeof v); return v; }
    case TJ_FLOAT32: case TJ_FLOAT64: return (int64_t)tjA_load(a->dtype, a->data, 0);
    default: { uint8_t v; memcpy(&v, a->data, sizeof v); return v; }
    }
}

static void release_base(void *base) { tj_array_unref(base); }

tj_status tjI_result(tj_ctx *ctx, const tj_var *node, tj_array *base, int ndim,
                     const int64_t *shape, const int64_t *strides, char *data, bool view,
                     tj_array **out)
{
    if (view) {
        *out = tjA_wrap(ctx, base->dtype, ndim, shape, strides, data, release_base, base);
        if (!*out)
            return tjI_error(ctx, node, TJ_ERR_NOMEM, "out of memory making a view");
        tj_array_ref(base);
        return TJ_OK;
    }
    tj_array v;
    tjI_view_init(&v, base->dtype, ndim, shape, strides, data);
    tj_status st = tjI_alloc(ctx, node, ndim, shape, out);
    if (st == TJ_OK)
        tjA_copy_into(*out, &v);
    return st;
}

/* numpy's spelling of a shape for messages: (3, 4), (5,), () */
static const char *shape_text(int ndim, const int64_t *shape, char *buf, size_t len)
{
    size_t n = (size_t)snprintf(buf, len, "(");
    for (int d = 0; d < ndim && n < len; d++)
        n += (size_t)snprintf(buf + n, len - n, "%s%lld", d ? ", " : "", (long long)shape[d]);
    if (n < len)
        snprintf(buf + n, len - n, ndim == 1 ? ",)" : ")");
    return buf;
}

/* ---- reshape --------------------------------------------------------------------------------- */

/* numpy's _attempt_nocopy_reshape: strides showing x's elements, in C order, with the new shape,
 * when the old strides allow it (x->size > 0). */
static bool nocopy_strides(const tj_array *x, int nd, const int64_t *newdims, int64_t *newstrides)
{
    int64_t olddims[TJ_MAX_NDIM], oldstrides[TJ_MAX_NDIM];
    int oldnd = 0;
    for (int d = 0; d < x->ndim; d++) {
        if (x->shape[d] != 1) {
            olddims[oldnd] = x->shape[d];
            oldstrides[oldnd++] = x->strides[d];
        }
    }
    int oi = 0, oj = 1, ni = 0, nj = 1;
    while (ni < nd && oi < oldnd) {
        int64_t np = newdims[ni], op = olddims[oi];
        while (np != op) {
            if (np < op)
                np *= newdims[nj++];
            else
                op *= olddims[oj++];
        }
        for (int ok = oi; ok < oj - 1; ok++)
            if (oldstrides[ok] != olddims[ok + 1] * oldstrides[ok + 1])
                return false;
        newstrides[nj - 1] = oldstrides[oj - 1];
        for (int nk = nj - 1; nk > ni; nk--)
            newstrides[nk - 1] = newstrides[nk] * newdims[nk];
        ni = nj++;
        oi = oj++;
    }
    int64_t last = ni >= 1 ? newstrides[ni - 1] : (int64_t)tj_dtype_size(x->dtype);
    for (int nk = ni; nk < nd; nk++)
        newstrides[nk] = last;
    return true;
}

static tj_status eval_reshape(tj_ctx *ctx, const tj_var *node, tj_array *const *in, bool view,
                              tj_array **out)
{
    tj_array *x = in[0];
    int64_t shape[TJ_MAX_NDIM], strides[TJ_MAX_NDIM], known = 1;
    int k = 1, infer = -1, nd = node->ndim;
    char b1[128], b2[128];
    bool overflow = false;
    for (int d = 0; d < nd; d++) {
        int64_t v = node->attr[d] == TJ_DYN ? tjI_int(in[k++]) : node->attr[d];
        if (v < -1)
            return tjI_error(ctx, node, TJ_ERR_VALUE, "size %lld for axis %d of the new shape is "
                             "negative (only -1, inferred, may be)", (long long)v, d);
        if (v == -1 && infer >= 0)
            return tjI_error(ctx, node, TJ_ERR_VALUE, "can only infer one size (-1) of the new "
                             "shape, but axes %d and %d are -1", infer, d);
        shape[d] = v;
        if (v == -1)
            infer = d;
        else
            overflow = overflow || __builtin_mul_overflow(known, v, &known);
    }
    if (infer >= 0 && !overflow && known > 0 && x->size % known == 0)
        shape[infer] = x->size / known;
    else if (infer >= 0 || overflow || known != x->size)
        return tjI_error(ctx, node, TJ_ERR_VALUE, "cannot reshape an array of size %lld (shape "
                         "%s) into shape %s", (long long)x->size,
                         shape_text(x->ndim, x->shape, b1, sizeof b1),
                         shape_text(nd, shape, b2, sizeof b2));
    if (x->size == 0 || nocopy_strides(x, nd, shape, strides)) {
        if (x->size == 0)
            for (int d = nd - 1; d >= 0; d--)
                strides[d] = (int64_t)tj_dtype_size(x->dtype);
        return tjI_result(ctx, node, x, nd, shape, strides, x->data, view, out);
    }
    /* a copy: x's elements in C order into a fresh array of the new shape */
    tj_status st = tjI_alloc(ctx, node, nd, shape, out);
    if (st != TJ_OK)
        return st;
    int64_t cs[TJ_MAX_NDIM], s = (int64_t)tj_dtype_size(x->dtype);
    for (int d = x->ndim - 1; d >= 0; d--) {
        cs[d] = s;
        s *= x->shape[d];
    }
    tj_array dst;
    tjI_view_init(&dst, x->dtype, x->ndim, x->shape, cs, (*out)->data);
    tjA_copy_into(&dst, x);
    return TJ_OK;
}

/* ---- join, split ----------------------------------------------------------------------------- */

static tj_status eval_join(tj_ctx *ctx, const tj_var *node, tj_array *const *in, tj_array **out)
{
    int ax = (int)node->attr[0], nd = node->ndim;
    int64_t shape[TJ_MAX_NDIM];
    memcpy(shape, in[0]->shape, sizeof(int64_t) * (size_t)nd);
    shape[ax] = 0;
    for (int i = 0; i < node->nin; i++) {
        for (int d = 0; d < nd; d++) {
            if (d != ax && in[i]->shape[d] != in[0]->shape[d])
                return tjI_error(ctx, node, TJ_ERR_SHAPE, "input %d has length %lld on axis %d "
                                 "but input 0 has %lld (all axes but the join axis %d must "
                                 "agree)", i, (long long)in[i]->shape[d], d,
                                 (long long)in[0]->shape[d], ax);
        }
        if (__builtin_add_overflow(shape[ax], in[i]->shape[ax], &shape[ax]))
            return tjI_error(ctx, node, TJ_ERR_VALUE, "the joined axis is too long");
    }
    tj_status st = tjI_alloc(ctx, node, nd, shape, out);
    int64_t off = 0;
    for (int i = 0; st == TJ_OK && i < node->nin; i++) {
        tj_array dst;
        tjI_view_init(&dst, node->dtype, nd, in[i]->shape, (*out)->strides,
                      (*out)->data + (in[i]->size ? off * (*out)->strides[ax] : 0));
        tjA_copy_into(&dst, in[i]);
        off += in[i]->shape[ax];
    }
    return st;
}

static tj_status eval_split(tj_ctx *ctx, const tj_var *node, tj_array *const *in, bool view,
                            tj_array **out)
{
    tj_array *x = in[0];
    int ax = (int)node->attr[0], part = (int)node->attr[1], n = (int)node->attr[2];
    const int64_t *sizes = node->attr + 3;
    int64_t len = x->shape[ax], sum = 0, start = 0, mine = 0;
    int infer = -1;
    bool overflow = false;
    for (int i = 0; i < n; i++) {
        if (sizes[i] == -1)
            infer = i;
        else
            overflow = overflow || __builtin_add_overflow(sum, sizes[i], &sum);
    }
    if (overflow)
        return tjI_error(ctx, node, TJ_ERR_VALUE, "the split sizes overflow int64");
    if ((infer < 0 && sum != len) || (infer >= 0 && sum > len))
        return tjI_error(ctx, node, TJ_ERR_VALUE, "the split sizes add up to %lld%s, but axis %d "
                         "of the input has length %lld", (long long)sum,
                         infer >= 0 ? " without the -1" : "", ax, (long long)len);
    for (int i = 0; i <= part; i++) {
        int64_t s = sizes[i] == -1 ? len - sum : sizes[i];
        if (i == part)
            mine = s;
        else
            start += s;
    }
    int64_t shape[TJ_MAX_NDIM];
    memcpy(shape, x->shape, sizeof(int64_t) * (size_t)x->ndim);
    shape[ax] = mine;
    char *data = x->data + (mine > 0 && x->size > 0 ? start * x->strides[ax] : 0);
    return tjI_result(ctx, node, x, x->ndim, shape, x->strides, data, view, out);
}

/* ---- alloc, arange --------------------------------------------------------------------------- */

static tj_status eval_alloc(tj_ctx *ctx, const tj_var *node, tj_array *const *in, tj_array **out)
{
    const tj_array *v = in[0];
    int nd = node->ndim, k = 1, lead = nd - v->ndim;
    int64_t shape[TJ_MAX_NDIM], strides[TJ_MAX_NDIM];
    for (int d = 0; d < nd; d++) {
        shape[d] = node->attr[d] == TJ_DYN ? tjI_int(in[k++]) : node->attr[d];
        if (shape[d] < 0)
            return tjI_error(ctx, node, TJ_ERR_VALUE, "size %lld for axis %d is negative",
                             (long long)shape[d], d);
    }
    for (int d = 0; d < nd; d++) {
        int j = d - lead;
        strides[d] = 0;
        if (j < 0 || v->shape[j] == shape[d]) {
            if (j >= 0)
                strides[d] = v->strides[j];
        } else if (!((node->in[0]->bcast >> j) & 1)) {
            return tjI_error(ctx, node, TJ_ERR_SHAPE, "the value has length %lld on its axis %d, "
                             "but the shape asks for %lld there (only broadcastable axes of the "
                             "value are broadcast)", (long long)v->shape[j], j,
                             (long long)shape[d]);
        }
    }
    tj_status st = tjI_alloc(ctx, node, nd, shape, out);
    if (st != TJ_OK || (*out)->size == 0)
        return st;
    size_t es = tj_dtype_size(node->dtype), total = (size_t)(*out)->size * es;
    if (v->size == 1) { /* fill by doubling copies */
        memcpy((*out)->data, v->data, es);
        for (size_t done = es; done < total;) {
            size_t n = done < total - done ? done : total - done;
            memcpy((*out)->data + done, (*out)->data, n);
            done += n;
        }
        return TJ_OK;
    }
    tj_array src;
    tjI_view_init(&src, node->dtype, nd, shape, strides, v->data);
    tjA_copy_into(*out, &src);
    return TJ_OK;
}

/* v into element i of out, integer to integer wrapping as numpy's astype */
static void store_int(tj_array *out, int64_t i, int64_t v)
{
    char *p = out->data + i * (int64_t)tj_dtype_size(out->dtype);
    switch (out->dtype) {
    case TJ_INT8: { int8_t x = (int8_t)(uint8_t)v; memcpy(p, &x, 1); break; }
    case TJ_INT16: { int16_t x = (int16_t)(uint16_t)v; memcpy(p, &x, 2); break; }
    case TJ_INT32: { int32_t x = (int32_t)(uint32_t)v; memcpy(p, &x, 4); break; }
    case TJ_INT64: memcpy(p, &v, 8); break;
    case TJ_UINT8: { uint8_t x = (uint8_t)v; memcpy(p, &x, 1); break; }
    default: tjA_store(out->dtype, out->data, i, (double)v); break;
    }
}

static tj_status eval_arange(tj_ctx *ctx, const tj_var *node, tj_array *const *in, tj_array **out)
{
    int64_t n;
    tj_status st;
    if (in[0]->dtype == TJ_INT64) {
        int64_t start = tjI_int(in[0]), stop = tjI_int(in[1]), step = tjI_int(in[2]);
        if (step == 0)
            return tjI_error(ctx, node, TJ_ERR_VALUE, "the step of arange is 0");
        __int128 span = step > 0 ? (__int128)stop - start : (__int128)start - stop;
        __int128 s = step > 0 ? (__int128)step : -(__int128)step;
        __int128 len = span > 0 ? (span + s - 1) / s : 0;
        if (len > TJ_BIG)
            return tjI_error(ctx, node, TJ_ERR_VALUE, "arange(%lld, %lld, %lld) is too long",
                             (long long)start, (long long)stop, (long long)step);
        n = (int64_t)len;
        if ((st = tjI_alloc(ctx, node, 1, &n, out)) != TJ_OK)
            return st;
        for (int64_t i = 0; i < n; i++)
            store_int(*out, i, (int64_t)((uint64_t)start + (uint64_t)i * (uint64_t)step));
        return TJ_OK;
    }
    double start = tjA_load(in[0]->dtype, in[0]->data, 0),
           stop = tjA_load(in[1]->dtype, in[1]->data, 0);
    double step = tjA_load(in[2]->dtype, in[2]->data, 0);
    if (step == 0)
        return tjI_error(ctx, node, TJ_ERR_VALUE, "the step of arange is 0");
    double len = __builtin_ceil((stop - start) / step);
    if (!(len < 0x1p62) && !(len <= 0)) /* NaN or huge */
        return tjI_error(ctx, node, TJ_ERR_VALUE, "arange(%g, %g, %g) has no finite length",
                         start, stop, step);
    n = len > 0 ? (int64_t)len : 0;
    if ((st = tjI_alloc(ctx, node, 1, &n, out)) != TJ_OK)
        return st;
    for (int64_t i = 0; i < n; i++)
        tjA_store(node->dtype, (*out)->data, i, start + (double)i * step);
    return TJ_OK;
}

/* ---- entry ----------------------------------------------------------------------------------- */

tj_status tjI_shape_op(tj_ctx *ctx, const tj_var *node, tj_array *const *in, bool view,
                       tj_array **out)
{
    *out = NULL;
    switch (node->op) {
    case TJ_OP_RESHAPE: return eval_reshape(ctx, node, in, view, out);
    case TJ_OP_JOIN: return eval_join(ctx, node, in, out);
    case TJ_OP_SPLIT: return eval_split(ctx, node, in, view, out);
    case TJ_OP_ALLOC: return eval_alloc(ctx, node, in, out);
    case TJ_OP_ARANGE: return eval_arange(ctx, node, in, out);
    case TJ_OP_MATMUL: return tjI_eval_matmul(ctx, node, in, out);
    case TJ_OP_SLICE: case TJ_OP_INDEX: case TJ_OP_TAKE: case TJ_OP_SET_SUBTENSOR:
    case TJ_OP_INC_SUBTENSOR:
        return tjI_eval_index(ctx, node, in, view, out);
    default:
        return tjI_error(ctx, node, TJ_ERR_INVALID, "%s is not a shape, indexing or linear "
                         "algebra op", tjG_ops[node->op].name);
    }
}
