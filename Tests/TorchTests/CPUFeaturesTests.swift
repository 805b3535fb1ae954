import Testing

@testable import Torch

/// Run-time CPU detection: the bridge's cpuid/XCR0 reading against libtorch's own (cpuinfo), and
/// the tier logic on invented CPUs, so every branch is checked on any machine.
@Suite struct CPUFeaturesTests {
    @Test func detectionAgreesWithLibtorch() throws {
        let cpu = CPUFeatures.detect()
        // cpuinfo reports an extension only when the OS enabled its register state, as we do.
        if let avx2 = CPUFeatures.libtorchReports("avx2") { #expect(avx2 == (cpu.avx2 && cpu.osYMM)) }
        if let fma = CPUFeatures.libtorchReports("fma3") { #expect(fma == (cpu.fma && cpu.osYMM)) }
        if let bf16 = CPUFeatures.libtorchReports("avx512_bf16") { #expect(bf16 == (cpu.avx512BF16 && cpu.osZMM)) }
        if let amx = CPUFeatures.libtorchReports("amx_bf16") { #expect(amx == cpu.amxBF16) }
        if let tile = CPUFeatures.libtorchReports("amx_tile") { #expect(tile == cpu.amxTile) }
        #expect(CPUFeatures.libtorchReports("no_such_capability") == nil)
        #expect(cpu.limit == nil)
        #expect(cpu.isa == cpu.hardwareISA)
        // An AMX grant without AMX hardware would be a detection bug.
        #expect(!cpu.amxPermitted || cpu.amxTile)
    }

    @Test func tierNeedsHardwareAndOSState() {
        let avx2 = CPUFeatures(fma: true, avx2: true, osYMM: true)
        #expect(avx2.isa == .avx2)
        #expect(CPUFeatures(fma: true, avx2: true).isa == .baseline, "no YMM state: AVX is unusable")
        #expect(CPUFeatures(fma: false, avx2: true, osYMM: true).isa == .baseline)

        var zen4 = avx2
        zen4.avx512Core = true
        zen4.avx512BF16 = true
        #expect(zen4.isa == .avx2, "no ZMM state: AVX-512 is unusable")
        zen4.osZMM = true
        #expect(zen4.isa == .avx512BF16)
        #expect(zen4.isa.hasNativeBF16MatrixProducts)

        var sapphireRapids = zen4
        sapphireRapids.amxTile = true
        sapphireRapids.amxBF16 = true
        #expect(sapphireRapids.isa == .avx512BF16, "tile state not enabled by the OS")
        sapphireRapids.osAMX = true
        #expect(sapphireRapids.isa == .avx512BF16, "tile data not granted to the process")
        sapphireRapids.amxPermitted = true
        #expect(sapphireRapids.isa == .amxBF16)
        #expect(!CPUISA.avx512.hasNativeBF16MatrixProducts)
        #expect(!CPUISA.avx2.hasNativeBF16MatrixProducts)
    }

    @Test func aCapLowersTheTierButNeverRaisesIt() {
        let amx = CPUFeatures(
            fma: true, avx2: true, avx512Core: true, avx512BF16: true, amxTile: true, amxBF16: true, osYMM: true,
            osZMM: true, osAMX: true, amxPermitted: true)
        #expect(amx.limited(to: .avx2).isa == .avx2)
        #expect(amx.limited(to: .avx2).hardwareISA == .amxBF16)
        #expect(amx.limited(to: .avx2).explanation.contains("capped at avx2"))
        #expect(amx.limited(to: nil).isa == .amxBF16)
        let avx2 = CPUFeatures(fma: true, avx2: true, osYMM: true)
        #expect(avx2.limited(to: .amxBF16).isa == .avx2)
    }

    @Test func tierNamesParse() {
        #expect(CPUISA(parsing: "AMX") == .amxBF16)
        #expect(CPUISA(parsing: "amx_bf16") == .amxBF16)
        #expect(CPUISA(parsing: "avx512-bf16") == .avx512BF16)
        #expect(CPUISA(parsing: "avx512bf16") == .avx512BF16)
        #expect(CPUISA(parsing: "avx2") == .avx2)
        #expect(CPUISA(parsing: "baseline") == .baseline)
        #expect(CPUISA(parsing: "sse9") == nil)
        #expect(CPUISA.allCases.sorted() == CPUISA.allCases)
    }

    @Test func explanationNamesTheDecidingFacts() {
        let noTiles = CPUFeatures(
            fma: true, avx2: true, avx512Core: true, amxTile: true, amxBF16: true, osYMM: true, osZMM: true)
        #expect(noTiles.explanation.contains("not enabled by the OS"))
        #expect(noTiles.explanation.contains("no AVX512_BF16"))
        #expect(CPUFeatures(fma: true, avx2: true, osYMM: true).explanation.contains("no AVX-512"))
    }
}
