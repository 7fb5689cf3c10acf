/* Data types: names, sizes, numpy's promotion and safe-cast tables, and element load/store.
 *
 * Every conversion goes through double. Storing a double into an integer dtype is the project's
 * defined float->int conversion, the same as LLVM's fptosi.sat / fptoui.sat used by the JIT:
 * truncation toward zero, NaN -> 0, out of range saturates to the type's min/max. Into bool:
 * v != 0 (so NaN -> true). A plain C cast would be undefined behaviour in those cases. */
#include "internal.h"

#include <math.h>
#include <string.h>

static const char *const dtype_names[TJ_NUM_DTYPES] = {
    [TJ_BOOL] = "bool",   [TJ_INT8] = "int8",     [TJ_INT16] = "int16",   [TJ_INT32] = "int32",
    [TJ_INT64] = "int64", [TJ_UINT8] = "uint8", [TJ_FLOAT32] = "float32", [TJ_FLOAT64] = "float64",
};

const char *tj_dtype_name(tj_dtype d)
{
    return tj_dtype_valid((int)d) ? dtype_names[d] : "invalid";
}

size_t tj_dtype_size(tj_dtype d)
{
    return tj_dtype_valid((int)d) ? tjA_es(d) : 0;
}

const char *tj_status_name(tj_status st)
{
    static const char *const names[] = {
        [TJ_OK] = "TJ_OK",
        [TJ_ERR_TYPE] = "TJ_ERR_TYPE",
        [TJ_ERR_SHAPE] = "TJ_ERR_SHAPE",
        [TJ_ERR_VALUE] = "TJ_ERR_VALUE",
        [TJ_ERR_UNUSED_INPUT] = "TJ_ERR_UNUSED_INPUT",
        [TJ_ERR_DISCONNECTED] = "TJ_ERR_DISCONNECTED",
        [TJ_ERR_JIT] = "TJ_ERR_JIT",
        [TJ_ERR_NOMEM] = "TJ_ERR_NOMEM",
        [TJ_ERR_INVALID] = "TJ_ERR_INVALID",
    };
    if ((int)st < 0 || (size_t)st >= sizeof names / sizeof names[0])
        return "TJ_ERR_UNKNOWN";
    return names[st];
}

/* numpy.promote_types(row, column), generated with numpy 2.4 (order of tj_dtype). */
#define B TJ_BOOL
#define I8 TJ_INT8
#define I16 TJ_INT16
#define I32 TJ_INT32
#define I64 TJ_INT64
#define U8 TJ_UINT8
#define F32 TJ_FLOAT32
#define F64 TJ_FLOAT64
static const tj_dtype promote_table[TJ_NUM_DTYPES][TJ_NUM_DTYPES] = {
    /*          bool  int8  int16 int32 int64 uint8 f32  f64 */
    /* bool  */ {B, I8, I16, I32, I64, U8, F32, F64},
    /* int8  */ {I8, I8, I16, I32, I64, I16, F32, F64},
    /* int16 */ {I16, I16, I16, I32, I64, I16, F32, F64},
    /* int32 */ {I32, I32, I32, I32, I64, I32, F64, F64},
    /* int64 */ {I64, I64, I64, I64, I64, I64, F64, F64},
    /* uint8 */ {U8, I16, I16, I32, I64, U8, F32, F64},
    /* f32   */ {F32, F32, F32, F64, F64, F32, F32, F64},
    /* f64   */ {F64, F64, F64, F64, F64, F64, F64, F64},
};
#undef B
#undef I8
#undef I16
#undef I32
#undef I64
#undef U8
#undef F32
#undef F64

/* numpy.can_cast(row, column, 'safe'), generated with numpy 2.4. */
static const bool safe_table[TJ_NUM_DTYPES][TJ_NUM_DTYPES] = {
    /* bool  */ {1, 1, 1, 1, 1, 1, 1, 1},
    /* int8  */ {0, 1, 1, 1, 1, 0, 1, 1},
    /* int16 */ {0, 0, 1, 1, 1, 0, 1, 1},
    /* int32 */ {0, 0, 0, 1, 1, 0, 0, 1},
    /* int64 */ {0, 0, 0, 0, 1, 0, 0, 1},
    /* uint8 */ {0, 0, 1, 1, 1, 1, 1, 1},
    /* f32   */ {0, 0, 0, 0, 0, 0, 1, 1},
    /* f64   */ {0, 0, 0, 0, 0, 0, 0, 1},
};

tj_dtype tjA_promote(tj_dtype a, tj_dtype b)
{
    /* Callers validate dtypes; an invalid one must still not index out of the table. */
    if (!tj_dtype_valid((int)a) || !tj_dtype_valid((int)b))
        return TJ_FLOAT64;
    return promote_table[a][b];
}

