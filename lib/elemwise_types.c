/* The dtype rules of elementwise ops, in one place: the builders pick an op's compute dtype
 * from its operands' promoted dtype (numpy 2 rules), the reference executor and the kernel
 * validator check that a node or instruction computes in a dtype the op accepts.
 *
 * numpy with our dtypes: float16 does not exist here, so where numpy gives float16 (float
 * functions of bool, int8, uint8) we give float32, as for int16. */
#include "internal.h"

/* Float functions: the argument is converted to float_of(dtype). */
static bool float_function(tj_op op)
{
    switch (op) {
    case TJ_OP_EXP:
    case TJ_OP_LOG:
    case TJ_OP_SQRT:
    case TJ_OP_INV:
    case TJ_OP_SIGMOID:
    case TJ_OP_TANH:
    case TJ_OP_DIV:
    case TJ_OP_LOG1P:
    case TJ_OP_EXPM1:
    case TJ_OP_SOFTPLUS:
    case TJ_OP_EXP2:
    case TJ_OP_LOG2:
    case TJ_OP_LOG10:
    case TJ_OP_RSQRT:
    case TJ_OP_SIN:
    case TJ_OP_COS:
    case TJ_OP_TAN:
    case TJ_OP_ARCSIN:
    case TJ_OP_ARCCOS:
    case TJ_OP_ARCTAN:
    case TJ_OP_SINH:
    case TJ_OP_COSH:
    case TJ_OP_ARCSINH:
    case TJ_OP_ARCCOSH:
    case TJ_OP_ARCTANH:
    case TJ_OP_ERF:
    case TJ_OP_ERFC:
    case TJ_OP_ARCTAN2: return true;
    default: return false;
    }
}

/* Integer-and-bool only: logic and bit operations. */
static bool integral_only(tj_op op)
{
    return op == TJ_OP_AND || op == TJ_OP_OR || op == TJ_OP_XOR || op == TJ_OP_INVERT;
}

bool tjG_elemwise_accepts(tj_op op, tj_dtype d)
{
    if (!tj_dtype_valid((int)d))
        return false;
    if (float_function(op))
        return tj_dtype_is_float(d);
    if (integral_only(op))
        return !tj_dtype_is_float(d);
    switch (op) {
    case TJ_OP_NEG:
    case TJ_OP_SUB:
    case TJ_OP_SIGN:
    case TJ_OP_SQR:
    case TJ_OP_POW:
    case TJ_OP_INT_DIV:
    case TJ_OP_MOD:
    case TJ_OP_ROUND: return d != TJ_BOOL;
    default: return true;
    }
}

tj_dtype tjG_float_of(tj_dtype d)
{
    if (tj_dtype_is_float(d))
        return d;
    return (d == TJ_INT32 || d == TJ_INT64) ? TJ_FLOAT64 : TJ_FLOAT32;
}

tj_status tjG_elemwise_dtype(tj_op op, tj_dtype t, tj_dtype *compute, const char **why)
{
    *why = NULL;
    if (op == TJ_OP_DIV) { /* true division: any integer pair gives float64 */
        *compute = tj_dtype_is_float(t) ? t : TJ_FLOAT64;
        return TJ_OK;
    }
    if (float_function(op)) {
        *compute = tjG_float_of(t);
        return TJ_OK;
    }
    *compute = t;
    if (integral_only(op) && tj_dtype_is_float(t)) {
        *why = "is defined for bool and integers only (numpy's & | ^ ~); cast to an integer or "
               "compare first";
        return TJ_ERR_TYPE;
    }
    if (t != TJ_BOOL)
        return TJ_OK;
    switch (op) {
    case TJ_OP_NEG:
        *why = "is not defined for bool; use tj_not for logical negation";
        return TJ_ERR_TYPE;
    case TJ_OP_SUB:
        *why = "is not defined for bool (as numpy); use tj_xor, or cast to an integer first";
        return TJ_ERR_TYPE;
    case TJ_OP_SIGN:
        *why = "is not defined for bool (as numpy); cast to an integer first";
        return TJ_ERR_TYPE;
    case TJ_OP_SQR:
    case TJ_OP_POW:
    case TJ_OP_INT_DIV:
    case TJ_OP_MOD:
        *compute = TJ_INT8; /* numpy: True // True is int8 1 */
        return TJ_OK;
    case TJ_OP_ROUND:
        *compute = TJ_FLOAT32; /* numpy rounds bool through float16 */
        return TJ_OK;
    default: return TJ_OK;
    }
}
