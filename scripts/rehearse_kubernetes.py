#!/usr/bin/env python3
"""Runs deploy/kubernetes/deployment.yaml's pod on this machine, as a kubelet would run it.

    scripts/rehearse_kubernetes.py --binary PATH [--root REPO] [--scratch DIR]   (as root)

Each container's command and environment come from the manifests (image ENV, the ConfigMap,
env), as scripts/check_kubernetes.py resolves them; the image's paths (/app/...) are this
checkout's binary and scripts, the hub cache claim is a scratch tmpfs, and the emptyDirs are
tmpfs mounted at their real paths, in a private mount namespace where the root filesystem
is read-only. The processes run as the pod's runAsUser/runAsGroup/fsGroup. The model is the
tiny test checkpoint served by scripts/mock_hub.py under the manifests' COLPALI_MODEL_ID.

Order as the kubelet's: the init container to completion; pool and nginx; the readiness
probe until it passes, then the liveness probes and one query; then the stop: both preStop
hooks at once, each container's SIGTERM when its hook returns. Prints one `ok:`/`FAILED:` line
per step and exits 1 if any failed.
"""

import argparse
import ctypes
import json
import os
import pathlib
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import check_kubernetes as manifests  # noqa: E402

CLONE_NEWNS = 0x00020000
IMAGE_PATHS = {"/app/.build/release/colmodernvbert": None, "/app/scripts/": None}  # filled in main()
HUB_CACHE = "/run/k8s-rehearsal/hub-cache"


class Steps:
    def __init__(self):
        self.failed = 0

    def report(self, ok, text):
        print(("ok: " if ok else "FAILED: ") + text, flush=True)
        self.failed += 0 if ok else 1
        return ok


