import FoundationEssentials
import HotStandbyCore
import Shell

/// The `vip:` section of the configuration, parsed and checked.
///
/// `init` checks the form of every value (no I/O); `checkHost()` checks the host (the interface exists).
/// Every message names the YAML key and the value.
public struct VIPConfig: Sendable, Hashable {
    /// Whether to look for another host answering for the address before binding it (`vip.probe`).
    public enum ProbeMode: String, Sendable, Hashable, CaseIterable {
        /// No probe.
        case off
        /// Probe once; if someone answers, log it, report it, and bind anyway. The default.
        case on
        /// Probe once; if someone answers, refuse to bind (the promotion step fails).
        case strict
    }

    /// `vip.address`: the address and prefix to move between the nodes.
    public var address: VIPAddress
    /// `vip.interface`: the interface the address is bound to.
    public var interface: InterfaceName
    /// `vip.label`: the IPv4 label (`eth0:vip`), so `ip addr` and `ifconfig` show the address apart.
    /// Must be the interface name or start with `INTERFACE:`. Ignored for IPv6 (the kernel has no labels there).
    public var label: String?
    /// `vip.garp.count`: gratuitous ARP packets sent after binding. Defaults to 5; 0 sends none.
    public var garpCount: Int
    /// `vip.garp.interval`: time between those packets. Defaults to 200 ms.
    public var garpInterval: Duration
    /// `vip.garp.refresh`: time between re-announcements while active. Defaults to 30 s; zero turns it off.
    public var garpRefresh: Duration
    /// `vip.probe`: off, on or strict. Defaults to on.
    public var probe: ProbeMode
    /// How long the probe waits for an answer. Defaults to 300 ms (a host on the LAN answers within milliseconds).
    public var probeWindow: Duration
    /// `vip.ip-path`: the `ip` program (iproute2). Defaults to `/usr/sbin/ip`.
    public var ipPath: String
    /// `vip.arping-path`: the `arping` program (iputils-arping). Defaults to `/usr/bin/arping`.
    public var arpingPath: String
    /// `vip.ndisc6-path`: the `ndisc6` program (ndisc6), the probe of an IPv6 address. Defaults to `/usr/bin/ndisc6`.
    public var ndisc6Path: String
    /// Words put before every command, e.g. `["ip", "netns", "exec", "hs-a"]` in the lab. Defaults to none.
    public var commandPrefix: [String]
    /// The deadline of every `ip` call. Defaults to 2 s.
    public var commandTimeout: Duration
    /// Reads the interface (`getifaddrs`) and sends gratuitous ARPs (a packet socket) in this process. Defaults
    /// to true; not a setting of the file. False sends them through `ipPath` and `arpingPath` too, for tests
    /// that stand fake programs in for those (docs/vip.md, "What runs as a process").
    public var inProcess: Bool

    /// Parses and checks the form of every value.
    ///
    /// - Throws: `VIPError` with code `.invalidSetting`, naming the key and the value.
    public init(
        address: String,
        interface: String,
        label: String? = nil,
        garpCount: Int = 5,
        garpInterval: Duration = .milliseconds(200),
        garpRefresh: Duration = .seconds(30),
        probe: ProbeMode = .on,
        probeWindow: Duration = .milliseconds(300),
        ipPath: String = "/usr/sbin/ip",
        arpingPath: String = "/usr/bin/arping",
        ndisc6Path: String = "/usr/bin/ndisc6",
        commandPrefix: [String] = [],
        commandTimeout: Duration = .seconds(2),
        inProcess: Bool = true
    ) throws(VIPError) {
        self.address = try VIPAddress(parsing: address)
        self.interface = try InterfaceName(interface)
        self.garpCount = garpCount
        self.garpInterval = garpInterval
        self.garpRefresh = garpRefresh
        self.probe = probe
        self.probeWindow = probeWindow
        self.ipPath = ipPath
        self.arpingPath = arpingPath
        self.ndisc6Path = ndisc6Path
        self.commandPrefix = commandPrefix
        self.commandTimeout = commandTimeout
        self.inProcess = inProcess
        self.label = label
        try validateForm()
    }

    /// Parses `vip.probe` (`off`, `on`, `strict`; YAML booleans `true`/`false` too).
    public static func probeMode(parsing text: String) throws(VIPError) -> ProbeMode {
        switch text.lowercased() {
        case "off", "false", "no": return .off
        case "on", "true", "yes": return .on
        case "strict": return .strict
        default:
            throw VIPError(
                code: .invalidSetting,
                key: "vip.probe",
                message: "vip.probe '\(text.printable)' is not one of off, on, strict"
            )
        }
    }

