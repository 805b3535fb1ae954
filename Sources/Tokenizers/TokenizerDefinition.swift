import Foundation

/// The pipeline described by a `tokenizer.json`, restricted to what byte-level BPE tokenizers
/// (ModernBERT, OLMo, GPT-2 family) use. Anything else is rejected with
/// `TokenizerError.unsupported` naming the component, never silently approximated.
///
/// `truncation` and `padding` in the file are ignored, as transformers does when it calls the
/// tokenizer without truncation/padding arguments; batching is done by `Tokenizer`.
struct TokenizerDefinition: Sendable {
    let normalizer: (any Normalizer)?
    let preTokenizer: any PreTokenizer
    let model: BPEModel
    let postProcessor: (any PostProcessor)?
    let addedTokens: [AddedToken]
    /// Model vocabulary (byte-level strings) -> id.
    let vocab: [String: Int]

    init(json data: Data) throws {
        let root = try JSONObject(data: data, file: "tokenizer.json")
        addedTokens = try root.objects("added_tokens").map(Self.addedToken)
        normalizer = try root.optionalObject("normalizer").map(Self.normalizer)
        guard let preTokenizerJSON = try root.optionalObject("pre_tokenizer") else {
            throw TokenizerError.unsupported(component: "pre_tokenizer", detail: "missing (only ByteLevel is supported)")
        }
        preTokenizer = try Self.preTokenizer(preTokenizerJSON)

        let modelJSON = try root.object("model")
        let (vocab, model) = try Self.model(modelJSON)
        self.vocab = vocab
        self.model = model

        var byContent: [String: Int] = vocab
        for token in addedTokens { byContent[token.content] = token.id }
        postProcessor = try root.optionalObject("post_processor").map { try Self.postProcessor($0, ids: byContent) }
    }

    // MARK: - Components

    private static func addedToken(_ json: JSONObject) throws -> AddedToken {
        AddedToken(
            id: try json.int("id"),
            content: try json.string("content"),
            singleWord: try json.bool("single_word", default: false),
            lstrip: try json.bool("lstrip", default: false),
            rstrip: try json.bool("rstrip", default: false),
            normalized: try json.bool("normalized", default: true),
            special: try json.bool("special", default: false)
        )
    }

    private static func normalizer(_ json: JSONObject) throws -> any Normalizer {
        let type = try json.string("type")
        if type == "Sequence" {
            return NormalizerSequence(normalizers: try json.objects("normalizers").map(normalizer))
        }
        guard let form = UnicodeNormalizer.Form(rawValue: type) else {
            throw TokenizerError.unsupported(component: "normalizer", detail: "type \(type) (supported: NFC, NFD, NFKC, NFKD, Sequence)")
        }
        return UnicodeNormalizer(form: form)
    }

    private static func preTokenizer(_ json: JSONObject) throws -> any PreTokenizer {
        let type = try json.string("type")
        if type == "Sequence" {
            let inner = try json.objects("pretokenizers")
            guard inner.count == 1 else {
                throw TokenizerError.unsupported(
                    component: "pre_tokenizer", detail: "Sequence of \(inner.count) pre-tokenizers (only a single ByteLevel is supported)")
            }
            return try preTokenizer(inner[0])
        }
        guard type == "ByteLevel" else {
            throw TokenizerError.unsupported(component: "pre_tokenizer", detail: "type \(type) (only ByteLevel is supported)")
        }
        return ByteLevelPreTokenizer(
            addPrefixSpace: try json.bool("add_prefix_space", default: true),
            useRegex: try json.bool("use_regex", default: true)
        )
    }

