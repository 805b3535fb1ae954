import CCrypto
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Streaming message digest (OpenSSL's libcrypto through CCrypto).
///
/// The hub names every file by a hash of its content: LFS files by the SHA-256 of
/// their bytes, every other file by its git blob id, the SHA-1 of
/// `"blob <length>\0" + bytes`. Both are checked before a blob enters the cache.
final class Digest {
    enum Algorithm {
        case sha256
        case sha1

        fileprivate var code: ccrypto_algorithm { self == .sha256 ? CCRYPTO_SHA256 : CCRYPTO_SHA1 }
    }

    private let state: OpaquePointer

    init(_ algorithm: Algorithm) throws(HubError) {
        guard let state = ccrypto_digest_new(algorithm.code) else {
            throw HubError.fileSystem(path: "libcrypto", operation: "initialise a digest", reason: "out of memory")
        }
        self.state = state
    }

    /// A SHA-1 already fed with the git blob header for content of `length` bytes.
    static func gitBlob(length: Int64) throws(HubError) -> Digest {
        let digest = try Digest(.sha1)
        digest.update(Data("blob \(length)\0".utf8))
        return digest
    }

    deinit { ccrypto_digest_free(state) }

    func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        _ = ccrypto_digest_update(state, base, bytes.count)
    }

    func update(_ data: Data) {
        data.withUnsafeBytes { update($0) }
    }

    /// Lower-case hex digest. Call once.
    func finalize() -> String {
        var digest = [UInt8](repeating: 0, count: Int(CCRYPTO_MAX_DIGEST_LENGTH))
        let length = digest.withUnsafeMutableBufferPointer { ccrypto_digest_final(state, $0.baseAddress) }
        return digest.prefix(length).map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }

    /// Adds the first `length` bytes of an open file (read with pread, so the
    /// descriptor's offset is left alone). `path` is for error messages.
    func update(descriptor: Int32, length: Int64, path: URL) throws(HubError) {
        let chunkSize = 4 * 1024 * 1024
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 16)
        defer { buffer.deallocate() }
        var position: Int64 = 0
        while position < length {
            let wanted = Int(min(Int64(chunkSize), length - position))
            let count = pread(descriptor, buffer.baseAddress, wanted, off_t(position))
            if count < 0 {
                if errno == EINTR { continue }
                throw FileSystem.error(path, "read", errno)
            }
            if count == 0 {
                throw HubError.fileSystem(
                    path: path.path, operation: "read", reason: "the file ended at \(position) of \(length) bytes")
            }
            update(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
            position += Int64(count)
        }
    }
}
