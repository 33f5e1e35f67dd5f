import Foundation
import Testing

extension IntegrationSuite {
    @Suite("The demote hook's share of the margin (issue 13 item 2)")
    struct DemoteBudgetTests {
        @Test("a demote hook that hangs is killed at its share: it is gone before the standby's promote hook runs")
        func hungDemoteHookIsKilled() async throws {
            // interval 200 ms, timeout 2 s: renewDeadline 1.4 s, so the demote hook gets
            // 600 ms - 200 ms drift - 60 ms kill grace = 340 ms (hooks.timeout stays the 30 s default).
            let cluster = try TestCluster(name: "demote")
            let pidFile = cluster.directory + "/slow-demote.pid"
            try cluster.write(
                "#!/bin/sh\necho $$ > \"\(pidFile)\"\nexec sleep 20\n",
                to: "slow-demote.sh",
                mode: 0o755
            )
            // a's demote hook hangs; b's hooks are the cluster's usual ones.
            let aPath = try cluster.config(for: "a")
            let aConfig = try String(contentsOfFile: aPath, encoding: .utf8).replacingOccurrences(
                of: "demote: [\"\(cluster.directory)/hook.sh\", \"standby\"]",
                with: "demote: [\"\(cluster.directory)/slow-demote.sh\"]"
            )
            #expect(aConfig.contains("slow-demote.sh"))
            try aConfig.write(toFile: aPath, atomically: true, encoding: .utf8)
            try await withSampling(cluster) {
                try await startPair(cluster)
                // SIGTERM: a demotes (its hook hangs), then releases; b takes over.
                cluster.node("a")!.signal(SIGTERM)
                let took = await cluster.waitUntil(cluster.timeout + .seconds(5)) { cluster.marker("b") == "active" }
                try #require(took != nil, "b never took over:\n\(cluster.logs())")
                let pidText = try String(contentsOfFile: pidFile, encoding: .utf8).trimmingCharacters(
                    in: .whitespacesAndNewlines
                )
                let pid = try #require(Int32(pidText))
                // Before the fix the hook ran for hooks.timeout (30 s): still alive when b started its service.
                #expect(
                    kill(pid, 0) != 0,
                    "a's demote hook (pid \(pid)) still runs while b is active:\n\(cluster.logs())"
                )
            }
        }
    }
}
