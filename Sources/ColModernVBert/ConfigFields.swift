import CheckpointConfig

/// Helpers shared by the config readers: field paths, checks, and legacy/new key reconciliation.
struct ConfigFields {
    /// Path of the object being read ("" for the top level, "vlm_config.text_config", ...).
    let path: String

    init(_ path: String) { self.path = path }

    func field(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    func child(_ key: String) -> ConfigFields { ConfigFields(field(key)) }

    func require(_ condition: Bool, _ key: String, _ reason: @autoclosure () -> String) throws {
        if !condition { throw ColModernVBertError.invalidConfig(field: field(key), reason: reason()) }
    }

    /// The value of a key that has a legacy spelling: either may be given; both must agree.
    static func reconcile<T: Equatable>(
        _ current: T?, _ currentField: String, legacy: T?, _ legacyField: String
    ) throws -> T? {
        if let current, let legacy, current != legacy {
            throw ColModernVBertError.conflictingConfig(
                fields: [currentField, legacyField], values: ["\(current)", "\(legacy)"])
        }
        return current ?? legacy
    }
}

extension ColModernVBertError {
    /// A `ConfigFileError` from decoding config.json, as the model reports it.
    init(configFile error: ConfigFileError, path: String) {
        if let field = error.field {
            self = .invalidConfig(field: field, reason: error.reason)
        } else {
            self = .unreadableConfig(path: path, reason: error.reason)
        }
    }
}
