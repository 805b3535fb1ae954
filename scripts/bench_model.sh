#!/usr/bin/env bash
# Benchmarks the Swift ColModernVBert forward pass against the Python reference (transformers'
# ColModernVBertForRetrieval) on the same full-size random checkpoint, on the CPU in float32.
#
#   scripts/bench_model.sh [--dir DIR] [--threads N] [--warmup N] [--query-runs N] [--image-runs N]
#                          [--rounds N] [--tile-batch N] [--kernel panels|libtorch|oneDNN]
#
# DIR (default .build-bench/full-model, env BENCH_DIR) receives, when missing: the checkpoint
# (published ModernVBERT/colmodernvbert-merged architecture and weight layout, random weights, ~1 GB,
# scripts/fixtures/make_tiny_model.py --full) and the inputs (one short query; one A4 page cut into
# 3x4 tiles + global tile, scripts/bench/make_inputs.py). The Swift side is a small driver over
# ColModernVBert.ModelBenchmark, built in release mode in a throw-away package next to the repo's
# manifest (.build-bench/driver-package). Each side runs in its own process; with --rounds N they
# alternate N times and the best round of each is reported. Prints median forward times, the
# Swift/Python ratio and each process's peak resident memory.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="$ROOT/.deps/venv/bin/python"
export PATH="/opt/swift/usr/bin:$PATH"

DIR="${BENCH_DIR:-$ROOT/.build-bench/full-model}"
THREADS=1
WARMUP=2
QUERY_RUNS=10
IMAGE_RUNS=3
ROUNDS=1
TILE_BATCH=2
KERNEL=panels
while [ $# -gt 0 ]; do
    case "$1" in
        --dir) DIR="$2"; shift 2 ;;
        --threads) THREADS="$2"; shift 2 ;;
        --warmup) WARMUP="$2"; shift 2 ;;
        --query-runs) QUERY_RUNS="$2"; shift 2 ;;
        --image-runs) IMAGE_RUNS="$2"; shift 2 ;;
        --rounds) ROUNDS="$2"; shift 2 ;;
        --tile-batch) TILE_BATCH="$2"; shift 2 ;;
        --kernel) KERNEL="$2"; shift 2 ;;
        -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done

mkdir -p "$DIR"
if [ ! -f "$DIR/model.safetensors" ] || [ ! -f "$DIR/config.json" ]; then
    echo "== generating the full-size random checkpoint in $DIR"
    "$PY" "$ROOT/scripts/fixtures/make_tiny_model.py" --full "$DIR"
fi
INPUTS="$DIR/bench_inputs.safetensors"
if [ ! -f "$INPUTS" ]; then
    "$PY" "$ROOT/scripts/bench/make_inputs.py" "$INPUTS" "$DIR"
fi

# The driver package: the repo's manifest plus one executable target, sources linked in.
PKG="$ROOT/.build-bench/driver-package"
mkdir -p "$PKG"
ln -sfn "$ROOT/Sources" "$PKG/Sources"
ln -sfn "$ROOT/.deps" "$PKG/.deps"
ln -sfn "$ROOT/scripts/bench/driver" "$PKG/BenchDriver"
[ -f "$ROOT/Package.resolved" ] && cp "$ROOT/Package.resolved" "$PKG/Package.resolved"
MARK='// MARK: - Development filter'
grep -q "$MARK" "$ROOT/Package.swift" || { echo "Package.swift lacks '$MARK'" >&2; exit 1; }
awk -v mark="$MARK" '
    index($0, mark) == 1 {
        print "targets.append(.executableTarget(name: \"BenchModelDriver\", dependencies: [\"ColModernVBert\"], path: \"BenchDriver\"))"
    }
    { print }
' "$ROOT/Package.swift" > "$PKG/Package.swift.new"
cmp -s "$PKG/Package.swift.new" "$PKG/Package.swift" 2>/dev/null || mv "$PKG/Package.swift.new" "$PKG/Package.swift"
rm -f "$PKG/Package.swift.new"
echo "== building the Swift driver (release)"
# Clang's module cache does not notice headers added to CTorch's include folder; start it afresh.
rm -rf "$ROOT"/.build-bench/swift/*/release/ModuleCache
(cd "$PKG" && PACKAGE_TARGETS=BenchModelDriver swift build -c release --product BenchModelDriver \
    --scratch-path "$ROOT/.build-bench/swift" 2>&1 | tail -3)
DRIVER="$ROOT/.build-bench/swift/release/BenchModelDriver"

RESULTS="$DIR/results"
mkdir -p "$RESULTS"
rm -f "$RESULTS"/*.json
for round in $(seq 1 "$ROUNDS"); do
    echo "== round $round/$ROUNDS: Python reference"
    "$PY" "$ROOT/scripts/bench/reference_forward.py" "$DIR" "$INPUTS" "$THREADS" "$WARMUP" "$QUERY_RUNS" "$IMAGE_RUNS" \
        > "$RESULTS/python-$round.json"
    echo "== round $round/$ROUNDS: Swift"
    "$DRIVER" "$DIR" "$INPUTS" "$THREADS" "$WARMUP" "$QUERY_RUNS" "$IMAGE_RUNS" "$TILE_BATCH" "$KERNEL" \
        > "$RESULTS/swift-$round.json"
done

"$PY" "$ROOT/scripts/bench/summarize.py" "$RESULTS"
