#!/usr/bin/env bash
# The README's "set up and run" command: prepares the machine (scripts/setup.sh --release),
# then runs the embedding service in the foreground:
#   - the pool master (`colmodernvbert serve`): downloads/loads the model, binds the
#     FastCGI socket, spawns and supervises the workers;
#   - nginx in front of it (scripts/nginx.sh run): HTTP on :7000, HTTPS on :7443.
# Logs of both go to this terminal. Ctrl-C (or SIGTERM) stops both cleanly: nginx finishes
# requests in flight (graceful SIGQUIT), the master drains its workers; a second Ctrl-C
# stops them at once. If either dies on its own, the other is stopped and this exits non-zero.
#
#   scripts/run.sh [--no-setup]
#
# Configuration comes from the environment (README "Configuration"); this script makes
# absolute what nginx and the pool must agree on:
#   COLPALI_RUN_DIR   ./.run   (socket, rendered nginx config, temp files)
# and COLPALI_STATE_DIR ($COLPALI_RUN_DIR/state). The pool's socket (COLPALI_LISTEN, by
# default in the run directory) is the binary's to default; nginx.sh asks it.
# COLPALI_SERVER_COMMAND replaces the master command (default:
# .build/release/colmodernvbert serve), e.g. for a stand-in.
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
log() { printf '[run.sh] %s\n' "$*" >&2; }

setup=1
for arg in "$@"; do
    case "$arg" in
        --no-setup) setup=0 ;;
        *) echo "usage: $0 [--no-setup]" >&2; exit 2 ;;
    esac
done

if ((setup)); then
    scripts/setup.sh --release || { log "setup failed"; exit 1; }
fi

absolute() { case "$1" in /*) printf '%s\n' "$1" ;; *) printf '%s/%s\n' "$root" "${1#./}" ;; esac; }
export COLPALI_RUN_DIR="$(absolute "${COLPALI_RUN_DIR:-.run}")"
export COLPALI_STATE_DIR="$(absolute "${COLPALI_STATE_DIR:-$COLPALI_RUN_DIR/state}")"
mkdir -p "$COLPALI_RUN_DIR" "$COLPALI_STATE_DIR" || exit 1

read -r -a server <<< "${COLPALI_SERVER_COMMAND:-$root/.build/release/colmodernvbert serve}"
[ -x "${server[0]}" ] || command -v "${server[0]}" >/dev/null || { log "${server[0]} not found (run without --no-setup to build it)"; exit 1; }

# Validate the nginx configuration before starting anything.
scripts/nginx.sh check || exit 1

# Each child gets its own session (setsid), so a terminal's Ctrl-C reaches only this
# script, which then stops them in order instead of both receiving SIGINT at once.
setsid "${server[@]}" &
master_pid=$!
setsid scripts/nginx.sh run &
nginx_pid=$!
log "started master (pid $master_pid) and nginx (pid $nginx_pid); Ctrl-C stops both"

stopping=0
status=0
stop_children() {
    if ((stopping == 0)); then
        stopping=1
        log "stopping: nginx finishes requests in flight, the pool drains its workers (Ctrl-C again to force)"
        kill -TERM "$master_pid" 2>/dev/null
        kill -QUIT "$nginx_pid" 2>/dev/null
    else
        log "forcing stop"
        kill -TERM "$master_pid" 2>/dev/null  # a second stop request makes the master kill its workers
        kill -TERM "$nginx_pid" 2>/dev/null   # nginx: fast shutdown
    fi
}
trap 'stop_children' INT TERM

describe() { # exit status -> words
    if (($1 > 128)); then printf 'signal %d' $(($1 - 128)); else printf 'status %d' "$1"; fi
}

pending=("$master_pid" "$nginx_pid")
while ((${#pending[@]})); do
    exited=""
    wait -n -p exited "${pending[@]}"
    code=$?
    if [ -z "${exited:-}" ]; then
        ((code > 128)) && continue  # interrupted by a signal: the trap ran, keep waiting
        log "lost track of the children (wait: $code)"
        status=1
        break
    fi
    remaining=()
    for pid in "${pending[@]}"; do [ "$pid" = "$exited" ] || remaining+=("$pid"); done
    pending=("${remaining[@]}")
    if [ "$exited" = "$master_pid" ]; then name=master; else name=nginx; fi
    if ((stopping == 0)); then
        log "$name exited on its own ($(describe "$code")); stopping the rest"
        status=1
        stop_children
    else
        log "$name stopped ($(describe "$code"))"
        # nginx exits 0 after SIGQUIT, the master 0 after draining its workers.
        ((code == 0)) || status=1
    fi
done
log "stopped"
exit "$status"
