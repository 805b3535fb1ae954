import Foundation
import Glibc
import ProcessTestSupport
import Testing

/// /demo in headless Chromium (Debian's `chromium`), driven by scripts/cdp_screenshot.py over
/// the DevTools pipe, against the tiny model behind nginx: the page draws the /heatmap over
/// the picked image, shows the aggregate, the score range and the counts the API gives, and
/// asks for a key when keys are set. The assertions read the screenshot's pixels (measured
/// by the script) and the page's DOM, and compare both with what curl gets from the API.
@Suite(.timeLimit(.minutes(4)))
struct DemoPageTests {
    static let image = "\(Paths.root)/Tests/Fixtures/images/sources/size_page_850x1100.jpg"
    static let query = "a red circle above stripes"

    @Test func overlayIsDrawnOverTheUploadedImage() async throws {
        let service = try await ServiceInstance.started(workers: 1, https: false)
        defer { service.terminate() }
        let http = service.http

        // Served by the service itself, with nothing from elsewhere: no absolute URL at all,
        // and a policy that lets the browser load only from the service.
        let page = try await http.get("/demo")
        #expect(page.status == 200, "\(page)")
        #expect(page.headers["content-type"]?.hasPrefix("text/html") == true)
        let policy = page.headers["content-security-policy"] ?? ""
        #expect(policy.contains("default-src 'none'") && policy.contains("script-src 'self'"), "\(policy)")
        let script = try await http.get("/demo/demo.js")
        #expect(script.status == 200 && script.headers["content-type"]?.hasPrefix("application/javascript") == true, "\(script)")
        for (name, body) in [("page", page.body), ("script", script.body)] {
            let text = String(decoding: body, as: UTF8.self)
            #expect(!text.contains("http://") && !text.contains("https://") && !text.contains("src=\"/"), "\(name) loads from elsewhere")
        }

        let expected = try await apiAnswer(http, aggregate: "mean", key: nil)
        let report = try await drive(service, url: "\(http.baseURL)/demo", aggregate: "mean", key: nil, name: "overlay")
        #expect(report.consoleErrors.isEmpty, "\(report.consoleErrors)")
        try checkShown(report, expected, aggregate: "mean")
    }

    @Test func keyIsAskedForThenUsedUnderAPathPrefix() async throws {
        let key = "demo-key-\(UInt64.random(in: 0...UInt64.max))"
        let service = try await ServiceInstance.started(
            workers: 1, https: false, overrides: ["COLPALI_API_KEYS": key, "COLPALI_PATH_PREFIX": "/colpali"])
        defer { service.terminate() }
        let http = service.http
        // The page itself needs no key (a browser cannot send one with a navigation); the API does.
        let page = try await http.get("/colpali/demo")
        #expect(page.status == 200, "\(page)")
        let info = try await http.get("/colpali/info")
        #expect(info.status == 401, "\(info)")
        #expect(try await http.get("/demo").status == 404, "the prefix is in force")

        let expected = try await apiAnswer(http, prefix: "/colpali", aggregate: "max", key: key)
        let report = try await drive(
            service, url: "\(http.baseURL)/colpali/demo", aggregate: "max", key: key, wrongKey: "\(key)-wrong", name: "key")
        #expect(report.raw["key_field_visible"] as? Bool == true)
        #expect((report.raw["key_prompt"] as? String)?.contains("needs an API key (Not authenticated)") == true, "\(report.raw)")
        #expect((report.raw["wrong_key_prompt"] as? String)?.contains("refused the key (Invalid API key)") == true, "\(report.raw)")
        #expect(report.raw["key_prompt_on_submit"] is String, "the heatmap request was refused, then retried with the key")
        // Only the refused calls show in the console (Chromium logs every failed load).
        #expect(report.consoleErrors.allSatisfy { $0.contains("status of 401") }, "\(report.consoleErrors)")
        #expect(report.consoleErrors.contains { $0.contains("/colpali/heatmap") }, "\(report.consoleErrors)")
        // The key stays in the tab: sessionStorage, never localStorage.
        let storage = try #require(report.raw["storage"] as? [String: Any])
        #expect((storage["session"] as? [String: String])?.values.contains(key) == true)
        #expect(storage["local_items"] as? Int == 0)
        try checkShown(report, expected, aggregate: "max")
    }

