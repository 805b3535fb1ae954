import Foundation
import POSIX

/// Where `/metrics` is answered and for whom (issue 13).
extension ServiceConfiguration {
    /// File name of the master's metrics socket in the run directory; the one place it is
    /// spelled (scripts ask `colmodernvbert config metrics`).
    public static let metricsSocketName = "colmodernvbert-metrics.sock"

    /// `COLPALI_METRICS_ALLOW`, parsed; nil when `off`.
    public static func metricsAllowList(fromEnvironment environment: [String: String]) throws(ConfigurationError) -> MetricsAllowList? {
        try MetricsAllowList.parse(EnvironmentReader(environment).string(MetricsAllowList.variable))
    }

    /// The master's metrics socket, in `COLPALI_RUN_DIR`; nil when `/metrics` is off.
    public static func metricsAddress(fromEnvironment environment: [String: String]) throws(ConfigurationError) -> ListenAddress? {
        guard try metricsAllowList(fromEnvironment: environment) != nil else { return nil }
        let directory = runDirectory(EnvironmentReader(environment))
        return .unix(path: directory.appendingPathComponent(metricsSocketName).path)
    }
}
