import Foundation
import Logging
import TestSupport
import Testing

@testable import VIPManager

/// A takeover whose probe cannot run (`arping` / `ndisc6` missing or failing): `on` binds anyway with a
/// warning, `strict` refuses. `ip` is a stand-in that records its calls, the interface does not exist and `vip.garp.count` is 0, so nothing is sent.
@Suite("VIPManager: a probe that cannot run")
struct ProbeFailureTests {
    /// A stand-in `ip`: `addr show` prints an interface without addresses; every call is appended to `PATH.calls`.
    static func fakeIP() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ip-\(UUID().uuidString).sh").path
        let script = """
            #!/bin/sh
            echo "$@" >> "$0.calls"
            case "$*" in
              *"addr show"*) echo '[{"ifindex":2,"ifname":"hsnoif0","address":"02:77:00:00:00:02","addr_info":[]}]' ;;
            esac
            exit 0

            """
        try script.write(toFile: path, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
        return path
    }

    static func calls(_ ip: String) -> [String] {
        ((try? String(contentsOfFile: ip + ".calls", encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    @Test(arguments: ["10.77.0.100/24", "fd77::100/64"])
    func onBindsAnywayAndWarns(address: String) async throws {
        let ip = try Self.fakeIP()
        defer { for p in [ip, ip + ".calls"] { try? FileManager.default.removeItem(atPath: p) } }
        let logs = CapturingLogHandler()
        let config = try VIPConfig(
            address: address,
            interface: "hsnoif0",
            garpCount: 0,
            probe: .on,
            ipPath: ip,
            arpingPath: "/nonexistent/arping",
            ndisc6Path: "/nonexistent/ndisc6",
            inProcess: false
        )
        let manager = VIPManager(config: config, logger: Logger(label: "test", factory: { _ in logs }))
        let report = try await manager.takeOver(epoch: 3)
        #expect(report.probe == nil, "a probe that did not run is reported as not probed")
        #expect(Self.calls(ip).contains { $0.hasPrefix("addr add \(address)") }, "\(Self.calls(ip))")
        #expect(
            logs.all.contains {
                $0.level == .warning && $0.text.contains("the probe could not run") && $0.text.contains("/nonexistent/")
            },
            "\(logs.all)"
        )
    }

    @Test(arguments: ["10.77.0.100/24", "fd77::100/64"])
    func strictRefusesToBind(address: String) async throws {
        let ip = try Self.fakeIP()
        defer { for p in [ip, ip + ".calls"] { try? FileManager.default.removeItem(atPath: p) } }
        let config = try VIPConfig(
            address: address,
            interface: "hsnoif0",
            garpCount: 0,
            probe: .strict,
            ipPath: ip,
            arpingPath: "/nonexistent/arping",
            ndisc6Path: "/nonexistent/ndisc6",
            inProcess: false
        )
        let error = await #expect(throws: VIPError.self) { try await VIPManager(config: config).takeOver(epoch: 3) }
        #expect(error?.key == "vip.probe")
        #expect(
            error?.description.contains("strict and the probe could not run") == true,
            "\(String(describing: error))"
        )
        #expect(!Self.calls(ip).contains { $0.hasPrefix("addr add") }, "\(Self.calls(ip))")
    }
}
