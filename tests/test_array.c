/* Arrays and dtypes: constructors, strided views, refcounts, errors, conversions, promotion and
 * numpy-style printing. Expected tables and strings are literals produced by numpy 2.4
 * (np.promote_types, np.can_cast(.., 'safe'), repr()). Errors are read through the thread's
 * array slot (tjA_last_status / tjA_last_msg), which tj_errcode(NULL) / tj_errmsg(NULL) expose. */
#include "internal.h"
#include "support.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define ALL_DTYPES                                                                                 \
    {TJ_BOOL, TJ_INT8, TJ_INT16, TJ_INT32, TJ_INT64, TJ_UINT8, TJ_FLOAT32, TJ_FLOAT64}

static void reset(void) { tjA_clear_error(); }

/* The last error is `st` and its message mentions `needle`. */
static void expect_error(tj_status st, const char *needle)
{
    cr_expect_eq(tjA_last_status(), st, "status %s, expected %s (message: %s)",
                 tj_status_name(tjA_last_status()), tj_status_name(st), tjA_last_msg());
    cr_expect(strstr(tjA_last_msg(), needle) != NULL, "message \"%s\" lacks \"%s\"",
              tjA_last_msg(), needle);
}

/* ---- dtypes ---------------------------------------------------------------------------------- */

Test(dtype, names_and_sizes)
{
    static const char *names[] = {"bool",  "int8",  "int16",   "int32",
                                  "int64", "uint8", "float32", "float64"};
    static const size_t sizes[] = {1, 1, 2, 4, 8, 1, 4, 8};
    for (int d = 0; d < TJ_NUM_DTYPES; d++) {
        cr_expect_str_eq(tj_dtype_name((tj_dtype)d), names[d]);
        cr_expect_eq(tj_dtype_size((tj_dtype)d), sizes[d]);
    }
    cr_expect_str_eq(tj_dtype_name(TJ_NUM_DTYPES), "invalid");
    cr_expect_str_eq(tj_dtype_name((tj_dtype)-1), "invalid");
    cr_expect_eq(tj_dtype_size(TJ_NUM_DTYPES), 0);
    cr_expect_eq(tj_dtype_size((tj_dtype)-1), 0);
}

Test(dtype, status_names)
{
    cr_expect_str_eq(tj_status_name(TJ_OK), "TJ_OK");
    cr_expect_str_eq(tj_status_name(TJ_ERR_TYPE), "TJ_ERR_TYPE");
    cr_expect_str_eq(tj_status_name(TJ_ERR_SHAPE), "TJ_ERR_SHAPE");
    cr_expect_str_eq(tj_status_name(TJ_ERR_VALUE), "TJ_ERR_VALUE");
    cr_expect_str_eq(tj_status_name(TJ_ERR_UNUSED_INPUT), "TJ_ERR_UNUSED_INPUT");
    cr_expect_str_eq(tj_status_name(TJ_ERR_DISCONNECTED), "TJ_ERR_DISCONNECTED");
    cr_expect_str_eq(tj_status_name(TJ_ERR_JIT), "TJ_ERR_JIT");
    cr_expect_str_eq(tj_status_name(TJ_ERR_NOMEM), "TJ_ERR_NOMEM");
    cr_expect_str_eq(tj_status_name(TJ_ERR_INVALID), "TJ_ERR_INVALID");
    cr_expect_str_eq(tj_status_name((tj_status)99), "TJ_ERR_UNKNOWN");
    cr_expect_str_eq(tj_status_name((tj_status)-1), "TJ_ERR_UNKNOWN");
}

/* np.promote_types(row, col) for rows/cols in tj_dtype order, pasted from numpy 2.4. */
Test(dtype, promotion_table_matches_numpy)
{
    static const tj_dtype expect[8][8] = {
        {TJ_BOOL, TJ_INT8, TJ_INT16, TJ_INT32, TJ_INT64, TJ_UINT8, TJ_FLOAT32, TJ_FLOAT64},
        {TJ_INT8, TJ_INT8, TJ_INT16, TJ_INT32, TJ_INT64, TJ_INT16, TJ_FLOAT32, TJ_FLOAT64},
        {TJ_INT16, TJ_INT16, TJ_INT16, TJ_INT32, TJ_INT64, TJ_INT16, TJ_FLOAT32, TJ_FLOAT64},
        {TJ_INT32, TJ_INT32, TJ_INT32, TJ_INT32, TJ_INT64, TJ_INT32, TJ_FLOAT64, TJ_FLOAT64},
        {TJ_INT64, TJ_INT64, TJ_INT64, TJ_INT64, TJ_INT64, TJ_INT64, TJ_FLOAT64, TJ_FLOAT64},
        {TJ_UINT8, TJ_INT16, TJ_INT16, TJ_INT32, TJ_INT64, TJ_UINT8, TJ_FLOAT32, TJ_FLOAT64},
        {TJ_FLOAT32, TJ_FLOAT32, TJ_FLOAT32, TJ_FLOAT64, TJ_FLOAT64, TJ_FLOAT32, TJ_FLOAT32,
         TJ_FLOAT64},
        {TJ_FLOAT64, TJ_FLOAT64, TJ_FLOAT64, TJ_FLOAT64, TJ_FLOAT64, TJ_FLOAT64, TJ_FLOAT64,
         TJ_FLOAT64},
    };
    for (int a = 0; a < 8; a++)
        for (int b = 0; b < 8; b++)
            cr_expect_eq(tjA_promote((tj_dtype)a, (tj_dtype)b), expect[a][b],
                         "promote(%s, %s) = %s, numpy says %s", tj_dtype_name((tj_dtype)a),
                         tj_dtype_name((tj_dtype)b),
                         tj_dtype_name(tjA_promote((tj_dtype)a, (tj_dtype)b)),
                         tj_dtype_name(expect[a][b]));
    /* the brief's spot checks, spelled out */
    cr_expect_eq(tjA_promote(TJ_INT32, TJ_FLOAT32), TJ_FLOAT64);
    cr_expect_eq(tjA_promote(TJ_UINT8, TJ_INT8), TJ_INT16);
    cr_expect_eq(tjA_promote(TJ_INT16, TJ_FLOAT32), TJ_FLOAT32);
    cr_expect_eq(tjA_promote(TJ_BOOL, TJ_BOOL), TJ_BOOL);
}

/* np.can_cast(row, col, 'safe'), pasted from numpy 2.4. */
Test(dtype, safe_cast_table_matches_numpy)
{
    static const bool expect[8][8] = {
        {1, 1, 1, 1, 1, 1, 1, 1}, {0, 1, 1, 1, 1, 0, 1, 1}, {0, 0, 1, 1, 1, 0, 1, 1},
        {0, 0, 0, 1, 1, 0, 0, 1}, {0, 0, 0, 0, 1, 0, 0, 1}, {0, 0, 1, 1, 1, 1, 1, 1},
        {0, 0, 0, 0, 0, 0, 1, 1}, {0, 0, 0, 0, 0, 0, 0, 1},
    };
    for (int a = 0; a < 8; a++)
        for (int b = 0; b < 8; b++)
            cr_expect_eq(tjA_can_cast_safely((tj_dtype)a, (tj_dtype)b), expect[a][b],
                         "can_cast(%s, %s)", tj_dtype_name((tj_dtype)a),
                         tj_dtype_name((tj_dtype)b));
    cr_expect_not(tjA_can_cast_safely(TJ_NUM_DTYPES, TJ_FLOAT64));
}

/* ---- conversions ----------------------------------------------------------------------------- */

static double roundtrip(tj_dtype d, double v)
{
    unsigned char buf[8] = {0};
    tjA_store(d, buf, 0, v);
    return tjA_load(d, buf, 0);
}

