/* Inspection commands: :graph :kernels :ir :ir-opt :asm :rewrites :profile :time :cache :names
 * :help :quit. Each takes the rest of the line; most take an expression naming a function. */
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef bool (*command_fn)(repl_session *s, const char *text, size_t len, size_t arg);

typedef struct {
    const char *name;
    command_fn fn;
    const char *usage;
} command;

static void print_text(repl_session *s, const char *text)
{
    size_t n = strlen(text);
    fputs(text, s->cfg.out);
    if (n == 0 || text[n - 1] != '\n')
        fputc('\n', s->cfg.out);
}

/* The compiled function the argument names, as a new reference. */
static repl_value *function_arg(repl_session *s, const char *text, size_t len, size_t arg,
                                const char *cmd)
{
    if (arg >= len)
        return repl_fail(s, len, "usage: :%s f  (f a compiled function)", cmd);
    repl_value *v = repl_eval_text(s, text, len, arg);
    if (v && v->kind != V_FN) {
        repl_fail(s, arg, ":%s needs a compiled function (made with function(...)), not %s", cmd,
                  repl_a_kind(v));
        repl_unref(v);
        return NULL;
    }
    return v;
}

/* Runs a text-producing inspection function on the argument and prints its result. */
static bool show(repl_session *s, const char *text, size_t len, size_t arg, const char *cmd,
                 char *(*get)(tj_fn *, int), int flag)
{
    repl_value *f = function_arg(s, text, len, arg, cmd);
    if (!f)
        return false;
    char *out = get(f->as.fn.fn, flag);
    if (out) {
        print_text(s, out);
        free(out);
    } else {
        char what[32];
        snprintf(what, sizeof what, ":%s", cmd);
        repl_fail_lib(s, arg, what);
    }
    repl_unref(f);
    return out != NULL;
}

static char *get_graph(tj_fn *f, int flag)
{
    (void)flag;
    return tj_fn_graph(f);
}
static char *get_ir(tj_fn *f, int optimized) { return tj_fn_ir(f, optimized); }
static char *get_asm(tj_fn *f, int flag)
{
    (void)flag;
    return tj_fn_asm(f);
}

static bool cmd_graph(repl_session *s, const char *t, size_t len, size_t arg)
{
    return show(s, t, len, arg, "graph", get_graph, 0);
}
static bool cmd_ir(repl_session *s, const char *t, size_t len, size_t arg)
{
    return show(s, t, len, arg, "ir", get_ir, 0);
}
static bool cmd_ir_opt(repl_session *s, const char *t, size_t len, size_t arg)
{
    return show(s, t, len, arg, "ir-opt", get_ir, 1);
}
static bool cmd_asm(repl_session *s, const char *t, size_t len, size_t arg)
{
    return show(s, t, len, arg, "asm", get_asm, 0);
}

/* The fused kernels: the blocks of the graph text that start with "kernel node", with their
 * indented inputs and inner expression lines. */
static bool cmd_kernels(repl_session *s, const char *t, size_t len, size_t arg)
{
    repl_value *f = function_arg(s, t, len, arg, "kernels");
    if (!f)
        return false;
    char *graph = tj_fn_graph(f->as.fn.fn);
    repl_unref(f);
    if (!graph)
        return repl_fail_lib(s, arg, ":kernels") != NULL;
    int kernels = 0;
    bool in_kernel = false;
    for (char *line = graph; *line;) {
        char *end = strchr(line, '\n');
        size_t n = end ? (size_t)(end - line) : strlen(line);
        if (n > 0 && line[0] != ' ')
            in_kernel = !strncmp(line, "kernel node", 11);
        kernels += in_kernel && line[0] != ' ';
        if (in_kernel) {
            fwrite(line, 1, n, s->cfg.out);
            fputc('\n', s->cfg.out);
        }
        line += n + (end != NULL);
    }
    if (!kernels)
        fputs("no fused kernels: every step is a library call or a view\n", s->cfg.out);
    free(graph);
    return true;
}

static char *get_rewrites(tj_fn *f, int flag)
{
    (void)flag;
    return tj_fn_rewrites(f);
}

/* :rewrites f: the optimizer's log, one rewrite per line, in the order they fired. */
static bool cmd_rewrites(repl_session *s, const char *t, size_t len, size_t arg)
{
    return show(s, t, len, arg, "rewrites", get_rewrites, 0);
}
/* :profile f: what tj_fn_profile_print reports for a function compiled with profile=True. */
static bool cmd_profile(repl_session *s, const char *t, size_t len, size_t arg)
{
    repl_value *f = function_arg(s, t, len, arg, "profile");
    if (!f)
        return false;
    fflush(s->cfg.out);
    tj_status st = tj_fn_profile_print(f->as.fn.fn, s->cfg.out);
    repl_unref(f);
    if (st != TJ_OK)
        return repl_fail_lib(s, arg, ":profile (compile with function(..., profile=True))") != NULL;
    return true;
}

