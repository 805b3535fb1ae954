import Foundation
import Glibc
import ProcessTestSupport
import Testing

/// The edges of issue 12 through real nginx (scripts/nginx.sh run): every error nginx makes
/// itself is JSON in the API's shape, TLS offers only forward-secret AEAD suites, HTTPS adds
/// HSTS, everything adds nosniff, workers never run as root, and API keys are enforced by the
/// worker behind nginx without ever reaching a log.
@Suite(.timeLimit(.minutes(3)))
struct HardeningTests {
    /// nginx alone in front of a socket nobody listens on (every proxied request is a 502).
    final class LoneNginx: Sendable {
        let directory: TestDirectory
        let process: ChildProcess
        let httpPort: Int
        let httpsPort: Int
        var http: HTTPClient { HTTPClient(baseURL: "http://127.0.0.1:\(httpPort)", directory: directory) }
        var https: HTTPClient { HTTPClient(baseURL: "https://127.0.0.1:\(httpsPort)", directory: directory) }

        /// Starts nginx on fresh free ports. A port picked free can be taken by another suite
        /// before nginx binds it (nginx then exits "Address already in use" while the other
        /// listener answers the readiness probe), so this checks that nginx is still alive a
        /// moment after it listens, and starts over with new ports (three tries).
        init(_ overrides: [String: String] = [:]) async throws {
            directory = try TestDirectory()
            var attempt = 0
            while true {
                attempt += 1
                var environment = try ServiceInstance.baseEnvironment(directory: directory, workers: 1, https: true, http: true)
                environment["COLPALI_LISTEN"] = "unix:\(directory.file("run/nobody-listens.sock"))"
                for (key, value) in overrides { environment[key] = value }
                let (http, https) = (Int(environment["COLPALI_HTTP_PORT"]!)!, Int(environment["COLPALI_HTTPS_PORT"]!)!)
                let process = try ChildProcess(
                    [Paths.nginxScript, "run"], environment: environment, logPath: directory.file("nginx-\(attempt).log"))
                do {
                    try await eventually(timeout: 60, "nginx to listen:\n\(process.log)") {
                        if process.hasExited { throw TimedOut(what: "nginx exited: \(process.log)") }
                        return connectsTCP(port: http) && connectsTCP(port: https)
                    }
                    try await Task.sleep(for: .milliseconds(300))
                    if process.hasExited { throw TimedOut(what: "nginx exited after listening: \(process.log)") }
                } catch {
                    process.terminate()
                    if attempt < 3 && process.log.contains("Address already in use") { continue }
                    throw error
                }
                (self.process, httpPort, httpsPort) = (process, http, https)
                return
            }
        }

        deinit { process.terminate() }
    }

