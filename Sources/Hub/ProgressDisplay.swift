import POSIX

/// How `colmodernvbert download` shows its progress, from `COLPALI_PROGRESS`:
/// `bar` (a `ProgressBar` redrawn in place on stderr), `log` (plain log lines, as the service
/// writes them) or `auto` (the default: the bar when stderr is a terminal whose `TERM` is not
/// `dumb`, log lines otherwise: pipes, files, CI).
public enum ProgressDisplay: String, Sendable, Equatable {
    case bar
    case log

    public static let variable = "COLPALI_PROGRESS"

    public static func choose(_ environment: [String: String], standardErrorIsTerminal: Bool) throws(EnvironmentError)
        -> ProgressDisplay
    {
        let reader = EnvironmentReader(environment)
        let value = reader.string(variable)
        switch value?.lowercased() ?? "auto" {
        case "bar": return .bar
        case "log": return .log
        case "auto": return standardErrorIsTerminal && reader["TERM"] != "dumb" ? .bar : .log
        default: throw EnvironmentError(variable: variable, value: value ?? "", expected: "bar, log or auto")
        }
    }
}
