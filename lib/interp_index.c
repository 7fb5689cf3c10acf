/* Executing the indexing ops of issue 3 (slice, index, take, set_subtensor, inc_subtensor) for
 * both executors: slices and integer indices are strided views when `view` is allowed, take
 * gathers, set/inc write into a fresh copy of x. Bounds follow Python: slices clamp, integer
 * indices outside [-len, len) are errors naming the node, the index and the length. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

/* The region x[sub] along one axis: the sub's attrs (axis first) and its extra inputs. */
typedef struct {
    int ax;
    int ndim;                   /* of the region */
    int64_t shape[TJ_MAX_NDIM]; /* of the region */
    int64_t strides[TJ_MAX_NDIM];
    int64_t offset;             /* bytes from x's data */
} region;

static int64_t clamp_big(int64_t v) { return v > TJ_BIG ? TJ_BIG : v < -TJ_BIG ? -TJ_BIG : v; }

/* Python's slice.indices(len) and the resulting view of x. */
static tj_status slice_region(tj_ctx *ctx, const tj_var *node, const tj_array *x,
                              const int64_t *attr, tj_array *const *extra, region *r)
{
    int k = 0, ax = (int)attr[0];
    int64_t v[3];
    for (int j = 0; j < 3; j++) {
        v[j] = attr[j + 1];
        if (v[j] == TJ_DYN)
            v[j] = clamp_big(tjI_int(extra[k++]));
    }
    int64_t len = x->shape[ax], step = v[2] == TJ_OPEN ? 1 : v[2];
    if (step == 0)
        return tjI_error(ctx, node, TJ_ERR_VALUE, "slice step cannot be zero");
    int64_t lower = step > 0 ? 0 : -1, upper = step > 0 ? len : len - 1;
    int64_t b[2];
    for (int j = 0; j < 2; j++) {
        int64_t e = v[j];
        if (e == TJ_OPEN) {
            b[j] = (j == 0) == (step > 0) ? lower : upper;
            continue;
        }
        if (e < 0)
            e += len;
        b[j] = e < lower ? lower : e > upper ? upper : e;
    }
    int64_t count = 0;
    if (step > 0 && b[1] > b[0])
        count = (b[1] - b[0] - 1) / step + 1;
    else if (step < 0 && b[0] > b[1])
        count = (b[0] - b[1] - 1) / -step + 1;
    r->ax = ax;
    r->ndim = x->ndim;
    memcpy(r->shape, x->shape, sizeof(int64_t) * (size_t)x->ndim);
    memcpy(r->strides, x->strides, sizeof(int64_t) * (size_t)x->ndim);
    r->shape[ax] = count;
    r->offset = count > 0 ? b[0] * x->strides[ax] : 0;
    if (count > 1)
        r->strides[ax] = x->strides[ax] * step;
    return TJ_OK;
}

static tj_status index_region(tj_ctx *ctx, const tj_var *node, const tj_array *x,
                              const int64_t *attr, tj_array *const *extra, region *r)
{
    int ax = (int)attr[0];
    int64_t i = attr[1] == TJ_DYN ? tjI_int(extra[0]) : attr[1], len = x->shape[ax];
    int64_t j = i < 0 ? i + len : i; /* i >= INT64_MIN and len >= 0: no overflow */
    if (j < 0 || j >= len)
        return tjI_error(ctx, node, TJ_ERR_VALUE, "index %lld is out of bounds for axis %d with "
                         "size %lld", (long long)i, ax, (long long)len);
    r->ax = ax;
    r->ndim = x->ndim - 1;
    for (int d = 0, n = 0; d < x->ndim; d++) {
        if (d == ax)
            continue;
        r->shape[n] = x->shape[d];
        r->strides[n++] = x->strides[d];
    }
    r->offset = j * x->strides[ax];
    return TJ_OK;
}

/* The indices of a take as a contiguous int64 array, each checked and made non-negative. */
static tj_status take_indices(tj_ctx *ctx, const tj_var *node, const tj_array *idx, int ax,
                              int64_t len, tj_array **out)
{
    *out = tjA_convert(ctx, idx, TJ_INT64);
    if (!*out)
        return tjI_error(ctx, node, TJ_ERR_NOMEM, "out of memory reading the indices");
    int64_t *p = (int64_t *)(void *)(*out)->data;
    for (int64_t k = 0; k < (*out)->size; k++) {
        int64_t j = p[k] < 0 ? p[k] + len : p[k];
        if (j < 0 || j >= len) {
            tjI_error(ctx, node, TJ_ERR_VALUE, "index %lld (at position %lld of the indices) is "
                      "out of bounds for axis %d with size %lld", (long long)p[k], (long long)k,
                      ax, (long long)len);
            tj_array_unref(*out);
            *out = NULL;
            return TJ_ERR_VALUE;
        }
        p[k] = j;
    }
    return TJ_OK;
}

