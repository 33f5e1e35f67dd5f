import FailoverController
import Foundation
import Logging
import TestSupport
import Testing

@testable import Heartbeat

/// Issue 16: the standby's read commits without waiting for the WAL flush; the renew (and every change of holder)
/// waits for it. Measured with the server's own WAL counters: a synchronous commit
/// writes the WAL itself (one write per statement), an asynchronous one leaves it to the WAL writer, which writes
/// many commits at once.
@Suite(
    "Asynchronous renews (issue 16)",
    .enabled(if: TestEnvironment.conninfo != nil, "needs HOTSTANDBY_TEST_PG_CONNINFO: run the tests with scripts/test")
)
struct AsynchronousCommitTests {
    let database = DatabaseSettings(conninfo: TestEnvironment.conninfo ?? "", callTimeout: .seconds(5))

    func walWrites() async throws -> Int {
        let result = try await runProgram(
            "/usr/bin/psql",
            [TestEnvironment.conninfo ?? "", "-At", "-c", "SELECT wal_write FROM pg_stat_wal"]
        )
        return Int(result.output.trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
    }

    /// Runs `statement` `count` times in one psql session (PREPARE, then EXECUTE with `parameters(i)`), and returns
    /// how many WAL writes the server counted meanwhile: psql's backend reports its counters when it exits.
    func walWrites(_ statement: String, count: Int, _ parameters: (Int) -> String) async throws -> Int {
        let before = try await walWrites()
        var script = "\\set ON_ERROR_STOP 1\nPREPARE s AS \(statement);\n"
        for i in 0..<count { script += "EXECUTE s(\(parameters(i)));\n" }
        let path = try TestEnvironment.workDirectory("async-commit") + "/script-\(UUID().uuidString.prefix(6)).sql"
        try script.write(toFile: path, atomically: true, encoding: .utf8)
        let ran = try await runProgram(
            "/usr/bin/psql",
            [TestEnvironment.conninfo ?? "", "-q", "-o", "/dev/null", "-f", path]
        )
        try #require(ran.status == 0, "\(ran.output)")
        try await Task.sleep(for: .milliseconds(500))
        return try await walWrites() - before
    }

    @Test(
        "200 standby reads (which write their row) cause far fewer WAL writes than 200 renews (each of which waits for its flush), the daemon's own statements run in psql"
    )
    func readsDoNotWaitForTheFlush() async throws {
        _ = try await ClusterAdmin(database: database).migrate()
        let cluster = "async-" + UUID().uuidString.prefix(8).lowercased()
        let store = PostgresLeaseStore(
            database: database,
            identity: .init(cluster: cluster, node: "a", failsafeMax: .seconds(60)),
            timeout: .seconds(10),
            logger: Logger(label: "test"),
            interval: .seconds(1)
        )
        _ = await store.perform(.observe(role: .standby, note: "t"))
        #expect(
            await store.perform(.takeOver(seenEpoch: 0, seenCounter: 0))
                == .tookOver(newEpoch: 1, failsafe: FailsafeRow(members: [], maxDuration: .seconds(60)))
        )
        // SQL.observe for a standby "b": $1 cluster, $2 node, $3 role, $4 note, $5 priority, $6 address, $7 version,
        // $8 rank window, $9 eligible, $10 health, $11 advertise.
        let reads = try await walWrites(SQL.observe, count: 200) { i in
            "'\(cluster)', 'b', 'standby', 'n\(i)', '100', '', '', '10 seconds', 'true', 'healthy', NULL"
        }
        let renews = try await walWrites(SQL.renew, count: 200) { _ in
            "'\(cluster)', '1', 'a', '100', '', '', 'true', 'healthy', '2.5 seconds', '', NULL, '10 seconds'"
        }
        let rows = try await runProgram(
            "/usr/bin/psql",
            [
                TestEnvironment.conninfo ?? "", "-At", "-c",
                "SELECT counter FROM hotstandby_cluster WHERE cluster = '\(cluster)'",
            ]
        )
        #expect(rows.output.trimmingCharacters(in: .whitespacesAndNewlines) == "200", "every renew matched its row")
        print("WAL writes: 200 standby reads \(reads), 200 synchronous renews \(renews)")
        #expect(renews >= 180, "each synchronous commit writes the WAL: \(renews)")
        #expect(reads * 4 < renews, "reads \(reads) vs synchronous renews \(renews)")
    }
}
