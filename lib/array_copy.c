/* Strided copies between arrays of one shape: axes coalesced, then a row at a time.
 *
 * Its own file because its loops run once per element: the fuzz build leaves them out of
 * compare tracing (CMakeLists.txt), which would cost more than the copy. */
#include "internal.h"

#include <string.h>

/* Merges adjacent axes where every operand is contiguous across them and drops length-1 axes,
 * so a contiguous (1000, 1000) space becomes one flat loop of 10^6. */
int tjA_coalesce(int ndim, int64_t *shape, int nops, int64_t *strides /* [nops][TJ_MAX_NDIM] */)
{
    int w = 0;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] == 1)
            continue;
        if (w > 0) {
            bool merge = true;
            for (int k = 0; k < nops && merge; k++)
                merge = strides[k * TJ_MAX_NDIM + w - 1] ==
                        strides[k * TJ_MAX_NDIM + d] * shape[d];
            if (merge) {
                shape[w - 1] *= shape[d];
                for (int k = 0; k < nops; k++)
                    strides[k * TJ_MAX_NDIM + w - 1] = strides[k * TJ_MAX_NDIM + d];
                continue;
            }
        }
        shape[w] = shape[d];
        for (int k = 0; k < nops; k++)
            strides[k * TJ_MAX_NDIM + w] = strides[k * TJ_MAX_NDIM + d];
        w++;
    }
    if (w == 0) { /* a single element */
        shape[0] = 1;
        for (int k = 0; k < nops; k++)
            strides[k * TJ_MAX_NDIM] = 0;
        w = 1;
    }
    return w;
}

int tjA_coalesce_pair(int ndim, const int64_t *shape, const int64_t *a_strides,
                      const int64_t *b_strides, int64_t *cshape, int64_t *cstr)
{
    memcpy(cshape, shape, sizeof *cshape * (size_t)ndim);
    memcpy(cstr, a_strides, sizeof *cstr * (size_t)ndim);
    memcpy(cstr + TJ_MAX_NDIM, b_strides, sizeof *cstr * (size_t)ndim);
    return tjA_coalesce(ndim, cshape, 2, cstr);
}

void tjA_walk_rows(tjA_row_fn *row, const void *arg, char *a, const int64_t *astr,
                   const char *b, const int64_t *bstr, const int64_t *shape, int nd)
{
    int64_t pos[TJ_MAX_NDIM], rows = 1, ao = 0, bo = 0;
    for (int d = 0; d < nd - 1; d++) { /* only the axes used: a block is often a few elements,
                                        * and zeroing all TJ_MAX_NDIM was 70% of a small take */
        rows *= shape[d];
        pos[d] = 0;
    }
    for (int64_t r = 0; r < rows; r++) {
        row(arg, a + ao, astr[nd - 1], b + bo, bstr[nd - 1], shape[nd - 1]);
        for (int d = nd - 2; d >= 0; d--) { /* offsets, not pointers: they may step outside */
            ao += astr[d];
            bo += bstr[d];
            if (++pos[d] < shape[d])
                break;
            ao -= astr[d] * shape[d];
            bo -= bstr[d] * shape[d];
            pos[d] = 0;
        }
    }
}

void tjA_move_row(const void *arg, char *d, int64_t ds, const char *s, int64_t ss, int64_t n)
{
    size_t es = tj_dtype_size(*(const tj_dtype *)arg);
    if (ds == (int64_t)es && ss == (int64_t)es) {
        memcpy(d, s, (size_t)n * es);
        return;
    }
#define MOVE(B)                                                                                    \
    for (int64_t i = 0; i < n; i++)                                                                \
        memcpy(d + i * ds, s + i * ss, B);                                                         \
    break
    switch (es) { /* a constant size: a move, not a call */
    case 1: MOVE(1);
    case 2: MOVE(2);
    case 4: MOVE(4);
    default: MOVE(8);
    }
#undef MOVE
}

/* A row of tjA_copy_into: arg holds the two dtypes, destination first. */
static void convert_row(const void *arg, char *d, int64_t ds, const char *s, int64_t ss,
                        int64_t n)
{
    const tj_dtype *t = arg;
    if (t[0] == t[1])
        tjA_move_row(arg, d, ds, s, ss, n);
    else
        tjA_cast_row(t[0], t[1])(d, ds, s, ss, n);
}

void tjA_copy_into(tj_array *dst, const tj_array *src)
{
    if (!tjA_valid(dst) || !tjA_valid(src) || src->size == 0)
        return;
    /* length-1 axes dropped and contiguous runs merged first: an odometer step per element
     * walked every trailing length-1 axis, so a (n, 1, ..., 1) view cost n x ndim steps; two
     * contiguous arrays of one dtype become one row, one memcpy */
    int64_t shape[TJ_MAX_NDIM], str[2 * TJ_MAX_NDIM]; /* [0]: dst, [1]: src, in bytes */
    int nd = tjA_coalesce_pair(src->ndim, src->shape, dst->strides, src->strides, shape, str);
    tj_dtype types[2] = {dst->dtype, src->dtype};
    tjA_walk_rows(convert_row, types, dst->data, str, src->data, str + TJ_MAX_NDIM, shape, nd);
}