Test(convert, float_to_int_saturates_and_nan_is_zero)
{
    cr_expect_eq(roundtrip(TJ_INT32, 1e30), INT32_MAX);
    cr_expect_eq(roundtrip(TJ_INT32, -1e30), INT32_MIN);
    cr_expect_eq(roundtrip(TJ_INT32, INFINITY), INT32_MAX);
    cr_expect_eq(roundtrip(TJ_INT32, -INFINITY), INT32_MIN);
    cr_expect_eq(roundtrip(TJ_INT32, 2147483647.9), INT32_MAX);
    cr_expect_eq(roundtrip(TJ_INT32, 2147483648.0), INT32_MAX);
    cr_expect_eq(roundtrip(TJ_INT32, -2147483648.9), INT32_MIN);
    cr_expect_eq(roundtrip(TJ_UINT8, -1), 0);
    cr_expect_eq(roundtrip(TJ_UINT8, 255.9), 255);
    cr_expect_eq(roundtrip(TJ_UINT8, 256), 255);
    cr_expect_eq(roundtrip(TJ_UINT8, -0.9), 0);
    cr_expect_eq(roundtrip(TJ_INT8, 127.5), 127);
    cr_expect_eq(roundtrip(TJ_INT8, -128.5), -128);
    cr_expect_eq(roundtrip(TJ_INT8, 1000), 127);
    cr_expect_eq(roundtrip(TJ_INT16, -40000), INT16_MIN);
    cr_expect_eq(roundtrip(TJ_INT16, 40000), INT16_MAX);
    /* truncation toward zero inside the range, as a C cast */
    cr_expect_eq(roundtrip(TJ_INT32, 2.9), 2);
    cr_expect_eq(roundtrip(TJ_INT32, -2.9), -2);
    cr_expect_eq(roundtrip(TJ_INT8, -0.5), 0);
    int d[] = {TJ_INT8, TJ_INT16, TJ_INT32, TJ_INT64, TJ_UINT8};
    for (int i = 0; i < 5; i++) {
        cr_expect_eq(roundtrip((tj_dtype)d[i], NAN), 0, "NaN into %s",
                     tj_dtype_name((tj_dtype)d[i]));
        cr_expect_eq(roundtrip((tj_dtype)d[i], -NAN), 0);
    }
}

Test(convert, int64_extremes_are_exact)
{
    unsigned char buf[8];
    int64_t v;
    tjA_store(TJ_INT64, buf, 0, 1e19);
    memcpy(&v, buf, 8);
    cr_expect_eq(v, INT64_MAX);
    tjA_store(TJ_INT64, buf, 0, 9223372036854775808.0); /* 2^63: just out of range */
    memcpy(&v, buf, 8);
    cr_expect_eq(v, INT64_MAX);
    tjA_store(TJ_INT64, buf, 0, -9223372036854775808.0); /* -2^63: exactly INT64_MIN */
    memcpy(&v, buf, 8);
    cr_expect_eq(v, INT64_MIN);
    tjA_store(TJ_INT64, buf, 0, -1e300);
    memcpy(&v, buf, 8);
    cr_expect_eq(v, INT64_MIN);
    tjA_store(TJ_INT64, buf, 0, 9007199254740993.0); /* rounds to 2^53 as a double literal */
    memcpy(&v, buf, 8);
    cr_expect_eq(v, 9007199254740992LL);
}

Test(convert, bool_is_nonzero_and_nan_is_true)
{
    cr_expect_eq(roundtrip(TJ_BOOL, 0.5), 1.0);
    cr_expect_eq(roundtrip(TJ_BOOL, -3), 1.0);
    cr_expect_eq(roundtrip(TJ_BOOL, NAN), 1.0);
    cr_expect_eq(roundtrip(TJ_BOOL, INFINITY), 1.0);
    cr_expect_eq(roundtrip(TJ_BOOL, 0.0), 0.0);
    cr_expect_eq(roundtrip(TJ_BOOL, -0.0), 0.0);
    unsigned char raw = 7; /* a wrapped buffer may hold any non-zero byte */
    cr_expect_eq(tjA_load(TJ_BOOL, &raw, 0), 1.0);
}

Test(convert, floats)
{
    cr_expect(isinf(roundtrip(TJ_FLOAT32, 1e40)) && roundtrip(TJ_FLOAT32, 1e40) > 0);
    cr_expect(isinf(roundtrip(TJ_FLOAT32, -1e40)) && roundtrip(TJ_FLOAT32, -1e40) < 0);
    cr_expect(isnan(roundtrip(TJ_FLOAT32, NAN)));
    cr_expect(isnan(roundtrip(TJ_FLOAT64, NAN)));
    cr_expect_eq(roundtrip(TJ_FLOAT32, 0.1), (double)0.1f);
    cr_expect_eq(roundtrip(TJ_FLOAT64, 0.1), 0.1);
    cr_expect(signbit(roundtrip(TJ_FLOAT32, -0.0)));
}

Test(convert, load_store_index_elements)
{
    int16_t buf[4] = {0};
    tjA_store(TJ_INT16, buf, 2, -7);
    cr_expect_eq(buf[2], -7);
    cr_expect_eq(tjA_load(TJ_INT16, buf, 2), -7.0);
    cr_expect_eq(buf[1], 0);
    cr_expect_eq(buf[3], 0);
}

/* One element of a cast, written out from the scalar conversions tested above: integers (and
 * bools, read as 0/1) exactly, then wrapped; floats as doubles, then saturated; int -> float in
 * one C conversion (int64 -> float32 must not go through double). */
static void cast_elem(tj_dtype dst, void *out, tj_dtype src, const void *in)
{
    if (tj_dtype_is_float(src) || dst == TJ_BOOL) {
        tjA_store(dst, out, 0, tjA_load(src, in, 0));
    } else if (dst == TJ_FLOAT32) {
        float f = (float)tjA_load_int(src, in);
        memcpy(out, &f, sizeof f);
    } else if (dst == TJ_FLOAT64) {
        double f = (double)tjA_load_int(src, in);
        memcpy(out, &f, sizeof f);
    } else {
        tjA_store_int(dst, out, tjA_load_int(src, in));
    }
}

Test(convert, cast_rows_for_every_dtype_pair_contiguous_and_strided)
{
    double fvals[] = {0,      -0.0,  1.5,     -2.5,  127.9, 128,      -129, 255.5,    256,
                      40000,  -4e4,  3e9,     -3e9,  1e19,  -1e19,    1e40, NAN,      INFINITY,
                      -INFINITY, 1e-45, 0.1,  -1e-300};
    int64_t ivals[] = {0,          1,         -1,        7,         127,
                       128,        255,       256,       -129,      32767,
                       32768,      INT32_MAX, INT32_MIN, (1LL << 60) + (1LL << 36) + 1,
                       INT64_MIN,  INT64_MAX, 16777217,  -16777217, 9007199254740993LL,
                       200,        -200,      65535};
    enum { N = 22 };
    tj_dtype all[] = ALL_DTYPES;
    for (int a = 0; a < 8; a++) {
        tj_dtype src = all[a];
        size_t ss = tj_dtype_size(src);
        unsigned char in[N * 8], in2[2 * N * 8];
        for (int i = 0; i < N; i++) {
            if (tj_dtype_is_float(src))
                tjA_store(src, in, i, fvals[i]);
            else if (src == TJ_BOOL)
                in[i] = (unsigned char)ivals[i]; /* raw bytes: 7 and 255 read as true */
            else
                tjA_store_int(src, in + i * ss, ivals[i]);
            memcpy(in2 + 2 * i * ss, in + i * ss, ss);
        }
        for (int b = 0; b < 8; b++) {
            tj_dtype dst = all[b];
            size_t ds = tj_dtype_size(dst);
            unsigned char out[N * 8], out3[3 * N * 8], want[8];
            tjA_cast_fn *row = tjA_cast_row(dst, src);
            cr_assert_not_null(row);
            row((char *)out, (int64_t)ds, (const char *)in, (int64_t)ss, N);
            row((char *)out3, 3 * (int64_t)ds, (const char *)in2, 2 * (int64_t)ss, N);
            for (int i = 0; i < N; i++) {
                memset(want, 0, sizeof want);
                cast_elem(dst, want, src, in + i * ss);
                bool nan = tj_dtype_is_float(dst) && isnan(tjA_load(dst, want, 0));
                cr_expect(nan ? isnan(tjA_load(dst, out, i)) : !memcmp(out + i * ds, want, ds),
                          "%s -> %s, element %d: %g, expected %g", tj_dtype_name(src),
                          tj_dtype_name(dst), i, tjA_load(dst, out, i), tjA_load(dst, want, 0));
                cr_expect(!memcmp(out3 + 3 * i * ds, out + i * ds, ds),
                          "%s -> %s, element %d: strided differs from contiguous",
                          tj_dtype_name(src), tj_dtype_name(dst), i);
            }
        }
    }
    cr_expect_null(tjA_cast_row(TJ_NUM_DTYPES, TJ_INT8));
}

