#!/usr/bin/env python3
"""Checks deploy/kubernetes/ against the code it shares values with.

    scripts/check_kubernetes.py [--root REPO] [--manifests DIR]

Every YAML document must parse and carry apiVersion, kind, metadata.name and the fields its
kind needs; then each value the manifests share with the service is compared with where the
code defines it: ports and the bind address (scripts/nginx.sh, image ENV), probe paths
(Sources/EmbeddingService/Routes.swift), env names (read in Sources/ or scripts/), the run
directory and socket shared by the pool and nginx, the hub cache shared by the download
init container and the pool, metric names (Sources/EmbeddingService/Metrics/MetricNames.swift),
the commands (paths in the images built by Dockerfile.cpu/.gpu, subcommands of the binary
and of nginx.sh), selectors, the security context and resources.

Prints one `error: FILE: Kind/name: ...` line per problem and exits 1 if there is any; prints
where the metric names came from. Needs PyYAML.
"""

import argparse
import ipaddress
import pathlib
import re
import sys

import yaml

METRIC_NAMES_FILE = "Sources/EmbeddingService/Metrics/MetricNames.swift"
# Until the /metrics work is merged (its names then come from METRIC_NAMES_FILE only): the
# names, route and variable issue 13 item 1 defines.
PENDING_METRIC_NAMES = {
    "colmodernvbert_requests_total",
    "colmodernvbert_request_duration_seconds",
    "colmodernvbert_queue_duration_seconds",
    "colmodernvbert_inference_duration_seconds",
    "colmodernvbert_batch_size",
    "colmodernvbert_image_tiles",
    "colmodernvbert_workers_ready",
    "colmodernvbert_worker_restarts_total",
    "colmodernvbert_download_bytes_total",
    "colmodernvbert_requests_in_flight",
}
PENDING_METRICS_ENV = {"COLPALI_METRICS_ALLOW"}
PENDING_METRICS_PATH = "/metrics"

API_VERSIONS = {
    "ConfigMap": "v1",
    "PersistentVolumeClaim": "v1",
    "Service": "v1",
    "Deployment": "apps/v1",
    "PodDisruptionBudget": "policy/v1",
    "ServiceMonitor": "monitoring.coreos.com/v1",
    "HorizontalPodAutoscaler": "autoscaling/v2",
    "Kustomization": "kustomize.config.k8s.io/v1beta1",
}
REQUIRED_FIELDS = {
    "ConfigMap": ["data"],
    "PersistentVolumeClaim": ["spec.accessModes", "spec.resources.requests.storage"],
    "Service": ["spec.selector", "spec.ports"],
    "Deployment": ["spec.selector.matchLabels", "spec.template.metadata.labels", "spec.template.spec.containers"],
    "PodDisruptionBudget": ["spec.selector.matchLabels"],
    "ServiceMonitor": ["spec.selector.matchLabels", "spec.endpoints"],
    "HorizontalPodAutoscaler": [
        "spec.scaleTargetRef.apiVersion", "spec.scaleTargetRef.kind", "spec.scaleTargetRef.name",
        "spec.maxReplicas", "spec.metrics",
    ],
    "Kustomization": ["resources"],
}
APP_KINDS = ["Deployment", "Service", "PodDisruptionBudget", "ServiceMonitor", "HorizontalPodAutoscaler", "PersistentVolumeClaim"]
BINARY = "colmodernvbert"
NGINX_SCRIPT = "nginx.sh"


class Problems:
    def __init__(self):
        self.lines = []

    def add(self, where, message):
        self.lines.append(f"error: {where}: {message}")


def get(mapping, dotted):
    value = mapping
    for key in dotted.split("."):
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


# --- what the code says ---------------------------------------------------------------


