#!/usr/bin/env python3
"""Generates tests/badargs_table.inc: for every function of include/tensorjit.h, calls with one
bad argument each (NULL for each pointer, a handle of the wrong kind, a freed handle, out-of-range
enums and axes, negative and huge sizes), the other arguments valid. tests/test_badargs.c runs
them and checks each returns its error value with a message.

The bad values come from each parameter's type and name (BAD below); the valid ones from the
fixture in test_badargs.c (VALID). A parameter whose type the script does not know, or a function
that gets no row and is not in NO_BAD_ARGUMENT, is an error: a new function in the header cannot
go untested.

    python3 tools/gen-badargs.py            rewrites tests/badargs_table.inc
    python3 tools/gen-badargs.py --check    exits 1 when the file is stale or a function has no
                                            row (the badargs_table test)
"""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from generated import write_or_check  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HEADER = os.path.join(ROOT, "include", "tensorjit.h")
OUT = os.path.join(ROOT, "tests", "badargs_table.inc")

GROUP = 16  # functions a test

# Functions that take no argument that can be bad.
NO_BAD_ARGUMENT = {"tj_ctx_new", "tj_compile_server_stop"}  # no arguments at all

# Pointers that may be NULL by contract (the call then may succeed): (function or "*", param).
NULLABLE = {
    ("*", "name"), ("tj_tensor", "broadcastable"), ("tj_array_wrap", "strides_bytes"),
    ("tj_array_wrap", "release"), ("tj_array_wrap", "release_arg"), ("tj_ctx_set_log", "user"),
    ("tj_ctx_set_log", "fn"), ("tj_grad_v2", "opts"), ("tj_jacobian", "opts"),
    ("tj_hessian", "opts"), ("tj_function", "opts"), ("tj_arange", "start"),
    ("tj_arange", "step"), ("tj_slice", "start"), ("tj_slice", "stop"), ("tj_slice", "step"),
    ("tj_shared_set_default_update", "update"), ("tj_array_get", "index"),
    ("tj_array_set", "index"), ("tj_fn_rewrite_count", "name"), ("*", "new_state"),
    ("tj_ctx_new_with_allocator", "alloc"),
    ("tj_sum", "axes"), ("tj_mean", "axes"), ("tj_prod", "axes"), ("tj_max", "axes"),
    ("tj_min", "axes"), ("tj_all", "axes"), ("tj_any", "axes"), ("tj_variance", "axes"),
    ("tj_std", "axes"), ("tj_variance_ddof", "axes"), ("tj_std_ddof", "axes"),
    ("tj_logsumexp", "axes"), ("tj_squeeze", "axes"), ("tj_tensordot", "axes_a"),
    ("tj_tensordot", "axes_b"), ("tj_array_new", "shape"), ("tj_array_from_data", "shape"),
    ("tj_array_wrap", "shape"),
}
# NULL-safe by contract and silent (free/unref style): NULL is no error at all.
NULL_SAFE = {"tj_array_ref", "tj_array_unref", "tj_ctx_free", "tj_fn_free"}
# Pure lookups that answer a documented sentinel ("invalid", 0) and record nothing: they format
# other errors' messages, which a recorded error of their own would overwrite.
SENTINEL_ONLY = {"tj_dtype_name", "tj_dtype_size", "tj_status_name"}

# Functions whose NULL context argument is not an error: ctx NULL means the thread's slot.
CTX_NULL_MEANS_THREAD = {"tj_errcode", "tj_errmsg", "tj_clear_error"}


