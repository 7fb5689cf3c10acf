#!/usr/bin/env bash
# Installs the Debian packages tensorjit needs, if any are missing.
# As root it runs apt-get itself (update once, then install); otherwise it prints the command.
set -euo pipefail

packages=(build-essential cmake pkg-config llvm-19-dev libopenblas-dev libcriterion-dev libedit-dev)
if [ "${1:-}" = "--dev" ]; then
    packages+=(clang valgrind)
fi

missing=()
for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
    echo "tensorjit needs these Debian packages: ${missing[*]}" >&2
    echo "Run as root: apt-get update && apt-get install -y ${missing[*]}" >&2
    exit 1
fi
echo "Installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends "${missing[@]}"
