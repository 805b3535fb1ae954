#!/usr/bin/env bash
# Fidelity and speed of each COLPALI_DTYPE mode on the full-size random checkpoint (issue 14): the
# Swift model in float32, mixed (vision tower and connector in bfloat16) and bfloat16, against the
# Python reference in float32, with the vision tower's share of a GEMM roofline measured in the
# same process.
#
#   scripts/bench_precision.sh [--dir DIR] [--threads N] [--image-runs N] [--modes "float32 mixed bfloat16"]
#   (--image-runs N > 0 also times the vision tower N times per mode against the GEMM roofline)
#
# DIR (default .build-bench/full-model, env BENCH_DIR) holds or receives the checkpoint and inputs as
# for scripts/bench_model.sh. Not part of the test suite: ~1 GB of weights and minutes per mode (on a
# CPU without native bfloat16 the bfloat16 modes are emulated and slow; their fidelity still holds).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="$ROOT/.deps/venv/bin/python"
export PATH="/opt/swift/usr/bin:$PATH"

DIR="${BENCH_DIR:-$ROOT/.build-bench/full-model}"
THREADS=2
IMAGE_RUNS=0
MODES="float32 mixed bfloat16"
while [ $# -gt 0 ]; do
    case "$1" in
        --dir) DIR="$2"; shift 2 ;;
        --threads) THREADS="$2"; shift 2 ;;
        --image-runs) IMAGE_RUNS="$2"; shift 2 ;;
        --modes) MODES="$2"; shift 2 ;;
        -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done

INPUTS="$DIR/bench_inputs.safetensors"
. "$ROOT/scripts/bench/checkpoint.sh"
bench_checkpoint "$PY" "$ROOT" "$DIR" "$INPUTS"

echo "== building the Swift precision benchmark (release)"
(cd "$ROOT" && ENABLE_BENCHMARKS=1 swift build -c release --product PrecisionBenchmark \
    --scratch-path "$ROOT/.build-bench/swift" 2>&1 | tail -3)
DRIVER="$ROOT/.build-bench/swift/release/PrecisionBenchmark"

OUT="$DIR/precision"
rm -rf "$OUT"
echo "== Swift: $MODES"
# shellcheck disable=SC2086
"$DRIVER" "$DIR" "$INPUTS" "$OUT" --threads "$THREADS" --image-runs "$IMAGE_RUNS" $MODES > /dev/null
echo "== Python reference (float32) and comparison"
"$PY" "$ROOT/scripts/bench/precision_fidelity.py" "$DIR" "$INPUTS" "$OUT" "$THREADS"
