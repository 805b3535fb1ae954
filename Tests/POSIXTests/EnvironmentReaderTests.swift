import Testing

@testable import POSIX

@Suite struct EnvironmentReaderTests {
    @Test func emptyIsUnsetAndTrimmingIsOnlyForTypedReads() {
        let reader = EnvironmentReader(["EMPTY": "", "BLANK": " \t", "PADDED": "  v1\u{00A0}", "LINE": "x\n"])
        #expect(reader["EMPTY"] == nil && reader.string("EMPTY") == nil)
        #expect(reader["MISSING"] == nil && reader.string("MISSING") == nil)
        // As given for hub-style variables; blanks (tab, Unicode spaces) removed for the service's own.
        #expect(reader["BLANK"] == " \t" && reader.string("BLANK") == nil)
        #expect(reader["PADDED"] == "  v1\u{00A0}" && reader.string("PADDED") == "v1")
        // Newlines are not blanks (Foundation's CharacterSet.whitespaces, as before).
        #expect(reader.string("LINE") == "x\n")
    }

    @Test func integersAndSizesNameTheVariableWhenBad() throws {
        let reader = EnvironmentReader(["N": " 8 ", "BIG": "99", "SIZE": "64m", "K": "512K", "BAD": "12q", "ZERO": "0"])
        #expect(try reader.int("N", in: 1...10) == 8)
        #expect(try reader.int("MISSING", in: 1...10) == nil)
        #expect(throws: EnvironmentError(variable: "BIG", value: "99", expected: "an integer in 1...10")) {
            try reader.int("BIG", in: 1...10)
        }
        #expect(try reader.byteSize("SIZE") == 64 << 20)
        #expect(try reader.byteSize("K") == 512 << 10)
        for name in ["BAD", "ZERO"] {
            #expect { try reader.byteSize(name) } throws: { "\($0)".contains(name) }
        }
    }

    @Test func expandsLikePythonsOSPath() {
        let reader = EnvironmentReader(["HOME": "/home/u", "A": "x", "E": ""])
        #expect(reader.expandUser("~") == "/home/u")
        #expect(reader.expandUser("~/c") == "/home/u/c")
        #expect(reader.expandUser("~other/c") == "~other/c")
        #expect(reader.expand("~/$A/${A}/$E/$NOPE/${NOPE}/$/${") == "/home/u/x/x//$NOPE/${NOPE}/$/${")
    }

    @Test func homeFallsBackToTheUserDatabase() {
        #expect(EnvironmentReader([:]).home.hasPrefix("/"))
    }
}
