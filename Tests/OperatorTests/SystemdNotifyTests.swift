import Foundation
import TestSupport
import Testing

/// sd_notify: the daemon speaks to `$NOTIFY_SOCKET` itself, without libsystemd.
@Suite(.serialized, .timeLimit(.minutes(2)))
struct SystemdNotifyTests {
    @Test(.enabled(if: OpsEnvironment.daemons, OpsEnvironment.daemonsReason), arguments: [false, true])
    func readyStatusAndWatchdog(abstract: Bool) async throws {
        let cluster = try OpsCluster("notify")
        let socket = try NotifySocket(directory: cluster.directory, abstract: abstract)
        let port = try freePort()
        try await cluster.initDB(config: try cluster.config(node: "a", port: port))
        // WATCHDOG_USEC 600 ms: systemd expects a ping at least every 300 ms.
        let daemon = try cluster.start(
            "a",
            port: port,
            environment: ["NOTIFY_SOCKET": socket.address, "WATCHDOG_USEC": "600000"]
        )
        await socket.receive(for: .seconds(5))
        daemon.stop()
        let lines = socket.lines
        let texts = lines.map(\.text)
        #expect(texts.contains("READY=1"), "no READY=1; got \(texts.prefix(10)); log:\n\(daemon.log)")
        #expect(texts.contains { $0.hasPrefix("STATUS=active epoch ") }, "no STATUS=active epoch N in \(Set(texts))")
        let pings = lines.filter { $0.text == "WATCHDOG=1" }.map(\.at)
        #expect(pings.count >= 8, "only \(pings.count) WATCHDOG=1 in 5 s")
        // Never more often than WATCHDOG_USEC / 2 (allowing for scheduling jitter), never a gap past the deadline.
        let gaps = zip(pings, pings.dropFirst()).map { $0.duration(to: $1) }
        #expect(gaps.allSatisfy { $0 >= .milliseconds(250) }, "pings closer than WATCHDOG_USEC/2: \(gaps)")
        #expect(gaps.allSatisfy { $0 <= .milliseconds(600) }, "a gap longer than WATCHDOG_USEC: \(gaps)")
        if let ready = texts.firstIndex(of: "READY=1"),
            let active = texts.firstIndex(where: { $0.hasPrefix("STATUS=active") })
        {
            #expect(ready <= active)
        }
    }

    @Test(.enabled(if: OpsEnvironment.daemons, OpsEnvironment.daemonsReason))
    func noWatchdogWithoutWatchdogUsec() async throws {
        let cluster = try OpsCluster("notify-nowd")
        let socket = try NotifySocket(directory: cluster.directory, abstract: false)
        let port = try freePort()
        try await cluster.initDB(config: try cluster.config(node: "a", port: port))
        let daemon = try cluster.start("a", port: port, environment: ["NOTIFY_SOCKET": socket.address])
        await socket.receive(for: .seconds(2))
        daemon.stop()
        let texts = socket.lines.map(\.text)
        #expect(texts.contains("READY=1"), "no READY=1; log:\n\(daemon.log)")
        #expect(!texts.contains("WATCHDOG=1"))
    }
}
