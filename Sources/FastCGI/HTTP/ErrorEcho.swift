/// Client text quoted inside an error message is cut to a short prefix, so that an error
/// answer never grows with the input (filenames are bounded only by the 16 KiB part header).
public enum ErrorEcho {
    public static let maxCharacters = 64

    /// `text` itself when short, else its first `maxCharacters` characters and `…`.
    public static func prefix(_ text: String, maxCharacters: Int = ErrorEcho.maxCharacters) -> String {
        let head = text.prefix(maxCharacters)
        return head.endIndex == text.endIndex ? text : String(head) + "…"
    }
}