Test(convert, converting_copy_rounds_int64_to_float32_once)
{
    /* 2^60 + 2^36 + 1: through double it becomes 2^60 + 2^36, a tie that float32 rounds down to
     * 2^60; rounded once it is 2^60 + 2^37 */
    int64_t v[] = {(1LL << 60) + (1LL << 36) + 1, -7};
    tj_array *a = tj_array_from_data(TJ_INT64, 1, (int64_t[]){2}, v);
    tj_array *f = tjA_convert(NULL, a, TJ_FLOAT32);
    cr_assert_not_null(f);
    const float *p = tj_array_data(f);
    cr_expect_eq(p[0], ldexpf(1.0f, 60) + ldexpf(1.0f, 37));
    cr_expect_eq(p[1], -7.0f);
    tj_array_unref(a);
    tj_array_unref(f);
}

/* ---- constructors ---------------------------------------------------------------------------- */

static bool aligned64(const void *p) { return ((uintptr_t)p & 63u) == 0; }

Test(array, new_is_zeroed_contiguous_and_aligned_for_every_dtype, .init = reset)
{
    int64_t shape[] = {2, 3, 5};
    tj_dtype all[] = ALL_DTYPES;
    for (int k = 0; k < 8; k++) {
        tj_dtype d = all[k];
        size_t es = tj_dtype_size(d);
        tj_array *a = tj_array_new(d, 3, shape);
        cr_assert_not_null(a, "%s: %s", tj_dtype_name(d), tjA_last_msg());
        cr_expect_eq(tj_array_dtype(a), d);
        cr_expect_eq(tj_array_ndim(a), 3);
        cr_expect_eq(tj_array_size(a), 30);
        cr_expect_arr_eq(tj_array_shape(a), shape, sizeof shape);
        int64_t strides[] = {(int64_t)(15 * es), (int64_t)(5 * es), (int64_t)es};
        cr_expect_arr_eq(tj_array_strides(a), strides, sizeof strides);
        unsigned char *p = tj_array_data(a);
        cr_assert_not_null(p);
        cr_expect(aligned64(p));
        for (size_t i = 0; i < 30 * es; i++)
            cr_expect_eq(p[i], 0);
        cr_expect_eq(tjt_at(a, 29), 0.0);
        tj_array_unref(a);
    }
    cr_expect_eq(tjA_last_status(), TJ_OK);
}

/* The kernel's transparent-huge-page mode ("always", "madvise" or "never"), "" if unknown. */
static const char *thp_mode(void)
{
    static char mode[16];
    char line[128] = "";
    FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
    if (f && fgets(line, sizeof line, f)) {
        char *open = strchr(line, '['), *close = open ? strchr(open, ']') : NULL;
        if (close)
            snprintf(mode, sizeof mode, "%.*s", (int)(close - open - 1), open + 1);
    }
    if (f)
        fclose(f);
    return mode;
}

/* smaps' THPeligible of the mapping holding p: 1 or 0, -1 when smaps does not say. */
static int thp_eligible(const void *p)
{
    FILE *f = fopen("/proc/self/smaps", "r");
    cr_assert_not_null(f);
    char line[512];
    bool inside = false;
    int eligible = -1;
    uintptr_t a = (uintptr_t)p;
    while (eligible < 0 && fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2)
            inside = a >= lo && a < hi;
        else if (inside)
            sscanf(line, "THPeligible: %d", &eligible);
    }
    fclose(f);
    return eligible;
}

/* Arrays of 4 MiB and more start on a 2 MiB boundary with huge pages advised (lib/array.c):
 * where the kernel gives them only on advice, the mapping becomes eligible. TJ_HUGEPAGES=off
 * (the next test) leaves it as the C library gives it. */
Test(array, large_arrays_are_advised_huge_pages)
{
    int64_t n = (4 << 20) / 4 + 5; /* just over 4 MiB of float32 */
    tj_array *a = tj_array_new(TJ_FLOAT32, 1, &n);
    cr_assert_not_null(a);
    float *p = tj_array_data(a);
    cr_expect_eq((uintptr_t)p % ((uintptr_t)2 << 20), 0, "data at %p", (void *)p);
    for (int64_t i = 0; i < n; i += 4096)
        cr_expect_eq(p[i], 0.0f);
    p[n - 1] = 1.5f; /* the last element is ours */
    cr_expect_eq(tjt_at(a, n - 1), 1.5);
    if (!strcmp(thp_mode(), "madvise"))
        cr_expect_eq(thp_eligible(p), 1);
    int64_t small = (4 << 20) / 4 - 64; /* under 4 MiB: 64-byte alignment only */
    tj_array *b = tj_array_new(TJ_FLOAT32, 1, &small);
    cr_expect(aligned64(tj_array_data(b)));
    tj_array_unref(b);
    tj_array_unref(a);
}

Test(array, huge_pages_off)
{
    setenv("TJ_HUGEPAGES", "off", 1); /* read at this process's first large array */
    int64_t n = (8 << 20) / 4;
    tj_array *a = tj_array_new(TJ_FLOAT32, 1, &n);
    cr_assert_not_null(a);
    cr_expect(aligned64(tj_array_data(a)));
    if (!strcmp(thp_mode(), "madvise"))
        cr_expect_eq(thp_eligible(tj_array_data(a)), 0);
    tj_array_unref(a);
    unsetenv("TJ_HUGEPAGES");
}

Test(array, zero_size_and_zero_d)
{
    int64_t shape[] = {4, 0, 3};
    tj_array *e = tj_array_new(TJ_FLOAT32, 3, shape);
    cr_assert_not_null(e);
    cr_expect_eq(tj_array_size(e), 0);
    cr_expect_not_null(tj_array_data(e)); /* a real block, never NULL */
    cr_expect(aligned64(tj_array_data(e)));
    int64_t strides[] = {12, 12, 4}; /* numpy: a zero dimension counts as 1 */
    cr_expect_arr_eq(tj_array_strides(e), strides, sizeof strides);
    tj_array *c = tj_array_copy(e);
    cr_expect_eq(tj_array_size(c), 0);
    tj_array_unref(c);
    tj_array_unref(e);

    tj_array *z = tj_array_new(TJ_INT16, 0, NULL);
    cr_assert_not_null(z);
    cr_expect_eq(tj_array_ndim(z), 0);
    cr_expect_eq(tj_array_size(z), 1);
    cr_expect_eq(tj_array_get(z, NULL), 0.0);
    cr_expect_eq(tj_array_set(z, NULL, 12.0), TJ_OK);
    cr_expect_eq(tj_array_get(z, NULL), 12.0);
    tj_array_unref(z);
}

