import Foundation
import Glibc
import POSIX
import ProcessTestSupport
import Testing

@testable import WorkerPool

/// nginx/ templates rendered by scripts/nginx.sh, validated by `nginx -t` and exercised
/// for real on loopback in front of a supervised pool of fake FastCGI workers.
extension ScriptSuites {
    @Suite struct NginxFrontTests {
        let root = repositoryRoot()
        var nginxScript: String { "\(root)/scripts/nginx.sh" }
        var fakeApp: String { "\(root)/Tests/Fixtures/worker-pool/fake_fcgi_app.py" }

        /// An environment for a private instance: run dir, loopback ports.
        func environment(_ directory: TemporaryDirectory, _ overrides: [String: String] = [:]) throws -> [String: String] {
            var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("COLPALI_") }
            environment["COLPALI_RUN_DIR"] = directory.file("run")
            environment["COLPALI_BIND_ADDRESS"] = "127.0.0.1"
            environment["COLPALI_HTTP_PORT"] = String(try freePort())
            environment["COLPALI_HTTPS_PORT"] = String(try freePort())
            environment["COLPALI_LISTEN"] = "unix:\(directory.file("run/pool.sock"))"
            environment["COLPALI_NGINX_ACCESS_LOG"] = "off"
            environment["COLPALI_BINARY"] = try serviceBinary()
            for (key, value) in overrides { environment[key] = value }
            return environment
        }

        func makeDirectory() throws -> TemporaryDirectory {
            let directory = try TemporaryDirectory()
            // Traversable by others, so nginx (when started as root) runs its workers as nobody.
            chmod(directory.path, 0o755)
            mkdir(directory.file("run"), 0o755)
            return directory
        }

