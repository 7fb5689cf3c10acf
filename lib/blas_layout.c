/* Array layouts OpenBLAS accepts without a copy (see blas_layout.h). */
#include "blas_layout.h"

bool tjB_as_mat(const tj_array *a, tjB_mat *m)
{
    int64_t e = (int64_t)tj_dtype_size(a->dtype), r = a->shape[0], c = a->shape[1];
    if ((uintptr_t)a->data % (uintptr_t)e)
        return false;
    /* the stride of a length-1 axis is meaningless: give it the value the layout wants */
    int64_t s0 = r == 1 ? tjB_max1(c) * e : a->strides[0], s1 = c == 1 ? e : a->strides[1];
    if (s1 == e && s0 % e == 0 && s0 / e >= tjB_max1(c) && tjB_fits_int(s0 / e)) {
        *m = (tjB_mat){a->data, false, (blasint)(s0 / e)};
        return true;
    }
    s0 = r == 1 ? e : a->strides[0];
    s1 = c == 1 ? tjB_max1(r) * e : a->strides[1];
    if (s0 == e && s1 % e == 0 && s1 / e >= tjB_max1(r) && tjB_fits_int(s1 / e)) {
        *m = (tjB_mat){a->data, true, (blasint)(s1 / e)};
        return true;
    }
    return false;
}

bool tjB_as_vec(const tj_array *a, blasint *inc)
{
    int64_t e = (int64_t)tj_dtype_size(a->dtype), s = a->strides[0];
    if ((uintptr_t)a->data % (uintptr_t)e)
        return false;
    if (a->shape[0] <= 1) {
        *inc = 1;
        return true;
    }
    if (s <= 0 || s % e != 0 || !tjB_fits_int(s / e))
        return false;
    *inc = (blasint)(s / e);
    return true;
}

const tj_array *tjB_ready(tj_ctx *ctx, const tj_array *a, tj_array **tmp)
{
    tjB_mat m;
    blasint inc;
    if (a->ndim == 2 ? tjB_as_mat(a, &m) : tjB_as_vec(a, &inc))
        return a;
    *tmp = tjA_convert(ctx, a, a->dtype);
    return *tmp;
}
