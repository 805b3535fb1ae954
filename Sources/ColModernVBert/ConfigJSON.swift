import Foundation

/// Typed reads from one JSON object of config.json, with transformers' default when a field is
/// absent (or null) and an error naming the full field path when it has the wrong type.
struct ConfigJSON {
    let path: String
    let values: [String: Any]

    init(path: String, values: [String: Any]) {
        self.path = path
        self.values = values
    }

    init(data: Data, path: String) throws {
        let parsed: Any
        do {
            parsed = try JSONSerialization.jsonObject(with: data)
        } catch {
            throw ColModernVBertError.unreadableConfig(path: path, reason: "not JSON: \(error.localizedDescription)")
        }
        guard let object = parsed as? [String: Any] else {
            throw ColModernVBertError.unreadableConfig(path: path, reason: "the top level is not a JSON object")
        }
        self.init(path: "", values: object)
    }

    func field(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    func has(_ key: String) -> Bool { values[key] != nil && !(values[key] is NSNull) }

    private func raw(_ key: String) -> Any? {
        guard let value = values[key], !(value is NSNull) else { return nil }
        return value
    }

    func int(_ key: String, default fallback: Int) throws -> Int {
        try optionalInt(key) ?? fallback
    }

    func optionalInt(_ key: String) throws -> Int? {
        guard let value = raw(key) else { return nil }
        // JSONSerialization gives NSNumber; reject booleans and non-integral numbers.
        guard let number = value as? NSNumber, !number.isBool, let exact = Int(exactly: number.doubleValue) else {
            throw ColModernVBertError.invalidConfig(field: field(key), reason: "expected an integer, found \(value)")
        }
        return exact
    }

    func double(_ key: String, default fallback: Double) throws -> Double {
        guard let value = raw(key) else { return fallback }
        guard let number = value as? NSNumber, !number.isBool else {
            throw ColModernVBertError.invalidConfig(field: field(key), reason: "expected a number, found \(value)")
        }
        return number.doubleValue
    }

    func bool(_ key: String, default fallback: Bool) throws -> Bool {
        guard let value = raw(key) else { return fallback }
        guard let number = value as? NSNumber, number.isBool else {
            throw ColModernVBertError.invalidConfig(field: field(key), reason: "expected true or false, found \(value)")
        }
        return number.boolValue
    }

    func string(_ key: String, default fallback: String) throws -> String {
        try optionalString(key) ?? fallback
    }

    func optionalString(_ key: String) throws -> String? {
        guard let value = raw(key) else { return nil }
        guard let text = value as? String else {
            throw ColModernVBertError.invalidConfig(field: field(key), reason: "expected a string, found \(value)")
        }
        return text
    }

    func stringArray(_ key: String) throws -> [String]? {
        guard let value = raw(key) else { return nil }
        guard let array = value as? [Any], let strings = array as? [String] else {
            throw ColModernVBertError.invalidConfig(field: field(key), reason: "expected a list of strings")
        }
        return strings
    }

    func object(_ key: String) throws -> ConfigJSON? {
        guard let value = raw(key) else { return nil }
        guard let object = value as? [String: Any] else {
            throw ColModernVBertError.invalidConfig(field: field(key), reason: "expected a JSON object")
        }
        return ConfigJSON(path: field(key), values: object)
    }

    /// `image_size` / `patch_size` may be an integer or a [height, width] pair.
    func squareSize(_ key: String, default fallback: Int) throws -> Int {
        guard let value = raw(key) else { return fallback }
        if let pair = value as? [Any] {
            let numbers = pair.compactMap { ($0 as? NSNumber).flatMap { Int(exactly: $0.doubleValue) } }
            guard numbers.count == 2 else {
                throw ColModernVBertError.invalidConfig(field: field(key), reason: "expected an integer or [height, width]")
            }
            guard numbers[0] == numbers[1] else {
                throw ColModernVBertError.unsupportedConfig(field: field(key), value: "\(numbers) (non-square)")
            }
            return numbers[0]
        }
        return try int(key, default: fallback)
    }
}

extension NSNumber {
    /// JSONSerialization represents JSON booleans as NSNumber too; tell them apart.
    /// (JSON numbers decode as "i", "q" or "d"; booleans as "c" on both Darwin and Linux.)
    var isBool: Bool { String(cString: objCType) == "c" }
}
