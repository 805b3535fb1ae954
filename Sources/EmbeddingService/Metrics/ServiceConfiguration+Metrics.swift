import Foundation
import POSIX

/// Where `/metrics` is answered and for whom (issue 13).
extension ServiceConfiguration {
    /// File name of the master's metrics socket in the run directory; the one place it is
    /// spelled (scripts ask `colmodernvbert config nginx`).
    public static let metricsSocketName = "colmodernvbert-metrics.sock"

    /// `COLPALI_METRICS_ALLOW`, parsed; nil when `off`.
    public static func metricsAllowList(fromEnvironment environment: [String: String]) throws(ConfigurationError) -> MetricsAllowList? {
        try MetricsAllowList.parse(EnvironmentReader(environment).string(MetricsAllowList.variable))
    }

    static let metricsListenVariable = "COLPALI_METRICS_LISTEN"

    /// The master's metrics socket: `COLPALI_METRICS_LISTEN` (`unix:/path` or `host:port`, for an
    /// nginx on another host of a multi-host pool), by default `colmodernvbert-metrics.sock` in
    /// `COLPALI_RUN_DIR`; nil when `/metrics` is off.
    public static func metricsAddress(fromEnvironment environment: [String: String]) throws(ConfigurationError) -> ListenAddress? {
        guard try metricsAllowList(fromEnvironment: environment) != nil else { return nil }
        let reader = EnvironmentReader(environment)
        if let text = reader.string(metricsListenVariable) {
            let address = try? ListenAddress(parsing: text)
            switch address {
            case .unix?, .tcp?: return address
            case .inherited?, nil:
                throw ConfigurationError(variable: metricsListenVariable, value: text, expected: "unix:/path or host:port")
            }
        }
        return .unix(path: runDirectory(reader).appendingPathComponent(metricsSocketName).path)
    }
}
