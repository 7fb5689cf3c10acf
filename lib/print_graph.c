/* tj_fn_graph's first part: the optimized graph, Theano-debugprint style. Every line is one value:
 *   Op [id X] dtype (shape) 'name'
 * with its inputs below, indented by " |"; a value printed before shows only "[id X]". A value a
 * fused kernel makes is shown as that kernel's output, with the inner expression it computes
 * (i0, i1, ... are the kernel's operands, the children below it); BLAS calls show their flags,
 * alpha and beta. The walk is iterative and deep trees are cut at MAX_DEPTH. */
#include "function.h"
#include "opt/opt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_DEPTH = 48, EXPR_LEN = 480 };

typedef struct {
    tj_ctx *ctx; /* the work memory's allocator (the text itself is the caller's, on libc) */
    bool nomem;  /* some work memory was missing: the text is incomplete and dropped */
    const tjS_plan *plan;
    int *step_of, *out_of; /* node id -> the step making it and which output (-1 none) */
    unsigned *label;       /* node id -> 1 + its [id] number, 0 when not printed yet */
    unsigned nlabels;
    char **exprs;          /* per kernel instruction, for the current kernel */
} printer;

static void id_name(unsigned k, char *buf)
{
    /* A, B, ..., Z, BA, BB, ... as Theano */
    char tmp[16];
    int n = 0;
    do {
        tmp[n++] = (char)('A' + k % 26);
        k /= 26;
    } while (k > 0);
    for (int i = 0; i < n; i++)
        buf[i] = tmp[n - 1 - i];
    buf[n] = '\0';
}

static void shape_str(const tj_var *v, char *buf, size_t len)
{
    size_t n = (size_t)snprintf(buf, len, "(");
    for (int d = 0; d < v->ndim && n < len; d++)
        n += (size_t)snprintf(buf + n, len - n, "%s%s", d ? "," : "",
                              (v->bcast >> d) & 1 ? "1" : "?");
    if (n < len)
        snprintf(buf + n, len - n, ")");
}

/* The inner expression of output o of kernel k. */
static void kernel_expr(printer *p, const tjK_kernel *k, int o, char *out, size_t len)
{
    char **e = tjC_calloc(p->ctx, (size_t)k->ncode, sizeof *e);
    if (!e) {
        p->nomem = true;
        snprintf(out, len, "?");
        return;
    }
    for (int j = 0; j < k->ncode; j++) {
        const tjK_instr *in = &k->code[j];
        char buf[EXPR_LEN];
        if (in->op == TJK_LOAD)
            snprintf(buf, sizeof buf, "i%d", in->args[0]);
        else if (in->op == TJK_CONST)
            snprintf(buf, sizeof buf, "%.9g", in->value);
        else {
            size_t n = (size_t)snprintf(buf, sizeof buf, "%s", tjG_ops[in->op].name);
            if (in->op == TJ_OP_CAST && n < sizeof buf)
                n += (size_t)snprintf(buf + n, sizeof buf - n, "{%s}", tj_dtype_name(in->dtype));
            for (int a = 0; a < 3 && in->args[a] >= 0 && n < sizeof buf; a++)
                n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%s", a ? ", " : "(",
                                      e[in->args[a]] ? e[in->args[a]] : "?");
            if (n < sizeof buf)
                snprintf(buf + n, sizeof buf - n, ")");
            if (n >= sizeof buf - 1)
                memcpy(buf + sizeof buf - 4, "...", 4);
        }
        if (!(e[j] = tjC_heap_strdup(p->ctx, buf)))
            p->nomem = true;
    }
    int top = k->out_instr[o];
    snprintf(out, len, "%s", e[top] ? e[top] : "?");
    for (int j = 0; j < k->ncode; j++)
        tjC_free(p->ctx, e[j]);
    tjC_free(p->ctx, e);
}