/* x without axis ax (a slab), starting at data */
static void slab(tj_array *v, const tj_array *x, int ax, char *data)
{
    int64_t shape[TJ_MAX_NDIM], strides[TJ_MAX_NDIM];
    for (int d = 0, n = 0; d < x->ndim; d++) {
        if (d == ax)
            continue;
        shape[n] = x->shape[d];
        strides[n++] = x->strides[d];
    }
    tjI_view_init(v, x->dtype, x->ndim - 1, shape, strides, data);
}

/* The element loops of this file: for i in [0, n), the element at byte offset DST of d and the
 * one at SRC of s. One loop per element size (a copy is then one move, not a call) or per dtype
 * (dst += src: floats in their dtype, integers wrap, bool is or). */
#define MOVE_LOOP(B, DST, SRC)                                                                     \
    for (int64_t i = 0; i < n; i++)                                                                \
        memcpy(d + (DST), s + (SRC), B);                                                           \
    break
#define MOVE(es, DST, SRC)                                                                         \
    switch (es) {                                                                                  \
    case 1: MOVE_LOOP(1, DST, SRC);                                                                \
    case 2: MOVE_LOOP(2, DST, SRC);                                                                \
    case 4: MOVE_LOOP(4, DST, SRC);                                                                \
    default: MOVE_LOOP(8, DST, SRC);                                                               \
    }
#define ADD_LOOP(T, ADD, DST, SRC)                                                                 \
    for (int64_t i = 0; i < n; i++) {                                                              \
        T a, b;                                                                                    \
        memcpy(&a, d + (DST), sizeof a);                                                           \
        memcpy(&b, s + (SRC), sizeof b);                                                           \
        a = ADD;                                                                                   \
        memcpy(d + (DST), &a, sizeof a);                                                           \
    }                                                                                              \
    break
#define ADD(t, DST, SRC)                                                                           \
    switch (t) {                                                                                   \
    case TJ_FLOAT32: ADD_LOOP(float, a + b, DST, SRC);                                             \
    case TJ_FLOAT64: ADD_LOOP(double, a + b, DST, SRC);                                            \
    case TJ_INT8: ADD_LOOP(int8_t, (int8_t)(uint8_t)((uint8_t)a + (uint8_t)b), DST, SRC);          \
    case TJ_INT16: ADD_LOOP(int16_t, (int16_t)(uint16_t)((uint16_t)a + (uint16_t)b), DST, SRC);    \
    case TJ_INT32: ADD_LOOP(int32_t, (int32_t)((uint32_t)a + (uint32_t)b), DST, SRC);              \
    case TJ_INT64: ADD_LOOP(int64_t, (int64_t)((uint64_t)a + (uint64_t)b), DST, SRC);              \
    case TJ_UINT8: ADD_LOOP(uint8_t, (uint8_t)(a + b), DST, SRC);                                  \
    default: ADD_LOOP(uint8_t, (uint8_t)((a | b) != 0), DST, SRC);                                 \
    }

/* The row that adds, d[i * ds] += s[i * ss] (a tjA_row_fn; arg points to the dtype). */
static void add_row(const void *arg, char *d, int64_t ds, const char *s, int64_t ss, int64_t n)
{
    ADD(*(const tj_dtype *)arg, i * ds, i * ss)
}

/* A scatter with one element per index: d[p[i] * ds] = or += s[i * ss]. */
typedef void scatter_fn(tj_dtype t, char *d, int64_t ds, const char *s, int64_t ss,
                        const int64_t *p, int64_t n);

static void scatter_copy(tj_dtype t, char *d, int64_t ds, const char *s, int64_t ss,
                         const int64_t *p, int64_t n)
{
    MOVE(tjA_es(t), p[i] * ds, i * ss)
}

static void scatter_add(tj_dtype t, char *d, int64_t ds, const char *s, int64_t ss,
                        const int64_t *p, int64_t n)
{
    ADD(t, p[i] * ds, i * ss)
}

/* The gather of take with one element per index: d[i * ds] = s[p[i] * ss]. */
static void gather(char *d, int64_t ds, const char *s, int64_t ss, const int64_t *p, int64_t n,
                   size_t es)
{
    MOVE(es, i * ds, p[i] * ss)
}