def bad_values(fn, ptype, pname):
    """[(label, C expression)] of bad values for one parameter."""
    t = " ".join(ptype.replace("*", " * ").split()) if "(" not in ptype else "void (*release)(void *)"
    nullable = (fn, pname) in NULLABLE or ("*", pname) in NULLABLE
    out = []

    def null(label="NULL"):
        if not nullable and not (fn in CTX_NULL_MEANS_THREAD and "tj_ctx" in t):
            out.append((label, "NULL"))

    if t in ("tj_ctx *", "const tj_ctx *"):
        null()
        out += [("wrong kind (a tj_var)", "(tj_ctx *)f->x"),
                ("freed context", "f->dead_ctx")]
    elif t in ("tj_var *", "const tj_var *"):
        null()
        out += [("wrong kind (a tj_array)", "(tj_var *)f->arr")]
    elif t == "tj_var * const *":
        null()
        out += [("an entry NULL", "f->vars_null"), ("an entry of the wrong kind", "f->vars_bad")]
    elif t == "tj_var * *":
        null()
    elif t in ("tj_array *", "const tj_array *"):
        null()
        out += [("wrong kind (a tj_var)", "(tj_array *)f->x")]
    elif t == "tj_array * const *":
        null()
        out += [("an entry NULL", "f->arrs_null"), ("an entry of the wrong kind", "f->arrs_bad")]
    elif t == "tj_array * *":
        null()
    elif t in ("tj_fn *", "const tj_fn *"):
        null()
        out += [("wrong kind (a tj_array)", "(tj_fn *)f->arr"), ("freed function", "f->dead_fn")]
    elif t == "tj_dtype":
        if fn in ("tj_dtype_name", "tj_dtype_size") or True:
            out += [("dtype -1", "(tj_dtype)-1"), ("dtype TJ_NUM_DTYPES", "TJ_NUM_DTYPES"),
                    ("dtype 1000", "(tj_dtype)1000")]
    elif t == "tj_status":
        out += [("status -1", "(tj_status)-1"), ("status 1000", "(tj_status)1000")]
    elif t == "int":
        if pname == "axis":
            out += [("axis 99", "99"), ("axis -99", "-99")]
            if fn not in ("tj_argmax", "tj_argmin"):  # INT_MIN is TJ_AXIS_ALL there
                out.append(("axis INT_MIN", "INT_MIN"))
        elif pname == "ndim":
            out += [("ndim -1", "-1"), ("ndim TJ_MAX_NDIM+1", "TJ_MAX_NDIM + 1"),
                    ("ndim INT_MIN", "INT_MIN")]
        elif pname in ("n", "naxes", "nin", "nout", "nwrt"):
            out += [("%s -1" % pname, "-1"), ("%s INT_MIN" % pname, "INT_MIN")]
            if pname in ("naxes",) or (pname == "n" and fn in (
                    "tj_dimshuffle", "tj_permute", "tj_tensordot")):
                out.append(("%s 40 (> TJ_MAX_NDIM)" % pname, "40"))
        elif pname == "ddof":
            out += [("ddof -1", "-1")]
        elif pname == "optimized":
            pass
        else:
            raise SystemExit("gen-badargs: %s: no bad values for int %s" % (fn, pname))
    elif t == "int64_t":
        if pname == "n":  # jacobian/hessian rows, binomial trials
            out += [("n -1", "-1"), ("n INT64_MAX", "INT64_MAX")]
        elif pname == "step":
            out += [("step 0", "0")]
        elif pname in ("value", "start", "stop", "i"):
            pass  # every value is valid at build time
        else:
            raise SystemExit("gen-badargs: %s: no bad values for int64_t %s" % (fn, pname))
    elif t == "const int64_t *":
        null()
        if pname == "shape":
            out += [("a negative size", "f->shape_neg"),
                    ("element count overflowing int64", "f->shape_huge", {"ndim": "2"}),
                    ("byte count overflowing 64 bits", "f->shape_bytes")]
        elif pname == "sizes":
            out += [("sizes summing past INT64_MAX", "f->sizes_huge", {"n": "2"}),
                    ("a size below -1", "f->shape_neg")]
        elif pname == "strides_bytes":
            out += [("strides whose extent overflows int64", "f->strides_huge")]
        elif pname == "index":
            out += [("an index out of range", "f->index_big")]
    elif t == "const int *":
        null()
        count = {"tj_tensordot": "n"}.get(fn, "n" if pname == "pattern" or fn == "tj_permute"
                                           else "naxes")
        out += [("an axis out of range", "f->axes_big", {count: "1"}),
                ("a repeated axis", "f->axes_dup", {count: "2"})]
    elif t == "double":
        if fn == "tj_random_uniform_range" and pname in ("low", "high"):
            out += [("%s NaN" % pname, "NAN"), ("%s inf" % pname, "INFINITY")]
        elif fn == "tj_random_normal_scaled" and pname == "std":
            out += [("std -1", "-1.0"), ("std NaN", "NAN")]
        elif fn == "tj_random_normal_scaled" and pname == "mean":
            out += [("mean inf", "INFINITY")]
        elif fn == "tj_random_binomial" and pname == "p":
            out += [("p 2", "2.0"), ("p NaN", "NAN")]
    elif t in ("bool", "uint64_t", "tj_log_fn"):
        pass
    elif t == "const char *":
        null()
        if pname == "name" and fn == "tj_fn_rewrite_count":
            pass
    elif t in ("void *", "const void *"):
        null()
    elif t == "void (*release)(void *)":
        null()
    elif t == "FILE *":
        null()
    elif t == "const bool *":
        null()
    elif t == "tj_stats *":
        null()
    elif t == "const tj_allocator *":
        null()
        out += [("an allocator without its functions", "&f->alloc_partial")]
    elif t == "const tj_grad_opts *":
        null()
        out += [("opts with disconnected_inputs 99", "&f->gopts_enum"),
                ("opts with nconsider_constant -1", "&f->gopts_count"),
                ("opts with a NULL consider_constant entry", "&f->gopts_null")]
    elif t == "const tj_function_opts *":
        null()
        out += [("opts with mode 99", "&f->fopts_mode"),
                ("opts with on_unused_input 99", "&f->fopts_unused"),
                ("opts with nupdates -1", "&f->fopts_nupd"),
                ("opts with NULL updates and nupdates 1", "&f->fopts_updnull"),
                ("opts with an update of a non-shared variable", "&f->fopts_updvar"),
                ("opts with allow_input_downcast 7", "&f->fopts_downcast"),
                ("opts with an unknown optimizer name", "&f->fopts_optname"),
                ("opts with NULL optimizer_excluding and a count", "&f->fopts_optnull")]
    else:
        raise SystemExit("gen-badargs: %s: unknown parameter type '%s' (%s)" % (fn, t, pname))
    return out


