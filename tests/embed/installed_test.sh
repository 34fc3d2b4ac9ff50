#!/usr/bin/env bash
# The installed package is what is tested: `cmake --install` of this build into a fresh prefix,
# then examples/embed built from that prefix alone -- with CMake's find_package(ferry) (MODE
# cmake), with pkg-config (MODE pkg-config), or statically with both (MODE static) -- and run on
# examples/models; or (MODE python) the installed Python module imported and run.
#   installed_test.sh MODE BUILD_DIR SOURCE_DIR
set -euo pipefail
mode=$1 build=$2 source=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cmake --install "$build" --prefix "$work/prefix" > "$work/install.log"
test -f "$work/prefix/include/ferry/ferry.h"
# Only the public headers are installed, and they reach no other header of ferry's.
if grep -rhoE '#include "[^"]+"' "$work/prefix/include" | grep -v '"ferry/'; then
  echo "an installed header includes a header that is not installed" >&2
  exit 1
fi
case "$mode" in
  cmake)
    cmake -S "$source/examples/embed" -B "$work/example" -G Ninja -DCMAKE_PREFIX_PATH="$work/prefix" \
      -DCMAKE_BUILD_TYPE=Release > "$work/configure.log"
    cmake --build "$work/example" > "$work/build.log"
    program="$work/example/score"
    ;;
  pkg-config)
    flags=$(PKG_CONFIG_PATH="$work/prefix/lib/pkgconfig" pkg-config --cflags --libs ferry)
    # shellcheck disable=SC2086
    g++ -std=c++20 -O1 "$source/examples/embed/score.cc" $flags -o "$work/score"
    program="$work/score"
    ;;
  static)
    cmake -S "$source/examples/embed" -B "$work/example" -G Ninja -DCMAKE_PREFIX_PATH="$work/prefix" \
      -DCMAKE_BUILD_TYPE=Release -DFERRY_STATIC=ON > "$work/configure.log"
    cmake --build "$work/example" > "$work/build.log"
    flags=$(PKG_CONFIG_PATH="$work/prefix/lib/pkgconfig" pkg-config --cflags --libs ferry-static)
    # shellcheck disable=SC2086
    g++ -std=c++20 -O1 "$source/examples/embed/score.cc" $flags -o "$work/score"
    for program in "$work/example/score" "$work/score"; do
      if ldd "$program" | grep -q libferry; then echo "$program links libferry.so" >&2; exit 1; fi
    done
    # A static program has no libferry.so to find the plugins beside: it is told where they are.
    export FERRY_BACKEND_DIRECTORY="$work/prefix/lib/ferry/backends"
    "$work/example/score" "$source/examples/models" | grep -qE '^pima version 1: probability 0\.72'
    program="$work/score"
    ;;
  python)
    # The module from the prefix finds the prefix's libferry.so (its RPATH) and the plugins beside it.
    unset FERRY_BACKEND_DIRECTORY
    PYTHONPATH="$work/prefix/lib/python3/dist-packages" /usr/bin/python3 - "$work/prefix" "$source/examples/models" <<'EOF'
import sys
import numpy as np
import ferry
prefix, models = sys.argv[1], sys.argv[2]
assert ferry.__file__.startswith(prefix), ferry.__file__
with ferry.Server(models) as s:
    out = s.infer("pima", {"features": np.array([[6, 148, 72, 35, 0, 33.6, 0.627, 50]], dtype=np.float32)})
    assert abs(float(out["probability"][0, 0]) - 0.7217) < 1e-3, out
    with open("/proc/self/maps") as f:
        mapped = {line.split()[-1] for line in f if "libferry" in line}
    assert mapped and all(m.startswith(prefix) for m in mapped), mapped
print("python module from", ferry.__file__, "OK")
EOF
    exit 0
    ;;
  *) echo "mode: cmake, pkg-config, static or python" >&2; exit 2 ;;
esac
# The program finds libferry.so and the plugins through the prefix alone.
[ "$mode" = static ] || unset FERRY_BACKEND_DIRECTORY
out=$("$program" "$source/examples/models")
echo "$out"
grep -q '"probability":0.72' <<< "$out"
grep -q "field 'age' is missing" <<< "$out"
grep -qE '^pima version 1: probability 0\.72' <<< "$out"
