/* The syntax tree of one input line: statements made of expressions. Every node records the
 * byte offset its errors point at, and its height, which the parser bounds so that evaluating
 * and printing never recurse deeper than the nesting limit. */
#ifndef TJ_REPL_AST_H
#define TJ_REPL_AST_H

#include "lexer.h"

typedef enum {
    N_INT,    /* ival */
    N_FLOAT,  /* fval */
    N_STR,    /* str, slen */
    N_NAME,   /* str */
    N_CONST,  /* op: TK_NONE, TK_TRUE or TK_FALSE */
    N_LIST,   /* kids */
    N_TUPLE,  /* kids */
    N_DICT,   /* kids: key, value, key, value ... */
    N_CHAIN,  /* left-associative run of one precedence level: kids[0] ops[0] kids[1] ...;
                 flat so that a 200,000-term sum is a loop, not 200,000 nested calls */
    N_BINARY, /* kids[0] op kids[1]: comparisons and ** */
    N_UNARY,  /* op kids[0] */
    N_CALL,   /* kids[0] = callee, kids[1..] = arguments; kwnames[i] names keyword arguments */
    N_INDEX,  /* kids[0] = indexed value, kids[1..] = subscripts (expressions or N_SLICE) */
    N_SLICE,  /* kids[0..2] = start, stop, step; NULL when left out */
    N_ATTR    /* kids[0] . str */
} repl_node_kind;

typedef struct repl_node repl_node;
struct repl_node {
    repl_node_kind kind;
    size_t pos;
    int height;
    repl_tok_kind op;
    int64_t ival;
    double fval;
    const char *str;
    size_t slen;
    repl_node **kids;
    int nkids;
    const char **kwnames; /* N_CALL: NULL, or one entry per kid (NULL for positional) */
    repl_tok_kind *ops;   /* N_CHAIN: nkids - 1 operators */
    size_t *oppos;        /* N_CHAIN: their positions */
};

typedef enum { S_EXPR, S_ASSIGN, S_AUGASSIGN } repl_stmt_kind;

typedef struct {
    repl_stmt_kind kind;
    size_t pos;
    repl_node *value;
    repl_node **targets; /* S_ASSIGN: a = b = value has two; S_AUGASSIGN: one */
    int ntargets;
    repl_tok_kind op; /* S_AUGASSIGN */
    size_t oppos;
} repl_stmt;

typedef struct {
    repl_stmt *stmts;
    int n;
    bool failed;
    size_t error_pos;
    char error[160];
} repl_parse_result;

/* Parses the tokens of one input line into statements. Nodes live in `arena`. */
void repl_parse(const repl_token *toks, size_t ntoks, int max_depth, repl_arena *arena,
                repl_parse_result *out);

#endif
