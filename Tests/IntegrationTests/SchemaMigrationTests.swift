import Foundation
import Heartbeat
import TestSupport
import Testing

/// `init-db` on a fresh database, several at once (both hosts set up at the same time).
@Suite(
    "Schema migration",
    .enabled(if: TestEnvironment.conninfo != nil, "needs HOTSTANDBY_TEST_PG_CONNINFO: run the tests with scripts/test")
)
struct SchemaMigrationTests {
    @Test("four migrations at once into an empty schema: all succeed, each version applied exactly once")
    func concurrentFirstMigrations() async throws {
        // A schema of its own stands in for a fresh database (the test role cannot create databases).
        let schema = "mig_" + UUID().uuidString.prefix(8).lowercased()
        let conninfo = TestEnvironment.conninfo ?? ""
        let created = try await runProgram(
            "/usr/bin/psql",
            [conninfo, "-v", "ON_ERROR_STOP=1", "-c", "CREATE SCHEMA \(schema)"]
        )
        try #require(created.status == 0, "\(created.output)")
        let database = DatabaseSettings(
            conninfo: conninfo + " options='-c search_path=\(schema)'",
            callTimeout: .seconds(10)
        )
        let applied = try await withThrowingTaskGroup(of: [Int].self) { group in
            for _ in 0..<4 { group.addTask { try await ClusterAdmin(database: database).migrate() } }
            var all: [[Int]] = []
            for try await versions in group { all.append(versions) }
            return all
        }
        #expect(applied.flatMap { $0 }.sorted() == Schema.migrations.map(\.version))
        #expect(try await ClusterAdmin(database: database).schemaVersion() == Schema.currentVersion)
    }
}
