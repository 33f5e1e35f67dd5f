import Foundation
import Testing

extension IntegrationSuite {
    /// Issue 15 item 9: `failback: {preferred: NODE, after: D}` with real processes.
    @Suite("failback: the preferred node takes the role back")
    struct FailbackTests {
        @Test(
            "kill -9 of the preferred a: b takes over; a restarted is handed the role back once it was eligible for `after` and b held it for holdDown; once"
        )
        func preferredTakesBack() async throws {
            let cluster = try TestCluster(name: "failback")
            let extra = """
                health: {holdDown: 3s}
                failback: {preferred: a, after: 1s}
                """
            try await withSampling(cluster) {
                try await cluster.startActive("a", extra: extra)
                try await cluster.startStandby("b", extra: extra)
                cluster.node("a")!.signal(SIGKILL)
                _ = try await cluster.runHotstandby(["release", "--config", cluster.directory + "/a.yaml"])
                let took = await cluster.waitUntil(cluster.timeout + .seconds(3)) { cluster.marker("b") == "active" }
                let tookAt = try #require(took, "b never took over:\n\(cluster.logs())")
                try cluster.start("a", extra: extra)
                let restarted = ContinuousClock.now
                // Not before b held the role for holdDown (3 s), nor before a was eligible for 1 s.
                let back = await cluster.waitUntil(.seconds(10)) { cluster.marker("a") == "active" }
                let backAt = try #require(back, "a never got the role back:\n\(cluster.logs())")
                let held = tookAt.duration(to: backAt)
                print(
                    "failback: b held the role \(held.ms) ms; a active \(restarted.duration(to: backAt).ms) ms after its restart"
                )
                #expect(held >= .seconds(3), "failed back after \(held.ms) ms, inside the hold-down")
                #expect(
                    restarted.duration(to: backAt) >= .seconds(1),
                    "failed back before a was eligible for failback.after"
                )
                #expect(restarted.duration(to: backAt) <= .seconds(3) + cluster.timeout, "failback took too long")
                try await Task.sleep(for: .seconds(4))
                #expect(cluster.marker("a") == "active", "the role moved again")
                let events = (try await cluster.statusJSON())["events"] as? [[String: Any]] ?? []
                #expect(
                    events.filter { $0["kind"] as? String == "failback" }.count == 1,
                    "\(events.map { $0["kind"] ?? "" })"
                )
            }
            #expect(cluster.stats.doubleSamples == 0, "two active markers in \(cluster.stats.doubleSamples) samples")
            cluster.stopAll()
        }
    }
}
