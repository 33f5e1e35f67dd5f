import Foundation
import TestSupport
import Testing

extension IntegrationSuite {
    /// Issue 16: the nodes reach PostgreSQL through Debian's pgbouncer in transaction mode (`database.listen:
    /// false`, as docs/performance.md says a pooler needs), started by scripts/pgbouncer in front of the test server.
    @Suite(
        "Through pgbouncer (transaction mode)",
        .enabled(
            if: FileManager.default.isExecutableFile(atPath: "/usr/sbin/pgbouncer"),
            "needs Debian's pgbouncer (apt-get install pgbouncer)"
        )
    )
    struct PoolerTests {
        @Test(
            "kill -9 of the active through the pooler: the standby takes over within timeout + 2 s, never two actives"
        )
        func takeoverThroughThePooler() async throws {
            let folder = try TestEnvironment.workDirectory("pgbouncer")
            let started = try await runProgram(
                TestEnvironment.repository + "/scripts/pgbouncer",
                ["start", folder],
                environment: ["HOTSTANDBY_TEST_PG_CONNINFO": TestEnvironment.conninfo ?? ""]
            )
            defer { _ = try? runProgramSync(TestEnvironment.repository + "/scripts/pgbouncer", ["stop", folder]) }
            try #require(started.status == 0, "scripts/pgbouncer start failed: \(started.output)")
            let line = try #require(started.output.split(separator: "\n").first { $0.contains("POOLER_CONNINFO") })
            let pooled = String(line.split(separator: "'")[1])
            let direct = (TestEnvironment.conninfo ?? "").split(separator: " ").first { $0.hasPrefix("port=") } ?? ""
            #expect(!pooled.contains(direct), "the nodes must not reach PostgreSQL directly")
            let cluster = try TestCluster(name: "pooler", conninfo: pooled)
            defer { cluster.stopAll() }
            for node in ["a", "b"] {
                let path = try cluster.config(for: node)
                let yaml = try String(contentsOfFile: path, encoding: .utf8)
                    .replacingOccurrences(
                        of: "  conninfo: \"\(pooled)\"",
                        with: "  conninfo: \"\(pooled)\"\n  listen: false"
                    )
                try #require(yaml.contains("listen: false"))
                try yaml.write(toFile: path, atomically: true, encoding: .utf8)
            }
            try await cluster.startActive("a")
            try await cluster.startStandby("b")
            let took = try await cluster.killAndAwaitTakeover(of: "a", by: "b")
            print("through pgbouncer: b active \(took) after the kill")
            #expect(took <= cluster.timeout + .seconds(2))
            let log = try String(contentsOfFile: folder + "/pgbouncer.log", encoding: .utf8)
            #expect(log.contains("hotstandby"), "the pooler's log shows no login of the nodes:\n\(log.suffix(1000))")
        }
    }
}
