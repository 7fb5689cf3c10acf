/* Row conversions between dtypes: one loop per (destination, source) pair, so that a cast or a
 * converting copy costs a load, a conversion and a store per element rather than two switches
 * over the dtype (a fuzzed graph's casts spent a quarter of its time in those). */
#include "internal.h"

#include <stdint.h>
#include <string.h>

/* A source's value (b8 is bool, a macro name in C): bool bytes other than 0 and 1 read as
 * true, like tjA_load_int. */
#define VALUE_b8(x) ((x) != 0)
#define VALUE_i8(x) (x)
#define VALUE_i16(x) (x)
#define VALUE_i32(x) (x)
#define VALUE_i64(x) (x)
#define VALUE_u8(x) (x)
#define VALUE_f32(x) (x)
#define VALUE_f64(x) (x)

/* TO_<dst>_<source is float>(v): the cast of one value. Integers wrap (two's complement, as
 * tjA_store_int); floats saturate into integers; int64 -> float32 converts directly, rounding once
 * (through double it could round twice). */
#define WRAP(T, v) ((T)(uint64_t)(int64_t)(v))
#define SAT(T, v, lo, hi, min, max) ((T)tjA_sat_int((double)(v), lo, hi, min, max))
#define TO_b8_0(v) ((uint8_t)((v) != 0))
#define TO_b8_1(v) ((uint8_t)((v) != 0)) /* NaN is true, as bool(nan) */
#define TO_i8_0(v) WRAP(int8_t, v)
#define TO_i8_1(v) SAT(int8_t, v, -128.0, 128.0, INT8_MIN, INT8_MAX)
#define TO_i16_0(v) WRAP(int16_t, v)
#define TO_i16_1(v) SAT(int16_t, v, -32768.0, 32768.0, INT16_MIN, INT16_MAX)
#define TO_i32_0(v) WRAP(int32_t, v)
#define TO_i32_1(v) SAT(int32_t, v, -2147483648.0, 2147483648.0, INT32_MIN, INT32_MAX)
#define TO_i64_0(v) ((int64_t)(v))
#define TO_i64_1(v) SAT(int64_t, v, -9223372036854775808.0, 9223372036854775808.0, INT64_MIN,      \
                        INT64_MAX)
#define TO_u8_0(v) WRAP(uint8_t, v)
#define TO_u8_1(v) SAT(uint8_t, v, 0.0, 256.0, 0, UINT8_MAX)
#define TO_f32_0(v) ((float)(v))
#define TO_f32_1(v) ((float)(v)) /* IEEE: rounds, overflows to +-inf, keeps NaN */
#define TO_f64_0(v) ((double)(v))
#define TO_f64_1(v) ((double)(v))

/* One element: i's source at s + i * ss, its result at d + i * ds. */
#define ELEM(DN, D, SN, S, SF, ds, ss)                                                             \
    do {                                                                                           \
        S x;                                                                                       \
        memcpy(&x, s + i * (ss), sizeof x);                                                        \
        D y = TO_##DN##_##SF(VALUE_##SN(x));                                                       \
        memcpy(d + i * (ds), &y, sizeof y);                                                        \
    } while (0)

#define CAST_ROW(DN, D, SN, S, SF)                                                                 \
    static void cast_##DN##_##SN(char *d, int64_t ds, const char *s, int64_t ss, int64_t n)        \
    {                                                                                              \
        if (ds == (int64_t)sizeof(D) && ss == (int64_t)sizeof(S)) /* a loop GCC vectorizes */      \
            for (int64_t i = 0; i < n; i++)                                                        \
                ELEM(DN, D, SN, S, SF, (int64_t)sizeof(D), (int64_t)sizeof(S));                    \
        else                                                                                       \
            for (int64_t i = 0; i < n; i++)                                                        \
                ELEM(DN, D, SN, S, SF, ds, ss);                                                    \
    }

/* Every source for one destination: name, C type, whether it is a float. */
#define FROM_EACH(X, DN, D)                                                                        \
    X(DN, D, b8, uint8_t, 0) X(DN, D, i8, int8_t, 0) X(DN, D, i16, int16_t, 0)                     \
    X(DN, D, i32, int32_t, 0) X(DN, D, i64, int64_t, 0) X(DN, D, u8, uint8_t, 0)                   \
    X(DN, D, f32, float, 1) X(DN, D, f64, double, 1)
#define TO_EACH(X)                                                                                 \
    X(b8, uint8_t) X(i8, int8_t) X(i16, int16_t) X(i32, int32_t) X(i64, int64_t)                   \
    X(u8, uint8_t) X(f32, float) X(f64, double)

#define ROWS_TO(DN, D) FROM_EACH(CAST_ROW, DN, D)
TO_EACH(ROWS_TO)

#define DTYPE_b8 TJ_BOOL
#define DTYPE_i8 TJ_INT8
#define DTYPE_i16 TJ_INT16
#define DTYPE_i32 TJ_INT32
#define DTYPE_i64 TJ_INT64
#define DTYPE_u8 TJ_UINT8
#define DTYPE_f32 TJ_FLOAT32
#define DTYPE_f64 TJ_FLOAT64
#define ENTRY(DN, D, SN, S, SF) [DTYPE_##SN] = cast_##DN##_##SN,
#define ROW_OF_TABLE(DN, D) [DTYPE_##DN] = {FROM_EACH(ENTRY, DN, D)},

static tjA_cast_fn *const cast_rows[TJ_NUM_DTYPES][TJ_NUM_DTYPES] = {TO_EACH(ROW_OF_TABLE)};

tjA_cast_fn *tjA_cast_row(tj_dtype dst, tj_dtype src)
{
    return tj_dtype_valid((int)dst) && tj_dtype_valid((int)src) ? cast_rows[dst][src] : NULL;
}
