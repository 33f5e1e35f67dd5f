import FoundationEssentials
import Glibc
import Logging
import Shell

/// Binds, releases, announces and probes one virtual IP address with `ip`, `arping` and `ndisc6`, by argv
/// (never a shell), each call with a deadline.
///
/// Every method is safe to call again: `bind()` on a held address and `release()` on an absent one
/// succeed. The type holds no mutable state, so it is `Sendable` and can be shared by the promotion
/// step, the refresh duty and `hotstandby release`.
public struct VIPManager: Sendable {
    /// What `bind()` or `release()` did.
    public enum Change: Sendable, Hashable {
        /// The address was added or removed.
        case changed
        /// The address was already as wanted: nothing to do.
        case unchanged
    }

    /// What the probe saw.
    public struct ProbeResult: Sendable, Hashable {
        /// True when another host answered for the address within the probe window.
        public var answered: Bool
        /// The MAC address that answered, when one did (`02:77:00:00:00:01`).
        public var answeredBy: String?
    }

    /// The settings, checked.
    public let config: VIPConfig
    let logger: Logger

    /// Creates a manager for `config`; `logger` receives one line per change, at `.notice`.
    /// Defaults to a logger that drops everything (for tools and tests).
    public init(
        config: VIPConfig,
        logger: Logger = Logger(label: "hotstandby.vip", factory: { _ in SwiftLogNoOpLogHandler() })
    ) {
        self.config = config
        var logger = logger
        logger[metadataKey: "vip"] = "\(config.address)"
        logger[metadataKey: "vip.interface"] = "\(config.interface)"
        self.logger = logger
    }

    var runner: CommandRunner { config.runner }

    /// True when `vip.interface` carries the address (any prefix length): read in-process (`getifaddrs`), or
    /// with `ip -json addr show dev IF` through a command prefix.
    public func holds() async throws(VIPError) -> Bool {
        try await boundEntry() != nil
    }

    /// Adds the address to the interface: `ip addr add ADDR/PREFIX dev IF [label L]` (IPv6: `nodad`).
    ///
    /// Idempotent: an address already present is success (`.unchanged`).
    @discardableResult
    public func bind() async throws(VIPError) -> Change {
        if try await boundEntry() != nil { return .unchanged }
        var argv = [config.ipPath, "addr", "add", config.address.cidr, "dev", config.interface.name]
        switch config.address.family {
        case .ipv4:
            if let label = config.label { argv += ["label", label] }
        case .ipv6:
            // Without nodad the address stays tentative (unusable) for about a second of duplicate
            // address detection; the probe, not DAD, is how we look for another holder.
            argv += ["nodad"]
        }
        let result = try await runner.run(argv)
        if result.succeeded {
            logger.notice("bound the virtual IP", metadata: ["duration": "\(result.duration)"])
            return .changed
        }
        // Lost a race with another bind ("File exists"): the state is what we want.
        if try await boundEntry() != nil { return .unchanged }
        throw VIPError(
            code: .commandFailed,
            message: "cannot bind \(config.address) to \(config.interface) (\(result.statusText)): "
                + "\(argv.joined(separator: " ")); check vip.interface and that hotstandby has CAP_NET_ADMIN",
            output: result.output
        )
    }

    /// Removes the address from the interface: `ip addr del ADDR/PREFIX dev IF`, with the prefix it is bound with.
    ///
    /// Idempotent: an address that is not there is success (`.unchanged`).
    @discardableResult
    public func release() async throws(VIPError) -> Change {
        guard let entry = try await boundEntry() else { return .unchanged }
        let argv = [config.ipPath, "addr", "del", "\(entry.local)/\(entry.prefixlen)", "dev", config.interface.name]
        let result = try await runner.run(argv)
        if result.succeeded {
            logger.notice("released the virtual IP", metadata: ["duration": "\(result.duration)"])
            return .changed
        }
        if try await boundEntry() == nil { return .unchanged }
        throw VIPError(
            code: .commandFailed,
            message: "cannot release \(config.address) from \(config.interface) (\(result.statusText)): "
                + "\(argv.joined(separator: " ")); remove it by hand and check that hotstandby has CAP_NET_ADMIN",
            output: result.output
        )
    }

