import Foundation
import Logging
import Synchronization
import TestSupport
import Testing

@testable import VIPManager

/// The IPv6 probe without a network: its argv, the reading of `ndisc6`'s output and exit codes, and
/// stand-ins for an answering, a missing, a hung and a failing `ndisc6`. The real `ndisc6` between
/// namespaces is in `NetnsLabTests`.
@Suite("VIPManager: the IPv6 probe (ndisc6)")
struct NeighbourProbeTests {
    /// Writes an executable stand-in for `ndisc6` with `body` as its shell script.
    static func standIn(_ body: String) throws -> String {
        let path = FileManager.default.temporaryDirectory
            .appendingPathComponent("ndisc6-\(UUID().uuidString).sh").path
        try "#!/bin/sh\n\(body)\n".write(toFile: path, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
        return path
    }

    @Test func argvIsOneSolicitationWaitingTheProbeWindow() throws {
        let config = try VIPConfig(
            address: "FD77::100/64",
            interface: "eth0",
            probe: .strict,
            probeWindow: .milliseconds(300)
        )
        #expect(config.ndisc6Path == "/usr/bin/ndisc6")
        #expect(
            VIPManager(config: config).neighbourProbeArguments
                == ["/usr/bin/ndisc6", "-1", "-q", "-n", "-r", "1", "-w", "300", "fd77::100", "eth0"]
        )
        let slow = try VIPConfig(address: "fd77::100/64", interface: "bond0.7", probeWindow: .seconds(1.5))
        #expect(VIPManager(config: slow).neighbourProbeArguments.suffix(4) == ["-w", "1500", "fd77::100", "bond0.7"])
    }

    @Test func readsNdisc6sOutputAndExitCodes() {
        // `-q`: the answering link-layer address alone (what the probe runs).
        #expect(
            VIPManager.neighbourProbeResult(exitCode: 0, output: "02:77:00:00:00:01\n")
                == VIPManager.ProbeResult(answered: true, answeredBy: "02:77:00:00:00:01")
        )
        // Without -q (ndisc6 1.0.5, Debian 12), as printed in the lab.
        let verbose = """
            Soliciting fd77::100 (fd77::100) on eth0...
            Target link-layer address: 02:77:00:00:0A:BC
             from fd77::100

            """
        #expect(
            VIPManager.neighbourProbeResult(exitCode: 0, output: verbose)
                == VIPManager.ProbeResult(answered: true, answeredBy: "02:77:00:00:0a:bc")
        )
        // Answered, but no address it can read: still answered.
        #expect(
            VIPManager.neighbourProbeResult(exitCode: 0, output: "")
                == VIPManager.ProbeResult(answered: true, answeredBy: nil)
        )
        // 2: no response within the window.
        #expect(
            VIPManager.neighbourProbeResult(exitCode: 2, output: "Timed out.\nNo response.\n")
                == VIPManager.ProbeResult(answered: false, answeredBy: nil)
        )
        // 1: an error ("eth9: No such device", "Raw IPv6 socket: Operation not permitted"); a signal.
        #expect(VIPManager.neighbourProbeResult(exitCode: 1, output: "eth9: No such device\n") == nil)
        #expect(VIPManager.neighbourProbeResult(exitCode: nil, output: "") == nil)
        #expect(!VIPManager.isLinkLayerAddress("fd77::100"))
        #expect(!VIPManager.isLinkLayerAddress("02:77:00:00:00"))
        #expect(VIPManager.isLinkLayerAddress("02:77:00:00:00:01"))
    }

    @Test func strictIsAcceptedForAnIPv6Address() throws {
        // It was refused while the probe was IPv4-only.
        #expect(try VIPConfig(address: "fd77::100/64", interface: "eth0", probe: .strict).probe == .strict)
    }

    @Test func anAnsweringStandInIsReadThroughTheRunnerAndLogged() async throws {
        let fake = try Self.standIn("echo \"$@\" > \"$0.argv\"\necho 02:77:00:00:00:20\nexit 0")
        defer {
            try? FileManager.default.removeItem(atPath: fake)
            try? FileManager.default.removeItem(atPath: fake + ".argv")
        }
        let logs = CapturingLogHandler()
        // A long window: the stand-in exits at once, and a loaded machine must not stop it first.
        let config = try VIPConfig(
            address: "fd77::100/64",
            interface: "eth0",
            probe: .strict,
            probeWindow: .seconds(5),
            ndisc6Path: fake
        )
        let manager = VIPManager(config: config, logger: Logger(label: "test", factory: { _ in logs }))
        let answer = try await manager.probe()
        #expect(answer == VIPManager.ProbeResult(answered: true, answeredBy: "02:77:00:00:00:20"))
        let argv = try String(contentsOfFile: fake + ".argv", encoding: .utf8)
        #expect(argv == "-1 -q -n -r 1 -w 5000 fd77::100 eth0\n")
        #expect(logs.all.contains { $0.level == .warning && $0.text.contains("02:77:00:00:00:20") })
    }

    @Test(.timeLimit(.minutes(1)))
    func hungNdisc6CountsAsNobodyAnsweringAndIsLogged() async throws {
        let hung = try Self.standIn("sleep 60")
        defer { try? FileManager.default.removeItem(atPath: hung) }
        let logs = CapturingLogHandler()
        let config = try VIPConfig(address: "fd77::100/64", interface: "eth0", probe: .strict, ndisc6Path: hung)
        let manager = VIPManager(config: config, logger: Logger(label: "test", factory: { _ in logs }))
        let start = ContinuousClock.now
        let answer = try await manager.probe()
        #expect(answer == VIPManager.ProbeResult(answered: false, answeredBy: nil))
        // The window (300 ms) and the grace, plus process start-up on a loaded 2-core machine.
        #expect(ContinuousClock.now - start < .seconds(3))
        #expect(
            logs.all.contains {
                $0.level == .warning && $0.text.contains("counted as nobody answering") && $0.text.contains(hung)
            },
            "\(logs.all)"
        )
    }

    @Test func missingNdisc6FailsTheProbe() async throws {
        let config = try VIPConfig(address: "fd77::100/64", interface: "eth0", ndisc6Path: "/nonexistent/ndisc6")
        let error = await #expect(throws: VIPError.self) { try await VIPManager(config: config).probe() }
        #expect(error?.code == .commandFailed)
        #expect(error?.description.contains("/nonexistent/ndisc6") == true, "\(String(describing: error))")
    }

    @Test func failingNdisc6FailsTheProbeNamingThePackage() async throws {
        let failing = try Self.standIn("echo 'Raw IPv6 socket: Operation not permitted' >&2\nexit 1")
        defer { try? FileManager.default.removeItem(atPath: failing) }
        let config = try VIPConfig(
            address: "fd77::100/64",
            interface: "eth0",
            probeWindow: .seconds(5),
            ndisc6Path: failing
        )
        let error = await #expect(throws: VIPError.self) { try await VIPManager(config: config).probe() }
        #expect(error?.code == .commandFailed)
        #expect(error?.description.contains("ndisc6 is installed (vip.ndisc6-path) and CAP_NET_RAW") == true)
        #expect(error?.description.contains("Operation not permitted") == true)
    }
}
