#!/usr/bin/env python3
"""Generates docs/API-INDEX.md from include/tensorjit.h.

The header's comments are the API reference (LLVM-C style: each declaration carries its
contract). This script lists every public declaration -- functions, types and TJ_ macros -- with
the first sentence of its comment, section by section, so the index can be skimmed and searched.

A declaration's comment is the one on its own line after it (a trailing comment), else the comment
block directly above the run of declarations it belongs to (declarations on consecutive lines
share the comment above the first one). A declaration without either is an error: every public
name must say what it does.

    python3 tools/gen-api-index.py            rewrites docs/API-INDEX.md
    python3 tools/gen-api-index.py --check    exits 1 (and says why) if the file is stale or a
                                              declaration has no comment; the api_index test
"""
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HEADER = os.path.join(ROOT, "include", "tensorjit.h")
INDEX = os.path.join(ROOT, "docs", "API-INDEX.md")


class Comment:
    """A comment's text and where it is; trailing: code precedes it on its first line."""

    def __init__(self, text, line, end_line, trailing, col):
        self.text, self.line, self.end_line = text, line, end_line
        self.trailing, self.col = trailing, col


class Stmt:
    """A declaration (code up to its ';') or a preprocessor line (kind "define")."""

    def __init__(self, code, line, end_line, end_col, kind):
        self.code, self.line, self.end_line = code, line, end_line
        self.end_col, self.kind = end_col, kind


def lex(src):
    """Splits the header into comments, preprocessor lines and ';'-terminated statements."""
    comments, stmts = [], []
    i, n, line, col = 0, len(src), 1, 0
    code, code_line, depth = [], None, 0
    line_has_code = False

    def advance(k):
        nonlocal i, line, col, line_has_code
        for _ in range(k):
            if src[i] == "\n":
                line += 1
                col = 0
                line_has_code = False
            else:
                col += 1
            i += 1

    while i < n:
        c = src[i]
        if src.startswith("/*", i):
            start_line, start_col, trailing = line, col, line_has_code
            j = src.index("*/", i + 2)
            text = src[i + 2:j]
            advance(j + 2 - i)
            comments.append(Comment(text, start_line, line, trailing, start_col))
            continue
        if src.startswith("//", i):
            j = src.index("\n", i)
            comments.append(Comment(src[i + 2:j], line, line, line_has_code, col))
            advance(j - i)
            continue
        if c == "#" and not line_has_code and not code:
            start = line
            j = i
            while True:  # the directive with its backslash continuations, minus comments
                k = src.index("\n", j)
                if src[k - 1] == "\\":
                    j = k + 1
                    continue
                break
            text = src[i:k]
            text = re.sub(r"/\*.*?\*/", lambda m: (comments.append(
                Comment(m.group(0)[2:-2], start, start, True, 0)) or " "), text, flags=re.S)
            advance(k - i)
            stmts.append(Stmt(text, start, line, col, "define"))
            continue
        if c in " \t\n\r":
            advance(1)
            continue
        line_has_code = True
        if not code:
            code_line = line
        code.append(c)
        if c in "{(":
            depth += 1
            if "".join(code).split() == ["extern", '"C"', "{"]:  # C++ linkage wrapper
                code, depth = [], 0
        elif c in "})":
            depth -= 1
            if depth < 0:  # the wrapper's closing brace
                code, depth = [], 0
        elif c == ";" and depth == 0:
            stmts.append(Stmt("".join(code), code_line, line, col, "code"))
            code = []
        advance(1)
        if code and src[i - 1:i] and src[i:i + 1] in " \t\n":
            code.append(" ")
    return comments, stmts


