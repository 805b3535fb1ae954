import Foundation
import Glibc
import ProcessTestSupport
import Testing

@testable import WorkerPool

/// scripts/run.sh with a stand-in master (the fake FastCGI app binding COLPALI_LISTEN
/// itself, as `colmodernvbert serve` does): both start, serve through nginx, and stop
/// cleanly on Ctrl-C; if the master dies, nginx is stopped too and run.sh fails.
extension ScriptSuites {
    @Suite struct RunScriptTests {
        let root = repositoryRoot()

        func start(_ directory: TemporaryDirectory) throws -> (ChildProcess, [String: String]) {
            chmod(directory.path, 0o755)
            var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("COLPALI_") }
            env["COLPALI_RUN_DIR"] = directory.file("run")
            env["COLPALI_BIND_ADDRESS"] = "127.0.0.1"
            env["COLPALI_HTTP_PORT"] = String(try freePort())
            env["COLPALI_HTTPS_PORT"] = String(try freePort())
            env["COLPALI_BINARY"] = try serviceBinary()
            // The stand-in binds COLPALI_LISTEN, so it is given the default the binary would use
            // (run.sh no longer spells it; nginx.sh asks the binary).
            env["COLPALI_LISTEN"] = "unix:\(directory.file("run"))/colmodernvbert.sock"
            env["COLPALI_SERVER_COMMAND"] = "\(try testPython()) \(root)/Tests/Fixtures/worker-pool/fake_fcgi_app.py"
            let run = try ChildProcess(["\(root)/scripts/run.sh", "--no-setup"], environment: env, logPath: directory.file("run.log"))
            return (run, env)
        }

        func waitServing(_ env: [String: String], _ directory: TemporaryDirectory, _ run: ChildProcess) async throws {
            let port = UInt16(env["COLPALI_HTTPS_PORT"]!)!
            try await eventually(timeout: 60, "run.sh to serve") {
                connectsTCP(port: port) && FileManager.default.fileExists(atPath: directory.file("run/colmodernvbert.sock"))
            }
            let answer = try await curl("https://127.0.0.1:\(port)/echo", directory: directory)
            #expect(answer.status == 200, "\(run.log)")
        }

        /// `start` and `waitServing`, with new ports when nginx lost a port picked free to another
        /// suite before binding it (then the readiness probe reached that suite's listener and the
        /// first request found nobody: seen once with the integration suites running alongside).
        func startServing(_ directory: TemporaryDirectory) async throws -> (ChildProcess, [String: String]) {
            for attempt in 1...3 {
                let (run, env) = try start(directory)
                do {
                    try await waitServing(env, directory, run)
                    return (run, env)
                } catch {
                    run.terminate()
                    guard attempt < 3, run.log.contains("Address already in use") else { throw error }
                    try? FileManager.default.removeItem(atPath: directory.file("run"))
                }
            }
            preconditionFailure("unreachable: the last attempt returns or throws")
        }

        @Test func ctrlCStopsNginxAndThePoolCleanly() async throws {
            let directory = try TemporaryDirectory()
            let (run, env) = try await startServing(directory)
            defer { run.terminate() }
            run.signal(SIGINT)
            let status = try await run.waitForExitStatus(timeout: 20)
            #expect(status == .exited(code: 0), "\(run.log)")
            #expect(run.log.contains("[run.sh] nginx stopped (status 0)"))
            #expect(run.log.contains("[run.sh] master stopped (status 0)"))
            #expect(!FileManager.default.fileExists(atPath: directory.file("run/colmodernvbert.sock")))
            #expect(!FileManager.default.fileExists(atPath: directory.file("run/nginx/nginx.pid")))
            #expect(!connectsTCP(port: UInt16(env["COLPALI_HTTPS_PORT"]!)!))
        }

        @Test func aDeadMasterTakesNginxDownAndFailsTheRun() async throws {
            let directory = try TemporaryDirectory()
            let (run, env) = try await startServing(directory)
            defer { run.terminate() }
            // The stand-in logs "fake-fcgi-app PID: serving"; that process is run.sh's child.
            let line = try #require(run.log.split(separator: "\n").first { $0.hasPrefix("fake-fcgi-app ") })
            let pid = try #require(Int32(line.split(separator: " ")[1].dropLast()))
            #expect(kill(pid, SIGKILL) == 0)
            let status = try await run.waitForExitStatus(timeout: 20)
            #expect(status == .exited(code: 1), "\(run.log)")
            #expect(run.log.contains("master exited on its own (signal 9)"))
            #expect(!connectsTCP(port: UInt16(env["COLPALI_HTTPS_PORT"]!)!))
        }
    }
}
