/// Adds the special tokens around an encoded sequence (`[CLS] $A [SEP]` for ModernBERT).
protocol PostProcessor: Sendable {
    func process(_ ids: [Int]) -> [Int]
    /// How many ids `process` adds (used to check lengths before encoding long inputs).
    var addedCount: Int { get }
}

/// `TemplateProcessing` for single sequences: the `single` template's special tokens, with
/// the sequence spliced in where `$A` stands.
struct TemplatePostProcessor: PostProcessor {
    let prefix: [Int]
    let suffix: [Int]

    var addedCount: Int { prefix.count + suffix.count }

    func process(_ ids: [Int]) -> [Int] {
        prefix + ids + suffix
    }
}

/// Post-processors that leave ids unchanged (`ByteLevel` only adjusts offsets).
struct IdentityPostProcessor: PostProcessor {
    var addedCount: Int { 0 }
    func process(_ ids: [Int]) -> [Int] { ids }
}

/// `"type": "Sequence"` of post-processors, applied in order.
struct PostProcessorSequence: PostProcessor {
    let processors: [any PostProcessor]

    var addedCount: Int { processors.reduce(0) { $0 + $1.addedCount } }

    func process(_ ids: [Int]) -> [Int] {
        processors.reduce(ids) { $1.process($0) }
    }
}