Test(array, from_data_copies_every_dtype)
{
    int64_t shape[] = {2, 2};
    uint8_t b[] = {0, 1, 5, 0}; /* non-0/1 bytes are normalized */
    int8_t i8[] = {-128, 127, 0, -1};
    int16_t i16[] = {-32768, 32767, 3, -4};
    int32_t i32[] = {INT32_MIN, INT32_MAX, 7, -8};
    int64_t i64[] = {INT64_MIN, INT64_MAX, 9007199254740993LL, -1};
    uint8_t u8[] = {0, 255, 128, 1};
    float f32[] = {0.1f, -2.5f, INFINITY, 1e-40f};
    double f64[] = {0.1, -2.5, -INFINITY, 5e-324};
    const void *src[] = {b, i8, i16, i32, i64, u8, f32, f64};
    tj_dtype all[] = ALL_DTYPES;
    for (int k = 0; k < 8; k++) {
        tj_array *a = tj_array_from_data(all[k], 2, shape, src[k]);
        cr_assert_not_null(a);
        size_t bytes = 4 * tj_dtype_size(all[k]);
        if (all[k] != TJ_BOOL)
            cr_expect_eq(memcmp(tj_array_data(a), src[k], bytes), 0, "%s",
                         tj_dtype_name(all[k]));
        cr_expect_neq(tj_array_data(a), src[k]);
        cr_expect(aligned64(tj_array_data(a)));
        tj_array_unref(a);
    }
    tj_array *a = tj_array_from_data(TJ_BOOL, 2, shape, b);
    const uint8_t *p = tj_array_data(a);
    cr_expect(p[0] == 0 && p[1] == 1 && p[2] == 1 && p[3] == 0);
    tj_array_unref(a);

    /* values read back through get */
    tj_array *f = tj_array_from_data(TJ_FLOAT32, 2, shape, f32);
    cr_expect_eq(tj_array_get(f, (int64_t[]){0, 0}), (double)0.1f);
    cr_expect_eq(tj_array_get(f, (int64_t[]){1, 1}), (double)1e-40f);
    f32[0] = 99; /* the array kept its own copy */
    cr_expect_eq(tj_array_get(f, (int64_t[]){0, 0}), (double)0.1f);
    tj_array_unref(f);
    tj_array *g = tj_array_from_data(TJ_INT16, 2, shape, i16);
    cr_expect_eq(tj_array_get(g, (int64_t[]){0, 0}), -32768.0);
    cr_expect_eq(tj_array_get(g, (int64_t[]){1, 1}), -4.0);
    tj_array_unref(g);
}

Test(array, scalar_every_dtype)
{
    struct {
        tj_dtype d;
        double in, out;
    } c[] = {
        {TJ_BOOL, 0.5, 1},          {TJ_BOOL, 0, 0},         {TJ_INT8, -3.7, -3},
        {TJ_INT8, 300, 127},        {TJ_INT16, 12345, 12345}, {TJ_INT32, 1e30, INT32_MAX},
        {TJ_INT32, NAN, 0},         {TJ_INT64, -42, -42},    {TJ_UINT8, -1, 0},
        {TJ_UINT8, 200.9, 200},     {TJ_FLOAT32, 0.1, (double)0.1f},
        {TJ_FLOAT64, 0.1, 0.1},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        tj_array *a = tj_array_scalar(c[i].d, c[i].in);
        cr_assert_not_null(a);
        cr_expect_eq(tj_array_ndim(a), 0);
        cr_expect_eq(tj_array_size(a), 1);
        cr_expect_eq(tj_array_dtype(a), c[i].d);
        cr_expect_eq(tj_array_get(a, NULL), c[i].out, "scalar(%s, %g) = %g, expected %g",
                     tj_dtype_name(c[i].d), c[i].in, tj_array_get(a, NULL), c[i].out);
        tj_array_unref(a);
    }
    tj_array *n = tj_array_scalar(TJ_FLOAT64, NAN);
    cr_expect(isnan(tj_array_get(n, NULL)));
    tj_array_unref(n);
}

Test(array, copy_every_dtype_is_independent)
{
    int64_t shape[] = {3};
    double v[] = {1, 0, -2};
    tj_dtype all[] = ALL_DTYPES;
    for (int k = 0; k < 8; k++) {
        tj_array *a = tjt_array(all[k], 1, shape, v);
        tj_array *c = tj_array_copy(a);
        cr_assert_not_null(c);
        cr_expect_neq(tj_array_data(c), tj_array_data(a));
        cr_expect_eq(tj_array_dtype(c), all[k]);
        for (int i = 0; i < 3; i++)
            cr_expect_eq(tjt_at(c, i), tjt_at(a, i));
        tj_array_set(a, (int64_t[]){0}, 0);
        cr_expect_eq(tjt_at(c, 0), 1.0, "%s copy changed with its source",
                     tj_dtype_name(all[k]));
        tj_array_unref(a);
        tj_array_unref(c);
    }
    /* int64 beyond 2^53 survives a copy and a strided copy (bytes, not doubles) */
    int64_t big[] = {9007199254740993LL, INT64_MAX};
    tj_array *b = tj_array_from_data(TJ_INT64, 1, (int64_t[]){2}, big);
    tj_array *bc = tj_array_copy(b);
    cr_expect_eq(memcmp(tj_array_data(bc), big, sizeof big), 0);
    tj_array *rev = tj_array_wrap(TJ_INT64, 1, (int64_t[]){2}, (int64_t[]){-8}, &big[1], NULL,
                                  NULL);
    tj_array *rc = tj_array_copy(rev);
    const int64_t *r = tj_array_data(rc);
    cr_expect(r[0] == INT64_MAX && r[1] == 9007199254740993LL);
    tj_array_unref(b);
    tj_array_unref(bc);
    tj_array_unref(rev);
    tj_array_unref(rc);
}

Test(array, get_set_by_index)
{
    int64_t shape[] = {2, 3};
    tj_array *a = tj_array_new(TJ_INT32, 2, shape);
    for (int64_t i = 0; i < 2; i++)
        for (int64_t j = 0; j < 3; j++)
            cr_expect_eq(tj_array_set(a, (int64_t[]){i, j}, (double)(10 * i + j)), TJ_OK);
    const int32_t *p = tj_array_data(a);
    int32_t expect[] = {0, 1, 2, 10, 11, 12};
    cr_expect_arr_eq(p, expect, sizeof expect);
    cr_expect_eq(tj_array_get(a, (int64_t[]){1, 2}), 12.0);
    cr_expect_eq(tj_array_set(a, (int64_t[]){0, 0}, 1e12), TJ_OK); /* saturates like a store */
    cr_expect_eq(p[0], INT32_MAX);
    tj_array_unref(a);
}

/* ---- wrap, strided views --------------------------------------------------------------------- */

static int released;
static void *released_arg;
static void count_release(void *arg)
{
    released++;
    released_arg = arg;
}

/* A copy walks a view with every length-1 axis dropped and contiguous axes merged: the
 * transposed (4, 3) matrix below carries 28 length-1 axes between and after its two real ones
 * (any stride on them). The values are the transposed matrix's, converted to int32 too. */
