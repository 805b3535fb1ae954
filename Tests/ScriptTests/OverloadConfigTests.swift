import Foundation
import Glibc
import ProcessTestSupport
import Testing

/// nginx.sh renders the overload answer as the upstream's backup server (unix pools only) and
/// the image routes' own rate zone (issue 12, "overload answered fast").
extension ScriptSuites {
    @Suite struct OverloadConfigTests {

        @Test func aUnixPoolGetsTheOverloadAnswerAsBackup() async throws {
            let directory = try TemporaryDirectory()
            let (output, http, locations) = try await renderNginx([:], in: directory)
            let backup = "server unix:\(directory.file("run"))/colmodernvbert-overload.sock max_fails=0 backup;"
            #expect(http?.contains(backup) == true, "\(output)\n\(http ?? "")")
            // Defaults: 2 image requests per second per client, burst 4, besides the general rate.
            #expect(http?.contains("zone=colmodernvbert_image_req:10m rate=2r/s;") == true)
            #expect(locations?.contains("limit_req zone=colmodernvbert_image_req burst=4 nodelay;") == true)
            #expect(locations?.components(separatedBy: "limit_req_status 429;").count == 2, "exactly one limit_req_status")
        }

        @Test func aTCPPoolHasNoBackup() async throws {
            let directory = try TemporaryDirectory()
            let (output, http, _) = try await renderNginx(["COLPALI_LISTEN": "127.0.0.1:9123"], in: directory)
            #expect(http?.contains("server 127.0.0.1:9123 max_fails=0;") == true, "\(output)")
            #expect(http?.contains(" backup;") == false, "no backup server line")
        }

        @Test func theImageRateCanBeOffOrStandAlone() async throws {
            let directory = try TemporaryDirectory()
            let off = try await renderNginx(["COLPALI_IMAGE_RATE_LIMIT": "off"], in: directory)
            #expect(off.http?.contains("colmodernvbert_image_req") == false, "\(off.output)")
            #expect(off.locations?.contains("limit_req_status 429;") == true, "the general rate still answers 429")
            let alone = try await renderNginx(
                ["COLPALI_RATE_LIMIT": "off", "COLPALI_IMAGE_RATE_LIMIT": "1r/s", "COLPALI_IMAGE_RATE_BURST": "0"], in: directory)
            #expect(alone.locations?.contains("limit_req zone=colmodernvbert_image_req;") == true, "\(alone.output)")
            #expect(alone.locations?.contains("limit_req_status 429;") == true)
            let bad = try await renderNginx(["COLPALI_IMAGE_RATE_LIMIT": "fast"], in: directory)
            #expect(bad.http == nil)
            #expect(bad.output.contains("COLPALI_IMAGE_RATE_LIMIT=fast"), "\(bad.output)")
        }
    }
}
