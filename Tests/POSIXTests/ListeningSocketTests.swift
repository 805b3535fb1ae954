import Foundation
import Glibc
import Testing

@testable import POSIX

@Suite struct ListeningSocketTests {
    @Test func bindsUnixSocketWithModeAndCloseOnExec() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("a.sock")
        let socket = try ListeningSocket.bind(.unix(path: path), permissions: UnixSocketPermissions(mode: 0o600))
        var info = stat()
        #expect(lstat(path, &info) == 0)
        #expect(info.st_mode & S_IFMT == S_IFSOCK)
        #expect(info.st_mode & 0o777 == 0o600)
        #expect(Descriptors.isCloseOnExec(socket.fileDescriptor))
        // It listens: a client connects.
        let client = connectUnix(path)
        #expect(client >= 0)
        close(client)
        socket.close()
        #expect(access(path, F_OK) != 0, "close() removes the socket file")
        socket.close()  // idempotent
    }

    /// Issue 12: 0660 by default (was 0666: any local user could bypass nginx), in the
    /// creator's group, whatever the umask; nothing else is left in the directory.
    @Test func defaultModeIsOwnerAndGroupOnly() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("b.sock")
        let socket = try withUmask(0) { try ListeningSocket.bind(.unix(path: path)) }
        defer { socket.close() }
        var info = stat()
        #expect(lstat(path, &info) == 0)
        #expect(info.st_mode & 0o777 == 0o660)
        #expect(info.st_gid == getegid())
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["b.sock"], "the staging directory is gone")
    }

    @Test func replacesAStaleSocketFile() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("stale.sock")
        // A socket file nobody listens on: bind a socket and close it without unlinking.
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = try ListeningSocket.unixSocketAddress(path, address: .unix(path: path))
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        #expect(rc == 0)
        close(fd)
        #expect(access(path, F_OK) == 0)
        #expect(connectUnix(path) < 0, "nothing accepts on the stale file")

        let listener = try ListeningSocket.bind(.unix(path: path))
        defer { listener.close() }
        let client = connectUnix(path)
        #expect(client >= 0)
        close(client)
    }

    @Test func refusesASocketSomeoneListensOn() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("live.sock")
        let first = try ListeningSocket.bind(.unix(path: path))
        defer { first.close() }
        #expect(throws: ListenError.addressInUse(.unix(path: path))) { try ListeningSocket.bind(.unix(path: path)) }
        // The live socket was left alone.
        let client = connectUnix(path)
        #expect(client >= 0)
        close(client)
    }

    @Test func refusesToDeleteAFileThatIsNotASocket() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("not-a-socket")
        #expect(FileManager.default.createFile(atPath: path, contents: Data("keep".utf8)))
        #expect(throws: ListenError.pathOccupied(path)) { try ListeningSocket.bind(.unix(path: path)) }
        #expect(FileManager.default.contents(atPath: path) == Data("keep".utf8))
    }

    @Test func closeLeavesAPathThatWasReboundByOthers() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("c.sock")
        let first = try ListeningSocket.bind(.unix(path: path))
        first.removePath()
        #expect(access(path, F_OK) != 0, "removePath() unlinks at once")
        let second = try ListeningSocket.bind(.unix(path: path))
        defer { second.close() }
        first.close()
        #expect(access(path, F_OK) == 0, "closing the old socket must not unlink the new one")
    }

    @Test func bindsTCPOnLoopbackWithReuseAddress() throws {
        let socket = try ListeningSocket.bind(.tcp(host: "127.0.0.1", port: 0))
        defer { socket.close() }
        let port = try #require(socket.localPort)
        #expect(port > 0)
        var reuse: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        #expect(getsockopt(socket.fileDescriptor, SOL_SOCKET, SO_REUSEADDR, &reuse, &length) == 0)
        #expect(reuse != 0)
        #expect(Descriptors.isCloseOnExec(socket.fileDescriptor))
        #expect(throws: ListenError.addressInUse(.tcp(host: "127.0.0.1", port: port))) {
            try ListeningSocket.bind(.tcp(host: "127.0.0.1", port: port))
        }
    }

    @Test func reportsUnresolvableHosts() {
        #expect {
            try ListeningSocket.bind(.tcp(host: "no-such-host.invalid", port: 9000))
        } throws: { error in
            if case ListenError.resolve(let host, _) = error { return host == "no-such-host.invalid" }
            return false
        }
    }

    @Test func inheritsAListeningDescriptorAndRefusesOthers() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("i.sock")
        let bound = try ListeningSocket.bind(.unix(path: path))
        defer { bound.close() }
        let inherited = try ListeningSocket.bind(.inherited(fd: dup(bound.fileDescriptor)))
        #expect(inherited.address == .inherited(fd: inherited.fileDescriptor))
        let client = connectUnix(path)
        #expect(client >= 0)
        close(client)
        inherited.close()
        #expect(access(path, F_OK) == 0, "closing an inherited socket never removes the path")

        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        defer {
            close(fds[0])
            close(fds[1])
        }
        #expect(throws: ListenError.notAListeningSocket(fd: fds[0])) { try ListeningSocket.inherit(fd: fds[0]) }
    }

    @Test func missingDirectoryIsASystemError() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("missing/x.sock")
        #expect {
            try ListeningSocket.bind(.unix(path: path))
        } throws: { error in
            if case ListenError.system(let e) = error { return e.errno == ENOENT && e.call == "bind" }
            return false
        }
    }
}
