#!/usr/bin/env python3
"""A mock Hugging Face hub for the Hub module's tests (loopback only, stdlib only).

Serves folders of files as hub repositories with the endpoints and headers that
huggingface_hub and our Swift client use:

  GET  /api/models/{repo}/revision/{rev}     JSON {"id", "sha", "siblings": [{"rfilename"}]}
  HEAD /{repo}/resolve/{rev}/{file}          X-Repo-Commit, ETag (git blob sha1), Content-Length;
                                             LFS files (by suffix): 302 to a second "CDN" server on
                                             another port, with X-Linked-Etag (sha256), X-Linked-Size
  GET  /{repo}/resolve/{rev}/{file}          the same, with the body (Range supported)
  GET  cdn /cdn/{repo}/{sha256}              LFS bytes, Range supported

Errors carry X-Error-Code like the real hub: RepoNotFound, RevisionNotFound,
EntryNotFound, GatedRepo (on a gated repo's files: 401 without a token, 403 with a
wrong one; its model-info call is public, as on the real hub).

Fault injection per file (config "faults"): fail_times (first N CDN GETs answer
fail_status, default 503), drop_after (the first drop_times CDN GETs send only that
many body bytes and then close the connection), corrupt (one byte flipped, on the CDN
for LFS files and on the hub for the others), advertise_size (X-Linked-Size lies),
throttle (bytes/s on the CDN). Hostile servers: location (the LFS redirect's Location,
any scheme), cdn_redirect (the CDN answers its GETs with a 302 to this Location),
hide_size (no X-Linked-Size on the LFS redirect), no_length (the CDN sends no
Content-Length and ends the body by closing the connection), extra_bytes (the CDN
appends that many bytes, counted in its Content-Length). "api_fail_times" makes the
first N model-info calls answer 503.

Usage: mock_hub.py CONFIG.json  -> prints {"hub": PORT, "cdn": PORT, "commits": {repo: sha},
"etags": {repo: {file: blob name}}} on one line,
then serves until stdin closes or it is killed. Every request is appended to config["log"] as a JSON line,
before its response is sent: {"server", "method", "path", "range", "authorization", "status", "sent"}
("sent": body bytes the response carries, fewer than announced for an injected drop).
"""

import hashlib
import json
import os
import signal
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote, unquote, urlsplit

CHUNK = 64 * 1024


class Repo:
    def __init__(self, repo_id, spec):
        self.id = repo_id
        self.dir = spec["dir"]
        self.token = spec.get("token")
        self.lfs_suffixes = tuple(spec.get("lfs_suffixes", [".safetensors", ".bin"]))
        self.faults = spec.get("faults", {})
        self.files = {}
        for root, _, names in os.walk(self.dir):
            for name in names:
                path = os.path.join(root, name)
                rel = os.path.relpath(path, self.dir).replace(os.sep, "/")
                with open(path, "rb") as f:
                    data = f.read()
                self.files[rel] = data
        listing = "\n".join(f"{k}:{hashlib.sha1(v).hexdigest()}" for k, v in sorted(self.files.items()))
        self.commit = spec.get("commit") or hashlib.sha1(f"{repo_id}\n{listing}".encode()).hexdigest()
        self.branches = {"main": self.commit, **spec.get("branches", {})}
        self.by_sha256 = {hashlib.sha256(v).hexdigest(): k for k, v in self.files.items() if self.is_lfs(k)}
        self.cdn_gets = {}
        self.lock = threading.Lock()

    def is_lfs(self, name):
        return name.endswith(self.lfs_suffixes)

    def resolve_revision(self, rev):
        if rev == self.commit:
            return self.commit
        return self.branches.get(rev)

    @staticmethod
    def git_sha1(data):
        return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()

    def next_cdn_get(self, name):
        with self.lock:
            count = self.cdn_gets.get(name, 0) + 1
            self.cdn_gets[name] = count
            return count


class State:
    def __init__(self, config):
        self.repos = {rid: Repo(rid, spec) for rid, spec in config["repos"].items()}
        self.log_path = config["log"]
        self.log_lock = threading.Lock()
        self.api_fail_times = config.get("api_fail_times", 0)
        self.api_calls = 0
        self.cdn_port = None

    def record(self, entry):
        with self.log_lock:
            with open(self.log_path, "a") as f:
                f.write(json.dumps(entry) + "\n")


