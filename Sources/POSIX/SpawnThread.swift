import Glibc

/// Starts a joinable pthread running `body` with the given stack size (at least 256 KiB).
/// (Foundation's `Thread` cannot be joined; owners of threads must know when they are gone.)
public func spawnThread(
    subject: String = "thread", stackBytes: Int, _ body: @escaping @Sendable () -> Void
) throws(SystemCallError) -> pthread_t {
    final class Box: @unchecked Sendable {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }
    var attributes = pthread_attr_t()
    pthread_attr_init(&attributes)
    defer { pthread_attr_destroy(&attributes) }
    pthread_attr_setstacksize(&attributes, max(stackBytes, 256 * 1024))
    let context = Unmanaged.passRetained(Box(body)).toOpaque()
    var thread = pthread_t()
    let code = pthread_create(
        &thread, &attributes,
        { raw in
            let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
            box.body()
            return nil
        }, context)
    guard code == 0 else {
        Unmanaged<Box>.fromOpaque(context).release()
        throw SystemCallError("pthread_create", subject: subject, errno: code)
    }
    return thread
}