class Code:
    """The facts the manifests must agree with, each read from the file that defines it."""

    def __init__(self, root):
        self.root = root
        self.routes = set(re.findall(r'router\.(?:get|post|put|delete)\("([^"]+)"', self.read("Sources/EmbeddingService/Routes.swift")))
        self.subcommands = self.binary_subcommands()
        nginx_sh = self.read("scripts/nginx.sh")
        self.nginx_actions = set(re.findall(r"^    ([a-z]+)\)$", nginx_sh, re.M))
        self.nginx_defaults = dict(re.findall(r'\$\{(COLPALI_[A-Z_]+):-([^}]*)\}', nginx_sh))
        self.nginx_pid = self.nginx_pid_path(nginx_sh)
        self.socket_name = self.match(r'defaultSocketName = "([^"]+)"', "Sources/EmbeddingService/ServiceConfiguration.swift")
        self.requests_per_worker = int(self.match(r"var requestsPerWorker = (\d+)", "Sources/EmbeddingService/ServiceConfiguration.swift"))
        self.env_read = self.env_names_read()
        self.images = {name: Image(self.read(name)) for name in ("Dockerfile.cpu", "Dockerfile.gpu")}
        names_file = root / METRIC_NAMES_FILE
        self.metrics_merged = names_file.exists()
        if self.metrics_merged:
            self.metric_names = set(re.findall(r'"(colmodernvbert_[a-z_]+)"', names_file.read_text()))
            self.metric_source = f"{METRIC_NAMES_FILE} ({len(self.metric_names)} names)"
            self.metrics_paths = self.literal_paths()
        else:
            self.metric_names = set(PENDING_METRIC_NAMES)
            self.metric_source = (f"the checker's list of issue 13's names ({len(self.metric_names)}; {METRIC_NAMES_FILE} "
                                  f"not found, so {PENDING_METRICS_PATH} and {', '.join(sorted(PENDING_METRICS_ENV))} are taken as pending too)")
            self.metrics_paths = self.literal_paths() | {PENDING_METRICS_PATH}
            self.env_read |= PENDING_METRICS_ENV

    def read(self, relative):
        return (self.root / relative).read_text()

    def match(self, pattern, relative):
        found = re.search(pattern, self.read(relative), re.M)
        if not found:
            raise SystemExit(f"error: {relative}: no match for {pattern} (the checker needs updating)")
        return found.group(1)

    def binary_subcommands(self):
        text = "".join(p.read_text() for p in sorted((self.root / "Sources/colmodernvbert").glob("*.swift")))
        listed = re.search(r"subcommands: \[([^\]]*)\]", text).group(1)
        names = set()
        for type_name in re.findall(r"(\w+)\.self", listed):
            body = re.search(r"struct " + type_name + r"\b.*?(?=\nstruct |\Z)", text, re.S).group(0)
            explicit = re.search(r'commandName: "([^"]+)"', body)
            # ArgumentParser's default: the type name in kebab case.
            names.add(explicit.group(1) if explicit else re.sub(r"(?<!^)(?=[A-Z])", "-", type_name).lower())
        return names

    def nginx_pid_path(self, nginx_sh):
        prefix = re.search(r'^prefix="\$run_dir/([^"]+)"', nginx_sh, re.M).group(1)
        pid = self.match(r"^pid @@PREFIX@@/(\S+);", "nginx/nginx.conf.template")
        return f"{prefix}/{pid}"

    def env_names_read(self):
        names = set()
        for path in (self.root / "Sources").rglob("*.swift"):
            names |= set(re.findall(r'"([A-Z][A-Z0-9_]+)"', path.read_text()))
        for path in (self.root / "scripts").rglob("*"):
            if not path.is_file() or path.name == pathlib.Path(__file__).name or path.suffix not in (".sh", ".py", ""):
                continue
            text = path.read_text(errors="replace")
            names |= set(re.findall(r"\$\{?([A-Z][A-Z0-9_]+)", text))
            names |= set(re.findall(r"""environ(?:\.get\(|\[)\s*["']([A-Z][A-Z0-9_]+)""", text))
        return names

    def literal_paths(self):
        paths = set()
        for base, pattern in (("Sources", "*.swift"), ("nginx", "*.template")):
            for path in (self.root / base).rglob(pattern):
                paths |= set(re.findall(r'["\s=](/[a-z][a-z/_-]*)', path.read_text()))
        return paths


