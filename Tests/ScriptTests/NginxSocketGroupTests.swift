import Foundation
import Glibc
import POSIX
import ProcessTestSupport
import Testing

/// nginx started as root runs its workers in the pool socket's group (issue 12: the socket is
/// 0660): `COLPALI_SOCKET_GROUP` when set (a gid is written as its name), else nogroup.
extension ScriptSuites.NginxFrontTests {
    @Test(.enabled(if: getuid() == 0, "nginx only changes user when started as root"))
    func nginxWorkersRunInTheSocketsGroup() async throws {
        let group = try #require(UnixGroup.name(of: 1), "gid 1 (daemon on Debian) names a group")
        let cases: [([String: String], String)] = [
            ([:], "user nobody nogroup;"),
            (["COLPALI_SOCKET_GROUP": group], "user nobody \(group);"),
            (["COLPALI_SOCKET_GROUP": "1"], "user nobody \(group);"),
            (["COLPALI_SOCKET_GROUP": group, "COLPALI_NGINX_USER": "nobody"], "user nobody \(group);"),
            (["COLPALI_SOCKET_GROUP": group, "COLPALI_NGINX_USER": "nobody nogroup"], "user nobody nogroup;"),
        ]
        for (overrides, expected) in cases {
            let directory = try makeDirectory()
            let (status, output) = try await ChildProcess.run(
                [nginxScript, "check"], environment: try environment(directory, overrides), logDirectory: directory.path)
            #expect(status == "exit 0", "\(overrides): \(output)")
            let config = try String(contentsOfFile: directory.file("run/nginx/nginx.conf"), encoding: .utf8)
            #expect(config.contains(expected), "\(overrides): \(config.prefix(300))")
        }
        let directory = try makeDirectory()
        let (status, output) = try await ChildProcess.run(
            [nginxScript, "check"], environment: try environment(directory, ["COLPALI_SOCKET_GROUP": "no-such-group-\(getpid())"]),
            logDirectory: directory.path)
        #expect(status != "exit 0")
        #expect(output.contains("COLPALI_SOCKET_GROUP=no-such-group-\(getpid()): no such group"), "\(output)")
    }
}