Test(wrap, copy_of_a_view_with_many_length_one_axes)
{
    double base[12];
    for (int i = 0; i < 12; i++)
        base[i] = i; /* the 3x4 matrix [[0..3], [4..7], [8..11]] */
    int64_t shape[TJ_MAX_NDIM], strides[TJ_MAX_NDIM];
    for (int d = 0; d < TJ_MAX_NDIM; d++) {
        shape[d] = 1;
        strides[d] = 8 * (d + 5); /* never used: the axis has one position */
    }
    shape[3] = 4, strides[3] = 8;   /* rows of the view: columns of the matrix */
    shape[20] = 3, strides[20] = 32; /* columns of the view: rows of the matrix */
    tj_array *t = tj_array_wrap(TJ_FLOAT64, TJ_MAX_NDIM, shape, strides, base, NULL, NULL);
    cr_assert_not_null(t);
    tj_array *c = tj_array_copy(t), *f = tjA_convert(NULL, t, TJ_INT32);
    cr_assert(c && f);
    double want[12];
    int32_t want32[12];
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 3; j++)
            want32[i * 3 + j] = (int32_t)(want[i * 3 + j] = base[j * 4 + i]);
    cr_expect_arr_eq(tj_array_data(c), want, sizeof want);
    cr_expect_arr_eq(tj_array_data(f), want32, sizeof want32);
    tj_array_unref(c);
    tj_array_unref(f);
    tj_array_unref(t);
}

Test(wrap, transposed_view_by_byte_strides)
{
    /* base is the 2x3 matrix [[0,1,2],[3,4,5]]; the view is its 3x2 transpose */
    double base[] = {0, 1, 2, 3, 4, 5};
    int64_t shape[] = {3, 2}, strides[] = {8, 24};
    tj_array *t = tj_array_wrap(TJ_FLOAT64, 2, shape, strides, base, NULL, NULL);
    cr_assert_not_null(t);
    cr_expect_null(tj_array_data(t)); /* strided: no contiguous view */
    cr_expect_not(tjA_is_contiguous(t));
    cr_expect_arr_eq(tj_array_strides(t), strides, sizeof strides);
    double expect[3][2] = {{0, 3}, {1, 4}, {2, 5}};
    for (int64_t i = 0; i < 3; i++)
        for (int64_t j = 0; j < 2; j++)
            cr_expect_eq(tj_array_get(t, (int64_t[]){i, j}), expect[i][j]);

    tj_array *c = tj_array_copy(t);
    cr_assert_not_null(c);
    cr_expect(tjA_is_contiguous(c));
    cr_expect_arr_eq(tj_array_data(c), expect, sizeof expect);

    tj_array *f = tjA_convert(NULL, t, TJ_INT16);
    int16_t expect16[] = {0, 3, 1, 4, 2, 5};
    cr_expect_arr_eq(tj_array_data(f), expect16, sizeof expect16);

    /* writing through the view writes the borrowed buffer */
    cr_expect_eq(tj_array_set(t, (int64_t[]){2, 0}, -1.0), TJ_OK);
    cr_expect_eq(base[2], -1.0);

    char *s = tj_array_to_string(t);
    cr_expect_str_eq(s, "array([[ 0.,  3.],\n       [ 1.,  4.],\n       [-1.,  5.]])");
    free(s);
    tj_array_unref(t);
    tj_array_unref(c);
    tj_array_unref(f);
}

Test(wrap, contiguous_when_strides_null_and_shares_memory)
{
    float buf[4] = {1, 2, 3, 4};
    tj_array *a = tj_array_wrap(TJ_FLOAT32, 2, (int64_t[]){2, 2}, NULL, buf, NULL, NULL);
    cr_assert_not_null(a);
    cr_expect_eq(tj_array_data(a), buf);
    int64_t strides[] = {8, 4};
    cr_expect_arr_eq(tj_array_strides(a), strides, sizeof strides);
    buf[3] = 40;
    cr_expect_eq(tj_array_get(a, (int64_t[]){1, 1}), 40.0);
    tj_array_unref(a);
    cr_expect_eq(buf[0], 1.0f); /* not freed, not touched */
}

Test(wrap, length_one_axes_may_have_any_stride)
{
    double buf[3] = {1, 2, 3};
    tj_array *a = tj_array_wrap(TJ_FLOAT64, 2, (int64_t[]){1, 3}, (int64_t[]){12345, 8}, buf,
                                NULL, NULL);
    cr_expect(tjA_is_contiguous(a)); /* numpy's rule */
    cr_expect_eq(tj_array_data(a), buf);
    tj_array_unref(a);
}

Test(wrap, copy_into_strided_destination_converts)
{
    int32_t dstbuf[6] = {0};
    tj_array *dst = tj_array_wrap(TJ_INT32, 2, (int64_t[]){3, 2}, (int64_t[]){4, 12}, dstbuf,
                                  NULL, NULL);
    tj_array *src = tjt_array(TJ_FLOAT64, 2, (int64_t[]){3, 2},
                              (double[]){0.5, 1.5, 2.5, -3.5, NAN, 1e20});
    tjA_copy_into(dst, src);
    /* dst[i][j] lives at dstbuf[i + 3j]; values truncated, NaN -> 0, 1e20 saturated */
    int32_t expect[] = {0, 2, 0, 1, -3, INT32_MAX};
    cr_expect_arr_eq(dstbuf, expect, sizeof expect);
    tj_array_unref(dst);
    tj_array_unref(src);
}

Test(wrap, release_called_exactly_once_at_last_unref)
{
    static double buf[2];
    released = 0;
    tj_array *a = tj_array_wrap(TJ_FLOAT64, 1, (int64_t[]){2}, NULL, buf, count_release,
                                (void *)0x1234);
    cr_assert_not_null(a);
    cr_expect_eq(tj_array_ref(a), a);
    cr_expect_eq(tj_array_ref(a), a);
    tj_array_unref(a);
    tj_array_unref(a);
    cr_expect_eq(released, 0);
    tj_array_unref(a);
    cr_expect_eq(released, 1);
    cr_expect_eq(released_arg, (void *)0x1234);
}

Test(wrap, failed_wrap_does_not_release)
{
    static double buf[2];
    released = 0;
    cr_expect_null(tj_array_wrap(TJ_FLOAT64, 1, (int64_t[]){-2}, NULL, buf, count_release, NULL));
    cr_expect_eq(released, 0);
}

/* ---- refcounts ------------------------------------------------------------------------------- */

Test(refcount, counts_and_null_safety)
{
    tj_array *a = tj_array_scalar(TJ_INT64, 1);
    cr_expect_eq(atomic_load(&a->refcount), 1);
    cr_expect_eq(tj_array_ref(a), a);
    cr_expect_eq(atomic_load(&a->refcount), 2);
    tj_array_unref(a);
    cr_expect_eq(atomic_load(&a->refcount), 1);
    cr_expect(tjA_valid(a));
    tj_array_unref(a);
    cr_expect_null(tj_array_ref(NULL));
    tj_array_unref(NULL);
}

Test(refcount, foreign_handle_is_rejected_not_used)
{
    tj_array fake;
    memset(&fake, 0, sizeof fake); /* magic 0, as a freed array has */
    tjA_clear_error();
    cr_expect_not(tjA_valid(&fake));
    cr_expect_null(tj_array_ref(&fake));
    expect_error(TJ_ERR_INVALID, "not a live tj_array");
    tj_array_unref(&fake); /* ignored */
    cr_expect_eq(tj_array_ndim(&fake), -1);
    cr_expect(isnan(tj_array_get(&fake, NULL)));
}

/* ---- errors ---------------------------------------------------------------------------------- */

Test(errors, bad_dtype, .init = reset)
{
    cr_expect_null(tj_array_new(TJ_NUM_DTYPES, 1, (int64_t[]){2}));
    expect_error(TJ_ERR_TYPE, "tj_array_new: dtype is 8");
    cr_expect_null(tj_array_scalar((tj_dtype)-1, 1.0));
    expect_error(TJ_ERR_TYPE, "tj_array_scalar: dtype is -1");
    cr_expect_null(tj_array_from_data((tj_dtype)42, 0, NULL, "x"));
    expect_error(TJ_ERR_TYPE, "tj_array_from_data: dtype");
    tj_array *one = tj_array_scalar(TJ_FLOAT32, 1);
    cr_expect_null(tjA_convert(NULL, one, TJ_NUM_DTYPES));
    expect_error(TJ_ERR_TYPE, "dtype");
    tj_array_unref(one);
}

