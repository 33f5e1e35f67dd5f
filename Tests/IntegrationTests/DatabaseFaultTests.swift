import Foundation
import TestSupport
import Testing

extension IntegrationSuite {
    @Suite("Database faults and bad input")
    struct DatabaseFaultTests {
        @Test(
            "PostgreSQL stopped: the active demotes by renewDeadline + 1 interval, the standby never takes over; restarted: one active"
        )
        func databaseDown() async throws {
            let database = try OwnPostgres()
            let cluster = try TestCluster(name: "dbdown", conninfo: database.conninfo)
            let renewDeadline = cluster.timeout - cluster.interval * 3
            try await withSampling(cluster) {
                try await startPair(cluster)
                let stopped = ContinuousClock.now
                try await database.stop()
                let demoted = await cluster.waitUntil(.seconds(5)) { cluster.marker("a") == "standby" }
                let at = try #require(demoted, "a never demoted:\n\(cluster.logs())")
                print(
                    "database down → a demoted after \(stopped.duration(to: at).ms) ms (renewDeadline \(renewDeadline.ms) ms)"
                )
                // Counted from the last successful renew's start, which is before the stop; slack for the hook's start-up.
                #expect(stopped.duration(to: at) <= renewDeadline + cluster.interval + .milliseconds(300))
                try await Task.sleep(for: cluster.timeout * 2)
                #expect(cluster.activeNodes().isEmpty, "nobody may serve without the database")
                try await database.restart()
                let one = await cluster.waitUntil(cluster.timeout * 3) { cluster.activeNodes().count == 1 }
                try #require(one != nil, "no active after the database returned:\n\(cluster.logs())")
                // a's demotion events could not be written while the database was down: they went to the local
                // spool, whose drain (woken by the spooling, issue 16: it no longer reads the empty spool every 5 s)
                // writes them once the database is back.
                let log = { ["a", "b"].compactMap { cluster.node($0)?.log }.joined(separator: "\n") }
                #expect(log().contains("event kept in the local spool"), "\(cluster.logs())")
                let drained = await cluster.waitUntil(.seconds(15)) {
                    log().contains("spooled events written to the database")
                }
                #expect(drained != nil, "the spooled events were not written:\n\(cluster.logs())")
                try await Task.sleep(for: cluster.timeout)
                #expect(cluster.activeNodes().count == 1)
            }
            #expect(cluster.stats.doubleSamples == 0)
        }

        @Test("a standby that cannot read the database never takes over")
        func standbyCutOff() async throws {
            let database = try OwnPostgres()
            let cluster = try TestCluster(name: "cutoff", conninfo: database.conninfo)
            try await withSampling(cluster) {
                try await startPair(cluster)
                // Kill the active and the database together: the standby sees the counter stop but can
                // never confirm it with a compare-and-set.
                cluster.node("a")!.signal(SIGKILL)
                try await database.stop()
                try await Task.sleep(for: cluster.timeout * 2)
                #expect(cluster.marker("b") != "active")
            }
        }

        @Test(
            "a configuration missing a key names it",
            arguments: ["cluster", "node", "database"]
        )
        func missingKey(key: String) async throws {
            let cluster = try TestCluster(name: "badcfg")
            let path = try cluster.config(for: "x")
            let text = try String(contentsOfFile: path, encoding: .utf8)
            var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            if key == "database" {
                lines.removeAll { $0.hasPrefix("database:") || $0.contains("conninfo:") }
            } else {
                lines.removeAll { $0.hasPrefix(key + ":") }
            }
            try lines.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
            let result = try await cluster.runHotstandby(["check-config", "--config", path])
            #expect(result.status != 0)
            let expected = key == "database" ? "database.conninfo: missing" : "\(key): missing"
            #expect(result.output.contains(expected), "\(result.output)")
            #expect(!result.output.contains("Fatal error"))
        }