class Image:
    """What a Dockerfile's runtime stage (after its last FROM) holds: the user, ENV, files."""

    def __init__(self, text):
        text = text.replace("\\\n", " ")
        stages = re.split(r"^FROM .*$", text, flags=re.M)
        build, runtime = "".join(stages[:-1]), stages[-1]
        self.uid = int(re.search(r"--uid (\d+)", runtime).group(1))
        self.env = {}
        for line in re.findall(r"^ENV (.*)$", runtime, re.M):
            self.env.update(re.findall(r"(\w+)=(\S+)", line))
        built = re.findall(r"install -D \S+ (\S+)", build)
        self.files = set()
        for line in re.findall(r"^COPY (.*)$", runtime, re.M):
            words = line.split()
            origin = next((w for w in words if w.startswith("--from=")), None)
            sources, destination = [w for w in words[:-1] if not w.startswith("--")], words[-1]
            for source in sources:
                if origin:
                    self.files |= {destination + b[len(source):] for b in built if b.startswith(source)}
                else:
                    self.files.add(destination.rstrip("/") + "/" + source.rsplit("/", 1)[-1])


# --- the manifests ----------------------------------------------------------------------


def load(directory, problems):
    documents = []
    for path in sorted(list(directory.glob("*.yaml")) + list(directory.glob("*.yml"))):
        try:
            loaded = [d for d in yaml.safe_load_all(path.read_text()) if d is not None]
        except yaml.YAMLError as error:
            problems.add(path.name, f"does not parse: {error}")
            continue
        for index, document in enumerate(loaded):
            where = f"{path.name} (document {index + 1})"
            if not isinstance(document, dict):
                problems.add(where, "is not a mapping")
                continue
            missing = [f for f in ("apiVersion", "kind") if not document.get(f)]
            if document.get("kind") != "Kustomization" and not get(document, "metadata.name"):
                missing.append("metadata.name")
            if missing:
                problems.add(where, f"has no {', '.join(missing)}")
                continue
            documents.append(Manifest(path.name, document))
    return documents


class Manifest:
    def __init__(self, file, document):
        self.file, self.doc = file, document
        self.kind = document["kind"]
        self.name = get(document, "metadata.name") or "-"

    @property
    def where(self):
        return f"{self.file}: {self.kind}/{self.name}"


def check_structure(manifests, directory, problems):
    for m in manifests:
        expected = API_VERSIONS.get(m.kind)
        if expected and m.doc["apiVersion"] != expected:
            problems.add(m.where, f"apiVersion {m.doc['apiVersion']}, expected {expected}")
        for field in REQUIRED_FIELDS.get(m.kind, []):
            if get(m.doc, field) in (None, [], {}):
                problems.add(m.where, f"has no {field}")
        if m.kind == "PodDisruptionBudget" and not ({"minAvailable", "maxUnavailable"} & set(m.doc.get("spec", {}))):
            problems.add(m.where, "has neither spec.minAvailable nor spec.maxUnavailable")
    kinds = {m.kind for m in manifests}
    for kind in APP_KINDS:
        if kind not in kinds:
            problems.add(directory.name, f"has no {kind}")
    for m in manifests:
        if m.kind == "Kustomization":
            listed = set(m.doc.get("resources") or [])
            for resource in sorted(listed):
                if not (directory / resource).exists():
                    problems.add(m.where, f"lists {resource}, which is not in {directory.name}/")
            for other in sorted({o.file for o in manifests if o.kind in APP_KINDS} - listed):
                problems.add(m.where, f"does not list {other}")


def one(manifests, kind, problems, directory):
    found = [m for m in manifests if m.kind == kind]
    if len(found) > 1:
        problems.add(directory.name, f"has {len(found)} {kind} documents; the checker expects one")
    return found[0] if found else None


