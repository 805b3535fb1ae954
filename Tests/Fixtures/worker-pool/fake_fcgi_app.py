"""A minimal FastCGI responder standing in for the real worker in pool/nginx tests.

Two modes:
- worker (COLPALI_WORKER_READY_FD set, as the Supervisor starts it): accepts on the
  inherited fd 0 and writes "ready\n" to the readiness descriptor;
- stand-in master (otherwise): binds COLPALI_LISTEN (unix:/path) itself, as
  `colmodernvbert serve` would, for testing scripts/run.sh without the real service.

Routes: /echo (the FastCGI params and body size as JSON), /big (a ~300 KB JSON answer,
for gzip), /slow?ms=N[&mark=FILE] (creates FILE, answers after N ms: drain tests), /status/NNN (that status
with a JSON body). SIGTERM/SIGINT: stop accepting, finish requests in flight, exit 0.
Standard library only.
"""
import json
import os
import signal
import socket
import struct
import sys
import threading
import time
import urllib.parse

BEGIN_REQUEST, END_REQUEST, PARAMS, STDIN, STDOUT = 1, 3, 4, 5, 6
stopping = threading.Event()
active = []
active_lock = threading.Lock()


def read_exact(conn, n):
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data


def read_record(conn):
    version, kind, request_id, length, padding, _ = struct.unpack("!BBHHBB", read_exact(conn, 8))
    content = read_exact(conn, length) if length else b""
    if padding:
        read_exact(conn, padding)
    return kind, request_id, content


def parse_pairs(data):
    pairs, i = {}, 0
    def length():
        nonlocal i
        if data[i] < 128:
            i += 1
            return data[i - 1]
        value = struct.unpack("!I", data[i:i + 4])[0] & 0x7FFFFFFF
        i += 4
        return value
    while i < len(data):
        name_len = length()
        value_len = length()
        name = data[i:i + name_len].decode("latin-1")
        i += name_len
        pairs[name] = data[i:i + value_len].decode("latin-1")
        i += value_len
    return pairs


def write_record(conn, kind, request_id, content):
    for start in range(0, max(len(content), 1), 65535):
        chunk = content[start:start + 65535]
        conn.sendall(struct.pack("!BBHHBB", 1, kind, request_id, len(chunk), 0, 0) + chunk)


def respond(params, body):
    path = params.get("DOCUMENT_URI", "")
    query = urllib.parse.parse_qs(params.get("QUERY_STRING", ""))
    status = 200
    if path == "/echo":
        keys = ["REQUEST_METHOD", "CONTENT_TYPE", "CONTENT_LENGTH", "DOCUMENT_URI", "REQUEST_URI",
                "QUERY_STRING", "HTTPS", "REQUEST_SCHEME", "HTTP_X_TEST", "REMOTE_ADDR", "REQUEST_ID"]
        payload = {key: params.get(key) for key in keys}
        payload["body_bytes"] = len(body)
        payload["pid"] = os.getpid()
    elif path == "/big":
        payload = {"embeddings": [[[round(0.001 * (i * 7 % 1000), 3) for i in range(128)] for _ in range(300)]]}
    elif path == "/slow":
        if "mark" in query:  # tells a test the request has reached a worker
            open(query["mark"][0], "w").close()
        time.sleep(int(query.get("ms", ["500"])[0]) / 1000)
        payload = {"slept": True, "pid": os.getpid()}
    elif path.startswith("/status/"):
        status = int(path.rsplit("/", 1)[1])
        payload = {"detail": "status %d from the app" % status}
    else:
        status = 404
        payload = {"detail": "Not Found"}
    text = json.dumps(payload).encode()
    head = "Status: %d\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % (status, len(text))
    return head.encode() + text


def serve_connection(conn):
    try:
        params_data, body, request_id = b"", b"", 1
        while True:
            kind, request_id, content = read_record(conn)
            if kind == PARAMS:
                params_data += content
            elif kind == STDIN:
                if not content:
                    break
                body += content
        answer = respond(parse_pairs(params_data), body)
        write_record(conn, STDOUT, request_id, answer)
        write_record(conn, STDOUT, request_id, b"")
        write_record(conn, END_REQUEST, request_id, struct.pack("!IB3x", 0, 0))
    except (EOFError, OSError):
        pass
    finally:
        conn.close()
        with active_lock:
            active.remove(threading.current_thread())


def main():
    ready_fd = os.environ.get("COLPALI_WORKER_READY_FD")
    path = None
    if ready_fd is not None:
        listener = socket.socket(fileno=0)
    else:
        listen = os.environ.get("COLPALI_LISTEN", "")
        if not listen.startswith("unix:"):
            sys.exit("stand-in master needs COLPALI_LISTEN=unix:/path")
        path = listen[len("unix:"):]
        if os.path.exists(path):
            os.unlink(path)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(path)
        os.chmod(path, 0o666)
        listener.listen(128)
    listener.settimeout(0.1)

    def stop(signum, frame):
        stopping.set()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if ready_fd is not None:
        os.write(int(ready_fd), b"ready\n")
        os.close(int(ready_fd))
    print("fake-fcgi-app %d: serving (%s)" % (os.getpid(), "worker" if path is None else path), file=sys.stderr, flush=True)

    while not stopping.is_set():
        try:
            conn, _ = listener.accept()
        except socket.timeout:
            continue
        except InterruptedError:
            continue
        conn.settimeout(None)
        thread = threading.Thread(target=serve_connection, args=(conn,), daemon=True)
        with active_lock:
            active.append(thread)
        thread.start()
    listener.close()
    if path is not None and os.path.exists(path):
        os.unlink(path)
    with active_lock:
        remaining = list(active)
    for thread in remaining:
        thread.join()
    print("fake-fcgi-app %d: drained, exiting" % os.getpid(), file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