def summary(text):
    """The first sentence of a comment, on one line."""
    t = re.sub(r"^\s*-{3,}\s*", "", text.strip())
    t = re.sub(r"\s*-{3,}\s*$", "", t)
    t = t.lstrip("* \t")
    t = re.sub(r"\s*\n\s*\*?\s*", " ", t).strip()
    t = re.sub(r"\s*-{4,}\s*", ". ", t)  # a section heading followed by its text
    t = re.sub(r"\s+", " ", t)
    m = re.search(r"(?<=\S)(?<!e\.g)(?<!i\.e)(?<!etc)\.(\s|$)", t)
    if m:
        t = t[:m.start() + 1]
    if len(t) > MAX_SUMMARY:  # cut at the last clause boundary that fits
        cut = max(t.rfind("; ", 0, MAX_SUMMARY), t.rfind(", ", 0, MAX_SUMMARY))
        t = t[:cut if cut > MAX_SUMMARY // 2 else MAX_SUMMARY].rstrip(" ,;") + " ..."
    return t.replace("|", "\\|")


SECTION_RE = re.compile(r"^\s*-{4,}")
MAX_SUMMARY = 180


def section_title(text):
    t = text.strip()
    t = re.sub(r"^-+\s*", "", t)
    t = t.lstrip("*").strip()
    first = re.split(r"\n", t)[0]
    first = re.sub(r"\s*-{3,}.*$", "", first).strip()
    if not first:  # a banner: the title is its next line
        rest = [l.strip(" *") for l in t.split("\n") if l.strip(" *-")]
        first = rest[0] if rest else "(untitled)"
    first = re.split(r"[:.;(]", first)[0].strip()
    return first[:1].upper() + first[1:]


def names_of(stmt):
    """(name, kind) pairs a statement declares publicly."""
    code = stmt.code
    if stmt.kind == "define":
        m = re.match(r"#\s*define\s+(TJ_\w+)", code)
        if m and not m.group(1).startswith("TENSORJIT"):
            return [(m.group(1), "macro")]
        return []
    flat, prev = code, None
    while flat != prev:  # struct and enum bodies out, innermost first
        prev, flat = flat, re.sub(r"\{[^{}]*\}", "", flat)
    if flat.startswith("typedef"):
        m = re.search(r"\(\s*\*\s*(tj_\w+)\s*\)", flat)
        if m:
            return [(m.group(1), "type")]
        m = re.search(r"(tj_\w+)\s*;\s*$", flat)
        if m:
            kind = "enum" if re.match(r"typedef\s+enum", flat) else "type"
            return [(m.group(1), kind)]
        return []
    m = re.search(r"\b(tj_\w+)\s*\(", flat)
    if m:
        return [(m.group(1), "function")]
    return []


def build(src):
    comments, stmts = lex(src)
    blank = {k + 1 for k, l in enumerate(src.split("\n")) if not l.strip()}
    by_end = {}
    for c in comments:
        if not c.trailing:
            by_end[c.end_line] = c
    sections = sorted((c.line, section_title(c.text)) for c in comments
                      if not c.trailing and (SECTION_RE.match(c.text) or
                                              re.match(r"^\s*-{4,}", c.text.split("\n")[0])))
    entries, missing = [], []
    group, prev_end = None, None
    for s in stmts:
        above = by_end.get(s.line - 1)
        if above is not None:
            group = above
        elif prev_end is None or s.line - 1 != prev_end or (s.line - 1) in blank:
            group = None
        own = [c for c in comments if c.trailing and c.line == s.end_line and
               (s.kind == "define" or c.col >= s.end_col)]
        prev_end = max([s.end_line] + [c.end_line for c in own])
        for name, kind in names_of(s):
            doc = own[0] if own else group
            sec = "Preamble"
            for line, title in sections:
                if line <= s.line:
                    sec = title
            if doc is None:
                missing.append((name, s.line))
                continue
            entries.append((sec, name, kind, summary(doc.text)))
    return entries, missing


def render(entries):
    out = ["# tensorjit API index", "",
           "Generated by `tools/gen-api-index.py` from `include/tensorjit.h`; do not edit by hand. "
           "The header's comments are the reference: each declaration states its contract "
           "(arguments, errors, who owns what it returns). This index lists every public "
           "function, type and macro with the first sentence of its comment, in header order. "
           "After changing the header run `python3 tools/gen-api-index.py`; the `api_index` test "
           "fails while this file is stale or a declaration has no comment.", "",
           "For the Theano equivalents see [THEANO.md](THEANO.md).", ""]
    sec = None
    for s, name, kind, text in entries:
        if s != sec:
            out += ["", "## " + s, "", "| name | kind | summary |", "|---|---|---|"]
            sec = s
        out.append("| `%s` | %s | %s |" % (name, kind, text))
    counts = {}
    for _, _, kind, _ in entries:
        counts[kind] = counts.get(kind, 0) + 1
    out += ["", "%d declarations: %s." % (len(entries), ", ".join(
        "%d %s%s" % (v, k, "s" if v != 1 else "") for k, v in sorted(counts.items())))]
    return "\n".join(out) + "\n"


def main():
    check = "--check" in sys.argv[1:]
    with open(HEADER) as f:
        src = f.read()
    entries, missing = build(src)
    text = render(entries)
    ok = True
    for name, line in missing:
        print("include/tensorjit.h:%d: %s has no comment (add one above or after it)"
              % (line, name), file=sys.stderr)
        ok = False
    if check:
        try:
            with open(INDEX) as f:
                old = f.read()
        except OSError:
            old = None
        if old != text:
            print("docs/API-INDEX.md is stale: run python3 tools/gen-api-index.py", file=sys.stderr)
            ok = False
        return 0 if ok else 1
    with open(INDEX, "w") as f:
        f.write(text)
    print("wrote %s: %d declarations" % (os.path.relpath(INDEX, ROOT), len(entries)))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
