#!/usr/bin/env bash
# Prepares a fresh Debian machine (and is quick when run again). What the service needs:
#   1. Debian packages: libfcgi, libcurl, nginx, image codecs, openssl
#   2. .deps/venv holding only the torch wheel (CPU by default; its libtorch is what we
#      link) with its own dependencies, and the Swagger UI assets
#   3. libtorch: $LIBTORCH if set, else that wheel's copy, linked as .deps/libtorch
#   4. builds the Swift package (debug by default; `--release` for the service)
# With --reference (tests and benchmarks), also the Python reference in the same venv
# (transformers, scipy, FastAPI for the reference service), torchvision's transforms beside
# it (.deps/torchvision-py, scripts/fixtures/torchvision_env.sh) and the tests' Debian peers
# (wrk, prometheus, chromium, iproute2).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
log() { printf '[setup] %s\n' "$*" >&2; }

build_config=debug
build=1
reference=0
for arg in "$@"; do
    case "$arg" in
        --release) build_config=release ;;
        --no-build) build=0 ;;
        --reference) reference=1 ;;
        *) echo "usage: $0 [--release] [--no-build] [--reference]" >&2; exit 2 ;;
    esac
done

# 1. Debian packages ------------------------------------------------------------
packages=(build-essential pkg-config ca-certificates curl openssl nginx
          libfcgi-dev libfcgi-bin libcurl4-openssl-dev
          libjpeg62-turbo-dev libpng-dev libwebp-dev libgif-dev libtiff-dev
          python3 python3-venv)
# The tests' own peers: wrk (load), Debian's prometheus (a real server scraping /metrics, and
# promtool), chromium (the /demo page in a headless browser), iproute2 (network namespaces for the
# multi-host test).
((reference)) && packages+=(wrk prometheus chromium iproute2)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    log "installing Debian packages: ${missing[*]}"
    sudo_cmd=()
    [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
    "${sudo_cmd[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# 2. Python: the runtime's two wheels, and the reference on request ---------------
python="${PYTHON:-python3}"
venv=.deps/venv
pip=("$venv/bin/pip" install -q --disable-pip-version-check)
if [ ! -x "$venv/bin/python" ]; then
    log "creating $venv"
    mkdir -p .deps
    "$python" -m venv "$venv"
fi
# Each level is stamped with the hash of what it installs, so a changed list reinstalls.
runtime_stamp="$venv/.runtime.sha256"
runtime_want="$(printf '%s\n' "${TORCH_REQUIREMENT:-torch==2.13.0+cpu}" | cat - scripts/requirements-runtime.txt | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$runtime_stamp" 2>/dev/null)" != "$runtime_want" ]; then
    log "installing libtorch (the CPU torch wheel) and the Swagger UI assets into $venv"
    # torch with its own dependencies (a CUDA build needs its nvidia-* wheels); pip's
    # configuration (find-links / index) must offer the build asked for. The Swagger UI
    # bundle's files are all that is used of it: no dependencies.
    "${pip[@]}" "${TORCH_REQUIREMENT:-torch==2.13.0+cpu}"
    "${pip[@]}" --no-deps -r scripts/requirements-runtime.txt
    echo "$runtime_want" > "$runtime_stamp"
fi
if ((reference)); then
    reference_stamp="$venv/.reference.sha256"
    reference_want="$(cat scripts/requirements-reference.txt | sha256sum | cut -d' ' -f1)"
    if [ "$(cat "$reference_stamp" 2>/dev/null)" != "$reference_want" ]; then
        log "installing the Python reference into $venv"
        "${pip[@]}" -r scripts/requirements-reference.txt
        echo "$reference_want" > "$reference_stamp"
    fi
    # torchvision's transforms beside the venv, for fixtures from transformers' torchvision backend.
    scripts/fixtures/torchvision_env.sh
fi

# Where a package's files are, without importing it (the runtime level has no dependencies).
package_dir() {
    "$venv/bin/python" -c 'import importlib.util, sys; print(importlib.util.find_spec(sys.argv[1]).submodule_search_locations[0])' "$1"
}

# 3. libtorch --------------------------------------------------------------------
if [ -n "${LIBTORCH:-}" ]; then
    [ -d "$LIBTORCH/include" ] && [ -d "$LIBTORCH/lib" ] \
        || { echo "LIBTORCH=$LIBTORCH must hold include/ and lib/" >&2; exit 1; }
    log "libtorch: $LIBTORCH (from LIBTORCH)"
else
    torch_dir="$(package_dir torch)"
    ln -sfn "$torch_dir" .deps/libtorch
    log "libtorch: $torch_dir"
fi

# Swagger UI assets for /docs, served from disk (no CDN).
swagger_dir="$(ls -d "$(package_dir swagger_ui_bundle)"/vendor/swagger-ui-* | sort | tail -1)"
ln -sfn "$swagger_dir" .deps/swagger-ui

# 4. Swift build ---------------------------------------------------------------
if [ -d /opt/swift/usr/bin ] && ! command -v swift >/dev/null; then
    export PATH=/opt/swift/usr/bin:$PATH
fi
command -v swift >/dev/null || { echo "swift not found (expected at /opt/swift/usr/bin)" >&2; exit 1; }
if ((build)); then
    log "swift build -c $build_config"
    swift build -c "$build_config" 2>&1 | grep -vE '^\[[0-9]+/[0-9]+\] (Compiling|Write|Emitting)' >&2
    test "${PIPESTATUS[0]}" -eq 0
fi
log "ready"
