import Foundation
import TestSupport
import Testing

/// The BIND server that `scripts/test` starts (`scripts/bind`).
enum TestDNS {
    static let environment = ProcessInfo.processInfo.environment
    static let server = environment["HOTSTANDBY_TEST_DNS_SERVER"]
    static let port = environment["HOTSTANDBY_TEST_DNS_PORT"]
    static let zone = environment["HOTSTANDBY_TEST_DNS_ZONE"]
    static let keyFile = environment["HOTSTANDBY_TEST_DNS_KEYFILE"]
    static let directory = environment["HOTSTANDBY_TEST_DNS_DIR"]
    static let script = environment["HOTSTANDBY_TEST_DNS_SCRIPT"]
    static var available: Bool { server != nil && port != nil && zone != nil && keyFile != nil }
    static var restartable: Bool { available && directory != nil && script != nil }

    /// A `dns:` section pointing `name` at `address` (addresses from the documentation range: DNS data only).
    static func config(name: String, address: String) -> String {
        """
        dns:
          server: "\(server ?? "")"
          port: \(port ?? "53")
          zone: "\(zone ?? "")"
          name: "\(name)"
          ttl: 5
          address: "\(address)"
          timeout: 3s
          verifyInterval: 2s
          tsig:
            keyFile: "\(keyFile ?? "")"
        """
    }

    /// What the authoritative server answers for `name` (A records), via dig.
    static func answer(_ name: String) async -> String {
        let result = try? await runProgram(
            "/usr/bin/dig",
            ["@\(server ?? "")", "-p", port ?? "53", "+short", "+time=2", "+tries=1", "\(name).\(zone ?? "")", "A"]
        )
        return result?.output.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
    }
}

extension IntegrationSuite {
    @Suite("DNS takeover and alert hand-over with real daemons")
    struct DNSAndAlertDaemonTests {
        @Test(
            "kill -9 of the active: the standby's promotion moves the name to its address; dig sees it",
            .enabled(if: TestDNS.available, "needs the BIND server of scripts/test")
        )
        func dnsTakeover() async throws {
            let cluster = try TestCluster(name: "dns")
            let name = "\(cluster.cluster.lowercased()).t"
            try await cluster.startActive("a", extra: TestDNS.config(name: name, address: "192.0.2.1"))
            let first = await cluster.waitUntil(.seconds(10)) { await TestDNS.answer(name) == "192.0.2.1" }
            try #require(first != nil, "a's promotion never updated DNS:\n\(cluster.logs())")
            try await cluster.startStandby("b", extra: TestDNS.config(name: name, address: "192.0.2.2"))
            try await cluster.killAndAwaitTakeover()
            let tookAt = ContinuousClock.now
            let moved = await cluster.waitUntil(.seconds(5)) { await TestDNS.answer(name) == "192.0.2.2" }
            let movedAt = try #require(moved, "the name never moved to b:\n\(cluster.logs())")
            print("DNS answer moved \(tookAt.duration(to: movedAt).ms) ms after b's promote hook")
            #expect(tookAt.duration(to: movedAt) < .seconds(3))
            // The old node comes back as standby and never writes the record again.
            try cluster.start("a", extra: TestDNS.config(name: name, address: "192.0.2.1"))
            try await Task.sleep(for: cluster.timeout + .seconds(1))
            #expect(await TestDNS.answer(name) == "192.0.2.2")
        }

        @Test(
            "the DNS server down during a takeover: the heartbeat keeps its period; the update lands once it is back",
            .enabled(if: TestDNS.restartable, "needs the BIND server of scripts/test")
        )
        func dnsDownDuringTakeover() async throws {
            let cluster = try TestCluster(name: "dnsdown")
            let name = "\(cluster.cluster.lowercased()).t"
            try await cluster.startActive("a", extra: TestDNS.config(name: name, address: "192.0.2.1"))
            try await cluster.startStandby("b", extra: TestDNS.config(name: name, address: "192.0.2.2"))
            try await runProgram(TestDNS.script!, ["stop", TestDNS.directory!])
            defer { _ = try? runProgramSync(TestDNS.script!, ["start", TestDNS.directory!]) }
            try await cluster.killAndAwaitTakeover()
            // While DNS is down, b's renews go on at the interval: count them in the lease row.
            let before = try await cluster.statusJSON()["counter"] as? Int ?? 0
            let window = Duration.seconds(3)
            try await Task.sleep(for: window)
            let after = try await cluster.statusJSON()["counter"] as? Int ?? 0
            let expected = window.ms / cluster.interval.ms
            print(
                "renews while DNS was down: \(after - before) in \(window.ms) ms (interval \(cluster.interval.ms) ms)"
            )
            // A heartbeat blocked by the DNS update would show (almost) no renews; two thirds allows for a loaded machine.
            #expect(after - before >= expected * 2 / 3, "the heartbeat slowed down while DNS was down")
            #expect(cluster.marker("b") == "active")
            try await runProgram(TestDNS.script!, ["start", TestDNS.directory!])
            let moved = await cluster.waitUntil(.seconds(40)) { await TestDNS.answer(name) == "192.0.2.2" }
            try #require(moved != nil, "the update never landed after the server came back:\n\(cluster.logs())")
        }

        @Test(
            "the node that took over cannot reach SMTP, the other can: the other one sends the alert, once",
            .enabled(if: TestSMTP.available, "needs the SMTP server of scripts/test")
        )
        func otherNodeSends() async throws {
            let cluster = try TestCluster(name: "mailother")
            let unreachable = TestSMTP.alertsConfig().replacingOccurrences(
                of: TestSMTP.url ?? "",
                with: "smtp://127.0.0.1:1"
            )
            try await cluster.startActive("a", extra: TestSMTP.alertsConfig())
            try await cluster.startStandby("b", extra: unreachable)
            try await cluster.killAndAwaitTakeover()
            let subject = "[hotstandby] \(cluster.cluster): b took over from a"
            try await Task.sleep(for: .seconds(3))
            #expect(TestSMTP.messages(containing: subject).isEmpty, "b cannot reach SMTP: nothing may arrive yet")
            // a comes back as a standby that reaches the mail server: its notifier sends b's alert.
            try cluster.start("a", extra: TestSMTP.alertsConfig())
            let arrived = await cluster.waitUntil(.seconds(40)) { !TestSMTP.messages(containing: subject).isEmpty }
            try #require(arrived != nil, "the other node never sent the alert:\n\(cluster.logs())")
            try await Task.sleep(for: .seconds(3))
            #expect(TestSMTP.messages(containing: subject).count == 1)
            #expect(cluster.marker("b") == "active")
        }
    }
}
