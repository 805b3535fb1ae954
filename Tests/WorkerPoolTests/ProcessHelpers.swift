import Foundation
import Glibc
import ProcessTestSupport
import Testing

@testable import WorkerPool

extension ChildProcess {
    /// The exit status once reaped, as the supervisor reports statuses.
    var exitStatus: ProcessExitStatus? { waitStatus.map { ProcessExitStatus(waitStatus: $0) } }

    func waitForExitStatus(timeout: Double) async throws -> ProcessExitStatus {
        try await waitForExit(timeout: timeout)
        return try #require(exitStatus)
    }
}
