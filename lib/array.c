/* Arrays: n-d, reference counted, independent of any context.
 *
 * Errors go to a per-thread slot (tjA_error) read by tj_errcode(NULL) / tj_errmsg(NULL). As in
 * Cairo, a NULL array argument never overwrites the recorded error (it is usually the result of
 * an earlier failure, which stays the one reported); a non-NULL handle that is not a live array
 * records TJ_ERR_INVALID.
 *
 * Sizes follow numpy: the product of the non-zero dimensions times the element size must fit in
 * int64 (and size_t) even when some dimension is 0, so every stride is representable. Owned data
 * is 64-byte aligned and never NULL, even for zero elements. */
#include "internal.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sysinfo.h>

#define TJ_ALIGN 64
/* Data blocks of at least TJ_HUGE_MIN bytes from the C library start on a 2 MiB boundary and are
 * advised to use transparent huge pages (as NumPy does; this kernel gives them only on advice): a
 * streaming kernel then needs one TLB entry per 2 MiB instead of 512 (column sums of 4000x4000
 * float32: 6-8% faster here), and a fresh buffer faults in 2 MiB at a time. TJ_HUGEPAGES=off
 * turns it off. */
#define TJ_HUGE_PAGE ((size_t)1 << 21)
#define TJ_HUGE_MIN ((size_t)4 << 20)

/* ---- the thread's error slot ----------------------------------------------------------------- */
static _Thread_local tj_status last_status;
static _Thread_local char last_msg[1024]; /* as long as tj_ctx's errmsg: tjC_error forwards */

void tjA_error(tj_status st, const char *fmt, ...)
{
    last_status = st;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_msg, sizeof last_msg, fmt, ap);
    va_end(ap);
}

tj_status tjA_last_status(void) { return last_status; }
const char *tjA_last_msg(void) { return last_status == TJ_OK ? "" : last_msg; }

void tjA_clear_error(void)
{
    last_status = TJ_OK;
    last_msg[0] = '\0';
}

bool tjA_valid(const tj_array *a) { return a && a->magic == TJ_ARRAY_MAGIC; }

/* NULL: no record (sticky); otherwise a dead or foreign handle records TJ_ERR_INVALID. */
static bool check_array(const tj_array *a, const char *fn, const char *arg)
{
    if (tjA_valid(a))
        return true;
    if (a)
        tjA_error(TJ_ERR_INVALID, "%s: %s is not a live tj_array (freed or not an array)", fn, arg);
    else if (tjA_last_status() == TJ_OK) /* sticky: keep the failure that produced the NULL */
        tjA_error(TJ_ERR_INVALID, "%s: %s is NULL; expected a tj_array", fn, arg);
    return false;
}

/* ---- shapes ---------------------------------------------------------------------------------- */

/* Validates dtype, ndim and shape; *size gets the element count and *bytes the byte count of a
 * C-contiguous buffer. Errors name `fn`. */
static bool check_shape(const char *fn, tj_dtype dtype, int ndim, const int64_t *shape,
                        int64_t *size, size_t *bytes)
{
    if (!tj_dtype_valid((int)dtype)) {
        tjA_error(TJ_ERR_TYPE, "%s: dtype is %d; expected a tj_dtype from TJ_BOOL to TJ_FLOAT64",
                  fn, (int)dtype);
        return false;
    }
    if (ndim < 0 || ndim > TJ_MAX_NDIM) {
        tjA_error(TJ_ERR_VALUE, "%s: ndim is %d; expected 0 to %d", fn, ndim, TJ_MAX_NDIM);
        return false;
    }
    if (ndim > 0 && !shape) {
        tjA_error(TJ_ERR_INVALID, "%s: shape is NULL but ndim is %d; expected %d dimensions", fn,
                  ndim, ndim);
        return false;
    }
    int64_t nonzero = 1, n = 1;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] < 0) {
            tjA_error(TJ_ERR_VALUE, "%s: shape[%d] is %" PRId64 "; dimensions must be >= 0", fn, d,
                      shape[d]);
            return false;
        }
        if (shape[d] == 0) {
            n = 0;
            continue;
        }
        if (__builtin_mul_overflow(nonzero, shape[d], &nonzero)) {
            tjA_error(TJ_ERR_VALUE,
                      "%s: shape has too many elements (the product overflows int64 at shape[%d] = "
                      "%" PRId64 ")",
                      fn, d, shape[d]);
            return false;
        }
    }
    int64_t nbytes;
    if (__builtin_mul_overflow(nonzero, (int64_t)tj_dtype_size(dtype), &nbytes) ||
        (uint64_t)nbytes > SIZE_MAX - TJ_ALIGN) {
        tjA_error(TJ_ERR_VALUE,
                  "%s: shape has %" PRId64 " elements of %s; the byte count overflows int64", fn,
                  nonzero, tj_dtype_name(dtype));
        return false;
    }
    *size = n ? nonzero : 0;
    *bytes = n ? (size_t)nbytes : 0;
    return true;
}

