import Foundation
import Glibc
import ProcessTestSupport
import Testing

/// deploy/kubernetes/ against the code it shares values with (ports, probe paths, env names,
/// the run directory and socket, the hub cache, metric names, commands, selectors, security
/// context, resources): scripts/check_kubernetes.py reads each value where the code defines
/// it. The broken copies show that each kind of disagreement is caught and named.
@Suite struct KubernetesManifestTests {
    let root = repositoryRoot()
    var manifests: String { "\(root)/deploy/kubernetes" }

    /// The test Python with PyYAML (scripts/requirements-reference.txt).
    func python() async throws -> String {
        let python = try testPython()
        let directory = try TemporaryDirectory()
        let (status, output) = try await ChildProcess.run(
            [python, "-c", "import yaml"], environment: ProcessInfo.processInfo.environment, logDirectory: directory.path)
        try #require(status == "exit 0", "\(python) has no PyYAML (pip install pyyaml, scripts/requirements-reference.txt): \(output)")
        return python
    }

    func check(_ folder: String) async throws -> (status: String, lines: [String]) {
        let directory = try TemporaryDirectory()
        let (status, output) = try await ChildProcess.run(
            [try await python(), "\(root)/scripts/check_kubernetes.py", "--root", root, "--manifests", folder],
            environment: ProcessInfo.processInfo.environment, logDirectory: directory.path)
        return (status, output.split(separator: "\n").map(String.init))
    }

    @Test func theManifestsAgreeWithTheCode() async throws {
        let (status, lines) = try await check(manifests)
        print(lines.joined(separator: "\n"))
        #expect(status == "exit 0", "\(lines.joined(separator: "\n"))")
        // Where the metric names came from: the service's one file once it exists.
        let namesFile = "\(root)/Sources/EmbeddingService/Metrics/MetricNames.swift"
        let source =
            FileManager.default.fileExists(atPath: namesFile)
            ? "Sources/EmbeddingService/Metrics/MetricNames.swift (" : "the checker's list"
        #expect(lines.first?.hasPrefix("metric names from \(source)") == true, "\(lines)")
        #expect(lines.last?.hasPrefix("ok: 9 documents of") == true, "\(lines)")
    }

    /// One edit to a copy of the manifests, and the line the checker must print for it.
    struct Breakage: Sendable, CustomTestStringConvertible {
        let file: String
        let original: String
        let replacement: String
        /// `{source}` stands for where the metric names came from (the checker's first line).
        let expected: String
        var testDescription: String {
            "\(file): \(original.prefix(48)) → \(replacement.prefix(48))".replacingOccurrences(of: "\n", with: "⏎")
        }
    }

    static let breakages: [Breakage] = [
        Breakage(
            file: "deployment.yaml", original: "path: /health", replacement: "path: /healthz",
            expected:
                "error: deployment.yaml: Deployment/colmodernvbert container nginx: readinessProbe path /healthz is not a route in Sources/EmbeddingService/Routes.swift"
        ),
        Breakage(
            file: "deployment.yaml", original: "containerPort: 7000", replacement: "containerPort: 7001",
            expected:
                "error: deployment.yaml: Deployment/colmodernvbert container nginx: containerPorts [7001] differ from the ports nginx.sh listens on (COLPALI_HTTP_PORT/COLPALI_HTTPS_PORT: [7000])"
        ),
        Breakage(
            file: "deployment.yaml", original: "            - name: COLPALI_BIND_ADDRESS\n",
            replacement: "            - name: COLPALI_RUN_DIR\n              value: /run/nginx\n            - name: COLPALI_BIND_ADDRESS\n",
            expected:
                "error: deployment.yaml: Deployment/colmodernvbert: COLPALI_RUN_DIR differs: pool has /run/colmodernvbert, nginx has /run/nginx"
        ),
        Breakage(
            file: "deployment.yaml", original: "\"download\"]", replacement: "\"fetch\"]",
            expected:
                "error: deployment.yaml: Deployment/colmodernvbert container download: `colmodernvbert fetch` is not a subcommand in Sources/colmodernvbert (config, download, serve, worker)"
        ),
        Breakage(
            file: "configmap.yaml", original: "  COLPALI_RUN_DIR: /run/colmodernvbert\n",
            replacement: "  COLPALI_RUNDIR: /run/colmodernvbert\n",
            expected: "error: configmap.yaml: ConfigMap/colmodernvbert-env: env COLPALI_RUNDIR is not read anywhere in Sources/ or scripts/"
        ),
        Breakage(
            file: "configmap.yaml", original: "\"127.0.0.1/32,::1/128,10.0.0.0/8\"", replacement: "\"127.0.0.1/32\"",
            expected:
                "error: deployment.yaml: Deployment/colmodernvbert container nginx: COLPALI_METRICS_ALLOW=127.0.0.1/32 allows loopback only: Prometheus scrapes from its own pod"
        ),
        Breakage(
            file: "hpa.yaml", original: "name: colmodernvbert_requests_in_flight", replacement: "name: colmodernvbert_requests_queued",
            expected:
                "error: hpa.yaml: HorizontalPodAutoscaler/colmodernvbert: Pods metric colmodernvbert_requests_queued is not a metric name in {source}"
        ),
        Breakage(
            file: "service.yaml", original: "  selector:\n    app.kubernetes.io/name: colmodernvbert",
            replacement: "  selector:\n    app.kubernetes.io/name: colpali",
            expected: "error: service.yaml: Service/colmodernvbert: spec.selector does not select the pods of Deployment/colmodernvbert"
        ),
        Breakage(
            file: "servicemonitor.yaml", original: "path: /metrics", replacement: "path: /stats",
            expected:
                "error: servicemonitor.yaml: ServiceMonitor/colmodernvbert: endpoint path /stats is served nowhere in Sources/ or nginx/"
        ),
        Breakage(
            file: "deployment.yaml",
            original: "readOnlyRootFilesystem: true\n            capabilities:\n              drop: [\"ALL\"]\n          # Ready",
            replacement: "readOnlyRootFilesystem: false\n            capabilities:\n              drop: [\"ALL\"]\n          # Ready",
            expected: "error: deployment.yaml: Deployment/colmodernvbert container nginx: readOnlyRootFilesystem is not true"
        ),
        Breakage(
            file: "deployment.yaml",
            original:
                "              mountPath: /run/colmodernvbert\n            - name: tmp\n              mountPath: /tmp\n      volumes:",
            replacement:
                "              mountPath: /run/colmodernvbert\n              readOnly: true\n            - name: tmp\n              mountPath: /tmp\n      volumes:",
            expected:
                "error: deployment.yaml: Deployment/colmodernvbert container nginx: writes /run/colmodernvbert, which is not a writable volume (the root filesystem is read-only)"
        ),
        Breakage(
            file: "kustomization.yaml", original: "  - name: colmodernvbert\n", replacement: "  - name: colpali\n",
            expected: "error: kustomization.yaml: Kustomization/-: images entry colpali matches no container image (colmodernvbert)"
        ),
        Breakage(
            file: "pdb.yaml", original: "  maxUnavailable: 1\n", replacement: "",
            expected: "error: pdb.yaml: PodDisruptionBudget/colmodernvbert: has neither spec.minAvailable nor spec.maxUnavailable"
        ),
    ]

