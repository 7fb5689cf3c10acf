"""What every Python peer shares: the runner protocol, the data and the result fingerprints.

The protocol is tjrun's (benchmarks/runner/tjrun.c): one command per line on stdin, one JSON line
per reply on stdout. On start a peer prints {"ok": true, "runner": NAME, "version": V} or, when its
library does not import, {"ok": false, "skip": REASON} and exits: a missing peer is a note.
    case ID WORKLOAD SIZE VARIANT -> {"ok": true, "check": [...], "note": ...} | {"ok": false, "skip": ...}
    warmup ID MIN_SECONDS [MAX_OP] -> {"ok": true, "reps": N, "seconds": per_op}
    sample ID                     -> {"ok": true, "reps": N, "seconds": per_op}
    rewarm ID SECONDS             -> {"ok": true}  (untimed operations, at least one)
    end ID                        -> {"ok": true, "note": ...}
    quit
The data and fingerprint formulas are those of benchmarks/harness/bench_data.h and the constants
those of benchmarks/runner/workload_data.h: keep the three in step.
"""
import json
import math
import os
import sys
import time
import traceback

# The protocol gets the real stdout; anything a library prints goes to stderr (the peer's log).
_PROTO = os.fdopen(os.dup(1), "w")
os.dup2(2, 1)
sys.stdout = sys.stderr

# ---- workload constants (runner/workload_data.h) ----
W1_X, W1_A, W1_B = 11, 1.5, -0.25
W2_X, W2_Y, W2_W, W2_LR, W2_L2 = 21, 22, 23, 0.1, 0.01
W3_X, W3_M = 31, 32
W4_A, W4_B = 41, 42
W5_X, W5_Y = 2.0, 3.0
W6_X, W6_Y, W6_W1, W6_W2 = 61, 62, 63, 64
W6_IN, W6_HIDDEN, W6_CLASSES, W6_LR = 784, 512, 10, 0.1


class Skip(Exception):
    """This peer does not implement the workload (a note, not an error)."""


class Case:
    """One prepared workload: op() runs one operation; or timed_op() runs one and returns the
    seconds of its timed part. check: the fingerprints of the first operation's results."""

    def __init__(self, op=None, check=(), timed_op=None, note="", describe=None):
        self.op, self.timed_op, self.check, self.note = op, timed_op, list(check), note
        self.describe = describe
        self.reps, self.min_s = 1, 0.02


def emit(obj):
    _PROTO.write(json.dumps(obj) + "\n")
    _PROTO.flush()


# ---- data (harness/bench_data.h) ----
_CHUNK = 1 << 22


def _uniform(np, seed, first, count):
    idx = np.arange(first, first + count, dtype=np.uint64)
    base = np.uint64((seed * 0xD1B54A32D192ED03) & 0xFFFFFFFFFFFFFFFF)
    z = base + (idx + np.uint64(1)) * np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    return ((z >> np.uint64(11)).astype(np.float64) + 0.5) / 9007199254740992.0


def normal(np, seed, shape, scale=1.0):
    n = int(np.prod(shape)) if shape else 1
    out = np.empty(n, dtype=np.float32)
    for start in range(0, n, _CHUNK):
        m = min(_CHUNK, n - start)
        u = _uniform(np, seed, 2 * start, 2 * m)
        u1, u2 = u[0::2], u[1::2]
        out[start:start + m] = (np.sqrt(-2.0 * np.log(u1)) * np.cos(6.283185307179586 * u2)
                                * scale).astype(np.float32)
    return out.reshape(shape)


def uniform(np, seed, shape):
    n = int(np.prod(shape)) if shape else 1
    out = np.empty(n, dtype=np.float32)
    for start in range(0, n, _CHUNK):
        m = min(_CHUNK, n - start)
        out[start:start + m] = _uniform(np, seed, start, m).astype(np.float32)
    return out.reshape(shape)


def bernoulli(np, seed, n):
    return np.where(_uniform(np, seed, 0, n) < 0.5, 0.0, 1.0).astype(np.float32)


def onehot(np, seed, rows, classes):
    k = (_uniform(np, seed, 0, rows) * classes).astype(np.int64)
    out = np.zeros((rows, classes), dtype=np.float32)
    out[np.arange(rows), k] = 1.0
    return out


def fingerprint(np, value):
    v = np.asarray(value).astype(np.float64).ravel()
    i = np.arange(v.size, dtype=np.uint64)
    w = ((i * np.uint64(2654435761)) & np.uint64(0xFFFFFFFF)).astype(np.float64) / 4294967296.0
    return [float(np.abs(v).sum()), float(v.sum()), float(np.dot(w, v)), float(np.dot(v, v))]


