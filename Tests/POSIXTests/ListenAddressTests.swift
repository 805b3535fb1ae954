import Testing

@testable import POSIX

@Suite struct ListenAddressTests {
    @Test(arguments: [
        ("unix:/run/pool.sock", ListenAddress.unix(path: "/run/pool.sock")),
        ("/run/pool.sock", .unix(path: "/run/pool.sock")),
        ("./.run/pool.sock", .unix(path: "./.run/pool.sock")),
        ("unix:relative.sock", .unix(path: "relative.sock")),
        ("  unix:/a.sock\n", .unix(path: "/a.sock")),
        ("127.0.0.1:9000", .tcp(host: "127.0.0.1", port: 9000)),
        ("localhost:0", .tcp(host: "localhost", port: 0)),
        ("tcp:127.0.0.1:65535", .tcp(host: "127.0.0.1", port: 65535)),
        ("[::1]:9000", .tcp(host: "::1", port: 9000)),
        ("fd:0", .inherited(fd: 0)),
        ("fd:7", .inherited(fd: 7)),
        // The forms the worker's own parser accepted (FastCGI, before there was one grammar).
        ("unix:/tmp/a.sock", .unix(path: "/tmp/a.sock")),
        ("/run/x.sock", .unix(path: "/run/x.sock")),
    ])
    func parses(text: String, expected: ListenAddress) throws {
        #expect(try ListenAddress(parsing: text) == expected)
    }

    @Test(arguments: [
        ("", ListenAddressError.empty),
        ("   ", .empty),
        ("unix:", .missingPath("unix:")),
        ("localhost", .missingPort("localhost")),
        ("localhost:", .missingPort("localhost:")),
        (":9000", .missingHost(":9000")),
        ("127.0.0.1:65536", .invalidPort("127.0.0.1:65536")),
        ("127.0.0.1:-1", .invalidPort("127.0.0.1:-1")),
        ("127.0.0.1:90a", .invalidPort("127.0.0.1:90a")),
        ("::1:9000", .unrecognized("::1:9000")),
        ("[::1]9000", .missingPort("[::1]9000")),
        ("[::1:9000", .unrecognized("[::1:9000")),
        ("fd:", .invalidDescriptor("fd:")),
        ("fd:-1", .invalidDescriptor("fd:-1")),
        ("fd:x", .invalidDescriptor("fd:x")),
        ("fd:99999999999", .invalidDescriptor("fd:99999999999")),
        ("host", .missingPort("host")),
        ("host:70000", .invalidPort("host:70000")),
    ])
    func rejects(text: String, expected: ListenAddressError) {
        #expect(throws: expected) { try ListenAddress(parsing: text) }
    }

    @Test func rejectsUnixPathsTheKernelCannotBind() throws {
        let path = "/" + String(repeating: "d", count: 107)
        #expect(throws: ListenAddressError.unixPathTooLong(path, limit: 107)) { try ListenAddress(parsing: path) }
        let fits = "/" + String(repeating: "d", count: 106)
        #expect(try ListenAddress(parsing: fits) == .unix(path: fits))
    }

    @Test func descriptionRoundTrips() throws {
        for text in ["unix:/run/p.sock", "127.0.0.1:9000", "[::1]:7001", "fd:3"] {
            let address = try ListenAddress(parsing: text)
            #expect(address.description == text)
            #expect(try ListenAddress(parsing: address.description) == address)
        }
    }
}

@Suite struct ListenAddressResolutionTests {
    @Test func relativeUnixPathsResolveAgainstADirectory() throws {
        #expect(try ListenAddress(parsing: "./.run/p.sock").resolvingRelativePath(against: "/srv") == .unix(path: "/srv/.run/p.sock"))
        #expect(try ListenAddress(parsing: "unix:p.sock").resolvingRelativePath(against: "/srv/") == .unix(path: "/srv/p.sock"))
        #expect(ListenAddress.unix(path: "/abs.sock").resolvingRelativePath(against: "/srv") == .unix(path: "/abs.sock"))
        #expect(ListenAddress.tcp(host: "h", port: 1).resolvingRelativePath(against: "/srv") == .tcp(host: "h", port: 1))
    }
}
