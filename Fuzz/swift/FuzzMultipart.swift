// libFuzzer harness: FastCGI's multipart/form-data parser, compiled from the module's
// sources (scripts/fuzz.sh). The first line of the input is the Content-Type, the rest
// the body, so the fuzzer explores boundaries and bodies together.
//
// Checks beyond "no crash": every part's data is a slice of the body, the part count
// and header sizes respect the limits, and every refusal has a message.

import FastCGIFuzz

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzMultipart(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let input = Array(UnsafeBufferPointer(start: data, count: size))
    let split = input.firstIndex(of: 0x0A) ?? input.count
    let contentType = String(decoding: input[..<split], as: UTF8.self)
    let body = split < input.count ? Array(input[(split + 1)...]) : []
    var limits = MultipartLimits()
    limits.maxParts = 16
    limits.maxHeaderBytes = 1024
    limits.maxFieldBytes = 4096
    limits.maxBodyBytes = 1 << 20
    do throws(MultipartError) {
        let boundary = try MultipartParser.boundary(of: HeaderValue(parsing: contentType))
        let parts = try MultipartParser(limits: limits).parse(body, boundary: boundary)
        if parts.count > limits.maxParts { fatalError("\(parts.count) parts over the limit") }
        for part in parts {
            guard part.data.startIndex >= body.startIndex, part.data.endIndex <= body.endIndex else {
                fatalError("part data outside the body")
            }
            if part.filename == nil, part.data.count > limits.maxFieldBytes { fatalError("field over the limit") }
            _ = part.text
        }
    } catch {
        if error.message.isEmpty { fatalError("refusal without a message") }
    }
    // The form reader a route uses (any Content-Type, including url-encoded).
    var headers = HTTPHeaders()
    headers.set("content-type", contentType)
    _ = try? FormData.parse(HTTPRequest(method: .post, path: "/embed/images", headers: headers, body: body), limits: limits)
    return 0
}