def valid_value(fn, ptype, pname):
    """The fixture's valid value for a parameter (C expression)."""
    t = " ".join(ptype.replace("*", " * ").split()) if "(" not in ptype else "void (*release)(void *)"
    if "tj_ctx" in t:
        return "f->ctx"
    if t in ("tj_var *", "const tj_var *"):
        by_name = {"shared": "f->shared", "state": "f->state", "shape": "f->rshape",
                   "sub": "f->sub", "cond": "f->cond", "indices": "f->idx", "start": "f->i",
                   "stop": "f->i", "step": "f->i", "i": "f->i", "cost": "f->cost",
                   "expr": "f->x", "update": "f->x", "lo": "f->x", "hi": "f->x",
                   "value": "f->x", "y": "f->x"}
        return by_name.get(pname, "f->x")
    if t == "tj_var * const *":
        return {"shape": "f->ints", "outputs": "f->outs"}.get(pname, "f->vars")
    if t == "tj_var * *":
        return "f->outv"
    if t in ("tj_array *", "const tj_array *"):
        return "f->arr"
    if t == "tj_array * const *":
        return "f->arrs"
    if t == "tj_array * *":
        return "f->outa"
    if t in ("tj_fn *", "const tj_fn *"):
        return "f->fn"
    if t == "tj_dtype":
        return "TJ_FLOAT64"
    if t == "tj_status":
        return "TJ_ERR_SHAPE"
    if t == "int":
        return {"axis": "0", "ndim": "1", "n": "1", "naxes": "0", "nin": "1", "nout": "1",
                "nwrt": "1", "ddof": "0", "optimized": "0"}[pname]
    if t == "int64_t":
        return {"n": "1", "step": "1", "value": "1", "start": "0", "stop": "1", "i": "0"}[pname]
    if t == "const int64_t *":
        return {"shape": "f->shape", "sizes": "f->sizes", "strides_bytes": "NULL",
                "index": "f->index"}[pname]
    if t == "const int *":
        return "f->axes"
    if t == "double":
        return {"low": "0.0", "high": "1.0", "std": "1.0", "p": "0.5"}.get(pname, "1.0")
    if t == "bool":
        return "false"
    if t == "uint64_t":
        return "42"
    if t == "const char *":
        return '"name"'
    if t == "void *":
        return "f->data" if pname == "data" else "NULL"
    if t == "const void *":
        return "f->data"
    if t == "void (*release)(void *)":
        return "NULL"
    if t == "FILE *":
        return "f->devnull"
    if t == "const bool *":
        return "NULL"
    if t == "tj_stats *":
        return "&f->stats"
    if t == "tj_log_fn":
        return "NULL"
    if "opts" in t:
        return "NULL"
    raise SystemExit("gen-badargs: %s: no valid value for '%s' (%s)" % (fn, t, pname))


