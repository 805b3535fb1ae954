import Glibc

/// Typed reads of environment variables, for every module that is configured from the
/// environment (the service's `ServiceConfiguration`, the hub's `HubConfiguration`).
///
/// A variable set to the empty string counts as unset everywhere. Two spellings of a value:
/// - `self[name]`: the value exactly as given, for variables that mirror another program's
///   (huggingface_hub reads `HF_HOME` and friends with `os.environ.get`, untrimmed);
/// - `string(name)`: with surrounding blanks (tabs and Unicode spaces, not newlines) removed,
///   and blank-only counting as unset, for the service's own variables; `int` and `byteSize`
///   build on it and throw `EnvironmentError` naming the variable.
public struct EnvironmentReader: Sendable {
    public let values: [String: String]

    public init(_ values: [String: String]) { self.values = values }

    /// The value as given, or nil when unset or empty.
    public subscript(name: String) -> String? {
        guard let value = values[name], !value.isEmpty else { return nil }
        return value
    }

    /// The value without surrounding blanks, or nil when unset, empty or blank.
    public func string(_ name: String) -> String? {
        guard let raw = values[name] else { return nil }
        let scalars = raw.unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.isBlank }) else { return nil }
        let last = scalars.lastIndex(where: { !$0.isBlank })!
        return String(scalars[first...last])
    }

    /// An integer in `range`, or nil when unset.
    public func int(_ name: String, in range: ClosedRange<Int>) throws(EnvironmentError) -> Int? {
        guard let text = string(name) else { return nil }
        guard let value = Int(text), range.contains(value) else {
            throw EnvironmentError(variable: name, value: text, expected: "an integer in \(range.lowerBound)...\(range.upperBound)")
        }
        return value
    }

    /// "1048576", "512k", "64m", "1g" (nginx's spelling), or nil when unset.
    /// "1"/"true"/"yes"/"on" or "0"/"false"/"no"/"off".
    public func flag(_ name: String) throws(EnvironmentError) -> Bool? {
        guard let text = string(name) else { return nil }
        switch text.lowercased() {
        case "1", "true", "yes", "on": return true
        case "0", "false", "no", "off": return false
        default: throw EnvironmentError(variable: name, value: text, expected: "1 or 0 (true or false)")
        }
    }

    public func byteSize(_ name: String) throws(EnvironmentError) -> Int? {
        guard let text = string(name)?.lowercased() else { return nil }
        let units: [Character: Int] = ["k": 1 << 10, "m": 1 << 20, "g": 1 << 30]
        var digits = Substring(text)
        var multiplier = 1
        if let last = text.last, let unit = units[last] {
            multiplier = unit
            digits = digits.dropLast()
        }
        guard let value = Int(digits), value > 0, value <= Int.max / multiplier else {
            throw EnvironmentError(variable: name, value: text, expected: "a positive size like 1048576, 512k, 64m or 1g")
        }
        return value * multiplier
    }

    // MARK: Paths, with Python's os.path semantics

    /// `HOME`, else the user database's home directory (Python's `expanduser` order).
    public var home: String {
        if let home = self["HOME"] { return home }
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 4096)
        guard getpwuid_r(getuid(), &entry, &buffer, buffer.count, &result) == 0, let found = result, let directory = found.pointee.pw_dir
        else { return "/" }
        return String(cString: directory)
    }

    /// `~` / `~/...` to HOME, then `$NAME` and `${NAME}` to their values.
    public func expand(_ path: String) -> String {
        expandVariables(expandUser(path))
    }

    /// `os.path.expanduser` for the current user: `~` and `~/...`.
    public func expandUser(_ path: String) -> String {
        if path == "~" { return home }
        if path.hasPrefix("~/") { return home + path.dropFirst() }
        return path
    }

    /// `os.path.expandvars`: `$NAME` and `${NAME}` to their values (set but empty ones
    /// included); unknown variables stay as written.
    public func expandVariables(_ path: String) -> String {
        guard path.contains("$") else { return path }
        var output = ""
        var index = path.startIndex
        func isNameCharacter(_ c: Character) -> Bool { c.isASCII && (c.isLetter || c.isNumber || c == "_") }
        while index < path.endIndex {
            let character = path[index]
            guard character == "$" else {
                output.append(character)
                index = path.index(after: index)
                continue
            }
            let afterDollar = path.index(after: index)
            if afterDollar < path.endIndex, path[afterDollar] == "{",
                let close = path[afterDollar...].firstIndex(of: "}")
            {
                let name = String(path[path.index(after: afterDollar)..<close])
                if !name.isEmpty, let value = values[name] {
                    output += value
                } else {
                    output += path[index...close]
                }
                index = path.index(after: close)
                continue
            }
            var end = afterDollar
            while end < path.endIndex, isNameCharacter(path[end]) { end = path.index(after: end) }
            let name = String(path[afterDollar..<end])
            if !name.isEmpty, let value = values[name] {
                output += value
            } else {
                output += path[index..<end]
            }
            index = end == afterDollar ? afterDollar : end
        }
        return output
    }
}

/// An environment variable whose value cannot be used: names the variable, the value and
/// what was expected.
public struct EnvironmentError: Error, Sendable, CustomStringConvertible, Equatable {
    public let variable: String
    public let value: String
    public let expected: String

    public init(variable: String, value: String, expected: String) {
        self.variable = variable
        self.value = value
        self.expected = expected
    }

    public var description: String { "\(variable)=\"\(value)\" is not valid: expected \(expected)" }
}

extension Unicode.Scalar {
    /// Foundation's `CharacterSet.whitespaces`: tab and the space separators (Zs).
    fileprivate var isBlank: Bool { self == "\t" || properties.generalCategory == .spaceSeparator }
}