Test(errors, bad_ndim, .init = reset)
{
    int64_t shape[TJ_MAX_NDIM + 1];
    for (int i = 0; i <= TJ_MAX_NDIM; i++)
        shape[i] = 1;
    cr_expect_null(tj_array_new(TJ_FLOAT32, -1, shape));
    expect_error(TJ_ERR_VALUE, "tj_array_new: ndim is -1");
    cr_expect_null(tj_array_new(TJ_FLOAT32, TJ_MAX_NDIM + 1, shape));
    expect_error(TJ_ERR_VALUE, "ndim is 33; expected 0 to 32");
    tj_array *ok = tj_array_new(TJ_FLOAT32, TJ_MAX_NDIM, shape);
    cr_expect_not_null(ok);
    tj_array_unref(ok);
    cr_expect_null(tj_array_wrap(TJ_INT8, 99, shape, NULL, shape, NULL, NULL));
    expect_error(TJ_ERR_VALUE, "tj_array_wrap: ndim is 99");
}

Test(errors, null_shape_and_null_data, .init = reset)
{
    cr_expect_null(tj_array_new(TJ_FLOAT64, 2, NULL));
    expect_error(TJ_ERR_INVALID, "tj_array_new: shape is NULL");
    cr_expect_null(tj_array_from_data(TJ_FLOAT64, 1, (int64_t[]){3}, NULL));
    expect_error(TJ_ERR_INVALID, "tj_array_from_data: data is NULL");
    cr_expect_null(tj_array_wrap(TJ_FLOAT64, 1, (int64_t[]){3}, NULL, NULL, NULL, NULL));
    expect_error(TJ_ERR_INVALID, "tj_array_wrap: data is NULL");
}

Test(errors, negative_dimension, .init = reset)
{
    cr_expect_null(tj_array_new(TJ_INT32, 2, (int64_t[]){4, -3}));
    expect_error(TJ_ERR_VALUE, "tj_array_new: shape[1] is -3; dimensions must be >= 0");
    double d = 0;
    cr_expect_null(tj_array_from_data(TJ_FLOAT64, 1, (int64_t[]){-1}, &d));
    expect_error(TJ_ERR_VALUE, "tj_array_from_data: shape[0] is -1");
}

Test(errors, overflowing_shapes, .init = reset)
{
    cr_expect_null(tj_array_new(TJ_FLOAT32, 2, (int64_t[]){INT64_MAX, 2}));
    expect_error(TJ_ERR_VALUE, "overflows int64 at shape[1]");
    cr_expect_null(tj_array_new(TJ_INT8, 2, (int64_t[]){1LL << 40, 1LL << 40}));
    expect_error(TJ_ERR_VALUE, "shape");
    /* the element count fits but the byte count does not */
    cr_expect_null(tj_array_new(TJ_FLOAT64, 1, (int64_t[]){1LL << 61}));
    expect_error(TJ_ERR_VALUE, "byte count overflows");
    /* as numpy, an empty shape is still checked: its strides must be representable */
    cr_expect_null(tj_array_new(TJ_FLOAT64, 3, (int64_t[]){0, INT64_MAX, 2}));
    expect_error(TJ_ERR_VALUE, "shape");
    cr_expect_null(tj_array_wrap(TJ_INT16, 2, (int64_t[]){INT64_MAX / 2 + 1, 2}, NULL, &(int){0},
                                 NULL, NULL));
    expect_error(TJ_ERR_VALUE, "tj_array_wrap");

    int64_t n;
    cr_expect_not(tjA_shape_size(2, (int64_t[]){INT64_MAX, 2}, &n));
    cr_expect_not(tjA_shape_size(2, (int64_t[]){3, -1}, &n));
    cr_expect_not(tjA_shape_size(1, NULL, &n));
    cr_expect(tjA_shape_size(3, (int64_t[]){2, 3, 4}, &n));
    cr_expect_eq(n, 24);
    cr_expect(tjA_shape_size(2, (int64_t[]){0, 5}, &n));
    cr_expect_eq(n, 0);
    cr_expect(tjA_shape_size(0, NULL, &n));
    cr_expect_eq(n, 1);
}

#ifndef __SANITIZE_ADDRESS__ /* ASan aborts on impossible allocations instead of failing them */
Test(errors, allocation_failure_is_nomem, .init = reset)
{
    cr_expect_null(tj_array_new(TJ_INT8, 1, (int64_t[]){INT64_MAX / 2}));
    expect_error(TJ_ERR_NOMEM, "out of memory");
}
#endif

Test(errors, bad_index, .init = reset)
{
    tj_array *a = tj_array_new(TJ_FLOAT64, 2, (int64_t[]){2, 3});
    cr_expect(isnan(tj_array_get(a, (int64_t[]){1, 3})));
    expect_error(TJ_ERR_VALUE, "tj_array_get: index[1] is 3; axis 1 has length 3");
    cr_expect(isnan(tj_array_get(a, (int64_t[]){-1, 0})));
    expect_error(TJ_ERR_VALUE, "index[0] is -1");
    cr_expect(isnan(tj_array_get(a, NULL)));
    expect_error(TJ_ERR_INVALID, "tj_array_get: index is NULL");
    cr_expect_eq(tj_array_set(a, (int64_t[]){2, 0}, 1.0), TJ_ERR_VALUE);
    expect_error(TJ_ERR_VALUE, "tj_array_set: index[0] is 2");
    cr_expect_eq(tj_array_set(a, NULL, 1.0), TJ_ERR_INVALID);
    tj_array_unref(a);
}

Test(errors, null_arrays_are_safe_and_sticky, .init = reset)
{
    /* the first failure stays recorded through calls handed its NULL */
    tj_array *bad = tj_array_new(TJ_FLOAT32, 1, (int64_t[]){-5});
    expect_error(TJ_ERR_VALUE, "shape[0] is -5");
    cr_expect_null(tj_array_copy(bad));
    cr_expect_null(tj_array_ref(bad));
    cr_expect(isnan(tj_array_get(bad, NULL)));
    cr_expect_eq(tj_array_set(bad, NULL, 0), TJ_ERR_INVALID);
    cr_expect_null(tj_array_to_string(bad));
    cr_expect_eq(tj_array_print(bad, stdout), -1);
    cr_expect_null(tjA_convert(NULL, bad, TJ_FLOAT64));
    tj_array_unref(bad);
    expect_error(TJ_ERR_VALUE, "shape[0] is -5");

    cr_expect_eq(tj_array_ndim(NULL), -1);
    cr_expect_eq(tj_array_size(NULL), -1);
    cr_expect_null(tj_array_shape(NULL));
    cr_expect_null(tj_array_strides(NULL));
    cr_expect_null(tj_array_data(NULL));
    cr_expect_eq(tj_array_dtype(NULL), TJ_NUM_DTYPES);
    cr_expect_not(tjA_valid(NULL));
    cr_expect_not(tjA_is_contiguous(NULL));

    tjA_clear_error();
    cr_expect_eq(tjA_last_status(), TJ_OK);
    cr_expect_str_eq(tjA_last_msg(), "");
}

Test(errors, success_does_not_clear, .init = reset)
{
    cr_expect_null(tj_array_new(TJ_FLOAT32, -2, NULL));
    tj_array *a = tj_array_scalar(TJ_FLOAT32, 1);
    expect_error(TJ_ERR_VALUE, "ndim is -2");
    tj_array_unref(a);
}

/* ---- printing: every expected string is numpy 2.4's repr() of the same array ----------------- */

typedef struct {
    const char *numpy; /* the numpy expression, for failure messages */
    tj_dtype dtype;
    int ndim;
    int64_t shape[3];
    const double *vals;       /* C-order values, or NULL: gen(i) */
    double (*gen)(int64_t i);
    const char *expect;
} repr_case;

