/* Recursive-descent parser with Python's precedence. Recursion happens only on nesting (brackets,
 * unary operators, the right side of **), and `depth` counts it, so deep input is an error and
 * never a stack overflow. Left-associative runs and postfix chains are loops. */
#include "ast.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

typedef struct {
    const repl_token *toks;
    size_t n, at;
    int depth, max_depth;
    repl_arena *arena;
    repl_parse_result *out;
} parser;

static const repl_token *peek(const parser *p) { return &p->toks[p->at]; }
static const repl_token *advance(parser *p)
{
    const repl_token *t = &p->toks[p->at];
    if (t->kind != TK_END)
        p->at++;
    return t;
}
static bool at(const parser *p, repl_tok_kind k) { return p->toks[p->at].kind == k; }

static void *fail(parser *p, size_t pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void *fail(parser *p, size_t pos, const char *fmt, ...)
{
    if (!p->out->failed) {
        p->out->failed = true;
        p->out->error_pos = pos;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(p->out->error, sizeof p->out->error, fmt, ap);
        va_end(ap);
    }
    return NULL;
}

static void *fail_expected(parser *p, const char *what)
{
    const repl_token *t = peek(p);
    if (t->kind == TK_KEYWORD)
        return fail(p, t->pos, "syntax error: '%s' is not supported in this language", t->str);
    char msg[96];
    snprintf(msg, sizeof msg, "%s, found %s", what, repl_tok_describe(t->kind));
    return fail(p, t->pos, "syntax error: expected %s", msg);
}

static bool expect(parser *p, repl_tok_kind k, const char *what)
{
    if (at(p, k)) {
        advance(p);
        return true;
    }
    fail_expected(p, what);
    return false;
}

static bool enter(parser *p)
{
    if (++p->depth > p->max_depth) {
        fail(p, peek(p)->pos, "expression nested too deeply (more than %d levels)", p->max_depth);
        return false;
    }
    return true;
}
static void leave(parser *p) { p->depth--; }

static repl_node *node(parser *p, repl_node_kind kind, size_t pos, int nkids)
{
    repl_node *n = repl_arena_alloc(p->arena, sizeof *n);
    if (!n)
        return fail(p, pos, "out of memory");
    n->kind = kind;
    n->pos = pos;
    n->height = 1;
    if (nkids > 0) {
        n->kids = repl_arena_alloc(p->arena, (size_t)nkids * sizeof *n->kids);
        if (!n->kids)
            return fail(p, pos, "out of memory");
    }
    n->nkids = nkids;
    return n;
}

/* Records the height of a finished node and enforces the limit, which bounds evaluator recursion
 * for trees the parser builds with loops (postfix chains). */
static repl_node *finish(parser *p, repl_node *n)
{
    if (!n)
        return NULL;
    int h = 0;
    for (int i = 0; i < n->nkids; i++)
        if (n->kids[i] && n->kids[i]->height > h)
            h = n->kids[i]->height;
    n->height = h + 1;
    if (n->height > p->max_depth)
        return fail(p, n->pos, "expression nested too deeply (more than %d levels)", p->max_depth);
    return n;
}

/* A growing list of child nodes, kept in the arena (the old array is simply abandoned). */
typedef struct {
    repl_node **items;
    const char **names;
    size_t *pos;
    repl_tok_kind *ops;
    int n, cap;
} kid_list;

static bool kids_push(parser *p, kid_list *l, repl_node *k, const char *name, repl_tok_kind op,
                      size_t pos)
{
    if (l->n == l->cap) {
        int cap = l->cap ? l->cap * 2 : 4;
        if (cap > (1 << 28)) {
            fail(p, pos, "too many items");
            return false;
        }
        repl_node **items = repl_arena_alloc(p->arena, (size_t)cap * sizeof *items);
        const char **names = repl_arena_alloc(p->arena, (size_t)cap * sizeof *names);
        size_t *poss = repl_arena_alloc(p->arena, (size_t)cap * sizeof *poss);
        repl_tok_kind *ops = repl_arena_alloc(p->arena, (size_t)cap * sizeof *ops);
        if (!items || !names || !poss || !ops) {
            fail(p, pos, "out of memory");
            return false;
        }
        if (l->n) {
            memcpy(items, l->items, (size_t)l->n * sizeof *items);
            memcpy(names, l->names, (size_t)l->n * sizeof *names);
            memcpy(poss, l->pos, (size_t)l->n * sizeof *poss);
            memcpy(ops, l->ops, (size_t)l->n * sizeof *ops);
        }
        l->items = items, l->names = names, l->pos = poss, l->ops = ops, l->cap = cap;
    }
    l->items[l->n] = k;
    l->names[l->n] = name;
    l->pos[l->n] = pos;
    l->ops[l->n] = op;
    l->n++;
    return true;
}

static repl_node *parse_expr(parser *p);
static repl_node *parse_factor(parser *p);

/* expr (',' expr)* [','] -- a tuple when there is a comma, as in `x, y = ...` or `return a, b` */
static repl_node *parse_expr_or_tuple(parser *p)
{
    size_t pos = peek(p)->pos;
    repl_node *first = parse_expr(p);
    if (!first || !at(p, TK_COMMA))
        return first;
    kid_list l = {0};
    if (!kids_push(p, &l, first, NULL, 0, pos))
        return NULL;
    while (at(p, TK_COMMA)) {
        advance(p);
        repl_tok_kind k = peek(p)->kind;
        if (k == TK_ASSIGN || k == TK_SEMI || k == TK_END || k == TK_NEWLINE || k == TK_RPAREN ||
            k == TK_AUGASSIGN)
            break;
        repl_node *e = parse_expr(p);
        if (!e || !kids_push(p, &l, e, NULL, 0, e->pos))
            return NULL;
    }
    repl_node *t = node(p, N_TUPLE, pos, 0);
    if (!t)
        return NULL;
    t->kids = l.items;
    t->nkids = l.n;
    return finish(p, t);
}

/* Items up to `close`, separated by commas, a trailing comma allowed. */
static bool parse_items(parser *p, repl_tok_kind close, const char *what, kid_list *l,
                        bool *had_comma)
{
    *had_comma = false;
    while (!at(p, close)) {
        repl_node *e = parse_expr(p);
        if (!e || !kids_push(p, l, e, NULL, 0, e->pos))
            return false;
        if (!at(p, TK_COMMA))
            break;
        *had_comma = true;
        advance(p);
    }
    return expect(p, close, what);
}

static repl_node *parse_dict(parser *p, size_t pos)
{
    kid_list l = {0};
    while (!at(p, TK_RBRACE)) {
        repl_node *k = parse_expr(p);
        if (!k || !expect(p, TK_COLON, "':' after a dictionary key"))
            return NULL;
        repl_node *v = parse_expr(p);
        if (!v || !kids_push(p, &l, k, NULL, 0, k->pos) || !kids_push(p, &l, v, NULL, 0, v->pos))
            return NULL;
        if (!at(p, TK_COMMA))
            break;
        advance(p);
    }
    if (!expect(p, TK_RBRACE, "'}' or ','"))
        return NULL;
    repl_node *d = node(p, N_DICT, pos, 0);
    if (!d)
        return NULL;
    d->kids = l.items;
    d->nkids = l.n;
    return finish(p, d);
}

static repl_node *parse_atom(parser *p)
{
    const repl_token *t = peek(p);
    repl_node *n;
    switch (t->kind) {
    case TK_INT:
        advance(p);
        if (!(n = node(p, N_INT, t->pos, 0)))
            return NULL;
        n->ival = t->ival;
        return n;
    case TK_FLOAT:
        advance(p);
        if (!(n = node(p, N_FLOAT, t->pos, 0)))
            return NULL;
        n->fval = t->fval;
        return n;
    case TK_NAME:
        advance(p);
        if (!(n = node(p, N_NAME, t->pos, 0)))
            return NULL;
        n->str = t->str;
        n->slen = t->slen;
        return n;
    case TK_NONE:
    case TK_TRUE:
    case TK_FALSE:
        advance(p);
        if (!(n = node(p, N_CONST, t->pos, 0)))
            return NULL;
        n->op = t->kind;
        return n;
    case TK_STRING: {
        /* adjacent literals concatenate, as in Python */
        size_t total = 0, first = p->at;
        while (at(p, TK_STRING))
            total += advance(p)->slen;
        if (!(n = node(p, N_STR, t->pos, 0)))
            return NULL;
        char *s = repl_arena_alloc(p->arena, total + 1);
        if (!s)
            return fail(p, t->pos, "out of memory");
        size_t off = 0;
        for (size_t i = first; i < p->at; i++) {
            memcpy(s + off, p->toks[i].str, p->toks[i].slen);
            off += p->toks[i].slen;
        }
        n->str = s;
        n->slen = total;
        return n;
    }
    case TK_LPAREN: {
        advance(p);
        if (at(p, TK_RPAREN)) {
            advance(p);
            return finish(p, node(p, N_TUPLE, t->pos, 0));
        }
        repl_node *inner = parse_expr_or_tuple(p);
        if (!inner || !expect(p, TK_RPAREN, "')'"))
            return NULL;
        return inner;
    }
    case TK_LBRACKET: {
        advance(p);
        kid_list l = {0};
        bool comma;
        if (!parse_items(p, TK_RBRACKET, "']' or ','", &l, &comma))
            return NULL;
        if (!(n = node(p, N_LIST, t->pos, 0)))
            return NULL;
        n->kids = l.items;
        n->nkids = l.n;
        return finish(p, n);
    }
    case TK_LBRACE: advance(p); return parse_dict(p, t->pos);
    default: return fail_expected(p, "an expression");
    }
}

/* One subscript: an expression, or a slice [start]:[stop][:[step]]. */
static repl_node *parse_subscript(parser *p)
{
    size_t pos = peek(p)->pos;
    repl_node *start = NULL;
    if (!at(p, TK_COLON)) {
        start = parse_expr(p);
        if (!start || !at(p, TK_COLON))
            return start;
    }
    repl_node *s = node(p, N_SLICE, pos, 3);
    if (!s)
        return NULL;
    s->kids[0] = start;
    advance(p); /* ':' */
    for (int part = 1; part <= 2; part++) {
        repl_tok_kind k = peek(p)->kind;
        if (k != TK_COLON && k != TK_COMMA && k != TK_RBRACKET) {
            if (!(s->kids[part] = parse_expr(p)))
                return NULL;
        }
        if (part == 1) {
            if (!at(p, TK_COLON))
                break;
            advance(p);
        }
    }
    return finish(p, s);
}

static repl_node *parse_call(parser *p, repl_node *callee, size_t pos)
{
    kid_list l = {0};
    if (!kids_push(p, &l, callee, NULL, 0, callee->pos))
        return NULL;
    bool keyword_seen = false;
    while (!at(p, TK_RPAREN)) {
        const char *name = NULL;
        if (at(p, TK_NAME) && p->toks[p->at + 1].kind == TK_ASSIGN) {
            name = advance(p)->str;
            advance(p);
            keyword_seen = true;
            for (int i = 1; i < l.n; i++)
                if (l.names[i] && !strcmp(l.names[i], name))
                    return fail(p, p->toks[p->at - 2].pos, "keyword argument '%s' repeated", name);
        } else if (keyword_seen) {
            return fail(p, peek(p)->pos,
                        "syntax error: positional argument after keyword argument");
        }
        repl_node *e = parse_expr(p);
        if (!e || !kids_push(p, &l, e, name, 0, e->pos))
            return NULL;
        if (!at(p, TK_COMMA))
            break;
        advance(p);
    }
    if (!expect(p, TK_RPAREN, "')' or ','"))
        return NULL;
    repl_node *c = node(p, N_CALL, pos, 0);
    if (!c)
        return NULL;
    c->kids = l.items;
    c->kwnames = l.names;
    c->nkids = l.n;
    return finish(p, c);
}

static repl_node *parse_postfix(parser *p)
{
    repl_node *e = parse_atom(p);
    while (e) {
        const repl_token *t = peek(p);
        if (t->kind == TK_LPAREN) {
            if (!enter(p))
                return NULL;
            advance(p);
            e = parse_call(p, e, e->pos);
            leave(p);
        } else if (t->kind == TK_LBRACKET) {
            if (!enter(p))
                return NULL;
            advance(p);
            kid_list l = {0};
            if (!kids_push(p, &l, e, NULL, 0, e->pos))
                return NULL;
            do {
                if (at(p, TK_COMMA))
                    advance(p);
                if (at(p, TK_RBRACKET) && l.n > 1)
                    break;
                repl_node *s = parse_subscript(p);
                if (!s || !kids_push(p, &l, s, NULL, 0, s->pos))
                    return NULL;
            } while (at(p, TK_COMMA));
            leave(p);
            if (!expect(p, TK_RBRACKET, "']' or ','"))
                return NULL;
            repl_node *ix = node(p, N_INDEX, t->pos, 0);
            if (!ix)
                return NULL;
            ix->kids = l.items;
            ix->nkids = l.n;
            e = finish(p, ix);
        } else if (t->kind == TK_DOT) {
            advance(p);
            const repl_token *name = peek(p);
            if (name->kind != TK_NAME)
                return fail_expected(p, "an attribute name after '.'");
            advance(p);
            repl_node *a = node(p, N_ATTR, name->pos, 1);
            if (!a)
                return NULL;
            a->kids[0] = e;
            a->str = name->str;
            a->slen = name->slen;
            e = finish(p, a);
        } else {
            break;
        }
    }
    return e;
}

/* power := postfix ['**' factor]: right-associative, and -x**2 is -(x**2) */
static repl_node *parse_power(parser *p)
{
    repl_node *base = parse_postfix(p);
    if (!base || !at(p, TK_DSTAR))
        return base;
    const repl_token *op = advance(p);
    if (!enter(p))
        return NULL;
    repl_node *exp = parse_factor(p);
    leave(p);
    if (!exp)
        return NULL;
    repl_node *n = node(p, N_BINARY, op->pos, 2);
    if (!n)
        return NULL;
    n->op = TK_DSTAR;
    n->kids[0] = base;
    n->kids[1] = exp;
    return finish(p, n);
}

static repl_node *parse_factor(parser *p)
{
    const repl_token *t = peek(p);
    if (t->kind != TK_MINUS && t->kind != TK_PLUS && t->kind != TK_TILDE)
        return parse_power(p);
    advance(p);
    if (!enter(p))
        return NULL;
    repl_node *operand = parse_factor(p);
    leave(p);
    if (!operand)
        return NULL;
    repl_node *n = node(p, N_UNARY, t->pos, 1);
    if (!n)
        return NULL;
    n->op = t->kind;
    n->kids[0] = operand;
    return finish(p, n);
}

/* The left-associative binary levels, loosest first. */
static const repl_tok_kind chain_levels[][6] = {
    {TK_PIPE},
    {TK_CARET},
    {TK_AMP},
    {TK_PLUS, TK_MINUS},
    {TK_STAR, TK_SLASH, TK_DSLASH, TK_PERCENT, TK_AT},
};
enum { NLEVELS = sizeof chain_levels / sizeof *chain_levels };

static bool in_level(int level, repl_tok_kind k)
{
    for (int i = 0; i < 6 && chain_levels[level][i]; i++)
        if (chain_levels[level][i] == k)
            return true;
    return false;
}

static repl_node *parse_level(parser *p, int level)
{
    if (level == NLEVELS)
        return parse_factor(p);
    repl_node *first = parse_level(p, level + 1);
    if (!first || !in_level(level, peek(p)->kind))
        return first;
    kid_list l = {0};
    if (!kids_push(p, &l, first, NULL, 0, first->pos))
        return NULL;
    while (in_level(level, peek(p)->kind)) {
        const repl_token *op = advance(p);
        repl_node *rhs = parse_level(p, level + 1);
        /* the operator is stored with the operand it precedes */
        if (!rhs || !kids_push(p, &l, rhs, NULL, op->kind, op->pos))
            return NULL;
    }
    repl_node *c = node(p, N_CHAIN, first->pos, 0);
    if (!c)
        return NULL;
    c->kids = l.items;
    c->nkids = l.n;
    c->ops = l.ops + 1;
    c->oppos = l.pos + 1;
    return finish(p, c);
}

static bool is_comparison(repl_tok_kind k)
{
    return k == TK_LT || k == TK_GT || k == TK_LE || k == TK_GE || k == TK_EQ || k == TK_NE;
}

static repl_node *parse_expr(parser *p)
{
    if (!enter(p))
        return NULL;
    repl_node *lhs = parse_level(p, 0);
    if (lhs && is_comparison(peek(p)->kind)) {
        const repl_token *op = advance(p);
        repl_node *rhs = parse_level(p, 0);
        if (rhs && is_comparison(peek(p)->kind)) {
            lhs = fail(p, peek(p)->pos, "chained comparisons (a < b < c) are not supported");
        } else if (rhs) {
            repl_node *n = node(p, N_BINARY, op->pos, 2);
            if (n) {
                n->op = op->kind;
                n->kids[0] = lhs;
                n->kids[1] = rhs;
            }
            lhs = finish(p, n);
        } else {
            lhs = NULL;
        }
    }
    leave(p);
    return lhs;
}

static bool valid_target(parser *p, const repl_node *t)
{
    if (t->kind == N_NAME)
        return true;
    if (t->kind == N_TUPLE || t->kind == N_LIST) {
        if (t->nkids == 0) {
            fail(p, t->pos, "cannot assign to an empty %s", t->kind == N_TUPLE ? "tuple" : "list");
            return false;
        }
        for (int i = 0; i < t->nkids; i++)
            if (!valid_target(p, t->kids[i]))
                return false;
        return true;
    }
    if (t->kind == N_INDEX)
        fail(p, t->pos,
             "tensors are immutable: write x = set_subtensor(x[...], value) "
             "(or inc_subtensor)");
    else
        fail(p, t->pos, "cannot assign to this expression");
    return false;
}

static bool parse_statement(parser *p, repl_stmt *st)
{
    st->pos = peek(p)->pos;
    repl_node *first = parse_expr_or_tuple(p);
    if (!first)
        return false;
    if (at(p, TK_AUGASSIGN)) {
        const repl_token *op = advance(p);
        if (first->kind != N_NAME) {
            fail(p, first->pos, "augmented assignment needs a single name on the left");
            return false;
        }
        st->kind = S_AUGASSIGN;
        st->op = op->aug_op;
        st->oppos = op->pos;
        st->targets = repl_arena_alloc(p->arena, sizeof *st->targets);
        if (!st->targets)
            return fail(p, op->pos, "out of memory"), false;
        st->targets[0] = first;
        st->ntargets = 1;
        st->value = parse_expr_or_tuple(p);
        return st->value != NULL;
    }
    if (!at(p, TK_ASSIGN)) {
        st->kind = S_EXPR;
        st->value = first;
        return true;
    }
    kid_list l = {0};
    repl_node *rhs = first;
    while (at(p, TK_ASSIGN)) {
        if (!valid_target(p, rhs) || !kids_push(p, &l, rhs, NULL, 0, rhs->pos))
            return false;
        advance(p);
        if (!(rhs = parse_expr_or_tuple(p)))
            return false;
    }
    st->kind = S_ASSIGN;
    st->targets = l.items;
    st->ntargets = l.n;
    st->value = rhs;
    return true;
}

void repl_parse(const repl_token *toks, size_t ntoks, int max_depth, repl_arena *arena,
                repl_parse_result *out)
{
    *out = (repl_parse_result){0};
    parser p = {.toks = toks, .n = ntoks, .max_depth = max_depth, .arena = arena, .out = out};
    int cap = 0;
    for (;;) {
        while (at(&p, TK_SEMI) || at(&p, TK_NEWLINE))
            advance(&p);
        if (at(&p, TK_END))
            return;
        if (out->n == cap) {
            cap = cap ? cap * 2 : 4;
            repl_stmt *s = repl_arena_alloc(arena, (size_t)cap * sizeof *s);
            if (!s) {
                fail(&p, peek(&p)->pos, "out of memory");
                return;
            }
            if (out->n)
                memcpy(s, out->stmts, (size_t)out->n * sizeof *s);
            out->stmts = s;
        }
        repl_stmt *st = &out->stmts[out->n];
        *st = (repl_stmt){0};
        if (!parse_statement(&p, st))
            return;
        out->n++;
        if (!at(&p, TK_SEMI) && !at(&p, TK_NEWLINE) && !at(&p, TK_END)) {
            fail_expected(&p, "';' or end of line");
            return;
        }
    }
}
