/* Flattened views of product and sum trees, shared by the rule families (lib/opt/algebra.c). */
#ifndef TJ_OPT_ALGEBRA_H
#define TJ_OPT_ALGEBRA_H

#include "opt.h"

enum { TJR_MAX_FACTORS = 32 };

/* root = sign * k * prod f[i]^e[i] */
typedef struct {
    tj_var *f[TJR_MAX_FACTORS];
    int e[TJR_MAX_FACTORS];
    int n;
    double k;     /* product of the uniform constants absorbed */
    int nconst;   /* how many constants were absorbed */
    int nneg;     /* how many negations were absorbed */
    int ncancel;  /* factors met with exponents of both signs (x * ... / x) */
    bool neg;     /* odd number of negations */
    bool full;    /* too many factors: the view is incomplete, do not rebuild from it */
} tjR_product;

/* Flags of tjR_product_of: which nodes are looked through (MUL and NEG always). */
enum {
    TJR_THROUGH_DIV = 1,   /* true_div (float): the divisor's factors get negative exponents */
    TJR_THROUGH_POWER = 2, /* sqr (exponent 2) and inv (exponent -1) */
    TJR_ABSORB_CONST = 4,  /* uniform constants multiply into k (divisors only when float) */
    TJR_THROUGH_SECOND = 8, /* second(x, y) as y: the caller rebuilds through
                               tjR_keep_shape_checks, which keeps x's shape */
};

/* The product view of root. Nodes below the root are looked through only when they have one
 * consumer and root's dtype and rank (so nothing shared is duplicated). */
TJ_HIDDEN void tjR_product_of(tjR_run *run, tj_var *root, unsigned flags, tjR_product *p);
/* Builds sign * k * prod f^e with root's dtype (factors with exponent 0 skipped): numerator
 * product, divided by the denominator product when there is one (floats), times k unless k is
 * 1 (-1 becomes a negation). NULL when the product cannot be built (no factors). */
TJ_HIDDEN tj_var *tjR_product_build(tj_var *root, const tjR_product *p);

/* root = sum s[i] * t[i] (+ k) */
typedef struct {
    tj_var *t[TJR_MAX_FACTORS];
    int s[TJR_MAX_FACTORS]; /* +1 or -1 */
    int n;
    double k;
    int nconst;
    bool full;
} tjR_sum;

/* The sum view of root through add, sub and neg (one consumer, same dtype and rank); with
 * absorb, uniform constants add into k. */
TJ_HIDDEN void tjR_sum_of(tjR_run *run, tj_var *root, bool absorb, tjR_sum *s);
/* Builds the sum (terms in order, + k when k != 0 or no term) with root's dtype. */
TJ_HIDDEN tj_var *tjR_sum_build(tj_var *root, const tjR_sum *s);

/* Elementwise builders that pass NULL through (sticky, like the public builders). */
TJ_HIDDEN tj_var *tjR_e1(tj_op op, tj_var *a);
TJ_HIDDEN tj_var *tjR_e2(tj_op op, tj_var *a, tj_var *b);

#endif
