#!/usr/bin/env bash
# Installs the built tensorjit into a temporary prefix, then builds and runs examples/logreg.c
# against the installed copy twice: through find_package(tensorjit) and through pkg-config.
set -euo pipefail
build_dir=$1 source_dir=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cmake --install "$build_dir" --prefix "$work/prefix" >/dev/null
# the compile server and the plugin are installed beside the library, where it looks first
lib=$(find "$work/prefix" -name 'libtensorjit.so' | head -1)
[ -x "$(dirname "$lib")/tensorjit-llvm-server" ] || { echo "no tensorjit-llvm-server beside $lib"; exit 1; }
[ -f "$(dirname "$lib")/libtensorjit-llvm.so" ] || { echo "no libtensorjit-llvm.so beside $lib"; exit 1; }

cmake -S "$source_dir/tests/install" -B "$work/consumer" -DCMAKE_PREFIX_PATH="$work/prefix" \
      -DLOGREG_SOURCE="$source_dir/examples/logreg.c" >/dev/null
cmake --build "$work/consumer" >/dev/null
out1=$(LD_LIBRARY_PATH="$work/prefix/lib:$work/prefix/lib/x86_64-linux-gnu" "$work/consumer/logreg_installed" 10 3 50)

pcdir=$(dirname "$(find "$work/prefix" -name tensorjit.pc)")
flags=$(PKG_CONFIG_PATH="$pcdir" pkg-config --cflags --libs tensorjit)
# shellcheck disable=SC2086
cc -std=c11 "$source_dir/examples/logreg.c" -o "$work/logreg_pc" $flags -lm
out2=$(LD_LIBRARY_PATH="$work/prefix/lib:$work/prefix/lib/x86_64-linux-gnu" "$work/logreg_pc" 10 3 50)

# both must train and agree with each other
grep -q "final accuracy" <<<"$out1"
[ "$(grep -v "compile time" <<<"$out1")" = "$(grep -v "compile time" <<<"$out2")" ] || { echo "find_package and pkg-config builds differ"; exit 1; }
echo "installed tensorjit: find_package and pkg-config builds both ran logreg"
