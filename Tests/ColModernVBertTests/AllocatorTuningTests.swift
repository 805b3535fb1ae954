import Testing

@testable import ColModernVBert

@Suite struct AllocatorTuningTests {
    @Test func glibcAcceptsTheSettings() {
        #if os(Linux)
            #expect(AllocatorTuning.keepLargeBuffers())
        #endif
    }
}