/* Fewer than this many elements after the taken axis: take walks the output in order. */
enum { TAKE_BY_ROWS_BELOW = 256 };

/* take with few elements after the axis (a column gather, x[:, idx]): for each position before
 * the axis, every index in turn, so the output `flat` (pre, index, post) is written in order.
 * One slab per index wrote it with the stride of the whole index axis: 4000x4000 float32 along
 * axis 1 took 539 ms, numpy 55 ms. */
static void take_by_rows(const tj_array *x, int ax, const int64_t *p, int64_t n, tj_array *flat)
{
    size_t es = tjA_es(x->dtype);
    int post_nd = x->ndim - ax - 1;
    int64_t pos[TJ_MAX_NDIM] = {0}, pre = 1;
    for (int d = 0; d < ax; d++)
        pre *= x->shape[d];
    /* the block after the axis, coalesced once: a copy per element walked every length-1 axis */
    int64_t bshape[TJ_MAX_NDIM], bstr[2 * TJ_MAX_NDIM]; /* [0]: output, [1]: x, in bytes */
    if (post_nd > 0)
        post_nd = tjA_coalesce_pair(post_nd, x->shape + ax + 1, flat->strides + ax + 1,
                                    x->strides + ax + 1, bshape, bstr);
    for (int64_t r = 0; r < pre; r++) {
        const char *xrow = x->data;
        char *orow = flat->data;
        for (int d = 0; d < ax; d++) {
            xrow += pos[d] * x->strides[d];
            orow += pos[d] * flat->strides[d];
        }
        if (post_nd == 0) /* one element per index */
            gather(orow, flat->strides[ax], xrow, x->strides[ax], p, n, es);
        for (int64_t k = 0; k < n && post_nd > 0; k++)
            tjA_walk_rows(tjA_move_row, &x->dtype, orow + k * flat->strides[ax], bstr,
                          xrow + p[k] * x->strides[ax], bstr + TJ_MAX_NDIM, bshape, post_nd);
        for (int d = ax - 1; d >= 0 && ++pos[d] == x->shape[d]; d--)
            pos[d] = 0;
    }
}

static tj_status eval_take(tj_ctx *ctx, const tj_var *node, tj_array *const *in, tj_array **out)
{
    const tj_array *x = in[0], *idx = in[1];
    int ax = (int)node->attr[0], nd = node->ndim;
    tj_array *ind;
    tj_status st = take_indices(ctx, node, idx, ax, x->shape[ax], &ind);
    if (st != TJ_OK)
        return st;
    int64_t shape[TJ_MAX_NDIM];
    for (int d = 0; d < ax; d++)
        shape[d] = x->shape[d];
    for (int d = 0; d < idx->ndim; d++)
        shape[ax + d] = idx->shape[d];
    for (int d = ax + 1; d < x->ndim; d++)
        shape[d - 1 + idx->ndim] = x->shape[d];
    if ((st = tjI_alloc(ctx, node, nd, shape, out)) == TJ_OK && (*out)->size > 0) {
        /* the output as (pre, P, post): its index axes are contiguous, so they flatten */
        tj_array flat;
        int64_t fshape[TJ_MAX_NDIM], fstrides[TJ_MAX_NDIM];
        for (int d = 0; d < ax; d++) {
            fshape[d] = shape[d];
            fstrides[d] = (*out)->strides[d];
        }
        fshape[ax] = ind->size;
        fstrides[ax] = idx->ndim ? (*out)->strides[ax + idx->ndim - 1] : 0;
        for (int d = ax + 1; d < x->ndim; d++) {
            fshape[d] = x->shape[d];
            fstrides[d] = (*out)->strides[d - 1 + idx->ndim];
        }
        tjI_view_init(&flat, node->dtype, x->ndim, fshape, fstrides, (*out)->data);
        const int64_t *p = (const int64_t *)(const void *)ind->data;
        int64_t post = 1;
        for (int d = ax + 1; d < x->ndim; d++)
            post *= x->shape[d];
        if (post < TAKE_BY_ROWS_BELOW)
            take_by_rows(x, ax, p, ind->size, &flat);
        for (int64_t k = 0; post >= TAKE_BY_ROWS_BELOW && k < ind->size; k++) {
            tj_array src, dst;
            slab(&src, x, ax, x->data + p[k] * x->strides[ax]);
            slab(&dst, &flat, ax, flat.data + k * flat.strides[ax]);
            tjA_copy_into(&dst, &src);
        }
    }
    tj_array_unref(ind);
    return st;
}

