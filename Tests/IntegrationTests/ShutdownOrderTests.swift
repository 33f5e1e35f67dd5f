import Foundation
import TestSupport
import Testing

extension IntegrationSuite {
    @Suite("Graceful stop: the loop stops first (issue 13 item 3)")
    struct ShutdownOrderTests {
        @Test(
            "SIGTERM while an SMTP send hangs: the active releases at once, the standby is active within 2 × interval"
        )
        func sigtermWithHungSMTPSend() async throws {
            let cluster = try TestCluster(name: "stoporder", interval: .milliseconds(200), timeout: .seconds(2))
            // An "SMTP server" that accepts connections and never says a word: curl waits for the greeting
            // until alerts.email.timeout (15 s).
            let portFile = cluster.directory + "/smtp.port"
            let acceptedFile = cluster.directory + "/smtp.accepted"
            let script = """
                import socket, sys
                s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(16)
                open(sys.argv[1], "w").write(str(s.getsockname()[1]))
                held = []
                while True:
                    c, _ = s.accept(); held.append(c)
                    open(sys.argv[2], "a").write("accepted\\n")
                """
            try cluster.write(script, to: "silent-smtp.py", mode: 0o644)
            let silent = try spawn(
                ["/usr/bin/python3", cluster.directory + "/silent-smtp.py", portFile, acceptedFile],
                outputPath: cluster.directory + "/silent-smtp.log"
            )
            defer { kill(silent, SIGKILL) }
            let port = await cluster.waitUntil(.seconds(10)) { FileManager.default.fileExists(atPath: portFile) }
            try #require(port != nil, "the silent SMTP server did not start")
            let smtpPort = try String(contentsOfFile: portFile, encoding: .utf8)
            let alerts = """
                alerts:
                  email:
                    url: "smtp://127.0.0.1:\(smtpPort)"
                    startTLS: "off"
                    from: "hotstandby@example.test"
                    to: ["ops@example.test"]
                    timeout: 15s
                """
            try await withSampling(cluster) {
                try await cluster.startActive("a", extra: alerts)
                try await cluster.startStandby("b")
                // The takeover e-mail of a is being sent: the server has accepted curl's connection.
                let inFlight = await cluster.waitUntil(.seconds(10)) {
                    FileManager.default.fileExists(atPath: acceptedFile)
                }
                try #require(inFlight != nil, "no SMTP send started:\n\(cluster.logs())")
                let stopped = ContinuousClock.now
                cluster.node("a")!.signal(SIGTERM)
                let took = await cluster.waitUntil(.seconds(20)) { cluster.marker("b") == "active" }
                let after = stopped.duration(to: try #require(took, "b never took over:\n\(cluster.logs())"))
                print("SIGTERM with a hung SMTP send → b active after \(after.ms) ms")
                // Before the fix the release waited for the send (up to 15 s) and b waited with it.
                #expect(after <= cluster.interval * 2 + .milliseconds(600), "b active only after \(after.ms) ms")
            }
            #expect(cluster.stats.doubleSamples == 0, "two active markers in \(cluster.stats.doubleSamples) samples")
        }
    }
}