/* The op part of v's line and, through children/nchildren, what is printed below it. */
static void describe(printer *p, tj_var *v, char *buf, size_t len, tj_var ***children,
                     int *nchildren)
{
    const tjS_plan *plan = p->plan;
    int s = plan ? p->step_of[v->id] : -1;
    *children = v->in;
    *nchildren = v->nin;
    double c;
    if (v->op == TJ_OP_INPUT) {
        snprintf(buf, len, "%s", v->name ? v->name : "<input>");
        return;
    }
    if (v->op == TJ_OP_SHARED) {
        snprintf(buf, len, "%s", v->name ? v->name : "<shared>");
        return;
    }
    if (v->op == TJ_OP_CONSTANT) {
        if (v->ndim == 0 && v->value)
            snprintf(buf, len, "TensorConstant{%.9g}", tj_array_get(v->value, NULL));
        else
            snprintf(buf, len, "TensorConstant{%s array}", tj_dtype_name(v->dtype));
        return;
    }
    if (v->op == TJ_OP_DIMSHUFFLE && (v->in[0]->op == TJ_OP_CONSTANT && v->in[0]->ndim == 0) &&
        tjR_uniform(v, &c)) {
        snprintf(buf, len, "TensorConstant{%.9g}", c);
        *nchildren = 0;
        return;
    }
    if (s >= 0 && plan->steps[s].kind == STEP_KERNEL) {
        const tjS_step *st = &plan->steps[s];
        const tjK_kernel *k = plan->kernels[st->kernel];
        char expr[EXPR_LEN];
        kernel_expr(p, k, p->out_of[v->id], expr, sizeof expr);
        if (st->reduce != TJ_OP_INPUT)
            snprintf(buf, len, "Kernel{step %d} %s{axes 0x%x%s}(Composite{%s})", s,
                     tjG_ops[st->reduce].name, st->red_mask, st->keepdims ? ", keepdims" : "",
                     expr);
        else if (st->nout > 1)
            snprintf(buf, len, "Kernel{step %d}.%d Composite{%s}", s, p->out_of[v->id], expr);
        else
            snprintf(buf, len, "Kernel{step %d} Composite{%s}", s, expr);
        *children = st->nin ? tjC_malloc(p->ctx, sizeof **children * (size_t)st->nin) : NULL;
        p->nomem = p->nomem || (st->nin && !*children);
        for (int i = 0; i < st->nin && *children; i++)
            (*children)[i] = plan->slot_node[st->in_slots[i]];
        *nchildren = *children ? st->nin : 0;
        return;
    }
    size_t n = (size_t)snprintf(buf, len, "%s", tjG_ops[v->op].name);
    if (v->op == TJ_OP_GEMM || v->op == TJ_OP_GEMV || v->op == TJ_OP_GER) {
        double a = 0, b = 0;
        bool ka = tjR_uniform(v->in[2], &a), kb = tjR_uniform(v->in[3], &b);
        n += (size_t)snprintf(buf + n, len > n ? len - n : 0, "{");
        if (v->op != TJ_OP_GER)
            n += (size_t)snprintf(buf + n, len > n ? len - n : 0, "%s%s, ",
                                  v->attr[0] ? "trans" : "no_trans",
                                  v->op == TJ_OP_GEMM ? (v->attr[1] ? "/trans" : "/no_trans") : "");
        char sa[32] = "alpha", sb[32] = "beta";
        if (ka)
            snprintf(sa, sizeof sa, "alpha=%.9g", a);
        if (kb)
            snprintf(sb, sizeof sb, "beta=%.9g", b);
        snprintf(buf + n, len > n ? len - n : 0, "%s, %s}", sa, sb);
        return;
    }
    if (v->op == TJ_OP_DIMSHUFFLE || tj_op_is(v->op, OPF_REDUCE) || v->op == TJ_OP_CAST ||
        v->op == TJ_OP_SHAPE_OF) {
        n += (size_t)snprintf(buf + n, len > n ? len - n : 0, "{");
        if (v->op == TJ_OP_CAST)
            n += (size_t)snprintf(buf + n, len > n ? len - n : 0, "%s", tj_dtype_name(v->dtype));
        else if (tj_op_is(v->op, OPF_REDUCE)) {
            int k = 0;
            for (int d = 0; d < 32; d++)
                if ((v->attr[0] >> d) & 1)
                    n += (size_t)snprintf(buf + n, len > n ? len - n : 0, "%s%d", k++ ? "," : "",
                                          d);
        } else
            for (int i = 0; i < v->nattr; i++)
                n += v->attr[i] < 0 ? (size_t)snprintf(buf + n, len > n ? len - n : 0, "%sx",
                                                       i ? "," : "")
                                    : (size_t)snprintf(buf + n, len > n ? len - n : 0, "%s%lld",
                                                       i ? "," : "", (long long)v->attr[i]);
        snprintf(buf + n, len > n ? len - n : 0, "}");
    }
}

typedef struct {
    tj_var *v;
    int depth;
    bool last;
} frame;

