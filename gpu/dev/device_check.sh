#!/bin/bash
# device_check.sh BIN OUT: on a machine with an NVIDIA GPU and the CUDA toolkit
# (no Go needed), build libm4cuda.so with CMake, then check and time it:
#   1. gpu/dev/gemm_check.cu: every GEMM tile variant against a float64 reference, and timings;
#   2. the Go cross-check (GPU forward vs the CPU's native kernels) and the CLI's --gpu test;
#   3. compute-sanitizer memcheck on the small Go checks;
#   4. go test -bench: inference per path at batch 1/256/4096 on GPU and CPU, GEMM GFLOP/s;
#   5. m4 run on the CPU and with --gpu.
# BIN holds binaries built elsewhere (gzipped or not) from this checkout:
#   go test -c -ldflags="-s -w" -o BIN/gpu.test ./gpu/
#   go test -c -ldflags="-s -w" -o BIN/cmd.test ./cmd/m4/
#   go build -ldflags="-s -w" -o BIN/m4 ./cmd/m4
# and, for the CLI test, BIN/reference/ns3-paths/shard100_nflows300_nhosts7_lr10Gbps.
# Logs go to OUT; a summary is printed last.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=$(cd "${1:-$ROOT/.devbuild}" && pwd)
OUT=${2:-/tmp/m4-device-check}
mkdir -p "$OUT"
cd "$ROOT"
for f in "$BIN"/*.gz; do [ -e "$f" ] && gunzip -kf "$f"; done
chmod +x "$BIN"/gpu.test "$BIN"/cmd.test "$BIN"/m4 2>/dev/null
export LD_LIBRARY_PATH="$BIN${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" # libgomp, if carried
export M4_CUDA_LIB="$ROOT/build/libm4cuda.so" M4_REFERENCE="$BIN/reference"

{
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm --format=csv
  nvcc --version | tail -2
  cmake --version | head -1
  lscpu | grep -E "^Model name|^CPU\(s\)"
} 2>&1 | tee "$OUT/device.txt"

t0=$(date +%s)
if ! { cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF -DM4_BUILD_EXAMPLES=OFF &&
       cmake --build build -j"$(nproc)" --target m4cuda m4cuda_gemm_check; } >"$OUT/build.log" 2>&1; then
  tail -40 "$OUT/build.log"
  echo "BUILD FAILED"
  exit 1
fi
echo "build: $(( $(date +%s) - t0 )) s; warnings:"; grep -i "warning" "$OUT/build.log" | sort -u | head -10

timeout 120 ./build/m4cuda_gemm_check >"$OUT/gemm_check.log" 2>&1; echo "gemm_check exit $?" >>"$OUT/gemm_check.log"

(cd gpu && timeout 240 "$BIN/gpu.test" -test.v -test.run . >"$OUT/gotest.log" 2>&1; echo "gpu.test exit $?" >>"$OUT/gotest.log")
(cd cmd/m4 && timeout 60 "$BIN/cmd.test" -test.v -test.run 'TestPredictGPU|TestGPUFlag' >>"$OUT/gotest.log" 2>&1; echo "cmd.test exit $?" >>"$OUT/gotest.log")
if command -v compute-sanitizer >/dev/null; then
  (cd gpu && timeout 150 compute-sanitizer --tool memcheck --error-exitcode 9 "$BIN/gpu.test" -test.run 'TestBadInputLikeCPU|TestEstimatorOnGPU' >>"$OUT/gotest.log" 2>&1
   echo "memcheck exit $?" >>"$OUT/gotest.log")
fi

(cd gpu && timeout 200 "$BIN/gpu.test" -test.run '^$' -test.bench . -test.benchtime 2s ${BENCH_ARGS:-} >"$OUT/bench.log" 2>&1; echo "bench exit $?" >>"$OUT/bench.log")

{
  for dev in "" --gpu; do
    echo "== m4 $dev run --paths 500"
    s=$(date +%s%N)
    timeout 120 "$BIN/m4" $dev -v run --paths 500 --out "/tmp/m4run$dev" 2>&1 | grep -v "level=DEBUG"
    echo "exit ${PIPESTATUS[0]} in $(( ($(date +%s%N) - s) / 1000000 )) ms"
  done
} >"$OUT/cli.log" 2>&1

echo "== summary"
grep -E "device:|FAIL|all checks" "$OUT/gemm_check.log" | head -20
grep -E "^timings|GFLOP/s" "$OUT/gemm_check.log" | grep -E "auto" | head -10
grep -E "^(=== RUN|--- |    gpu_test|    device_test|ok|FAIL|PASS)|exit|ERROR SUMMARY" "$OUT/gotest.log" | grep -v "=== RUN" | head -60
grep -E "Benchmark|exit" "$OUT/bench.log"
grep -E "^==|^exit|m4 run:|^\| |--gpu" "$OUT/cli.log"