    /// Raw bytes to a port, the answer's status line and body (for requests curl will not send).
    static func raw(_ request: String, port: Int) throws -> (status: String, text: String) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        try #require(fd >= 0)
        defer { close(fd) }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        try #require(connected == 0, "connect: errno \(errno)")
        let bytes = Array(request.utf8)
        _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
        var answer: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count <= 0 { break }
            answer += buffer[0..<count]
        }
        let text = String(decoding: answer, as: UTF8.self)
        return (text.components(separatedBy: "\r\n").first ?? "", text)
    }

    static func isJSONDetail(_ answer: CurlAnswer) -> Bool {
        answer.headers["content-type"]?.hasPrefix("application/json") == true && answer.detail != nil
    }

    @Test func nginxErrorsAreJSONWithSecurityHeaders() async throws {
        let nginx = try await LoneNginx(["COLPALI_MAX_REQUEST_BYTES": "1k"])
        for client in [nginx.http, nginx.https] {
            let https = client.baseURL.hasPrefix("https")
            var answers: [(String, Int, CurlAnswer)] = []
            answers.append(("no upstream", 502, try await client.get("/health")))
            answers.append(("body over the limit", 413, try await client.postJSON("/embed/queries", String(repeating: "x", count: 4096))))
            // HTTP/1.1 on both ports: HTTP/2 has its own header limits (nginx resets the stream).
            answers.append(("URI too long", 414, try await client.get("/" + String(repeating: "u", count: 20_000), ["--http1.1"])))
            answers.append(
                (
                    "header too large", 400,
                    try await client.get("/", ["--http1.1", "-H", "X-Big: \(String(repeating: "h", count: 20_000))"])
                ))
            for (what, status, answer) in answers {
                #expect(answer.status == status, "\(what) over \(client.baseURL.prefix(30)): \(answer)")
                #expect(Self.isJSONDetail(answer), "\(what) over \(client.baseURL): \(answer)")
                #expect(answer.headers["x-content-type-options"] == "nosniff", "\(what): \(answer.headers)")
                #expect((answer.headers["strict-transport-security"] != nil) == https, "\(what): HSTS only on HTTPS: \(answer.headers)")
            }
        }
        // A request line nginx cannot parse: 400 in the API's shape, not nginx's HTML page.
        let (status, text) = try Self.raw("GARBAGE\r\n\r\n", port: nginx.httpPort)
        #expect(status.hasSuffix(" 400 Bad Request"), "\(text)")
        #expect(text.contains(#"{"detail":"Bad Request"}"#) && !text.contains("<html>"), "\(text)")
        let (_, badHeader) = try Self.raw("GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n", port: nginx.httpPort)
        #expect(badHeader.contains(#"{"detail":"#) && !badHeader.contains("<html>"), "\(badHeader)")
    }

    @Test func rateLimitAnswerIsJSON() async throws {
        let nginx = try await LoneNginx(["COLPALI_RATE_LIMIT": "1r/m", "COLPALI_RATE_BURST": "0"])
        _ = try await nginx.http.get("/health")
        let limited = try await nginx.http.get("/health")
        #expect(limited.status == 429 && Self.isJSONDetail(limited), "\(limited)")
        #expect(limited.headers["x-content-type-options"] == "nosniff")
    }

    /// curl's exit status and output for one TLS handshake with the given options.
    static func handshake(port: Int, _ options: [String], directory: TestDirectory) async throws -> String {
        let (status, output) = try await ChildProcess.run(
            ["curl", "-sSk", "--max-time", "10", "-o", "/dev/null", "-w", "%{http_code}"] + options + ["https://127.0.0.1:\(port)/health"],
            environment: ["PATH": "/usr/local/bin:/usr/bin:/bin"], logDirectory: directory.path, timeout: 20)
        return "\(status) \(output)"
    }

    @Test func tlsOffersOnlyForwardSecretAEADSuites() async throws {
        let nginx = try await LoneNginx()
        let port = nginx.httpsPort
        let directory = nginx.directory
        let tls13 = try await Self.handshake(port: port, ["--tlsv1.3"], directory: directory)
        #expect(tls13.hasPrefix("exit 0"), "TLS 1.3: \(tls13) nginx \(nginx.process.statusDescription): \(nginx.process.log.suffix(1500))")
        for suite in ["ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-CHACHA20-POLY1305"] {
            let result = try await Self.handshake(port: port, ["--tlsv1.2", "--tls-max", "1.2", "--ciphers", suite], directory: directory)
            #expect(result.hasPrefix("exit 0"), "\(suite): \(result)")
        }
        // CBC (no AEAD) with ECDHE, and suites without forward secrecy: refused.
        for suite in ["ECDHE-ECDSA-AES128-SHA", "ECDHE-ECDSA-AES256-SHA384", "AES128-GCM-SHA256", "AES256-SHA"] {
            let result = try await Self.handshake(port: port, ["--tlsv1.2", "--tls-max", "1.2", "--ciphers", suite], directory: directory)
            #expect(!result.hasPrefix("exit 0"), "\(suite) was accepted: \(result)")
        }
        let tls11 = try await Self.handshake(port: port, ["--tlsv1.1", "--tls-max", "1.1"], directory: directory)
        #expect(!tls11.hasPrefix("exit 0"), "TLS 1.1 accepted: \(tls11)")
        withExtendedLifetime(nginx) {}
    }

    @Test(.enabled(if: getuid() == 0, "nginx only changes user when started as root"))
    func nginxWorkersNeverRunAsRoot() async throws {
        let directory = try TestDirectory()
        var environment = try ServiceInstance.baseEnvironment(directory: directory, workers: 1, https: false, http: true)
        // A run dir below a folder others cannot traverse: refused, not served by root workers.
        let closed = directory.makeFolder("closed")
        chmod(closed, 0o700)
        environment["COLPALI_RUN_DIR"] = "\(closed)/run"
        let (status, output) = try await ChildProcess.run(
            [Paths.nginxScript, "check"], environment: environment, logDirectory: directory.path)
        #expect(status != "exit 0")
        #expect(output.contains("is not traversable by other users") && output.contains("never run as root"), "\(output)")
        environment["COLPALI_RUN_DIR"] = directory.file("run")
        for user in ["root", "root root"] {
            environment["COLPALI_NGINX_USER"] = user
            let (refused, message) = try await ChildProcess.run(
                [Paths.nginxScript, "check"], environment: environment, logDirectory: directory.path)
            #expect(refused != "exit 0")
            #expect(message.contains("must not run as root"), "\(message)")
        }
        environment["COLPALI_NGINX_USER"] = nil
        let (rendered, log) = try await ChildProcess.run(
            [Paths.nginxScript, "check"], environment: environment, logDirectory: directory.path)
        #expect(rendered == "exit 0", "\(log)")
        let config = try String(contentsOfFile: directory.file("run/nginx/nginx.conf"), encoding: .utf8)
        #expect(config.contains("user nobody nogroup;"))
    }

    @Test func snippetKeepsTheServerLevelPagesOutWithAPrefix() async throws {
        let directory = try TestDirectory()
        var environment = try ServiceInstance.baseEnvironment(directory: directory, workers: 1, https: false, http: true)
        environment["COLPALI_PATH_PREFIX"] = "/colpali"
        let (status, output) = try await ChildProcess.run(
            [Paths.nginxScript, "snippet", directory.file("snippet")], environment: environment, logDirectory: directory.path)
        #expect(status == "exit 0", "\(output)")
        let locations = try String(contentsOfFile: directory.file("snippet/colmodernvbert-locations.conf"), encoding: .utf8)
        let serverLevel = locations.components(separatedBy: "\n").filter { $0.hasPrefix("error_page") }
        #expect(serverLevel.isEmpty, "a prefixed snippet must not take over the server's own error pages: \(serverLevel)")
        #expect(locations.contains("add_header X-Content-Type-Options nosniff always;"))
        #expect(locations.contains("error_page 494 =400 @colmodernvbert_494;"))
    }

    @Test func apiKeysAreEnforcedBehindNginxAndNeverLogged() async throws {
        let key = "it-key-\(UInt64.random(in: 0...UInt64.max))-abcdef"
        let directory = try TestDirectory()
        let accessLog = directory.file("access.log")
        let service = try await ServiceInstance.started(
            workers: 1, http: false,
            overrides: ["COLPALI_API_KEYS": "other-key-000000000000,\(key)", "COLPALI_NGINX_ACCESS_LOG": accessLog],
            directory: directory)
        defer { service.terminate() }
        let https = service.https
        let health = try await https.get("/health")
        #expect(health.status == 200, "\(health)")
        let anonymous = try await https.postJSON("/embed/queries", #"{"queries": ["x"]}"#)
        #expect(anonymous.status == 401 && anonymous.detail == "Not authenticated", "\(anonymous)")
        #expect(anonymous.headers["www-authenticate"] == "Bearer")
        let wrong = try await https.get("/info", ["-H", "Authorization: Bearer \(key)-not"])
        #expect(wrong.status == 401 && wrong.detail == "Invalid API key", "\(wrong)")
        let allowed = try await https.get("/info", ["-H", "Authorization: Bearer \(key)"])
        #expect(allowed.status == 200, "\(allowed)")
        let query = try await https.request(
            "/embed/queries",
            ["-H", "Authorization: Bearer \(key)", "-H", "Content-Type: application/json", "--data-binary", #"{"queries": ["revenue"]}"#])
        #expect(query.status == 200, "\(query)")
        _ = try await service.stop()
        let logs = service.log + service.nginxLog + ((try? String(contentsOfFile: accessLog, encoding: .utf8)) ?? "")
        #expect(logs.contains("/info"), "the access log was written")
        #expect(!logs.contains(key), "a key reached a log")
        #expect(!logs.lowercased().contains("authorization"), "the header reached a log")
    }
}