#define V(...) ((const double[]){__VA_ARGS__})
static double g_arange(int64_t i) { return (double)i; }
static double g_times1000(int64_t i) { return (double)i * 1000; }
static double g_mod3(int64_t i) { return i % 3 == 0; }
static double g_div7f(int64_t i) { return (float)i / 7.0f; } /* float32 division, as numpy's */

static const repr_case repr_cases[] = {
    {"np.array(5.0) (contract: 5.0)", TJ_FLOAT64, 0, {0}, V(5), NULL, "array(5.0)"},
    {"np.array(5.0, dtype=f32) (contract)", TJ_FLOAT32, 0, {0}, V(5), NULL, "array(5.0, dtype=float32)"},
    {"np.array(1)", TJ_INT64, 0, {0}, V(1), NULL, "array(1)"},
    {"np.array(3, dtype=np.int32)", TJ_INT32, 0, {0}, V(3), NULL, "array(3, dtype=int32)"},
    {"np.array(True)", TJ_BOOL, 0, {0}, V(1), NULL, "array(True)"},
    {"np.array(False)", TJ_BOOL, 0, {0}, V(0), NULL, "array(False)"},
    {"np.array(200, np.uint8)", TJ_UINT8, 0, {0}, V(200), NULL, "array(200, dtype=uint8)"},
    {"np.array([1.,2.,3.])", TJ_FLOAT64, 1, {3}, V(1, 2, 3), NULL, "array([1., 2., 3.])"},
    {"np.array([1,2,3],dtype=np.int32)", TJ_INT32, 1, {3}, V(1, 2, 3), NULL,
     "array([1, 2, 3], dtype=int32)"},
    {"np.array([[1.,2.],[3.,4.]])", TJ_FLOAT64, 2, {2, 2}, V(1, 2, 3, 4), NULL,
     "array([[1., 2.],\n       [3., 4.]])"},
    {"np.zeros(0, f32)", TJ_FLOAT32, 1, {0}, V(0), NULL, "array([], dtype=float32)"},
    {"np.zeros((0,3))", TJ_FLOAT64, 2, {0, 3}, V(0), NULL,
     "array([], shape=(0, 3), dtype=float64)"},
    {"np.zeros((2,0,0),np.int64)", TJ_INT64, 3, {2, 0, 0}, V(0), NULL,
     "array([], shape=(2, 0, 0), dtype=int64)"},
    {"np.array([np.nan, np.inf, -np.inf, 1.5])", TJ_FLOAT64, 1, {4},
     V(NAN, INFINITY, -INFINITY, 1.5), NULL, "array([ nan,  inf, -inf,  1.5])"},
    {"np.array(np.nan)", TJ_FLOAT64, 0, {0}, V(NAN), NULL, "array(nan)"},
    {"np.array(-np.inf, dtype=f32)", TJ_FLOAT32, 0, {0}, V(-INFINITY), NULL,
     "array(-inf, dtype=float32)"},
    {"np.array([np.nan, -np.inf])", TJ_FLOAT64, 1, {2}, V(NAN, -INFINITY), NULL,
     "array([ nan, -inf])"},
    {"np.array(0.1, dtype=f32)", TJ_FLOAT32, 0, {0}, V(0.1), NULL, "array(0.1, dtype=float32)"},
    {"np.array(0.045176658779382706, dtype=f32)", TJ_FLOAT32, 0, {0}, V(0.045176658779382706),
     NULL, "array(0.04517666, dtype=float32)"},
    {"np.array(0.045176658779382706)", TJ_FLOAT64, 0, {0}, V(0.045176658779382706), NULL,
     "array(0.04517666)"},
    {"np.array([1.5, 2.25, -3.])", TJ_FLOAT64, 1, {3}, V(1.5, 2.25, -3), NULL,
     "array([ 1.5 ,  2.25, -3.  ])"},
    {"np.array([1e-5, 1.5])", TJ_FLOAT64, 1, {2}, V(1e-5, 1.5), NULL,
     "array([1.0e-05, 1.5e+00])"},
    {"np.array([1e8])", TJ_FLOAT64, 1, {1}, V(1e8), NULL, "array([1.e+08])"},
    {"np.array([0., 1e-5])", TJ_FLOAT64, 1, {2}, V(0, 1e-5), NULL, "array([0.e+00, 1.e-05])"},
    {"np.array([1e6], dtype=f32)", TJ_FLOAT32, 1, {1}, V(1e6), NULL,
     "array([1.e+06], dtype=float32)"},
    {"np.array([999999.], dtype=f32)", TJ_FLOAT32, 1, {1}, V(999999), NULL,
     "array([999999.], dtype=float32)"},
    {"np.array([1e-4], dtype=f32)", TJ_FLOAT32, 1, {1}, V(1e-4), NULL,
     "array([0.0001], dtype=float32)"},
    {"np.array([1e-4])", TJ_FLOAT64, 1, {1}, V(1e-4), NULL, "array([0.0001])"},
    {"np.array([1., 1000.])", TJ_FLOAT64, 1, {2}, V(1, 1000), NULL, "array([   1., 1000.])"},
    {"np.array([1., 1001.])", TJ_FLOAT64, 1, {2}, V(1, 1001), NULL,
     "array([1.000e+00, 1.001e+03])"},
    {"np.array([0.1+0.2, 1/3, 2/3])", TJ_FLOAT64, 1, {3}, V(0.1 + 0.2, 1.0 / 3, 2.0 / 3), NULL,
     "array([0.3       , 0.33333333, 0.66666667])"},
    {"np.array([0.001953125])", TJ_FLOAT64, 1, {1}, V(0.001953125), NULL,
     "array([0.00195312])"},
    {"np.array([1e6, 1.5, 9.99e-5], dtype=f32)", TJ_FLOAT32, 1, {3}, V(1e6, 1.5, 9.99e-5), NULL,
     "array([1.00e+06, 1.50e+00, 9.99e-05], dtype=float32)"},
    {"np.array([1e-300, 1.])", TJ_FLOAT64, 1, {2}, V(1e-300, 1), NULL,
     "array([1.e-300, 1.e+000])"},
    {"np.array(1e20)", TJ_FLOAT64, 0, {0}, V(1e20), NULL, "array(1.e+20)"},
    {"np.array([-0.0, 1.5])", TJ_FLOAT64, 1, {2}, V(-0.0, 1.5), NULL, "array([-0. ,  1.5])"},
    {"np.array([True, False, True])", TJ_BOOL, 1, {3}, V(1, 0, 1), NULL,
     "array([ True, False,  True])"},
    {"np.array([0, 255], np.uint8)", TJ_UINT8, 1, {2}, V(0, 255), NULL,
     "array([  0, 255], dtype=uint8)"},
    {"np.array([-128, 127, 5], np.int8)", TJ_INT8, 1, {3}, V(-128, 127, 5), NULL,
     "array([-128,  127,    5], dtype=int8)"},
    {"np.array([[-32768], [7]], np.int16)", TJ_INT16, 2, {2, 1}, V(-32768, 7), NULL,
     "array([[-32768],\n       [     7]], dtype=int16)"},
    {"np.arange(3, dtype=np.int8).reshape(3,1)", TJ_INT8, 2, {3, 1}, NULL, g_arange,
     "array([[0],\n       [1],\n       [2]], dtype=int8)"},
    {"np.array([[[7.5]]])", TJ_FLOAT64, 3, {1, 1, 1}, V(7.5), NULL, "array([[[7.5]]])"},
    {"np.arange(30.)", TJ_FLOAT64, 1, {30}, NULL, g_arange,
     "array([ 0.,  1.,  2.,  3.,  4.,  5.,  6.,  7.,  8.,  9., 10., 11., 12.,\n"
     "       13., 14., 15., 16., 17., 18., 19., 20., 21., 22., 23., 24., 25.,\n"
     "       26., 27., 28., 29.])"},
    {"np.arange(40, dtype=np.int64)*1000", TJ_INT64, 1, {40}, NULL, g_times1000,
     "array([    0,  1000,  2000,  3000,  4000,  5000,  6000,  7000,  8000,\n"
     "        9000, 10000, 11000, 12000, 13000, 14000, 15000, 16000, 17000,\n"
     "       18000, 19000, 20000, 21000, 22000, 23000, 24000, 25000, 26000,\n"
     "       27000, 28000, 29000, 30000, 31000, 32000, 33000, 34000, 35000,\n"
     "       36000, 37000, 38000, 39000])"},
    {"np.arange(24).reshape(2,3,4)", TJ_INT64, 3, {2, 3, 4}, NULL, g_arange,
     "array([[[ 0,  1,  2,  3],\n        [ 4,  5,  6,  7],\n        [ 8,  9, 10, 11]],\n\n"
     "       [[12, 13, 14, 15],\n        [16, 17, 18, 19],\n        [20, 21, 22, 23]]])"},
    {"np.arange(20, dtype=f32)/7", TJ_FLOAT32, 1, {20}, NULL, g_div7f,
     "array([0.        , 0.14285715, 0.2857143 , 0.42857143, 0.5714286 ,\n"
     "       0.71428573, 0.85714287, 1.        , 1.1428572 , 1.2857143 ,\n"
     "       1.4285715 , 1.5714285 , 1.7142857 , 1.8571428 , 2.        ,\n"
     "       2.142857  , 2.2857144 , 2.4285715 , 2.5714285 , 2.7142856 ],\n"
     "      dtype=float32)"},
    /* summarized: more than 1000 elements, 3 edge items, shape= appended (numpy >= 2.2) */
    {"np.arange(2000.)", TJ_FLOAT64, 1, {2000}, NULL, g_arange,
     "array([0.000e+00, 1.000e+00, 2.000e+00, ..., 1.997e+03, 1.998e+03,\n"
     "       1.999e+03], shape=(2000,))"},
    {"np.arange(3000, dtype=np.int32).reshape(1000,3)", TJ_INT32, 2, {1000, 3}, NULL, g_arange,
     "array([[   0,    1,    2],\n       [   3,    4,    5],\n       [   6,    7,    8],\n"
     "       ...,\n       [2991, 2992, 2993],\n       [2994, 2995, 2996],\n"
     "       [2997, 2998, 2999]], shape=(1000, 3), dtype=int32)"},
    {"np.arange(1001) % 3 == 0", TJ_BOOL, 1, {1001}, NULL, g_mod3,
     "array([ True, False, False, ..., False,  True, False], shape=(1001,))"},
    {"np.arange(1331, dtype=np.int16).reshape(11,11,11)", TJ_INT16, 3, {11, 11, 11}, NULL,
     g_arange,
     "array([[[   0,    1,    2, ...,    8,    9,   10],\n"
     "        [  11,   12,   13, ...,   19,   20,   21],\n"
     "        [  22,   23,   24, ...,   30,   31,   32],\n"
     "        ...,\n"
     "        [  88,   89,   90, ...,   96,   97,   98],\n"
     "        [  99,  100,  101, ...,  107,  108,  109],\n"
     "        [ 110,  111,  112, ...,  118,  119,  120]],\n\n"
     "       [[ 121,  122,  123, ...,  129,  130,  131],\n"
     "        [ 132,  133,  134, ...,  140,  141,  142],\n"
     "        [ 143,  144,  145, ...,  151,  152,  153],\n"
     "        ...,\n"
     "        [ 209,  210,  211, ...,  217,  218,  219],\n"
     "        [ 220,  221,  222, ...,  228,  229,  230],\n"
     "        [ 231,  232,  233, ...,  239,  240,  241]],\n\n"
     "       [[ 242,  243,  244, ...,  250,  251,  252],\n"
     "        [ 253,  254,  255, ...,  261,  262,  263],\n"
     "        [ 264,  265,  266, ...,  272,  273,  274],\n"
     "        ...,\n"
     "        [ 330,  331,  332, ...,  338,  339,  340],\n"
     "        [ 341,  342,  343, ...,  349,  350,  351],\n"
     "        [ 352,  353,  354, ...,  360,  361,  362]],\n\n"
     "       ...,\n\n"
     "       [[ 968,  969,  970, ...,  976,  977,  978],\n"
     "        [ 979,  980,  981, ...,  987,  988,  989],\n"
     "        [ 990,  991,  992, ...,  998,  999, 1000],\n"
     "        ...,\n"
     "        [1056, 1057, 1058, ..., 1064, 1065, 1066],\n"
     "        [1067, 1068, 1069, ..., 1075, 1076, 1077],\n"
     "        [1078, 1079, 1080, ..., 1086, 1087, 1088]],\n\n"
     "       [[1089, 1090, 1091, ..., 1097, 1098, 1099],\n"
     "        [1100, 1101, 1102, ..., 1108, 1109, 1110],\n"
     "        [1111, 1112, 1113, ..., 1119, 1120, 1121],\n"
     "        ...,\n"
     "        [1177, 1178, 1179, ..., 1185, 1186, 1187],\n"
     "        [1188, 1189, 1190, ..., 1196, 1197, 1198],\n"
     "        [1199, 1200, 1201, ..., 1207, 1208, 1209]],\n\n"
     "       [[1210, 1211, 1212, ..., 1218, 1219, 1220],\n"
     "        [1221, 1222, 1223, ..., 1229, 1230, 1231],\n"
     "        [1232, 1233, 1234, ..., 1240, 1241, 1242],\n"
     "        ...,\n"
     "        [1298, 1299, 1300, ..., 1306, 1307, 1308],\n"
     "        [1309, 1310, 1311, ..., 1317, 1318, 1319],\n"
     "        [1320, 1321, 1322, ..., 1328, 1329, 1330]]],\n"
     "      shape=(11, 11, 11), dtype=int16)"},
};

