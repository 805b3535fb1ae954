import Foundation
import Glibc
import ProcessTestSupport
import Testing

/// nginx.sh with COLPALI_UPSTREAMS (pools on several hosts): one `server` line per entry with
/// passive health, the entries read by the binary with COLPALI_LISTEN's grammar, bad ones
/// refused naming the variable and the entry.
extension ScriptSuites {
    @Suite struct UpstreamListTests {

        /// The `server ...;` lines of the upstream block, trimmed.
        func serverLines(_ http: String) -> [String] {
            http.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { $0.hasPrefix("server ") }
        }

        @Test func everyEntryBecomesAServerWithPassiveHealth() async throws {
            let directory = try TemporaryDirectory()
            // Commas, blanks, both; a relative unix path; IPv6. COLPALI_LISTEN is the local pool's
            // business and not read: an unusable one changes nothing.
            let (output, http, _) = try await renderNginx(
                ["COLPALI_UPSTREAMS": " 10.0.0.2:9000,10.0.0.3:9000  tcp:[fd00::4]:9001 , unix:./pool.sock", "COLPALI_LISTEN": "nowhere"],
                in: directory)
            let cwd = FileManager.default.currentDirectoryPath
            let servers = serverLines(try #require(http, "\(output)"))
            #expect(
                servers == [
                    "server 10.0.0.2:9000 max_fails=1 fail_timeout=10s;", "server 10.0.0.3:9000 max_fails=1 fail_timeout=10s;",
                    "server [fd00::4]:9001 max_fails=1 fail_timeout=10s;", "server unix:\(cwd)/pool.sock max_fails=1 fail_timeout=10s;",
                ], "\(output)")
            // No backup (the equality above): the pools' overload sockets are unix sockets on their own hosts.
            #expect(!(http ?? "").contains("overload.sock"))
            // Failure counts shared by nginx's workers (each would otherwise find a dead host itself).
            #expect((http ?? "").contains("\n    zone colmodernvbert_pool 64k;\n"))
        }

        @Test func healthSettingsAreConfigurable() async throws {
            let directory = try TemporaryDirectory()
            let (output, http, _) = try await renderNginx(
                [
                    "COLPALI_UPSTREAMS": "10.0.0.2:9000 10.0.0.3:9000", "COLPALI_UPSTREAM_MAX_FAILS": "3",
                    "COLPALI_UPSTREAM_FAIL_TIMEOUT": "30s",
                ],
                in: directory)
            #expect(
                serverLines(try #require(http, "\(output)")) == [
                    "server 10.0.0.2:9000 max_fails=3 fail_timeout=30s;", "server 10.0.0.3:9000 max_fails=3 fail_timeout=30s;",
                ])
        }

        @Test(arguments: [
            ("COLPALI_UPSTREAM_MAX_FAILS", "many", "COLPALI_UPSTREAM_MAX_FAILS=many"),
            ("COLPALI_UPSTREAM_FAIL_TIMEOUT", "10 s", "COLPALI_UPSTREAM_FAIL_TIMEOUT=10 s"),
            ("COLPALI_UPSTREAM_FAIL_TIMEOUT", "0", "COLPALI_UPSTREAM_FAIL_TIMEOUT=0"),
        ])
        func badHealthSettingsAreRefused(variable: String, value: String, message: String) async throws {
            let directory = try TemporaryDirectory()
            let (output, http, _) = try await renderNginx(["COLPALI_UPSTREAMS": "10.0.0.2:9000", variable: value], in: directory)
            #expect(http == nil)
            #expect(output.contains(message), "\(output)")
        }

        /// Each bad entry is named, with the variable, and why.
        @Test(arguments: [
            ("10.0.0.2:9000, 10.0.0.3", "entry \"10.0.0.3\"", "has no port"),
            ("10.0.0.2:9000 fd:3", "entry \"fd:3\"", "inherited descriptor"),
            ("10.0.0.2:0", "entry \"10.0.0.2:0\"", "port 0"),
            ("10.0.0.2:9000 10.0.0.2:9000", "entry \"10.0.0.2:9000\"", "listed twice"),
            ("10.0.0.2:99999", "entry \"10.0.0.2:99999\"", "outside 0...65535"),
            ("::1:9000", "entry \"::1:9000\"", "[v6]:port"),
            (", ,", "COLPALI_UPSTREAMS=\", ,\"", "names no address"),
        ])
        func badEntriesAreRefusedNamingThem(value: String, entry: String, reason: String) async throws {
            let directory = try TemporaryDirectory()
            let (output, http, _) = try await renderNginx(["COLPALI_UPSTREAMS": value], in: directory)
            #expect(http == nil)
            #expect(output.contains("COLPALI_UPSTREAMS="), "\(output)")
            #expect(output.contains(entry) && output.contains(reason), "\(output)")
        }

        /// nginx accepts the rendered configuration, and moves a request on to the next host on a
        /// connect error or timeout only (no replay of requests already sent: non_idempotent).
        @Test func nginxAcceptsItAndMovesOnOnlyBeforeSending() async throws {
            let directory = try TemporaryDirectory()
            // nginx.sh run as root refuses a run directory its unprivileged workers cannot traverse.
            chmod(directory.path, 0o755)
            let (output, http, locations) = try await renderNginx(
                [
                    "COLPALI_UPSTREAMS": "10.0.0.2:9000,10.0.0.3:9000", "COLPALI_HTTPS_PORT": "off",
                    "COLPALI_HTTP_PORT": String(try freePort()),
                ],
                action: "check", in: directory)
            #expect(http != nil && output.contains("configuration OK"), "\(output)")
            let directives = (locations ?? "").split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
                .filter { $0.hasPrefix("fastcgi_next_upstream") }
            #expect(directives == ["fastcgi_next_upstream error timeout;"], "\(locations ?? output)")
        }
    }
}
