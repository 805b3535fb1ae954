#!/usr/bin/env bash
# Load benchmark: this service (nginx -> FastCGI pool -> Swift/libtorch) against the Python
# reference service (FastAPI + transformers, scripts/bench/reference_service.py) on the same
# checkpoint, in the same run, with wrk on loopback (bounded in time).
#
#   scripts/bench_service.sh [--model DIR] [--threads N] [--workers N]
#                            [--query-seconds S] [--query-connections C]
#                            [--image-seconds S] [--image-connections C] [--reference-bf16]
#
# --model defaults to the full-size random checkpoint of scripts/bench_model.sh
# (.build-bench/full-model, generated when missing). Both services get the same CPU thread
# budget: the reference runs one process with N torch threads; this service runs
# --workers workers with N/workers threads each. Prints p50/p90/p99 latency and requests/s
# for single queries, images/s for a letter-size page, peak memory of each side, and ratios;
# the CPU model and ISA, the path this service dispatched to (/info: cpu_isa, text kernel, vision
# and text dtypes), and, measured after the load test at one worker's thread count, the GEMM
# rooflines in float32 and bfloat16 (libtorch's bare x·Wᵀ on the vision tower's linear shapes) with the vision
# tower's throughput in the dispatched mode as a fraction of each (PrecisionBenchmark
# --timing-only; on a CPU without native bfloat16 the bfloat16 roofline is emulated and slow).
# --reference-bf16 then restarts the reference in bfloat16 (what a Python user
# would switch to) and times the page again against it (slow on CPUs without native bf16).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
PY="$root/.deps/venv/bin/python"
export PATH="/opt/swift/usr/bin:$PATH"
log() { printf '[bench] %s\n' "$*" >&2; }

model="$root/.build-bench/full-model"
threads="$(nproc)"
workers=1
query_seconds=20
query_connections=4
image_seconds=60
image_connections=1
reference_bf16=0
while [ $# -gt 0 ]; do
    case "$1" in
        --model) model="$2"; shift 2 ;;
        --threads) threads="$2"; shift 2 ;;
        --workers) workers="$2"; shift 2 ;;
        --query-seconds) query_seconds="$2"; shift 2 ;;
        --query-connections) query_connections="$2"; shift 2 ;;
        --image-seconds) image_seconds="$2"; shift 2 ;;
        --image-connections) image_connections="$2"; shift 2 ;;
        --reference-bf16) reference_bf16=1; shift ;;
        -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done
command -v wrk >/dev/null || { echo "wrk not found (scripts/setup.sh installs it)" >&2; exit 1; }

if [ ! -f "$model/model.safetensors" ]; then
    log "generating the full-size random checkpoint in $model"
    mkdir -p "$model"
    "$PY" scripts/fixtures/make_tiny_model.py --full "$model"
fi
if [ ! -f "$model/tokenizer.json" ]; then
    # Weights only (the model benchmark's checkpoint): add the tokenizer and processor files.
    servable="$root/.build-bench/full-service-model"
    [ -f "$servable/tokenizer.json" ] || "$PY" scripts/bench/prepare_service_model.py "$model" "$servable" >/dev/null
    model="$servable"
fi
mkdir -p "$root/.build-bench"
payloads="$root/.build-bench/payloads"
[ -f "$payloads/image.multipart" ] || "$PY" scripts/bench/make_bench_payloads.py "$payloads" >/dev/null

log "building release"
if ! swift build -c release --product colmodernvbert > "$root/.build-bench/build.log" 2>&1; then
    grep -E "error" "$root/.build-bench/build.log" >&2 || tail -20 "$root/.build-bench/build.log" >&2
    echo "release build failed (a stale module cache after header changes: rm -rf .build/*/release/ModuleCache)" >&2
    exit 1
fi
binary="$root/.build/release/colmodernvbert"
log "building the roofline driver (release, ENABLE_BENCHMARKS=1)"
if ! ENABLE_BENCHMARKS=1 swift build -c release --product PrecisionBenchmark --scratch-path "$root/.build-bench/swift" \
    > "$root/.build-bench/build-roofline.log" 2>&1; then
    grep -E "error" "$root/.build-bench/build-roofline.log" >&2 || tail -20 "$root/.build-bench/build-roofline.log" >&2
    exit 1
fi
roofline_driver="$root/.build-bench/swift/release/PrecisionBenchmark"

free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
ours_port="$(free_port)"
ref_port="$(free_port)"
run_dir="$(mktemp -d /tmp/colpali-bench.XXXXXX)"
# Traversable: nginx started as root runs its workers unprivileged, and they must reach the
# pool's socket in here (nginx.sh refuses a run directory they cannot traverse).
chmod 755 "$run_dir"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    sleep 1
    for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
    rm -rf "$run_dir"
}
trap cleanup EXIT

