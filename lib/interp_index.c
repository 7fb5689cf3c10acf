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

/* dst = src for one element of es bytes (every dtype has 1, 2, 4 or 8): fixed sizes, so the
 * copy is one move, not a call. */
static void copy_elem(char *dst, const char *src, size_t es)
{
    switch (es) {
    case 1: memcpy(dst, src, 1); break;
    case 2: memcpy(dst, src, 2); break;
    case 4: memcpy(dst, src, 4); break;
    default: memcpy(dst, src, 8); break;
    }
}

/* Copies a block of `shape` (nd >= 1 axes, coalesced) between two strided layouts: one memcpy
 * when it is contiguous in both, else a loop over the last axis, an odometer over the others. */
static void copy_block(char *o, const int64_t *ostr, const char *s, const int64_t *sstr,
                       const int64_t *shape, int nd, size_t es)
{
    int64_t pos[TJ_MAX_NDIM], rows = 1, len = shape[nd - 1], oo = 0, so = 0;
    int64_t oi = ostr[nd - 1], si = sstr[nd - 1];
    if (nd == 1 && oi == (int64_t)es && si == (int64_t)es) {
        memcpy(o, s, (size_t)len * es);
        return;
    }
    for (int d = 0; d < nd - 1; d++) { /* only the axes used: a block is a few elements, and
                                        * zeroing all TJ_MAX_NDIM was 70% of a small take */
        rows *= shape[d];
        pos[d] = 0;
    }
    for (int64_t r = 0; r < rows; r++) {
        for (int64_t i = 0; i < len; i++)
            copy_elem(o + oo + i * oi, s + so + i * si, es);
        for (int d = nd - 2; d >= 0; d--) { /* offsets, not pointers: they may step outside */
            oo += ostr[d];
            so += sstr[d];
            if (++pos[d] < shape[d])
                break;
            oo -= ostr[d] * shape[d];
            so -= sstr[d] * shape[d];
            pos[d] = 0;
        }
    }
}

/* o[k * os] = s[p[k] * ss] for k in [0, n), elements of es bytes: one loop per size, so each
 * copy is one move. */
static void gather(char *o, int64_t os, const char *s, int64_t ss, const int64_t *p, int64_t n,
                   size_t es)
{
#define GATHER(B)                                                                                  \
    for (int64_t k = 0; k < n; k++)                                                                \
        memcpy(o + k * os, s + p[k] * ss, B);                                                      \
    break
    switch (es) {
    case 1: GATHER(1);
    case 2: GATHER(2);
    case 4: GATHER(4);
    default: GATHER(8);
    }
#undef GATHER
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
            copy_block(orow + k * flat->strides[ax], bstr, xrow + p[k] * x->strides[ax],
                       bstr + TJ_MAX_NDIM, bshape, post_nd, es);
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

/* dst += src elementwise over one shape (any strides): floats in their dtype, integers wrap,
 * bool is or. An odometer over the outer axes, a typed loop over the last. */
#define ADD_ROW(T, ADD)                                                                           \
    for (int64_t i = 0; i < n; i++) {                                                             \
        T a, b;                                                                                   \
        memcpy(&a, d + i * ds, sizeof a);                                                         \
        memcpy(&b, s + i * ss, sizeof b);                                                         \
        a = ADD;                                                                                  \
        memcpy(d + i * ds, &a, sizeof a);                                                         \
    }

static void add_row(tj_dtype t, char *d, int64_t ds, const char *s, int64_t ss, int64_t n)
{
    switch (t) {
    case TJ_FLOAT32: ADD_ROW(float, a + b) break;
    case TJ_FLOAT64: ADD_ROW(double, a + b) break;
    case TJ_INT8: ADD_ROW(int8_t, (int8_t)(uint8_t)((uint8_t)a + (uint8_t)b)) break;
    case TJ_INT16: ADD_ROW(int16_t, (int16_t)(uint16_t)((uint16_t)a + (uint16_t)b)) break;
    case TJ_INT32: ADD_ROW(int32_t, (int32_t)((uint32_t)a + (uint32_t)b)) break;
    case TJ_INT64: ADD_ROW(int64_t, (int64_t)((uint64_t)a + (uint64_t)b)) break;
    case TJ_UINT8: ADD_ROW(uint8_t, (uint8_t)(a + b)) break;
    default: ADD_ROW(uint8_t, (uint8_t)((a | b) != 0)) break;
    }
}

static void add_into(tj_array *dst, const tj_array *src)
{
    if (dst->size == 0)
        return;
    /* coalesced first, as tjA_copy_into: length-1 axes would cost a row call per element */
    int64_t shape[TJ_MAX_NDIM], str[2 * TJ_MAX_NDIM]; /* [0]: dst, [1]: src, in bytes */
    int nd = tjA_coalesce_pair(dst->ndim, dst->shape, dst->strides, src->strides, shape, str);
    int last = nd - 1;
    const int64_t *dstr = str, *sstr = str + TJ_MAX_NDIM;
    int64_t idx[TJ_MAX_NDIM] = {0}, rows = dst->size / shape[last];
    uint64_t doff = 0, soff = 0;
    for (int64_t r = 0; r < rows; r++) {
        add_row(dst->dtype, dst->data + doff, dstr[last], src->data + soff, sstr[last],
                shape[last]);
        for (int d = last - 1; d >= 0; d--) {
            doff += (uint64_t)dstr[d];
            soff += (uint64_t)sstr[d];
            if (++idx[d] < shape[d])
                break;
            doff -= (uint64_t)dstr[d] * (uint64_t)shape[d];
            soff -= (uint64_t)sstr[d] * (uint64_t)shape[d];
            idx[d] = 0;
        }
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
        if (inc)
            add_into(&dst, &val);
        else
            tjA_copy_into(&dst, &val);
        goto done;
    }
    /* take: one slab of o per index, in order (duplicates accumulate or the last one wins) */
    int ax = r.ax, ni = in[2]->ndim;
    int64_t vidx[TJ_MAX_NDIM] = {0};
    const int64_t *p = (const int64_t *)(const void *)ind->data;
    for (int64_t k = 0; k < ind->size; k++) {
        int64_t voff = 0;
        for (int d = 0; d < ni; d++)
            voff += vidx[d] * val.strides[ax + d];
        tj_array dst, src;
        int64_t sshape[TJ_MAX_NDIM], sstrides[TJ_MAX_NDIM];
        for (int d = 0, n = 0; d < val.ndim; d++) {
            if (d >= ax && d < ax + ni)
                continue;
            sshape[n] = val.shape[d];
            sstrides[n++] = val.strides[d];
        }
        slab(&dst, o, ax, o->data + p[k] * o->strides[ax]);
        tjI_view_init(&src, val.dtype, val.ndim - ni, sshape, sstrides, val.data + voff);
        if (inc)
            add_into(&dst, &src);
        else
            tjA_copy_into(&dst, &src);
        for (int d = ni - 1; d >= 0; d--) {
            if (++vidx[d] < in[2]->shape[d])
                break;
            vidx[d] = 0;
        }
    }
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