    /// Asks the network whether another host answers for the address: `arping -D -c 1 -w 1 -I IF ADDR`,
    /// stopped after `vip.probe-window` (a host on the same LAN answers within milliseconds).
    ///
    /// IPv6 sends one neighbour solicitation with `ndisc6` instead (`probeNeighbour()`).
    public func probe() async throws(VIPError) -> ProbeResult {
        guard config.address.family == .ipv4 else { return try await probeNeighbour() }
        let argv = [config.arpingPath, "-D", "-c", "1", "-w", "1", "-I", config.interface.name, config.address.address]
        let result: CommandResult
        do {
            result = try await runner.run(argv, timeout: config.probeWindow, killGrace: .milliseconds(50))
        } catch  where error.code == .timedOut {
            return ProbeResult(answered: false, answeredBy: nil)
        }
        // arping -D: exit 0 = nobody answered, 1 = someone answered, anything else = arping failed.
        switch result.exitCode {
        case 0:
            return ProbeResult(answered: false, answeredBy: nil)
        case 1 where result.output.contains("reply from"):
            let mac = result.output.split(separator: "[").dropFirst().first?.split(separator: "]").first
            let answer = ProbeResult(answered: true, answeredBy: mac.map(String.init))
            logger.warning(
                "another host answers for the virtual IP",
                metadata: ["answered-by": "\(answer.answeredBy ?? "?")"]
            )
            return answer
        default:
            throw VIPError(
                code: .commandFailed,
                message: "the probe failed (\(result.statusText)): \(argv.joined(separator: " ")); check "
                    + "vip.interface, that iputils-arping is installed (vip.arping-path) and CAP_NET_RAW",
                output: result.output
            )
        }
    }

    /// The MAC address of `vip.interface`, for logs and tests.
    public func interfaceMAC() async throws(VIPError) -> String {
        if readsInProcess { return try InterfaceLink.named(config.interface.name).macText }
        return try await addressDump().address ?? ""
    }

    /// True when the reads and the gratuitous ARPs happen in this process (`getifaddrs`, a packet socket)
    /// rather than by `ip -json addr show` and `arping` (`VIPConfig.readsInProcess`). Binding and releasing
    /// stay `ip addr add` and `ip addr del` either way (docs/vip.md, "What runs as a process").
    var readsInProcess: Bool { config.readsInProcess }

    // MARK: - Reading `ip -json addr show dev IF`

    struct LinkDump: Decodable {
        var ifname: String
        var address: String?
        var addressInfo: [InterfaceLink.Address]?

        enum CodingKeys: String, CodingKey {
            case ifname, address
            case addressInfo = "addr_info"
        }
    }

    func addressDump() async throws(VIPError) -> LinkDump {
        let argv = [config.ipPath, "-json", "addr", "show", "dev", config.interface.name]
        let result = try await runner.run(argv)
        guard result.succeeded else {
            throw VIPError(
                code: .commandFailed,
                key: "vip.interface",
                message: "cannot read the addresses of vip.interface '\(config.interface)' (\(result.statusText)); "
                    + "check that the interface exists (`ip link show`)",
                output: result.output
            )
        }
        let links = try? JSONDecoder().decode([LinkDump].self, from: Data(result.output.utf8))
        guard let link = links?.first else {
            throw VIPError(
                code: .unexpectedOutput,
                message:
                    "cannot read the output of `\(argv.joined(separator: " "))`; is \(config.ipPath) iproute2's ip?",
                output: result.output
            )
        }
        return link
    }

    /// The address as bound to `vip.interface`, when it is.
    func boundEntry() async throws(VIPError) -> InterfaceLink.Address? {
        let family = config.address.family == .ipv4 ? "inet" : "inet6"
        let addresses =
            readsInProcess
            ? try InterfaceLink.named(config.interface.name).addresses : try await addressDump().addressInfo
        return addresses?.first {
            $0.family == family && $0.local.lowercased() == config.address.address.lowercased()
        }
    }
}