    private static func model(_ json: JSONObject) throws -> ([String: Int], BPEModel) {
        let type = try json.optionalString("type") ?? "BPE"
        guard type == "BPE" else {
            throw TokenizerError.unsupported(component: "model", detail: "type \(type) (only BPE is supported)")
        }
        if !json.isNull("dropout"), let dropout = json.values["dropout"] as? Double, dropout > 0 {
            throw TokenizerError.unsupported(component: "model", detail: "BPE dropout \(dropout)")
        }
        if try json.bool("byte_fallback", default: false) {
            throw TokenizerError.unsupported(component: "model", detail: "BPE byte_fallback")
        }
        for key in ["continuing_subword_prefix", "end_of_word_suffix"] {
            if let affix = try json.optionalString(key), !affix.isEmpty {
                throw TokenizerError.unsupported(component: "model", detail: "BPE \(key) \"\(affix)\"")
            }
        }
        guard let rawVocab = json.values["vocab"] as? [String: Any] else {
            throw TokenizerError.invalidJSON(file: "tokenizer.json", reason: "model.vocab: expected an object")
        }
        var vocab: [String: Int] = [:]
        vocab.reserveCapacity(rawVocab.count)
        for (token, value) in rawVocab {
            guard let id = value as? Int else {
                throw TokenizerError.invalidJSON(file: "tokenizer.json", reason: "model.vocab[\(token)]: expected an integer id")
            }
            vocab[token] = id
        }
        let merges = try json.array("merges").enumerated().map { index, entry -> (String, String) in
            if let pair = entry as? [String], pair.count == 2 { return (pair[0], pair[1]) }
            if let line = entry as? String {
                let parts = line.split(separator: " ", omittingEmptySubsequences: false)
                if parts.count == 2 { return (String(parts[0]), String(parts[1])) }
            }
            throw TokenizerError.invalidJSON(file: "tokenizer.json", reason: "model.merges[\(index)]: expected \"a b\" or [a, b]")
        }
        let model = try BPEModel(
            vocab: vocab, merges: merges,
            ignoreMerges: try json.bool("ignore_merges", default: false),
            unknownToken: try json.optionalString("unk_token"),
            fuseUnknown: try json.bool("fuse_unk", default: false),
            alphabet: ByteLevelAlphabet()
        )
        return (vocab, model)
    }

    private static func postProcessor(_ json: JSONObject, ids: [String: Int]) throws -> any PostProcessor {
        let type = try json.string("type")
        switch type {
        case "TemplateProcessing":
            return try template(json)
        case "ByteLevel":
            return IdentityPostProcessor()
        case "Sequence":
            return PostProcessorSequence(processors: try json.objects("processors").map { try postProcessor($0, ids: ids) })
        default:
            throw TokenizerError.unsupported(
                component: "post_processor", detail: "type \(type) (supported: TemplateProcessing, ByteLevel, Sequence)")
        }
    }

    private static func template(_ json: JSONObject) throws -> TemplatePostProcessor {
        var specialIDs: [String: [Int]] = [:]
        let specials = try json.object("special_tokens")
        for name in specials.values.keys {
            let entry = try specials.object(name)
            guard let ids = entry.values["ids"] as? [Int] else {
                throw TokenizerError.invalidJSON(
                    file: "tokenizer.json", reason: "post_processor.special_tokens.\(name).ids: expected integers")
            }
            specialIDs[name] = ids
        }
        guard let items = json.values["single"] as? [[String: Any]] else {
            throw TokenizerError.invalidJSON(file: "tokenizer.json", reason: "post_processor.single: expected a list of template pieces")
        }
        var prefix: [Int] = []
        var suffix: [Int] = []
        var seenSequence = false
        for item in items {
            if let special = item["SpecialToken"] as? [String: Any], let name = special["id"] as? String {
                guard let tokenIDs = specialIDs[name] else { throw TokenizerError.unknownToken(name) }
                if seenSequence { suffix += tokenIDs } else { prefix += tokenIDs }
            } else if let sequence = item["Sequence"] as? [String: Any], let name = sequence["id"] as? String {
                guard name == "A", !seenSequence else {
                    throw TokenizerError.unsupported(component: "post_processor", detail: "single template with sequence \(name)")
                }
                seenSequence = true
            } else {
                throw TokenizerError.invalidJSON(file: "tokenizer.json", reason: "post_processor.single: unknown template piece")
            }
        }
        guard seenSequence else {
            throw TokenizerError.unsupported(component: "post_processor", detail: "single template without $A")
        }
        return TemplatePostProcessor(prefix: prefix, suffix: suffix)
    }
}