def parse_range(header, total):
    """'bytes=S-' or 'bytes=S-E' -> (start, end inclusive) or None; 'unsatisfiable' past the end."""
    if not header or not header.startswith("bytes="):
        return None
    first, _, last = header[len("bytes="):].partition("-")
    start = int(first)
    end = int(last) if last else total - 1
    if start >= total:
        return "unsatisfiable"
    return start, min(end, total - 1)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; without TCP_NODELAY each keep-alive
    # request would wait ~40 ms for a delayed ACK.
    disable_nagle_algorithm = True
    server_kind = "hub"
    state: State = None

    def log_message(self, *args):  # keep test output clean
        pass

    def do_HEAD(self):
        self.handle_request(head=True)

    def do_GET(self):
        self.handle_request(head=False)

    # -- plumbing -------------------------------------------------------------

    def handle_request(self, head):
        if self.server_kind == "cdn":
            self.serve_cdn(head)
        else:
            self.serve_hub(head)

    def record(self, status, sent):
        """Log the request before any of its response goes out, so a client that has
        finished reading always finds its request in the log. `sent` is the number of body
        bytes this response sends (fewer for an injected drop)."""
        self.state.record({
            "server": self.server_kind,
            "method": self.command,
            "path": self.path,
            "range": self.headers.get("Range"),
            "authorization": self.headers.get("Authorization"),
            "status": status,
            "sent": sent,
        })

    def reply(self, status, headers=None, body=b"", head=False):
        self.record(status, 0 if head else len(body))
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, str(value))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head and body:
            self.wfile.write(body)

    def error(self, status, code, message, extra=None, head=False):
        headers = {"X-Error-Code": code, "X-Error-Message": message, "Content-Type": "application/json"}
        headers.update(extra or {})
        self.reply(status, headers, json.dumps({"error": message}).encode(), head=head)

    def check_auth(self, repo, head):
        if repo.token is None:
            return True
        auth = self.headers.get("Authorization")
        if auth is None:
            self.error(401, "GatedRepo", f"Access to model {repo.id} is restricted. You must be authenticated.",
                       head=head)
            return False
        if auth != f"Bearer {repo.token}":
            self.error(403, "GatedRepo", f"Access to model {repo.id} is restricted and you are not in the authorized list.",
                       head=head)
            return False
        return True

    def send_bytes(self, data, status, headers, head, drop_after=None, throttle=None, no_length=False):
        """Send data (already range-sliced); optionally cut the connection after drop_after bytes,
        or (no_length) announce no length and end the body by closing the connection."""
        limit = len(data) if drop_after is None else min(drop_after, len(data))
        self.record(status, 0 if head else limit)
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, str(value))
        if no_length:
            self.send_header("Connection", "close")
            self.close_connection = True
        else:
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if head:
            return
        position = 0
        while position < limit:
            chunk = data[position:min(position + CHUNK, limit)]
            self.wfile.write(chunk)
            position += len(chunk)
            if throttle:
                self.wfile.flush()
                time.sleep(len(chunk) / throttle)
        self.wfile.flush()
        if drop_after is not None and limit < len(data):
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def ranged(self, data, base_headers, head, **kwargs):
        rng = parse_range(self.headers.get("Range"), len(data))
        if rng == "unsatisfiable":
            self.reply(416, {"Content-Range": f"bytes */{len(data)}"}, head=head)
            return
        headers = dict(base_headers)
        headers["Accept-Ranges"] = "bytes"
        if rng is None:
            self.send_bytes(data, 200, headers, head, **kwargs)
        else:
            start, end = rng
            headers["Content-Range"] = f"bytes {start}-{end}/{len(data)}"
            self.send_bytes(data[start:end + 1], 206, headers, head, **kwargs)

    # -- hub ------------------------------------------------------------------

    def serve_hub(self, head):
        path = urlsplit(self.path).path
        if path.startswith("/api/models/"):
            return self.serve_model_info(path[len("/api/models/"):], head)
        if "/resolve/" in path:
            return self.serve_resolve(path, head)
        self.error(404, "NotFound", "no such endpoint", head=head)

    def find_repo(self, repo_id, head):
        repo = self.state.repos.get(repo_id)
        if repo is None:
            self.error(404, "RepoNotFound", "Repository not found", head=head)
        return repo

    def serve_model_info(self, rest, head):
        self.state.api_calls += 1
        if self.state.api_calls <= self.state.api_fail_times:
            return self.reply(503, {"Retry-After": "0"}, b"busy", head=head)
        repo_id, _, rev = rest.partition("/revision/")
        rev = unquote(rev) if rev else "main"
        repo = self.find_repo(repo_id, head)
        # Like the real hub, a gated repo's metadata is public; only its files need the token.
        if repo is None:
            return
        commit = repo.resolve_revision(rev)
        if commit is None:
            return self.error(404, "RevisionNotFound", f"Invalid rev id: {rev}", head=head)
        body = json.dumps({
            "id": repo.id, "modelId": repo.id, "sha": commit, "private": False,
            "gated": "manual" if repo.token else False,
            "siblings": [{"rfilename": name} for name in sorted(repo.files)],
        }).encode()
        self.reply(200, {"Content-Type": "application/json"}, body, head=head)

    def serve_resolve(self, path, head):
        repo_id, _, rest = path.lstrip("/").partition("/resolve/")
        rev, _, filename = rest.partition("/")
        rev, filename = unquote(rev), unquote(filename)
        repo = self.find_repo(repo_id, head)
        if repo is None or not self.check_auth(repo, head):
            return
        commit = repo.resolve_revision(rev)
        if commit is None:
            return self.error(404, "RevisionNotFound", f"Invalid rev id: {rev}", head=head)
        data = repo.files.get(filename)
        if data is None:
            return self.error(404, "EntryNotFound", f"{filename} does not exist", {"X-Repo-Commit": commit}, head=head)
        fault = repo.faults.get(filename, {})
        if repo.is_lfs(filename):
            sha = hashlib.sha256(data).hexdigest()
            size = fault.get("advertise_size", len(data))
            location = f"http://127.0.0.1:{self.state.cdn_port}/cdn/{quote(repo.id)}/{sha}?expires=9999999999&sig=mock"
            headers = {
                "Location": fault.get("location", location), "X-Repo-Commit": commit, "X-Linked-Etag": f'"{sha}"',
                "X-Linked-Size": size, "ETag": f'"{sha}"',
            }
            if fault.get("hide_size"):
                del headers["X-Linked-Size"]
            return self.reply(302, headers, head=head)
        headers = {"X-Repo-Commit": commit, "ETag": f'"{Repo.git_sha1(data)}"', "Content-Type": "application/octet-stream"}
        if fault.get("corrupt"):
            data = flip_middle_byte(data)
        self.ranged(data, headers, head)

    # -- cdn ------------------------------------------------------------------

    def serve_cdn(self, head):
        path = urlsplit(self.path).path
        parts = path.split("/")
        # /cdn/<ns>%2F<name>/<sha>  or /cdn/<ns>/<name>/<sha>
        if len(parts) < 4 or parts[1] != "cdn":
            return self.reply(404, {}, b"no such object", head=head)
        repo_id, sha = unquote("/".join(parts[2:-1])), parts[-1]
        repo = self.state.repos.get(repo_id)
        name = repo.by_sha256.get(sha) if repo else None
        if name is None:
            return self.reply(404, {}, b"no such object", head=head)
        data = repo.files[name]
        fault = repo.faults.get(name, {})
        count = repo.next_cdn_get(name) if not head else 0
        if not head and count <= fault.get("fail_times", 0):
            return self.reply(fault.get("fail_status", 503), {"Retry-After": "0"}, b"try again", head=head)
        if "cdn_redirect" in fault:
            return self.reply(302, {"Location": fault["cdn_redirect"]}, head=head)
        if fault.get("corrupt"):
            data = flip_middle_byte(data)
        if fault.get("extra_bytes"):
            data = data + bytes(fault["extra_bytes"])
        drop_after = None
        if not head and "drop_after" in fault and count - fault.get("fail_times", 0) <= fault.get("drop_times", 1):
            drop_after = fault["drop_after"]
        throttle = fault.get("throttle")
        headers = {"ETag": f'"{sha}"', "Content-Type": "application/octet-stream"}
        self.ranged(data, headers, head, drop_after=drop_after, throttle=throttle, no_length=fault.get("no_length", False))


