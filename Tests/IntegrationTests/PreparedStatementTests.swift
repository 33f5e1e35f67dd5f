import FailoverController
import Foundation
import Logging
import TestSupport
import Testing

@testable import Heartbeat

/// Issue 16: the heartbeat's statements are prepared once per connection (planned once), and a server that refuses a
/// prepared statement (a transaction-mode pooler) makes the connection send them unnamed, with the same answers.
@Suite(
    "Prepared heartbeat statements (issue 16)",
    .enabled(if: TestEnvironment.conninfo != nil, "needs HOTSTANDBY_TEST_PG_CONNINFO: run the tests with scripts/test")
)
struct PreparedStatementTests {
    let database = DatabaseSettings(conninfo: TestEnvironment.conninfo ?? "", callTimeout: .seconds(5))

    /// A cluster row with a holder, and SQL.observeRead's parameters for a standby "b" of it.
    func cluster() async throws -> [String?] {
        _ = try await ClusterAdmin(database: database).migrate()
        let cluster = "prep-" + UUID().uuidString.prefix(8).lowercased()
        let store = PostgresLeaseStore(
            database: database,
            identity: .init(cluster: cluster, node: "a"),
            timeout: .seconds(10),
            logger: Logger(label: "test"),
            interval: .seconds(1)
        )
        _ = await store.perform(.observe(role: .standby, note: "t"))
        guard case .tookOver(newEpoch: 1, _) = await store.perform(.takeOver(seenEpoch: 0, seenCounter: 0)) else {
            throw PGError(code: .queryFailed, message: "the test's takeover of \(cluster) did not win epoch 1")
        }
        return [cluster, "b", "100", "10 seconds"]
    }

    func connect(_ conninfo: String? = nil) async throws -> PGConnection {
        try await PGConnection.connect(
            conninfo: conninfo ?? database.conninfo,
            timeout: .seconds(5),
            applicationName: "hotstandby-test"
        )
    }

    /// This session's prepared statements: name → (executions planned generic, planned custom).
    func preparedHere(_ conn: PGConnection) async throws -> [String: (generic: Int, custom: Int)] {
        let rows = try await conn.query(
            "SELECT name, generic_plans, custom_plans FROM pg_prepared_statements",
            timeout: .seconds(5)
        )
        var found: [String: (Int, Int)] = [:]
        for index in rows.rows.indices {
            found[rows.value(index, "name") ?? ""] = (
                Int(rows.value(index, "generic_plans") ?? "") ?? -1, Int(rows.value(index, "custom_plans") ?? "") ?? -1
            )
        }
        return found
    }

    @Test(
        "the standby's read runs prepared: one statement per connection, planned generically after the first few, the same rows as unnamed"
    )
    func preparedOnce() async throws {
        let parameters = try await cluster()
        let conn = try await connect()
        let unnamed = try await conn.query(SQL.observeRead, parameters, timeout: .seconds(5))
        #expect(unnamed.rows.count == 1)
        #expect(try await preparedHere(conn).isEmpty, "an unnamed statement prepares nothing")
        for _ in 0..<10 {
            let rows = try await conn.query(prepared: SQL.observeRead, parameters, timeout: .seconds(5))
            #expect(rows.rows == unnamed.rows)
        }
        let prepared = try await preparedHere(conn)
        let name = PGConnection.statementName(SQL.observeRead)
        #expect(Array(prepared.keys) == [name], "one statement, prepared once: \(prepared.keys)")
        let plans = try #require(prepared[name])
        print("SQL.observeRead prepared as \(name): \(plans.generic) generic plans, \(plans.custom) custom plans")
        #expect(plans.generic + plans.custom == 10)
        #expect(plans.generic >= 1, "the server should settle on a generic plan (planned once) within 10 executions")
        #expect(conn.preparesStatements)
        #expect(conn.takeUnpreparedNotice() == nil)
    }

    @Test("statement names are digests of the text: equal texts share a name, different texts do not")
    func names() {
        #expect(PGConnection.statementName(SQL.renew) == PGConnection.statementName(String(SQL.renew)))
        let all = [SQL.renew, SQL.observe, SQL.observeRead, SQL.changeMembers].map(PGConnection.statementName)
        #expect(Set(all).count == 4)
        #expect(all.allSatisfy { $0.hasPrefix("hotstandby_") && $0.count == 27 })
    }

