#!/usr/bin/env bash
# Builds the libFuzzer harnesses of Fuzz/ and runs each for a while on its seed corpus.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]     default: 5 seconds, every target
#
# Targets: bmp tiff jpeg png gif webp (CImageCodecs entry points, C, through
# Fuzz/decoders/fuzz_decoder.c), json multipart (FastCGI's sources), safetensors
# (SafeTensors' header parser). Each is built with -fsanitize=fuzzer,address (clang and
# swiftc from the Swift toolchain) into $COLPALI_FUZZ_DIR (default .build-fuzz/), and run
# on a working corpus there seeded from Fuzz/corpus/<target>/ (the committed seeds are
# never written to). A crash, leak, sanitizer report or timeout fails the script (exit 1)
# and leaves the input under $COLPALI_FUZZ_DIR/artifacts/; turn it into a regression test
# (input under Tests/Fixtures/) before fixing it. Prints executions and coverage per target.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
seconds="${1:-5}"
[[ "$seconds" =~ ^[1-9][0-9]*$ ]] || { echo "usage: $0 [SECONDS] [TARGET...]" >&2; exit 2; }
shift || true
all=(bmp tiff jpeg png gif webp json multipart safetensors)
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all[@]}")

toolchain="${SWIFT_TOOLCHAIN:-/opt/swift/usr/bin}"
clang="$toolchain/clang"
swiftc="$toolchain/swiftc"
out="${COLPALI_FUZZ_DIR:-$root/.build-fuzz}"
mkdir -p "$out/bin" "$out/corpus" "$out/artifacts" "$out/logs" "$out/modules"
log() { printf '[fuzz] %s\n' "$*" >&2; }

codecs="$root/Sources/CImageCodecs"
declare -A libraries=(
    [bmp]="" [tiff]="-ltiff" [jpeg]="-ljpeg" [png]="-lpng16" [gif]="-lgif" [webp]="-lwebp -lwebpdemux"
)

# Rebuilds OUTPUT when any of the given sources is newer (or it is missing).
stale() {
    local output="$1"
    shift
    [ -e "$output" ] || return 0
    local source
    for source in "$@"; do [ "$source" -nt "$output" ] && return 0; done
    return 1
}