bool tjA_shape_size(int ndim, const int64_t *shape, int64_t *out)
{
    int64_t nonzero = 1;
    bool empty = false;
    if (ndim < 0 || (ndim > 0 && !shape))
        return false;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] < 0)
            return false;
        if (shape[d] == 0)
            empty = true;
        else if (__builtin_mul_overflow(nonzero, shape[d], &nonzero))
            return false;
    }
    *out = empty ? 0 : nonzero;
    return true;
}

/* C-order byte strides; a zero dimension counts as 1, as in numpy. */
static void contiguous_strides(tj_dtype dtype, int ndim, const int64_t *shape, int64_t *strides)
{
    int64_t s = (int64_t)tj_dtype_size(dtype);
    for (int d = ndim - 1; d >= 0; d--) {
        strides[d] = s;
        if (shape[d])
            s *= shape[d]; /* cannot overflow: check_shape bounded the non-zero product */
    }
}

bool tjA_is_contiguous(const tj_array *a)
{
    return tjA_valid(a) && tjA_contiguous_es(a, (int64_t)tjA_es(a->dtype));
}

/* ---- construction and destruction ------------------------------------------------------------ */

uint64_t tjA_new_serial(void)
{
    /* each thread takes a block of serials at a time: no shared counter on every header */
    enum { BLOCK = 1 << 16 };
    static atomic_uint_least64_t taken = BLOCK; /* the first block is never handed out: no 0 */
    static _Thread_local uint64_t next, end;
    if (next == end) {
        next = atomic_fetch_add_explicit(&taken, BLOCK, memory_order_relaxed);
        end = next + BLOCK;
    }
    return next++;
}

/* The header with shape and contiguous strides, no data. */
static tj_array *new_header(tj_ctx *ctx, const char *fn, tj_dtype dtype, int ndim,
                            const int64_t *shape, int64_t size)
{
    tj_array *a = tjC_calloc(ctx, 1, sizeof *a);
    if (!a) {
        tjA_error(TJ_ERR_NOMEM, "%s: out of memory allocating an array header", fn);
        return NULL;
    }
    if (ctx)
        a->mem = ctx->mem;
    a->magic = TJ_ARRAY_MAGIC;
    a->serial = tjA_new_serial();
    atomic_init(&a->refcount, 1);
    a->dtype = dtype;
    a->ndim = ndim;
    a->size = size;
    if (ndim > 0)
        memcpy(a->shape, shape, (size_t)ndim * sizeof *shape);
    contiguous_strides(dtype, ndim, a->shape, a->strides);
    return a;
}

/* The header and its aligned data block, both from ctx's allocator. */
/* What the system can back: RAM plus swap, the bound Linux's default overcommit heuristic
 * refuses above. A larger request is refused here, with the sizes in the message, rather than
 * left to malloc (which a sanitizer turns into an abort instead of NULL). */
static unsigned long long memory_limit(void)
{
    static _Atomic unsigned long long limit;
    unsigned long long l = atomic_load(&limit);
    if (l == 0) {
        struct sysinfo si;
        l = sysinfo(&si) == 0 ? ((unsigned long long)si.totalram + si.totalswap) * si.mem_unit
                              : ~0ull;
        atomic_store(&limit, l ? l : ~0ull);
    }
    return l;
}

static bool hugepages_on(void)
{
    static _Atomic int on = -1; /* read once: -1 not yet */
    int v = atomic_load_explicit(&on, memory_order_relaxed);
    if (v < 0) {
        v = !tjC_env_off("TJ_HUGEPAGES");
        atomic_store_explicit(&on, v, memory_order_relaxed);
    }
    return v;
}

