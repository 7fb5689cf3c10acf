"""The write-or-check step shared by the table generators (tools/gen-badargs.py,
tools/gen-edge-table.py): rewrite a generated file, or with --check fail while it is stale."""
import os
import sys


def write_or_check(path, text, how_to_regenerate, what):
    """Writes text to path (returns 0), or with --check in argv returns 1 if path differs."""
    rel = os.path.relpath(path, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    if "--check" in sys.argv[1:]:
        try:
            with open(path) as f:
                old = f.read()
        except OSError:
            old = None
        if old != text:
            print("%s is stale: run %s" % (rel, how_to_regenerate), file=sys.stderr)
            return 1
        return 0
    with open(path, "w") as f:
        f.write(text)
    print("wrote %s: %s" % (rel, what))
    return 0
