import Testing

@testable import FastCGI

@Suite struct HeaderValueTests {
    @Test func tokenAndParameters() {
        let value = HeaderValue(parsing: #"Multipart/Form-Data ; Boundary="a b;c" ; charset=utf-8"#)
        #expect(value.value == "multipart/form-data")
        #expect(value.parameter("boundary") == "a b;c")
        #expect(value.parameter("CHARSET") == "utf-8")
    }

    @Test func quotedStringEscapes() {
        // \" and \\ are unescaped; other backslashes stay (browsers send Windows paths raw).
        let value = HeaderValue(parsing: #"form-data; name="a\"b"; filename="C:\dir\x\\y.png""#)
        #expect(value.parameter("name") == #"a"b"#)
        #expect(value.parameter("filename") == #"C:\dir\x\y.png"#)
    }

    @Test func extendedParameters() {
        let value = HeaderValue(parsing: "form-data; name=files; filename*=UTF-8''%C3%A9t%C3%A9%20%E2%82%AC.png; filename=\"ete.png\"")
        #expect(value.parameter("filename*") == "été €.png")
        #expect(value.parameter("filename") == "ete.png")
        let latin = HeaderValue(parsing: "attachment; filename*=iso-8859-1'en'%E9t%E9.txt")
        #expect(latin.parameter("filename*") == "été.txt")
        // Unknown charsets and broken escapes are dropped rather than guessed.
        #expect(HeaderValue(parsing: "a; filename*=koi8-r''%E9").parameter("filename*") == nil)
        #expect(HeaderValue(parsing: "a; filename*=UTF-8''%E").parameter("filename*") == nil)
        #expect(HeaderValue(parsing: "a; filename*=UTF-8''%FF").parameter("filename*") == nil)
        #expect(HeaderValue(parsing: "a; filename*=nonsense").parameter("filename*") == nil)
    }

    @Test func malformedPiecesAreSkipped() {
        let value = HeaderValue(parsing: #"form-data; ; =x; flag; name="unterminated"#)
        #expect(value.value == "form-data")
        #expect(value.parameters.count == 1)
        #expect(value.parameter("name") == "unterminated")
        #expect(HeaderValue(parsing: "").value == "")
    }

    @Test func randomInputNeverCrashes() {
        var generator = SeededGenerator(seed: 5)
        let alphabet = Array(#"ab=;"\'* %E9%C3"#.unicodeScalars) + ["é", "\t"]
        for _ in 0..<5_000 {
            let text = String(
                String.UnicodeScalarView(
                    (0..<Int.random(in: 0...30, using: &generator)).map { _ in
                        alphabet.randomElement(using: &generator)!
                    }))
            _ = HeaderValue(parsing: text)
        }
    }
}
