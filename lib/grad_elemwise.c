/* The vector-Jacobian products of the elementwise ops (Theano's / PyTensor's rules), written
 * with the public builders; lib/grad.c dispatches here and fits each term to its input's type.
 *
 * Only float nodes with float inputs reach these rules (grad.c gives integer operands and
 * results no gradient). Piecewise-constant ops (sign, floor, ceil, round, trunc, int_div) give
 * zeros, as PyTensor's zeros_like, not a disconnection. */
#include "internal.h"

/* a 0-d constant of like's dtype; NULL-safe so rules can nest builders (sticky errors) */
static tj_var *K(tj_var *like, double value) { return like ? tjG_const_like(like, value) : NULL; }

/* g where cond holds, else 0 */
static tj_var *where(tj_var *cond, tj_var *g) { return tj_switch(cond, g, K(g, 0.0)); }

/* 2/sqrt(pi) exp(-x^2): the derivative of erf */
static tj_var *derf(tj_var *x)
{
    return tj_mul(K(x, 1.12837916709551257390), tj_exp(tj_neg(tj_sqr(x))));
}

tj_var *tjD_elemwise_rule(tj_var *node, int i, tj_var *g, bool *none)
{
    tj_var *x = node->in[0], *y = node->nin > 1 ? node->in[1] : NULL;
    *none = false;
    switch (node->op) {
    case TJ_OP_GT:
    case TJ_OP_LT:
    case TJ_OP_GE:
    case TJ_OP_LE:
    case TJ_OP_EQ:
    case TJ_OP_NEQ:
    case TJ_OP_ISNAN:
    case TJ_OP_ISINF:
    case TJ_OP_NOT:
    case TJ_OP_INVERT:
    case TJ_OP_AND:
    case TJ_OP_OR:
    case TJ_OP_XOR: *none = true; return NULL;
    case TJ_OP_SIGN:
    case TJ_OP_FLOOR:
    case TJ_OP_CEIL:
    case TJ_OP_ROUND:
    case TJ_OP_TRUNC:
    case TJ_OP_INT_DIV: return K(node->in[i], 0.0); /* fit() broadcasts it to the input's type */
    case TJ_OP_NEG: return tj_neg(g);
    case TJ_OP_ABS: /* sign(0) = 0: |x| has gradient 0 at 0, as in Theano */
        return tj_mul(g, tj_sign(x));
    case TJ_OP_EXP: return tj_mul(g, node);
    case TJ_OP_EXP2: return tj_mul(g, tj_mul(node, K(node, 0.69314718055994530942)));
    case TJ_OP_EXPM1: return tj_mul(g, tj_add(node, K(node, 1.0)));
    case TJ_OP_LOG: return tj_div(g, x);
    case TJ_OP_LOG2: return tj_div(g, tj_mul(x, K(x, 0.69314718055994530942)));
    case TJ_OP_LOG10: return tj_div(g, tj_mul(x, K(x, 2.30258509299404568402)));
    case TJ_OP_LOG1P: return tj_div(g, tj_add(x, K(x, 1.0)));
    case TJ_OP_SQRT: return tj_div(g, tj_mul(K(node, 2.0), node));
    case TJ_OP_RSQRT: /* d x^-1/2 = -x^-3/2 / 2 */
        return tj_mul(g, tj_mul(K(node, -0.5), tj_mul(node, tj_sqr(node))));
    case TJ_OP_SQR: return tj_mul(g, tj_mul(K(x, 2.0), x));
    case TJ_OP_INV: return tj_neg(tj_div(g, tj_sqr(x)));
    case TJ_OP_SIGMOID: return tj_mul(g, tj_mul(node, tj_sub(K(node, 1.0), node)));
    case TJ_OP_SOFTPLUS: return tj_mul(g, tj_sigmoid(x));
    case TJ_OP_TANH: return tj_mul(g, tj_sub(K(node, 1.0), tj_sqr(node)));
    case TJ_OP_SIN: return tj_mul(g, tj_cos(x));
    case TJ_OP_COS: return tj_neg(tj_mul(g, tj_sin(x)));
    case TJ_OP_TAN: return tj_mul(g, tj_add(K(node, 1.0), tj_sqr(node)));
    case TJ_OP_ARCSIN: return tj_div(g, tj_sqrt(tj_sub(K(x, 1.0), tj_sqr(x))));
    case TJ_OP_ARCCOS: return tj_neg(tj_div(g, tj_sqrt(tj_sub(K(x, 1.0), tj_sqr(x)))));
    case TJ_OP_ARCTAN: return tj_div(g, tj_add(K(x, 1.0), tj_sqr(x)));
    case TJ_OP_SINH: return tj_mul(g, tj_cosh(x));
    case TJ_OP_COSH: return tj_mul(g, tj_sinh(x));
    case TJ_OP_ARCSINH: return tj_div(g, tj_sqrt(tj_add(tj_sqr(x), K(x, 1.0))));
    case TJ_OP_ARCCOSH: return tj_div(g, tj_sqrt(tj_sub(tj_sqr(x), K(x, 1.0))));
    case TJ_OP_ARCTANH: return tj_div(g, tj_sub(K(x, 1.0), tj_sqr(x)));
    case TJ_OP_ERF: return tj_mul(g, derf(x));
    case TJ_OP_ERFC: return tj_neg(tj_mul(g, derf(x)));
    case TJ_OP_CAST: /* float to float: fit() casts g back to the input's dtype */ return g;
    case TJ_OP_ADD: return g;
    case TJ_OP_SUB: return i == 0 ? g : tj_neg(g);
    case TJ_OP_MUL: return tj_mul(g, node->in[1 - i]);
    case TJ_OP_DIV: return i == 0 ? tj_div(g, y) : tj_neg(tj_div(tj_mul(g, x), tj_sqr(y)));
    case TJ_OP_MOD: /* PyTensor: a % b = a - b * (a // b), the quotient held constant */
        return i == 0 ? g : tj_neg(tj_mul(g, tj_int_div(x, y)));
    case TJ_OP_ARCTAN2: { /* atan2(y, x): d/dy = x / (x^2 + y^2), d/dx = -y / (x^2 + y^2) */
        tj_var *r2 = tj_add(tj_sqr(x), tj_sqr(y));
        return i == 0 ? tj_div(tj_mul(g, y), r2) : tj_neg(tj_div(tj_mul(g, x), r2));
    }
    case TJ_OP_POW:
        if (i == 0)
            return tj_mul(tj_mul(g, y), tj_pow(x, tj_sub(y, K(y, 1.0))));
        /* Theano's form: 0 where the base is 0 rather than 0 * log(0) = nan */
        return tj_switch(tj_eq(x, K(x, 0.0)), K(g, 0.0), tj_mul(tj_mul(g, tj_log(x)), node));
    case TJ_OP_MAXIMUM:
    case TJ_OP_MINIMUM: {
        /* PyTensor's rule: the operand equal to the result gets g, ties go to the first */
        tj_var *first = tj_eq(node, x);
        return i == 0 ? where(first, g) : tj_switch(first, K(g, 0.0), g);
    }
    case TJ_OP_CLIP: {
        /* PyTensor's Clip.L_op (x inside [lo, hi] both ends, lo below, hi above) where lo < hi.
         * Where lo >= hi numpy's min(max(x, lo), hi) is hi whatever x is, so x gets nothing and
         * hi gets g, except that lo keeps it below x < lo == hi (there both bounds move the
         * result from below: either is a derivative, one must take it). PyTensor gives g to x
         * at lo == hi == x and to both bounds at x < lo, hi < lo (its clip returns lo there). */
        tj_var *lo = node->in[1], *hi = node->in[2];
        if (i == 0)
            return where(tj_and(tj_and(tj_ge(x, lo), tj_le(x, hi)), tj_lt(lo, hi)), g);
        if (i == 1)
            return where(tj_and(tj_lt(x, lo), tj_le(lo, hi)), g);
        tj_var *crossed = tj_or(tj_gt(lo, hi), tj_and(tj_eq(lo, hi), tj_ge(x, lo)));
        return where(tj_or(tj_gt(x, hi), crossed), g);
    }
    case TJ_OP_SECOND: /* the first operand gives only a shape */
        if (i == 0) {
            *none = true;
            return NULL;
        }
        return g; /* fit() sums g over the axes the second operand was broadcast along */
    case TJ_OP_SWITCH:
        if (i == 0) {
            *none = true;
            return NULL;
        }
        return i == 1 ? where(x, g) : tj_switch(x, K(g, 0.0), g);
    default: {
        char buf[160];
        tjC_error(node->ctx, TJ_ERR_INVALID, "no gradient rule is defined for op '%s' (%s)",
                  tjG_ops[node->op].name, tjG_describe(node, buf, sizeof buf));
        return NULL;
    }
    }
}
