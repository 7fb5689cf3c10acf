/* Tokenizer. It works on (pointer, length), never on NUL-terminated text, so a NUL byte in the
 * input is just an unexpected character. */
#include "lexer.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *text;
    size_t len, pos;
    const repl_lex_limits *limits;
    repl_arena *arena;
    repl_lex_result *out;
    size_t cap;
    int depth;
} lexer;

static bool lex_fail(lexer *lx, size_t pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static bool lex_fail(lexer *lx, size_t pos, const char *fmt, ...)
{
    lx->out->failed = true;
    lx->out->error_pos = pos;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(lx->out->error, sizeof lx->out->error, fmt, ap);
    va_end(ap);
    return false;
}

static repl_token *push(lexer *lx, repl_tok_kind kind, size_t pos, size_t len)
{
    repl_lex_result *o = lx->out;
    if (o->n + 1 >= lx->limits->max_tokens) {
        lex_fail(lx, pos, "input too long: more than %zu tokens", lx->limits->max_tokens);
        return NULL;
    }
    if (o->n + 1 >= lx->cap) {
        size_t cap = lx->cap ? lx->cap * 2 : 64;
        repl_token *t = repl_arena_alloc(lx->arena, cap * sizeof *t);
        if (!t) {
            lex_fail(lx, pos, "out of memory");
            return NULL;
        }
        if (o->n)
            memcpy(t, o->toks, o->n * sizeof *t);
        o->toks = t;
        lx->cap = cap;
    }
    repl_token *t = &o->toks[o->n++];
    *t = (repl_token){.kind = kind, .pos = pos, .len = len};
    return t;
}

static bool is_name_start(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
static bool is_digit(char c) { return c >= '0' && c <= '9'; }

static const char *const unsupported_keywords[] = {
    "and",    "as",   "assert", "async",  "await",  "break",   "class",    "continue",
    "def",    "del",  "elif",   "else",   "except", "finally", "for",      "from",
    "global", "if",   "import", "in",     "is",     "lambda",  "nonlocal", "not",
    "or",     "pass", "raise",  "return", "try",    "while",   "with",     "yield"};

static bool lex_name(lexer *lx)
{
    size_t start = lx->pos;
    while (lx->pos < lx->len && (is_name_start(lx->text[lx->pos]) || is_digit(lx->text[lx->pos])))
        lx->pos++;
    size_t n = lx->pos - start;
    const char *s = lx->text + start;
    repl_tok_kind kind = TK_NAME;
    if (n == 4 && !memcmp(s, "None", 4))
        kind = TK_NONE;
    else if (n == 4 && !memcmp(s, "True", 4))
        kind = TK_TRUE;
    else if (n == 5 && !memcmp(s, "False", 5))
        kind = TK_FALSE;
    for (size_t k = 0;
         kind == TK_NAME && k < sizeof unsupported_keywords / sizeof *unsupported_keywords; k++)
        if (strlen(unsupported_keywords[k]) == n && !memcmp(s, unsupported_keywords[k], n))
            kind = TK_KEYWORD;
    repl_token *t = push(lx, kind, start, n);
    if (!t)
        return false;
    t->str = repl_arena_strndup(lx->arena, s, n);
    t->slen = n;
    return t->str ? true : lex_fail(lx, start, "out of memory");
}

static bool lex_number(lexer *lx)
{
    size_t start = lx->pos;
    const char *t = lx->text;
    bool is_float = false;
    if (t[lx->pos] == '0' && lx->pos + 1 < lx->len &&
        (t[lx->pos + 1] == 'x' || t[lx->pos + 1] == 'X')) {
        lx->pos += 2;
        while (lx->pos < lx->len && strchr("0123456789abcdefABCDEF", t[lx->pos]) && t[lx->pos])
            lx->pos++;
    } else {
        while (lx->pos < lx->len && is_digit(t[lx->pos]))
            lx->pos++;
        if (lx->pos < lx->len && t[lx->pos] == '.') {
            is_float = true;
            lx->pos++;
            while (lx->pos < lx->len && is_digit(t[lx->pos]))
                lx->pos++;
        }
        if (lx->pos < lx->len && (t[lx->pos] == 'e' || t[lx->pos] == 'E')) {
            size_t save = lx->pos++;
            if (lx->pos < lx->len && (t[lx->pos] == '+' || t[lx->pos] == '-'))
                lx->pos++;
            if (lx->pos < lx->len && is_digit(t[lx->pos])) {
                is_float = true;
                while (lx->pos < lx->len && is_digit(t[lx->pos]))
                    lx->pos++;
            } else {
                lx->pos = save;
            }
        }
    }
    size_t n = lx->pos - start;
    if (lx->pos < lx->len && is_name_start(t[lx->pos]))
        return lex_fail(lx, lx->pos, "invalid number literal");
    if (n > 400)
        return lex_fail(lx, start, "number literal too long");
    char digits[401];
    memcpy(digits, t + start, n);
    digits[n] = '\0';
    repl_token *tok = push(lx, is_float ? TK_FLOAT : TK_INT, start, n);
    if (!tok)
        return false;
    errno = 0;
    if (is_float) {
        tok->fval = strtod(digits, NULL); /* overflow gives inf, as Python's float literal does */
    } else {
        char *end;
        unsigned long long v = strtoull(digits, &end, 0);
        if (errno == ERANGE || v > INT64_MAX || *end)
            return lex_fail(lx, start,
                            "integer literal too large (the REPL's integers are 64-bit)");
        tok->ival = (int64_t)v;
    }
    return true;
}

static bool lex_string(lexer *lx)
{
    size_t start = lx->pos;
    char quote = lx->text[lx->pos++];
    char *s = repl_arena_alloc(lx->arena, lx->len - start + 1);
    if (!s)
        return lex_fail(lx, start, "out of memory");
    size_t n = 0;
    for (;;) {
        if (lx->pos >= lx->len || lx->text[lx->pos] == '\n')
            return lex_fail(lx, start, "unterminated string literal");
        char c = lx->text[lx->pos++];
        if (c == quote)
            break;
        if (c == '\\' && lx->pos < lx->len) {
            char e = lx->text[lx->pos++];
            switch (e) {
            case 'n': c = '\n'; break;
            case 't': c = '\t'; break;
            case 'r': c = '\r'; break;
            case '0': c = '\0'; break;
            case '\\':
            case '\'':
            case '"': c = e; break;
            default:
                s[n++] = '\\';
                c = e;
                break;
            }
        }
        s[n++] = c;
    }
    s[n] = '\0';
    repl_token *t = push(lx, TK_STRING, start, lx->pos - start);
    if (!t)
        return false;
    t->str = s;
    t->slen = n;
    return true;
}

typedef struct {
    const char *text;
    repl_tok_kind kind, aug;
} punct;

/* Longest first, so "**=" wins over "**" and "*". */
static const punct puncts[] = {
    {"**=", TK_AUGASSIGN, TK_DSTAR},
    {"//=", TK_AUGASSIGN, TK_DSLASH},
    {"**", TK_DSTAR, 0},
    {"//", TK_DSLASH, 0},
    {"<=", TK_LE, 0},
    {">=", TK_GE, 0},
    {"==", TK_EQ, 0},
    {"!=", TK_NE, 0},
    {"+=", TK_AUGASSIGN, TK_PLUS},
    {"-=", TK_AUGASSIGN, TK_MINUS},
    {"*=", TK_AUGASSIGN, TK_STAR},
    {"/=", TK_AUGASSIGN, TK_SLASH},
    {"%=", TK_AUGASSIGN, TK_PERCENT},
    {"@=", TK_AUGASSIGN, TK_AT},
    {"(", TK_LPAREN, 0},
    {")", TK_RPAREN, 0},
    {"[", TK_LBRACKET, 0},
    {"]", TK_RBRACKET, 0},
    {"{", TK_LBRACE, 0},
    {"}", TK_RBRACE, 0},
    {",", TK_COMMA, 0},
    {":", TK_COLON, 0},
    {";", TK_SEMI, 0},
    {".", TK_DOT, 0},
    {"=", TK_ASSIGN, 0},
    {"+", TK_PLUS, 0},
    {"-", TK_MINUS, 0},
    {"*", TK_STAR, 0},
    {"/", TK_SLASH, 0},
    {"%", TK_PERCENT, 0},
    {"@", TK_AT, 0},
    {"&", TK_AMP, 0},
    {"|", TK_PIPE, 0},
    {"^", TK_CARET, 0},
    {"~", TK_TILDE, 0},
    {"<", TK_LT, 0},
    {">", TK_GT, 0},
};

static bool lex_punct(lexer *lx)
{
    for (size_t k = 0; k < sizeof puncts / sizeof *puncts; k++) {
        if (puncts[k].text[0] != lx->text[lx->pos]) /* most entries: no strlen, no memcmp */
            continue;
        size_t n = strlen(puncts[k].text);
        if (lx->len - lx->pos >= n && !memcmp(lx->text + lx->pos, puncts[k].text, n)) {
            repl_tok_kind kind = puncts[k].kind;
            if (kind == TK_LPAREN || kind == TK_LBRACKET || kind == TK_LBRACE) {
                if (++lx->depth > lx->limits->max_depth)
                    return lex_fail(lx, lx->pos, "brackets nested too deeply (more than %d levels)",
                                    lx->limits->max_depth);
            } else if (kind == TK_RPAREN || kind == TK_RBRACKET || kind == TK_RBRACE) {
                lx->depth--;
            }
            repl_token *t = push(lx, kind, lx->pos, n);
            if (!t)
                return false;
            t->aug_op = puncts[k].aug;
            lx->pos += n;
            return true;
        }
    }
    unsigned char c = (unsigned char)lx->text[lx->pos];
    char shown[8];
    if (c >= 0x20 && c < 0x7f)
        snprintf(shown, sizeof shown, "'%c'", c);
    else
        snprintf(shown, sizeof shown, "0x%02x", c);
    return lex_fail(lx, lx->pos, "unexpected character %s", shown);
}

void repl_lex(const char *text, size_t len, size_t start, const repl_lex_limits *limits,
              repl_arena *arena, repl_lex_result *out)
{
    *out = (repl_lex_result){0};
    lexer lx = {
        .text = text, .len = len, .pos = start, .limits = limits, .arena = arena, .out = out};
    while (lx.pos < len) {
        char c = text[lx.pos];
        bool ok = true;
        if (c == ' ' || c == '\t' || c == '\r' || c == '\f') {
            lx.pos++;
        } else if (c == '\n') {
            if (lx.depth <= 0)
                ok = push(&lx, TK_NEWLINE, lx.pos, 1) != NULL;
            lx.pos++;
        } else if (c == '#') {
            while (lx.pos < len && text[lx.pos] != '\n')
                lx.pos++;
        } else if (is_name_start(c)) {
            ok = lex_name(&lx);
        } else if (is_digit(c) || (c == '.' && lx.pos + 1 < len && is_digit(text[lx.pos + 1]))) {
            ok = lex_number(&lx);
        } else if (c == '\'' || c == '"') {
            ok = lex_string(&lx);
        } else {
            ok = lex_punct(&lx);
        }
        if (!ok)
            return;
    }
    if (!push(&lx, TK_END, len, 0))
        return;
    out->incomplete = lx.depth > 0;
}

const char *repl_tok_describe(repl_tok_kind kind)
{
    switch (kind) {
    case TK_END: return "end of input";
    case TK_NAME: return "a name";
    case TK_INT:
    case TK_FLOAT: return "a number";
    case TK_STRING: return "a string";
    case TK_NEWLINE: return "end of line";
    case TK_RPAREN: return "')'";
    case TK_RBRACKET: return "']'";
    case TK_RBRACE: return "'}'";
    case TK_COMMA: return "','";
    case TK_COLON: return "':'";
    case TK_ASSIGN: return "'='";
    default: return "this token";
    }
}
