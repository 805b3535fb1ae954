#!/usr/bin/env bash
# Prepares a fresh Debian machine (and is quick when run again):
#   1. Debian packages: libfcgi, libcurl, nginx, image codecs, openssl, wrk
#   2. .deps/venv: the Python reference (CPU torch 2.13, transformers, ...)
#   3. libtorch: $LIBTORCH if set, else the CPU wheel's copy, linked as .deps/libtorch
#   4. builds the Swift package (debug by default; `--release` for the service)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
log() { printf '[setup] %s\n' "$*" >&2; }

build_config=debug
build=1
for arg in "$@"; do
    case "$arg" in
        --release) build_config=release ;;
        --no-build) build=0 ;;
        *) echo "usage: $0 [--release] [--no-build]" >&2; exit 2 ;;
    esac
done

# 1. Debian packages ------------------------------------------------------------
packages=(build-essential pkg-config ca-certificates curl openssl nginx wrk
          libfcgi-dev libfcgi-bin libcurl4-openssl-dev
          libjpeg62-turbo-dev libpng-dev libwebp-dev libgif-dev libtiff-dev
          python3 python3-venv)
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

# 2. Python reference environment -------------------------------------------------
python="${PYTHON:-python3}"
venv=.deps/venv
stamp="$venv/.requirements.sha256"
want="$(cat scripts/requirements-reference.txt scripts/setup.sh | sha256sum | cut -d' ' -f1)"
if [ ! -x "$venv/bin/python" ]; then
    log "creating $venv"
    mkdir -p .deps
    "$python" -m venv "$venv"
fi
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    log "installing the Python reference into $venv"
    # The CPU build; pip's configuration (find-links / index) must offer it.
    "$venv/bin/pip" install -q --disable-pip-version-check "${TORCH_REQUIREMENT:-torch==2.13.0+cpu}"
    "$venv/bin/pip" install -q --disable-pip-version-check -r scripts/requirements-reference.txt
    echo "$want" > "$stamp"
fi

# 3. libtorch --------------------------------------------------------------------
if [ -n "${LIBTORCH:-}" ]; then
    [ -d "$LIBTORCH/include" ] && [ -d "$LIBTORCH/lib" ] \
        || { echo "LIBTORCH=$LIBTORCH must hold include/ and lib/" >&2; exit 1; }
    log "libtorch: $LIBTORCH (from LIBTORCH)"
else
    torch_dir="$("$venv/bin/python" -c 'import os, torch; print(os.path.dirname(torch.__file__))')"
    ln -sfn "$torch_dir" .deps/libtorch
    log "libtorch: $torch_dir"
fi

# Swagger UI assets for /docs, served from disk (no CDN).
swagger_dir="$("$venv/bin/python" -c 'import glob, os, swagger_ui_bundle as s; print(sorted(glob.glob(os.path.join(os.path.dirname(s.__file__), "vendor", "swagger-ui-*")))[-1])')"
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
