import Testing

@testable import POSIX

/// `useOneArena` is process-wide and would serialise this test process's allocations; the
/// worker's use of it is covered by `AbuseMemoryTests.pagesOnEveryAcceptThreadAreGivenBack`.
@Suite struct AllocatorTuningTests {
    @Test func glibcAcceptsTheSettings() {
        #if os(Linux)
            #expect(AllocatorTuning.keepLargeBuffers())
        #endif
    }
}
