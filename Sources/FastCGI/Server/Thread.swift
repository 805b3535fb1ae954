import Glibc
import POSIX

/// `POSIX.spawnThread` for the server's own threads, its failure as a `ServerError`.
func spawnThread(stackBytes: Int, _ body: @escaping @Sendable () -> Void) throws(ServerError) -> pthread_t {
    do {
        return try POSIX.spawnThread(subject: "accept thread", stackBytes: stackBytes, body)
    } catch {
        throw .system(error)
    }
}