bool tjA_can_cast_safely(tj_dtype from, tj_dtype to)
{
    if (!tj_dtype_valid((int)from) || !tj_dtype_valid((int)to))
        return false;
    return safe_table[from][to];
}

/* Loads and stores use memcpy so a wrapped buffer at any alignment is read without UB;
 * compilers turn each into one move. */
double tjA_load(tj_dtype d, const void *base, int64_t i)
{
    const char *p = (const char *)base + i * (int64_t)tj_dtype_size(d);
    switch (d) {
    case TJ_BOOL: {
        uint8_t v;
        memcpy(&v, p, 1);
        return v != 0;
    }
    case TJ_INT8: {
        int8_t v;
        memcpy(&v, p, 1);
        return v;
    }
    case TJ_INT16: {
        int16_t v;
        memcpy(&v, p, 2);
        return v;
    }
    case TJ_INT32: {
        int32_t v;
        memcpy(&v, p, 4);
        return v;
    }
    case TJ_INT64: {
        int64_t v;
        memcpy(&v, p, 8);
        return (double)v;
    }
    case TJ_UINT8: {
        uint8_t v;
        memcpy(&v, p, 1);
        return v;
    }
    case TJ_FLOAT32: {
        float v;
        memcpy(&v, p, 4);
        return v;
    }
    case TJ_FLOAT64: {
        double v;
        memcpy(&v, p, 8);
        return v;
    }
    default:
        return NAN;
    }
}

void tjA_store(tj_dtype d, void *base, int64_t i, double v)
{
    char *p = (char *)base + i * (int64_t)tj_dtype_size(d);
    switch (d) {
    case TJ_BOOL: {
        uint8_t b = v != 0; /* NaN != 0 is true */
        memcpy(p, &b, 1);
        break;
    }
    case TJ_INT8: {
        int8_t x = (int8_t)tjA_sat_int(v, -128.0, 128.0, INT8_MIN, INT8_MAX);
        memcpy(p, &x, 1);
        break;
    }
    case TJ_INT16: {
        int16_t x = (int16_t)tjA_sat_int(v, -32768.0, 32768.0, INT16_MIN, INT16_MAX);
        memcpy(p, &x, 2);
        break;
    }
    case TJ_INT32: {
        int32_t x = (int32_t)tjA_sat_int(v, -2147483648.0, 2147483648.0, INT32_MIN, INT32_MAX);
        memcpy(p, &x, 4);
        break;
    }
    case TJ_INT64: {
        int64_t x = tjA_sat_int(v, -9223372036854775808.0, 9223372036854775808.0, INT64_MIN,
                                INT64_MAX);
        memcpy(p, &x, 8);
        break;
    }
    case TJ_UINT8: {
        uint8_t x = (uint8_t)tjA_sat_int(v, 0.0, 256.0, 0, UINT8_MAX);
        memcpy(p, &x, 1);
        break;
    }
    case TJ_FLOAT32: {
        float x = (float)v; /* IEEE: rounds, overflows to +-inf, keeps NaN */
        memcpy(p, &x, 4);
        break;
    }
    case TJ_FLOAT64:
        memcpy(p, &v, 8);
        break;
    default:
        break;
    }
}

int64_t tjA_load_int(tj_dtype d, const void *p)
{
    switch (d) {
    case TJ_BOOL: return *(const uint8_t *)p != 0;
    case TJ_INT8: return *(const int8_t *)p;
    case TJ_UINT8: return *(const uint8_t *)p;
    case TJ_INT16: {
        int16_t v;
        memcpy(&v, p, sizeof v);
        return v;
    }
    case TJ_INT32: {
        int32_t v;
        memcpy(&v, p, sizeof v);
        return v;
    }
    default: {
        int64_t v;
        memcpy(&v, p, sizeof v);
        return v;
    }
    }
}

void tjA_store_int(tj_dtype d, void *p, int64_t v)
{
    uint64_t u = (uint64_t)v; /* two's complement truncation, never a signed overflow */
    switch (d) {
    case TJ_BOOL: *(uint8_t *)p = v != 0; break;
    case TJ_INT8:
    case TJ_UINT8: *(uint8_t *)p = (uint8_t)u; break;
    case TJ_INT16: {
        uint16_t x = (uint16_t)u;
        memcpy(p, &x, sizeof x);
        break;
    }
    case TJ_INT32: {
        uint32_t x = (uint32_t)u;
        memcpy(p, &x, sizeof x);
        break;
    }
    default: memcpy(p, &u, sizeof u); break;
    }
}
