/* The op table, generated from ops.def so enum, names, arity and flags cannot drift. */
#include "internal.h"

const tj_opinfo tjG_ops[TJ_NUM_OPS] = {
#define TJ_OP(e, name, arity, flags) [TJ_OP_##e] = {name, arity, flags},
#include "ops.def"
#undef TJ_OP
};