static tj_array *alloc_array(tj_ctx *ctx, const char *fn, tj_dtype dtype, int ndim,
                             const int64_t *shape, bool zero)
{
    int64_t size;
    size_t bytes;
    if (!check_shape(fn, dtype, ndim, shape, &size, &bytes))
        return NULL;
    if (bytes > memory_limit()) {
        tjA_error(TJ_ERR_NOMEM,
                  "%s: out of memory: %" PRId64 " %s elements need %zu bytes, more than this "
                  "machine's memory and swap (%llu bytes)",
                  fn, size, tj_dtype_name(dtype), bytes, memory_limit());
        return NULL;
    }
    tj_array *a = new_header(ctx, fn, dtype, ndim, shape, size);
    if (!a)
        return NULL;
    /* aligned_alloc wants a multiple of the alignment; zero bytes still gets a real block. A
     * user allocator gives no alignment promise: take TJ_ALIGN more and align inside. */
    size_t rounded = bytes ? (bytes + TJ_ALIGN - 1) / TJ_ALIGN * TJ_ALIGN : TJ_ALIGN;
    if (ctx && ctx->mem.malloc_fn) {
        a->raw = tjC_malloc(ctx, rounded + TJ_ALIGN);
        a->data = a->raw ? (char *)(((uintptr_t)a->raw + TJ_ALIGN - 1) & ~(uintptr_t)(TJ_ALIGN - 1))
                         : NULL;
    } else if (rounded >= TJ_HUGE_MIN && hugepages_on()) {
        size_t whole = (rounded + TJ_HUGE_PAGE - 1) & ~(TJ_HUGE_PAGE - 1);
        a->raw = a->data = aligned_alloc(TJ_HUGE_PAGE, whole);
        if (a->data) /* advice: where the kernel declines, nothing changes */
            madvise(a->data, whole, MADV_HUGEPAGE);
    } else {
        a->raw = a->data = aligned_alloc(TJ_ALIGN, rounded);
    }
    if (!a->data) {
        tjA_error(TJ_ERR_NOMEM, "%s: out of memory allocating %zu bytes for %" PRId64 " %s", fn,
                  bytes, size, tj_dtype_name(dtype));
        tjC_mem_free(&a->mem, a);
        return NULL;
    }
    if (zero)
        memset(a->data, 0, bytes);
    a->owns_data = true;
    return a;
}

tj_array *tjA_alloc(tj_ctx *ctx, tj_dtype dtype, int ndim, const int64_t *shape, bool zero)
{
    return alloc_array(ctx, "array allocation", dtype, ndim, shape, zero);
}

tj_array *tj_array_new(tj_dtype dtype, int ndim, const int64_t *shape)
{
    return alloc_array(NULL, "tj_array_new", dtype, ndim, shape, true);
}

tj_array *tj_array_from_data(tj_dtype dtype, int ndim, const int64_t *shape, const void *data)
{
    if (!data) {
        tjA_error(TJ_ERR_INVALID, "tj_array_from_data: data is NULL; expected a buffer of the "
                                  "array's elements in C order");
        return NULL;
    }
    tj_array *a = alloc_array(NULL, "tj_array_from_data", dtype, ndim, shape, false);
    if (!a)
        return NULL;
    if (dtype == TJ_BOOL) {
        /* normalize so every stored bool is 0 or 1 */
        const uint8_t *src = data;
        for (int64_t i = 0; i < a->size; i++)
            a->data[i] = src[i] != 0;
    } else {
        memcpy(a->data, data, (size_t)a->size * tj_dtype_size(dtype));
    }
    return a;
}

/* The byte offsets of a strided view, sum (shape[d] - 1) * |strides[d]|, fit in int64 (so no
 * element address computation overflows). */
static bool strides_fit(int ndim, const int64_t *shape, const int64_t *strides)
{
    int64_t extent = 0, term;
    for (int d = 0; d < ndim; d++) {
        int64_t st = strides[d];
        if (st == INT64_MIN || __builtin_mul_overflow(shape[d] - 1, st < 0 ? -st : st, &term) ||
            __builtin_add_overflow(extent, term, &extent)) {
            tjA_error(TJ_ERR_VALUE, "tj_array_wrap: strides[%d] = %" PRId64 " over %" PRId64
                      " elements reaches past 2^63 bytes; expected strides of a real buffer",
                      d, st, shape[d]);
            return false;
        }
    }
    return true;
}

tj_array *tj_array_wrap(tj_dtype dtype, int ndim, const int64_t *shape,
                        const int64_t *strides_bytes, void *data, void (*release)(void *),
                        void *release_arg)
{
    return tjA_wrap(NULL, dtype, ndim, shape, strides_bytes, data, release, release_arg);
}

tj_array *tjA_wrap(tj_ctx *ctx, tj_dtype dtype, int ndim, const int64_t *shape,
                   const int64_t *strides_bytes, void *data, void (*release)(void *),
                   void *release_arg)
{
    int64_t size;
    size_t bytes;
    if (!data) {
        tjA_error(TJ_ERR_INVALID, "tj_array_wrap: data is NULL; expected the buffer to borrow");
        return NULL;
    }
    if (!check_shape("tj_array_wrap", dtype, ndim, shape, &size, &bytes))
        return NULL;
    if (strides_bytes && size > 0 && !strides_fit(ndim, shape, strides_bytes))
        return NULL;
    tj_array *a = new_header(ctx, "tj_array_wrap", dtype, ndim, shape, size);
    if (!a)
        return NULL; /* on failure the caller keeps its buffer: release is not called */
    if (strides_bytes && ndim > 0)
        memcpy(a->strides, strides_bytes, (size_t)ndim * sizeof *strides_bytes);
    a->data = data;
    a->release = release;
    a->release_arg = release_arg;
    a->owns_data = false;
    return a;
}