Test(print, matches_numpy_repr)
{
    for (size_t k = 0; k < sizeof repr_cases / sizeof repr_cases[0]; k++) {
        const repr_case *c = &repr_cases[k];
        int64_t n;
        cr_assert(tjA_shape_size(c->ndim, c->shape, &n));
        double *v = malloc((size_t)(n ? n : 1) * sizeof *v);
        for (int64_t i = 0; i < n; i++)
            v[i] = c->vals ? c->vals[i] : c->gen(i);
        tj_array *a = tjt_array(c->dtype, c->ndim, c->shape, v);
        cr_assert_not_null(a, "%s", c->numpy);
        char *s = tj_array_to_string(a);
        cr_expect_str_eq(s, c->expect, "%s:\n  got      %s\n  expected %s", c->numpy, s,
                         c->expect);
        free(s);
        free(v);
        tj_array_unref(a);
    }
}

Test(print, int64_extremes)
{
    int64_t v[] = {INT64_MIN, INT64_MAX};
    tj_array *a = tj_array_from_data(TJ_INT64, 1, (int64_t[]){2}, v);
    char *s = tj_array_to_string(a);
    cr_expect_str_eq(s, "array([-9223372036854775808,  9223372036854775807])");
    free(s);
    tj_array_unref(a);
}

Test(print, to_file_returns_length)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cr_assert_not_null(f);
    tj_array *a = tj_array_scalar(TJ_FLOAT32, 5);
    int n = tj_array_print(a, f);
    fclose(f);
    cr_expect_eq(n, (int)strlen("array(5.0, dtype=float32)"));
    cr_expect_str_eq(buf, "array(5.0, dtype=float32)");
    cr_expect_eq(tj_array_print(a, NULL), -1);
    free(buf);
    tj_array_unref(a);
}
