import CTorch

/// The instruction-set tiers that decide which CPU compute paths run, in increasing order.
public enum CPUISA: String, Sendable, CaseIterable, Comparable, CustomStringConvertible {
    /// None of the tiers below (no AVX2 + FMA usable).
    case baseline
    /// AVX2 and FMA (the panel kernel's tier); bfloat16 matrix products are emulated here.
    case avx2
    /// AVX-512 F/DQ/BW/VL; bfloat16 is still converted to float32 for the products.
    case avx512
    /// AVX512_BF16: native bfloat16 dot products (VDPBF16PS), oneDNN's avx512_core_bf16.
    case avx512BF16 = "avx512_bf16"
    /// AMX-BF16 tiles: oneDNN's avx512_core_amx brgemm.
    case amxBF16 = "amx_bf16"

    /// Whether matrix products in bfloat16 run on native instructions (not emulated through float32).
    public var hasNativeBF16MatrixProducts: Bool { self >= .avx512BF16 }

    public static func < (lhs: CPUISA, rhs: CPUISA) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }

    /// Parses a tier name, case-insensitively, also accepting "amx" and "avx512bf16".
    public init?(parsing text: String) {
        let name = String(text.lowercased().map { $0 == "-" ? "_" : $0 })
        switch name {
        case "amx": self = .amxBF16
        case "avx512bf16": self = .avx512BF16
        default:
            guard let isa = CPUISA(rawValue: name) else { return nil }
            self = isa
        }
    }

    public var description: String { rawValue }
}

/// What this CPU and its operating system let the process use (cpuid and XCR0, read by the bridge),
/// optionally capped at a lower tier to exercise the slower paths on a faster machine.
public struct CPUFeatures: Sendable, Equatable {
    public var fma: Bool
    public var avx2: Bool
    public var avx512Core: Bool
    public var avx512BF16: Bool
    public var amxTile: Bool
    public var amxBF16: Bool
    /// The kernel saves YMM, ZMM/opmask, AMX tile state (XCR0).
    public var osYMM: Bool
    public var osZMM: Bool
    public var osAMX: Bool
    /// Linux granted this process the AMX tile data state.
    public var amxPermitted: Bool
    /// The highest tier paths may use, below what the hardware offers (nil: no cap).
    public var limit: CPUISA?

    public init(
        fma: Bool = false, avx2: Bool = false, avx512Core: Bool = false, avx512BF16: Bool = false, amxTile: Bool = false,
        amxBF16: Bool = false, osYMM: Bool = false, osZMM: Bool = false, osAMX: Bool = false, amxPermitted: Bool = false,
        limit: CPUISA? = nil
    ) {
        self.fma = fma
        self.avx2 = avx2
        self.avx512Core = avx512Core
        self.avx512BF16 = avx512BF16
        self.amxTile = amxTile
        self.amxBF16 = amxBF16
        self.osYMM = osYMM
        self.osZMM = osZMM
        self.osAMX = osAMX
        self.amxPermitted = amxPermitted
        self.limit = limit
    }

    /// The features of the CPU this process runs on (cpuid, XCR0; requests the AMX grant on Linux).
    public static func detect() -> CPUFeatures {
        var raw = ct_cpu_features()
        ct_cpu_features_detect(&raw)
        return CPUFeatures(
            fma: raw.cpu_fma != 0, avx2: raw.cpu_avx2 != 0, avx512Core: raw.cpu_avx512_core != 0,
            avx512BF16: raw.cpu_avx512_bf16 != 0, amxTile: raw.cpu_amx_tile != 0, amxBF16: raw.cpu_amx_bf16 != 0,
            osYMM: raw.os_ymm != 0, osZMM: raw.os_zmm != 0, osAMX: raw.os_amx != 0, amxPermitted: raw.amx_permitted != 0)
    }

    /// The highest usable tier the hardware and OS give, before any cap.
    public var hardwareISA: CPUISA {
        let avx2Usable = avx2 && fma && osYMM
        let avx512Usable = avx2Usable && avx512Core && osZMM
        if avx512Usable && amxTile && amxBF16 && osAMX && amxPermitted { return .amxBF16 }
        if avx512Usable && avx512BF16 { return .avx512BF16 }
        if avx512Usable { return .avx512 }
        if avx2Usable { return .avx2 }
        return .baseline
    }

    /// The tier paths may use: the hardware's, or the cap when that is lower.
    public var isa: CPUISA {
        guard let limit else { return hardwareISA }
        return min(limit, hardwareISA)
    }

    /// The same CPU with paths capped at `tier` (never raised above the hardware).
    public func limited(to tier: CPUISA?) -> CPUFeatures {
        var copy = self
        copy.limit = tier
        return copy
    }

    /// Why `isa` is what it is, for start-up logs: the deciding facts in a few words.
    public var explanation: String {
        var facts: [String] = []
        if amxBF16 || amxTile {
            facts.append(
                "AMX-BF16 \(amxBF16 && amxTile ? "present" : "incomplete"), tile state "
                    + (osAMX ? (amxPermitted ? "enabled and granted" : "enabled but not granted") : "not enabled by the OS"))
        } else {
            facts.append("no AMX")
        }
        if avx512Core {
            facts.append("AVX-512 " + (osZMM ? "enabled" : "not enabled by the OS") + (avx512BF16 ? ", AVX512_BF16" : ", no AVX512_BF16"))
        } else {
            facts.append("no AVX-512")
        }
        facts.append(avx2 && fma ? "AVX2+FMA" : "no AVX2+FMA")
        var text = "CPU tier \(hardwareISA) (\(facts.joined(separator: "; ")))"
        if let limit, limit < hardwareISA { text += ", capped at \(limit)" }
        return text
    }

    /// libtorch's own answer (cpuinfo) for a capability such as "avx512_bf16"; nil when it has no
    /// such name. A cross-check for `detect()`.
    public static func libtorchReports(_ capability: String) -> Bool? {
        switch ct_cpu_capability(capability) {
        case 1: true
        case 0: false
        default: nil
        }
    }
}
