import Foundation
import Glibc
import Testing

@testable import POSIX

@Suite struct UnixSocketPermissionsTests {
    @Test func parsesOctalModes() throws {
        #expect(try UnixSocketPermissions.mode(parsing: "0660") == 0o660)
        #expect(try UnixSocketPermissions.mode(parsing: "600") == 0o600)
        #expect(try UnixSocketPermissions.mode(parsing: " 0o640 ") == 0o640)
        #expect(try UnixSocketPermissions.mode(parsing: "0664") == 0o664, "o+r alone does not let others connect")
        for text in ["", "rw-rw----", "0x1b0", "0668", "06600", "-660"] {
            #expect(throws: SocketModeError.notOctal(text)) { try UnixSocketPermissions.mode(parsing: text) }
        }
        #expect(throws: SocketModeError.notPermissionBits(0o4660)) { try UnixSocketPermissions.mode(parsing: "4660") }
    }

    @Test func refusesWorldWritableModes() {
        for text in ["0666", "0662", "0777", "002"] {
            #expect(throws: SocketModeError.worldWritable(mode_t(text, radix: 8)!)) { try UnixSocketPermissions.mode(parsing: text) }
        }
        #expect(throws: SocketModeError.worldWritable(0o666)) { try UnixSocketPermissions(mode: 0o666) }
        #expect(UnixSocketPermissions.default.mode == 0o660 && UnixSocketPermissions.default.group == nil)
    }

    @Test func resolvesGroupsByNameAndNumber() throws {
        let own = getegid()
        #expect(UnixGroup.id(String(own)) == own)
        let name = try #require(UnixGroup.name(of: own), "the test user's group has a name")
        #expect(UnixGroup.id(name) == own)
        #expect(UnixGroup.id("no-such-group-\(getpid())") == nil)
        #expect(UnixGroup.isMember(own))
    }

    /// The configured mode is on the path as soon as it exists, whatever the umask.
    @Test(arguments: [mode_t(0o660), 0o600, 0o640])
    func boundSocketHasTheConfiguredMode(mode: mode_t) throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("m.sock")
        let socket = try withUmask(0o077) {
            try ListeningSocket.bind(.unix(path: path), permissions: UnixSocketPermissions(mode: mode))
        }
        defer { socket.close() }
        var info = stat()
        #expect(lstat(path, &info) == 0)
        #expect(info.st_mode & S_IFMT == S_IFSOCK)
        #expect(info.st_mode & 0o777 == mode)
        let client = connectUnix(path)
        #expect(client >= 0)
        close(client)
    }

    /// A group this process may use (its own, or a supplementary one; any group as root).
    @Test func boundSocketGetsTheConfiguredGroup() throws {
        let target: gid_t = getuid() == 0 ? (UnixGroup.id("nogroup") ?? 65534) : supplementaryGroup() ?? getegid()
        let directory = try TemporaryDirectory()
        let path = directory.file("g.sock")
        let socket = try ListeningSocket.bind(.unix(path: path), permissions: UnixSocketPermissions(mode: 0o660, group: target))
        defer { socket.close() }
        var info = stat()
        #expect(lstat(path, &info) == 0)
        #expect(info.st_gid == target)
        #expect(info.st_mode & 0o777 == 0o660)
    }

    @Test(.enabled(if: getuid() != 0, "root may give a file to any group"))
    func aGroupThatIsNotOursIsRefusedByName() throws {
        let foreign = try #require((1..<60_000).map { gid_t($0) }.first { !UnixGroup.isMember($0) })
        let directory = try TemporaryDirectory()
        let path = directory.file("f.sock")
        #expect {
            try ListeningSocket.bind(.unix(path: path), permissions: UnixSocketPermissions(group: foreign))
        } throws: { error in
            guard case ListenError.socketGroup(let gid, let e) = error else { return false }
            return gid == foreign && e.errno == EPERM && "\(error)".contains("COLPALI_SOCKET_GROUP")
        }
        #expect(access(path, F_OK) != 0, "nothing is left at the path")
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).isEmpty)
    }

    /// A directory long enough that the staging socket path would not fit: bound through
    /// /proc/self/fd, the final path still gets the socket.
    @Test func longDirectoryWithShortNameStillBinds() throws {
        let directory = try TemporaryDirectory()
        var long = directory.path
        while long.utf8.count < 100 {
            long += "/dddddddddd"
            mkdir(long, 0o755)
        }
        let path = long + "/" + String(repeating: "s", count: max(1, ListenAddress.maximumUnixPathBytes - long.utf8.count - 1))
        #expect(path.utf8.count <= ListenAddress.maximumUnixPathBytes)
        let socket = try ListeningSocket.bind(.unix(path: path))
        defer { socket.close() }
        var info = stat()
        #expect(lstat(path, &info) == 0)
        #expect(info.st_mode & 0o777 == 0o660)
        let client = connectUnix(path)
        #expect(client >= 0)
        close(client)
    }

    @Test func loopbackAddresses() throws {
        for text in ["127.0.0.1:9000", "127.1.2.3:1", "localhost:9000", "[::1]:9000", "[::ffff:127.0.0.1]:9000"] {
            #expect(try ListenAddress(parsing: text).isLoopback == true, "\(text)")
        }
        for text in ["0.0.0.0:9000", "10.0.0.5:9000", "[::]:9000", "[2001:db8::1]:9000", "128.0.0.1:9000"] {
            #expect(try ListenAddress(parsing: text).isLoopback == false, "\(text)")
        }
        #expect(try ListenAddress(parsing: "unix:/run/x.sock").isLoopback == nil)
        #expect(try ListenAddress(parsing: "fd:0").isLoopback == nil)
    }

    private func supplementaryGroup() -> gid_t? {
        let count = getgroups(0, nil)
        guard count > 0 else { return nil }
        var groups = [gid_t](repeating: 0, count: Int(count))
        return getgroups(count, &groups) > 0 ? groups.first { $0 != getegid() } : nil
    }
}
