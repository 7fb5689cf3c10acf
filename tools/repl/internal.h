/* What the REPL's modules share: the session, error reporting, evaluation, the op bindings, the
 * builtins, methods and commands. Only the public tensorjit.h API is used. */
#ifndef TJ_REPL_INTERNAL_H
#define TJ_REPL_INTERNAL_H

#include "ast.h"
#include "repl.h"
#include "value.h"

struct repl_session {
    repl_config cfg;
    tj_ctx *ctx;
    struct {
        char **names;
        repl_value **values;
        int n, cap;
    } env;
    /* the statement being run: error positions are byte offsets into src */
    const char *src;
    size_t srclen;
    int src_line;
    bool failed;
    size_t errpos;
    char errmsg[1024];
    /* a statement continued over several lines (open brackets) */
    repl_buf pending;
    bool pending_active;
    int pending_line;
    long pending_depth; /* brackets open at the end of the pending text */
    int line_no;
    int nerrors;
    bool quit;
    uint64_t rng; /* rand/randn: a fixed-seed splitmix64 stream */
};

/* ---- errors: the first failure of a statement wins; each returns NULL for `return fail(...)` */
void *repl_fail(repl_session *s, size_t pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The library's message (tj_errmsg of the context, or of the thread for array functions),
 * prefixed by what was being done; clears the library's error. */
void *repl_fail_lib(repl_session *s, size_t pos, const char *what);
void *repl_oom(repl_session *s, size_t pos);

/* ---- names ---- */
repl_value *repl_env_get(repl_session *s, const char *name);         /* borrowed, NULL if unbound */
bool repl_env_set(repl_session *s, const char *name, repl_value *v); /* adds a reference */

/* ---- evaluation ---- */
repl_value *repl_eval(repl_session *s, const repl_node *n); /* new reference or NULL */
bool repl_exec(repl_session *s, const repl_stmt *st);       /* prints expression results */

/* Arguments of a call, evaluated: values are borrowed from the caller. */
typedef struct {
    repl_value **args;
    size_t *argpos;
    int nargs;
    const char **kwnames;
    repl_value **kwargs;
    size_t *kwpos;
    int nkw;
    size_t pos;
    const char *fname; /* for messages */
} repl_args;

/* Sorts positional and keyword arguments into the slots of params (borrowed; NULL when not
 * given). Too many, unknown, repeated or missing (first nrequired) arguments are errors. */
bool repl_bind(repl_session *s, const repl_args *a, const char *const *params, int nparams,
               int nrequired, repl_value **slots, size_t *slotpos);
repl_value *repl_call(repl_session *s, repl_value *callee, const repl_args *a);
/* Evaluates the arguments of an N_CALL node (new references; free with repl_args_free). */
bool repl_eval_args(repl_session *s, const repl_node *call, repl_args *out);
void repl_args_free(repl_args *a);

/* ---- conversions (convert.c) ---- */
/* A symbolic variable for an operand: vars as they are, Python numbers as weak literals,
 * arrays and (nested) lists as constants. *symbolic tells whether it was already symbolic. */
tj_var *repl_to_var(repl_session *s, repl_value *v, size_t pos, bool *symbolic);
/* A new array from a number, bool, (nested) list or array. dtype -1 infers it as numpy does
 * (int64 for ints, float64 for floats); otherwise values are converted to dtype. */
tj_array *repl_to_array(repl_session *s, repl_value *v, int dtype, size_t pos);
bool repl_to_int(repl_session *s, const repl_value *v, size_t pos, int64_t *out);
bool repl_to_bool(repl_session *s, const repl_value *v, size_t pos, bool *out);
bool repl_to_dtype(repl_session *s, const repl_value *v, size_t pos, tj_dtype *out);
/* None -> all axes (*naxes 0); an int; or a tuple/list of ints. axes has TJ_MAX_NDIM slots. */
bool repl_to_axes(repl_session *s, const repl_value *v, size_t pos, int *axes, int *naxes);
/* A shape from ints or a tuple/list of ints; checks against max_elements. */
bool repl_to_shape(repl_session *s, repl_value *const *dims, int ndims, const size_t *pos,
                   int64_t *shape, int *ndim);
/* Evaluates a graph without inputs now (reference executor) and returns its value. */
tj_array *repl_compute(repl_session *s, tj_var *v, size_t pos);
/* The result of an op: symbolic stays a V_VAR, otherwise it is computed into a V_ARRAY. */
repl_value *repl_result(repl_session *s, tj_var *v, bool symbolic, size_t pos, const char *what);
bool repl_parse_dtype(const char *name, tj_dtype *out);

/* ---- the op bindings (ops.c): Theano's name -> kind -> tensorjit builder ---- */
typedef struct repl_op repl_op;
const repl_op *repl_op_find(const char *name);
const char *repl_op_name(const repl_op *op);
repl_value *repl_op_call(repl_session *s, const repl_op *op, const repl_args *a);
/* Applies a named op to values as an operator does; `needs` is the message when the op is not
 * bound yet ("the operator // needs tj_int_div"). */
repl_value *repl_apply_named(repl_session *s, const char *name, const char *needs,
                             repl_value *const *operands, int n, size_t pos);
void repl_op_each(void (*fn)(void *arg, const char *name), void *arg);
void repl_op_help(repl_buf *b, const repl_op *op);

/* ---- builtins (builtins.c, ctors.c) ---- */
typedef struct repl_builtin repl_builtin;
/* A builtin by name (constructor families like fmatrices included) as a new value, or NULL. */
repl_value *repl_builtin_lookup(const char *name);
repl_value *repl_builtin_call(repl_session *s, const repl_value *callee, const repl_args *a);
void repl_builtin_each(void (*fn)(void *arg, const char *name), void *arg);
bool repl_builtin_help(repl_buf *b, const char *name);
/* constructors: fscalar, dmatrices, row ... (ctors.c) */
bool repl_ctor_parse(const char *name, int *payload);
repl_value *repl_ctor_call(repl_session *s, int payload, const repl_args *a);
void repl_ctor_each(void (*fn)(void *arg, const char *name), void *arg);
/* builders that do not fit the table's kinds (graph_builtins.c) */
repl_value *repl_b_take(repl_session *s, const repl_args *a);
repl_value *repl_b_join(repl_session *s, const repl_args *a);
repl_value *repl_b_split(repl_session *s, const repl_args *a);
repl_value *repl_b_alloc(repl_session *s, const repl_args *a);
repl_value *repl_b_jacobian(repl_session *s, const repl_args *a, bool hessian);
repl_value *repl_b_tensor(repl_session *s, const repl_args *a);
repl_value *repl_symbolic_arange(repl_session *s, repl_value *start, repl_value *stop,
                                 repl_value *step, tj_dtype dtype, size_t pos);
/* function(...) and calling compiled functions (functions.c) */
repl_value *repl_function_build(repl_session *s, const repl_args *a);
repl_value *repl_function_call(repl_session *s, repl_value *fn, const repl_args *a);
/* Converts call arguments to the function's input arrays (new references in `arrays`). */
bool repl_function_args(repl_session *s, const repl_function *f, const repl_args *a,
                        tj_array **arrays);
repl_value *repl_function_outputs(repl_session *s, const repl_function *f, tj_array **outs);
/* x.eval({x: 2, ...}): compiles the graph of x for the dict's keys and runs it. */
repl_value *repl_var_eval(repl_session *s, repl_value *var, repl_value *inputs, size_t pos);

/* ---- attributes, methods, indexing (methods.c, index.c) ---- */
repl_value *repl_attribute(repl_session *s, repl_value *obj, const char *name, size_t pos);
repl_value *repl_method_call(repl_session *s, repl_value *obj, const char *name,
                             const repl_args *a);
bool repl_is_method(const repl_value *obj, const char *name);
repl_value *repl_index(repl_session *s, repl_value *obj, repl_value *const *subs,
                       const size_t *subpos, int nsubs, size_t pos);
/* RandomStreams: srng = RandomStreams(seed); srng.uniform(size), .normal, .binomial (streams.c) */
bool repl_is_stream_method(const repl_value *obj, const char *name);
repl_value *repl_stream_draw(repl_session *s, repl_value *stream, const char *name,
                             const repl_args *a);
repl_value *repl_random_streams(repl_session *s, const repl_args *a);
void repl_method_each(void (*fn)(void *arg, const char *name), void *arg);

/* ---- :commands (commands.c) ---- */
/* Runs a line that starts with ':' (text[start] == ':'). */
bool repl_command(repl_session *s, const char *text, size_t len, size_t start);
void repl_command_each(void (*fn)(void *arg, const char *name), void *arg);
/* :help and help(): the overview, or what the builtin `topic` does. */
void repl_print_help(repl_session *s, const char *topic);
/* Lexes and parses text[start, len) as one expression and evaluates it. */
repl_value *repl_eval_text(repl_session *s, const char *text, size_t len, size_t start);
const repl_node *repl_parse_expr_text(repl_session *s, const char *text, size_t len, size_t start,
                                      repl_arena *arena);

#endif
