import Glibc

/// A value behind a pthread mutex, with a condition variable to wait for changes: the one
/// lock type of the service's own code (the supervisor, the FastCGI server, the worker).
///
/// Chosen over `Synchronization.Mutex` because some callers must block until a value
/// changes (`wait(until:then:)`), which `Mutex` cannot do, and over `NSLock` so that the
/// POSIX layer needs no Foundation.
public final class Locked<Value>: @unchecked Sendable {
    private var value: Value
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    public init(_ value: Value) {
        self.value = value
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
        condition.deallocate()
    }

    /// Runs `body` with exclusive access and wakes every waiter afterwards.
    public func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        pthread_mutex_lock(mutex)
        defer {
            pthread_cond_broadcast(condition)
            pthread_mutex_unlock(mutex)
        }
        return try body(&value)
    }

    /// Blocks until `predicate` holds, then runs `body` under the lock.
    public func wait<Result>(until predicate: (Value) -> Bool, then body: (inout Value) -> Result) -> Result {
        pthread_mutex_lock(mutex)
        defer {
            pthread_cond_broadcast(condition)
            pthread_mutex_unlock(mutex)
        }
        while !predicate(value) { pthread_cond_wait(condition, mutex) }
        return body(&value)
    }
}
