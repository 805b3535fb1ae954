import Foundation

/// Reads and decodes one checkpoint JSON file into its typed view.
///
/// `JSONDecoder` rather than `JSONSerialization`: on Linux the latter can round a decimal such as
/// 0.00392156862745098 one unit in the last place away from the double Python wrote (measured:
/// 2 of 17 config decimals), while `JSONDecoder` matched `Double(String)` (correctly rounded, as
/// Python's `float()`) on 600,000 random decimals. Decimals therefore decode exactly from the text.
public enum ConfigFile {
    /// Decodes `data` as `T`; `file` names it in errors.
    public static func decode<T: Decodable>(_ type: T.Type, from data: Data, file: String) throws(ConfigFileError) -> T {
        do {
            return try JSONDecoder().decode(T.self, from: data)
        } catch let error as DecodingError {
            throw describe(error, file: file)
        } catch let error as ConfigFileError {
            throw error
        } catch {
            throw ConfigFileError(file: file, field: nil, reason: "\(error)")
        }
    }

    /// Decodes the file `name` of `directory`, or nil when there is no such file.
    public static func load<T: Decodable>(_ type: T.Type, named name: String, in directory: URL) throws(ConfigFileError) -> T? {
        let url = directory.appendingPathComponent(name)
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw ConfigFileError(file: url.path, field: nil, reason: "cannot read: \(error.localizedDescription)")
        }
        return try decode(T.self, from: data, file: name)
    }

    /// `a.b[2].c` from a coding path.
    static func fieldPath(_ path: [any CodingKey]) -> String? {
        guard !path.isEmpty else { return nil }
        var text = ""
        for key in path {
            // List positions are keys named "Index N"; a dictionary key "7" also has an intValue.
            if let index = key.intValue, key.stringValue == "Index \(index)" {
                text += "[\(index)]"
            } else {
                text += text.isEmpty ? key.stringValue : ".\(key.stringValue)"
            }
        }
        return text
    }

    static func describe(_ error: DecodingError, file: String) -> ConfigFileError {
        switch error {
        case .typeMismatch(let type, let context):
            return ConfigFileError(file: file, field: fieldPath(context.codingPath), reason: "expected \(typeName(type))")
        case .valueNotFound(let type, let context):
            return ConfigFileError(file: file, field: fieldPath(context.codingPath), reason: "expected \(typeName(type)), found null")
        case .keyNotFound(let key, let context):
            return ConfigFileError(file: file, field: fieldPath(context.codingPath + [key]), reason: "missing")
        case .dataCorrupted(let context):
            let field = fieldPath(context.codingPath)
            if field == nil, context.debugDescription.contains("JSON") || context.underlyingError != nil {
                return ConfigFileError(file: file, field: nil, reason: "not JSON (\(context.debugDescription))")
            }
            return ConfigFileError(file: file, field: field, reason: context.debugDescription)
        @unknown default:
            return ConfigFileError(file: file, field: nil, reason: "\(error)")
        }
    }

    private static func typeName(_ type: Any.Type) -> String {
        switch type {
        case is Bool.Type: "true or false"
        case is Int.Type: "an integer"
        case is Double.Type: "a number"
        case is String.Type: "a string"
        default:
            if String(describing: type).hasPrefix("Array") {
                "a list"
            } else if String(describing: type).hasPrefix("Dictionary") {
                "a JSON object"
            } else {
                "\(type)"
            }
        }
    }
}

/// A checkpoint JSON file with a fixed name.
public protocol CheckpointFile: Decodable {
    static var fileName: String { get }
}

extension ModelConfigFile: CheckpointFile {}
extension ProcessorConfigFile: CheckpointFile {}
extension PreprocessorConfigFile: CheckpointFile {}
extension TokenizerConfigFile: CheckpointFile {}
extension AdapterConfigFile: CheckpointFile {}
