import Glibc
import POSIX
import Testing

@testable import EmbeddingService

/// `COLPALI_SOCKET_MODE`, `COLPALI_SOCKET_GROUP`, the root default (the nginx workers' group)
/// and the warning for a TCP listen other hosts can reach (issue 12).
@Suite struct SocketConfigurationTests {
    let budget = CPUBudget(allowed: 2)
    /// Any user but root.
    let unprivileged: uid_t = 4242

    func configuration(_ environment: [String: String], user: uid_t) throws -> ServiceConfiguration {
        try ServiceConfiguration.fromEnvironment(environment, cpuBudget: budget, effectiveUserID: user)
    }

    @Test func defaultsTo0660InTheOwnGroupWhenNotRoot() throws {
        let config = try configuration([:], user: unprivileged)
        #expect(config.socketPermissions.mode == 0o660)
        #expect(config.socketPermissions.group == nil)
    }

    @Test func asRootTheGroupIsTheNginxWorkersGroup() throws {
        let nogroup = try #require(UnixGroup.id("nogroup"), "Debian's nogroup, nginx.sh's default workers' group")
        #expect(try configuration([:], user: 0).socketPermissions.group == nogroup)
        let own = try #require(UnixGroup.name(of: getegid()))
        // "user group", and "user" alone (nginx then uses the group named like the user).
        #expect(try configuration(["COLPALI_NGINX_USER": "nobody \(own)"], user: 0).socketPermissions.group == getegid())
        #expect(try configuration(["COLPALI_NGINX_USER": own], user: 0).socketPermissions.group == getegid())
        // An explicit group wins.
        #expect(try configuration(["COLPALI_SOCKET_GROUP": own], user: 0).socketPermissions.group == getegid())
        #expect {
            try configuration(["COLPALI_NGINX_USER": "nobody no-such-group-\(getpid())"], user: 0)
        } throws: { error in
            "\(error)".contains("COLPALI_SOCKET_GROUP") && "\(error)".contains("COLPALI_NGINX_USER")
        }
    }

    @Test func readsModeAndGroup() throws {
        let own = getegid()
        let config = try configuration(["COLPALI_SOCKET_MODE": "0600", "COLPALI_SOCKET_GROUP": String(own)], user: unprivileged)
        #expect(config.socketPermissions.mode == 0o600)
        #expect(config.socketPermissions.group == own)
        let byName = try configuration(["COLPALI_SOCKET_GROUP": try #require(UnixGroup.name(of: own))], user: unprivileged)
        #expect(byName.socketPermissions.group == own)
    }

    @Test(arguments: ["0666", "0777", "0662", "rw", "0668", "4660"])
    func badModesNameTheVariable(mode: String) {
        #expect {
            try configuration(["COLPALI_SOCKET_MODE": mode], user: unprivileged)
        } throws: { error in
            guard let error = error as? ConfigurationError else { return false }
            return error.variable == "COLPALI_SOCKET_MODE" && error.value == mode
        }
    }

    @Test func unknownOrForeignGroupsNameTheVariable() throws {
        let unknown = "no-such-group-\(getpid())"
        #expect {
            try configuration(["COLPALI_SOCKET_GROUP": unknown], user: 0)
        } throws: { error in
            (error as? ConfigurationError)?.variable == "COLPALI_SOCKET_GROUP" && "\(error)".contains(unknown)
        }
        // Not root: only a group of this process.
        let foreign = try #require((1..<60_000).map { gid_t($0) }.first { !UnixGroup.isMember($0) })
        #expect {
            try configuration(["COLPALI_SOCKET_GROUP": String(foreign)], user: unprivileged)
        } throws: { error in
            (error as? ConfigurationError)?.variable == "COLPALI_SOCKET_GROUP" && "\(error)".contains("belongs to")
        }
        // Root may name any group.
        #expect(try configuration(["COLPALI_SOCKET_GROUP": String(foreign)], user: 0).socketPermissions.group == foreign)
    }

    @Test func warnsAboutATCPListenOtherHostsCanReach() throws {
        for listen in ["0.0.0.0:9000", "10.1.2.3:9000", "[::]:9000"] {
            let warning = try #require(try configuration(["COLPALI_LISTEN": listen], user: unprivileged).listenExposureWarning, "\(listen)")
            #expect(warning.contains("COLPALI_LISTEN=\(listen)") && warning.contains("bypassing nginx"), "\(warning)")
            // A wildcard also listens on public interfaces: the warning names what to bind instead.
            let wildcard = !listen.hasPrefix("10.")
            #expect(warning.contains("every interface") == wildcard, "\(warning)")
            #expect(warning.contains(wildcard ? "<private address>:9000" : "only that host reach"), "\(warning)")
        }
        for listen in ["127.0.0.1:9000", "127.0.0.2:9000", "localhost:9000", "[::1]:9000", "unix:/tmp/x.sock", "fd:0"] {
            #expect(try configuration(["COLPALI_LISTEN": listen], user: unprivileged).listenExposureWarning == nil, "\(listen)")
        }
        #expect(try configuration([:], user: unprivileged).listenExposureWarning == nil)
    }
}
