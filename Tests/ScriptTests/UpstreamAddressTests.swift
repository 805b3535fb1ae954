import Foundation
import Glibc
import ProcessTestSupport
import Testing

/// nginx.sh takes the pool's address from the binary (`colmodernvbert config nginx`), so
/// nginx and the pool read COLPALI_LISTEN and its default the same way.
extension ScriptSuites {
    @Suite struct UpstreamAddressTests {

        /// Renders the snippet files and returns the `server ...` line of the upstream block.
        func upstreamLine(_ overrides: [String: String], in directory: TemporaryDirectory) async throws -> (String, String?) {
            let (output, http, _) = try await renderNginx(overrides, in: directory)
            guard let http else { return (output, nil) }
            let line = http.split(separator: "\n").first { $0.trimmingCharacters(in: .whitespaces).hasPrefix("server ") }
            return (output, line.map { $0.trimmingCharacters(in: .whitespaces) })
        }

        @Test func defaultIsTheRunDirectorysSocket() async throws {
            let directory = try TemporaryDirectory()
            let (output, line) = try await upstreamLine([:], in: directory)
            #expect(line == "server unix:\(directory.file("run"))/colmodernvbert.sock max_fails=0;", "\(output)")
        }

        @Test(arguments: [
            ("unix:/srv/pool.sock", "unix:/srv/pool.sock"), ("/srv/pool.sock", "unix:/srv/pool.sock"),
            ("tcp:127.0.0.1:9123", "127.0.0.1:9123"), ("[::1]:9123", "[::1]:9123"),
        ])
        func explicitAddressesInNginxForm(listen: String, expected: String) async throws {
            let directory = try TemporaryDirectory()
            let (output, line) = try await upstreamLine(["COLPALI_LISTEN": listen], in: directory)
            #expect(line == "server \(expected) max_fails=0;", "\(output)")
        }

        @Test func relativePathsAreMadeAbsolute() async throws {
            let directory = try TemporaryDirectory()
            let (output, line) = try await upstreamLine(["COLPALI_LISTEN": "unix:./pool.sock"], in: directory)
            // ChildProcess starts the script in this process's working directory.
            let cwd = FileManager.default.currentDirectoryPath
            #expect(line == "server unix:\(cwd)/pool.sock max_fails=0;", "\(output)")
        }

        @Test(arguments: [("nowhere", "COLPALI_LISTEN=\"nowhere\""), ("fd:0", "COLPALI_LISTEN=fd:0")])
        func unusableAddressesAreRefusedNamingTheVariable(listen: String, message: String) async throws {
            let directory = try TemporaryDirectory()
            let (output, line) = try await upstreamLine(["COLPALI_LISTEN": listen], in: directory)
            #expect(line == nil)
            #expect(output.contains(message), "\(output)")
        }
    }
}
