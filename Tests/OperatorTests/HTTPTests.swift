import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The HTTP surface against real daemons and a real PostgreSQL.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct HTTPTests {
    /// Waits until exactly one of the two nodes answers 200 on /health; returns (active, standby).
    func settle(_ nodes: [(name: String, port: Int)]) async throws -> (active: (String, Int), standby: (String, Int)) {
        var found: (active: (String, Int), standby: (String, Int))?
        _ = try await eventually(.seconds(15)) {
            let codes = try await nodes.asyncMap { try await get("http://127.0.0.1:\($0.port)/health").code }
            if codes.sorted() == [200, 503] {
                let active = codes[0] == 200 ? 0 : 1
                found = (nodes[active], nodes[1 - active])
                return true
            }
            return false
        }
        guard let found else { throw HarnessError("no node became active with the other standing by") }
        return found
    }

    @Test(
        "\"active\" means \"serving\": a lone active whose health.check fails answers 503 on /health, says why in /status, and its metrics say so",
        .enabled(if: OpsEnvironment.daemons, OpsEnvironment.daemonsReason)
    )
    func healthFollowsTheService() async throws {
        let cluster = try OpsCluster("svc-health")
        let port = try freePort()
        let flag = cluster.directory + "/service-up"
        _ = FileManager.default.createFile(atPath: flag, contents: nil)
        let extra = """
            health:
              check: ["/usr/bin/test", "-e", "\(flag)"]
              interval: 200ms
              fall: 2
              rise: 2
            """
        try await cluster.initDB(config: try cluster.config(node: "a", port: port, extra: extra))
        let a = try cluster.start("a", port: port, extra: extra)
        defer { a.stop() }
        let serving = try await eventually(.seconds(10)) {
            try await get("http://127.0.0.1:\(port)/health").code == 200
        }
        #expect(serving, "never active: \(a.log)")
        let healthy = try await eventually(.seconds(3)) {
            try await get("http://127.0.0.1:\(port)/metrics").body.contains("hotstandby_health_check_seconds_count")
        }
        #expect(healthy)
        var metrics = try await get("http://127.0.0.1:\(port)/metrics").body
        #expect(
            metrics.contains("hotstandby_service_healthy{") && metrics.contains("hotstandby_node_eligible{"),
            "\(metrics.prefix(3000))"
        )
        try FileManager.default.removeItem(atPath: flag)
        let failed = try await eventually(.seconds(5)) { try await get("http://127.0.0.1:\(port)/health").code == 503 }
        #expect(failed, "/health stayed 200 with a failed service: \(a.log.suffix(2000))")
        let body = try await get("http://127.0.0.1:\(port)/health").body
        #expect(body.contains("service failed") && body.contains("no eligible standby"), "\(body)")
        let status = try await get("http://127.0.0.1:\(port)/status").body
        #expect(
            status.contains("\"eligible\" : false") && status.contains("failed: health.check failed 2 times"),
            "\(status)"
        )
        metrics = try await get("http://127.0.0.1:\(port)/metrics").body
        let line = metrics.split(separator: "\n").first { $0.hasPrefix("hotstandby_service_healthy{") } ?? ""
        #expect(line.hasSuffix(" 0") || line.hasSuffix(" 0.0"), "\(line)")
        // Back: rise passes, serving again, with no move.
        _ = FileManager.default.createFile(atPath: flag, contents: nil)
        let back = try await eventually(.seconds(5)) { try await get("http://127.0.0.1:\(port)/health").code == 200 }
        #expect(back)
    }

    @Test(.enabled(if: OpsEnvironment.daemons, OpsEnvironment.daemonsReason))
    func healthFlipsOnTakeover() async throws {
        let cluster = try OpsCluster("health")
        let ports = (try freePort(), try freePort())
        try await cluster.initDB(config: try cluster.config(node: "a", port: ports.0))
        let a = try cluster.start("a", port: ports.0)
        let b = try cluster.start("b", port: ports.1)
        let daemons = ["a": a, "b": b]
        let (active, standby) = try await settle([("a", ports.0), ("b", ports.1)])
        #expect(try await get("http://127.0.0.1:\(active.1)/health/active").code == 200)
        #expect(try await get("http://127.0.0.1:\(active.1)/health/standby").code == 503)
        #expect(try await get("http://127.0.0.1:\(standby.1)/health/standby").code == 200)
        let body = try await get("http://127.0.0.1:\(standby.1)/health").body
        #expect(body.hasPrefix("standby"), "body: \(body)")

        let killedAt = ContinuousClock.now
        daemons[active.0]!.stop(SIGKILL)
        let flipped = try await eventually(.seconds(10)) {
            try await get("http://127.0.0.1:\(standby.1)/health").code == 200
        }
        #expect(flipped, "the standby's /health never became 200; log:\n\(daemons[standby.0]!.log)")
        let took = killedAt.duration(to: .now)
        #expect(took >= .seconds(1), "took over in \(took), before the 2 s timeout could pass")

        // /status: this node's view and the cluster from the database.
        let status = try await get("http://127.0.0.1:\(standby.1)/status")
        #expect(status.code == 200)
        let json = try JSONSerialization.jsonObject(with: Data(status.body.utf8)) as? [String: Any]
        let node = json?["node"] as? [String: Any]
        #expect(node?["role"] as? String == "active")
        #expect(node?["node"] as? String == standby.0)
        _ = try await eventually(.seconds(3)) {
            let again = try await get("http://127.0.0.1:\(standby.1)/status").body
            return again.contains("\"activeNode\" : \"\(standby.0)\"")
        }
        let again = try await get("http://127.0.0.1:\(standby.1)/status").body
        #expect(again.contains("\"activeNode\" : \"\(standby.0)\""), "cluster part: \(again)")

        // No write endpoints without http.tokenFile.
        let post = try await http("POST", "http://127.0.0.1:\(standby.1)/pause")
        #expect(post.code == 404 || post.code == 405, "POST /pause answered \(post.code) without a token file")
        daemons[standby.0]!.stop()
    }

    @Test(.enabled(if: OpsEnvironment.daemons, OpsEnvironment.daemonsReason))
    func metricsParseAsPrometheusText() async throws {
        let cluster = try OpsCluster("metrics")
        let port = try freePort()
        try await cluster.initDB(config: try cluster.config(node: "a", port: port))
        let daemon = try cluster.start("a", port: port)
        #expect(try await eventually(.seconds(10)) { try await get("http://127.0.0.1:\(port)/health").code == 200 })
        let (code, text) = try await get("http://127.0.0.1:\(port)/metrics")
        #expect(code == 200)
        var samples: [String: Double] = [:]
        var typed: Set<String> = []
        let sample =
            /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*",?)*\})? (-?[0-9.eE+-]+|NaN|\+Inf|-Inf)$/
        for line in text.split(separator: "\n") {
            if line.hasPrefix("# TYPE ") {
                let parts = line.split(separator: " ")
                #expect(
                    parts.count == 4
                        && ["counter", "gauge", "histogram", "summary", "untyped"].contains(String(parts[3])),
                    "\(line)"
                )
                typed.insert(String(parts[2]))
            } else if line.hasPrefix("# HELP ") {
                continue
            } else {
                let match = try #require(try sample.wholeMatch(in: String(line)), "not Prometheus text: \(line)")
                samples[String(line.split(separator: " ")[0]), default: 0] = Double(String(match.output.5)) ?? .nan
            }
        }
        for name in [
            "hotstandby_role", "hotstandby_epoch", "hotstandby_takeovers_total",
            "hotstandby_last_lease_success_age_seconds",
        ] {
            #expect(typed.contains(name), "no # TYPE for \(name) in:\n\(text)")
        }
        #expect(samples["hotstandby_role{cluster=\"\(cluster.name)\",node=\"a\",role=\"active\"}"] == 1, "\(samples)")
        #expect(samples.first { $0.key.hasPrefix("hotstandby_takeovers_total") }?.value == 1)
        #expect((samples.first { $0.key.hasPrefix("hotstandby_epoch") }?.value ?? 0) >= 1)
        #expect(text.contains("# HELP hotstandby_epoch "))
        // Renew latency and promotion step durations, recorded through swift-metrics by the run loop.
        #expect(
            samples.keys.contains { $0.hasPrefix("hotstandby_lease_call_seconds") && $0.contains("call=\"takeover\"") },
            "\(samples.keys.sorted())"
        )
        #expect(samples.keys.contains { $0.hasPrefix("hotstandby_action_seconds") && $0.contains("phase=\"promote\"") })
        // Every metric has a # HELP line, including those recorded through swift-metrics.
        for name in typed {
            #expect(text.contains("# HELP \(name) "), "no # HELP for \(name)")
        }
        // Prometheus' own linter, when installed (CI installs the prometheus package): exit 0 and no findings.
        if let promtool = OpsEnvironment.tool("promtool") {
            let file = cluster.directory + "/metrics.txt"
            try text.write(toFile: file, atomically: true, encoding: .utf8)
            let lint = try await runProgram("/bin/sh", ["-c", "exec \"$0\" check metrics < \"$1\"", promtool, file])
            #expect(
                lint.status == 0 && lint.output.isEmpty,
                "promtool check metrics (exit \(lint.status)):\n\(lint.output)"
            )
        } else {
            print("promtool not installed (apt-get install prometheus): promtool check metrics skipped")
        }
        daemon.stop()
    }

    @Test(.enabled(if: OpsEnvironment.daemons, OpsEnvironment.daemonsReason))
    func writeEndpointsNeedTheToken() async throws {
        let cluster = try OpsCluster("token")
        let tokenPath = cluster.directory + "/token"
        let token = "t0ken-" + UUID().uuidString
        try token.write(toFile: tokenPath, atomically: true, encoding: .utf8)
        chmod(tokenPath, 0o644)
        let port = try freePort()
        let extra = "  tokenFile: \"\(tokenPath)\""
        let config = try cluster.config(node: "a", port: port, extra: extra)
        // A token file others can read is refused, naming the key.
        let check = try await runProgram(OpsEnvironment.binary!, ["check-config", "--config", config])
        #expect(
            check.status != 0 && check.output.contains("http.tokenFile") && check.output.contains("chmod 0600"),
            "\(check.output)"
        )
        chmod(tokenPath, 0o600)
        try await cluster.initDB(config: config)
        let daemon = try cluster.start("a", port: port, extra: extra)
        #expect(try await eventually(.seconds(10)) { try await get("http://127.0.0.1:\(port)/health").code == 200 })
        #expect(try await http("POST", "http://127.0.0.1:\(port)/pause").code == 401)
        #expect(
            try await http("POST", "http://127.0.0.1:\(port)/pause", headers: ["Authorization: Bearer wrong"]).code
                == 401
        )
        let paused = try await http(
            "POST",
            "http://127.0.0.1:\(port)/pause",
            headers: ["Authorization: Bearer \(token)"]
        )
        #expect(paused.code == 200, "\(paused.body)")
        let status = try await runProgram(OpsEnvironment.binary!, ["status", "--json", "--config", config])
        #expect(status.output.contains("\"paused\" : true"), "\(status.output)")
        let resumed = try await http(
            "POST",
            "http://127.0.0.1:\(port)/resume",
            headers: ["Authorization: Bearer \(token)"]
        )
        #expect(resumed.code == 200)
        let refused = try await http(
            "POST",
            "http://127.0.0.1:\(port)/switchover?to=nobody",
            headers: ["Authorization: Bearer \(token)"]
        )
        #expect(refused.code == 409, "\(refused)")
        daemon.stop()
    }

    @Test(
        "a taken http.listen: run exits non-zero at once with one line naming the key, the value and the fix",
        .enabled(if: OpsEnvironment.daemons, OpsEnvironment.daemonsReason)
    )
    func takenListenAddressIsRefused() async throws {
        let cluster = try OpsCluster("bind")
        let holder = try Listener()
        let config = try cluster.config(node: "a", port: holder.port)
        try await cluster.initDB(config: config)
        let daemon = try cluster.start("a", port: holder.port)
        let status = await daemon.waitForExit(within: .seconds(10))
        if status == nil { daemon.stop(SIGKILL) }
        try #require(status != nil, "the daemon ran on with its http.listen taken:\n\(daemon.log)")
        #expect(status != 0)
        let log = daemon.log
        #expect(
            log.contains(
                "http.listen 127.0.0.1:\(holder.port): address already in use — another hotstandby on this host? set http.listen"
            ),
            "\(log)"
        )
        #expect(!log.contains("bind(descriptor:"), "\(log)")
        // Refused before the loop starts: the node never took the lease.
        let lease = try await runProgram(OpsEnvironment.binary!, ["status", "--json", "--config", config])
        #expect(!lease.output.contains("\"activeNode\" : \"a\""), "\(lease.output)")
    }

    /// `/liveness` answers 200 while the run loop turns, whatever the role. Its 503 (no status update
    /// within max(2 × interval, 1 s)) cannot be seen from outside: a stopped process answers nothing;
    /// the decision is `HTTPServer.isLive`, a pure function.
    @Test(
        "GET /liveness: 200 on the active and on the standby",
        .enabled(if: OpsEnvironment.daemons, OpsEnvironment.daemonsReason)
    )
    func livenessOnBothRoles() async throws {
        let cluster = try OpsCluster("liveness")
        let ports = (try freePort(), try freePort())
        try await cluster.initDB(config: try cluster.config(node: "a", port: ports.0))
        let a = try cluster.start("a", port: ports.0)
        let b = try cluster.start("b", port: ports.1)
        let (active, standby) = try await settle([("a", ports.0), ("b", ports.1)])
        for (role, port) in [("active", active.1), ("standby", standby.1)] {
            // Several reads over more than two intervals: the loop keeps turning on both.
            for _ in 0..<4 {
                let answer = try await get("http://127.0.0.1:\(port)/liveness")
                #expect(answer.code == 200, "\(role): \(answer)")
                #expect(answer.body.hasPrefix("live"), "\(role): \(answer.body)")
                try await Task.sleep(for: .milliseconds(150))
            }
        }
        a.stop()
        b.stop()
    }
}

extension Array {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var result: [T] = []
        for element in self { result.append(try await transform(element)) }
        return result
    }
}