static void print_tree(printer *p, FILE *f, tj_var *root)
{
    size_t cap = 64, sp = 0;
    frame *stack = tjC_malloc(p->ctx, sizeof *stack * cap);
    char *prefix = tjC_calloc(p->ctx, MAX_DEPTH * 2 + 4, 1);
    if (!stack || !prefix) {
        p->nomem = true;
        tjC_free(p->ctx, stack);
        tjC_free(p->ctx, prefix);
        return;
    }
    stack[sp++] = (frame){root, 0, true};
    while (sp > 0) {
        frame fr = stack[--sp];
        tj_var *v = fr.v;
        /* the prefix: " |" per level */
        int d = fr.depth < MAX_DEPTH ? fr.depth : MAX_DEPTH;
        for (int i = 0; i < d; i++)
            memcpy(prefix + 2 * i, " |", 2);
        prefix[2 * d] = '\0';
        char id[16], op[1024], sh[3 * TJ_MAX_NDIM + 4];
        bool seen = p->label[v->id] != 0;
        if (!seen)
            p->label[v->id] = ++p->nlabels;
        id_name(p->label[v->id] - 1, id);
        if (seen && v->nin > 0) {
            fprintf(f, "%s[id %s]\n", prefix, id);
            continue;
        }
        tj_var **children;
        int nchildren;
        describe(p, v, op, sizeof op, &children, &nchildren);
        shape_str(v, sh, sizeof sh);
        fprintf(f, "%s%s [id %s] %s %s", prefix, op, id, tj_dtype_name(v->dtype), sh);
        if (v->name && v->op != TJ_OP_INPUT && v->op != TJ_OP_SHARED)
            fprintf(f, " '%s'", v->name);
        fprintf(f, "\n");
        if (fr.depth >= MAX_DEPTH && nchildren > 0) {
            fprintf(f, "%s |...\n", prefix);
            nchildren = 0;
        }
        if (sp + (size_t)nchildren >= cap) {
            cap = 2 * (sp + (size_t)nchildren) + 8;
            frame *ns = tjC_realloc(p->ctx, stack, sizeof *stack * cap);
            if (!ns) {
                p->nomem = true;
                if (children != v->in)
                    tjC_free(p->ctx, children);
                break;
            }
            stack = ns;
        }
        for (int i = nchildren - 1; i >= 0; i--)
            stack[sp++] = (frame){children[i], fr.depth + 1, i == nchildren - 1};
        if (children != v->in)
            tjC_free(p->ctx, children);
    }
    tjC_free(p->ctx, stack);
    tjC_free(p->ctx, prefix);
}

char *tjS_debugprint(const tjS_plan *plan, tj_var *const *outs, int nout,
                     tj_var *const *upd_vars, int nupd)
{
    if (nout + nupd == 0)
        return strdup(""); /* the caller's, freed with free() as the memstream's text */
    tj_ctx *ctx = (nout ? outs[0] : upd_vars[0])->ctx;
    size_t nv = ctx->nvars + 1;
    printer p = {.ctx = ctx, .plan = plan};
    p.step_of = tjC_malloc(ctx, sizeof *p.step_of * nv);
    p.out_of = tjC_malloc(ctx, sizeof *p.out_of * nv);
    p.label = tjC_calloc(ctx, nv, sizeof *p.label);
    char *text = NULL;
    size_t len = 0;
    FILE *f = p.step_of && p.out_of && p.label ? open_memstream(&text, &len) : NULL;
    if (!f)
        goto done;
    for (size_t i = 0; i < nv; i++)
        p.step_of[i] = p.out_of[i] = -1;
    for (int s = 0; plan && s < plan->nsteps; s++)
        for (int o = 0; o < plan->steps[s].nout; o++) {
            const tj_var *v = plan->steps[s].out_nodes[o];
            p.step_of[v->id] = s;
            p.out_of[v->id] = o;
        }
    for (int i = 0; i < nout; i++) {
        fprintf(f, "Output %d:\n", i);
        print_tree(&p, f, outs[i]);
    }
    for (int u = 0; u < nupd; u++) {
        fprintf(f, "Update of %s:\n", upd_vars[u]->name ? upd_vars[u]->name : "(unnamed shared)");
        print_tree(&p, f, outs[nout + u]);
    }
    fclose(f);
    if (p.nomem) {
        free(text);
        text = NULL;
    }
done:
    tjC_free(ctx, p.step_of);
    tjC_free(ctx, p.out_of);
    tjC_free(ctx, p.label);
    return text;
}
