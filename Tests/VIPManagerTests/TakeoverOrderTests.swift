import Foundation
import Testing

@testable import VIPManager

/// The order of a takeover's steps: with `vip.probe: on` the probe runs beside the bind (the address is added
/// and the first gratuitous ARP sent while the probe still waits); with `strict` nothing is bound before the
/// probe's answer. Stand-ins for `ip` and `arping` append each step to one journal; the probe's `arping -D`
/// takes 1.5 s and then says "nobody answered" (exit 0).
@Suite("VIPManager: the takeover's order")
struct TakeoverOrderTests {
    struct Lab {
        let folder: String
        var journal: String { folder + "/journal" }
        var ip: String { folder + "/ip" }
        var arping: String { folder + "/arping" }

        init() throws {
            folder = FileManager.default.temporaryDirectory.appendingPathComponent("takeover-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            let ipScript = """
                #!/bin/sh
                case "$*" in
                  *"addr show"*) echo '[{"ifindex":2,"ifname":"hsnoif0","address":"02:77:00:00:00:02","addr_info":[]}]' ;;
                  *"addr add"*) echo "ip addr add" >> "\(journal)" ;;
                esac
                exit 0

                """
            let arpingScript = """
                #!/bin/sh
                case "$*" in
                  *-D*) echo "probe start" >> "\(journal)"; sleep 1.5; echo "probe end" >> "\(journal)" ;;
                  *-U*) echo "gratuitous ARP" >> "\(journal)" ;;
                esac
                exit 0

                """
            for (path, script) in [(ip, ipScript), (arping, arpingScript)] {
                try script.write(toFile: path, atomically: true, encoding: .utf8)
                try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
            }
        }

        func config(_ probe: VIPConfig.ProbeMode) throws -> VIPConfig {
            try VIPConfig(
                address: "10.77.0.100/24",
                interface: "hsnoif0",
                garpCount: 1,
                probe: probe,
                probeWindow: .seconds(4),
                ipPath: ip,
                arpingPath: arping
            )
        }

        func steps() -> [String] {
            ((try? String(contentsOfFile: journal, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
        }

        func remove() { try? FileManager.default.removeItem(atPath: folder) }
    }

    @Test(.timeLimit(.minutes(1)))
    func onBindsAndAnnouncesWhileTheProbeWaits() async throws {
        let lab = try Lab()
        defer { lab.remove() }
        let report = try await VIPManager(config: lab.config(.on)).takeOver(epoch: 4)
        // The probe and the bind start together (which of their first lines comes first is a race); both the
        // bind and the first gratuitous ARP come before the probe's answer.
        let steps = lab.steps()
        #expect(steps.sorted() == ["gratuitous ARP", "ip addr add", "probe end", "probe start"], "\(steps)")
        #expect(steps.last == "probe end", "\(steps)")
        #expect(steps.firstIndex(of: "ip addr add")! < steps.firstIndex(of: "gratuitous ARP")!, "\(steps)")
        #expect(
            report.probe == VIPManager.ProbeResult(answered: false, answeredBy: nil),
            "the probe's answer is reported"
        )
        #expect(report.bind == .changed)
        #expect(report.announce.sent == 1)
    }

    @Test(.timeLimit(.minutes(1)))
    func strictBindsOnlyAfterTheProbeAnswered() async throws {
        let lab = try Lab()
        defer { lab.remove() }
        let report = try await VIPManager(config: lab.config(.strict)).takeOver(epoch: 4)
        #expect(lab.steps() == ["probe start", "probe end", "ip addr add", "gratuitous ARP"], "\(lab.steps())")
        #expect(report.probe?.answered == false)
        #expect(report.bind == .changed)
    }

    @Test(.timeLimit(.minutes(1)))
    func offNeitherProbesNorWaits() async throws {
        let lab = try Lab()
        defer { lab.remove() }
        let report = try await VIPManager(config: lab.config(.off)).takeOver(epoch: 4)
        #expect(lab.steps() == ["ip addr add", "gratuitous ARP"], "\(lab.steps())")
        #expect(report.probe == nil)
    }
}
