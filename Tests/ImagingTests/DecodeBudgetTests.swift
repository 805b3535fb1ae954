import Foundation
import Testing

@testable import Imaging

/// What one decode may cost beyond its pixels: libjpeg's progressive scans are capped,
/// TIFF tiles are bounded in bytes, and the decoded pixels are the decoder's own buffer.
@Suite struct DecodeBudgetTests {
    let fixtures = ImageFixtures.committed

    /// The file with its last scan (SOS segment and entropy data) repeated `extra` times:
    /// a progressive file libjpeg decodes scan after scan (a repeated refinement scan is only
    /// a warning to libjpeg).
    static func repeatingLastScan(_ jpeg: [UInt8], extra: Int) throws -> [UInt8] {
        var lastScan: Int?
        var index = 2
        while index + 3 < jpeg.count {
            guard jpeg[index] == 0xFF else {
                index += 1
                continue
            }
            let marker = jpeg[index + 1]
            if marker == 0xDA { lastScan = index }
            if marker == 0xD9 { break }
            if marker == 0x00 || (0xD0...0xD7).contains(marker) || marker == 0xFF {
                index += marker == 0xFF ? 1 : 2
                continue
            }
            if lastScan == index {
                // Skip the SOS header; the entropy data runs to the next real marker.
                index += 2 + (Int(jpeg[index + 2]) << 8 | Int(jpeg[index + 3]))
                continue
            }
            index += 2 + (Int(jpeg[index + 2]) << 8 | Int(jpeg[index + 3]))
        }
        let start = try #require(lastScan, "no scan found")
        let end = try #require(jpeg.lastIndex(of: 0xD9).map { $0 - 1 }, "no EOI")
        let scan = Array(jpeg[start..<end])
        return Array(jpeg[..<end]) + Array([[UInt8]](repeating: scan, count: extra).joined()) + [0xFF, 0xD9]
    }

    @Test func progressiveScansAreCapped() throws {
        let source = try fixtures.bytes("sources/jpeg_progressive.jpg")
        // A few extra scans still decode (libjpeg warns, as Pillow would ignore).
        let some = try Self.repeatingLastScan(source, extra: 20)
        #expect(try ImageDecoder().decode(some).width == 37)
        let many = try Self.repeatingLastScan(source, extra: 200)
        #expect(many.count < 64 * 1024)
        let error = #expect(throws: ImagingError.self) { try ImageDecoder().decode(many) }
        #expect(error?.description.contains("more than 100 progressive scans") == true, "\(String(describing: error))")
    }

    /// A 1x1 grey tiled TIFF whose one tile is `side` x `side` pixels.
    static func tiledTIFF(tileSide side: UInt32) -> [UInt8] {
        var bytes: [UInt8] = Array("II".utf8) + [42, 0, 8, 0, 0, 0]
        func u16(_ value: UInt16) { bytes += [UInt8(value & 0xFF), UInt8(value >> 8)] }
        func u32(_ value: UInt32) { for shift in stride(from: 0, to: 32, by: 8) { bytes.append(UInt8((value >> UInt32(shift)) & 0xFF)) } }
        let entries: [(tag: UInt16, type: UInt16, value: UInt32)] = [
            (256, 4, 1), (257, 4, 1), (258, 3, 8), (259, 3, 1), (262, 3, 1), (277, 3, 1),
            (322, 4, side), (323, 4, side), (324, 4, 200), (325, 4, side * side),
        ]
        u16(UInt16(entries.count))
        for entry in entries {
            u16(entry.tag)
            u16(entry.type)
            u32(1)
            if entry.type == 3 {
                u16(UInt16(entry.value))
                u16(0)
            } else {
                u32(entry.value)
            }
        }
        u32(0)
        bytes += [UInt8](repeating: 0, count: 200 - bytes.count) + [UInt8](repeating: 0x80, count: 64)
        return bytes
    }

    @Test func tiffTilesAreBoundedInBytes() throws {
        // 4112 x 4112 one-byte pixels: 16.9 MB for a 1x1 image. Few enough pixels for the
        // pixel check, over the byte budget (image bytes + 16 MiB).
        let error = #expect(throws: ImagingError.self) { try ImageDecoder().decode(Self.tiledTIFF(tileSide: 4112)) }
        #expect(
            error?.description.contains("a tile of 16908544 bytes for a 1x1 image is over the budget") == true,
            "\(String(describing: error))")
        // A normal tile padding a small image is still fine (the file is then only short of data).
        let small = #expect(throws: ImagingError.self) { try ImageDecoder().decode(Self.tiledTIFF(tileSide: 256)) }
        #expect(small?.description.contains("over the budget") == false, "\(String(describing: small))")
    }

    @Test func decodedPixelsAreTheDecodersBuffer() throws {
        let bytes = try fixtures.bytes("sources/png_rgb.png")
        let first = try ImageDecoder().decode(bytes)
        let second = try ImageDecoder().decode(bytes)
        #expect(first.samples.count == first.width * first.height * first.mode.bytesPerPixel)
        #expect(first == second, "equal by content")
        #expect(first.samples !== second.samples, "each decode owns its buffer")
        let copy = PixelBuffer(copying: Array(first.samples))
        #expect(copy == first.samples)
        #expect(PixelBuffer(copying: [1, 2]) != PixelBuffer(copying: [1, 3]))
    }
}