        @Test(
            "a wrong value names the key and the value",
            arguments: [
                ("heartbeat:\n  interval: 5\n", "heartbeat.interval: '5' is not a duration"),
                // Crashed check-config (Double to Int64 overflow) before; found in the review.
                (
                    "heartbeat:\n  interval: 99999999999999999999999s\n",
                    "heartbeat.interval: '99999999999999999999999s' is not a duration"
                ),
                // renewDeadline not written: the message names the keys that were (it said
                // `heartbeat.renewDeadline: -11s must be longer than heartbeat.interval (5s)`).
                (
                    "heartbeat:\n  interval: 5s\n  timeout: 4s\n",
                    "heartbeat.timeout: 4s is too short for heartbeat.interval 5s"
                ),
                ("heartbeat:\n  interval: 5s\n  timeout: 4s\n", "use a heartbeat.timeout of at least 20.001s"),
                ("heartbeat:\n  interval: 5s\n  timeout: 20s\n", "heartbeat.timeout: 20s is too short"),
                // renewDeadline written: the refusal names it, as before.
                (
                    "heartbeat:\n  interval: 5s\n  timeout: 30s\n  renewDeadline: 4s\n",
                    "heartbeat.renewDeadline: 4s must be longer than heartbeat.interval (5s)"
                ),
                ("heartbeat:\n  timeout: 2s\n  renewDeadline: 2s\n", "must be shorter than heartbeat.timeout"),
                ("heartbeat:\n  intervall: 5s\n", "heartbeat.intervall: unknown key"),
                ("priority: high\n", "priority: 'high' is not a whole number"),
                ("hooks:\n  promote: /bin/true\n", "hooks.promote: expected a list"),
                ("hooks:\n  promote: [true]\n", "hooks.promote: 'true' must be an absolute path"),
                ("cluster: [a, b]\n", "cluster: expected a single value"),
                ("hooks:\n  timeout: 0s\n", "hooks.timeout: 0s leaves a hook no time to run"),
                // Issue 13 item 2: the demote hook's time counts in the margin (accepted before).
                (
                    "heartbeat:\n  interval: 500ms\n  timeout: 3s\nhooks:\n  demote: [\"/bin/true\"]\n  demoteTimeout: 2s\n",
                    "hooks.demoteTimeout: 2s for hooks.demote does not fit"
                ),
                (
                    "hooks:\n  demote: [\"/bin/true\"]\n  timeout: 20s\n",
                    "hooks.timeout: 20s for hooks.demote does not fit"
                ),
                ("node: 'a: [\n", "not valid YAML"),
            ]
        )
        func wrongValue(snippet: String, message: String) async throws {
            let cluster = try TestCluster(name: "badval")
            let path = cluster.directory + "/bad.yaml"
            var document = "cluster: x\nnode: y\ndatabase:\n  conninfo: \"host=127.0.0.1\"\n"
            // A later duplicate top-level key replaces the earlier one: drop the base key the snippet sets.
            for key in ["cluster", "node", "heartbeat", "priority", "hooks"] where snippet.hasPrefix(key + ":") {
                document =
                    document.split(separator: "\n").filter { !$0.hasPrefix(key + ":") }.joined(separator: "\n") + "\n"
            }
            try (document + snippet).write(toFile: path, atomically: true, encoding: .utf8)
            let result = try await cluster.runHotstandby(["check-config", "--config", path])
            #expect(result.status != 0)
            #expect(result.output.contains(message), "\(result.output)")
        }

        @Test("an unreachable database gives one clear line")
        func unreachable() async throws {
            let cluster = try TestCluster(name: "unreach")
            let path = cluster.directory + "/unreach.yaml"
            try "cluster: x\nnode: y\ndatabase:\n  conninfo: \"host=127.0.0.1 port=1 dbname=x user=x\"\n"
                .write(toFile: path, atomically: true, encoding: .utf8)
            let result = try await cluster.runHotstandby(["status", "--config", path])
            #expect(result.status != 0)
            let lines = result.output.split(separator: "\n")
            #expect(lines.count == 1, "\(result.output)")
            #expect(result.output.contains("connection failed"))
        }

        @Test("a wrong password gives one clear line that does not contain the password")
        func wrongPassword() async throws {
            let conninfo = try #require(TestEnvironment.conninfo)
            let wrong = conninfo.replacingOccurrences(
                of: #"password=\S+"#,
                with: "password=Secret-Wrong-42",
                options: .regularExpression
            )
            let cluster = try TestCluster(name: "badpw")
            let path = cluster.directory + "/badpw.yaml"
            // Its own state folder: a note about an old /var/lib/hotstandby layout on this host would be a second line.
            try
                "cluster: x\nnode: y\nstateDirectory: \"\(cluster.directory)/state\"\ndatabase:\n  conninfo: \"\(wrong)\"\n"
                .write(toFile: path, atomically: true, encoding: .utf8)
            for command in ["status", "run"] {
                let result = try await cluster.runHotstandby([command, "--config", path])
                #expect(result.status != 0)
                #expect(result.output.contains("password authentication failed"), "\(result.output)")
                #expect(!result.output.contains("Secret-Wrong-42"))
                #expect(result.output.split(separator: "\n").count == 1, "\(result.output)")
            }
        }

        @Test("a schema newer than the binary is refused with one clear line, by run and by init-db")
        func newerSchema() async throws {
            let database = try OwnPostgres()
            let cluster = try TestCluster(name: "newer", conninfo: database.conninfo)
            let psql = "/usr/lib/postgresql/15/bin/psql"
            let insert = try await runProgram(
                psql,
                [
                    database.conninfo, "-c",
                    "INSERT INTO hotstandby_schema (version, description) VALUES (999, 'future')",
                ]
            )
            #expect(insert.status == 0, "\(insert.output)")
            for command in ["run", "init-db"] {
                let result = try await cluster.runHotstandby([command, "--config", cluster.directory + "/init.yaml"])
                #expect(result.status != 0)
                #expect(result.output.contains("schema is version 999, newer than this binary"), "\(result.output)")
                #expect(result.output.split(separator: "\n").count == 1, "\(result.output)")
            }
        }
    }
}
