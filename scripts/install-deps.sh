#!/usr/bin/env bash
# Installs what ferry needs to build, test and benchmark, and only what is missing:
#   - Debian packages (compiler, CMake/Ninja/ccache, Boost, Eigen, simdjson, yaml-cpp, CLI11, spdlog/fmt,
#     gRPC and protobuf, librdkafka and kcat, libarchive, libxgboost, pugixml, libtorch, python3-dev and
#     pybind11 (the embedded interpreter) with scikit-learn, joblib, dill and cloudpickle for the
#     models it serves, zlib (HTTP compression), GoogleTest, Python test fixtures and clients, wrk, promtool);
#   - ONNX Runtime, an official release build, from the npm registry package
#     com.github.asus4.onnxruntime@0.4.9 (ONNX Runtime 1.29.0), checked against a pinned SHA-256
#     and unpacked to $FERRY_DEPS_DIR/onnxruntime-1.29.0/{include,lib} (outside git);
#   - the npm packages of tests/deploy/package-lock.json (kubernetes-models, which checks the
#     Kubernetes manifests offline), into $FERRY_DEPS_DIR/kubernetes-validate;
#   - Debian's Chromium and the npm package of tests/ui/package-lock.json (playwright-core, which
#     drives it headless in the dashboard's browser test), into $FERRY_DEPS_DIR/dashboard-test.
# With --fuzz it also installs clang 19 and its runtime (libFuzzer, sanitizers) for `make fuzz`.
# With --image it also installs what `make image` builds images with (debootstrap, podman, buildah).
# With --bench it also installs the baseline servers that bench/baselines.sh measures ferry
# against (Flask + gunicorn, FastAPI + uvicorn, scikit-learn, nginx).
# Safe to run again: each step checks first. Prints the ONNX Runtime root on its last line.
set -euo pipefail

bench=0
fuzz=0
image=0
for arg in "$@"; do
  case "$arg" in
    --bench) bench=1 ;;
    --fuzz) fuzz=1 ;;
    --image) image=1 ;;
    *) echo "install-deps: unknown argument $arg" >&2; exit 2 ;;
  esac
done

deps_dir="${FERRY_DEPS_DIR:-$HOME/.cache/ferry}"

debian_packages=(
  g++ cmake ninja-build ccache make pkg-config curl
  libboost-dev libeigen3-dev libsimdjson-dev libyaml-cpp-dev libcli11-dev libspdlog-dev libfmt-dev zlib1g-dev
  libjemalloc-dev libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc librdkafka-dev kcat libarchive-dev libxgboost-dev libpugixml-dev
  libtorch-dev python3-dev pybind11-dev
  libgtest-dev libgmock-dev
  python3-onnx python3-numpy python3-grpcio python3-grpc-tools python3-xgboost python3-torch
  python3-sklearn python3-joblib python3-dill python3-cloudpickle
  prometheus mosquitto mosquitto-clients
  wrk npm chromium
)

if [ "$bench" = 1 ]; then
  debian_packages+=(python3-flask gunicorn python3-fastapi uvicorn python3-uvloop python3-httptools
                    nginx bc python3-confluent-kafka)
fi

if [ "$image" = 1 ]; then
  debian_packages+=(debootstrap podman buildah)
fi

if [ "$fuzz" = 1 ]; then
  debian_packages+=(clang-19 libclang-rt-19-dev)
fi

missing=()
for p in "${debian_packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    # npm may come from outside Debian (node's own installer); a working npm is enough.
    if [ "$p" = npm ] && command -v npm >/dev/null 2>&1; then continue; fi
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing Debian packages: ${missing[*]}" >&2
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -q >&2
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -q "${missing[@]}" >&2
fi

# ONNX Runtime --------------------------------------------------------------------------------
ort_version=1.29.0
npm_package=com.github.asus4.onnxruntime
npm_version=0.4.9
npm_sha256=e59788788818fdde1b2e522e766a21ba0f7d8391de55737abf81e32cc801785d
ort_root="$deps_dir/onnxruntime-$ort_version"

if [ ! -f "$ort_root/lib/libonnxruntime.so" ] || [ ! -f "$ort_root/include/onnxruntime_cxx_api.h" ]; then
  echo "install-deps: fetching ONNX Runtime $ort_version ($npm_package@$npm_version from npm)" >&2
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  (cd "$work" && npm pack --silent "$npm_package@$npm_version" >/dev/null)
  tgz="$work/$npm_package-$npm_version.tgz"
  actual=$(sha256sum "$tgz" | cut -d' ' -f1)
  if [ "$actual" != "$npm_sha256" ]; then
    echo "install-deps: $tgz has SHA-256 $actual, expected $npm_sha256; refusing to use it" >&2
    exit 1
  fi
  headers="package/Plugins/iOS~/onnxruntime.xcframework/ios-arm64/onnxruntime.framework/Headers"
  tar -xzf "$tgz" -C "$work" "package/Plugins/Linux/x64/libonnxruntime.so" "$headers"
  # The library must be the release it claims to be.
  if ! grep -aq "$ort_version" "$work/package/Plugins/Linux/x64/libonnxruntime.so"; then
    echo "install-deps: libonnxruntime.so does not carry version $ort_version" >&2
    exit 1
  fi
  rm -rf "$ort_root.tmp"
  mkdir -p "$ort_root.tmp/lib" "$ort_root.tmp/include"
  cp "$work/package/Plugins/Linux/x64/libonnxruntime.so" "$ort_root.tmp/lib/"
  ln -s libonnxruntime.so "$ort_root.tmp/lib/libonnxruntime.so.1"   # its SONAME
  cp "$work/$headers"/*.h "$ort_root.tmp/include/"
  rm -rf "$ort_root"
  mv "$ort_root.tmp" "$ort_root"
fi
# npm packages of a test folder's package-lock.json, into $deps_dir/TARGET (again when the lock changes).
npm_packages() {  # FOLDER TARGET WHAT
  local lock target="$deps_dir/$2"
  lock="$(dirname "$0")/../$1/package-lock.json"
  if ! cmp -s "$lock" "$target/package-lock.json" || [ ! -d "$target/node_modules" ]; then
    echo "install-deps: npm packages for $3 into $target" >&2
    rm -rf "$target" && mkdir -p "$target"
    cp "$(dirname "$0")/../$1/package.json" "$lock" "$target/"
    (cd "$target" && npm ci --silent --no-audit --no-fund >&2)
  fi
}
npm_packages tests/deploy kubernetes-validate "the manifest checks"   # kubernetes-models (deploy/kubernetes offline)
npm_packages tests/ui dashboard-test "the dashboard's browser test"   # playwright-core, driving Debian's Chromium

echo "$ort_root"
