import FailoverController
import Foundation
import Heartbeat
import TestSupport
import Testing

/// The PostgreSQL outbox's claim rules, on the real server of `scripts/test`.
@Suite(
    "Event outbox claims",
    .enabled(if: TestEnvironment.conninfo != nil, "needs HOTSTANDBY_TEST_PG_CONNINFO: run the tests with scripts/test")
)
struct EventOutboxTests {
    let database = DatabaseSettings(conninfo: TestEnvironment.conninfo ?? "", callTimeout: .seconds(5))

    /// A cluster of its own with one unsent event in it.
    func clusterWithOneEvent() async throws -> String {
        let cluster = "outbox-\(UInt32.random(in: 0...UInt32.max))"
        let admin = ClusterAdmin(database: database)
        _ = try await admin.migrate()
        try await admin.recordEvent(
            cluster: cluster,
            epoch: 1,
            node: "a",
            kind: .takeover,
            detail: ["why": .string("test")]
        )
        return cluster
    }

    @Test(
        "another node's claim hides an event until it expires; the claiming node's own ghost claim is taken back at once"
    )
    func ghostClaimIsTakenBack() async throws {
        let cluster = try await clusterWithOneEvent()
        let outbox = EventOutbox(database: database, cluster: cluster)
        // Node a's claim: as if the UPDATE committed after a gave up on it (cut off, healed later).
        let first = try await outbox.claim(node: "a", limit: 10, lease: .seconds(600))
        #expect(first.count == 1)
        // b sees nothing while a's claim lasts: two nodes never send the same event.
        #expect(try await outbox.claim(node: "b", limit: 10, lease: .seconds(600)).isEmpty)
        // a's next round takes its own claim back instead of waiting ten minutes.
        let again = try await outbox.claim(node: "a", limit: 10, lease: .seconds(600))
        #expect(again.map(\.id) == first.map(\.id))
        try await outbox.markSent(ids: again.map(\.id))
        #expect(try await outbox.claim(node: "a", limit: 10, lease: .seconds(600)).isEmpty)
        #expect(try await outbox.claim(node: "b", limit: 10, lease: .seconds(600)).isEmpty)
    }

    @Test("a released claim is free for any node at once; an expired one too")
    func releasedAndExpiredClaims() async throws {
        let cluster = try await clusterWithOneEvent()
        let outbox = EventOutbox(database: database, cluster: cluster)
        let first = try await outbox.claim(node: "a", limit: 10, lease: .seconds(600))
        try await outbox.release(ids: first.map(\.id))
        let byB = try await outbox.claim(node: "b", limit: 10, lease: .milliseconds(200))
        #expect(byB.map(\.id) == first.map(\.id))
        #expect(try await outbox.claim(node: "a", limit: 10, lease: .seconds(600)).isEmpty)
        try await Task.sleep(for: .milliseconds(400))
        #expect(try await outbox.claim(node: "a", limit: 10, lease: .seconds(600)).map(\.id) == first.map(\.id))
    }
}