/* ---- set / inc ------------------------------------------------------------------------------- */

/* dst = src or dst += src (row) over one shape, any strides: coalesced first, as tjA_copy_into,
 * since length-1 axes would cost a row call per element. */
static void store_into(tjA_row_fn *row, tj_array *dst, const tj_array *src)
{
    if (dst->size == 0)
        return;
    int64_t shape[TJ_MAX_NDIM], str[2 * TJ_MAX_NDIM]; /* [0]: dst, [1]: src, in bytes */
    int nd = tjA_coalesce_pair(dst->ndim, dst->shape, dst->strides, src->strides, shape, str);
    tjA_walk_rows(row, &dst->dtype, dst->data, str, src->data, str + TJ_MAX_NDIM, shape, nd);
}

/* The scatter of set/inc_subtensor through take: o[..., p[k], ...] = or += val[..., k..., ...].
 * For each position before the axis, each index in turn, its block after the axis, so duplicates
 * accumulate in order or the last one wins. One slab of o per index wrote a column scatter
 * (x[:, idx] += v) with the stride of the whole index axis: 4000x4000 float32 took 190 ms, the
 * same scatter along axis 0 20 ms. */
static void scatter_take(bool inc, tj_array *o, const tj_array *val, int ax, int ni,
                         const int64_t *ishape, const int64_t *p, int64_t n)
{
    /* the block after the axis, coalesced once; the index axes of val as one stride if they
     * collapse (then one element per index is a single scatter loop) */
    int64_t bshape[TJ_MAX_NDIM], bstr[2 * TJ_MAX_NDIM]; /* [0]: o, [1]: val, in bytes */
    int bnd = tjA_coalesce_pair(o->ndim - ax - 1, o->shape + ax + 1, o->strides + ax + 1,
                                val->strides + ax + ni, bshape, bstr);
    int64_t ish[TJ_MAX_NDIM], istr[TJ_MAX_NDIM];
    memcpy(ish, ishape, sizeof *ish * (size_t)ni);
    memcpy(istr, val->strides + ax, sizeof *istr * (size_t)ni);
    bool one_loop = bnd == 1 && bshape[0] == 1 && tjA_coalesce(ni, ish, 1, istr) == 1;
    tjA_row_fn *row = inc ? add_row : tjA_move_row;
    scatter_fn *scatter = inc ? scatter_add : scatter_copy;
    int64_t pos[TJ_MAX_NDIM], vidx[TJ_MAX_NDIM], pre = 1;
    for (int d = 0; d < ax; d++) {
        pre *= o->shape[d];
        pos[d] = 0;
    }
    for (int64_t r = 0; r < pre; r++) {
        char *orow = o->data;
        const char *vrow = val->data;
        for (int d = 0; d < ax; d++) {
            orow += pos[d] * o->strides[d];
            vrow += pos[d] * val->strides[d];
        }
        if (one_loop)
            scatter(o->dtype, orow, o->strides[ax], vrow, istr[0], p, n);
        int64_t voff = 0; /* of index k in val's index axes */
        for (int d = 0; d < ni; d++)
            vidx[d] = 0;
        for (int64_t k = 0; k < n && !one_loop; k++) {
            tjA_walk_rows(row, &o->dtype, orow + p[k] * o->strides[ax], bstr, vrow + voff,
                          bstr + TJ_MAX_NDIM, bshape, bnd);
            for (int d = ni - 1; d >= 0; d--) {
                voff += val->strides[ax + d];
                if (++vidx[d] < ishape[d])
                    break;
                voff -= val->strides[ax + d] * ishape[d];
                vidx[d] = 0;
            }
        }
        for (int d = ax - 1; d >= 0 && ++pos[d] == o->shape[d]; d--)
            pos[d] = 0;
    }
}

/* The value as a view over the region's shape: equal lengths, or broadcast (stride 0) along the
 * value's broadcastable axes. */
static tj_status value_view(tj_ctx *ctx, const tj_var *node, const tj_array *v, int ndim,
                            const int64_t *shape, tj_array *out)
{
    int64_t strides[TJ_MAX_NDIM];
    for (int d = 0; d < ndim; d++) {
        strides[d] = v->strides[d];
        if (v->shape[d] == shape[d])
            continue;
        if (!((node->in[1]->bcast >> d) & 1))
            return tjI_error(ctx, node, TJ_ERR_SHAPE, "the value has length %lld on axis %d but "
                             "the selected region has %lld (only broadcastable axes of the value "
                             "are broadcast)", (long long)v->shape[d], d, (long long)shape[d]);
        strides[d] = 0;
    }
    tjI_view_init(out, v->dtype, ndim, shape, strides, v->data);
    return TJ_OK;
}