def sh(*argv):
    subprocess.run(argv, check=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_status(url, data=None):
    request = urllib.request.Request(url, data=data, headers={"content-type": "application/json"} if data else {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return 0


class Rehearsal:
    def __init__(self, args, steps):
        self.args, self.steps = args, steps
        code = manifests.Code(args.root)
        problems = manifests.Problems()
        loaded = manifests.load(args.root / "deploy/kubernetes", problems)
        config_maps = {m.name: m for m in loaded if m.kind == "ConfigMap"}
        deployment = next(m for m in loaded if m.kind == "Deployment")
        self.pod = manifests.Pod(deployment, config_maps, code.images["Dockerfile.cpu"], problems)
        self.port = free_port()
        self.scratch = args.scratch
        self.logs = self.scratch / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        context = self.pod.spec.get("securityContext") or {}
        self.uid, self.gid = context.get("runAsUser", 65534), context.get("runAsGroup", 65534)
        self.groups = [context["fsGroup"]] if "fsGroup" in context else []
        self.processes = {}

    # --- what each container runs ---

    def local(self, value):
        value = str(value)
        for image_path, here in IMAGE_PATHS.items():
            value = value.replace(image_path, here)
        return value.replace(self.claim_path(), HUB_CACHE)

    def claim_path(self):
        claim = next(n for n, v in self.pod.volumes.items() if "persistentVolumeClaim" in v)
        for _, c in self.pod.containers:
            for m in c.get("volumeMounts") or []:
                if m["name"] == claim:
                    return m["mountPath"]
        raise SystemExit("no container mounts the claim")

    def container(self, name):
        return next(c for _, c in self.pod.containers if c["name"] == name)

    def environment(self, name, extra=None):
        env = {"PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", "HOME": "/"}
        env.update({k: self.local(v) for k, v in self.pod.env[name].items() if not v.startswith("<from ")})
        if "COLPALI_HTTP_PORT" in env:
            env["COLPALI_HTTP_PORT"] = str(self.port)
        env.update(extra or {})
        return env

    def start(self, name, argv, extra=None):
        log = self.logs / f"{name}.log"
        # The container runtime hands the process stdio it may reopen (/dev/stdout): its own.
        out = open(log, "ab")
        os.fchown(out.fileno(), self.uid, self.gid)
        return subprocess.Popen(
            [self.local(a) for a in argv], env=self.environment(name, extra), stdin=subprocess.DEVNULL,
            stdout=out, stderr=subprocess.STDOUT, user=self.uid, group=self.gid, extra_groups=self.groups,
            cwd="/", start_new_session=True)

    def command(self, name):
        return self.container(name)["command"]

    def hook(self, name, pid_one):
        argv = (((self.container(name).get("lifecycle") or {}).get("preStop") or {}).get("exec") or {}).get("command")
        if not argv:
            return None
        # "1" is the container's first process; here, that container's own process.
        return [re.sub(r"\bkill (-\w+ )?1\b", lambda m: f"kill {m.group(1) or ''}{pid_one}", a) for a in argv]

    # --- the pod's filesystem ---

    def mount_namespace(self):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.unshare(CLONE_NEWNS) != 0:
            raise SystemExit(f"unshare(CLONE_NEWNS): {os.strerror(ctypes.get_errno())} (run as root)")
        sh("mount", "--make-rprivate", "/")
        # A private /run first: the scratch logs and the claim live there, then the
        # emptyDirs at their own paths (/tmp too, which hides the host's in here only).
        sh("mount", "-t", "tmpfs", "-o", "mode=0755", "tmpfs", "/run")
        os.makedirs("/run/k8s-rehearsal/logs")
        sh("mount", "--bind", str(self.logs), "/run/k8s-rehearsal/logs")
        self.logs = pathlib.Path("/run/k8s-rehearsal/logs")
        os.makedirs(HUB_CACHE)
        sh("mount", "-t", "tmpfs", "-o", f"mode=2775,gid={self.groups[0] if self.groups else 0}", "tmpfs", HUB_CACHE)
        empty_dirs = [m["mountPath"] for name, volume in self.pod.volumes.items() if "emptyDir" in volume
                      for _, c in self.pod.containers for m in c.get("volumeMounts") or [] if m["name"] == name]
        # What stands in for the image's files (the checkout, the binary, the libtorch it links)
        # stays visible when an emptyDir would hide it: a CI clone under /tmp sat below the pod's
        # /tmp emptyDir. Each is bound aside first and back in place after the emptyDirs.
        needed = {str(self.args.root.resolve()), str(pathlib.Path(IMAGE_PATHS["/app/.build/release/colmodernvbert"]).parent)}
        libtorch = self.args.root / ".deps" / "libtorch"
        if libtorch.exists():
            needed.add(str(libtorch.resolve()))
        hidden = sorted(p for p in needed if any(p == m or p.startswith(m.rstrip("/") + "/") for m in empty_dirs))
        kept = []
        for index, path in enumerate(hidden):
            aside = f"/run/k8s-rehearsal/keep/{index}"
            os.makedirs(aside)
            sh("mount", "--bind", path, aside)
            kept.append((aside, path))
        for path in empty_dirs:
            if not os.path.ismount(path):
                os.makedirs(path, exist_ok=True)
                sh("mount", "-t", "tmpfs", "-o", "mode=1777", "tmpfs", path)
        for aside, path in kept:
            os.makedirs(path, exist_ok=True)
            sh("mount", "--bind", aside, path)
            sh("mount", "-o", "remount,bind,ro", path)  # read-only like the rest of the image
        sh("mount", "-o", "remount,bind,ro", "/")

    # --- the rehearsal ---

    def run(self, hub_port):
        steps = self.steps
        probe = pathlib.Path(IMAGE_PATHS["/app/.build/release/colmodernvbert"]).parent / ".rehearsal-write-probe"
        denied = subprocess.run(["touch", str(probe)], user=self.uid, group=self.gid, stderr=subprocess.PIPE, text=True)
        steps.report(denied.returncode != 0 and "Read-only file system" in denied.stderr,
                     f"the root filesystem is read-only for uid {self.uid} ({denied.stderr.strip()})")
        init = next(c for kind, c in self.pod.containers if kind == "init container")
        started = time.monotonic()
        child = self.start(init["name"], init["command"], {"HF_ENDPOINT": f"http://127.0.0.1:{hub_port}"})
        status = child.wait(timeout=300)
        steps.report(status == 0, f"init container {init['name']} ({' '.join(init['command'])}) exited {status} "
                                  f"after {time.monotonic() - started:.1f} s")
        if any(m.get("readOnly") for _, c in self.pod.containers for m in c.get("volumeMounts") or [] if "persistentVolumeClaim" in self.pod.volumes.get(m["name"], {})):
            sh("mount", "-o", "remount,bind,ro", HUB_CACHE)
        containers = [c for kind, c in self.pod.containers if kind == "container"]
        for c in containers:
            self.processes[c["name"]] = self.start(c["name"], c["command"])
        self.probe(containers)
        self.stop(containers)

    def probe(self, containers):
        steps = self.steps
        ready = next(c for c in containers if c.get("readinessProbe"))
        path = ready["readinessProbe"]["httpGet"]["path"]
        codes, started = [], time.monotonic()
        while time.monotonic() - started < 120:
            code = http_status(f"http://127.0.0.1:{self.port}{path}")
            if not codes or codes[-1] != code:
                codes.append(code)
            if code == 200:
                break
            time.sleep(0.2)
        steps.report(codes[-1:] == [200], f"readinessProbe {path} answers, in order, {codes} (0: no connection) "
                                          f"within {time.monotonic() - started:.1f} s")
        for c in containers:
            probe = c.get("livenessProbe") or {}
            if "exec" in probe:
                status = subprocess.run([self.local(a) for a in probe["exec"]["command"]], env=self.environment(c["name"]),
                                        user=self.uid, group=self.gid, extra_groups=self.groups).returncode
                steps.report(status == 0, f"{c['name']} livenessProbe {' '.join(probe['exec']['command'])} exits {status}")
            if "tcpSocket" in probe:
                with socket.socket() as s:
                    connected = s.connect_ex(("127.0.0.1", self.port)) == 0
                steps.report(connected, f"{c['name']} livenessProbe tcpSocket connects")
        status = http_status(f"http://127.0.0.1:{self.port}/embed/queries", json.dumps({"queries": ["revenue 2023"]}).encode())
        steps.report(status == 200, f"POST /embed/queries through the pod answers {status}")
        self.scrape()

    def scrape(self):
        """The ServiceMonitor's path carries the HPA's metric (from loopback, which
        COLPALI_METRICS_ALLOW keeps; the pod-network entry needs a cluster)."""
        if not (self.args.root / manifests.METRIC_NAMES_FILE).exists():
            print(f"pending: no /metrics scrape until {manifests.METRIC_NAMES_FILE} exists (the metrics work)", flush=True)
            return
        loaded = manifests.load(self.args.root / "deploy/kubernetes", manifests.Problems())
        path = next(m for m in loaded if m.kind == "ServiceMonitor").doc["spec"]["endpoints"][0].get("path", "/metrics")
        hpa = next(m for m in loaded if m.kind == "HorizontalPodAutoscaler")
        metric = next(x["pods"]["metric"]["name"] for x in hpa.doc["spec"]["metrics"] if x["type"] == "Pods")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=5) as response:
                body = response.read().decode()
                status = response.status
        except urllib.error.HTTPError as error:
            body, status = "", error.code
        except OSError as error:
            body, status = str(error), 0
        sample = next((line for line in body.splitlines() if line.startswith(metric)), None)
        self.steps.report(status == 200 and sample is not None,
                          f"GET {path} answers {status} with the HPA's metric: {sample or 'absent'}")

    def stop(self, containers):
        grace = self.pod.spec.get("terminationGracePeriodSeconds", 30)
        started, ended = time.monotonic(), {}

        def stop_one(c):
            process = self.processes[c["name"]]
            hook = self.hook(c["name"], process.pid)
            if hook:
                # As in the pod, a hook ends with its container: the container's process
                # exiting (reaped here, as PID 1's exit ends a container) stops the hook.
                running = subprocess.Popen([self.local(a) for a in hook], env=self.environment(c["name"]), user=self.uid,
                                           group=self.gid, extra_groups=self.groups)
                while running.poll() is None and time.monotonic() - started < grace:
                    if process.poll() is not None:
                        running.kill()
                        running.wait()
                    time.sleep(0.1)
            if process.poll() is None:
                process.terminate()
            try:
                process.wait(timeout=max(1, grace - (time.monotonic() - started)))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            ended[c["name"]] = time.monotonic() - started

        threads = [threading.Thread(target=stop_one, args=(c,)) for c in containers]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for c in containers:
            status = self.processes[c["name"]].returncode
            self.steps.report(status == 0 and ended[c["name"]] < grace,
                              f"{c['name']} stopped with status {status} {ended[c['name']]:.1f} s after the stop began (grace {grace} s)")
        pools = self.pod.running(manifests.BINARY, "serve")
        nginxes = self.pod.running(manifests.NGINX_SCRIPT, "run")
        if pools and nginxes:
            pool, nginx = ended[pools[0]["name"]], ended[nginxes[0]["name"]]
            self.steps.report(pool >= nginx, f"the pool stopped after nginx ({pool:.1f} s, nginx {nginx:.1f} s)")


def mock_hub(args, model_id, scratch):
    config = scratch / "hub.json"
    config.write_text(json.dumps({"log": str(scratch / "hub.jsonl"),
                                  "repos": {model_id: {"dir": str(args.root / "Tests/Fixtures/tiny-model")}}}))
    hub = subprocess.Popen([sys.executable, str(args.root / "scripts/mock_hub.py"), str(config)],
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=open(scratch / "hub.err", "wb"))
    return hub, json.loads(hub.stdout.readline())["hub"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=pathlib.Path, default=pathlib.Path(__file__).resolve().parent.parent)
    parser.add_argument("--binary", type=pathlib.Path, required=True, help="the colmodernvbert binary (the image's)")
    parser.add_argument("--scratch", type=pathlib.Path, help="logs (default: a new folder in /tmp)")
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("run as root (a private mount namespace, processes as the pod's user)")
    args.scratch = args.scratch or pathlib.Path(subprocess.check_output(["mktemp", "-d", "/tmp/k8s-rehearsal.XXXXXX"], text=True).strip())
    IMAGE_PATHS["/app/.build/release/colmodernvbert"] = str(args.binary.resolve())
    IMAGE_PATHS["/app/scripts/"] = str(args.root / "scripts") + "/"
    steps = Steps()
    rehearsal = Rehearsal(args, steps)
    init = next(c for kind, c in rehearsal.pod.containers if kind == "init container")
    hub, hub_port = mock_hub(args, rehearsal.pod.env[init["name"]]["COLPALI_MODEL_ID"], args.scratch)
    try:
        rehearsal.mount_namespace()
        rehearsal.run(hub_port)
    finally:
        for process in rehearsal.processes.values():
            if process.poll() is None:
                process.kill()
        hub.stdin.close()
        hub.wait(timeout=10)
    print(f"logs in {args.scratch / 'logs'}")
    return 1 if steps.failed else 0


if __name__ == "__main__":
    sys.exit(main())
