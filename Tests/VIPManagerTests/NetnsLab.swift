import Foundation
import Shell
import VIPManager

#if canImport(Glibc)
    import Glibc
#endif

/// The namespace lab of `scripts/netns-lab`, with a prefix of its own so parallel runs do not clash.
struct NetnsLab: Sendable {
    static let script = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("scripts/netns-lab").path

    /// Root, iproute2 and the script: what the lab needs. CI runs as root, so the lab tests run there.
    static let available: Bool =
        getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/sbin/ip")
        && FileManager.default.isExecutableFile(atPath: script)
        && FileManager.default.isExecutableFile(atPath: "/usr/bin/arping")

    static let vip = "10.77.0.100/24"

    let prefix: String

    /// Builds a fresh lab, runs `body`, and tears the lab down whether `body` threw or not.
    static func with<T: Sendable>(_ body: (NetnsLab) async throws -> T) async throws -> T {
        let lab = NetnsLab(prefix: "hsv" + String(UInt32.random(in: 0..<0xFFFFFF), radix: 36))
        do {
            try await lab.script(["up"])
        } catch {
            _ = try? await lab.script(["down"])
            throw error
        }
        do {
            let value = try await body(lab)
            try await lab.script(["down"])
            return value
        } catch {
            _ = try? await lab.script(["down"])
            throw error
        }
    }

    func ns(_ node: String) -> String { "\(prefix)-\(node)" }

    @discardableResult
    func script(_ arguments: [String]) async throws -> String {
        let result = try await Command(
            [Self.script] + arguments,
            environment: ["HS_LAB_PREFIX": prefix],
            timeout: .seconds(30)
        ).run()
        guard result.succeeded else { throw LabError("netns-lab \(arguments): \(result.statusText) \(result.output)") }
        return result.output
    }

    /// Runs a command inside a node's namespace.
    func exec(_ node: String, _ argv: [String], timeout: Duration = .seconds(5)) async throws -> CommandResult {
        try await Command(["/usr/sbin/ip", "netns", "exec", ns(node)] + argv, timeout: timeout).run()
    }

    /// The VIP settings for node `a` or `b`: `ip` and `arping` run inside its namespace.
    func config(
        _ node: String,
        address: String = NetnsLab.vip,
        probe: VIPConfig.ProbeMode = .off,
        refresh: Duration = .seconds(30)
    ) throws -> VIPConfig {
        try VIPConfig(
            address: address,
            interface: "eth0",
            label: address.contains(":") ? nil : "eth0:vip",
            garpRefresh: refresh,
            probe: probe,
            commandPrefix: ["/usr/sbin/ip", "netns", "exec", ns(node)]
        )
    }

    func holders(_ address: String) async throws -> [String] {
        try await script(["holders", address]).split(separator: "\n").map(String.init)
    }

    func mac(_ node: String) async throws -> String {
        try await script(["mac", node]).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The MAC address the client's neighbour table has for `address`, if any.
    func clientNeighbour(_ address: String) async throws -> String? {
        let host = String(address.split(separator: "/")[0])
        let result = try await exec("c", ["/usr/sbin/ip", "-json", "neigh", "show", host])
        struct Entry: Decodable { var lladdr: String? }
        let entries = try JSONDecoder().decode([Entry].self, from: Data(result.output.utf8))
        return entries.first?.lladdr
    }

    /// One ping from the client; true when it was answered within a second.
    func clientPings(_ address: String) async throws -> Bool {
        let host = String(address.split(separator: "/")[0])
        return try await exec("c", ["ping", "-n", "-c", "1", "-W", "1", host]).succeeded
    }
}

struct LabError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
