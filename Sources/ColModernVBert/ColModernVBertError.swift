import Torch

/// Why a ColModernVBert checkpoint could not be loaded or an input could not be embedded.
///
/// Load-time cases name the file, config field or tensor at fault, so that a wrong or broken
/// download can be told apart from a bug. Input cases are the caller's mistakes (ragged ids, a
/// token count that does not match the images) and are reported instead of crashing.
public enum ColModernVBertError: Error, Equatable, CustomStringConvertible, Sendable {
    /// config.json could not be read or is not JSON.
    case unreadableConfig(path: String, reason: String)
    /// `model_type` (or a sub-config's) is not one this implementation runs.
    case unsupportedModelType(field: String, found: String, expected: [String])
    /// A config field has the wrong JSON type or an impossible value.
    case invalidConfig(field: String, reason: String)
    /// A legacy config key and its successor (or two copies of one value) disagree.
    case conflictingConfig(fields: [String], values: [String])
    /// The folder is a PEFT/LoRA adapter (`adapter_config.json`), not a merged checkpoint.
    case adapterCheckpoint(directory: String, baseModel: String?, use: String)
    /// A feature the config asks for that this implementation does not have (e.g. rope scaling).
    case unsupportedConfig(field: String, value: String)
    /// A tensor the model needs is not in the checkpoint under any known layout.
    case missingTensor(name: String, layout: String)
    /// A needed tensor has the wrong shape.
    case shapeMismatch(name: String, expected: [Int], found: [Int])
    /// Two checkpoint tensors map to the same model tensor (a mix of layouts).
    case duplicateTensor(name: String, sources: [String])
    /// The inputs are malformed (empty batch, ragged rows, out-of-range ids, wrong pixel shape).
    case invalidInput(String)
    /// The number of `<image>` tokens does not match the image features.
    case imageTokenMismatch(item: Int, imageTokens: Int, imageFeatures: Int)
    /// libtorch failed.
    case torch(String)

    public var description: String {
        switch self {
        case .unreadableConfig(let path, let reason):
            "\(path): cannot read the model config: \(reason)"
        case .unsupportedModelType(let field, let found, let expected):
            "\(field) is '\(found)'; supported: \(expected.map { "'\($0)'" }.joined(separator: ", "))"
        case .invalidConfig(let field, let reason):
            "config field \(field): \(reason)"
        case .conflictingConfig(let fields, let values):
            "config fields disagree: "
                + zip(fields, values).map { "\($0) = \($1)" }.joined(separator: ", ")
        case .adapterCheckpoint(let directory, let baseModel, let use):
            "\(directory) holds a LoRA adapter (adapter_config.json"
                + (baseModel.map { ", over base model \($0)" } ?? "")
                + "), not a merged checkpoint; this service loads merged weights only: use \(use)"
        case .unsupportedConfig(let field, let value):
            "config field \(field) = \(value) is not supported"
        case .missingTensor(let name, let layout):
            "checkpoint (\(layout) layout) has no tensor for '\(name)'"
        case .shapeMismatch(let name, let expected, let found):
            "tensor '\(name)' has shape \(found), the config needs \(expected)"
        case .duplicateTensor(let name, let sources):
            "tensors \(sources) all map to '\(name)'"
        case .invalidInput(let reason):
            "invalid model input: \(reason)"
        case .imageTokenMismatch(let item, let tokens, let features):
            "item \(item): \(tokens) <image> tokens but its images give \(features) image features"
        case .torch(let message):
            "libtorch: \(message)"
        }
    }
}

extension ColModernVBertError {
    /// Runs `body`, reporting libtorch failures as `.torch` so callers see one error type.
    static func wrapping<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as ColModernVBertError {
            throw error
        } catch let error as TorchError {
            throw ColModernVBertError.torch(error.message)
        }
    }
}
