import Foundation
import TestSupport
import Testing

/// What an idle node costs (issue 16): the HTTP server's headers without Hummingbird's once-a-second `Date` timer,
/// and how often the process wakes up while nobody asks it anything.
@Suite(.serialized, .timeLimit(.minutes(2)))
struct IdleTests {
    /// A lone node at `interval` (timeout 12 ×), HTTP on `port`.
    func start(_ cluster: OpsCluster, port: Int, interval: Int) async throws -> Daemon {
        let yaml = """
            cluster: "\(cluster.name)"
            node: "a"
            logLevel: info
            stateDirectory: "\(cluster.directory)/a-state"
            database:
              conninfo: "\(OpsEnvironment.conninfo!)"
            heartbeat:
              interval: \(interval)s
              timeout: \(interval * 12)s
            http:
              listen: "127.0.0.1:\(port)"
            """
        let path = cluster.directory + "/a.yaml"
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        try await cluster.initDB(config: path)
        return try Daemon(name: "a", config: path, logPath: cluster.directory + "/a.log")
    }

    /// The response's header lines, through curl.
    func headers(_ url: String) async throws -> [String: String] {
        let result = try await runProgram("/usr/bin/curl", ["-s", "-S", "-m", "3", "-D", "-", "-o", "/dev/null", url])
        var fields: [String: String] = [:]
        for line in result.output.split(separator: "\r\n").dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return fields
    }

    /// Voluntary context switches by thread id, of `pid`'s threads alive now.
    func voluntarySwitches(_ pid: Int32) -> [String: Int] {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        var switches: [String: Int] = [:]
        for task in tasks {
            let status = (try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/status", encoding: .utf8)) ?? ""
            let line = status.split(separator: "\n").first { $0.hasPrefix("voluntary_ctxt_switches:") }
            switches[task] = line.flatMap { Int($0.split(separator: "\t").last ?? "") }
        }
        return switches
    }

    @Test(
        "every response carries Date (RFC 9110, the current second) and Server: hotstandby, a 404 too",
        .enabled(if: OpsEnvironment.daemons, OpsEnvironment.daemonsReason)
    )
    func dateAndServerHeaders() async throws {
        let cluster = try OpsCluster("date")
        let port = try freePort()
        let daemon = try await start(cluster, port: port, interval: 1)
        defer { daemon.stop() }
        let up = try await eventually(.seconds(10)) { try await get("http://127.0.0.1:\(port)/health").code == 200 }
        try #require(up, "never active: \(daemon.log)")
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        for path in ["/health", "/status", "/metrics", "/", "/nothing-here"] {
            // Twice, more than a second apart: the second answer is not the first second's cached text.
            for round in 0..<2 {
                if round == 1 { try await Task.sleep(for: .milliseconds(1100)) }
                let before = Date().timeIntervalSince1970.rounded(.down)
                let fields = try await headers("http://127.0.0.1:\(port)\(path)")
                let after = Date().timeIntervalSince1970
                #expect(fields["server"] == "hotstandby", "\(path): \(fields)")
                let text = try #require(fields["date"], "\(path): no Date header in \(fields)")
                let date = try #require(formatter.date(from: text), "\(path): Date '\(text)' is not an IMF-fixdate")
                #expect(formatter.string(from: date) == text, "\(path): '\(text)'")
                #expect(
                    date.timeIntervalSince1970 >= before && date.timeIntervalSince1970 <= after,
                    "\(path): Date '\(text)' is not the current second"
                )
            }
        }
    }

    /// Before issue 16 an idle node at 10 s woke ~7 times a second (context switches): twice a second for Hummingbird's
    /// `Date` timer, every 5 s for the empty event spool, plus the heartbeat's ~15 a round. Now what remains is the
    /// heartbeat and libdispatch's own once-a-second worker-pool monitor (docs/performance.md, "Idle CPU").
    @Test(
        "an idle active at interval 10s: its long-lived threads wake at most 3 times a second over 20 s with no request",
        .enabled(if: OpsEnvironment.daemons, OpsEnvironment.daemonsReason)
    )
    func idleWakeups() async throws {
        let cluster = try OpsCluster("idle")
        let port = try freePort()
        let daemon = try await start(cluster, port: port, interval: 10)
        defer { daemon.stop() }
        let up = try await eventually(.seconds(15)) { try await get("http://127.0.0.1:\(port)/health").code == 200 }
        try #require(up, "never active: \(daemon.log)")
        // The status reader reads while someone looked in the last 2 minutes: /health does not count as looking.
        try await Task.sleep(for: .seconds(2))
        let window = 20
        let first = voluntarySwitches(daemon.pid)
        try await Task.sleep(for: .seconds(window))
        // The threads alive for the whole window (the dispatch manager that runs every timer, the event loop, the
        // libpq and log threads): a worker that exits takes its count with it, so the others would only undercount.
        let switches = voluntarySwitches(daemon.pid).reduce(0) { sum, thread in
            sum + (first[thread.key].map { thread.value - $0 } ?? 0)
        }
        print("idle active at 10s: \(switches) voluntary context switches in \(window) s")
        #expect(switches <= 3 * window, "\(switches) voluntary context switches in \(window) s")
    }
}