def selects(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


class Pod:
    """The Deployment's pod template, each container's environment resolved as the kubelet
    does (image ENV, then envFrom ConfigMaps, then env)."""

    def __init__(self, deployment, config_maps, image, problems):
        self.deployment = deployment
        self.spec = get(deployment.doc, "spec.template.spec") or {}
        self.labels = get(deployment.doc, "spec.template.metadata.labels") or {}
        self.volumes = {v.get("name"): v for v in self.spec.get("volumes") or []}
        self.containers = [("init container", c) for c in self.spec.get("initContainers") or []]
        self.containers += [("container", c) for c in self.spec.get("containers") or []]
        self.env = {}
        for _, c in self.containers:
            env = dict(image.env)
            for source in c.get("envFrom") or []:
                name = get(source, "configMapRef.name")
                if name is None:
                    continue
                if name not in config_maps:
                    problems.add(self.where(c), f"envFrom names ConfigMap {name}, which is not in the manifests")
                    continue
                env.update({k: str(v) for k, v in (config_maps[name].doc.get("data") or {}).items()})
            for item in c.get("env") or []:
                env[item["name"]] = str(item.get("value", "<from " + ",".join(item.get("valueFrom", {})) + ">"))
            self.env[c.get("name")] = env

    def where(self, container):
        return f"{self.deployment.where} container {container.get('name')}"

    def running(self, program, subcommand):
        return [c for _, c in self.containers
                if (c.get("command") or [""])[0].rsplit("/", 1)[-1] == program and (c.get("command") or [])[1:2] == [subcommand]]

    def mount(self, container, path):
        """The volume mount that holds `path` (the deepest one), or None."""
        mounts = [m for m in container.get("volumeMounts") or []
                  if path == m.get("mountPath") or path.startswith(m.get("mountPath", "").rstrip("/") + "/")]
        return max(mounts, key=lambda m: len(m["mountPath"]), default=None)


def check_selectors(manifests, pod, service, problems):
    deployment = pod.deployment
    if not selects(get(deployment.doc, "spec.selector.matchLabels"), pod.labels):
        problems.add(deployment.where, "spec.selector.matchLabels does not select the pod template's labels")
    for constraint in pod.spec.get("topologySpreadConstraints") or []:
        if not selects(get(constraint, "labelSelector.matchLabels"), pod.labels):
            problems.add(deployment.where, "a topologySpreadConstraint's labelSelector does not select the pod's labels")
    for m in manifests:
        if m.kind == "Service" and not selects(get(m.doc, "spec.selector"), pod.labels):
            problems.add(m.where, f"spec.selector does not select the pods of Deployment/{deployment.name}")
        if m.kind == "PodDisruptionBudget" and not selects(get(m.doc, "spec.selector.matchLabels"), pod.labels):
            problems.add(m.where, f"spec.selector does not select the pods of Deployment/{deployment.name}")
        if m.kind == "ServiceMonitor" and service and not selects(get(m.doc, "spec.selector.matchLabels"), get(service.doc, "metadata.labels") or {}):
            problems.add(m.where, f"spec.selector does not select Service/{service.name}'s labels")
        if m.kind == "HorizontalPodAutoscaler":
            target = get(m.doc, "spec.scaleTargetRef") or {}
            if (target.get("apiVersion"), target.get("kind"), target.get("name")) != ("apps/v1", "Deployment", deployment.name):
                problems.add(m.where, f"scaleTargetRef is {target.get('kind')}/{target.get('name')}, not Deployment/{deployment.name}")


def container_port(container, port):
    for p in container.get("ports") or []:
        if port in (p.get("name"), p.get("containerPort")):
            return p.get("containerPort")
    return None


def check_ports(pod, service, monitor, code, problems):
    for c in pod.running(NGINX_SCRIPT, "run"):
        env = pod.env[c.get("name")]
        expected = set()
        for variable in ("COLPALI_HTTP_PORT", "COLPALI_HTTPS_PORT"):
            value = env.get(variable, code.nginx_defaults.get(variable, "off"))
            if value.lower() != "off":
                expected.add(int(value))
        declared = {p.get("containerPort") for p in c.get("ports") or []}
        if declared != expected:
            problems.add(pod.where(c), f"containerPorts {sorted(declared)} differ from the ports nginx.sh listens on "
                                       f"(COLPALI_HTTP_PORT/COLPALI_HTTPS_PORT: {sorted(expected)})")
        bind = env.get("COLPALI_BIND_ADDRESS", code.nginx_defaults.get("COLPALI_BIND_ADDRESS", "127.0.0.1"))
        if bind.startswith("127.") or bind == "::1":
            problems.add(pod.where(c), f"COLPALI_BIND_ADDRESS={bind}: nginx would not be reachable from the kubelet or the Service")
    containers = [c for _, c in pod.containers]
    if service:
        for p in get(service.doc, "spec.ports") or []:
            target = p.get("targetPort", p.get("port"))
            if not any(container_port(c, target) for c in containers):
                problems.add(service.where, f"targetPort {target} is no container port of the pod")
    if monitor and service:
        names = {p.get("name") for p in get(service.doc, "spec.ports") or []}
        for endpoint in get(monitor.doc, "spec.endpoints") or []:
            if endpoint.get("port") not in names:
                problems.add(monitor.where, f"endpoint port {endpoint.get('port')} is not a port name of Service/{service.name}")


def check_probes(pod, code, problems):
    for kind, c in pod.containers:
        env = pod.env[c.get("name")]
        for probe_name in ("readinessProbe", "livenessProbe", "startupProbe"):
            probe = c.get(probe_name)
            if not probe:
                continue
            if "httpGet" in probe:
                path = probe["httpGet"].get("path")
                if path not in code.routes:
                    problems.add(pod.where(c), f"{probe_name} path {path} is not a route in Sources/EmbeddingService/Routes.swift")
                if not container_port(c, probe["httpGet"].get("port")):
                    problems.add(pod.where(c), f"{probe_name} port {probe['httpGet'].get('port')} is no port of this container")
            if "tcpSocket" in probe and not container_port(c, probe["tcpSocket"].get("port")):
                problems.add(pod.where(c), f"{probe_name} port {probe['tcpSocket'].get('port')} is no port of this container")
            command = get(probe, "exec.command") or []
            if command[:2] == ["test", "-S"]:
                socket = socket_path(env, code)
                if command[2:] != [socket]:
                    problems.add(pod.where(c), f"{probe_name} tests {' '.join(command[2:])}, but the pool's socket is {socket}")
    if not any(c.get("readinessProbe") for _, c in pod.containers):
        problems.add(pod.deployment.where, "no container has a readinessProbe")
    for kind, c in pod.containers:
        if kind == "container" and not c.get("livenessProbe"):
            problems.add(pod.where(c), "has no livenessProbe")


def socket_path(env, code):
    listen = env.get("COLPALI_LISTEN")
    if listen:
        return listen[len("unix:"):] if listen.startswith("unix:") else listen
    return f"{env.get('COLPALI_RUN_DIR', '')}/{code.socket_name}"


def check_env_names(manifests, pod, code, problems):
    for _, c in pod.containers:
        for item in c.get("env") or []:
            if item["name"] not in code.env_read:
                problems.add(pod.where(c), f"env {item['name']} is not read anywhere in Sources/ or scripts/")
    for m in manifests:
        if m.kind == "ConfigMap" and m.name in referenced_config_maps(pod):
            for key in m.doc.get("data") or {}:
                if key not in code.env_read:
                    problems.add(m.where, f"env {key} is not read anywhere in Sources/ or scripts/")


def referenced_config_maps(pod):
    return {get(s, "configMapRef.name") for _, c in pod.containers for s in c.get("envFrom") or []}


def check_shared_directories(pod, config_maps, code, problems):
    pools, nginxes, downloads = pod.running(BINARY, "serve"), pod.running(NGINX_SCRIPT, "run"), pod.running(BINARY, "download")
    for role, found in (("`colmodernvbert serve`", pools), ("`nginx.sh run`", nginxes), ("`colmodernvbert download`", downloads)):
        if len(found) != 1:
            problems.add(pod.deployment.where, f"{len(found)} containers run {role}; expected one")
    if pools and nginxes:
        shared(pod, pools[0], nginxes[0], "COLPALI_RUN_DIR", "emptyDir", problems)
        for c in (pools[0], nginxes[0]):
            if "COLPALI_LISTEN" in pod.env[c.get("name")] and socket_path(pod.env[c.get("name")], code) != socket_path(pod.env[pools[0].get("name")], code):
                problems.add(pod.where(c), "COLPALI_LISTEN differs from the pool's")
        run_dir = pod.env[pools[0].get("name")].get("COLPALI_RUN_DIR", "")
        pid = f"{run_dir}/{code.nginx_pid}"
        stop = " ".join(get(pools[0], "lifecycle.preStop.exec.command") or [])
        if "nginx.pid" in stop and pid not in stop:
            problems.add(pod.where(pools[0]), f"preStop waits on a pid file other than nginx's ({pid})")
    if pools and downloads:
        volume = shared(pod, downloads[0], pools[0], "HF_HOME", "persistentVolumeClaim", problems)
        claim = get(volume or {}, "persistentVolumeClaim.claimName")
        if volume and claim not in config_maps["__claims__"]:
            problems.add(pod.deployment.where, f"volume {volume.get('name')} names PersistentVolumeClaim {claim}, which is not in the manifests")
        mount = pod.mount(downloads[0], pod.env[downloads[0].get("name")].get("HF_HOME", ""))
        if mount and mount.get("readOnly"):
            problems.add(pod.where(downloads[0]), "mounts the hub cache read-only, but downloads into it")


def shared(pod, first, second, variable, volume_type, problems):
    """Both containers resolve `variable` to one path, held by one volume of `volume_type`."""
    paths = [pod.env[c.get("name")].get(variable) for c in (first, second)]
    if paths[0] != paths[1]:
        problems.add(pod.deployment.where, f"{variable} differs: {first.get('name')} has {paths[0]}, {second.get('name')} has {paths[1]}")
        return None
    mounts = [pod.mount(c, paths[0] or "") for c in (first, second)]
    for c, mount in zip((first, second), mounts):
        if mount is None:
            problems.add(pod.where(c), f"mounts no volume at {variable}={paths[0]}")
    if None in mounts:
        return None
    if mounts[0]["name"] != mounts[1]["name"]:
        problems.add(pod.deployment.where, f"{variable}={paths[0]} is volume {mounts[0]['name']} in {first.get('name')} "
                                           f"but {mounts[1]['name']} in {second.get('name')}")
        return None
    volume = pod.volumes.get(mounts[0]["name"])
    if volume is None or volume_type not in volume:
        problems.add(pod.deployment.where, f"volume {mounts[0]['name']} (at {variable}) is not a {volume_type}")
        return None
    return volume


def check_commands(pod, code, problems):
    for _, c in pod.containers:
        command = c.get("command") or []
        if not command:
            problems.add(pod.where(c), "has no command (the image's CMD runs nginx and the pool in one container)")
            continue
        for name, image in code.images.items():
            if command[0] not in image.files:
                problems.add(pod.where(c), f"command {command[0]} is not a file of the image {name} builds")
        program, argument = command[0].rsplit("/", 1)[-1], (command[1:2] or [""])[0]
        if program == BINARY and argument not in code.subcommands:
            problems.add(pod.where(c), f"`{BINARY} {argument}` is not a subcommand in Sources/colmodernvbert ({', '.join(sorted(code.subcommands))})")
        if program == NGINX_SCRIPT and argument not in code.nginx_actions:
            problems.add(pod.where(c), f"`{NGINX_SCRIPT} {argument}` is not an action of scripts/nginx.sh ({', '.join(sorted(code.nginx_actions))})")


def check_images(manifests, pod, problems):
    """One image for every container, and the one the kustomization's `images:` rewrites
    (a name that matches nothing leaves the placeholder in the cluster)."""
    images = {c.get("image") for _, c in pod.containers}
    if len(images) != 1:
        problems.add(pod.deployment.where, f"the containers use {len(images)} images ({', '.join(sorted(map(str, images)))}); the pod runs one")
    names = {str(i).rsplit(":", 1)[0] for i in images}
    for m in manifests:
        if m.kind == "Kustomization":
            for entry in m.doc.get("images") or []:
                if entry.get("name") not in names:
                    problems.add(m.where, f"images entry {entry.get('name')} matches no container image ({', '.join(sorted(names))})")


def check_security(pod, code, problems):
    context = pod.spec.get("securityContext") or {}
    if context.get("runAsNonRoot") is not True:
        problems.add(pod.deployment.where, "securityContext.runAsNonRoot is not true")
    uids = {image.uid for image in code.images.values()}
    if context.get("runAsUser") not in uids:
        problems.add(pod.deployment.where, f"securityContext.runAsUser {context.get('runAsUser')} is not the images' user {sorted(uids)}")
    for _, c in pod.containers:
        own = c.get("securityContext") or {}
        if own.get("readOnlyRootFilesystem") is not True:
            problems.add(pod.where(c), "readOnlyRootFilesystem is not true")
        if own.get("allowPrivilegeEscalation") is not False:
            problems.add(pod.where(c), "allowPrivilegeEscalation is not false")
        if "ALL" not in (get(own, "capabilities.drop") or []):
            problems.add(pod.where(c), "does not drop ALL capabilities")
        env = pod.env[c.get("name")]
        writes = [env.get("TMPDIR", "/tmp")]
        program, argument = (c.get("command") or [""])[0].rsplit("/", 1)[-1], (c.get("command") or ["", ""])[1:2]
        if argument == ["download"]:
            writes.append(env.get("HF_HOME", ""))
        elif program in (BINARY, NGINX_SCRIPT):
            writes.append(env.get("COLPALI_RUN_DIR", ""))
        # nginx.sh makes a self-signed certificate there when HTTPS is on without one given.
        https = env.get("COLPALI_HTTPS_PORT", code.nginx_defaults.get("COLPALI_HTTPS_PORT", "off")).lower()
        if program == NGINX_SCRIPT and https != "off" and not env.get("COLPALI_TLS_CERT"):
            writes.append(env.get("COLPALI_STATE_DIR", env.get("COLPALI_RUN_DIR", "") + "/state"))
        for path in writes:
            mount = pod.mount(c, path)
            if mount is None or mount.get("readOnly"):
                problems.add(pod.where(c), f"writes {path}, which is not a writable volume (the root filesystem is read-only)")


def quantity(value):
    text = str(value)
    units = {"m": 1e-3, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "k": 1e3, "M": 1e6, "G": 1e9}
    for suffix, factor in units.items():
        if text.endswith(suffix) and text[: -len(suffix)].replace(".", "", 1).isdigit():
            return float(text[: -len(suffix)]) * factor
    return float(text)


def check_resources(pod, code, problems):
    for _, c in pod.containers:
        resources = c.get("resources") or {}
        for resource in ("cpu", "memory"):
            request, limit = get(resources, f"requests.{resource}"), get(resources, f"limits.{resource}")
            if request is None or limit is None:
                problems.add(pod.where(c), f"has no {resource} request and limit")
            elif quantity(request) > quantity(limit):
                problems.add(pod.where(c), f"{resource} request {request} is above its limit {limit}")
    for c in pod.running(BINARY, "serve"):
        env, limit = pod.env[c.get("name")], get(c, "resources.limits.cpu")
        if limit and "COLPALI_WORKERS" in env and "CPU_THREADS" in env:
            threads = int(env["COLPALI_WORKERS"]) * int(env["CPU_THREADS"])
            if threads > quantity(limit):
                problems.add(pod.where(c), f"COLPALI_WORKERS × CPU_THREADS = {threads} is above the CPU limit {limit} (CPUBudget would cap it)")
    grace = pod.spec.get("terminationGracePeriodSeconds", 30)
    for c in pod.running(NGINX_SCRIPT, "run"):
        timeout = int(pod.env[c.get("name")].get("COLPALI_UPSTREAM_TIMEOUT", code.nginx_defaults.get("COLPALI_UPSTREAM_TIMEOUT", "300")))
        if grace < timeout + 30:
            problems.add(pod.deployment.where, f"terminationGracePeriodSeconds {grace} is shorter than nginx's graceful stop "
                                               f"(COLPALI_UPSTREAM_TIMEOUT {timeout} + 30 s)")


def adapter_rules(manifests, problems):
    rules = []
    for m in manifests:
        if m.kind != "ConfigMap" or "config.yaml" not in (m.doc.get("data") or {}):
            continue
        try:
            config = yaml.safe_load(m.doc["data"]["config.yaml"]) or {}
        except yaml.YAMLError as error:
            problems.add(m.where, f"data config.yaml does not parse: {error}")
            continue
        rules += [(m, rule) for rule in config.get("rules") or []]
    return rules


def check_metrics(manifests, pod, monitor, hpa, code, problems):
    if monitor:
        for endpoint in get(monitor.doc, "spec.endpoints") or []:
            path = endpoint.get("path", "/metrics")
            if path not in code.metrics_paths:
                problems.add(monitor.where, f"endpoint path {path} is served nowhere in Sources/ or nginx/")
    exposed = {}
    rules = adapter_rules(manifests, problems)
    if not rules:
        problems.add(pod.deployment.where.split(":")[0], "no Prometheus adapter rule (a ConfigMap with data config.yaml) in the manifests")
    for m, rule in rules:
        series = re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", rule.get("seriesQuery", ""))
        series = series.group(0) if series else None
        if series not in code.metric_names:
            problems.add(m.where, f"adapter seriesQuery metric {series} is not a metric name in {code.metric_source}")
        name = get(rule, "name.as") or series
        exposed[name] = m
        overrides = get(rule, "resources.overrides") or {}
        if get(overrides, "pod.resource") != "pod" or get(overrides, "namespace.resource") != "namespace":
            problems.add(m.where, f"adapter rule for {series} does not map the pod and namespace labels to their resources")
    if hpa:
        kinds = set()
        for metric in get(hpa.doc, "spec.metrics") or []:
            kinds.add(metric.get("type"))
            if metric.get("type") == "Pods":
                name = get(metric, "pods.metric.name")
                if name not in code.metric_names:
                    problems.add(hpa.where, f"Pods metric {name} is not a metric name in {code.metric_source}")
                if name not in exposed:
                    problems.add(hpa.where, f"Pods metric {name} is exposed by no Prometheus adapter rule")
                check_hpa_target(pod, hpa, metric, code, problems)
            if metric.get("type") == "Resource" and get(metric, "resource.name") != "cpu":
                problems.add(hpa.where, "its Resource metric is not cpu")
        for kind in ("Pods", "Resource"):
            if kind not in kinds:
                problems.add(hpa.where, f"has no {kind} metric")
    for c in pod.running(NGINX_SCRIPT, "run") + pod.running(BINARY, "serve"):
        check_metrics_allow(pod, c, problems)


def check_hpa_target(pod, hpa, metric, code, problems):
    target = get(metric, "pods.target") or {}
    if target.get("type") != "AverageValue":
        problems.add(hpa.where, "Pods metric target is not an AverageValue")
        return
    for c in pod.running(BINARY, "serve"):
        env = pod.env[c.get("name")]
        held = int(env.get("COLPALI_WORKERS", "1")) * int(env.get("COLPALI_REQUESTS_PER_WORKER", code.requests_per_worker))
        if not 0 < quantity(target.get("averageValue", 0)) <= held:
            problems.add(hpa.where, f"averageValue {target.get('averageValue')} is not within what a pod holds "
                                    f"(COLPALI_WORKERS × COLPALI_REQUESTS_PER_WORKER = {held})")


def check_metrics_allow(pod, container, problems):
    value = pod.env[container.get("name")].get("COLPALI_METRICS_ALLOW")
    if value is None:
        problems.add(pod.where(container), "COLPALI_METRICS_ALLOW is unset: /metrics would answer loopback only, not Prometheus")
        return
    try:
        networks = [ipaddress.ip_network(part) for part in re.split(r"[,\s]+", value.strip()) if part]
    except ValueError as error:
        problems.add(pod.where(container), f"COLPALI_METRICS_ALLOW={value}: {error}")
        return
    if not any(not n.is_loopback for n in networks):
        problems.add(pod.where(container), f"COLPALI_METRICS_ALLOW={value} allows loopback only: Prometheus scrapes from its own pod")


def main():
    root_default = pathlib.Path(__file__).resolve().parent.parent
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=pathlib.Path, default=root_default, help="repository root (default: this script's)")
    parser.add_argument("--manifests", type=pathlib.Path, help="manifest folder (default: ROOT/deploy/kubernetes)")
    args = parser.parse_args()
    directory = args.manifests or args.root / "deploy/kubernetes"
    problems = Problems()
    code = Code(args.root)
    print(f"metric names from {code.metric_source}")
    manifests = load(directory, problems)
    check_structure(manifests, directory, problems)
    config_maps = {m.name: m for m in manifests if m.kind == "ConfigMap"}
    config_maps["__claims__"] = {m.name for m in manifests if m.kind == "PersistentVolumeClaim"}
    deployment = one(manifests, "Deployment", problems, directory)
    service = one(manifests, "Service", problems, directory)
    monitor = one(manifests, "ServiceMonitor", problems, directory)
    hpa = one(manifests, "HorizontalPodAutoscaler", problems, directory)
    if deployment:
        pod = Pod(deployment, config_maps, code.images["Dockerfile.cpu"], problems)
        check_selectors(manifests, pod, service, problems)
        check_ports(pod, service, monitor, code, problems)
        check_probes(pod, code, problems)
        check_env_names(manifests, pod, code, problems)
        check_shared_directories(pod, config_maps, code, problems)
        check_commands(pod, code, problems)
        check_images(manifests, pod, problems)
        check_security(pod, code, problems)
        check_resources(pod, code, problems)
        check_metrics(manifests, pod, monitor, hpa, code, problems)
    for line in problems.lines:
        print(line)
    documents = len(manifests)
    if problems.lines:
        print(f"{len(problems.lines)} problem(s) in {documents} documents of {directory}")
        return 1
    print(f"ok: {documents} documents of {directory} agree with the code")
    return 0


if __name__ == "__main__":
    sys.exit(main())
