#!/usr/bin/env bash
# Installs the peers the benchmarks compare tensorjit with (`make bench-peers`).
#  - Debian:  python3-venv, python3-numpy, python3-numexpr, python3-torch (CPU build), as root.
#  - PyPI:    a virtual environment benchmarks/.venv (Debian's /usr/bin/python3) with numpy,
#             numexpr, jax (CPU), pytensor and numba.
# Every step may fail on its own: a peer that does not install is skipped by the benchmark with a
# note, never an error. The script exits 0 unless it cannot even create the environment.
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$(dirname "$here")/.venv"
py=/usr/bin/python3

note() { echo "bench-peers: $*" >&2; }

debs=(python3-venv python3-numpy python3-numexpr python3-torch)
missing=()
for p in "${debs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" -eq 0 ]; then
        note "apt-get install ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq || note "apt-get update failed"
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
            note "apt-get install failed: ${missing[*]} (those peers will be skipped)"
    else
        note "not root: run 'apt-get install -y ${missing[*]}' for the Debian peers"
    fi
fi

if [ ! -x "$py" ]; then
    note "no $py: the Python peers are skipped"
    exit 0
fi
if [ ! -x "$venv/bin/python" ]; then
    note "creating $venv"
    "$py" -m venv "$venv" || { note "python3 -m venv failed (python3-venv missing?)"; exit 1; }
    "$venv/bin/python" -m pip install -q --upgrade pip || note "pip upgrade failed"
fi
# One package set at a time, so one failure (numba has no wheel for a new Python, say) leaves the
# others installed.
for spec in "numpy numexpr threadpoolctl" "jax" "pytensor" "numba"; do
    note "pip install $spec"
    # shellcheck disable=SC2086
    "$venv/bin/python" -m pip install -q $spec || note "pip install $spec failed (skipped in the benchmark)"
done
"$venv/bin/python" - <<'PY' || true
import importlib
for m in ("numpy", "numexpr", "jax", "pytensor", "numba"):
    try:
        mod = importlib.import_module(m)
        print(f"bench-peers: venv {m} {getattr(mod, '__version__', '?')}")
    except Exception as e:  # a missing peer is a note
        print(f"bench-peers: venv {m} missing ({type(e).__name__}: {e})")
PY
"$py" -c "import torch; print('bench-peers: system torch', torch.__version__)" 2>/dev/null ||
    note "system torch missing"
exit 0