    // MARK: - Helpers

    /// What the API answers for the page's inputs: the heatmap and the query's token count.
    struct APIAnswer {
        let heatmap: [String: Any]
        let tokens: Int
    }

    func apiAnswer(_ http: HTTPClient, prefix: String = "", aggregate: String, key: String?) async throws -> APIAnswer {
        let auth = key.map { ["-H", "Authorization: Bearer \($0)"] } ?? []
        let fields: [FormField] = [
            .text(name: "query", value: Self.query), .file(name: "image", path: Self.image, type: "image/jpeg"),
            .text(name: "aggregate", value: aggregate),
        ]
        let heatmap = try await http.request("\(prefix)/heatmap", auth + fields.flatMap { ["-F", $0.curlArgument] })
        #expect(heatmap.status == 200, "\(heatmap)")
        let queries = try await http.request(
            "\(prefix)/embed/queries",
            auth + ["-H", "Content-Type: application/json", "--data-binary", #"{"queries": ["\#(Self.query)"]}"#])
        let rows = try #require((queries.object?["embeddings"] as? [[Any]])?.first, "\(queries)")
        return APIAnswer(heatmap: try #require(heatmap.object), tokens: rows.count)
    }

    /// The script's report, with the screenshot kept (printed path) for a person to look at.
    struct Report {
        let raw: [String: Any]
        var consoleErrors: [String] { raw["console_errors"] as? [String] ?? [] }
    }

    func drive(
        _ service: ServiceInstance, url: String, aggregate: String, key: String?, wrongKey: String? = nil, name: String
    ) async throws -> Report {
        let chromium = ProcessInfo.processInfo.environment["COLPALI_TEST_CHROMIUM"].flatMap { $0.isEmpty ? nil : $0 } ?? "/usr/bin/chromium"
        try #require(access(chromium, X_OK) == 0, "headless Chromium \(chromium) is missing: apt-get install chromium (scripts/setup.sh)")
        let out = service.directory.makeFolder("demo-\(name)")
        var argv = [
            try Paths.python(), "\(Paths.root)/scripts/cdp_screenshot.py", "--url", url, "--image", Self.image, "--query", Self.query,
            "--aggregate", aggregate, "--out", out, "--chromium", chromium, "--timeout", "60",
        ]
        if let key { argv += ["--key", key] }
        if let wrongKey { argv += ["--wrong-key", wrongKey] }
        let started = Date()
        let (status, output) = try await ChildProcess.run(
            argv, environment: ProcessInfo.processInfo.environment, logDirectory: service.directory.path, timeout: 90)
        let data = try #require(FileManager.default.contents(atPath: "\(out)/report.json"), "no report (\(status)): \(output.suffix(3000))")
        let raw = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(status == "exit 0", "\(output.suffix(3000))")
        #expect(raw["error"] == nil, "\(raw["error"] ?? "") \(raw["chromium_log"] ?? "")")
        let kept = FileManager.default.temporaryDirectory.appendingPathComponent("colmodernvbert-demo-\(name).png").path
        try? FileManager.default.removeItem(atPath: kept)
        try? FileManager.default.copyItem(atPath: "\(out)/demo.png", toPath: kept)
        print(
            "demo \(name): browser run \(String(format: "%.1f", Date().timeIntervalSince(started))) s, states \(raw["states"] ?? ""), "
                + "pixels \(raw["pixels"] ?? ""); screenshot \(kept)")
        return Report(raw: raw)
    }

    /// The page drew the API's heatmap over the picture, and says what the API said.
    func checkShown(_ report: Report, _ expected: APIAnswer, aggregate: String) throws {
        let raw = report.raw
        #expect((raw["states"] as? [String])?.last == "drawn", "\(raw["states"] ?? "") \(raw["status"] ?? "")")
        let result = try #require(raw["result"] as? [String: Any], "the page got no heatmap: \(raw["status"] ?? "")")
        let rows = try #require(expected.heatmap["grid_rows"] as? Int)
        let columns = try #require(expected.heatmap["grid_columns"] as? Int)
        #expect(result["grid_rows"] as? Int == rows && result["grid_columns"] as? Int == columns)
        #expect(result["aggregate"] as? String == aggregate)
        let shownValues = (result["heatmap"] as? [[Double]])?.flatMap { $0 }
        let apiValues = (expected.heatmap["heatmap"] as? [[Double]])?.flatMap { $0 }
        // The page's /heatmap ran beside its /embed/queries call, so its query may have been
        // batched with that one (a last-bit difference at most; the bound leaves room).
        let difference = zip(shownValues ?? [], apiValues ?? []).map { abs($0 - $1) }.max() ?? .infinity
        #expect(shownValues?.count == rows * columns && apiValues?.count == rows * columns)
        #expect(difference < 1e-4, "the page's heatmap is the API's for the same inputs (max difference \(difference))")

        let facts = try #require(raw["facts"] as? [String: String])
        #expect(facts["aggregate"]?.hasPrefix(aggregate) == true, "\(facts)")
        #expect(facts["tokens"] == String(expected.tokens), "\(facts) against \(expected.tokens) tokens")
        #expect(facts["patches"] == "\(rows * columns) (\(rows) rows x \(columns) columns)", "\(facts)")
        #expect(facts["size"]?.hasPrefix("850 x 1100 px") == true, "\(facts)")
        for name in ["min_score", "max_score"] {
            let value = try #require(expected.heatmap[name] as? Double)
            // The page writes four decimals unless the value is tiny or huge (then an exponent).
            let fixed = abs(value) < 1000 && (value == 0 || abs(value) >= 0.001)
            let shown = facts["range"] ?? ""
            #expect(fixed ? shown.contains(String(format: "%.4f", value)) : shown.contains("e"), "\(name) \(value) in \(shown)")
        }
        #expect((raw["model_fact"] as? String)?.contains("tiny-model") == true, "\(raw["model_fact"] ?? "")")
        // A screen reader hears what the picture shows.
        let label = raw["canvas_label"] as? String ?? ""
        #expect(label.contains("\(rows) x \(columns) patches; the closest patch is in row"), "\(label)")

        // The screenshot: the overlay is drawn over the picture at its natural size (the
        // canvas shows 850 x 1100 pixels 1:1), in the page's colours, with the picture visible.
        let canvas = try #require(raw["canvas"] as? [String: Any])
        #expect(canvas["pixels_x"] as? Int == 850 && canvas["pixels_y"] as? Int == 1100, "\(canvas)")
        let pixels = try #require(raw["pixels"] as? [String: Any])
        #expect(pixels["skipped"] == nil, "\(pixels)")
        let plain = try #require(pixels["mean_abs_vs_plain"] as? Double, "\(pixels)")
        let overlay = try #require(pixels["mean_abs_vs_expected_overlay"] as? Double, "\(pixels)")
        let detail = try #require(pixels["detail_correlation"] as? Double, "\(pixels)")
        #expect((pixels["compared"] as? Int ?? 0) > 850 * 1100 / 2, "\(pixels)")
        // Every cell is covered at alpha >= 0.25, so the shown picture differs from the plain
        // one by tens of levels on average (44 measured); the expected composite (the plain
        // image with each cell's colour blended at its alpha) matches it to about half a
        // level (JPEG decoders and alpha quantisation); a misplaced or missing cell costs more.
        #expect(plain > 15, "the overlay is drawn: \(pixels)")
        #expect(overlay < 3 && overlay * 5 < plain, "the overlay is the heatmap's, cell by cell: \(pixels)")
        // Within each cell the picture's own detail shows through (0.97 measured; 0 if hidden).
        #expect(detail > 0.8, "the picture is visible under the overlay: \(pixels)")
    }
}
