import Foundation
import Testing

extension IntegrationSuite {
    @Suite("Shared folder with real daemons")
    struct SharedFolderDaemonTests {
        @Test(
            "files the active wrote are restored on the node that takes over, before its promote hook; status shows the snapshot"
        )
        func roundTrip() async throws {
            let cluster = try TestCluster(name: "share")
            let share = cluster.directory + "/share"
            let data = cluster.directory + "/data"
            try FileManager.default.createDirectory(atPath: share, withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: data + "/sub", withIntermediateDirectories: true)
            try "ledger v1\n".write(toFile: data + "/ledger.txt", atomically: true, encoding: .utf8)
            try "nested\n".write(toFile: data + "/sub/nested.txt", atomically: true, encoding: .utf8)
            try FileManager.default.setAttributes([.posixPermissions: 0o640], ofItemAtPath: data + "/ledger.txt")
            let section = """
                sharedFolder:
                  path: "\(share)"
                  paths: ["\(data)"]
                  interval: 1s
                  requireMount: false
                """
            try await cluster.startActive("a", extra: section)
            try await cluster.startStandby("b", extra: section)
            // The active publishes every interval; `status` (from any node's configuration) shows it.
            let published = await cluster.waitUntil(.seconds(15)) {
                guard
                    let result = try? await cluster.runHotstandby([
                        "status", "--json", "--config", cluster.directory + "/a.yaml",
                    ]),
                    let object = try? JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any],
                    let shared = object["sharedFolder"] as? [String: Any],
                    let newest = shared["newest"] as? [String: Any]
                else { return false }
                return (newest["fileCount"] as? Int ?? 0) >= 2
            }
            try #require(published != nil, "no snapshot published:\n\(cluster.logs())")
            let table = try await cluster.runHotstandby(["status", "--config", cluster.directory + "/a.yaml"])
            #expect(table.output.contains("newest snapshot: sequence"), "\(table.output)")
            cluster.node("a")!.signal(SIGKILL)
            // What b's disk looks like before it takes over: the file is gone and another is damaged.
            try FileManager.default.removeItem(atPath: data + "/ledger.txt")
            try "garbage\n".write(toFile: data + "/sub/nested.txt", atomically: true, encoding: .utf8)
            try (data + "/ledger.txt").write(toFile: cluster.directory + "/probe", atomically: true, encoding: .utf8)
            let took = await cluster.waitUntil(cluster.timeout + .seconds(5)) { cluster.marker("b") == "active" }
            try #require(took != nil, "b never took over:\n\(cluster.logs())")
            // The restore ran before b's promote hook: the hook already saw the restored file.
            let probe = (try? String(contentsOfFile: cluster.directory + "/probe.log", encoding: .utf8)) ?? ""
            #expect(probe.contains("b active saw \(data)/ledger.txt"), "probe: \(probe)")
            #expect((try? String(contentsOfFile: data + "/ledger.txt", encoding: .utf8)) == "ledger v1\n")
            #expect((try? String(contentsOfFile: data + "/sub/nested.txt", encoding: .utf8)) == "nested\n")
            let mode =
                (try FileManager.default.attributesOfItem(atPath: data + "/ledger.txt")[.posixPermissions] as? Int) ?? 0
            #expect(mode == 0o640)
        }
    }
}
