/* tj-repl's embedding interface: what main.c, the fuzz target and the tests use. */
#ifndef TJ_REPL_H
#define TJ_REPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "tensorjit.h"

typedef struct {
    FILE *out, *err;
    const char *source_name; /* for messages: "<stdin>", a script's path */
    bool interactive;        /* caret under the typed line; no file:line prefix */
    int prompt_len;          /* interactive: columns the prompt takes */
    size_t max_line;         /* bytes in one statement, continuation lines included */
    size_t max_tokens;
    int max_depth;        /* nesting of brackets and expressions */
    int64_t max_elements; /* arrays the REPL itself builds (zeros, lists, rand) */
    double time_budget_s; /* how long :time measures */
    bool no_jit;          /* compile every function in FAST_COMPILE (the fuzz target) */
    const tj_allocator *allocator; /* the session context's memory (NULL: the C library's) */
} repl_config;

/* The limits documented in docs/REPL.md, output to stdout/stderr. */
void repl_config_default(repl_config *cfg);

typedef struct repl_session repl_session;

repl_session *repl_session_new(const repl_config *cfg); /* NULL when out of memory */
void repl_session_free(repl_session *s);                /* NULL-safe */

typedef enum {
    REPL_OK,    /* the line ran (or was empty) */
    REPL_ERROR, /* it failed; the message is printed and the session goes on */
    REPL_MORE,  /* brackets are open: the statement continues on the next line */
    REPL_QUIT   /* :quit or quit() */
} repl_status;

/* Runs one line of input (no newline at the end; may hold NUL bytes). */
repl_status repl_feed(repl_session *s, const char *line, size_t len);
/* End of input: a statement still waiting for a closing bracket is an error. */
repl_status repl_finish(repl_session *s);
/* Feeds every line of a buffer. keep_going=false stops at the first error. */
repl_status repl_run_text(repl_session *s, const char *text, size_t len, bool keep_going);
int repl_error_count(const repl_session *s);
void repl_set_line(repl_session *s, int line); /* line number the next fed line has */

/* Completion: calls add(arg, name) for each bound name, builtin, op and :command starting with
 * prefix (commands when prefix starts with ':'). */
void repl_complete(repl_session *s, const char *prefix, void (*add)(void *arg, const char *name),
                   void *arg);

#endif
