#!/usr/bin/env python3
"""Soak test: mixed traffic through nginx for a bounded time while workers are killed at
random (SIGKILL) and the pool is rolled (SIGHUP), then a report.

    scripts/soak.py [--seconds 60] [--clients 4] [--workers 2] [--kill-every 7] [--roll-every 19]
                    [--max-requests 100000] [--binary .build/debug/colmodernvbert] [--model DIR]

It starts its own instance (`colmodernvbert serve` and `scripts/nginx.sh run`) on free
loopback ports with a private run directory, like the integration tests, on the tiny test
checkpoint unless --model says otherwise. Traffic: queries, page images, bad inputs (each
with the status it must get), /health, and clients that hang up before the answer.

Report: requests sent / ok / failed; failures outside the requests in flight at a kill
(a request is in flight at a kill when its time overlaps the kill, from the signal until the
victim has exited, since a dying worker may still accept a connection; rolls are
graceful, so a failure during a roll counts as outside); the pool's memory (PSS of master +
workers, so pages they share count once) after warm-up and at the end. Exits 1 if any
failure is outside a kill, if the memory grew by more than --rss-tolerance (default 10 %),
or if the service did not stay up.
Only loopback addresses are used; every loop is bounded by --seconds and --max-requests.
"""

import argparse
import http.client
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "Tests", "Fixtures")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def children(pid):
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                if int(fields[1]) == pid:
                    out.append(int(entry))
            except OSError:
                pass
    return out


def exited(pid):
    """True once `pid` is gone or a zombie (dead, not yet reaped by the master)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except OSError:
        return True


def pss_kib(pid):
    """Proportional set size: shared pages (the mapped checkpoint, the shared derived weights)
    are split between the processes mapping them, so the pool's sum does not grow when a
    replacement worker maps what its sibling already has."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def multipart(files):
    boundary = "soak%016x" % random.getrandbits(64)
    body = b""
    for name, filename, ctype, data in files:
        body += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{filename}\"\r\n"
                 f"Content-Type: {ctype}\r\n\r\n").encode() + data + b"\r\n"
    body += f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