    private func validateForm() throws(VIPError) {
        func invalid(_ key: String, _ message: String) -> VIPError {
            VIPError(code: .invalidSetting, key: key, message: message)
        }
        if let label {
            let name = interface.name
            let suffix = label.hasPrefix(name + ":") ? String(label.dropFirst(name.count + 1)) : nil
            let suffixIsPlain = suffix.map { InterfaceName.problem($0) == nil } ?? false
            let ok = label.utf8.count <= 15 && (label == name || suffixIsPlain)
            guard ok else {
                throw invalid(
                    "vip.label",
                    "vip.label '\(label.printable)' must be the interface name or '\(name):' followed by letters, "
                        + "digits, '.', '_' or '-', at most 15 characters in all (e.g. \(name):vip)"
                )
            }
        }
        guard (0...50).contains(garpCount) else {
            throw invalid("vip.garp.count", "vip.garp.count \(garpCount) must be between 0 and 50 (default 5)")
        }
        guard garpInterval >= .milliseconds(10), garpInterval <= .seconds(10) else {
            throw invalid(
                "vip.garp.interval",
                "vip.garp.interval \(garpInterval.text) must be between 10ms and 10s (default 200ms)"
            )
        }
        guard garpRefresh == .zero || garpRefresh >= .seconds(1) else {
            throw invalid(
                "vip.garp.refresh",
                "vip.garp.refresh \(garpRefresh.text) must be 0 (off) or at least 1s (default 30s)"
            )
        }
        guard probeWindow >= .milliseconds(50), probeWindow <= .seconds(5) else {
            throw invalid("vip.probe-window", "vip.probe-window must be between 50ms and 5s (default 300ms)")
        }
        guard commandTimeout >= .milliseconds(100), commandTimeout <= .seconds(60) else {
            throw invalid("vip.command-timeout", "vip.command-timeout must be between 100ms and 60s (default 2s)")
        }
        for (key, path) in [("vip.ip-path", ipPath), ("vip.arping-path", arpingPath), ("vip.ndisc6-path", ndisc6Path)] {
            guard path.hasPrefix("/"), !path.contains(where: { $0.isWhitespace || $0.isNewline }) else {
                throw invalid(key, "\(key) '\(path.printable)' must be an absolute path without spaces")
            }
        }
    }

    /// Checks the host: `vip.interface` exists (`if_nameindex`, or `ip -json link show` through a command prefix).
    ///
    /// - Returns: the interface names the host has.
    /// - Throws: `VIPError` with code `.unknownInterface`, listing the host's interfaces, or the
    ///   error of a failed `ip` call.
    @discardableResult
    public func checkHost() async throws(VIPError) -> [String] {
        let names = try await hostInterfaces()
        guard names.contains(interface.name) else {
            throw VIPError(
                code: .unknownInterface,
                key: "vip.interface",
                message: "vip.interface '\(interface.name)' does not exist on this host "
                    + "(ip link show lists: \(names.joined(separator: ", ")))"
            )
        }
        return names
    }

    /// The interface names of the host: of this process's network namespace (`if_nameindex`), or of the one
    /// `commandPrefix` enters, from `ip -json link show`.
    public func hostInterfaces() async throws(VIPError) -> [String] {
        if readsInProcess { return InterfaceLink.hostInterfaceNames() }
        let result = try await runner.runChecked([ipPath, "-json", "link", "show"], what: "listing interfaces")
        struct Link: Decodable { var ifname: String }
        guard let links = try? JSONDecoder().decode([Link].self, from: Data(result.output.utf8)) else {
            throw VIPError(
                code: .unexpectedOutput,
                message: "cannot read the output of `ip -json link show`; is \(ipPath) iproute2's ip?",
                output: result.output
            )
        }
        return links.map(\.ifname)
    }

    /// True when reads and gratuitous ARPs happen in this process: `inProcess`, and no `commandPrefix` (which
    /// would mean acting on another namespace than this process's own).
    var readsInProcess: Bool { inProcess && commandPrefix.isEmpty }

    var runner: CommandRunner { CommandRunner(prefix: commandPrefix, timeout: commandTimeout) }
}
