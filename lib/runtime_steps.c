/* Plan steps for the shape, indexing and linear-algebra ops of issue 3 (STEP_SHAPE_OP): the same
 * code as the reference executor (tjI_shape_op), allowed to return views: a reshape whose strides
 * allow it, a slice, an integer index and a split part share their operand's buffer and hold a
 * reference to it, so the plan's liveness rules keep working. Outputs handed to the caller are
 * made private by tj_call, so a view never leaks. */
#include "function.h"

#include <stdlib.h>

tj_status tjS_run_shape_op(tj_ctx *ctx, const tjS_step *st, tj_array **slots)
{
    tj_array *buf[8] = {NULL}, **in = buf;
    if (st->nin > 8 && !(in = tjC_malloc(ctx, sizeof *in * (size_t)st->nin)))
        return tjC_error(ctx, TJ_ERR_NOMEM, "out of memory running a step");
    for (int j = 0; j < st->nin; j++)
        in[j] = slots[st->in_slots[j]];
    tj_status rc = tjI_shape_op(ctx, st->root, in, true, &slots[st->out_slots[0]]);
    if (in != buf)
        tjC_free(ctx, in);
    return rc;
}
