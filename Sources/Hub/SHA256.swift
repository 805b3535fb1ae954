import CCurl
import Foundation

/// Streaming SHA-256 (OpenSSL through the CCurl shim), used to check LFS blobs
/// against the hash the hub publishes as their ETag.
final class SHA256Hasher {
    private let state: OpaquePointer

    init() throws(HubError) {
        guard let state = ccurl_sha256_new() else {
            throw HubError.fileSystem(path: "libcrypto", operation: "initialise SHA-256", reason: "out of memory")
        }
        self.state = state
    }

    deinit { ccurl_sha256_free(state) }

    func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        ccurl_sha256_update(state, base, bytes.count)
    }

    func update(_ data: Data) {
        data.withUnsafeBytes { update($0) }
    }

    /// Lower-case hex digest. Call once.
    func finalize() -> String {
        var digest = [UInt8](repeating: 0, count: 32)
        digest.withUnsafeMutableBufferPointer { ccurl_sha256_final(state, $0.baseAddress) }
        return digest.map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }

    /// Hashes the first `length` bytes of a file (used when resuming a download).
    func update(contentsOf url: URL, length: Int64) throws(HubError) {
        guard let handle = FileHandle(forReadingAtPath: url.path) else {
            throw HubError.fileSystem(path: url.path, operation: "read", reason: "cannot open")
        }
        defer { try? handle.close() }
        var remaining = length
        while remaining > 0 {
            let chunk: Data
            do {
                chunk = try handle.read(upToCount: Int(min(remaining, 4 * 1024 * 1024))) ?? Data()
            } catch {
                throw HubError.fileSystem(path: url.path, operation: "read", reason: error.localizedDescription)
            }
            if chunk.isEmpty { break }
            update(chunk)
            remaining -= Int64(chunk.count)
        }
    }
}
