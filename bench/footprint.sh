#!/usr/bin/env bash
# What a ferry costs before it answers anything: the time `ferry --version` takes (best and median
# of 20 runs), and a server's resident memory (VmRSS) and the shared libraries it maps (distinct
# .so files in /proc/PID/maps) when it serves one small model, idle, 3 s after it is ready:
#   - only the Pima ONNX model (examples/models/pima), over HTTP and gRPC (the default) and over
#     HTTP alone (--grpc-port 0: the gRPC module, and gRPC's libraries, are not opened),
#   - only the Pima PMML model (examples/models/pima-pmml: no plugin needed),
#   - and, when the build has the torch plugin, one TorchScript model as well.
# Appends to docs/benchmarks.md. Nothing is sent over the network but readiness probes on loopback.
#
#   bench/footprint.sh [--no-record]
set -euo pipefail
cd "$(dirname "$0")/.."
record=1
[ "${1:-}" = "--no-record" ] && record=0
build=${BUILD_DIR:-build}
[ -x "$build/ferry" ] || { echo "build first: make build" >&2; exit 1; }
work=$(mktemp -d)
source bench/lib.sh
trap cleanup EXIT

# Bash's own clock ($EPOCHREALTIME, µs): timing with `date` counted the second date's fork and exec
# (7-8 ms here) in every run.
version_times=$(for _ in $(seq 20); do
  s=${EPOCHREALTIME/./}; "$build/ferry" --version > /dev/null; e=${EPOCHREALTIME/./}; echo $(( e - s ))
done | sort -n)
version_best=$(echo "$version_times" | head -1)
version_median=$(echo "$version_times" | sed -n 10p)

# footprint NAME REPOSITORY [ARGS...]: "rss_mb libraries" of a server serving REPOSITORY, idle.
footprint() {
  start_ferry "$2" "${@:3}"
  for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$port/v2/health/ready" > /dev/null && break
    sleep 0.1
  done
  sleep 3
  local rss libs
  rss=$(awk '/^VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$ferry_pid/status")
  libs=$(awk '$6 ~ /\.so/ {print $6}' "/proc/$ferry_pid/maps" | sort -u | wc -l)
  stop_ferry
  echo "$rss $libs"
}
mkdir -p "$work/onnx" "$work/pmml" "$work/torch"
cp -r examples/models/pima "$work/onnx/"
cp -r examples/models/pima-pmml "$work/pmml/"
read -r onnx_rss onnx_libs <<< "$(footprint onnx "$work/onnx")"
read -r http_rss http_libs <<< "$(footprint onnx "$work/onnx" --grpc-port 0)"
read -r pmml_rss pmml_libs <<< "$(footprint pmml "$work/pmml")"
torch_row=""
if /usr/bin/python3 -c 'import torch' 2> /dev/null; then
  cp -r examples/models/pima "$work/torch/"
  mkdir -p "$work/torch/mlp/1"
  /usr/bin/python3 - "$work/torch/mlp" <<'PY'
import sys, torch
net = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 1))
torch.jit.script(net).save(f"{sys.argv[1]}/1/model.pt")
open(f"{sys.argv[1]}/model.yaml", "w").write(
    "backend: torchscript\nmax_batch_size: 8\ninputs: [{name: x, datatype: FP32, shape: [8]}]\n"
    "outputs: [{name: y, datatype: FP32, shape: [1]}]\n")
PY
  read -r torch_rss torch_libs <<< "$(footprint torch "$work/torch")"
  torch_row="| Pima ONNX + a TorchScript MLP | $torch_rss | $torch_libs |"
fi

commit=$(bench_commit)
table=$(cat <<MD
### $(date -u +%Y-%m-%d), commit $commit

\`ferry --version\`: best $(awk "BEGIN {printf \"%.1f\", $version_best / 1000}") ms, median $(awk "BEGIN {printf \"%.1f\", $version_median / 1000}") ms (20 runs).

| serving, idle | RSS MB | shared libraries mapped |
|---|---|---|
| Pima ONNX only | $onnx_rss | $onnx_libs |
| Pima ONNX only, HTTP alone (\`--grpc-port 0\`) | $http_rss | $http_libs |
| Pima PMML only | $pmml_rss | $pmml_libs |
$torch_row
MD
)
echo "$table"
if [ "$record" = 1 ]; then
  echo "$table" | bench/record.py "Footprint (\`bench/footprint.sh\`)"
fi
