import Foundation
import Glibc
import ProcessTestSupport
import Testing

/// `/metrics` for the whole pool (issue 13) through real nginx and the tiny model: every
/// request counted once, whichever worker answered, a SIGKILLed worker's included; only the
/// allowlist gets it; promtool accepts the scrape; a real Prometheus server scrapes it.
@Suite(.serialized, .timeLimit(.minutes(5)))
struct MetricsTests {
    static let queriesOK = #"colmodernvbert_requests_total{route="/embed/queries",status="200"}"#

    /// The scrape as nginx serves it.
    static func scrape(_ instance: ServiceInstance) async throws -> (answer: HTTPAnswer, text: ScrapeText) {
        let answer = try await instance.http.get("/metrics")
        return (answer, ScrapeText(String(decoding: answer.body, as: UTF8.self)))
    }

    @Test func everyRequestOfThePoolIsCountedAcrossAWorkerKill() async throws {
        let instance = try await ServiceInstance.started(workers: 2, https: false)
        defer { instance.terminate() }
        let client = instance.http
        for index in 0..<4 {
            #expect(try await client.postJSON("/embed/queries", object: ["queries": ["metrics \(index)"]]).status == 200)
        }
        let page = Paths.fixture("images/landscape.png")
        #expect(try await client.postForm("/embed/images", [.file(name: "files", path: page, type: "image/png")]).status == 200)
        #expect(try await client.postJSON("/embed/queries", #"{"queries": 7}"#).status == 422)
        #expect(try await client.get("/no/such/path").status == 404)

        // Observations travel as datagrams: wait until the master has them all.
        var (first, text) = try await Self.scrape(instance)
        try await eventuallyAsync(timeout: 10, "the first 4 queries counted:\n\(text.text)") {
            (first, text) = try await Self.scrape(instance)
            return text.value(Self.queriesOK) == 4
        }
        #expect(first.status == 200)
        #expect(first.headers["content-type"]?.hasPrefix("text/plain; version=0.0.4") == true, "\(first.headers)")
        #expect(text.value(#"colmodernvbert_requests_total{route="/embed/images",status="200"}"#) == 1)
        #expect(text.value(#"colmodernvbert_requests_total{route="/embed/queries",status="422"}"#) == 1)
        #expect(text.value(#"colmodernvbert_requests_total{route="other",status="404"}"#) == 1)
        #expect(text.value(#"colmodernvbert_request_duration_seconds_count{route="/embed/queries"}"#) == 5)
        #expect(text.value(#"colmodernvbert_queue_duration_seconds_count{kind="queries"}"#) == 4)
        #expect(text.value(#"colmodernvbert_queue_duration_seconds_count{kind="images"}"#) == 1)
        #expect(text.value(#"colmodernvbert_batch_size_sum{kind="images"}"#) == 1)
        #expect((text.value(#"colmodernvbert_inference_duration_seconds_count{kind="queries"}"#) ?? 0) >= 1)
        #expect(text.value("colmodernvbert_image_tiles_count") == 1)
        #expect(text.value("colmodernvbert_workers_ready") == 2)
        #expect(text.value("colmodernvbert_requests_in_flight") == 0)
        #expect(text.value("colmodernvbert_worker_restarts_total") == 0)
        #expect(text.value("colmodernvbert_download_bytes_total") == 0, "the tiny model is a local folder")
        try await Self.promtoolAccepts(text.text, directory: instance.directory)

        // The worker that served the most model requests dies by SIGKILL; what it counted stays.
        let lines = instance.log.split(separator: "\n").filter { $0.contains("POST /embed/") }
        let workers = instance.workerPIDs
        let victim = try #require(
            workers.max { a, b in lines.filter { $0.contains("pid=\(a)") }.count < lines.filter { $0.contains("pid=\(b)") }.count })
        let servedByVictim = lines.filter { $0.contains("pid=\(victim)") }.count
        #expect(servedByVictim > 0, "the victim served some requests:\n\(instance.log.suffix(3000))")
        kill(victim, SIGKILL)
        try await eventually(timeout: 60, "the killed worker to be replaced:\n\(instance.log.suffix(3000))") {
            let live = instance.workerPIDs
            return live.count == 2 && !live.contains(victim) && live.allSatisfy { instance.readyPIDs.contains($0) }
        }
        for index in 0..<2 {
            #expect(try await client.postJSON("/embed/queries", object: ["queries": ["after \(index)"]]).status == 200)
        }
        try await eventuallyAsync(timeout: 10, "all 6 queries counted after the kill:\n\(text.text)") {
            (_, text) = try await Self.scrape(instance)
            return text.value(Self.queriesOK) == 6
        }
        report("metrics: the SIGKILLed worker had served \(servedByVictim) model requests; the pool's count kept them")
        #expect(text.value(#"colmodernvbert_requests_total{route="/embed/images",status="200"}"#) == 1)
        #expect(text.value("colmodernvbert_worker_restarts_total") == 1)
        #expect(text.value("colmodernvbert_workers_ready") == 2)
        #expect(text.value("colmodernvbert_requests_in_flight") == 0)
        #expect(text.value(#"colmodernvbert_metrics_dropped_total{reason="buffer_full"}"#) == 0)
        #expect(text.value(#"colmodernvbert_metrics_dropped_total{reason="malformed"}"#) == 0)
        try await Self.promtoolAccepts(text.text, directory: instance.directory)
    }

    /// Under a path prefix too (the location is `= PREFIX/metrics`).
    @Test func onlyTheAllowlistGetsMetrics() async throws {
        let instance = try await ServiceInstance.started(
            workers: 1, https: false, overrides: ["COLPALI_METRICS_ALLOW": "192.0.2.0/24", "COLPALI_PATH_PREFIX": "/colpali"])
        defer { instance.terminate() }
        let refused = try await instance.http.get("/colpali/metrics")
        #expect(refused.status == 403, "\(refused)")
        #expect(refused.detail == "Forbidden", "\(refused)")
        // The master checks again: straight to its socket (REMOTE_ADDR 127.0.0.1), still 403.
        let socket = "\(instance.environment["COLPALI_RUN_DIR"]!)/colmodernvbert-metrics.sock"
        guard case .answered(let direct) = SlowFastCGIRequest.send(socketPath: socket, path: "/metrics", timeoutSeconds: 10) else {
            Issue.record("no FastCGI answer from \(socket)")
            return
        }
        #expect(direct.status == 403)
        #expect((direct.json?["detail"] as? String)?.hasPrefix("Forbidden") == true, "\(String(decoding: direct.body, as: UTF8.self))")
        // The API itself is unaffected, and needs no change for /metrics.
        #expect(try await instance.http.postJSON("/colpali/embed/queries", object: ["queries": ["still served"]]).status == 200)
    }

    @Test func offLeavesMetricsToTheAPIsNotFound() async throws {
        let instance = try await ServiceInstance.started(workers: 1, https: false, overrides: ["COLPALI_METRICS_ALLOW": "off"])
        defer { instance.terminate() }
        let answer = try await instance.http.get("/metrics")
        #expect(answer.status == 404, "\(answer)")
        #expect(!FileManager.default.fileExists(atPath: "\(instance.environment["COLPALI_RUN_DIR"]!)/colmodernvbert-metrics.sock"))
    }

    /// A Prometheus server (Debian's `prometheus`) scrapes the pool every second; its query API
    /// then reports the requests sent.
    @Test func aPrometheusServerScrapesThePool() async throws {
        let prometheusBinary = "/usr/bin/prometheus"
        try #require(FileManager.default.isExecutableFile(atPath: prometheusBinary), "Debian's prometheus package (scripts/setup.sh)")
        let instance = try await ServiceInstance.started(workers: 2, https: false)
        defer { instance.terminate() }
        for index in 0..<3 {
            #expect(try await instance.http.postJSON("/embed/queries", object: ["queries": ["scraped \(index)"]]).status == 200)
        }
        let port = try freePort()
        let config = instance.directory.file("prometheus.yml")
        try """
        global:
          scrape_interval: 1s
          scrape_timeout: 1s
        scrape_configs:
          - job_name: colmodernvbert
            metrics_path: /metrics
            static_configs:
              - targets: ["127.0.0.1:\(instance.httpPort!)"]
        """.write(toFile: config, atomically: true, encoding: .utf8)
        let server = try ChildProcess(
            [
                prometheusBinary, "--config.file=\(config)", "--storage.tsdb.path=\(instance.directory.makeFolder("tsdb"))",
                "--web.listen-address=127.0.0.1:\(port)", "--log.level=warn",
            ],
            environment: ["PATH": "/usr/bin:/bin"], logPath: instance.directory.file("prometheus.log"))
        defer { server.terminate() }
        let api = HTTPClient(baseURL: "http://127.0.0.1:\(port)", directory: instance.directory)
        var seen: [String: Double] = [:]
        try await eventuallyAsync(
            timeout: 30, interval: .milliseconds(500), "Prometheus to report 3 queries (\(seen)):\n\(server.log.suffix(2000))"
        ) {
            #expect(!server.hasExited, "prometheus exited:\n\(server.log.suffix(2000))")
            // Refused until Prometheus listens.
            guard let answer = try? await api.get("/api/v1/query?query=colmodernvbert_requests_total") else { return false }
            seen = Self.vector(answer)
            return seen[#"route="/embed/queries",status="200""#] == 3
        }
        let up = Self.vector(try await api.get("/api/v1/query?query=up"))
        #expect(up.values.first == 1, "the target is up: \(up)")
        let ready = Self.vector(try await api.get("/api/v1/query?query=colmodernvbert_workers_ready"))
        #expect(ready.values.first == 2, "\(ready)")
        server.terminate()
        #expect(server.hasExited)
    }

    /// Prometheus' instant-query answer as `labels → value` (labels without job/instance/__name__).
    static func vector(_ answer: HTTPAnswer) -> [String: Double] {
        guard let data = answer.object?["data"] as? [String: Any], let result = data["result"] as? [[String: Any]] else { return [:] }
        var values: [String: Double] = [:]
        for sample in result {
            let metric = (sample["metric"] as? [String: String] ?? [:]).filter { !["job", "instance", "__name__"].contains($0.key) }
            let key = metric.sorted { $0.key < $1.key }.map { "\($0.key)=\"\($0.value)\"" }.joined(separator: ",")
            if let pair = sample["value"] as? [Any], pair.count == 2, let text = pair[1] as? String, let value = Double(text) {
                values[key] = value
            }
        }
        return values
    }

    /// `promtool check metrics` (the exposition format and its lint) on a scrape.
    static func promtoolAccepts(_ text: String, directory: TestDirectory) async throws {
        let promtool = "/usr/bin/promtool"
        try #require(FileManager.default.isExecutableFile(atPath: promtool), "Debian's prometheus package (scripts/setup.sh)")
        let file = directory.file("scrape-\(UInt32.random(in: 0...UInt32.max)).txt")
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        let result = try await ChildProcess.run(
            ["/bin/sh", "-c", "\(promtool) check metrics < \(file)"], environment: ["PATH": "/usr/bin:/bin"],
            logDirectory: directory.makeFolder("promtool"), timeout: 30)
        #expect(result.status == "exit 0", "promtool check metrics:\n\(result.output)\n\(text)")
    }
}

/// Sample values of an exposition text.
struct ScrapeText: Sendable {
    let text: String
    init(_ text: String) { self.text = text }

    func value(_ series: String) -> Double? {
        for line in text.split(separator: "\n") where line.hasPrefix(series + " ") {
            return Double(line.dropFirst(series.count + 1))
        }
        return nil
    }
}
