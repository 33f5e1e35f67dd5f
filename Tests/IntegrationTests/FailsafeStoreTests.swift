import FailoverController
import Foundation
import Heartbeat
import Logging
import TestSupport
import Testing

/// Issue 18: the failsafe's columns in a real PostgreSQL: who writes `members` and `failsafe_max`, and the
/// membership change's counter check.
@Suite(
    "Failsafe: the lease row",
    .enabled(if: TestEnvironment.conninfo != nil, "needs HOTSTANDBY_TEST_PG_CONNINFO: run the tests with scripts/test")
)
struct FailsafeStoreTests {
    let database = DatabaseSettings(conninfo: TestEnvironment.conninfo ?? "", callTimeout: .seconds(5))
    let cluster = "fs-" + UUID().uuidString.prefix(8).lowercased()

    func store(_ node: String, cap: Duration? = .seconds(60)) -> PostgresLeaseStore {
        PostgresLeaseStore(
            database: database,
            identity: .init(
                cluster: cluster,
                node: node,
                advertise: "http://\(node).example:8008",
                failsafeMax: cap
            ),
            timeout: .seconds(10),
            logger: Logger(label: "test"),
            interval: .seconds(1)
        )
    }

    func row(_ result: LeaseResult) -> (counter: Int64, row: FailsafeRow?)? {
        guard case .renew(.renewed(let counter, _, _, _, _, _, let row)) = result else { return nil }
        return (counter, row)
    }

    /// Both nodes registered (a read each), then b takes the released lease: epoch 1.
    func bHolds(aCap: Duration? = .seconds(60)) async throws -> (a: PostgresLeaseStore, b: PostgresLeaseStore) {
        _ = try await ClusterAdmin(database: database).migrate()
        let a = store("a", cap: aCap)
        let b = store("b")
        _ = await b.perform(.observe(role: .standby, note: "t"))
        _ = await a.perform(.observe(role: .standby, note: "t"))
        // The takeover answers with what it wrote, so the failsafe is in use before the first renew.
        let wrote = FailsafeRow(
            members: ["a"],
            maxDuration: .seconds(60),
            desired: ["a"],
            addresses: ["a": "http://a.example:8008"]
        )
        #expect(await b.perform(.takeOver(seenEpoch: 0, seenCounter: 0)) == .tookOver(newEpoch: 1, failsafe: wrote))
        return (a, b)
    }

    @Test(
        "takeover writes members (every registered node but the taker) and the cap and answers with them and the addresses; renews return them with the wanted members and addresses; a standby's read sees them"
    )
    func takeoverAndRenew() async throws {
        let (a, b) = try await bHolds()
        let renewed = try #require(row(await b.perform(.renew(epoch: 1))))
        #expect(renewed.row?.members == ["a"])
        #expect(renewed.row?.maxDuration == .seconds(60))
        #expect(renewed.row?.desired == ["a"])
        #expect(renewed.row?.addresses == ["a": "http://a.example:8008"])
        guard case .observed(let view) = await a.perform(.observe(role: .standby, note: "t")) else {
            Issue.record("the read failed")
            return
        }
        #expect(view.members == ["a"])
        #expect(view.failsafeMax == .seconds(60))
    }

    @Test(
        "the membership change is counter-checked: a stale counter matches no row (a late commit changes nothing); the right one sets members and counts as a renew"
    )
    func membershipChange() async throws {
        let (a, b) = try await bHolds()
        let first = try #require(row(await b.perform(.renew(epoch: 1))))
        #expect(first.counter == 1)
        let stale = await b.perform(
            .changeMembers(epoch: 1, counter: 0, members: ["a", "c"], maxDuration: .seconds(30), report: NodeReport())
        )
        #expect(stale == .renew(.notApplied))
        let applied = try #require(
            row(
                await b.perform(
                    .changeMembers(
                        epoch: 1,
                        counter: 1,
                        members: ["a", "c"],
                        maxDuration: .seconds(30),
                        report: NodeReport()
                    )
                )
            )
        )
        #expect(applied.counter == 2)
        #expect(applied.row?.members == ["a", "c"])
        #expect(applied.row?.maxDuration == .seconds(30))
        // The same change again, as if it had been delayed and committed late: the counter moved on.
        let late = await b.perform(
            .changeMembers(epoch: 1, counter: 1, members: [], maxDuration: .seconds(30), report: NodeReport())
        )
        #expect(late == .renew(.notApplied))
        // A node that stopped is not wanted any more; a change to NULL stops the failsafe's use.
        _ = await a.perform(.observe(role: .stopped, note: "stopped"))
        let wanted = try #require(row(await b.perform(.renew(epoch: 1))))
        #expect(wanted.row?.desired == [])
        let cleared = try #require(
            row(
                await b.perform(
                    .changeMembers(epoch: 1, counter: 3, members: nil, maxDuration: nil, report: NodeReport())
                )
            )
        )
        #expect(cleared.row?.members == nil)
        #expect(cleared.row?.maxDuration == nil)
    }

    @Test("a hand-off lists every registered node but the target; a takeover with the failsafe off writes NULL")
    func handOffAndOff() async throws {
        let (a, b) = try await bHolds(aCap: nil)
        _ = await b.perform(.renew(epoch: 1))
        #expect(await b.perform(.handOff(to: "a", epoch: 1, counter: 1)) == .handedOff(true))
        let handed = try #require(row(await a.perform(.renew(epoch: 2))))
        #expect(handed.row?.members == ["b"])
        #expect(await a.perform(.release(epoch: 2, counter: handed.counter)) == .released(true))
        #expect(
            await a.perform(.takeOver(seenEpoch: 3, seenCounter: 0))
                == .tookOver(
                    newEpoch: 4,
                    failsafe: FailsafeRow(members: nil, maxDuration: nil, addresses: ["b": "http://b.example:8008"])
                )
        )
        let off = try #require(row(await a.perform(.renew(epoch: 4))))
        #expect(off.row?.members == nil)
        #expect(off.row?.maxDuration == nil)
    }
}