# How a row checks the result: the return type's error value (tests/test_badargs.c macros).
RESULT = {
    "tj_var *": "EXPECT_NULL", "tj_array *": "EXPECT_NULL", "tj_fn *": "EXPECT_NULL",
    "tj_ctx *": "EXPECT_NULL", "char *": "EXPECT_NULL_FREE", "void *": "EXPECT_NULL",
    "const int64_t *": "EXPECT_NULL", "tj_status": "EXPECT_STATUS", "int": "EXPECT_MINUS1",
    "int64_t": "EXPECT_MINUS1", "double": "EXPECT_NAN", "bool": "EXPECT_FALSE",
    "tj_dtype": "EXPECT_NODTYPE", "size_t": "EXPECT_ZERO", "void": "EXPECT_VOID",
    "const char *": "EXPECT_STRING",
}


def prototypes(src):
    src = re.sub(r"/\*.*?\*/", "", src, flags=re.S)
    src = re.sub(r"^\s*#.*(\\\n.*)*", "", src, flags=re.M)
    src = re.sub(r"typedef[^;]*\{[^}]*\}[^;]*;", "", src, flags=re.S)
    for m in re.finditer(r"([A-Za-z_][\w\s\*]*?)\b(tj_\w+)\s*\(((?:[^()]|\([^()]*\))*)\)\s*;", src):
        ret, name, params = " ".join(m.group(1).replace("*", " * ").split()), m.group(2), m.group(3)
        if ret.startswith("typedef"):
            continue
        ps = []
        if params.strip() not in ("", "void"):
            for p in re.split(r",(?![^()]*\))", params):
                p = " ".join(p.split())
                if "(" in p:
                    pm = re.search(r"\(\s*\*\s*(\w+)\s*\)", p)
                    ps.append((p, pm.group(1)))
                    continue
                pm = re.match(r"(.*?)(\w+)$", p)
                if pm and pm.group(1).strip():
                    ps.append((pm.group(1).strip(), pm.group(2)))
                else:  # unnamed parameter: name it by its type
                    ps.append((p, "arg"))
        yield ret.replace(" *", " *").strip(), name, ps


def generate():
    with open(HEADER) as f:
        src = f.read()
    lines = ["/* Generated by tools/gen-badargs.py from include/tensorjit.h; do not edit. */", ""]
    tests, names, untested = [], [], []
    for ret, name, params in prototypes(src):
        check = RESULT.get(ret.replace(" * ", " *").replace("  ", " "))
        if check is None:
            check = RESULT.get(re.sub(r"\s*\*\s*", " *", ret).strip())
        if check is None:
            raise SystemExit("gen-badargs: %s: unknown return type '%s'" % (name, ret))
        if name in ("tj_var_name", "tj_fn_jit_reason"):  # NULL: unnamed / not a function
            check = "EXPECT_NULL"
        if ret == "tj_array *":
            check = "EXPECT_NULL_ARRAY"
        if ret == "tj_fn *":
            check = "EXPECT_NULL_FN"
        rows = []
        for k, (pt, pn) in enumerate(params):
            for bad in bad_values(name, pt, pn):
                label, expr, over = bad if len(bad) == 3 else bad + ({},)
                args = [expr if j == k else over.get(n2) or valid_value(name, t2, n2)
                        for j, (t2, n2) in enumerate(params)]
                silent = ((name in NULL_SAFE and expr == "NULL") or name in SENTINEL_ONLY or
                          name == "tj_errmsg")  # its answer is the message
                rows.append((pn, label, "%s(%s)" % (name, ", ".join(args)), silent))
        if not rows:
            if name not in NO_BAD_ARGUMENT:
                untested.append(name)
            continue
        body = []
        for pn, label, call, silent in rows:
            body.append("    ROW(%s, %s, \"%s\", \"%s\", \"%s\", %s);" %
                        (check, "SILENT" if silent else "MESSAGE", name, pn, label, call))
        tests.append("static void rows_%s(void)\n{\n    FIXTURE(\"%s\");\n%s\n    END_FIXTURE();\n}\n"
                     % (name, name, "\n".join(body)))
        names.append(name)
    if untested:
        raise SystemExit("gen-badargs: no bad-argument row for %s: teach bad_values() its "
                         "parameters or list it in NO_BAD_ARGUMENT" % ", ".join(untested))
    # GROUP functions a test: each test is a fork, and a fixture per function costs far less
    for g in range(0, len(names), GROUP):
        part = names[g:g + GROUP]
        tests.append("/* %s .. %s */\nTest(badargs, group%02d)\n{\n%s\n}\n" % (
            part[0], part[-1], g // GROUP, "\n".join("    rows_%s();" % n for n in part)))
    return "\n".join(lines + tests)


def main():
    text = generate()
    return write_or_check(OUT, text, "python3 tools/gen-badargs.py",
                          "%d functions" % text.count("static void rows_"))


if __name__ == "__main__":
    sys.exit(main())
