import FastCGI
import Foundation
import Testing

@testable import EmbeddingService

/// COLPALI_METRICS_ALLOW and the master's /metrics answer.
@Suite struct MetricsAllowListTests {
    @Test func theDefaultIsLoopback() throws {
        let allow = try #require(try MetricsAllowList.parse(nil))
        #expect(allow.description == "127.0.0.1,::1")
        #expect(allow.allows("127.0.0.1"))
        #expect(allow.allows("::1"))
        #expect(allow.allows("::ffff:127.0.0.1"))
        #expect(!allow.allows("127.0.0.2"))
        #expect(!allow.allows("10.0.0.1"))
        #expect(!allow.allows("not an address"))
        #expect(allow.nginxDirectives == "allow 127.0.0.1; allow ::1; deny all;")
        #expect(try MetricsAllowList.parse("") == allow)
    }

    @Test func cidrBlocksMatchTheirRange() throws {
        let allow = try #require(try MetricsAllowList.parse("10.1.0.0/16, fd00::/8,192.0.2.7/32"))
        #expect(allow.description == "10.1.0.0/16,fd00::/8,192.0.2.7")
        #expect(allow.allows("10.1.255.3"))
        #expect(!allow.allows("10.2.0.1"))
        #expect(allow.allows("fd12:3456::1"))
        #expect(!allow.allows("fe80::1"))
        #expect(allow.allows("192.0.2.7"))
        #expect(!allow.allows("192.0.2.8"))
        #expect(try #require(try MetricsAllowList.parse("10.1.2.3/12")).allows("10.15.0.0"))
        #expect(try #require(try MetricsAllowList.parse("0.0.0.0/0")).allows("203.0.113.9"))
    }

    @Test func offTurnsMetricsOff() throws {
        #expect(try MetricsAllowList.parse("off") == nil)
        #expect(try MetricsAllowList.parse("OFF") == nil)
        #expect(try ServiceConfiguration.metricsAddress(fromEnvironment: ["COLPALI_METRICS_ALLOW": "off"]) == nil)
        #expect(
            try ServiceConfiguration.metricsAddress(fromEnvironment: ["COLPALI_RUN_DIR": "/tmp/m"])
                == .unix(path: "/tmp/m/colmodernvbert-metrics.sock"))
        #expect(
            try ServiceConfiguration.metricsAddress(fromEnvironment: ["COLPALI_METRICS_LISTEN": "10.0.0.5:9101"])
                == .tcp(host: "10.0.0.5", port: 9101))
        for bad in ["fd:3", "nonsense"] {
            #expect {
                try ServiceConfiguration.metricsAddress(fromEnvironment: ["COLPALI_METRICS_LISTEN": bad])
            } throws: { error in
                "\(error)".contains("COLPALI_METRICS_LISTEN")
            }
        }
    }

    @Test(arguments: ["localhost", "10.0.0.0/33", "::1/129", "1.2.3", "10.0.0.1/x", ",", "127.0.0.1;deny"])
    func aBadEntryIsNamed(_ value: String) {
        #expect {
            try MetricsAllowList.parse(value)
        } throws: { error in
            "\(error)".contains("COLPALI_METRICS_ALLOW")
        }
    }

    @Test func theAnswerRendersForAllowedAddressesOnly() throws {
        let metrics = PoolMetrics()
        metrics.apply(
            MetricObservation(
                pid: 3, name: MetricNames.requests, labels: [("route", "/health"), ("status", "200")], operation: .increment(2)))
        let answer = MetricsAnswer(metrics: metrics, allow: try #require(try MetricsAllowList.parse("127.0.0.1")))
        let allowed = answer.handle(HTTPRequest(method: .get, path: "/metrics", parameters: ["REMOTE_ADDR": "127.0.0.1"]))
        #expect(allowed.status == 200)
        #expect(allowed.headers["content-type"] == MetricsAnswer.contentType)
        #expect(MetricsText(allowed.body).value(#"colmodernvbert_requests_total{route="/health",status="200"}"#) == 2)

        for parameters in [["REMOTE_ADDR": "192.0.2.1"], [:]] {
            let refused = answer.handle(HTTPRequest(method: .get, path: "/metrics", parameters: parameters))
            #expect(refused.status == 403)
            #expect(String(decoding: refused.body, as: UTF8.self).hasPrefix(#"{"detail":"Forbidden"#))
        }
        let post = answer.handle(HTTPRequest(method: .post, path: "/metrics", parameters: ["REMOTE_ADDR": "127.0.0.1"]))
        #expect(post.status == 405)
    }

    @Test func theRouteLabelIsBounded() {
        var router = Router()
        router.get("/health") { _ in HTTPResponse(text: "ok") }
        router.post("/embed/images") { _ in HTTPResponse(text: "ok") }
        let handler = InstrumentedHandler(router)
        #expect(handler.routeLabel("/embed/images") == "/embed/images")
        #expect(handler.routeLabel("/etc/passwd") == "other")
        #expect(handler.routeLabel("/embed/images/") == "other")
        #expect(handler.handle(HTTPRequest(method: .get, path: "/nope")).status == 404)
    }
}
