/// `adapter_config.json` of a PEFT adapter repository (such as `ModernVBERT/colmodernvbert`): only
/// what is needed to recognise one and say what it adapts.
public struct AdapterConfigFile: Decodable, Equatable, Sendable {
    public static let fileName = "adapter_config.json"

    public var peftType: String?
    public var baseModelNameOrPath: String?

    enum CodingKeys: String, CodingKey {
        case peftType = "peft_type"
        case baseModelNameOrPath = "base_model_name_or_path"
    }
}
