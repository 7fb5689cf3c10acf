/* A parser for flat JSON lines (jsonl.h). */
#include "jsonl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *ws(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
        p++;
    return p;
}

/* Reads a string at p (which points at '"') into out; returns the position after it or NULL. */
static const char *string(const char *p, char *out, size_t len)
{
    size_t n = 0;
    for (p++; *p && *p != '"'; p++) {
        char c = *p;
        if (c == '\\') {
            p++;
            switch (*p) {
            case 'n':
                c = '\n';
                break;
            case 't':
                c = '\t';
                break;
            case 'r':
                c = '\r';
                break;
            case 'b':
            case 'f':
                c = ' ';
                break;
            case 'u': {
                unsigned v = 0;
                if (sscanf(p + 1, "%4x", &v) != 1)
                    return NULL;
                c = v < 0x80 ? (char)v : '?';
                p += 4;
                break;
            }
            case '\0':
                return NULL;
            default:
                c = *p;
            }
        }
        if (n + 1 < len)
            out[n++] = c;
    }
    if (*p != '"')
        return NULL;
    out[n] = '\0';
    return p + 1;
}

static const char *number(const char *p, double *v)
{
    if (strncmp(p, "null", 4) == 0) {
        *v = NAN;
        return p + 4;
    }
    char *end;
    *v = strtod(p, &end);
    return end == p ? NULL : end;
}

int jl_parse(const char *line, jl_obj *o)
{
    o->n = 0;
    const char *p = ws(line);
    if (*p++ != '{')
        return -1;
    p = ws(p);
    if (*p == '}')
        return 0;
    for (;;) {
        if (o->n == JL_MAX_FIELDS || *p != '"')
            return -1;
        jl_field *f = &o->f[o->n];
        memset(f, 0, sizeof *f);
        if (!(p = string(p, f->key, sizeof f->key)))
            return -1;
        p = ws(p);
        if (*p++ != ':')
            return -1;
        p = ws(p);
        if (*p == '"') {
            f->type = JL_STR;
            p = string(p, f->str, sizeof f->str);
        } else if (strncmp(p, "true", 4) == 0 || strncmp(p, "false", 5) == 0) {
            f->type = JL_BOOL;
            f->num = *p == 't';
            p += *p == 't' ? 4 : 5;
        } else if (strncmp(p, "null", 4) == 0) {
            f->type = JL_NULL;
            f->num = NAN;
            p += 4;
        } else if (*p == '[') {
            f->type = JL_ARR;
            p = ws(p + 1);
            while (p && *p != ']') {
                double v;
                if (!(p = number(p, &v)) || f->narr == JL_MAX_ARRAY)
                    return -1;
                f->arr[f->narr++] = v;
                p = ws(p);
                if (*p == ',')
                    p = ws(p + 1);
                else if (*p != ']')
                    return -1;
            }
            if (p)
                p++;
        } else {
            f->type = JL_NUM;
            p = number(p, &f->num);
        }
        if (!p)
            return -1;
        o->n++;
        p = ws(p);
        if (*p == '}')
            return 0;
        if (*p++ != ',')
            return -1;
        p = ws(p);
    }
}

const jl_field *jl_get(const jl_obj *o, const char *key)
{
    for (int i = 0; i < o->n; i++)
        if (strcmp(o->f[i].key, key) == 0)
            return &o->f[i];
    return NULL;
}

double jl_num(const jl_obj *o, const char *key, double dflt)
{
    const jl_field *f = jl_get(o, key);
    return f && (f->type == JL_NUM || f->type == JL_NULL) ? f->num : dflt;
}

const char *jl_str(const jl_obj *o, const char *key)
{
    const jl_field *f = jl_get(o, key);
    return f && f->type == JL_STR ? f->str : "";
}

bool jl_bool(const jl_obj *o, const char *key, bool dflt)
{
    const jl_field *f = jl_get(o, key);
    return f && f->type == JL_BOOL ? f->num != 0 : dflt;
}