per_worker=$(( threads / workers > 0 ? threads / workers : 1 ))
log "this service: $workers worker(s) x $per_worker thread(s); reference: 1 process x $threads thread(s)"
COLPALI_MODEL_ID="$model" COLPALI_RUN_DIR="$run_dir" COLPALI_WORKERS="$workers" CPU_THREADS="$per_worker" \
    COLPALI_LOG_LEVEL=warning COLPALI_REQUESTS_PER_WORKER=8 \
    setsid "$binary" serve > "$run_dir/serve.log" 2>&1 &
master=$!
pids+=("$master")
COLPALI_RUN_DIR="$run_dir" COLPALI_HTTP_PORT="$ours_port" COLPALI_HTTPS_PORT=off COLPALI_RATE_LIMIT=off COLPALI_IMAGE_RATE_LIMIT=off \
    COLPALI_CONN_LIMIT=off COLPALI_NGINX_ACCESS_LOG=off COLPALI_NGINX_WORKERS=1 \
    setsid scripts/nginx.sh run > "$run_dir/nginx.log" 2>&1 &
pids+=("$!")
setsid "$PY" scripts/bench/reference_service.py "$model" "$ref_port" "$threads" > "$run_dir/reference.log" 2>&1 &
reference=$!
pids+=("$reference")

