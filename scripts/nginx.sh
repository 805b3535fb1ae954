#!/usr/bin/env bash
# Renders nginx/ templates from the environment and runs, checks or exports them.
#
#   scripts/nginx.sh run            render, then exec nginx in the foreground (it validates as it starts)
#   scripts/nginx.sh check          render and validate only
#   scripts/nginx.sh render         render only; prints the rendered nginx.conf path
#   scripts/nginx.sh snippet DIR    render the two include files for an existing nginx into DIR
#
# Configuration (all optional; see nginx/README.md):
#   COLPALI_RUN_DIR            ./.run     rendered config, pid, temp files (nginx/ below it)
#   COLPALI_STATE_DIR          $COLPALI_RUN_DIR/state   self-signed certificate (tls/ below it)
#   COLPALI_LISTEN             unix:$COLPALI_RUN_DIR/colmodernvbert.sock   the pool's socket
#                              (read by the service binary: `colmodernvbert config nginx`)
#   COLPALI_UPSTREAMS          unset      pools on other hosts instead: host:port or unix:/path entries,
#                              separated by commas or spaces (each checked by the binary, as COLPALI_LISTEN)
#   COLPALI_UPSTREAM_MAX_FAILS 1          with COLPALI_UPSTREAMS: failed attempts that mark a host down (0: never)
#   COLPALI_UPSTREAM_FAIL_TIMEOUT 10s     with COLPALI_UPSTREAMS: window for those failures, and how long a host is skipped
#   COLPALI_BINARY             .build/release, else .build/debug, else PATH   the colmodernvbert binary
#   COLPALI_BIND_ADDRESS       127.0.0.1  address nginx listens on (0.0.0.0 to serve other hosts)
#   COLPALI_HTTP_PORT          7000       plain HTTP port, or "off"
#   COLPALI_HTTPS_PORT         7443       HTTPS port, or "off"
#   COLPALI_TLS_CERT/_KEY      unset      PEM certificate and key; a self-signed pair is made when unset
#   COLPALI_MAX_REQUEST_BYTES  64m        body limit (bytes, or with k/m/g); larger bodies get 413
#   COLPALI_RATE_LIMIT         20r/s      per-client request rate (N r/s or r/m), or "off"
#   COLPALI_RATE_BURST         40         requests over the rate accepted at once before 429
#   COLPALI_IMAGE_RATE_LIMIT   2r/s       per-client rate of /embed/images and /heatmap, or "off"
#   COLPALI_IMAGE_RATE_BURST   4          image requests over that rate accepted at once before 429
#   COLPALI_CONN_LIMIT         32         concurrent connections per client, or "off"
#   COLPALI_UPSTREAM_TIMEOUT   300        seconds a request may take in the pool
#   COLPALI_NGINX_WORKERS      auto       nginx worker processes
#   COLPALI_NGINX_USER         nobody nogroup   (root only) user[ group] for nginx workers; never root
#   COLPALI_SOCKET_GROUP       unset      (root only) the pool socket's group: nginx workers' group when
#                                         COLPALI_NGINX_USER names none (read by the service binary too)
#   COLPALI_PATH_PREFIX        unset      serve the API under this path (e.g. /colpali), for snippets
#   COLPALI_NGINX_ACCESS_LOG   /dev/stdout   access log destination, or "off"
#   COLPALI_NGINX_BIN          nginx      nginx binary (found on PATH or /usr/sbin)
#   COLPALI_METRICS_ALLOW      127.0.0.1,::1   who may GET /metrics (addresses/CIDRs), or "off"
#                              (read by the service binary: `colmodernvbert config nginx`)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
templates="$root/nginx"
log() { printf '[nginx.sh] %s\n' "$*" >&2; }
die() { printf '[nginx.sh] error: %s\n' "$*" >&2; exit 1; }