static tj_status eval_set_inc(tj_ctx *ctx, const tj_var *node, tj_array *const *in,
                              tj_array **out)
{
    const tj_array *x = in[0], *v = in[1];
    tj_op kind = (tj_op)node->attr[0];
    const int64_t *sattr = node->attr + 1;
    bool inc = node->op == TJ_OP_INC_SUBTENSOR;
    tj_array *ind = NULL, val;
    region r;
    tj_status st;
    if (kind == TJ_OP_SLICE)
        st = slice_region(ctx, node, x, sattr, in + 2, &r);
    else if (kind == TJ_OP_INDEX)
        st = index_region(ctx, node, x, sattr, in + 2, &r);
    else if (kind == TJ_OP_TAKE)
        st = take_indices(ctx, node, in[2], (int)sattr[0], x->shape[sattr[0]], &ind);
    else
        st = tjI_error(ctx, node, TJ_ERR_INVALID, "the sub-tensor kind %lld is not slice, index "
                       "or take", (long long)node->attr[0]);
    if (st != TJ_OK)
        return st;
    if (kind == TJ_OP_TAKE) { /* region shape: x's with the axis replaced by the indices' */
        const tj_array *idx = in[2];
        int ax = (int)sattr[0];
        r.ax = ax;
        r.ndim = x->ndim - 1 + idx->ndim;
        for (int d = 0; d < ax; d++)
            r.shape[d] = x->shape[d];
        for (int d = 0; d < idx->ndim; d++)
            r.shape[ax + d] = idx->shape[d];
        for (int d = ax + 1; d < x->ndim; d++)
            r.shape[d - 1 + idx->ndim] = x->shape[d];
    }
    if (v->dtype != x->dtype) { /* the builder casts the value; the row loops rely on it */
        st = tjI_error(ctx, node, TJ_ERR_INVALID, "the value is %s but x is %s",
                       tj_dtype_name(v->dtype), tj_dtype_name(x->dtype));
        goto done;
    }
    if ((st = value_view(ctx, node, v, r.ndim, r.shape, &val)) != TJ_OK)
        goto done;
    if (!(*out = tjA_convert(ctx, x, x->dtype))) {
        st = tjI_error(ctx, node, TJ_ERR_NOMEM, "out of memory copying the input");
        goto done;
    }
    tj_array *o = *out;
    if (kind != TJ_OP_TAKE) {
        tj_array dst;
        int64_t strides[TJ_MAX_NDIM];
        /* the region's strides over the fresh copy o (contiguous), not over x */
        region ro;
        st = kind == TJ_OP_SLICE ? slice_region(ctx, node, o, sattr, in + 2, &ro)
                                 : index_region(ctx, node, o, sattr, in + 2, &ro);
        if (st != TJ_OK)
            goto done;
        memcpy(strides, ro.strides, sizeof strides);
        tjI_view_init(&dst, o->dtype, ro.ndim, ro.shape, strides, o->data + ro.offset);
        store_into(inc ? add_row : tjA_move_row, &dst, &val);
        goto done;
    }
    scatter_take(inc, o, &val, r.ax, in[2]->ndim, in[2]->shape,
                 (const int64_t *)(const void *)ind->data, ind->size);
done:
    tj_array_unref(ind);
    if (st != TJ_OK) {
        tj_array_unref(*out);
        *out = NULL;
    }
    return st;
}

tj_status tjI_eval_index(tj_ctx *ctx, const tj_var *node, tj_array *const *in, bool view,
                         tj_array **out)
{
    *out = NULL;
    region r;
    tj_status st;
    switch (node->op) {
    case TJ_OP_SLICE:
        st = slice_region(ctx, node, in[0], node->attr, in + 1, &r);
        break;
    case TJ_OP_INDEX:
        st = index_region(ctx, node, in[0], node->attr, in + 1, &r);
        break;
    case TJ_OP_TAKE:
        return eval_take(ctx, node, in, out);
    default:
        return eval_set_inc(ctx, node, in, out);
    }
    if (st != TJ_OK)
        return st;
    return tjI_result(ctx, node, in[0], r.ndim, r.shape, r.strides, in[0]->data + r.offset, view,
                      out);
}
