import Foundation
import Synchronization
import TestSupport
import Testing

extension IntegrationSuite {
    /// Issue 16: a node keeps two connections (the heartbeat's and the listener's); everything else (events, the
    /// alert outbox, the status reader, the HTTP write routes) shares a third, opened on demand and closed after
    /// 10 s without use. Counted with `pg_stat_activity` (each node's `application_name` is `hotstandby NODE`).
    @Suite("Connections per node (pg_stat_activity)")
    struct ConnectionCountTests {
        static func count(_ node: String) async -> Int? {
            guard
                let result = try? await runProgram(
                    "/usr/bin/psql",
                    [
                        TestEnvironment.conninfo ?? "", "-At", "-c",
                        "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'hotstandby \(node)'",
                    ]
                ),
                result.status == 0
            else { return nil }
            return Int(result.output.trimmingCharacters(in: .whitespacesAndNewlines))
        }

        @Test(
            "an active, a standby and a node whose /status is read: never more than 3 connections each; 2 once nobody looks for 10 s"
        )
        func twoConnectionsAtRest() async throws {
            let cluster = try TestCluster(name: "conns")
            defer { cluster.stopAll() }
            try await cluster.startActive("ca")
            try await cluster.startStandby("cb")
            // A third node with its HTTP endpoints on: its status reader uses the shared connection while read.
            let port = try freePort()
            let path = try cluster.config(for: "cc", priority: 50)
            let yaml = try String(contentsOfFile: path, encoding: .utf8)
                .replacingOccurrences(of: "http:\n  enabled: false", with: "http:\n  listen: 127.0.0.1:\(port)")
            try yaml.write(toFile: path, atomically: true, encoding: .utf8)
            try cluster.start("cc")
            let most = Mutex(["ca": 0, "cb": 0, "cc": 0])
            func sample() async {
                for node in ["ca", "cb", "cc"] {
                    if let n = await Self.count(node) { most.withLock { $0[node] = max($0[node] ?? 0, n) } }
                }
            }
            // Read cc's /status every 200 ms for 3 s: its reader needs the shared connection.
            for _ in 0..<15 {
                _ = try? await runProgram(
                    "/usr/bin/curl",
                    ["-s", "-o", "/dev/null", "http://127.0.0.1:\(port)/status"]
                )
                await sample()
                try await Task.sleep(for: .milliseconds(200))
            }
            let whileRead = await Self.count("cc")
            #expect(whileRead == 3, "cc while its status is read: \(String(describing: whileRead))")
            // Nobody looks: the shared connections close after 10 s without use (checked every 5 s).
            let quiet = await cluster.waitUntil(.seconds(30)) {
                await sample()
                let counts = [await Self.count("ca"), await Self.count("cb")]
                return counts == [2, 2]
            }
            let atEnd = [await Self.count("ca"), await Self.count("cb")]
            #expect(quiet != nil, "ca, cb: \(atEnd)\n\(cluster.logs())")
            for (node, n) in most.withLock({ $0 }) {
                #expect(n <= 3, "\(node) had \(n) connections at once")
            }
            #expect(cluster.activeNodes() == ["ca"])
        }
    }
}
