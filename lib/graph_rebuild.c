/* Rebuilding graphs with some variables replaced (function givens; usable by rewrites):
 * every node downstream of a replacement is made again from its new inputs. Iterative. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

tj_var *tjG_rebuild(tj_var *node, tj_var *const *in, bool strict)
{
    bool same_types = true;
    for (int i = 0; i < node->nin; i++) {
        if (!in[i])
            return NULL;
        same_types = same_types && in[i]->dtype == node->in[i]->dtype &&
                     in[i]->ndim == node->in[i]->ndim && in[i]->bcast == node->in[i]->bcast;
    }
    if (same_types || strict) /* equal input types give the node's own type */
        return tjG_make(node->ctx, node->op, node->dtype, node->ndim, node->bcast, in, node->nin,
                        node->attr, node->nattr, NULL);
    /* new input types: infer again through the builders */
    if (tjG_is_shape_op(node->op))
        return tjG_rebuild_shape(node, in);
    if (tj_op_is(node->op, OPF_ELEMWISE) && node->op != TJ_OP_CAST)
        return tjG_elemwise(node->op, in, node->nin);
    switch (node->op) {
    case TJ_OP_CAST:
        return tj_cast(in[0], (tj_dtype)node->attr[0]);
    case TJ_OP_SUM: case TJ_OP_MEAN: case TJ_OP_PROD: case TJ_OP_MAX: case TJ_OP_MIN:
    case TJ_OP_ALL: case TJ_OP_ANY: case TJ_OP_ARGMAX: case TJ_OP_ARGMIN: case TJ_OP_SOFTMAX:
    case TJ_OP_LOG_SOFTMAX: case TJ_OP_LOGSUMEXP:
        return tjG_rebuild_reduce(node, in[0]);
    case TJ_OP_DOT:
        return tj_dot(in[0], in[1]);
    case TJ_OP_SHAPE_OF:
        return tj_shape_of(in[0], (int)node->attr[0]);
    case TJ_OP_DIMSHUFFLE: {
        int pattern[TJ_MAX_NDIM];
        for (int d = 0; d < node->nattr; d++)
            pattern[d] = (int)node->attr[d];
        return tj_dimshuffle(in[0], pattern, node->nattr);
    }
    default:
        return tjG_make(node->ctx, node->op, node->dtype, node->ndim, node->bcast, in, node->nin,
                        node->attr, node->nattr, NULL);
    }
}

tj_status tjG_replace(tj_ctx *ctx, tj_var *const *outs, int nouts, tj_var *const *from,
                      tj_var *const *to, int nrep, bool strict, tj_var **new_outs)
{
    size_t n = 0;
    tj_var **topo = tjG_toposort(ctx, outs, nouts, &n);
    /* topo position -> the node's replacement (tjG_pos; tjG_rebuild builds, it does not sort) */
    tj_var **map = topo ? tjC_calloc(ctx, n + 1, sizeof *map) : NULL;
    tj_var **in = NULL;
    if (!topo || !map) {
        tjC_free(ctx, topo);
        tjC_free(ctx, map);
        return tjC_error(ctx, TJ_ERR_NOMEM, "out of memory replacing variables in a graph");
    }
    tj_status rc = TJ_OK;
    for (int r = 0; r < nrep; r++) /* a variable the graph does not use replaces nothing */
        if (tjG_pos(from[r]) >= 0)
            map[tjG_pos(from[r])] = to[r];
    for (size_t k = 0; k < n && rc == TJ_OK; k++) {
        tj_var *v = topo[k];
        if (map[k] || v->nin == 0)
            continue;
        bool changed = false;
        for (int i = 0; i < v->nin; i++)
            changed = changed || map[tjG_pos(v->in[i])];
        if (!changed)
            continue;
        tj_var **grown = tjC_realloc(ctx, in, sizeof *in * (size_t)v->nin);
        if (!grown) {
            rc = tjC_error(ctx, TJ_ERR_NOMEM, "out of memory replacing variables in a graph");
            break;
        }
        in = grown;
        for (int i = 0; i < v->nin; i++) {
            tj_var *r = map[tjG_pos(v->in[i])];
            in[i] = r ? r : v->in[i];
        }
        tj_var *nv = tjG_rebuild(v, in, strict);
        if (!nv)
            rc = ctx->err != TJ_OK ? ctx->err : TJ_ERR_INVALID;
        else
            map[k] = nv == v ? NULL : nv;
    }
    for (int o = 0; o < nouts && rc == TJ_OK; o++) {
        tj_var *r = map[tjG_pos(outs[o])];
        new_outs[o] = r ? r : outs[o];
    }
    tjC_free(ctx, in);
    tjC_free(ctx, topo);
    tjC_free(ctx, map);
    return rc;
}
