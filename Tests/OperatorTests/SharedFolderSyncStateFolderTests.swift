import Foundation
import TestSupport
import Testing

/// Case 4 of the shared-folder cache identity (docs/shared-folder.md, "Whose cache"): two clusters on
/// one host that leave `stateDirectory` to its default get a state folder each, so neither the
/// snapshot cache nor the alert spool is shared. Checked through the real binary's `check-config`.
@Suite("SharedFolderSync: the default state folder is per cluster (the real binary)", .serialized)
struct SharedFolderSyncStateFolderTests {
    /// The `state:` line `check-config` prints for a configuration of `cluster`.
    static func stateLine(cluster: String, extra: String = "", in directory: String) async throws -> String {
        let path = directory + "/\(UUID().uuidString.prefix(6)).yaml"
        let document = """
            {"cluster": \(String(decoding: try JSONEncoder().encode(cluster), as: UTF8.self)), "node": "a",
             "database": {"conninfo": "host=127.0.0.1 port=5432 dbname=hs user=hs"},
             "sharedFolder": {"path": "/mnt/share", "paths": ["/srv/app"]}\(extra)}
            """
        try document.write(toFile: path, atomically: true, encoding: .utf8)
        let result = try await runProgram(OpsEnvironment.binary!, ["check-config", "--config", path])
        #expect(result.status == 0, "\(result.output)")
        return result.output.split(separator: "\n").first { $0.hasPrefix("state: ") }.map(String.init) ?? ""
    }

    @Test(.enabled(if: OpsEnvironment.hasBinary, OpsEnvironment.binaryReason))
    func twoClustersGetTheirOwnCacheAndSpool() async throws {
        let work = try OpsEnvironment.workDirectory("state-folder")
        defer { try? FileManager.default.removeItem(atPath: work) }
        let billing = try await Self.stateLine(cluster: "billing", in: work)
        let crm = try await Self.stateLine(cluster: "crm", in: work)
        #expect(billing.hasPrefix("state: /var/lib/hotstandby/billing (the default for this cluster)"), "\(billing)")
        #expect(billing.contains("alert spool /var/lib/hotstandby/billing/alert-spool"), "\(billing)")
        #expect(billing.contains("snapshot cache /var/lib/hotstandby/billing/shared-folder/cache"), "\(billing)")
        #expect(crm.contains("alert spool /var/lib/hotstandby/crm/alert-spool"), "\(crm)")
        #expect(crm.contains("snapshot cache /var/lib/hotstandby/crm/shared-folder/cache"), "\(crm)")

        // Names that are not one safe path component stay inside /var/lib/hotstandby, each its own folder.
        let dots = try await Self.stateLine(cluster: "..", in: work)
        #expect(dots.hasPrefix("state: /var/lib/hotstandby/%2E. "), "\(dots)")
        let slash = try await Self.stateLine(cluster: "a/b", in: work)
        let underscore = try await Self.stateLine(cluster: "a_b", in: work)
        #expect(slash.hasPrefix("state: /var/lib/hotstandby/a%2Fb "), "\(slash)")
        #expect(underscore.hasPrefix("state: /var/lib/hotstandby/a_b "), "\(underscore)")
        let long = try await Self.stateLine(cluster: String(repeating: "日", count: 200), in: work)
        let folder = long.dropFirst("state: /var/lib/hotstandby/".count).prefix { $0 != " " }
        #expect(!folder.contains("/") && folder.utf8.count <= 120, "\(long)")

        // An explicit stateDirectory is used as written.
        let explicit = try await Self.stateLine(
            cluster: "billing",
            extra: #", "stateDirectory": "/srv/hs-state""#,
            in: work
        )
        #expect(explicit.hasPrefix("state: /srv/hs-state — alert spool /srv/hs-state/alert-spool"), "\(explicit)")
    }
}