tj_array *tj_array_scalar(tj_dtype dtype, double value) { return tjA_scalar(NULL, dtype, value); }

tj_array *tjA_scalar(tj_ctx *ctx, tj_dtype dtype, double value)
{
    tj_array *a = alloc_array(ctx, "tj_array_scalar", dtype, 0, NULL, false);
    if (a)
        tjA_store(dtype, a->data, 0, value);
    return a;
}

tj_array *tj_array_ref(tj_array *a)
{
    if (!a || !check_array(a, "tj_array_ref", "the array")) /* NULL-safe */
        return NULL;
    atomic_fetch_add_explicit(&a->refcount, 1, memory_order_relaxed);
    return a;
}

void tj_array_unref(tj_array *a)
{
    if (!a || !check_array(a, "tj_array_unref", "the array")) /* NULL-safe */
        return;
    tjA_unref(a);
}

void tjA_free(tj_array *a)
{
    if (a->owns_data)
        tjC_mem_free(&a->mem, a->raw);
    else if (a->release)
        a->release(a->release_arg);
    a->magic = 0; /* a stale handle then fails tjA_valid instead of being used */
    tj_allocator mem = a->mem;
    tjC_mem_free(&mem, a);
}

/* ---- accessors ------------------------------------------------------------------------------- */

#define ARG(a, fn) check_array(a, fn, "the array")
tj_dtype tj_array_dtype(const tj_array *a)
{
    return ARG(a, "tj_array_dtype") ? a->dtype : TJ_NUM_DTYPES;
}
int tj_array_ndim(const tj_array *a) { return ARG(a, "tj_array_ndim") ? a->ndim : -1; }
const int64_t *tj_array_shape(const tj_array *a)
{
    return ARG(a, "tj_array_shape") ? a->shape : NULL;
}
const int64_t *tj_array_strides(const tj_array *a)
{
    return ARG(a, "tj_array_strides") ? a->strides : NULL;
}
int64_t tj_array_size(const tj_array *a) { return ARG(a, "tj_array_size") ? a->size : -1; }

void *tj_array_data(tj_array *a)
{
    return ARG(a, "tj_array_data") && tjA_is_contiguous(a) ? a->data : NULL;
}
#undef ARG

/* Byte offset of a multi-index. Unsigned arithmetic: wrapped strides are the caller's promise,
 * and a nonsense stride must not be signed-overflow UB here. */
static int64_t offset_of(const tj_array *a, const int64_t *index)
{
    uint64_t off = 0;
    for (int d = 0; d < a->ndim; d++)
        off += (uint64_t)index[d] * (uint64_t)a->strides[d];
    return (int64_t)off;
}

static bool check_index(const tj_array *a, const int64_t *index, const char *fn)
{
    if (a->ndim > 0 && !index) {
        tjA_error(TJ_ERR_INVALID, "%s: index is NULL; expected %d entries for a %d-d array", fn,
                  a->ndim, a->ndim);
        return false;
    }
    for (int d = 0; d < a->ndim; d++) {
        if (index[d] < 0 || index[d] >= a->shape[d]) {
            tjA_error(TJ_ERR_VALUE,
                      "%s: index[%d] is %" PRId64 "; axis %d has length %" PRId64
                      " (expected 0 <= index < length)",
                      fn, d, index[d], d, a->shape[d]);
            return false;
        }
    }
    return true;
}

double tj_array_get(const tj_array *a, const int64_t *index)
{
    if (!check_array(a, "tj_array_get", "the array") || !check_index(a, index, "tj_array_get"))
        return NAN;
    return tjA_load(a->dtype, a->data + offset_of(a, index), 0);
}

tj_status tj_array_set(tj_array *a, const int64_t *index, double value)
{
    if (!check_array(a, "tj_array_set", "the array"))
        return TJ_ERR_INVALID;
    if (!check_index(a, index, "tj_array_set"))
        return tjA_last_status();
    tjA_store(a->dtype, a->data + offset_of(a, index), 0, value);
    return TJ_OK;
}

/* ---- copies ---------------------------------------------------------------------------------- */

tj_array *tjA_convert(tj_ctx *ctx, const tj_array *src, tj_dtype d)
{
    if (!check_array(src, "tjA_convert", "src"))
        return NULL;
    tj_array *dst = alloc_array(ctx, "tjA_convert", d, src->ndim, src->shape, false);
    if (dst)
        tjA_copy_into(dst, src);
    return dst;
}

tj_array *tj_array_copy(const tj_array *a)
{
    if (!check_array(a, "tj_array_copy", "the array"))
        return NULL;
    tj_array *c = alloc_array(NULL, "tj_array_copy", a->dtype, a->ndim, a->shape, false);
    if (c)
        tjA_copy_into(c, a);
    return c;
}