    @Test(
        "a statement the server no longer knows (SQLSTATE 26000) is sent again unnamed, and the connection stops preparing"
    )
    func forgottenStatement() async throws {
        let parameters = try await cluster()
        let conn = try await connect()
        let first = try await conn.query(prepared: SQL.observeRead, parameters, timeout: .seconds(5))
        let name = PGConnection.statementName(SQL.observeRead)
        // What a transaction-mode pooler does when it hands the next statement to another server connection.
        _ = try await conn.query("DEALLOCATE \(name)", timeout: .seconds(5))
        let again = try await conn.query(prepared: SQL.observeRead, parameters, timeout: .seconds(5))
        #expect(again.rows == first.rows)
        #expect(!conn.isBroken)
        #expect(!conn.preparesStatements)
        let notice = try #require(conn.takeUnpreparedNotice())
        #expect(notice.contains("26000") && notice.contains(name), "\(notice)")
        #expect(conn.takeUnpreparedNotice() == nil, "the notice is handed out once")
        _ = try await conn.query(prepared: SQL.observeRead, parameters, timeout: .seconds(5))
        #expect(try await preparedHere(conn).isEmpty, "nothing is prepared again on this connection")
    }

    @Test("a name some other session prepared (SQLSTATE 42P05) is never executed: the statement goes unnamed")
    func foreignName() async throws {
        let parameters = try await cluster()
        let conn = try await connect()
        let name = PGConnection.statementName(SQL.observeRead)
        // Under our name, a statement with the same parameters that answers something else entirely.
        _ = try await conn.query(
            "PREPARE \(name)(text, text, integer, interval) AS SELECT 'not the lease' AS epoch",
            timeout: .seconds(5)
        )
        let rows = try await conn.query(prepared: SQL.observeRead, parameters, timeout: .seconds(5))
        #expect(rows.value(0, "epoch") == "1", "the answer of SQL.observeRead, not of the foreign statement")
        #expect(!conn.preparesStatements)
        #expect(conn.takeUnpreparedNotice()?.contains("42P05") == true)
    }

    @Test(
        "through pgbouncer (transaction mode, one server connection): the second client's prepare is refused, it goes unnamed, the store logs why once",
        .enabled(
            if: FileManager.default.isExecutableFile(atPath: "/usr/sbin/pgbouncer"),
            "needs Debian's pgbouncer (apt-get install pgbouncer)"
        )
    )
    func throughThePooler() async throws {
        let parameters = try await cluster()
        let folder = try TestEnvironment.workDirectory("pgbouncer-prepared")
        let started = try await runProgram(
            TestEnvironment.repository + "/scripts/pgbouncer",
            ["start", folder],
            environment: ["HOTSTANDBY_TEST_PG_CONNINFO": TestEnvironment.conninfo ?? "", "POOL_SIZE": "1"]
        )
        defer { _ = try? runProgramSync(TestEnvironment.repository + "/scripts/pgbouncer", ["stop", folder]) }
        try #require(started.status == 0, "scripts/pgbouncer start failed: \(started.output)")
        let line = try #require(started.output.split(separator: "\n").first { $0.contains("POOLER_CONNINFO") })
        let pooled = String(line.split(separator: "'")[1])

        let first = try await connect(pooled)
        let rows = try await first.query(prepared: SQL.observeRead, parameters, timeout: .seconds(5))
        #expect(rows.value(0, "epoch") == "1")
        #expect(first.preparesStatements, "the first client prepared it on the one server connection")

        // A lease store through the same pooler: its statements land on the same server connection, where the first
        // client's SQL.observeRead already exists under the same name.
        let capture = CapturingLogHandler()
        let store = PostgresLeaseStore(
            database: DatabaseSettings(conninfo: pooled, callTimeout: .seconds(5)),
            identity: .init(cluster: parameters[0] ?? "", node: "b"),
            timeout: .seconds(10),
            logger: Logger(label: "test") { _ in capture },
            interval: .seconds(1)
        )
        for _ in 0..<4 {
            let result = await store.perform(.observe(role: .standby, note: "t", writeRow: false))
            guard case .observed(let view) = result else {
                Issue.record("the read through the pooler failed: \(result)")
                return
            }
            #expect(view.epoch == 1 && view.activeNode == "a")
        }
        let notices = capture.all.filter { $0.level == .notice && $0.text.contains("refused a prepared statement") }
        #expect(notices.count == 1, "one notice, naming the SQLSTATE: \(capture.texts)")
        #expect(notices.first?.text.contains("42P05") == true)
    }
}
