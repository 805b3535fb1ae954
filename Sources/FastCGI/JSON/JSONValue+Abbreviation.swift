extension JSONValue {
    /// Characters of input an error message may echo (pydantic echoes all of it).
    public static let echoBudget = 256

    /// A bounded copy for echoing in error bodies: at most about `budget` characters of
    /// strings and `budget` scalars in all, strings cut with a trailing `…`, arrays and
    /// objects cut with a last entry saying how many items were left out. Values that fit
    /// come back unchanged, so small inputs are echoed exactly as FastAPI echoes them.
    public func abbreviated(budget: Int = JSONValue.echoBudget) -> JSONValue {
        var remaining = budget
        return abbreviated(remaining: &remaining)
    }

    private func abbreviated(remaining: inout Int) -> JSONValue {
        switch self {
        case .null, .bool, .int, .double:
            remaining -= 1
            return self
        case .string(let text):
            // utf8.count is O(1) for native strings; only a long string is walked, once.
            let length = text.utf8.count
            if length <= max(remaining, 0) {
                remaining -= length
                return self
            }
            let keep = max(remaining, 16)
            remaining = 0
            let prefix = text.prefix(keep)
            return prefix.endIndex == text.endIndex ? self : .string(String(prefix) + "…")
        case .array(let items):
            var kept: [JSONValue] = []
            for item in items {
                if remaining <= 0 { break }
                kept.append(item.abbreviated(remaining: &remaining))
            }
            remaining -= 1
            if kept.count < items.count { kept.append(.string("… \(items.count - kept.count) more items")) }
            return .array(kept)
        case .object(let object):
            var kept: [(key: String, value: JSONValue)] = []
            for member in object.members {
                if remaining <= 0 { break }
                remaining -= min(member.key.utf8.count, 64)
                let key = member.key.utf8.count > 64 ? String(member.key.prefix(64)) + "…" : member.key
                kept.append((key: key, value: member.value.abbreviated(remaining: &remaining)))
            }
            remaining -= 1
            if kept.count < object.members.count {
                kept.append((key: "…", value: .string("\(object.members.count - kept.count) more members")))
            }
            return .object(JSONObject(kept))
        }
    }
}