def flip_middle_byte(data):
    middle = len(data) // 2
    return data[:middle] + bytes([data[middle] ^ 0xFF]) + data[middle + 1:]


class QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        # A client that aborts a transfer on purpose (size limits, cancellation) is no error.
        if isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            return
        super().handle_error(request, client_address)


def make_server(state, kind):
    handler = type(f"{kind.title()}Handler", (Handler,), {"server_kind": kind, "state": state})
    server = QuietServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    return server


def main():
    with open(sys.argv[1]) as f:
        config = json.load(f)
    state = State(config)
    hub = make_server(state, "hub")
    cdn = make_server(state, "cdn")
    state.cdn_port = cdn.server_address[1]
    for server in (hub, cdn):
        threading.Thread(target=server.serve_forever, daemon=True).start()
    etags = {rid: {name: (hashlib.sha256(data).hexdigest() if r.is_lfs(name) else Repo.git_sha1(data))
                   for name, data in r.files.items()} for rid, r in state.repos.items()}
    print(json.dumps({"hub": hub.server_address[1], "cdn": cdn.server_address[1],
                      "commits": {rid: r.commit for rid, r in state.repos.items()}, "etags": etags}), flush=True)
    try:
        # Exit when the test process closes our stdin (or kills us).
        sys.stdin.read()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    # A parent may spawn us from a thread that blocks signals (libdispatch's threads do), and
    # the mask is inherited: unblock the ones that must stop us.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT, signal.SIGHUP})
    main()