def fingerprints(np, values):
    out = []
    for v in values:
        out += fingerprint(np, v)
    return out


# ---- the W2 and W6 data every peer uses ----
def w2_data(np, n, f):
    return (normal(np, W2_X, (n, f)), bernoulli(np, W2_Y, n),
            normal(np, W2_W, (f,), 1.0 / math.sqrt(f)), np.zeros((), dtype=np.float32))


def w6_data(np, batch):
    return (normal(np, W6_X, (batch, W6_IN)), onehot(np, W6_Y, batch, W6_CLASSES),
            normal(np, W6_W1, (W6_IN, W6_HIDDEN), 1.0 / math.sqrt(W6_IN)),
            np.zeros(W6_HIDDEN, dtype=np.float32),
            normal(np, W6_W2, (W6_HIDDEN, W6_CLASSES), 1.0 / math.sqrt(W6_HIDDEN)),
            np.zeros(W6_CLASSES, dtype=np.float32))


# ---- timing (runner/sampler.c) ----
def _run(case, reps):
    if case.timed_op is not None:
        return sum(case.timed_op() for _ in range(reps)) / reps
    op = case.op
    t0 = time.perf_counter()
    for _ in range(reps):
        op()
    return (time.perf_counter() - t0) / reps


def _sample(case, min_s):
    """One sample lasting at least min_s: a shorter one is discarded and the count raised."""
    n = max(case.reps, 1)
    t = _run(case, n)
    while t * n < min_s and n < 1000000000:
        grow = 1.25 * min_s / (t * n) if t > 0 else 16
        n = int(n * min(max(grow, 2), 1000))
        t = _run(case, n)
    case.reps = n
    return t


def _warmup(case, min_s, max_op=0.0):
    first = _run(case, 1)  # may pay one-time costs: it does not calibrate
    case.reps, case.min_s = 1, min_s
    if max_op > 0 and first > max_op:
        return first  # too slow for the driver's budget: it will skip this participant
    _sample(case, min_s)
    return _sample(case, min_s)


def _parse_size(size):
    if size in ("-", "0d"):
        return ()
    return tuple(int(d) for d in size.split("x"))


def serve(name, load, setup):
    """load() imports the library and returns (version, info) or raises ImportError;
    setup(workload, dims, variant) returns a Case or raises Skip."""
    try:
        version, info = load()
    except Exception as e:  # ImportError and whatever a broken install raises
        emit({"ok": False, "skip": f"{type(e).__name__}: {e}".splitlines()[0][:300]})
        return
    emit({"ok": True, "runner": name, "version": version, "info": info})
    cases = {}
    for line in sys.stdin:
        parts = line.split()
        if not parts or parts[0] == "quit":
            break
        cmd = parts[0]
        try:
            cid = int(parts[1]) if len(parts) > 1 else -1
            if cmd == "case" and len(parts) == 5:
                try:
                    case = setup(parts[2], _parse_size(parts[3]), parts[4])
                except Skip as s:
                    emit({"ok": False, "skip": str(s)})
                    continue
                cases[cid] = case
                emit({"ok": True, "threads": 0, "note": case.note, "check": case.check})
            elif cid not in cases:
                emit({"ok": False, "error": "unknown command or case id"})
            elif cmd == "warmup":
                t = _warmup(cases[cid], float(parts[2]) if len(parts) > 2 else 0.02,
                            float(parts[3]) if len(parts) > 3 else 0.0)
                emit({"ok": True, "reps": cases[cid].reps, "seconds": t})
            elif cmd == "rewarm":
                end = time.perf_counter() + (float(parts[2]) if len(parts) > 2 else 0.0)
                _run(cases[cid], 1)
                while time.perf_counter() < end:
                    _run(cases[cid], 1)
                emit({"ok": True})
            elif cmd == "sample":
                t = _sample(cases[cid], cases[cid].min_s)
                emit({"ok": True, "reps": cases[cid].reps, "seconds": t})
            elif cmd == "end":
                case = cases.pop(cid)
                note = case.describe() if case.describe else ""
                del case
                emit({"ok": True, "note": note})
            else:
                emit({"ok": False, "error": "unknown command"})
        except Exception as e:
            traceback.print_exc()
            emit({"ok": False, "error": f"{type(e).__name__}: {e}".splitlines()[0][:300]})
