import CoreMetrics
import FastCGI
import Foundation

/// A worker's request metrics around its router: requests by route and status, their
/// duration by route, and the requests in flight. The route label is the registered path,
/// anything else `other`, so a scan of random paths cannot grow the label set.
public struct InstrumentedHandler: RequestHandler {
    let inner: any RequestHandler
    let routes: Set<String>
    let inFlight: CoreMetrics.Meter
    let durations: [String: CoreMetrics.Timer]

    /// `routes`: the router's paths (`Router.routes`).
    public init(_ inner: any RequestHandler, routes: [String]) {
        self.inner = inner
        self.routes = Set(routes)
        inFlight = CoreMetrics.Meter(label: MetricNames.requestsInFlight)
        durations = Dictionary(
            uniqueKeysWithValues: (routes + ["other"]).map {
                ($0, CoreMetrics.Timer(label: MetricNames.requestDuration, dimensions: [("route", $0)]))
            })
    }

    public init(_ router: Router) {
        self.init(router, routes: router.routes.map(\.path))
    }

    public func routeLabel(_ path: String) -> String { routes.contains(path) ? path : "other" }

    public func handle(_ request: HTTPRequest) -> HTTPResponse {
        let started = DispatchTime.now().uptimeNanoseconds
        inFlight.increment()
        let response = inner.handle(request)
        inFlight.decrement()
        let route = routeLabel(request.path)
        let elapsed = DispatchTime.now().uptimeNanoseconds - started
        CoreMetrics.Counter(label: MetricNames.requests, dimensions: [("route", route), ("status", String(response.status))]).increment()
        durations[route]?.recordNanoseconds(Int64(elapsed))
        return response
    }
}
