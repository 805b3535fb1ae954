import Foundation

/// A read-only view of a parsed JSON object with typed accessors that fail with
/// `TokenizerError.invalidJSON` naming the file and key, so configuration mistakes are
/// reported precisely. Only used while loading; never stored.
struct JSONObject {
    let values: [String: Any]
    /// File name and key path, for error messages ("tokenizer.json: model").
    let context: String

    init(values: [String: Any], context: String) {
        self.values = values
        self.context = context
    }

    /// Parses `data` as a JSON object.
    init(data: Data, file: String) throws {
        let parsed: Any
        do {
            parsed = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
        } catch {
            throw TokenizerError.invalidJSON(file: file, reason: "not JSON (\(error.localizedDescription))")
        }
        guard let object = parsed as? [String: Any] else {
            throw TokenizerError.invalidJSON(file: file, reason: "top level is not an object")
        }
        self.init(values: object, context: file)
    }

    private func fail(_ key: String, _ reason: String) -> TokenizerError {
        .invalidJSON(file: context, reason: "\(key): \(reason)")
    }

    /// True when the key is absent or JSON null.
    func isNull(_ key: String) -> Bool {
        values[key] == nil || values[key] is NSNull
    }

    func object(_ key: String) throws -> JSONObject {
        guard let value = values[key] as? [String: Any] else { throw fail(key, "expected an object") }
        return JSONObject(values: value, context: "\(context): \(key)")
    }

    func optionalObject(_ key: String) throws -> JSONObject? {
        isNull(key) ? nil : try object(key)
    }

    func string(_ key: String) throws -> String {
        guard let value = values[key] as? String else { throw fail(key, "expected a string") }
        return value
    }

    func optionalString(_ key: String) throws -> String? {
        isNull(key) ? nil : try string(key)
    }

    func int(_ key: String) throws -> Int {
        guard let value = values[key] as? Int else { throw fail(key, "expected an integer") }
        return value
    }

    func optionalInt(_ key: String) throws -> Int? {
        isNull(key) ? nil : try int(key)
    }

    func bool(_ key: String, default defaultValue: Bool) throws -> Bool {
        if isNull(key) { return defaultValue }
        guard let value = values[key] as? Bool else { throw fail(key, "expected a boolean") }
        return value
    }

    func array(_ key: String) throws -> [Any] {
        guard let value = values[key] as? [Any] else { throw fail(key, "expected an array") }
        return value
    }

    func objects(_ key: String) throws -> [JSONObject] {
        try array(key).enumerated().map { index, element in
            guard let value = element as? [String: Any] else { throw fail("\(key)[\(index)]", "expected an object") }
            return JSONObject(values: value, context: "\(context): \(key)[\(index)]")
        }
    }
}
