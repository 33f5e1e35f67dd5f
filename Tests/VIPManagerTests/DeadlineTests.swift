import Foundation
import Testing

@testable import VIPManager

/// A hung `ip` or `arping` (a stand-in that sleeps) cannot hold a call past its deadline.
@Suite("VIPManager: deadlines")
struct DeadlineTests {
    /// Writes an executable stand-in that ignores its arguments and sleeps for a minute.
    static func hungProgram() throws -> String {
        let path = FileManager.default.temporaryDirectory
            .appendingPathComponent("hung-\(UUID().uuidString).sh").path
        try "#!/bin/sh\nsleep 60\n".write(toFile: path, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
        return path
    }

    @Test(.timeLimit(.minutes(1)))
    func hungIPTimesOutNearItsDeadline() async throws {
        let hung = try Self.hungProgram()
        defer { try? FileManager.default.removeItem(atPath: hung) }
        let deadline = Duration.seconds(1)
        let config = try VIPConfig(
            address: "10.77.0.100/24",
            interface: "eth0",
            ipPath: hung,
            commandTimeout: deadline,
            inProcess: false
        )
        let manager = VIPManager(config: config)
        for name in ["holds", "bind", "release", "checkHost"] {
            let start = ContinuousClock.now
            let error = await #expect(throws: VIPError.self, "\(name)") {
                switch name {
                case "holds": _ = try await manager.holds()
                case "bind": _ = try await manager.bind()
                case "release": _ = try await manager.release()
                default: _ = try await config.checkHost()
                }
            }
            let elapsed = ContinuousClock.now - start
            #expect(error?.code == .timedOut, "\(name): \(String(describing: error))")
            #expect(elapsed >= deadline - .milliseconds(50), "\(name) returned before its deadline: \(elapsed)")
            #expect(elapsed < deadline + .seconds(3), "\(name) took \(elapsed), deadline \(deadline)")
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func hungArpingNeitherBlocksTheProbeNorTheAnnouncement() async throws {
        let hung = try Self.hungProgram()
        defer { try? FileManager.default.removeItem(atPath: hung) }
        let config = try VIPConfig(
            address: "10.77.0.100/24",
            interface: "eth0",
            probeWindow: .milliseconds(300),
            arpingPath: hung,
            inProcess: false
        )
        let manager = VIPManager(config: config)
        var start = ContinuousClock.now
        let probe = try await manager.probe()
        #expect(!probe.answered)
        // Bounded by the probe window plus process start-up on a loaded 2-core machine, not by the hung arping.
        #expect(ContinuousClock.now - start < .seconds(3))

        start = ContinuousClock.now
        let report = await manager.announce(count: 5, interval: .milliseconds(100), sendGrace: .milliseconds(200))
        let elapsed = ContinuousClock.now - start
        // 4 * 100 ms of spacing + 200 ms grace + the kill (1.84 s seen on a loaded machine); never the
        // minute the stand-in sleeps.
        #expect(elapsed < .seconds(5), "announce took \(elapsed)")
        #expect(report.sent + report.failed == 5)
    }

    @Test func missingProgramIsACommandFailureNamingThePath() async throws {
        let config = try VIPConfig(
            address: "10.77.0.100/24",
            interface: "eth0",
            ipPath: "/nonexistent/ip",
            inProcess: false
        )
        let error = await #expect(throws: VIPError.self) { try await VIPManager(config: config).holds() }
        #expect(error?.code == .commandFailed)
        #expect(error?.description.contains("/nonexistent/ip") == true)
    }
}
