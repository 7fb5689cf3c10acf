/* The session: its context and names, feeding lines (with continuation while brackets are
 * open), the input limits, and error messages with a caret under the offending column. */
#include "internal.h"

#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void repl_config_default(repl_config *cfg)
{
    *cfg = (repl_config){
        .out = stdout,
        .err = stderr,
        .source_name = "<stdin>",
        .max_line = 1 << 20,
        .max_tokens = 500000,
        .max_depth = 200,
        .max_elements = (int64_t)1 << 27,
        .time_budget_s = 0.5,
    };
}

static void log_to_session(void *user, const char *message)
{
    repl_session *s = user;
    fflush(s->cfg.out);
    fprintf(s->cfg.err, "warning: %s\n", message);
}

repl_session *repl_session_new(const repl_config *cfg)
{
    repl_session *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->cfg = *cfg;
    s->ctx = cfg->allocator ? tj_ctx_new_with_allocator(cfg->allocator) : tj_ctx_new();
    if (!s->ctx) {
        free(s);
        return NULL;
    }
    tj_ctx_set_log(s->ctx, log_to_session, s);
    s->rng = 0x5eed2026u;
    s->line_no = 1;
    return s;
}

void repl_session_free(repl_session *s)
{
    if (!s)
        return;
    /* values first: function values free their tj_fn, which needs the live context */
    for (int i = 0; i < s->env.n; i++) {
        free(s->env.names[i]);
        repl_unref(s->env.values[i]);
    }
    free(s->env.names);
    free(s->env.values);
    repl_buf_free(&s->pending);
    tj_ctx_free(s->ctx);
    free(s);
}

int repl_error_count(const repl_session *s) { return s->nerrors; }
void repl_set_line(repl_session *s, int line) { s->line_no = line; }

/* ---- errors ---- */

void *repl_fail(repl_session *s, size_t pos, const char *fmt, ...)
{
    if (s->failed)
        return NULL;
    s->failed = true;
    s->errpos = pos;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->errmsg, sizeof s->errmsg, fmt, ap);
    va_end(ap);
    return NULL;
}

void *repl_fail_lib(repl_session *s, size_t pos, const char *what)
{
    const char *msg = tj_errmsg(s->ctx);
    if (!msg || !*msg)
        msg = tj_errmsg(NULL);
    if (!msg || !*msg)
        msg = "failed (the library gave no message)";
    size_t n = strlen(what);
    if (!strncmp(msg, what, n) && msg[n] == ':')
        repl_fail(s, pos, "%s", msg); /* the library already names it */
    else
        repl_fail(s, pos, "%s: %s", what, msg);
    tj_clear_error(s->ctx);
    tj_clear_error(NULL);
    return NULL;
}

void *repl_oom(repl_session *s, size_t pos) { return repl_fail(s, pos, "out of memory"); }

/* Prints line [a, b) of the statement with control bytes shown as '?', then a caret under pos;
 * indent is the prompt width (interactive) or 4. Multi-byte UTF-8 characters take one column.
 * A long line is shown as a window of about 100 bytes around the error. */
static void print_caret(repl_session *s, size_t a, size_t b, size_t pos, int indent, bool show_line)
{
    FILE *e = s->cfg.err;
    bool cut_left = false, cut_right = false;
    if (b - a > 120) {
        size_t from = pos > a + 60 ? pos - 60 : a;
        while (from > a && ((unsigned char)s->src[from] & 0xc0) == 0x80)
            from--;
        cut_left = from > a;
        a = from;
        if (b - a > 120) {
            b = a + 120;
            while (b > a && ((unsigned char)s->src[b] & 0xc0) == 0x80)
                b--;
            cut_right = true;
        }
        if (pos > b)
            pos = b;
    }
    if (show_line) {
        fprintf(e, "%*s%s", indent, "", cut_left ? "..." : "");
        for (size_t i = a; i < b; i++) {
            unsigned char c = (unsigned char)s->src[i];
            fputc(c == '\t' || c >= 0x20 ? c : '?', e);
        }
        fputs(cut_right ? "...\n" : "\n", e);
    }
    fprintf(e, "%*s%s", indent, "", show_line && cut_left ? "   " : "");
    for (size_t i = a; i < pos && i < b; i++) {
        unsigned char c = (unsigned char)s->src[i];
        if ((c & 0xc0) != 0x80)
            fputc(c == '\t' ? '\t' : ' ', e);
    }
    fputs("^\n", e);
}

static void report_error(repl_session *s)
{
    s->nerrors++;
    fflush(s->cfg.out);
    FILE *e = s->cfg.err;
    size_t pos = s->errpos > s->srclen ? s->srclen : s->errpos;
    size_t a = pos, b = pos;
    while (a > 0 && s->src[a - 1] != '\n')
        a--;
    while (b < s->srclen && s->src[b] != '\n')
        b++;
    int line = s->src_line, col = 1;
    for (size_t i = 0; i < a; i++)
        line += s->src[i] == '\n';
    for (size_t i = a; i < pos; i++)
        col += ((unsigned char)s->src[i] & 0xc0) != 0x80;
    if (s->cfg.interactive) {
        /* the typed line is on screen right above: just the caret, under the prompt's text */
        bool last_line = b == s->srclen && b - a <= 120;
        print_caret(s, a, b, pos, s->cfg.prompt_len, !last_line);
        fprintf(e, "error: %s\n", s->errmsg);
    } else {
        fprintf(e, "%s:%d:%d: error: %s\n", s->cfg.source_name, line, col, s->errmsg);
        print_caret(s, a, b, pos, 4, true);
    }
    fflush(e);
}

