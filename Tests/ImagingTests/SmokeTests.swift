import Testing
@testable import Imaging

@Test func smoke() throws {
    #expect(ImageFormat.sniff(UnsafeRawBufferPointer(start: nil, count: 0)) == nil)
}