build() {
    local target="$1" binary="$out/bin/fuzz_$1"
    case "$target" in
        bmp | tiff | jpeg | png | gif | webp)
            local sources=("$root/Fuzz/decoders/fuzz_decoder.c" "$codecs/codec_common.c" "$codecs/decode_$target.c")
            stale "$binary" "${sources[@]}" "$codecs/codec_internal.h" "$codecs/include/image_codecs.h" || return 0
            # shellcheck disable=SC2086
            "$clang" -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
                -I "$codecs/include" -I "$codecs" -DIC_FUZZ_DECODER="ic_decode_$target" \
                "${sources[@]}" ${libraries[$target]} -lm -o "$binary"
            ;;
        json | multipart)
            # FastCGI's JSON, HTTP and multipart sources (with the request's cancellation token,
            # which HTTPRequest carries), instrumented, as one static library (module FastCGIFuzz)
            # over an instrumented POSIX module, shared by both harnesses; each harness is then a
            # quick compile.
            local posix="$out/fastcgi/libPOSIX.a"
            local posix_sources=("$root"/Sources/POSIX/*.swift)
            local library="$out/fastcgi/libFastCGIFuzz.a"
            local sources=("$root"/Sources/FastCGI/JSON/*.swift "$root"/Sources/FastCGI/HTTP/*.swift
                "$root"/Sources/FastCGI/Multipart/*.swift "$root"/Sources/FastCGI/Server/RequestCancellation.swift)
            mkdir -p "$out/fastcgi"
            if stale "$posix" "${posix_sources[@]}"; then
                "$swiftc" -sanitize=fuzzer,address -parse-as-library -O -g -module-name POSIX \
                    -emit-module -emit-module-path "$out/fastcgi/POSIX.swiftmodule" -emit-library -static \
                    -o "$posix" -module-cache-path "$out/modules" "${posix_sources[@]}"
            fi
            if stale "$library" "${sources[@]}" "$posix"; then
                "$swiftc" -sanitize=fuzzer,address -parse-as-library -O -g -module-name FastCGIFuzz \
                    -emit-module -emit-module-path "$out/fastcgi/FastCGIFuzz.swiftmodule" -emit-library -static \
                    -o "$library" -I "$out/fastcgi" -I "$root/Sources/CFastCGI" -module-cache-path "$out/modules" "${sources[@]}"
            fi
            local harness
            harness="$root/Fuzz/swift/$([ "$target" = json ] && echo FuzzJSON || echo FuzzMultipart).swift"
            stale "$binary" "$harness" "$library" || return 0
            "$swiftc" -sanitize=fuzzer,address -parse-as-library -O -g -I "$out/fastcgi" -L "$out/fastcgi" -lFastCGIFuzz -lPOSIX \
                -I "$root/Sources/CFastCGI" -module-cache-path "$out/modules" "$harness" -o "$binary"
            ;;
        safetensors)
            local sources=("$root/Sources/SafeTensors/SafeTensorsHeader.swift" "$root/Sources/SafeTensors/TensorInfo.swift"
                "$root/Sources/SafeTensors/SafeTensorsError.swift" "$root/Sources/Torch/DType.swift"
                "$root/Fuzz/swift/FuzzSafeTensorsHeader.swift")
            stale "$binary" "${sources[@]}" "$root/Fuzz/shims/ct_element_size.c" || return 0
            # One module named Torch (its own `import Torch` is then a no-op), CTorch's C
            # header through a module map, and the one C function it needs from a shim.
            local shim="$out/shims/CTorch"
            mkdir -p "$shim"
            printf 'module CTorch {\n    header "%s"\n    export *\n}\n' "$root/Sources/CTorch/include/ctorch.h" > "$shim/module.modulemap"
            "$clang" -g -O1 -fsanitize=fuzzer-no-link,address -I "$root/Sources/CTorch/include" \
                -c "$root/Fuzz/shims/ct_element_size.c" -o "$out/bin/ct_element_size.o"
            "$swiftc" -sanitize=fuzzer,address -parse-as-library -O -g -module-name Torch -suppress-warnings \
                -I "$shim" -module-cache-path "$out/modules" "${sources[@]}" "$out/bin/ct_element_size.o" -o "$binary"
            ;;
        *)
            echo "unknown target $target (known: ${all[*]})" >&2
            exit 2
            ;;
    esac
}

failed=()
for target in "${targets[@]}"; do
    started=$SECONDS
    build "$target" > "$out/logs/$target.build.log" 2>&1 || {
        cat "$out/logs/$target.build.log" >&2
        log "cannot build $target"
        exit 1
    }
    built=$((SECONDS - started))
    corpus="$out/corpus/$target"
    mkdir -p "$corpus"
    logfile="$out/logs/$target.log"
    status=0
    # -timeout: one input may take at most 10 s; -rss_limit_mb/-malloc_limit_mb: a decode
    # budget violation shows up as a failure rather than as a slow machine.
    "$out/bin/fuzz_$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=1024 \
        -print_final_stats=1 -artifact_prefix="$out/artifacts/$target-" \
        "$corpus" "$root/Fuzz/corpus/$target" > "$logfile" 2>&1 || status=$?
    runs="$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$logfile" | grep -o '[0-9]*$' || true)"
    coverage="$(grep -o 'cov: [0-9]*' "$logfile" | tail -1 || true)"
    printf '%-12s %s runs, %s, build %ss, status %s\n' "$target" "${runs:-?}" "${coverage:-cov: ?}" "$built" "$status"
    if [ "$status" -ne 0 ]; then
        failed+=("$target")
        grep -E 'ERROR|SUMMARY|Test unit written|Fatal error|panic' "$logfile" | head -20 >&2 || true
    fi
done

if [ ${#failed[@]} -gt 0 ]; then
    log "FAILED: ${failed[*]} (logs in $out/logs, inputs in $out/artifacts)"
    exit 1
fi
log "all ${#targets[@]} targets ran ${seconds}s without a finding"
