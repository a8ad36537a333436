#!/bin/bash
# speed_check.sh BIN OUT: the path pipeline's speed on a many-core machine,
# with and without its NVIDIA GPU (docs/perf.md, "m4 run end to end").
# Under 8 minutes on a 16-core machine with an H100/H200:
#   1. m4 run --paths 0 on the default workload (17,310 paths), whole process,
#      on 2 and on all cores (the issue's target: all 16 >= 6x faster than 2);
#   2. the same with --gpu;
#   3. m4 bench run at 10^4 and 10^5 flows, CPU then --gpu;
#   4. m4 bench run at 10^6 flows (every path), CPU then --gpu, each alone
#      (so that each reports its own peak memory).
# BIN holds an m4 built elsewhere from this checkout (gzipped or not):
#   go build -ldflags="-s -w" -o BIN/m4 ./cmd/m4
# libm4cuda.so comes from build/ (made here with CMake when missing) or
# $M4_CUDA_LIB. Logs go to OUT; a summary is printed last.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=$(cd "${1:-$ROOT/.devbuild}" && pwd)
OUT=${2:-/tmp/m4-speed-check}
mkdir -p "$OUT"
cd "$ROOT"
for f in "$BIN"/*.gz; do [ -e "$f" ] && gunzip -kf "$f"; done
chmod +x "$BIN"/m4
export LD_LIBRARY_PATH="$BIN${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" # libgomp, if carried
export M4_CUDA_LIB="${M4_CUDA_LIB:-$ROOT/build/libm4cuda.so}"
if [ ! -e "$M4_CUDA_LIB" ]; then
  { cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF -DM4_BUILD_EXAMPLES=OFF &&
    cmake --build build -j"$(nproc)" --target m4cuda; } >"$OUT/build.log" 2>&1 || { tail -30 "$OUT/build.log"; echo "BUILD FAILED"; }
fi
N=$(nproc)
{
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>&1
  lscpu | grep -E "^Model name|^CPU\(s\)"
  free -g | head -2
} 2>&1 | tee "$OUT/device.txt"

# timed CMD...: whole-process wall seconds, CPU seconds and peak RSS
timed() {
  local name=$1; shift
  /usr/bin/time -f "$name: %e s wall, %U s user, %S s sys, %M KB peak" -o "$OUT/time.tmp" "$@" >>"$OUT/$name.log" 2>&1
  echo "exit $?" >>"$OUT/$name.log"
  cat "$OUT/time.tmp" | tee -a "$OUT/times.txt"
}

m4="$BIN/m4"
timed run-paths0-2threads timeout 120 "$m4" run --paths 0 --threads 2 --no-progress --out "$OUT/o1"
timed run-paths0-${N}threads timeout 60 "$m4" run --paths 0 --threads "$N" --no-progress --out "$OUT/o2"
timed run-paths0-gpu timeout 60 "$m4" run --gpu --paths 0 --threads "$N" --no-progress --out "$OUT/o3"
timed bench-small-cpu timeout 120 "$m4" bench run --flows 10000,100000 --threads "$N" --json
timed bench-small-gpu timeout 120 "$m4" bench run --gpu --flows 10000,100000 --threads "$N" --json
timed bench-1e6-cpu timeout 200 "$m4" bench run --flows 1000000 --threads "$N" --json
timed bench-1e6-gpu timeout 200 "$m4" bench run --gpu --flows 1000000 --threads "$N" --json

echo "== summary"
cat "$OUT/times.txt"
grep -h -E '"(flows|paths_estimated|device|estimate_sec|flows_per_sec|max_rss_mib)"' "$OUT"/bench-*.log | paste - - - - - - | sed 's/  */ /g'
grep -h -E "paths:|--gpu|exit [^0]" "$OUT"/run-*.log
