/* tj-repl: the command line. Interactive with libedit (line editing, history, tab completion)
 * when stdin is a terminal; otherwise, or with a script argument, it runs the script without
 * prompts and stops at the first error (-k keeps going). */
#include "repl.h"

#include <editline/readline.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <tensorjit.h>
#include <unistd.h>

static void usage(FILE *out)
{
    fputs("usage: tj-repl [-k] [script.tj]\n"
          "  With no script and a terminal on stdin: interactive (:help inside).\n"
          "  Otherwise runs the script (or stdin) without prompts, printing each expression's\n"
          "  value; stops with exit status 1 at the first error.\n"
          "  -k  keep going after errors (the exit status is still 1 if any occurred)\n"
          "  TJ_REPL_HISTFILE  history file (default ~/.tj_repl_history; empty: none)\n",
          out);
}

static int run_script(repl_session *s, FILE *in, bool keep_going)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    repl_status st = REPL_OK;
    while ((n = getline(&line, &cap, in)) >= 0) {
        size_t len = (size_t)n;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            len--;
        st = repl_feed(s, line, len);
        if (st == REPL_QUIT || (st == REPL_ERROR && !keep_going))
            break;
    }
    free(line);
    if (st != REPL_QUIT && (st != REPL_ERROR || keep_going))
        repl_finish(s);
    return repl_error_count(s) > 0 ? 1 : 0;
}

/* ---- interactive ---- */

/* libedit's completion callbacks take no user argument, so the session is reached through
 * this one variable, set for the duration of the interactive loop. */
static repl_session *completing_session;

typedef struct {
    char **names;
    size_t n, cap;
} name_list;

static name_list candidates;

static void add_candidate(void *arg, const char *name)
{
    name_list *l = arg;
    for (size_t i = 0; i < l->n; i++)
        if (!strcmp(l->names[i], name))
            return;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        char **names = realloc(l->names, cap * sizeof *names);
        if (!names)
            return;
        l->names = names;
        l->cap = cap;
    }
    char *copy = strdup(name);
    if (copy)
        l->names[l->n++] = copy;
}

static char *next_candidate(const char *text, int state)
{
    static size_t next;
    if (state == 0) {
        for (size_t i = 0; i < candidates.n; i++)
            free(candidates.names[i]);
        candidates.n = 0;
        next = 0;
        repl_complete(completing_session, text, add_candidate, &candidates);
    }
    return next < candidates.n ? strdup(candidates.names[next++]) : NULL;
}

static char **complete(const char *text, int start, int end)
{
    (void)start, (void)end;
    rl_attempted_completion_over = 1; /* names, never file names */
    return rl_completion_matches(text, next_candidate);
}

static int run_interactive(repl_session *s)
{
    const char *hist = getenv("TJ_REPL_HISTFILE");
    char default_hist[4096];
    if (!hist) {
        const char *home = getenv("HOME");
        if (home && snprintf(default_hist, sizeof default_hist, "%s/.tj_repl_history", home) <
                        (int)sizeof default_hist)
            hist = default_hist;
    }
    if (hist && !*hist)
        hist = NULL;
    completing_session = s;
    rl_attempted_completion_function = complete;
    rl_completion_append_character = '\0'; /* "zer<TAB>" -> "zeros", ready for "(" */
    rl_basic_word_break_characters = " \t\n\"'`@$><=;|&{(,+-*/%~^!)[].";
    using_history();
    stifle_history(1000);
    if (hist)
        read_history(hist);
    printf("tj-repl %s: Theano's spelling over tensorjit. :help for help, :quit to leave.\n",
           TJ_VERSION_STRING);
    bool more = false;
    for (;;) {
        char *line = readline(more ? "... " : ">>> ");
        if (!line) {
            fputc('\n', stdout);
            repl_finish(s);
            break;
        }
        if (line[0])
            add_history(line);
        repl_status st = repl_feed(s, line, strlen(line));
        free(line);
        fflush(stdout);
        if (st == REPL_QUIT)
            break;
        more = st == REPL_MORE;
    }
    if (hist)
        write_history(hist);
    for (size_t i = 0; i < candidates.n; i++)
        free(candidates.names[i]);
    free(candidates.names);
    completing_session = NULL;
    return 0;
}

int main(int argc, char **argv)
{
    bool keep_going = false;
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-k")) {
            keep_going = true;
        } else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            return 0;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "tj-repl: unknown option %s\n", argv[i]);
            usage(stderr);
            return 2;
        } else if (!path) {
            path = argv[i];
        } else {
            usage(stderr);
            return 2;
        }
    }
    repl_config cfg;
    repl_config_default(&cfg);
    FILE *in = stdin;
    if (path && strcmp(path, "-")) {
        in = fopen(path, "rb");
        if (!in) {
            fprintf(stderr, "tj-repl: cannot open %s: %s\n", path, strerror(errno));
            return 2;
        }
        cfg.source_name = path;
    }
    bool interactive = !path && isatty(STDIN_FILENO);
    cfg.interactive = interactive;
    cfg.prompt_len = 4;
    repl_session *s = repl_session_new(&cfg);
    if (!s) {
        fprintf(stderr, "tj-repl: out of memory\n");
        return 2;
    }
    int rc = interactive ? run_interactive(s) : run_script(s, in, keep_going);
    repl_session_free(s);
    if (in != stdin)
        fclose(in);
    return rc;
}