class Traffic:
    def __init__(self, port):
        self.port = port
        with open(os.path.join(FIXTURES, "images", "sources", "size_page_850x1100.jpg"), "rb") as f:
            page = f.read()
        with open(os.path.join(FIXTURES, "images", "sources", "png_1x1.png"), "rb") as f:
            tiny = f.read()
        page_body, page_type = multipart([("files", "page.jpg", "image/jpeg", page)])
        two_body, two_type = multipart([("files", "a.png", "image/png", tiny), ("files", "b.jpg", "image/jpeg", page)])
        junk_body, junk_type = multipart([("files", "junk.png", "image/png", b"\x89PNG not really")])
        text_body, text_type = multipart([("files", "notes.txt", "text/plain", b"hello")])
        words = ["revenue", "2023", "table", "chart", "invoice", "total", "quarterly", "results", "figure"]
        # kind -> (weight, method, path, body factory, content type, expected status)
        self.kinds = {
            "query": (40, "POST", "/embed/queries",
                      lambda: json.dumps({"queries": [" ".join(random.sample(words, 3)) for _ in range(random.randint(1, 4))]}).encode(),
                      "application/json", 200),
            "page": (10, "POST", "/embed/images", lambda: page_body, page_type, 200),
            "two-images": (5, "POST", "/embed/images", lambda: two_body, two_type, 200),
            "health": (10, "GET", "/health", lambda: None, None, 200),
            "bad-json": (8, "POST", "/embed/queries", lambda: b'{"queries": [1, 2', "application/json", 422),
            "no-queries": (5, "POST", "/embed/queries", lambda: b'{"queries": []}', "application/json", 400),
            "bad-image": (6, "POST", "/embed/images", lambda: junk_body, junk_type, 400),
            "not-an-image": (4, "POST", "/embed/images", lambda: text_body, text_type, 400),
            "hang-up": (6, "POST", "/embed/images", lambda: page_body, page_type, None),
        }
        self.names = list(self.kinds)
        self.weights = [self.kinds[k][0] for k in self.names]

    def one(self, kind):
        """(ok, detail) for one request of `kind`."""
        _, method, path, body_factory, ctype, expected = self.kinds[kind]
        body = body_factory()
        if expected is None:  # send the whole request, then hang up before the answer
            s = socket.create_connection(("127.0.0.1", self.port), timeout=10)
            try:
                head = (f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {ctype}\r\n"
                        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()
                s.sendall(head + body)
                time.sleep(random.uniform(0.05, 0.5))
            finally:
                s.close()
            return True, "hung up"
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        try:
            headers = {"Content-Type": ctype} if ctype else {}
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
            if response.status != expected:
                return False, f"{kind}: {response.status} {data[:120]!r}"
            if expected == 200 and path != "/health":
                json.loads(data)
            return True, ""
        except Exception as error:  # noqa: BLE001 - every transport error is a failure to report
            return False, f"{kind}: {type(error).__name__}: {error}"
        finally:
            conn.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--kill-every", type=float, default=7)
    parser.add_argument("--roll-every", type=float, default=19)
    parser.add_argument("--max-requests", type=int, default=100000)
    parser.add_argument("--rss-tolerance", type=float, default=0.10)
    parser.add_argument("--binary", default=os.path.join(ROOT, ".build", "debug", "colmodernvbert"))
    parser.add_argument("--model", default=os.path.join(FIXTURES, "tiny-model"))
    parser.add_argument("--threads", type=int, default=1, help="CPU_THREADS per worker")
    args = parser.parse_args()

    work = tempfile.mkdtemp(prefix="colpali-soak-")
    # nginx's unprivileged workers must be able to traverse to the pool's socket.
    os.chmod(work, 0o755)
    run = os.path.join(work, "run")
    os.makedirs(run)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COLPALI_", "HF_", "HUGGING"))}
    env.update({
        "COLPALI_RUN_DIR": run, "COLPALI_LISTEN": f"unix:{run}/pool.sock", "COLPALI_MODEL_ID": args.model,
        "COLPALI_WORKERS": str(args.workers), "CPU_THREADS": str(args.threads), "HF_HOME": os.path.join(work, "hf"),
        "COLPALI_BIND_ADDRESS": "127.0.0.1", "COLPALI_HTTP_PORT": str(port), "COLPALI_HTTPS_PORT": "off",
        "COLPALI_RATE_LIMIT": "off", "COLPALI_IMAGE_RATE_LIMIT": "off", "COLPALI_CONN_LIMIT": "off",
        "COLPALI_NGINX_ACCESS_LOG": "off",
        "COLPALI_NGINX_WORKERS": "1", "COLPALI_BINARY": args.binary,
    })
    master_log = open(os.path.join(work, "master.log"), "wb")
    nginx_log = open(os.path.join(work, "nginx.log"), "wb")
    master = subprocess.Popen([args.binary, "serve"], env=env, stdout=master_log, stderr=subprocess.STDOUT)
    nginx = subprocess.Popen([os.path.join(ROOT, "scripts", "nginx.sh"), "run"], env=env, stdout=nginx_log,
                             stderr=subprocess.STDOUT)
    status = 1
    try:
        traffic = Traffic(port)
        deadline = time.time() + 120
        while True:
            if master.poll() is not None or nginx.poll() is not None:
                raise SystemExit("the service exited during start-up; logs in " + work)
            ok, _ = traffic.one("health") if len(children(master.pid)) == args.workers else (False, "")
            if ok:
                break
            if time.time() > deadline:
                raise SystemExit("the service was not ready within 120 s; logs in " + work)
            time.sleep(0.5)
        # Warm-up: every kind a few times per worker, then the start figure.
        for _ in range(3 * args.workers):
            for kind in ("query", "page", "two-images", "bad-image"):
                traffic.one(kind)

        def pool_rss():
            return pss_kib(master.pid) + sum(pss_kib(p) for p in children(master.pid))

        rss_start = pool_rss()
        records = []  # (start, end, kind, ok, detail)
        lock = threading.Lock()
        stop_at = time.time() + args.seconds
        budget = [args.max_requests]

        def client():
            while time.time() < stop_at:
                with lock:
                    if budget[0] <= 0:
                        return
                    budget[0] -= 1
                kind = random.choices(traffic.names, traffic.weights)[0]
                start = time.time()
                ok, detail = traffic.one(kind)
                with lock:
                    records.append((start, time.time(), kind, ok, detail))

        threads = [threading.Thread(target=client, daemon=True) for _ in range(args.clients)]
        for t in threads:
            t.start()
        kills, rolls = [], []
        samples = []  # (seconds since the start, pool PSS in KiB): the memory's course, printed
        next_sample = time.time() + 60
        next_kill = time.time() + random.uniform(0.5, 1.5) * args.kill_every
        next_roll = time.time() + args.roll_every
        while time.time() < stop_at and any(t.is_alive() for t in threads):
            now = time.time()
            if now >= next_kill:
                victims = children(master.pid)
                if victims:
                    victim = random.choice(victims)
                    os.kill(victim, signal.SIGKILL)
                    # SIGKILL is asynchronous: until the victim is gone it may still accept a
                    # connection, so the kill lasts until its process has exited (at most 1 s).
                    gone_by = time.time() + 1
                    while time.time() < gone_by and not exited(victim):
                        time.sleep(0.002)
                    kills.append((now, time.time()))
                next_kill = now + random.uniform(0.5, 1.5) * args.kill_every
            if now >= next_sample:
                samples.append((now - (stop_at - args.seconds), pool_rss()))
                next_sample = now + 60
            if now >= next_roll:
                master.send_signal(signal.SIGHUP)
                rolls.append(now)
                next_roll = now + args.roll_every
            if master.poll() is not None or nginx.poll() is not None:
                break
            time.sleep(0.05)
        for t in threads:
            t.join(timeout=150)
        # Let the pool settle (replacements loaded) before the end RSS.
        settle = time.time() + 60
        while time.time() < settle and len(children(master.pid)) < args.workers:
            time.sleep(0.5)
        for _ in range(3 * args.workers):
            for kind in ("query", "page", "two-images", "bad-image"):
                traffic.one(kind)
        rss_end = pool_rss()

        failed = [r for r in records if not r[3]]
        at_kill = [r for r in failed if any(r[0] <= end and start <= r[1] for start, end in kills)]
        outside = [r for r in failed if r not in at_kill]
        alive = master.poll() is None and nginx.poll() is None
        growth = (rss_end - rss_start) / rss_start if rss_start else 0.0
        by_kind = {}
        for r in records:
            by_kind.setdefault(r[2], [0, 0])[0 if r[3] else 1] += 1
        print(f"soak: {args.seconds:.0f} s, {args.clients} clients, {args.workers} workers, "
              f"{len(kills)} kills, {len(rolls)} rolls")
        print(f"requests: {len(records)} sent, {len(records) - len(failed)} ok, {len(failed)} failed "
              f"({len(at_kill)} in flight at a kill, {len(outside)} outside)")
        print("by kind (ok/failed): " + ", ".join(f"{k} {v[0]}/{v[1]}" for k, v in sorted(by_kind.items())))
        print(f"pool PSS: {rss_start // 1024} MiB after warm-up, {rss_end // 1024} MiB at the end ({growth:+.1%})")
        if samples:
            print("pool PSS each minute (MiB): " + " ".join(str(kib // 1024) for _, kib in samples))
        for r in outside[:10]:
            print(f"  failure outside a kill: {r[4]}")
        if not alive:
            print("the service did not stay up; logs in " + work)
        status = 0 if (not outside and alive and growth <= args.rss_tolerance and records) else 1
    finally:
        nginx.send_signal(signal.SIGQUIT)
        master.send_signal(signal.SIGTERM)
        for p in (nginx, master):
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
        master_log.close()
        nginx_log.close()
        if status == 0:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print("logs kept in " + work)
    return status


if __name__ == "__main__":
    sys.exit(main())
