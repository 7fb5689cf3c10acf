/* Tokens of the REPL's language: a small subset of Python's expression and assignment syntax. */
#ifndef TJ_REPL_LEXER_H
#define TJ_REPL_LEXER_H

#include "util.h"

#include <stdint.h>

typedef enum {
    TK_END,
    TK_NAME,
    TK_INT,
    TK_FLOAT,
    TK_STRING,
    TK_NEWLINE, /* only outside brackets: separates statements like ';' */
    TK_LPAREN,
    TK_RPAREN,
    TK_LBRACKET,
    TK_RBRACKET,
    TK_LBRACE,
    TK_RBRACE,
    TK_COMMA,
    TK_COLON,
    TK_SEMI,
    TK_DOT,
    TK_ASSIGN,
    TK_PLUS,
    TK_MINUS,
    TK_STAR,
    TK_SLASH,
    TK_DSLASH,
    TK_PERCENT,
    TK_DSTAR,
    TK_AT,
    TK_AMP,
    TK_PIPE,
    TK_CARET,
    TK_TILDE,
    TK_LT,
    TK_GT,
    TK_LE,
    TK_GE,
    TK_EQ,
    TK_NE,
    TK_AUGASSIGN, /* += -= *= /= //= %= **= @=: `aug_op` holds the operator */
    TK_NONE,
    TK_TRUE,
    TK_FALSE,
    TK_KEYWORD /* a Python keyword this language does not have (and, lambda, for, ...) */
} repl_tok_kind;

typedef struct {
    repl_tok_kind kind;
    repl_tok_kind aug_op; /* TK_AUGASSIGN: the binary operator */
    size_t pos, len;      /* byte offset and length in the statement text */
    int64_t ival;         /* TK_INT */
    double fval;          /* TK_FLOAT */
    const char *str;      /* TK_NAME, TK_KEYWORD: the name; TK_STRING: the decoded text */
    size_t slen;          /* its length (a string may hold NUL bytes) */
} repl_token;

typedef struct {
    size_t max_tokens;
    int max_depth; /* open brackets */
} repl_lex_limits;

typedef struct {
    repl_token *toks; /* ends with TK_END; from the arena */
    size_t n;
    bool incomplete; /* ended inside brackets: the statement continues on the next line */
    bool failed;
    size_t error_pos;
    char error[160];
} repl_lex_result;

/* Tokenizes text[start, len). Strings and names live in `arena`. */
void repl_lex(const char *text, size_t len, size_t start, const repl_lex_limits *limits,
              repl_arena *arena, repl_lex_result *out);

/* The spelling of a token kind for messages: "')'", "a name", "end of input". */
const char *repl_tok_describe(repl_tok_kind kind);

#endif
