/* The optimizer's log: every firing (pass, rule, node before -> node after) and every plan
 * decision (fusion, in-place), rendered for tj_fn_rewrites; and the compact expression printer
 * the log and messages use. */
#include "opt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

tj_status tjR_log_add(tj_ctx *ctx, tjR_log *log, const char *pass, const char *rule,
                      tj_var *before, tj_var *after, const char *note)
{
    if (!log)
        return TJ_OK;
    if (log->n == log->cap) {
        size_t cap = log->cap ? log->cap * 2 : 64;
        tjR_entry *e = tjC_realloc(ctx, log->e, sizeof *e * cap);
        if (!e)
            return tjC_error(ctx, TJ_ERR_NOMEM, "out of memory recording a rewrite");
        log->e = e;
        log->cap = cap;
    }
    char *copy = note ? tjC_heap_strdup(ctx, note) : NULL;
    if (note && !copy)
        return tjC_error(ctx, TJ_ERR_NOMEM, "out of memory recording a rewrite");
    log->e[log->n++] = (tjR_entry){pass, rule, before, after, copy};
    return TJ_OK;
}

void tjR_log_free(tj_ctx *ctx, tjR_log *log)
{
    if (!log)
        return;
    for (size_t i = 0; i < log->n; i++)
        tjC_free(ctx, log->e[i].note);
    tjC_free(ctx, log->e);
    log->e = NULL;
    log->n = log->cap = 0;
}

int tjR_log_count(const tjR_log *log, const char *name)
{
    int n = 0;
    for (size_t i = 0; log && i < log->n; i++)
        if (!name || strcmp(log->e[i].rule, name) == 0 || strcmp(log->e[i].pass, name) == 0)
            n++;
    return n;
}

/* ---- expressions ----------------------------------------------------------------------------- */

typedef struct {
    char *buf;
    size_t len, pos;
} out;

static void put(out *o, const char *fmt, ...) TJ_PRINTF(2, 3);
static void put(out *o, const char *fmt, ...)
{
    if (o->pos >= o->len)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(o->buf + o->pos, o->len - o->pos, fmt, ap);
    va_end(ap);
    if (n > 0)
        o->pos += (size_t)n;
    if (o->pos >= o->len)
        o->pos = o->len;
}

enum { EXPR_DEPTH = 4 };

/* Depth-limited: the recursion is bounded by EXPR_DEPTH, not by the graph. */
static void expr(out *o, const tj_var *v, int depth)
{
    double x;
    if (v->name && depth > 0) {
        put(o, "'%s'", v->name);
        return;
    }
    if (tjR_uniform(v, &x)) {
        put(o, "%.9g", x);
        return;
    }
    if (v->op == TJ_OP_CONSTANT) {
        put(o, "constant{%s", tj_dtype_name(v->dtype));
        for (int d = 0; d < v->value->ndim; d++)
            put(o, "%s%lld", d ? "," : " (", (long long)v->value->shape[d]);
        put(o, "%s}", v->value->ndim ? ")" : "");
        return;
    }
    if (v->nin == 0 || depth >= EXPR_DEPTH) {
        put(o, "#%llu", (unsigned long long)v->id);
        if (v->nin == 0)
            put(o, " %s", tjG_ops[v->op].name);
        return;
    }
    put(o, "%s", tjG_ops[v->op].name);
    if (v->op == TJ_OP_DIMSHUFFLE) {
        put(o, "{");
        for (int i = 0; i < v->nattr; i++)
            v->attr[i] < 0 ? put(o, "%sx", i ? "," : "") : put(o, "%s%lld", i ? "," : "",
                                                                 (long long)v->attr[i]);
        put(o, "}");
    } else if (v->op == TJ_OP_CAST) {
        put(o, "{%s}", tj_dtype_name(v->dtype));
    } else if (tj_op_is(v->op, OPF_REDUCE) && v->nattr >= 1) {
        put(o, "{");
        int k = 0;
        for (int d = 0; d < 32; d++)
            if ((v->attr[0] >> d) & 1)
                put(o, "%s%d", k++ ? "," : "", d);
        if (v->nattr >= 2 && v->attr[1])
            put(o, ";keepdims");
        put(o, "}");
    } else if (v->nattr > 0 && !tj_op_is(v->op, OPF_ELEMWISE)) {
        put(o, "{");
        for (int i = 0; i < v->nattr; i++)
            put(o, "%s%lld", i ? "," : "", (long long)v->attr[i]);
        put(o, "}");
    }
    put(o, "(");
    for (int i = 0; i < v->nin; i++) {
        if (i)
            put(o, ", ");
        expr(o, v->in[i], depth + 1);
    }
    put(o, ")");
}

void tjR_expr(const tj_var *v, char *buf, size_t len)
{
    if (!len)
        return;
    buf[0] = '\0';
    out o = {buf, len, 0};
    expr(&o, v, 0);
    if (o.pos >= len && len > 4)
        memcpy(buf + len - 4, "...", 4);
}

char *tjR_log_text(const tjR_log *log)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return NULL;
    char b1[512], b2[512];
    if (!log || log->n == 0)
        fprintf(f, "(no rewrites fired)\n");
    for (size_t i = 0; log && i < log->n; i++) {
        const tjR_entry *e = &log->e[i];
        fprintf(f, "%4zu  %-12s %-24s ", i + 1, e->pass, e->rule);
        if (e->note) {
            fprintf(f, "%s\n", e->note);
            continue;
        }
        tjR_expr(e->before, b1, sizeof b1);
        tjR_expr(e->after, b2, sizeof b2);
        fprintf(f, "#%llu %s  ->  #%llu %s\n", (unsigned long long)e->before->id, b1,
                (unsigned long long)e->after->id, b2);
    }
    fclose(f);
    return text;
}