absolute() { # absolute path without requiring it to exist
    case "$1" in /*) printf '%s\n' "$1" ;; *) printf '%s/%s\n' "$(pwd)" "${1#./}" ;; esac
}

run_dir="$(absolute "${COLPALI_RUN_DIR:-$root/.run}")"
state_dir="$(absolute "${COLPALI_STATE_DIR:-$run_dir/state}")"
prefix="$run_dir/nginx"

# --- values ---------------------------------------------------------------------

# "64m", "1024", "2g" -> nginx size syntax (bytes stay bytes).
body_limit() {
    local value="${1,,}"
    [[ "$value" =~ ^[0-9]+[kmg]?$ ]] || die "COLPALI_MAX_REQUEST_BYTES=$1: expected a number of bytes, optionally with k, m or g"
    printf '%s\n' "$value"
}

port_or_off() { # name value
    local value="${2,,}"
    if [ "$value" = off ] || [ -z "$value" ]; then printf 'off\n'; return; fi
    [[ "$value" =~ ^[0-9]+$ ]] && ((value >= 1 && value <= 65535)) || die "$1=$2: expected a port (1-65535) or off"
    printf '%s\n' "$value"
}

# The service binary: COLPALI_LISTEN and its default are the binary's to parse (one grammar,
# one default), so this script asks it instead of parsing them again.
service_binary() {
    if [ -n "${COLPALI_BINARY:-}" ]; then printf '%s\n' "$COLPALI_BINARY"; return; fi
    local candidate
    for candidate in "$root/.build/release/colmodernvbert" "$root/.build/debug/colmodernvbert"; do
        if [ -x "$candidate" ]; then printf '%s\n' "$candidate"; return; fi
    done
    command -v colmodernvbert || die "the colmodernvbert binary was not found (swift build, or set COLPALI_BINARY)"
}

# What nginx takes from the service's configuration, asked of the binary in one call (it
# loads libtorch: ~0.3 s idle, seconds on a loaded machine), `KEY VALUE` lines: upstream (the
# pool, or each COLPALI_UPSTREAMS pool), overflow (the master's overload answer for the backup
# server, a local unix pool only), metrics and metrics-access (the master's /metrics socket
# and COLPALI_METRICS_ALLOW as allow/deny directives; none when off). Addresses come as
# unix:/absolute/path or host:port, with the run directory this script uses.
nginx_values() {
    local binary
    binary="$(service_binary)" || exit 1
    COLPALI_RUN_DIR="$run_dir" "$binary" config nginx \
        || die "cannot work out nginx's upstreams and /metrics (${hosts_variable:-COLPALI_LISTEN}, COLPALI_METRICS_ALLOW; see above)"
}

# The pool's socket group as a name (nginx's user directive takes names), or nothing when
# COLPALI_SOCKET_GROUP is unset.
socket_group_name() {
    local group="${COLPALI_SOCKET_GROUP:-}"
    group="${group//[[:space:]]/}"
    [ -n "$group" ] || return 0
    getent group "$group" | cut -d: -f1 | grep . \
        || die "COLPALI_SOCKET_GROUP=$group: no such group (nginx workers need its name)"
}

# When started as root, nginx workers drop to an unprivileged user, never root: they parse
# every byte clients send. They must reach the pool's unix socket (mode 0660 by default,
# COLPALI_SOCKET_MODE): their group is the socket's. The master, as root, gives the socket
# the group named here (COLPALI_SOCKET_GROUP, else COLPALI_NGINX_USER's group, else nogroup),
# so both sides agree by default. A run dir that other users cannot traverse is refused
# (rather than falling back to root workers).
nginx_user() {
    [ "$(id -u)" -eq 0 ] || return 0
    local socket_group
    socket_group="$(socket_group_name)" || exit 1
    if [ -n "${COLPALI_NGINX_USER:-}" ]; then
        local name="${COLPALI_NGINX_USER%% *}"
        if [ "$name" = root ] || [ "$(id -u "$name" 2>/dev/null || echo none)" = 0 ]; then
            die "COLPALI_NGINX_USER=$COLPALI_NGINX_USER: nginx workers must not run as root; name an unprivileged user"
        fi
        # "user" alone: the socket's group when one is set (nginx would use the group named like the user).
        if [[ "$COLPALI_NGINX_USER" != *" "* ]] && [ -n "$socket_group" ]; then
            printf '%s %s\n' "$COLPALI_NGINX_USER" "$socket_group"
        else
            printf '%s\n' "$COLPALI_NGINX_USER"
        fi
        return
    fi
    local dir="$run_dir"
    while [ "$dir" != / ]; do
        if [ -d "$dir" ] && [ $(( $(stat -c '%a' "$dir") & 1 )) -eq 0 ]; then
            die "$dir is not traversable by other users, so unprivileged nginx workers could not reach the pool's socket; nginx workers never run as root: make it traversable (chmod o+x $dir), put COLPALI_RUN_DIR elsewhere, or set COLPALI_NGINX_USER to a user that can reach it"
        fi
        dir="$(dirname "$dir")"
    done
    printf 'nobody %s\n' "${socket_group:-nogroup}"
}

http_port="$(port_or_off COLPALI_HTTP_PORT "${COLPALI_HTTP_PORT:-7000}")"
https_port="$(port_or_off COLPALI_HTTPS_PORT "${COLPALI_HTTPS_PORT:-7443}")"
max_body="$(body_limit "${COLPALI_MAX_REQUEST_BYTES:-64m}")"
rate="${COLPALI_RATE_LIMIT:-20r/s}"
[ "${rate,,}" = off ] || [[ "$rate" =~ ^[0-9]+r/[sm]$ ]] || die "COLPALI_RATE_LIMIT=$rate: expected e.g. 20r/s, 600r/m or off"
burst="${COLPALI_RATE_BURST:-40}"
[[ "$burst" =~ ^[0-9]+$ ]] || die "COLPALI_RATE_BURST=$burst: expected a number"
image_rate="${COLPALI_IMAGE_RATE_LIMIT:-2r/s}"
[ "${image_rate,,}" = off ] || [[ "$image_rate" =~ ^[0-9]+r/[sm]$ ]] || die "COLPALI_IMAGE_RATE_LIMIT=$image_rate: expected e.g. 2r/s, 60r/m or off"
image_burst="${COLPALI_IMAGE_RATE_BURST:-4}"
[[ "$image_burst" =~ ^[0-9]+$ ]] || die "COLPALI_IMAGE_RATE_BURST=$image_burst: expected a number"
conn="${COLPALI_CONN_LIMIT:-32}"
[ "${conn,,}" = off ] || [[ "$conn" =~ ^[1-9][0-9]*$ ]] || die "COLPALI_CONN_LIMIT=$conn: expected a positive number or off"
timeout="${COLPALI_UPSTREAM_TIMEOUT:-300}"
[[ "$timeout" =~ ^[1-9][0-9]*$ ]] || die "COLPALI_UPSTREAM_TIMEOUT=$timeout: expected seconds"
# Several pools (COLPALI_UPSTREAMS non-blank): passive health for each host.
hosts_variable=""
[[ ! "${COLPALI_UPSTREAMS:-}" =~ [^[:space:]] ]] || hosts_variable=COLPALI_UPSTREAMS
max_fails="${COLPALI_UPSTREAM_MAX_FAILS:-1}"
[[ "$max_fails" =~ ^[0-9]+$ ]] || die "COLPALI_UPSTREAM_MAX_FAILS=$max_fails: expected a number of failed attempts (0: never mark a host down)"
fail_timeout="${COLPALI_UPSTREAM_FAIL_TIMEOUT:-10s}"
[[ "$fail_timeout" =~ ^[1-9][0-9]*(ms|s|m|h)?$ ]] || die "COLPALI_UPSTREAM_FAIL_TIMEOUT=$fail_timeout: expected a time like 10s, 500ms or 1m"
path_prefix="${COLPALI_PATH_PREFIX:-}"
path_prefix="${path_prefix%/}"
[ -z "$path_prefix" ] || [[ "$path_prefix" =~ ^/[A-Za-z0-9._~/-]+$ ]] || die "COLPALI_PATH_PREFIX=$path_prefix: expected a path like /colpali"
access_log="${COLPALI_NGINX_ACCESS_LOG:-/dev/stdout}"
[ "$access_log" = off ] || access_log="$access_log colmodernvbert"

nginx_bin="${COLPALI_NGINX_BIN:-}"
if [ -z "$nginx_bin" ]; then
    nginx_bin="$(command -v nginx || true)"
    [ -n "$nginx_bin" ] || { [ -x /usr/sbin/nginx ] && nginx_bin=/usr/sbin/nginx; } || die "nginx not found (install it or set COLPALI_NGINX_BIN)"
fi
# After this script's own checks, so their messages come first.
values="$(nginx_values)"
upstreams=()
overflow=""
metrics_upstream=""
metrics_access=""
while IFS=' ' read -r key value; do
    case "$key" in
        upstream) upstreams+=("$value") ;;
        overflow) overflow="$value" ;;
        metrics) metrics_upstream="$value" ;;
        metrics-access) metrics_access="$value" ;;
    esac
done <<< "$values"
((${#upstreams[@]})) || die "the service binary named no upstream (colmodernvbert config nginx printed: $values)"
upstream="${upstreams[0]}"
upstream_servers=""
if [ -n "$hosts_variable" ]; then
    upstream="$(IFS=,; printf '%s' "${upstreams[*]}")"
    upstream="${upstream//,/, }"
    for address in "${upstreams[@]}"; do
        upstream_servers+="${upstream_servers:+$'\n'}    server $address max_fails=$max_fails fail_timeout=$fail_timeout;"
    done
fi

# --- rendering ------------------------------------------------------------------

# render TEMPLATE OUTPUT KEY=VALUE... : replaces @@KEY@@; lines starting with @@IF_X@@
# are kept (marker removed) when IF_X=1 is given, dropped otherwise.
render() {
    local template="$1" output="$2"
    shift 2
    local script=() pair key value
    for pair in "$@"; do
        key="${pair%%=*}"
        value="${pair#*=}"
        if [[ "$key" == IF_* ]]; then
            if [ "$value" = 1 ]; then script+=(-e "s|^@@$key@@||"); else script+=(-e "/^@@$key@@/d"); fi
        else
            value="${value//\\/\\\\}"
            value="${value//|/\\|}"
            value="${value//&/\\&}"
            value="${value//$'\n'/\\$'\n'}"
            script+=(-e "s|@@$key@@|$value|g")
        fi
    done
    sed "${script[@]}" "$template" > "$output.tmp"
    if grep -q '@@[A-Z_]*@@' "$output.tmp"; then
        die "unrendered placeholder in $output: $(grep -o '@@[A-Z_]*@@' "$output.tmp" | sort -u | tr '\n' ' ')"
    fi
    mv "$output.tmp" "$output"
}

render_includes() { # DIR
    local dir="$1" location="/" request_uri='$request_uri' if_prefix=0
    if [ -n "$path_prefix" ]; then
        location="^~ $path_prefix/"
        request_uri='$uri$is_args$args'
        if_prefix=1
    fi
    local rate_on=1 image_rate_on=1 conn_on=1 burst_params="" image_burst_params="" overflow_on=0
    # A burst of 0 is nginx's default and must not be written out ("burst=0" is rejected).
    ((burst == 0)) || burst_params=" burst=$burst nodelay"
    ((image_burst == 0)) || image_burst_params=" burst=$image_burst nodelay"
    [ "${rate,,}" != off ] || rate_on=0
    [ "${image_rate,,}" != off ] || image_rate_on=0
    [ "${conn,,}" != off ] || conn_on=0
    [ -z "$overflow" ] || overflow_on=1
    local hosts_on=0
    [ -z "$hosts_variable" ] || hosts_on=1
    render "$templates/colmodernvbert-http.conf.template" "$dir/colmodernvbert-http.conf" \
        IF_LOCAL=$((1 - hosts_on)) UPSTREAM="$upstream" IF_OVERFLOW=$overflow_on OVERFLOW="$overflow" \
        IF_HOSTS=$hosts_on UPSTREAM_SERVERS="$upstream_servers" IF_RATE=$rate_on RATE_LIMIT="$rate" \
        IF_IMAGE_RATE=$image_rate_on IMAGE_RATE_LIMIT="$image_rate" IF_CONN=$conn_on
    render "$templates/colmodernvbert-locations.conf.template" "$dir/colmodernvbert-locations.conf" \
        LOCATION="$location" IF_PREFIX=$if_prefix IF_WHOLE=$((1 - if_prefix)) PATH_PREFIX="$path_prefix" REQUEST_URI="$request_uri" \
        IF_RATE=$rate_on RATE_BURST="$burst_params" IF_IMAGE_RATE=$image_rate_on IMAGE_RATE_BURST="$image_burst_params" \
        IF_ANY_RATE=$((rate_on | image_rate_on)) IF_CONN=$conn_on CONN_LIMIT="$conn" \
        MAX_BODY="$max_body" UPSTREAM_TIMEOUT="$timeout" \
        IF_METRICS=$([ -n "$metrics_upstream" ] && echo 1 || echo 0) METRICS_UPSTREAM="$metrics_upstream" METRICS_ACCESS="$metrics_access"
}

# A self-signed certificate for first runs, kept in the state dir across restarts.
ensure_certificate() {
    if [ -n "${COLPALI_TLS_CERT:-}" ] || [ -n "${COLPALI_TLS_KEY:-}" ]; then
        [ -r "${COLPALI_TLS_CERT:-}" ] && [ -r "${COLPALI_TLS_KEY:-}" ] \
            || die "COLPALI_TLS_CERT and COLPALI_TLS_KEY must both name readable PEM files"
        tls_cert="$(absolute "$COLPALI_TLS_CERT")"
        tls_key="$(absolute "$COLPALI_TLS_KEY")"
        return
    fi
    tls_cert="$state_dir/tls/selfsigned.crt"
    tls_key="$state_dir/tls/selfsigned.key"
    [ -s "$tls_cert" ] && [ -s "$tls_key" ] && return
    command -v openssl >/dev/null || die "openssl is needed to make a self-signed certificate (or set COLPALI_TLS_CERT/KEY)"
    mkdir -p "$state_dir/tls"
    chmod 700 "$state_dir/tls"
    log "generating a self-signed certificate in $state_dir/tls (set COLPALI_TLS_CERT/KEY to use your own)"
    (umask 077 && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 825 \
        -subj "/CN=localhost" -addext "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1" \
        -keyout "$tls_key.tmp" -out "$tls_cert.tmp" 2>/dev/null) || die "openssl could not make a certificate"
    mv "$tls_key.tmp" "$tls_key"
    mv "$tls_cert.tmp" "$tls_cert"
}

render_standalone() {
    [ "$http_port" != off ] || [ "$https_port" != off ] || die "COLPALI_HTTP_PORT and COLPALI_HTTPS_PORT are both off"
    mkdir -p "$prefix/tmp"
    tls_cert="" tls_key=""
    [ "$https_port" = off ] || ensure_certificate
    local user if_user=0
    user="$(nginx_user)"
    [ -z "$user" ] || if_user=1
    render_includes "$prefix"
    render "$templates/nginx.conf.template" "$prefix/nginx.conf" \
        IF_USER=$if_user NGINX_USER="$user" NGINX_WORKERS="${COLPALI_NGINX_WORKERS:-auto}" \
        PREFIX="$prefix" ERROR_LOG_LEVEL="${COLPALI_NGINX_LOG_LEVEL:-warn}" ACCESS_LOG="$access_log" \
        SHUTDOWN_TIMEOUT="$((timeout + 30))" BIND_ADDRESS="${COLPALI_BIND_ADDRESS:-127.0.0.1}" \
        IF_HTTP=$([ "$http_port" = off ] && echo 0 || echo 1) HTTP_PORT="$http_port" \
        IF_HTTPS=$([ "$https_port" = off ] && echo 0 || echo 1) HTTPS_PORT="$https_port" \
        TLS_CERT="$tls_cert" TLS_KEY="$tls_key"
}

check() {
    "$nginx_bin" -t -q -e stderr -p "$prefix/" -c "$prefix/nginx.conf" \
        || die "nginx rejected $prefix/nginx.conf"
}

case "${1:-}" in
    render)
        render_standalone
        printf '%s\n' "$prefix/nginx.conf"
        ;;
    check)
        render_standalone
        check
        log "configuration OK: $prefix/nginx.conf"
        ;;
    run)
        render_standalone
        # No `nginx -t` first: nginx validates the same configuration as it starts and exits 1
        # naming the file and line, while `nginx -t` binds and listens on the ports for a moment,
        # so a readiness probe could connect to that short-lived listener and the first request
        # after it be refused (seen in CI: run.sh's probe, then "connection refused").
        listening=()
        [ "$http_port" = off ] || listening+=("http://${COLPALI_BIND_ADDRESS:-127.0.0.1}:$http_port")
        [ "$https_port" = off ] || listening+=("https://${COLPALI_BIND_ADDRESS:-127.0.0.1}:$https_port")
        log "nginx on ${listening[*]} -> $upstream (body limit $max_body, rate $rate, image rate $image_rate, connections $conn${overflow:+, overload answer $overflow})"
        exec "$nginx_bin" -e stderr -p "$prefix/" -c "$prefix/nginx.conf"
        ;;
    snippet)
        [ -n "${2:-}" ] || die "usage: $0 snippet OUTPUT_DIR"
        mkdir -p "$2"
        render_includes "$2"
        log "wrote $2/colmodernvbert-http.conf (include inside http {}) and $2/colmodernvbert-locations.conf (include inside server {})"
        ;;
    *)
        sed -n '2,8p' "$0" >&2
        exit 2
        ;;
esac