wait_ready() { # URL BODY_FILE CONTENT_TYPE
    for _ in $(seq 1 600); do
        code="$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "Content-Type: $3" --data-binary "@$2" "$1" || true)"
        [ "$code" = 200 ] && return 0
        sleep 1
    done
    echo "timed out waiting for $1" >&2
    cat "$run_dir"/*.log >&2
    exit 1
}
ours="http://127.0.0.1:$ours_port"
ref="http://127.0.0.1:$ref_port"
image_type="$(cat "$payloads/image.content-type")"
wait_ready "$ours/embed/queries" "$payloads/query.json" application/json
wait_ready "$ref/embed/queries" "$payloads/query.json" application/json
log "both services answer; warming up"
for url in "$ours" "$ref"; do
    for _ in 1 2; do
        curl -s -o /dev/null -X POST -H "Content-Type: application/json" --data-binary "@$payloads/query.json" "$url/embed/queries"
    done
    curl -s -o /dev/null -X POST -H "Content-Type: $image_type" --data-binary "@$payloads/image.multipart" "$url/embed/images"
done

# Same answer shape from both (a sanity check, not a fidelity test).
for url in "$ours" "$ref"; do
    curl -s -X POST -H "Content-Type: application/json" --data-binary "@$payloads/query.json" "$url/embed/queries" \
        | "$PY" -c 'import json,sys; e=json.load(sys.stdin)["embeddings"]; assert len(e)==1 and len(e[0][0])>0, e; print(len(e[0]), "tokens x", len(e[0][0]))' >&2
done

descendants() { local p; for p in $(pgrep -P "$1"); do echo "$p"; descendants "$p"; done; }
# Waits (at most 120 s) until every process of both sides is idle: wrk stops with requests in
# flight, and the side it measured goes on computing them (a page: tens of seconds), which
# would otherwise be charged to the next measurement, usually the other side's.
wait_idle() {
    local all pid before after
    for _ in $(seq 1 240); do
        all="$(for pid in "${pids[@]}"; do echo "$pid"; descendants "$pid"; done)"
        before=0; for pid in $all; do before=$(( before + $(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0) )); done
        sleep 0.5
        after=0; for pid in $all; do after=$(( after + $(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0) )); done
        (( after - before < 5 )) && return 0  # under 50 ms of CPU in 0.5 s
    done
    log "warning: the services did not go idle within 120 s"
}
run_wrk() { # URL BODY CONTENT_TYPE CONNECTIONS SECONDS
    wait_idle
    BODY_FILE="$2" CONTENT_TYPE="$3" wrk -t1 -c"$4" -d"$5"s --timeout 300s -s scripts/bench/wrk_post.lua "$1" \
        | grep '^{'
}
log "queries: $query_connections connections x ${query_seconds}s each side"
q_ours="$(run_wrk "$ours/embed/queries" "$payloads/query.json" application/json "$query_connections" "$query_seconds")"
q_ref="$(run_wrk "$ref/embed/queries" "$payloads/query.json" application/json "$query_connections" "$query_seconds")"
log "queries one at a time: 1 connection x ${query_seconds}s each side"
q1_ours="$(run_wrk "$ours/embed/queries" "$payloads/query.json" application/json 1 "$query_seconds")"
q1_ref="$(run_wrk "$ref/embed/queries" "$payloads/query.json" application/json 1 "$query_seconds")"
log "images: $image_connections connection(s) x ${image_seconds}s each side"
i_ours="$(run_wrk "$ours/embed/images" "$payloads/image.multipart" "$image_type" "$image_connections" "$image_seconds")"
i_ref="$(run_wrk "$ref/embed/images" "$payloads/image.multipart" "$image_type" "$image_connections" "$image_seconds")"

# Memory: peak RSS (VmHWM) of each process, and PSS now (shared weight pages split fairly).
info_ours="$(curl -s "$ours/info")"
cpu_model="$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)"
cpu_flags="$(grep -m1 '^flags' /proc/cpuinfo | tr ' ' '\n' | grep -xE 'avx2|fma|avx512f|avx512_bf16|amx_bf16|amx_tile' | sort | tr '\n' ' ')"
memory() { # PID... -> "peak_rss_bytes pss_bytes"
    local rss=0 pss=0
    for pid in "$@"; do
        [ -r "/proc/$pid/status" ] || continue
        rss=$(( rss + $(awk '/^VmHWM:/ {printf "%d", $2 * 1024}' "/proc/$pid/status") ))
        pss=$(( pss + $(awk '/^Pss:/ {printf "%d", $2 * 1024}' "/proc/$pid/smaps_rollup" 2>/dev/null || echo 0) ))
    done
    echo "$rss $pss"
}
mem_ours="$(memory "$master" $(descendants "$master"))"
mem_ref="$(memory "$reference" $(descendants "$reference"))"
# Each process of this service (the master, then its workers): PSS, and its anonymous and
# file-backed shares (a worker's anonymous PSS is what it adds beyond the shared weight files).
per_process=""
for pid in "$master" $(descendants "$master"); do
    [ -r "/proc/$pid/smaps_rollup" ] || continue
    per_process+="$(awk -v pid="$pid" -v name="$(cat "/proc/$pid/comm")" '
        /^Pss:/ {p=$2} /^Pss_Anon:/ {a=$2} /^Pss_File:/ {f=$2}
        END {printf "    %-8s %-22s PSS %6.0f MiB (anonymous %6.0f, file %6.0f)\n", pid, name, p/1024, a/1024, f/1024}' \
        "/proc/$pid/smaps_rollup")"$'\n'
done
i_bf16='{}'
if ((reference_bf16)); then
    log "restarting the reference in bfloat16; images: $image_connections connection(s) x ${image_seconds}s"
    kill -TERM "$reference" 2>/dev/null || true
    wait "$reference" 2>/dev/null || true
    REFERENCE_DTYPE=bfloat16 setsid "$PY" scripts/bench/reference_service.py "$model" "$ref_port" "$threads" > "$run_dir/reference-bf16.log" 2>&1 &
    reference=$!
    pids+=("$reference")
    wait_ready "$ref/embed/queries" "$payloads/query.json" application/json
    curl -s -o /dev/null -X POST -H "Content-Type: $image_type" --data-binary "@$payloads/image.multipart" "$ref/embed/images"
    i_bf16="$(run_wrk "$ref/embed/images" "$payloads/image.multipart" "$image_type" "$image_connections" "$image_seconds")"
fi

# GEMM rooflines and the vision tower's share of them, in the mode this service dispatched to,
# at one worker's thread count; both services stopped first so that nothing else computes.
for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
pids=()
roofline_mode="$("$PY" -c '
import json, sys
info = json.loads(sys.argv[1] or "{}")
vision, text = info.get("vision_dtype"), info.get("text_dtype")
print("float32" if vision == text == "torch.float32" else "bfloat16" if vision == text == "torch.bfloat16" else "mixed")
' "$info_ours")"
roofline_inputs="$root/.build-bench/roofline/$(basename "$model")/bench_inputs.safetensors"
. "$root/scripts/bench/checkpoint.sh"
bench_checkpoint "$PY" "$root" "$model" "$roofline_inputs" >&2
log "rooflines: float32 and bfloat16 GEMMs, then the vision tower in $roofline_mode ($per_worker thread(s))"
roofline="$("$roofline_driver" "$model" "$roofline_inputs" "$(dirname "$roofline_inputs")/out" --threads "$per_worker" \
    --image-runs 1 --timing-only "$roofline_mode")"

"$PY" - "$q_ours" "$q_ref" "$q1_ours" "$q1_ref" "$i_ours" "$i_ref" "$mem_ours" "$mem_ref" "$workers" "$per_worker" "$threads" "$model" \
    "$info_ours" "$cpu_model" "$cpu_flags" "$i_bf16" "$roofline" "$roofline_mode" <<'PYEOF'
import json, sys
q_ours, q_ref, q1_ours, q1_ref, i_ours, i_ref = (json.loads(a) for a in sys.argv[1:7])
mem_ours, mem_ref = (tuple(int(v) for v in a.split()) for a in sys.argv[7:9])
workers, per_worker, threads, model = sys.argv[9:13]
info = json.loads(sys.argv[13] or "{}")
cpu_model, cpu_flags, i_bf16 = sys.argv[14], sys.argv[15].split(), json.loads(sys.argv[16] or "{}")
roofline, roofline_mode = json.loads(sys.argv[17]), sys.argv[18]
def row(name, ours, ref, key, fmt="{:.2f}", lower_better=True):
    ratio = ours[key] / ref[key] if ref[key] else float("nan")
    print(f"  {name:<34} {fmt.format(ours[key]):>12} {fmt.format(ref[key]):>12}   {ratio:6.2f}x {'(lower is better)' if lower_better else '(higher is better)'}")
print(f"\nLoad benchmark, checkpoint {model}")
print(f"  CPU: {cpu_model}; ISA: {' '.join(cpu_flags) or 'no AVX2'}")
print(f"  this service dispatched to: cpu_isa {info.get('cpu_isa', '?')}, text kernel {info.get('text_kernel', '?')}, "
      f"vision tower {info.get('vision_dtype', '?')}, text tower {info.get('text_dtype', '?')} (/info)")
print(f"  this service: nginx + {workers} worker(s) x {per_worker} thread(s); reference: FastAPI/uvicorn, 1 process x {threads} threads")
print(f"  {'':<34} {'this':>12} {'reference':>12}   ratio this/reference")
for label, ours, ref in (("single queries, 1 connection", q1_ours, q1_ref), ("single queries, concurrent", q_ours, q_ref)):
    print(f" {label}:")
    row("p50 latency (ms)", ours, ref, "p50_ms")
    row("p99 latency (ms)", ours, ref, "p99_ms")
    row("requests/s", ours, ref, "rps", lower_better=False)
    print(f"  {'requests (errors)':<34} {ours['requests']:>7} ({ours['errors']}) {ref['requests']:>7} ({ref['errors']})")
print(" page images (letter page, one per request):")
row("images/s", i_ours, i_ref, "rps", "{:.3f}", lower_better=False)
row("p50 latency (ms)", i_ours, i_ref, "p50_ms")
print(f"  {'requests (errors)':<34} {i_ours['requests']:>7} ({i_ours['errors']}) {i_ref['requests']:>7} ({i_ref['errors']})")
if i_bf16:
    print(" page images against the reference in bfloat16:")
    row("p50 latency (ms)", i_ours, i_bf16, "p50_ms")
    print(f"  {'requests (errors)':<34} {i_ours['requests']:>7} ({i_ours['errors']}) {i_bf16['requests']:>7} ({i_bf16['errors']})")
print(" memory (all processes of each side):")
mib = lambda b: b / 2**20
print(f"  {'sum of peak RSS (MiB)':<34} {mib(mem_ours[0]):>12.0f} {mib(mem_ref[0]):>12.0f}   {mem_ours[0]/mem_ref[0]:6.2f}x (lower is better)")
print(f"  {'PSS at end (MiB)':<34} {mib(mem_ours[1]):>12.0f} {mib(mem_ref[1]):>12.0f}   {mem_ours[1]/max(mem_ref[1],1):6.2f}x (lower is better)")
f32, bf16 = roofline["gemm_gflops_float32"], roofline["gemm_gflops_bfloat16"]
tower = roofline["modes"][roofline_mode]
print(f" rooflines ({roofline['threads']} thread(s), libtorch x·Wᵀ on the vision tower's linear shapes, 2-tile batch; {roofline['cpu']}):")
print(f"  {'GEMM float32 / bfloat16 (GFLOP/s)':<34} {f32:>12.1f} {bf16:>12.1f}"
      + ("   (bfloat16 emulated: no native bf16 matrix products)" if bf16 < f32 else ""))
print(f"  vision tower in {roofline_mode}: {tower['vision_gflops']:.1f} GFLOP/s over {roofline['vision_tower_gflop']:.0f} GFLOP "
      f"({roofline['tiles']} tiles, {tower['vision_ms'] / 1e3:.1f} s) = {tower['vision_gflops'] / f32:.2f} of the float32 roofline, "
      f"{tower['vision_gflops'] / bf16:.2f} of the bfloat16 one (target >= 0.8 of bfloat16)")
epilogue = roofline["fc1_epilogue_ms"]
print(f"  fc1 bias + tanh GELU, one 2-tile batch (ms): libtorch {epilogue['libtorch']:.1f}, this service's one pass "
      f"{epilogue['bridge']:.1f} = {epilogue['bridge'] / epilogue['libtorch']:.2f}x")
attention = roofline["query_attention_us"]
print(f"  32-token query attention block, one layer (us): libtorch {attention['libtorch']:.1f}, this service's one pass "
      f"{attention['bridge']:.1f} = {attention['bridge'] / attention['libtorch']:.2f}x (max abs difference {attention['max_abs_difference']:.1e})")
PYEOF
echo "  this service's processes at the end:"
printf '%s' "$per_process"
