import Foundation
import POSIX

/// Exponential backoff for transient failures (network errors, 408/429/5xx).
///
/// Downloads reset the attempt count whenever bytes arrived, so a slow but moving
/// transfer over a flaky link keeps resuming instead of giving up after N drops.
public struct RetryPolicy: Sendable, Equatable {
    /// Tries in total for one request, the first included.
    public var maxAttempts: Int
    /// Pause before the second try; doubles each time.
    public var initialDelay: TimeInterval
    /// Upper bound for one pause.
    public var maxDelay: TimeInterval

    public init(maxAttempts: Int = 6, initialDelay: TimeInterval = 1, maxDelay: TimeInterval = 30) {
        self.maxAttempts = max(1, maxAttempts)
        self.initialDelay = max(0, initialDelay)
        self.maxDelay = max(0, maxDelay)
    }

    /// Pause after failed try number `attempt` (1-based), honouring a server's
    /// Retry-After (seconds) when it asks for longer, within `maxDelay`.
    public func delay(afterAttempt attempt: Int, retryAfter: TimeInterval? = nil) -> TimeInterval {
        let exponent = Double(max(0, attempt - 1))
        let backoff = min(maxDelay, initialDelay * pow(2, exponent))
        guard let retryAfter else { return backoff }
        return min(maxDelay, max(backoff, retryAfter))
    }

    /// HTTP statuses worth another try (the same set huggingface_hub retries).
    static func isTransient(status: Int) -> Bool {
        [408, 429, 500, 502, 503, 504].contains(status)
    }
}

/// Cooperative cancellation shared between the caller and the download thread.
public final class CancellationFlag: Sendable {
    private let value = Locked(false)

    public init() {}

    public func cancel() { value.withLock { $0 = true } }

    public var isCancelled: Bool { value.withLock { $0 } }

    /// Sleeps up to `seconds`, waking early (and throwing) when cancelled.
    func sleep(_ seconds: TimeInterval) throws(HubError) {
        let deadline = Date().addingTimeInterval(seconds)
        while true {
            if isCancelled { throw .cancelled }
            let left = deadline.timeIntervalSinceNow
            if left <= 0 { return }
            Thread.sleep(forTimeInterval: min(left, 0.05))
        }
    }
}