static bool cmd_cache(repl_session *s, const char *t, size_t len, size_t arg)
{
    (void)t, (void)len, (void)arg;
    tj_stats st;
    tj_ctx_stats(s->ctx, &st);
    fprintf(s->cfg.out,
            "llvm_compiles %llu, cache_hits %llu, disk_cache_hits %llu, compile_ms %.1f\n",
            (unsigned long long)st.llvm_compiles, (unsigned long long)st.cache_hits,
            (unsigned long long)st.disk_cache_hits, st.compile_ms);
    return true;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void print_duration(FILE *out, double seconds)
{
    if (seconds < 1e-6)
        fprintf(out, "%.1f ns", seconds * 1e9);
    else if (seconds < 1e-3)
        fprintf(out, "%.2f us", seconds * 1e6);
    else if (seconds < 1)
        fprintf(out, "%.2f ms", seconds * 1e3);
    else
        fprintf(out, "%.3f s", seconds);
}

enum { MAX_RUNS = 100000, MIN_RUNS = 3 };

/* :time f(args): the median of repeated calls. A call of a compiled function converts its
 * arguments once and times tj_call alone; any other expression is re-evaluated each run. */
static bool cmd_time(repl_session *s, const char *t, size_t len, size_t arg)
{
    if (arg >= len)
        return repl_fail(s, len, "usage: :time f(args)  (or any expression)") != NULL;
    repl_arena arena = {0};
    const repl_node *n = repl_parse_expr_text(s, t, len, arg, &arena);
    double *runs = n ? malloc(MAX_RUNS * sizeof *runs) : NULL;
    repl_value *fn = NULL;
    repl_args a = {0};
    tj_array **ins = NULL, **outs = NULL;
    int nruns = 0;
    bool ok = false;
    if (n && !runs)
        repl_oom(s, arg);
    if (!runs)
        goto done;
    if (n->kind == N_CALL && n->kids[0]->kind != N_ATTR) {
        if (!(fn = repl_eval(s, n->kids[0])))
            goto done;
        if (fn->kind == V_FN) {
            const repl_function *f = &fn->as.fn;
            ins = calloc((size_t)f->nin + 1, sizeof *ins);
            outs = calloc((size_t)f->nout, sizeof *outs);
            if (!ins || !outs || !repl_eval_args(s, n, &a) || !repl_function_args(s, f, &a, ins)) {
                if (!s->failed)
                    repl_oom(s, arg);
                free(ins);
                ins = NULL;
                goto done;
            }
        }
    }
    double start = now_s();
    while (nruns < MAX_RUNS && (nruns < MIN_RUNS || now_s() - start < s->cfg.time_budget_s)) {
        double t0 = now_s();
        if (ins) {
            const repl_function *f = &fn->as.fn;
            if (tj_call_n(f->fn, ins, f->nin, outs, f->nout) != TJ_OK) {
                repl_fail_lib(s, n->pos, "calling the function");
                goto done;
            }
            runs[nruns++] = now_s() - t0;
            for (int i = 0; i < f->nout; i++)
                tj_array_unref(outs[i]);
        } else {
            repl_value *v = repl_eval(s, n);
            if (!v)
                goto done;
            runs[nruns++] = now_s() - t0;
            repl_unref(v);
        }
    }
    qsort(runs, (size_t)nruns, sizeof *runs, compare_double);
    fprintf(s->cfg.out, "%.*s: median ", (int)(len - arg), t + arg);
    print_duration(s->cfg.out, runs[nruns / 2]);
    fputs(", min ", s->cfg.out);
    print_duration(s->cfg.out, runs[0]);
    fprintf(s->cfg.out, " over %d runs\n", nruns);
    ok = true;
done:
    if (ins)
        for (int i = 0; i < fn->as.fn.nin; i++)
            tj_array_unref(ins[i]);
    free(ins);
    free(outs);
    repl_args_free(&a);
    repl_unref(fn);
    free(runs);
    repl_arena_free(&arena);
    return ok;
}

static bool cmd_names(repl_session *s, const char *t, size_t len, size_t arg)
{
    (void)t, (void)len, (void)arg;
    for (int i = 0; i < s->env.n; i++) {
        repl_value *v = s->env.values[i];
        fprintf(s->cfg.out, "%-16s %s", s->env.names[i], repl_kind_name(v));
        if (v->kind == V_VAR) {
            repl_buf b = {0};
            repl_describe_type(&b, v->as.var.v);
            fprintf(s->cfg.out, " %s", repl_buf_str(&b));
            repl_buf_free(&b);
        }
        fputc('\n', s->cfg.out);
    }
    return true;
}

static bool cmd_quit(repl_session *s, const char *t, size_t len, size_t arg)
{
    (void)t, (void)len, (void)arg;
    s->quit = true;
    return true;
}

static bool cmd_help(repl_session *s, const char *t, size_t len, size_t arg);

static const command commands[] = {
    {"graph", cmd_graph, ":graph f       the executed graph, debugprint style"},
    {"rewrites", cmd_rewrites, ":rewrites f    the rewrites that fired, in order"},
    {"ir", cmd_ir, ":ir f          LLVM IR before optimization"},
    {"ir-opt", cmd_ir_opt, ":ir-opt f      LLVM IR after optimization"},
    {"asm", cmd_asm, ":asm f         native assembly of the kernels"},
    {"kernels", cmd_kernels, ":kernels f     the fused kernels with their inner expressions"},
    {"profile", cmd_profile, ":profile f     time, calls and bytes per node"},
    {"time", cmd_time, ":time f(args)  median time of repeated calls"},
    {"cache", cmd_cache, ":cache         compile and cache counters"},
    {"names", cmd_names, ":names         the names bound in this session"},
    {"help", cmd_help, ":help [name]   this text, or what a builtin does"},
    {"quit", cmd_quit, ":quit          leave (also :q, quit(), end of input)"},
    {"q", cmd_quit, NULL},
    {"exit", cmd_quit, NULL},
};
enum { NCOMMANDS = sizeof commands / sizeof *commands };

static void add_name(void *arg, const char *name) { repl_buf_printf(arg, " %s", name); }

void repl_print_help(repl_session *s, const char *topic)
{
    FILE *o = s->cfg.out;
    if (topic) {
        repl_buf b = {0};
        if (repl_builtin_help(&b, topic))
            fprintf(o, "%s\n", repl_buf_str(&b));
        else
            fprintf(o, "no help for '%s'\n", topic);
        repl_buf_free(&b);
        return;
    }
    fputs("tj-repl: Theano's spelling over tensorjit. Statements as in Python:\n"
          "  x, y = fscalars('x', 'y'); f = function([x, y], [x + y, x * y]); f(2, 3)\n"
          "  w = shared(zeros(3), name='w'); g = grad(sum(w ** 2), w)\n"
          "Operators + - * / // % ** @ < > <= >= == != (elementwise on tensors); x[i], x[a:b:c]\n"
          "on arrays and lists; x.T x.shape x.sum(axis=0) x.dimshuffle('x', 0) x.eval({x: 1})\n"
          "w.get_value() w.set_value(v). Without a prefix, scalar/vector/matrix are float64.\n"
          "Builtins: function shared grad constant zeros ones arange array rand randn seed print\n"
          "len help quit; ops:",
          o);
    repl_buf ops = {0};
    repl_op_each(add_name, &ops);
    fprintf(o, "%s\nCommands:\n", repl_buf_str(&ops));
    repl_buf_free(&ops);
    for (int i = 0; i < NCOMMANDS; i++)
        if (commands[i].usage)
            fprintf(o, "  %s\n", commands[i].usage);
}

static bool cmd_help(repl_session *s, const char *t, size_t len, size_t arg)
{
    char topic[64] = "";
    size_t n = len - arg < sizeof topic - 1 ? len - arg : sizeof topic - 1;
    if (arg < len) {
        memcpy(topic, t + arg, n);
        topic[n] = '\0';
        while (n > 0 && (topic[n - 1] == ' ' || topic[n - 1] == '\t'))
            topic[--n] = '\0';
    }
    repl_print_help(s, topic[0] ? topic : NULL);
    return true;
}

void repl_command_each(void (*fn)(void *arg, const char *name), void *arg)
{
    char name[32];
    for (int i = 0; i < NCOMMANDS; i++) {
        snprintf(name, sizeof name, ":%s", commands[i].name);
        fn(arg, name);
    }
}

bool repl_command(repl_session *s, const char *text, size_t len, size_t start)
{
    size_t i = start + 1, name_start = i;
    while (i < len && text[i] != ' ' && text[i] != '\t')
        i++;
    size_t n = i - name_start;
    while (i < len && (text[i] == ' ' || text[i] == '\t'))
        i++;
    for (int k = 0; k < NCOMMANDS; k++)
        if (strlen(commands[k].name) == n && !memcmp(commands[k].name, text + name_start, n))
            return commands[k].fn(s, text, len, i);
    repl_fail(s, start, "unknown command ':%.*s' (:help lists them)", (int)(n > 40 ? 40 : n),
              text + name_start);
    return false;
}