/* ---- names ---- */

repl_value *repl_env_get(repl_session *s, const char *name)
{
    for (int i = 0; i < s->env.n; i++)
        if (!strcmp(s->env.names[i], name))
            return s->env.values[i];
    return NULL;
}

bool repl_env_set(repl_session *s, const char *name, repl_value *v)
{
    for (int i = 0; i < s->env.n; i++) {
        if (!strcmp(s->env.names[i], name)) {
            repl_value *old = s->env.values[i];
            s->env.values[i] = repl_ref(v);
            repl_unref(old);
            return true;
        }
    }
    if (s->env.n == s->env.cap) {
        int cap = s->env.cap ? s->env.cap * 2 : 16;
        char **names = realloc(s->env.names, (size_t)cap * sizeof *names);
        if (!names)
            return false;
        s->env.names = names;
        repl_value **values = realloc(s->env.values, (size_t)cap * sizeof *values);
        if (!values)
            return false;
        s->env.values = values;
        s->env.cap = cap;
    }
    char *copy = strdup(name);
    if (!copy)
        return false;
    s->env.names[s->env.n] = copy;
    s->env.values[s->env.n++] = repl_ref(v);
    return true;
}

/* ---- running lines ---- */

static repl_lex_limits lex_limits(const repl_session *s)
{
    return (repl_lex_limits){.max_tokens = s->cfg.max_tokens, .max_depth = s->cfg.max_depth};
}

const repl_node *repl_parse_expr_text(repl_session *s, const char *text, size_t len, size_t start,
                                      repl_arena *arena)
{
    repl_lex_limits lim = lex_limits(s);
    repl_lex_result lx;
    repl_lex(text, len, start, &lim, arena, &lx);
    if (lx.failed)
        return repl_fail(s, lx.error_pos, "%s", lx.error);
    if (lx.incomplete)
        return repl_fail(s, len, "unexpected end of input: a bracket is not closed");
    repl_parse_result pr;
    repl_parse(lx.toks, lx.n, s->cfg.max_depth, arena, &pr);
    if (pr.failed)
        return repl_fail(s, pr.error_pos, "%s", pr.error);
    if (pr.n != 1 || pr.stmts[0].kind != S_EXPR)
        return repl_fail(s, start, "expected one expression");
    return pr.stmts[0].value;
}

repl_value *repl_eval_text(repl_session *s, const char *text, size_t len, size_t start)
{
    repl_arena arena = {0};
    const repl_node *n = repl_parse_expr_text(s, text, len, start, &arena);
    repl_value *v = n ? repl_eval(s, n) : NULL;
    repl_arena_free(&arena);
    return v;
}

/* Runs one complete statement text; returns false when it failed (the error is recorded). */
static bool run_statements(repl_session *s, const char *text, size_t len, repl_arena *arena,
                           bool *incomplete)
{
    size_t i = 0;
    while (i < len && (text[i] == ' ' || text[i] == '\t'))
        i++;
    if (i < len && text[i] == ':')
        return repl_command(s, text, len, i);
    repl_lex_limits lim = lex_limits(s);
    repl_lex_result lx;
    repl_lex(text, len, 0, &lim, arena, &lx);
    if (lx.failed) {
        repl_fail(s, lx.error_pos, "%s", lx.error);
        return false;
    }
    if (lx.incomplete) {
        *incomplete = true;
        return true;
    }
    repl_parse_result pr;
    repl_parse(lx.toks, lx.n, s->cfg.max_depth, arena, &pr);
    if (pr.failed) {
        repl_fail(s, pr.error_pos, "%s", pr.error);
        return false;
    }
    for (int k = 0; k < pr.n && !s->quit; k++) {
        if (!repl_exec(s, &pr.stmts[k])) {
            if (!s->failed)
                repl_fail(s, pr.stmts[k].pos,
                          "internal error: a statement failed without a message");
            return false;
        }
    }
    return true;
}

static repl_status run_buffer(repl_session *s, const char *text, size_t len, int first_line)
{
    s->src = text;
    s->srclen = len;
    s->src_line = first_line;
    s->failed = false;
    bool incomplete = false;
    repl_arena arena = {0};
    bool ok = run_statements(s, text, len, &arena, &incomplete);
    repl_arena_free(&arena);
    tj_clear_error(s->ctx);
    if (!ok) {
        report_error(s);
        return REPL_ERROR;
    }
    if (incomplete)
        return REPL_MORE;
    return s->quit ? REPL_QUIT : REPL_OK;
}

/* Bracket depth change of one line, skipping strings and comments; -1 when the line needs the
 * real lexer (an unterminated string, or a line it must judge). Strings never span lines. */
