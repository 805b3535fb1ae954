import POSIX
import Testing

@testable import EmbeddingService

/// `COLPALI_UPSTREAMS`: pool addresses for nginx, each read with COLPALI_LISTEN's grammar.
@Suite struct UpstreamListTests {
    @Test func unsetOrBlankMeansTheLocalPool() throws {
        #expect(try UpstreamList.fromEnvironment([:], workingDirectory: "/w") == nil)
        #expect(try UpstreamList.fromEnvironment(["COLPALI_UPSTREAMS": " \t "], workingDirectory: "/w") == nil)
    }

    @Test func entriesSplitOnCommasAndBlanksInOrder() throws {
        let list = try #require(
            try UpstreamList.fromEnvironment(
                ["COLPALI_UPSTREAMS": "10.0.0.3:9000,10.0.0.2:9000 \t[fd00::1]:9000, ,unix:rel.sock /abs.sock"], workingDirectory: "/w"))
        #expect(
            list.addresses == [
                .tcp(host: "10.0.0.3", port: 9000), .tcp(host: "10.0.0.2", port: 9000), .tcp(host: "fd00::1", port: 9000),
                .unix(path: "/w/rel.sock"), .unix(path: "/abs.sock"),
            ])
        #expect(list.nginxForms == ["10.0.0.3:9000", "10.0.0.2:9000", "[fd00::1]:9000", "unix:/w/rel.sock", "unix:/abs.sock"])
    }

    @Test(arguments: [
        ("a:1 host", "host", "has no port"), ("fd:0", "fd:0", "inherited descriptor"), ("h:0", "h:0", "port 0"),
        ("h:1 h:1", "h:1", "listed twice"), ("h:1,unix:", "unix:", "no socket path"),
    ])
    func badEntriesAreNamed(value: String, entry: String, reason: String) {
        #expect {
            try UpstreamList(parsing: value, workingDirectory: "/w")
        } throws: { error in
            let error = error as? UpstreamListError
            let text = error.map { "\($0)" } ?? ""
            return error?.entry == entry && text.hasPrefix("COLPALI_UPSTREAMS=\"\(value)\": entry \"\(entry)\"") && text.contains(reason)
        }
    }

    @Test func aListOfSeparatorsIsRefused() {
        #expect(throws: UpstreamListError(value: ", ,", entry: nil, reason: "it names no address")) {
            try UpstreamList(parsing: ", ,", workingDirectory: "/w")
        }
    }
}
