/* Values of the REPL language: Python scalars, strings, containers, and tensorjit's symbolic
 * variables, arrays and functions. Values are reference counted and immutable once built
 * (containers included), so they never form cycles. */
#ifndef TJ_REPL_VALUE_H
#define TJ_REPL_VALUE_H

#include "util.h"

#include <tensorjit.h>

typedef enum {
    V_NONE,
    V_BOOL,
    V_INT,
    V_FLOAT,
    V_STR,
    V_ARRAY, /* a concrete n-d array (tj_array) */
    V_VAR,   /* a symbolic variable; shared variables have .var.shared set */
    V_FN,    /* a compiled function */
    V_LIST,
    V_TUPLE,
    V_DICT,    /* items: key, value, key, value ... in insertion order */
    V_SLICE,   /* items: start, stop, step (each V_NONE when left out) */
    V_BUILTIN, /* a builtin function (function, shared, fscalar ...) */
    V_OP,      /* an op of the bindings table (exp, sum, dot ...) */
    V_MODULE   /* theano, T, np ...: every attribute is looked up among the builtins */
} repl_value_kind;

/* A compiled function and what the REPL needs to call it: the input variables (their dtypes
 * convert Python arguments) and whether outputs were given as a list. */
typedef struct {
    tj_fn *fn; /* freed with the value */
    tj_var **inputs;
    int nin, nout;
    bool listed; /* outputs=[...] returns a list; outputs=x returns one array */
    char *name;
} repl_function;

typedef struct repl_value repl_value;
struct repl_value {
    int refs;
    repl_value_kind kind;
    int depth; /* containers: 1 + the deepest item; bounded so printing cannot recurse deeply */
    union {
        bool b;
        int64_t i;
        double f;
        struct {
            char *s;
            size_t len;
        } str;
        tj_array *array;
        struct {
            tj_var *v;
            bool shared;
        } var;
        repl_function fn;
        struct {
            repl_value **items;
            int n;
        } seq;
        struct {
            const void *entry; /* a repl_builtin or a repl_op */
            int payload;       /* what a family entry needs: dtype and rank of a constructor */
            char name[32];
        } callable;
    } as;
};

repl_value *repl_new_none(void);
repl_value *repl_new_bool(bool b);
repl_value *repl_new_int(int64_t i);
repl_value *repl_new_float(double f);
repl_value *repl_new_str(const char *s, size_t len);
repl_value *repl_new_array(tj_array *a); /* takes ownership of a (unrefs it on failure) */
repl_value *repl_new_var(tj_var *v, bool shared);
/* Takes ownership of f's function, inputs and name (the caller frees them on failure). */
repl_value *repl_new_fn(const repl_function *f);
/* A list, tuple, dict or slice of n items, each NULL until the caller fills it (taking
 * ownership); call repl_seq_done after filling to compute the depth. */
repl_value *repl_new_seq(repl_value_kind kind, int n);
void repl_seq_done(repl_value *v);
repl_value *repl_new_callable(repl_value_kind kind, const void *entry, int payload,
                              const char *name);

repl_value *repl_ref(repl_value *v);
void repl_unref(repl_value *v);

bool repl_is_number(const repl_value *v); /* bool, int or float */
bool repl_is_seq(const repl_value *v);    /* list or tuple */
double repl_number(const repl_value *v);
/* "int", "tensor variable", "function" ... for messages */
const char *repl_kind_name(const repl_value *v);
/* The same with its article, for messages: "an int", "a list", "None" */
const char *repl_a_kind(const repl_value *v);

/* Python's repr (arrays in numpy's style); strings quoted. */
void repl_repr(repl_buf *b, const repl_value *v);
/* Python's str: a string's own text, everything else as repr. */
void repl_str(repl_buf *b, const repl_value *v);
/* "TensorType(float32, matrix)" */
void repl_describe_type(repl_buf *b, const tj_var *v);

#endif