        @Test(arguments: [
            [:],
            ["COLPALI_HTTP_PORT": "off", "COLPALI_RATE_LIMIT": "off", "COLPALI_CONN_LIMIT": "off"],
            ["COLPALI_HTTPS_PORT": "off", "COLPALI_MAX_REQUEST_BYTES": "1048576", "COLPALI_PATH_PREFIX": "/colpali/"],
            ["COLPALI_LISTEN": "127.0.0.1:9123", "COLPALI_RATE_LIMIT": "600r/m", "COLPALI_RATE_BURST": "0"],
        ])
        func renderedConfigurationsPassNginxTest(overrides: [String: String]) async throws {
            let directory = try makeDirectory()
            let (status, output) = try await ChildProcess.run(
                [nginxScript, "check"], environment: try environment(directory, overrides), logDirectory: directory.path)
            #expect(status == "exit 0", "\(output)")
            let config = try String(contentsOfFile: directory.file("run/nginx/nginx.conf"), encoding: .utf8)
            #expect(config.contains("daemon off;"))
            #expect(!config.contains("@@"))
            #expect(config.contains("listen 127.0.0.1:"))
            if overrides["COLPALI_HTTPS_PORT"] == nil {
                #expect(
                    FileManager.default.fileExists(atPath: directory.file("run/state/tls/selfsigned.crt")),
                    "self-signed certificate made on first run")
            }
        }

        @Test(arguments: [
            (["COLPALI_HTTP_PORT": "off", "COLPALI_HTTPS_PORT": "off"], "both off"),
            (["COLPALI_RATE_LIMIT": "fast"], "COLPALI_RATE_LIMIT=fast"),
            (["COLPALI_MAX_REQUEST_BYTES": "lots"], "COLPALI_MAX_REQUEST_BYTES=lots"),
            (["COLPALI_HTTPS_PORT": "99999"], "COLPALI_HTTPS_PORT=99999"),
            (["COLPALI_TLS_CERT": "/nonexistent.pem"], "COLPALI_TLS_CERT and COLPALI_TLS_KEY"),
        ])
        func badSettingsAreRefusedWithAClearMessage(overrides: [String: String], message: String) async throws {
            let directory = try makeDirectory()
            let (status, output) = try await ChildProcess.run(
                [nginxScript, "check"], environment: try environment(directory, overrides), logDirectory: directory.path)
            #expect(status != "exit 0")
            #expect(output.contains(message), "\(output)")
        }

        @Test func givenCertificateIsUsedInsteadOfMakingOne() async throws {
            let directory = try makeDirectory()
            let cert = directory.file("my.crt")
            let key = directory.file("my.key")
            let (made, log) = try await ChildProcess.run(
                [
                    "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=test",
                    "-keyout", key, "-out", cert,
                ],
                environment: ProcessInfo.processInfo.environment, logDirectory: directory.path)
            try #require(made == "exit 0", "\(log)")
            let (status, output) = try await ChildProcess.run(
                [nginxScript, "check"],
                environment: try environment(directory, ["COLPALI_TLS_CERT": cert, "COLPALI_TLS_KEY": key]), logDirectory: directory.path)
            #expect(status == "exit 0", "\(output)")
            let config = try String(contentsOfFile: directory.file("run/nginx/nginx.conf"), encoding: .utf8)
            #expect(config.contains("ssl_certificate \(cert);"))
            #expect(!FileManager.default.fileExists(atPath: directory.file("run/state/tls/selfsigned.crt")))
        }

        /// The snippet files, included the documented way into an existing server, pass `nginx -t`.
        @Test func snippetIncludesIntoAnExistingServer() async throws {
            let directory = try makeDirectory()
            let env = try environment(directory, ["COLPALI_PATH_PREFIX": "/colpali"])
            let snippets = directory.file("snippets")
            let (status, output) = try await ChildProcess.run(
                [nginxScript, "snippet", snippets], environment: env, logDirectory: directory.path)
            try #require(status == "exit 0", "\(output)")
            let prefix = directory.file("host")
            mkdir(prefix, 0o755)
            let host = """
                daemon off;
                pid \(prefix)/nginx.pid;
                error_log stderr;
                events {}
                http {
                    client_body_temp_path \(prefix)/cb; fastcgi_temp_path \(prefix)/fc; proxy_temp_path \(prefix)/px;
                    uwsgi_temp_path \(prefix)/uw; scgi_temp_path \(prefix)/sc;
                    include \(snippets)/colmodernvbert-http.conf;
                    server {
                        listen 127.0.0.1:\(try freePort());
                        location / { return 200 "the existing site"; }
                        include \(snippets)/colmodernvbert-locations.conf;
                    }
                }
                """
            try host.write(toFile: "\(prefix)/nginx.conf", atomically: true, encoding: .utf8)
            let (tested, testOutput) = try await ChildProcess.run(
                ["nginx", "-t", "-q", "-e", "stderr", "-p", prefix + "/", "-c", "\(prefix)/nginx.conf"],
                environment: ["PATH": "/usr/sbin:/usr/bin:/bin"], logDirectory: directory.path)
            #expect(tested == "exit 0", "\(testOutput)")
            let locations = try String(contentsOfFile: "\(snippets)/colmodernvbert-locations.conf", encoding: .utf8)
            #expect(locations.contains("location ^~ /colpali/ {"))
            #expect(locations.contains("rewrite ^/colpali(/.*)$ $1 break;"))
        }

        /// nginx over HTTPS and HTTP -> unix socket -> supervised workers: parameters, gzip,
        /// JSON errors from nginx, pass-through errors from the app, a killed worker replaced,
        /// a request in flight completing through a drain, and 502 once the pool is gone.
        @Test func frontsASupervisedPool() async throws {
            let directory = try makeDirectory()
            let python = try testPython()
            let env = try environment(directory, ["COLPALI_MAX_REQUEST_BYTES": "4k", "COLPALI_RATE_LIMIT": "off"])
            let socketPath = directory.file("run/pool.sock")
            // 0660, in the nginx workers' group when nginx starts as root (what the master does).
            let group = getuid() == 0 ? UnixGroup.id("nogroup") : nil
            let listener = try ListeningSocket.bind(.unix(path: socketPath), permissions: UnixSocketPermissions(group: group))
            let events = Locked<[SupervisorEvent]>([])
            let supervisor = try Supervisor(
                configuration: SupervisorConfiguration(
                    command: WorkerCommand(executable: python, arguments: [fakeApp], environment: env),
                    workerCount: 2, drainGracePeriod: .seconds(10)),
                listener: listener, logger: quietLogger,
                observer: { event in events.withLock { $0.append(event) } })
            let done = Locked(false)
            Thread {
                try? supervisor.run()
                done.withLock { $0 = true }
            }.start()
            let nginx = try ChildProcess([nginxScript, "run"], environment: env, logPath: directory.file("nginx.log"))
            defer {
                nginx.terminate()
                supervisor.requestStop()
                supervisor.requestStop()
            }
            let https = "https://127.0.0.1:\(env["COLPALI_HTTPS_PORT"]!)"
            let http = "http://127.0.0.1:\(env["COLPALI_HTTP_PORT"]!)"
            try await eventually(timeout: 20, "nginx and two ready workers") {
                supervisor.snapshot.readyCount == 2 && connectsTCP(port: UInt16(env["COLPALI_HTTPS_PORT"]!)!)
            }

            // FastCGI parameters as the service will read them.
            let echo = try await curl(
                "\(https)/echo?x=1&y=two",
                ["-H", "X-Test: yes", "-H", "Content-Type: application/json", "--data-binary", "{\"queries\": \"q\"}"], directory: directory
            )
            #expect(echo.status == 200, "\(nginx.log)")
            let params = try #require(echo.json)
            #expect(params["REQUEST_METHOD"] as? String == "POST")
            #expect(params["CONTENT_TYPE"] as? String == "application/json")
            #expect(params["CONTENT_LENGTH"] as? String == "16")
            #expect(params["body_bytes"] as? Int == 16)
            #expect(params["DOCUMENT_URI"] as? String == "/echo")
            #expect(params["REQUEST_URI"] as? String == "/echo?x=1&y=two")
            #expect(params["QUERY_STRING"] as? String == "x=1&y=two")
            #expect(params["HTTPS"] as? String == "on")
            #expect(params["HTTP_X_TEST"] as? String == "yes")
            #expect((params["REQUEST_ID"] as? String)?.count == 32)
            let plain = try await curl("\(http)/echo", directory: directory)
            #expect(plain.status == 200 && plain.json?["HTTPS"] is NSNull)

            // gzip for JSON answers.
            let big = try await curl("\(https)/big", ["-H", "Accept-Encoding: gzip"], directory: directory)
            #expect(big.status == 200)
            #expect(big.headers["content-encoding"] == "gzip")
            let inflated = try await curl("\(https)/big", ["--compressed"], directory: directory)
            #expect(inflated.body.count > big.body.count * 3)
            #expect(inflated.json?["embeddings"] != nil)

            // Too large a body: 413 from nginx, JSON in the API's shape.
            let tooBig = try await curl("\(https)/echo", ["--data-binary", String(repeating: "x", count: 8192)], directory: directory)
            #expect(tooBig.status == 413)
            #expect(tooBig.headers["content-type"] == "application/json")
            #expect((tooBig.json?["detail"] as? String)?.contains("too large") == true)

            // The app's own errors pass through unchanged.
            let unavailable = try await curl("\(https)/status/503", directory: directory)
            #expect(unavailable.status == 503 && unavailable.json?["detail"] as? String == "status 503 from the app")

            // kill -9 a worker: the pool replaces it and requests keep succeeding.
            let victim = try #require(supervisor.snapshot.workers.first).pid
            kill(victim, SIGKILL)
            try await eventually(timeout: 20, "the killed worker to be replaced") {
                supervisor.snapshot.readyCount == 2 && !supervisor.snapshot.workers.contains { $0.pid == victim }
            }
            for _ in 0..<4 { #expect(try await curl("\(https)/echo", directory: directory).status == 200) }

            // A request in flight when the pool is told to stop still completes.
            let slowLog = directory.file("slow.log")
            let mark = directory.file("slow.started")
            let slow = try ChildProcess(
                [
                    "curl", "-sk", "--max-time", "30", "-o", directory.file("slow.body"), "-w", "%{http_code}",
                    "\(https)/slow?ms=1500&mark=\(mark)",
                ],
                environment: ["PATH": "/usr/bin:/bin"], logPath: slowLog)
            try await eventually(timeout: 20, "the slow request to reach a worker") { FileManager.default.fileExists(atPath: mark) }
            supervisor.requestStop()
            #expect(try await slow.waitForExitStatus(timeout: 20) == .exited(code: 0))
            #expect(slow.log == "200")
            try await eventually(timeout: 15, "the pool to stop") { done.withLock { $0 } }

            // No pool: 502 with a JSON body.
            let gone = try await curl("\(https)/echo", directory: directory)
            #expect(gone.status == 502)
            #expect(gone.headers["content-type"] == "application/json")
            #expect(gone.json?["detail"] as? String == "Embedding service unavailable")

            nginx.signal(SIGQUIT)
            #expect(try await nginx.waitForExitStatus(timeout: 15) == .exited(code: 0))
            #expect(!FileManager.default.fileExists(atPath: directory.file("run/nginx/nginx.pid")))
        }

        @Test func rateAndConnectionLimitsAnswer429InJSON() async throws {
            let directory = try makeDirectory()
            let env = try environment(directory, ["COLPALI_RATE_LIMIT": "1r/m", "COLPALI_RATE_BURST": "0", "COLPALI_HTTPS_PORT": "off"])
            let nginx = try ChildProcess([nginxScript, "run"], environment: env, logPath: directory.file("nginx.log"))
            defer { nginx.terminate() }
            let port = UInt16(env["COLPALI_HTTP_PORT"]!)!
            try await eventually(timeout: 60, "nginx to listen") { connectsTCP(port: port) }
            let first = try await curl("http://127.0.0.1:\(port)/echo", directory: directory)
            #expect(first.status == 502, "no pool behind it; the rate allows this one")
            let second = try await curl("http://127.0.0.1:\(port)/echo", directory: directory)
            #expect(second.status == 429)
            #expect(second.headers["content-type"] == "application/json")
            #expect(second.json?["detail"] as? String == "Too many requests")
            nginx.signal(SIGQUIT)
            #expect(try await nginx.waitForExitStatus(timeout: 15) == .exited(code: 0))
        }
    }
}
