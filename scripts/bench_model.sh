#!/usr/bin/env bash
# Benchmarks the Swift ColModernVBert forward pass against the Python reference (transformers'
# ColModernVBertForRetrieval) on the same checkpoint and inputs, on the CPU in float32.
#
#   scripts/bench_model.sh [--quick] [--dir DIR] [--threads N] [--warmup N] [--query-runs N]
#                          [--image-runs N] [--rounds N] [--tile-batch N] [--kernel panels|libtorch|oneDNN]
#
# DIR (default .build-bench/full-model, env BENCH_DIR) receives, when missing: the checkpoint
# (published ModernVBERT/colmodernvbert-merged architecture and weight layout, random weights, ~1 GB,
# scripts/fixtures/make_tiny_model.py --full) and the inputs (one short query; one A4 page cut into
# 3x4 tiles + global tile, scripts/bench/make_inputs.py). --quick instead runs the tiny test
# checkpoint (Tests/Fixtures/tiny-model) with few runs: a smoke run in seconds, not a measurement.
# The Swift side is the ModelBenchmark target (Benchmarks/ModelBenchmark), which the manifest
# declares only with ENABLE_BENCHMARKS=1; it is built in release mode here. Each side runs in its
# own process; with --rounds N they alternate N times and the best round of each is reported.
# Prints median forward times, the Swift/Python ratio and each process's peak resident memory.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="$ROOT/.deps/venv/bin/python"
export PATH="/opt/swift/usr/bin:$PATH"

DIR="${BENCH_DIR:-$ROOT/.build-bench/full-model}"
INPUTS=""
THREADS=1
WARMUP=2
QUERY_RUNS=10
IMAGE_RUNS=3
ROUNDS=1
TILE_BATCH=2
KERNEL=panels
while [ $# -gt 0 ]; do
    case "$1" in
        --quick)
            DIR="$ROOT/Tests/Fixtures/tiny-model"
            INPUTS="$ROOT/.build-bench/quick/bench_inputs.safetensors"
            WARMUP=1; QUERY_RUNS=3; IMAGE_RUNS=2; shift ;;
        --dir) DIR="$2"; shift 2 ;;
        --threads) THREADS="$2"; shift 2 ;;
        --warmup) WARMUP="$2"; shift 2 ;;
        --query-runs) QUERY_RUNS="$2"; shift 2 ;;
        --image-runs) IMAGE_RUNS="$2"; shift 2 ;;
        --rounds) ROUNDS="$2"; shift 2 ;;
        --tile-batch) TILE_BATCH="$2"; shift 2 ;;
        --kernel) KERNEL="$2"; shift 2 ;;
        -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done

INPUTS="${INPUTS:-$DIR/bench_inputs.safetensors}"
. "$ROOT/scripts/bench/checkpoint.sh"
bench_checkpoint "$PY" "$ROOT" "$DIR" "$INPUTS"

echo "== building the Swift benchmark (release)"
SCRATCH="$ROOT/.build-bench/swift"
if ! (cd "$ROOT" && ENABLE_BENCHMARKS=1 swift build -c release --product ModelBenchmark --scratch-path "$SCRATCH" \
    > "$ROOT/.build-bench/build.log" 2>&1); then
    grep -E "error" "$ROOT/.build-bench/build.log" >&2 || tail -20 "$ROOT/.build-bench/build.log" >&2
    echo "release build failed (a stale module cache after header changes: rm -rf $SCRATCH/*/release/ModuleCache)" >&2
    exit 1
fi
DRIVER="$SCRATCH/release/ModelBenchmark"

RESULTS="$(dirname "$INPUTS")/results"
mkdir -p "$RESULTS"
rm -f "$RESULTS"/*.json
for round in $(seq 1 "$ROUNDS"); do
    echo "== round $round/$ROUNDS: Python reference"
    "$PY" "$ROOT/scripts/bench/reference_forward.py" "$DIR" "$INPUTS" "$THREADS" "$WARMUP" "$QUERY_RUNS" "$IMAGE_RUNS" \
        > "$RESULTS/python-$round.json"
    echo "== round $round/$ROUNDS: Swift"
    "$DRIVER" "$DIR" "$INPUTS" --threads "$THREADS" --warmup "$WARMUP" --query-runs "$QUERY_RUNS" \
        --image-runs "$IMAGE_RUNS" --tile-batch "$TILE_BATCH" --kernel "$KERNEL" > "$RESULTS/swift-$round.json"
done

"$PY" "$ROOT/scripts/bench/summarize.py" "$RESULTS"