static long bracket_delta(const char *t, size_t len)
{
    long d = 0;
    for (size_t i = 0; i < len; i++) {
        char c = t[i];
        if (c == '#')
            break;
        if (c == '\'' || c == '"') {
            size_t j = i + 1;
            while (j < len && t[j] != c)
                j += t[j] == '\\' ? 2 : 1;
            if (j >= len)
                return LONG_MIN;
            i = j;
        } else if (c == '(' || c == '[' || c == '{') {
            d++;
        } else if (c == ')' || c == ']' || c == '}') {
            d--;
        }
    }
    return d;
}

static long open_brackets(const char *t, size_t len)
{
    long depth = 0;
    for (size_t a = 0; a < len;) {
        const char *nl = memchr(t + a, '\n', len - a);
        size_t b = nl ? (size_t)(nl - t) : len;
        long d = bracket_delta(t + a, b - a);
        if (d == LONG_MIN)
            return 0;
        depth += d;
        a = b + 1;
    }
    return depth;
}

/* True when, after this continuation line, brackets are still open and nothing needs the lexer
 * yet (the statement is lexed and run once they close). */
static bool still_open(repl_session *s, const char *line, size_t len)
{
    long d = bracket_delta(line, len);
    if (d == LONG_MIN)
        return false;
    long depth = s->pending_depth + d;
    if (depth <= 0 || depth > s->cfg.max_depth)
        return false;
    s->pending_depth = depth;
    return true;
}

repl_status repl_feed(repl_session *s, const char *line, size_t len)
{
    int this_line = s->line_no++;
    if (s->quit)
        return REPL_QUIT;
    if (!s->pending_active) {
        s->pending.len = 0;
        s->pending_line = this_line;
    } else {
        repl_buf_append(&s->pending, "\n", 1);
    }
    if (s->pending.len + len > s->cfg.max_line) {
        size_t room = s->cfg.max_line > s->pending.len ? s->cfg.max_line - s->pending.len : 0;
        s->pending_active = false;
        s->src = line;
        s->srclen = len;
        s->src_line = this_line;
        s->failed = false;
        repl_fail(s, room < len ? room : len,
                  "input too long: a statement may have at most %zu bytes", s->cfg.max_line);
        report_error(s);
        return REPL_ERROR;
    }
    repl_buf_append(&s->pending, line, len);
    if (s->pending.failed) {
        s->pending_active = false;
        repl_buf_free(&s->pending);
        fprintf(s->cfg.err, "error: out of memory\n");
        s->nerrors++;
        return REPL_ERROR;
    }
    /* A continuation line that leaves brackets open is not lexed with the whole statement:
     * re-lexing every time would make a long bracketed statement quadratic. */
    if (s->pending_active && still_open(s, line, len))
        return REPL_MORE;
    /* The buffer may be reallocated by a later feed, but not while this statement runs. */
    repl_status st =
        run_buffer(s, s->pending.data ? s->pending.data : "", s->pending.len, s->pending_line);
    s->pending_active = st == REPL_MORE;
    if (s->pending_active)
        s->pending_depth = open_brackets(s->pending.data, s->pending.len);
    return st;
}

repl_status repl_finish(repl_session *s)
{
    if (!s->pending_active)
        return s->quit ? REPL_QUIT : REPL_OK;
    s->pending_active = false;
    s->src = s->pending.data;
    s->srclen = s->pending.len;
    s->src_line = s->pending_line;
    s->failed = false;
    repl_fail(s, s->pending.len, "unexpected end of input: a bracket is not closed");
    report_error(s);
    return REPL_ERROR;
}

repl_status repl_run_text(repl_session *s, const char *text, size_t len, bool keep_going)
{
    repl_status last = REPL_OK;
    size_t i = 0;
    while (i < len) {
        const char *nl = memchr(text + i, '\n', len - i);
        size_t end = nl ? (size_t)(nl - text) : len;
        repl_status st = repl_feed(s, text + i, end - i);
        if (st == REPL_QUIT)
            return st;
        if (st == REPL_ERROR) {
            last = st;
            if (!keep_going)
                return st;
        }
        i = end + 1;
    }
    repl_status st = repl_finish(s);
    return st == REPL_ERROR ? st : last;
}

/* ---- completion ---- */

typedef struct {
    const char *prefix;
    size_t n;
    void (*add)(void *, const char *);
    void *arg;
} completion;

static void complete_one(void *arg, const char *name)
{
    completion *c = arg;
    if (!strncmp(name, c->prefix, c->n))
        c->add(c->arg, name);
}

void repl_complete(repl_session *s, const char *prefix, void (*add)(void *arg, const char *name),
                   void *arg)
{
    completion c = {prefix, strlen(prefix), add, arg};
    if (prefix[0] == ':') {
        repl_command_each(complete_one, &c);
        return;
    }
    for (int i = 0; i < s->env.n; i++)
        complete_one(&c, s->env.names[i]);
    repl_builtin_each(complete_one, &c);
    repl_op_each(complete_one, &c);
    repl_ctor_each(complete_one, &c);
}
