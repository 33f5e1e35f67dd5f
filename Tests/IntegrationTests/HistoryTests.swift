import Foundation
import Testing

extension IntegrationSuite {
    @Suite("hotstandby history: one row per epoch, from the event log")
    struct HistoryTests {
        /// `history --json` (with `extra` arguments) as an array of objects.
        static func history(_ cluster: TestCluster, _ extra: [String] = []) async throws -> [[String: Any]] {
            let result = try await cluster.runHotstandby(
                ["history", "--json", "--config", cluster.directory + "/a.yaml"] + extra
            )
            try #require(result.status == 0, "\(result.output)")
            let array = try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [[String: Any]]
            return try #require(array, "not a JSON array: \(result.output)")
        }

        @Test("kill -9 of the active: two epochs, the first taken over without a release, the second active")
        func killedActive() async throws {
            let cluster = try TestCluster(name: "histkill")
            try await startPair(cluster)
            cluster.node("a")!.signal(SIGKILL)
            let took = await cluster.waitUntil(cluster.timeout + .seconds(3)) { cluster.marker("b") == "active" }
            try #require(took != nil, "b never took over:\n\(cluster.logs())")
            // The takeover event is recorded right after the compare-and-set; give the outbox a moment.
            var epochs: [[String: Any]] = []
            _ = await cluster.waitUntil(.seconds(5)) {
                epochs = (try? await Self.history(cluster)) ?? []
                return epochs.count == 2
            }
            try #require(epochs.count == 2, "\(epochs)")
            let keys: Set<String> = ["epoch", "node", "since", "until", "heldSeconds", "how", "why", "ended"]
            for epoch in epochs { #expect(Set(epoch.keys) == keys, "\(epoch.keys.sorted())") }
            let (first, second) = (epochs[0], epochs[1])
            #expect(first["node"] as? String == "a")
            #expect(first["how"] as? String == "takeover")
            #expect(first["ended"] as? String == "taken over", "\(first)")
            #expect(first["until"] as? String == second["since"] as? String)
            #expect((first["heldSeconds"] as? Double ?? 0) > 0)
            #expect(second["node"] as? String == "b")
            #expect(second["how"] as? String == "takeover")
            #expect((second["why"] as? String)?.contains("the heartbeat counter stayed at") == true, "\(second)")
            #expect(second["ended"] as? String == "active")
            #expect(second["until"] is NSNull)
            #expect((first["epoch"] as? Int ?? 0) < (second["epoch"] as? Int ?? 0))
            // The table says the same; --since keeps the epoch still held.
            let table = try await cluster.runHotstandby(["history", "--config", cluster.directory + "/a.yaml"])
            #expect(table.output.contains("taken over") && table.output.contains("active"), "\(table.output)")
            let recent = try await Self.history(cluster, ["--since", "1ms"])
            #expect(recent.map { $0["node"] as? String } == ["b"], "\(recent)")
            let refused = try await cluster.runHotstandby([
                "history", "--since", "5", "--config", cluster.directory + "/a.yaml",
            ])
            #expect(
                refused.status != 0 && refused.output.contains("--since: '5' is not a duration"),
                "\(refused.output)"
            )
            cluster.stopAll()
        }

        @Test("switchover: the old epoch ended handed-off, the new one began by handover-received")
        func switchover() async throws {
            let cluster = try TestCluster(name: "histswitch")
            try await startPair(cluster)
            let result = try await cluster.runHotstandby([
                "switchover", "--to", "b", "--config", cluster.directory + "/a.yaml",
            ])
            try #require(result.status == 0, "\(result.output)")
            let took = await cluster.waitUntil(.seconds(5)) { cluster.marker("b") == "active" }
            try #require(took != nil, "no switchover:\n\(cluster.logs())")
            var epochs: [[String: Any]] = []
            _ = await cluster.waitUntil(.seconds(5)) {
                epochs = (try? await Self.history(cluster)) ?? []
                return epochs.count == 2 && epochs[0]["ended"] as? String == "handed-off"
            }
            try #require(epochs.count == 2, "\(epochs)")
            #expect(epochs[0]["node"] as? String == "a")
            #expect(epochs[0]["ended"] as? String == "handed-off", "\(epochs[0])")
            #expect(epochs[1]["node"] as? String == "b")
            #expect(epochs[1]["how"] as? String == "handover-received", "\(epochs[1])")
            #expect(epochs[1]["why"] as? String == "switchover from a", "\(epochs[1])")
            #expect(epochs[1]["ended"] as? String == "active")
            cluster.stopAll()
        }
    }
}
