/* Text renderings of compiled plans: each step with its kernel's inner expression. */
#include "function.h"

#include <stdlib.h>
#include <string.h>

static void node_label(const tj_var *v, char *buf, size_t len)
{
    tjG_describe(v, buf, len);
}

static void print_kernel(FILE *f, const tjK_kernel *k)
{
    for (int j = 0; j < k->ncode; j++) {
        const tjK_instr *in = &k->code[j];
        fprintf(f, "      %%%d = ", j);
        if (in->op == TJK_LOAD)
            fprintf(f, "load in%d%s", in->args[0], k->scalar[in->args[0]] ? " (scalar)" : "");
        else if (in->op == TJK_CONST)
            fprintf(f, "%.17g", in->value);
        else {
            fprintf(f, "%s", tjG_ops[in->op].name);
            for (int a = 0; a < 3 && in->args[a] >= 0; a++)
                fprintf(f, "%s%%%d", a ? ", " : " ", in->args[a]);
        }
        fprintf(f, " : %s\n", tj_dtype_name(in->dtype));
    }
    for (int o = 0; o < k->nout; o++)
        fprintf(f, "      out%d %s= %%%d\n", o, /* "out0 sum= %3" for a reduction */
                k->reduce == TJ_OP_NONE_ ? "" : tjG_ops[k->reduce].name, k->out_instr[o]);
}

char *tjS_plan_text(const tjS_plan *plan)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return NULL;
    char buf[160];
    for (int i = 0; i < plan->nsteps; i++) {
        const tjS_step *st = &plan->steps[i];
        node_label(st->root, buf, sizeof buf);
        static const char *kinds[] = {"kernel", "blas", "view", "shape", "host", "op"};
        fprintf(f, "%s %s", kinds[st->kind], buf);
        if (st->kind == STEP_KERNEL)
            fprintf(f, " [kernel %d%s]", st->kernel,
                    st->reduce != TJ_OP_INPUT ? ", fused reduction" : "");
        if (plan->step_chain && plan->step_chain[i] >= 0) {
            const tjS_chain *ch = &plan->chains[plan->step_chain[i]];
            fprintf(f, " [blocked chain %d: %s]", plan->step_chain[i],
                    i == ch->a   ? "runs with the kernel"
                    : i == ch->b ? "one pass over row blocks of the matrix"
                                 : "adds the blocked product");
        }
        fprintf(f, "\n");
        for (int j = 0; j < st->nin; j++) {
            node_label(plan->slot_node[st->in_slots[j]], buf, sizeof buf);
            fprintf(f, "   in%d: %s\n", j, buf);
        }
        if (st->kind == STEP_KERNEL)
            print_kernel(f, plan->kernels[st->kernel]);
    }
    fclose(f);
    return text;
}