    @Test(arguments: breakages)
    func aBrokenCopyIsReportedByName(_ breakage: Breakage) async throws {
        let directory = try TemporaryDirectory()
        let copy = directory.file("manifests")
        try FileManager.default.copyItem(atPath: manifests, toPath: copy)
        let path = "\(copy)/\(breakage.file)"
        let text = try String(contentsOfFile: path, encoding: .utf8)
        try #require(text.components(separatedBy: breakage.original).count == 2, "\(breakage.file) holds \(breakage.original) once")
        try text.replacingOccurrences(of: breakage.original, with: breakage.replacement).write(
            toFile: path, atomically: true, encoding: .utf8)

        let (status, lines) = try await check(copy)
        let output = lines.joined(separator: "\n")
        let source = try #require(lines.first.flatMap { $0.hasPrefix("metric names from ") ? String($0.dropFirst(18)) : nil }, "\(output)")
        #expect(status == "exit 1", "\(output)")
        #expect(lines.contains(breakage.expected.replacingOccurrences(of: "{source}", with: source)), "\(output)")
    }
}

/// The pod run here as its manifests describe it (scripts/rehearse_kubernetes.py): commands and
/// environment from the manifests, the pod's user, a read-only root with the emptyDirs as
/// tmpfs, the tiny model downloaded by the init container from the mock hub; readiness,
/// liveness, a query, and the stop in the kubelet's order (preStop hooks, then SIGTERM).
/// In ScriptSuites (one at a time): it runs scripts/nginx.sh, which starts the service binary.
extension ScriptSuites {
    @Suite struct KubernetesPodRehearsalTests {
        @Test(.enabled(if: canMakeMountNamespaces(), "needs root and mount namespaces (unshare -m): processes as the pod's user"))
        func thePodStartsServesAndStopsAsTheManifestsSay() async throws {
            let root = repositoryRoot()
            let directory = try TemporaryDirectory()
            let (status, output) = try await ChildProcess.run(
                [try testPython(), "\(root)/scripts/rehearse_kubernetes.py", "--binary", try serviceBinary(), "--scratch", directory.path],
                environment: ProcessInfo.processInfo.environment, logDirectory: directory.path, timeout: 240)
            print(output)
            #expect(status == "exit 0", "\(output)")
            let lines = output.split(separator: "\n")
            #expect(!lines.contains { $0.hasPrefix("FAILED: ") }, "\(output)")
            // The scrape of /metrics waits for the metrics work (its names file), as the checker does.
            let metricsMerged = FileManager.default.fileExists(atPath: "\(root)/Sources/EmbeddingService/Metrics/MetricNames.swift")
            for step in [
                "ok: the root filesystem is read-only", "ok: init container download", "ok: readinessProbe /health",
                "ok: POST /embed/queries", metricsMerged ? "ok: GET /metrics answers 200" : "pending: no /metrics scrape",
                "ok: the pool stopped after nginx",
            ] {
                #expect(lines.contains { $0.hasPrefix(step) }, "no \(step) in:\n\(output)")
            }
        }
    }
}

/// Whether this process may make a private mount namespace and run processes as another user.
private func canMakeMountNamespaces() -> Bool {
    guard getuid() == 0 else { return false }
    let probe = Process()
    probe.executableURL = URL(fileURLWithPath: "/usr/bin/unshare")
    probe.arguments = ["-m", "/bin/true"]
    guard (try? probe.run()) != nil else { return false }
    probe.waitUntilExit()
    return probe.terminationStatus == 0
}
