/* Validation of kernel descriptions (lib/kernel.h) before anything reaches LLVM: a malformed
 * description must come back as TJ_ERR_INVALID with a sentence, never as IR that fails to verify
 * or, worse, as an LLVM crash. The dtype rules are the builders' (lib/elemwise_types.c). */
#include "backend.h"
#include "jit.h"

/* The arguments an instruction uses: the lowering takes any other that is not -1 for one. */
static int arity_of(const tjK_instr *c)
{
    return c->op == TJK_LOAD ? 1 : c->op == TJK_CONST ? 0 : tjG_ops[c->op].arity;
}

static tj_status check_instr(const tjK_kernel *k, int i, char *err, size_t errlen)
{
    const tjK_instr *c = &k->code[i];
    if (!tj_dtype_valid(c->dtype))
        return tjJ_fail(err, errlen, TJ_ERR_INVALID, "kernel instruction %d has invalid dtype %d",
                        i, (int)c->dtype);
    if (c->op != TJK_LOAD && c->op != TJK_CONST &&
        (c->op < 0 || c->op >= TJ_NUM_OPS || !tj_op_is((tj_op)c->op, OPF_ELEMWISE)))
        return tjJ_fail(err, errlen, TJ_ERR_INVALID,
                        "kernel instruction %d has op %d, which is not an elementwise op, a load "
                        "or a constant",
                        i, c->op);
    for (int j = arity_of(c); j < 3; j++)
        if (c->args[j] != -1)
            return tjJ_fail(err, errlen, TJ_ERR_INVALID,
                            "kernel instruction %d uses %d arguments, but its argument %d is %d "
                            "instead of -1 (unused)",
                            i, arity_of(c), j, (int)c->args[j]);
    if (c->op == TJK_LOAD) {
        int a = c->args[0];
        if (a < 0 || a >= k->nin)
            return tjJ_fail(err, errlen, TJ_ERR_INVALID,
                            "kernel instruction %d loads operand %d, which is not one of the %d "
                            "inputs",
                            i, a, k->nin);
        if (k->dtype[a] != c->dtype)
            return tjJ_fail(err, errlen, TJ_ERR_INVALID,
                            "kernel instruction %d loads input %d as %s but the input is %s", i, a,
                            tj_dtype_name(c->dtype), tj_dtype_name(k->dtype[a]));
        return TJ_OK;
    }
    if (c->op == TJK_CONST)
        return TJ_OK;
    const char *name = tjG_ops[c->op].name;
    int arity = arity_of(c);
    tj_dtype ad[3] = {c->dtype, c->dtype, c->dtype};
    for (int j = 0; j < arity; j++) {
        int a = c->args[j];
        if (a < 0 || a >= i)
            return tjJ_fail(err, errlen, TJ_ERR_INVALID,
                            "kernel instruction %d (%s): argument %d refers to instruction %d, "
                            "but arguments must be earlier instructions",
                            i, name, j, a);
        ad[j] = k->code[a].dtype;
    }
    bool ok;
    switch (c->op) {
    case TJ_OP_CAST: ok = true; break;
    case TJ_OP_SECOND: ok = ad[1] == c->dtype; break;
    case TJ_OP_SWITCH: ok = ad[0] == TJ_BOOL && ad[1] == c->dtype && ad[2] == c->dtype; break;
    default:
        if (tj_op_is((tj_op)c->op, OPF_BOOLOUT)) {
            ok = c->dtype == TJ_BOOL && (arity == 1 || ad[0] == ad[1]) &&
                 tjG_elemwise_accepts((tj_op)c->op, ad[0]);
        } else {
            ok = tjG_elemwise_accepts((tj_op)c->op, c->dtype);
            for (int j = 0; j < arity; j++)
                ok = ok && ad[j] == c->dtype;
        }
    }
    if (!ok)
        return tjJ_fail(err, errlen, TJ_ERR_INVALID,
                        "kernel instruction %d (%s %s) has arguments of the wrong dtype (%s%s%s)",
                        i, name, tj_dtype_name(c->dtype), tj_dtype_name(ad[0]),
                        arity > 1 ? ", " : "", arity > 1 ? tj_dtype_name(ad[1]) : "");
    return TJ_OK;
}

/* The reduction of a kernel (lib/kernel.h): one output, of a dtype the reduction is defined on
 * (the builders cast: sum/prod never see bool, all/any only bool). */
static tj_status check_reduce(const tjK_kernel *k, char *err, size_t errlen)
{
    int op = k->reduce;
    if (op == TJ_OP_NONE_)
        return TJ_OK;
    if (op != TJ_OP_SUM && op != TJ_OP_PROD && op != TJ_OP_MAX && op != TJ_OP_MIN &&
        op != TJ_OP_ALL && op != TJ_OP_ANY)
        return tjJ_fail(err, errlen, TJ_ERR_INVALID,
                        "kernel reduction %d is not sum, prod, max, min, all or any", op);
    const char *name = tjG_ops[op].name;
    if (k->nout != 1)
        return tjJ_fail(err, errlen, TJ_ERR_INVALID, "a %s kernel has %d outputs, not 1", name,
                        k->nout);
    tj_dtype d = k->dtype[k->nin];
    bool logic = op == TJ_OP_ALL || op == TJ_OP_ANY;
    if (logic != (d == TJ_BOOL) && !(d == TJ_BOOL && (op == TJ_OP_MAX || op == TJ_OP_MIN)))
        return tjJ_fail(err, errlen, TJ_ERR_INVALID, "a %s kernel cannot accumulate in %s", name,
                        tj_dtype_name(d));
    return TJ_OK;
}

tj_status tjL_validate(const tjK_kernel *k, char *err, size_t errlen)
{
    if (!k)
        return tjJ_fail(err, errlen, TJ_ERR_INVALID, "a kernel description is NULL");
    if (k->nin < 0 || k->nout < 1 || k->nin + k->nout > TJL_MAX_OPERANDS)
        return tjJ_fail(err, errlen, TJ_ERR_INVALID,
                        "a kernel has %d inputs and %d outputs (needs >= 0, >= 1, at most %d "
                        "operands)",
                        k->nin, k->nout, TJL_MAX_OPERANDS);
    if (!k->dtype || !k->code || k->ncode < 1 || !k->out_instr || (k->nin > 0 && !k->scalar))
        return tjJ_fail(err, errlen, TJ_ERR_INVALID,
                        "a kernel description lacks its dtypes, scalar flags, code or outputs");
    for (int i = 0; i < k->nin + k->nout; i++)
        if (!tj_dtype_valid(k->dtype[i]))
            return tjJ_fail(err, errlen, TJ_ERR_INVALID, "kernel operand %d has invalid dtype %d",
                            i, (int)k->dtype[i]);
    for (int i = 0; i < k->ncode; i++) {
        tj_status st = check_instr(k, i, err, errlen);
        if (st != TJ_OK)
            return st;
    }
    for (int o = 0; o < k->nout; o++)
        if (k->out_instr[o] < 0 || k->out_instr[o] >= k->ncode)
            return tjJ_fail(err, errlen, TJ_ERR_INVALID,
                            "kernel output %d stores instruction %d of %d", o, k->out_instr[o],
                            k->ncode);
    return check_reduce(k, err, errlen);
}
