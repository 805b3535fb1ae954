/// Why a checkpoint could not be read. Every case names the file, and the tensor where
/// one is involved, so a broken download can be told apart from a wrong model.
public enum SafeTensorsError: Error, Equatable, CustomStringConvertible, Sendable {
    case cannotOpen(file: String, reason: String)
    case truncated(file: String, size: Int)
    case headerTooLong(file: String, headerLength: UInt64, fileSize: Int)
    case malformedHeader(file: String, reason: String)
    case unsupportedDType(file: String, tensor: String, dtype: String)
    case badShape(file: String, tensor: String, reason: String)
    case offsetsOutOfRange(file: String, tensor: String, begin: Int, end: Int, dataSize: Int)
    case sizeMismatch(file: String, tensor: String, expectedBytes: Int, actualBytes: Int)
    case missingTensor(name: String, file: String)
    case malformedIndex(file: String, reason: String)

    public var description: String {
        switch self {
        case .cannotOpen(let file, let reason):
            "\(file): cannot open: \(reason)"
        case .truncated(let file, let size):
            "\(file): truncated: \(size) bytes is too short for a safetensors header"
        case .headerTooLong(let file, let length, let size):
            "\(file): header length \(length) runs past the end of the \(size)-byte file (truncated download?)"
        case .malformedHeader(let file, let reason):
            "\(file): malformed header: \(reason)"
        case .unsupportedDType(let file, let tensor, let dtype):
            "\(file): tensor '\(tensor)' has unsupported dtype \(dtype)"
        case .badShape(let file, let tensor, let reason):
            "\(file): tensor '\(tensor)' has a bad shape: \(reason)"
        case .offsetsOutOfRange(let file, let tensor, let begin, let end, let dataSize):
            "\(file): tensor '\(tensor)' data offsets [\(begin), \(end)) lie outside the \(dataSize)-byte data section"
        case .sizeMismatch(let file, let tensor, let expected, let actual):
            "\(file): tensor '\(tensor)' shape and dtype need \(expected) bytes but its offsets span \(actual)"
        case .missingTensor(let name, let file):
            "\(file): no tensor named '\(name)'"
        case .malformedIndex(let file, let reason):
            "\(file): malformed index: \(reason)"
        }
    }
}
