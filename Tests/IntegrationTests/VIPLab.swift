import Foundation
import Synchronization
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// One network-namespace lab (`scripts/netns-lab` with a unique `HS_LAB_PREFIX`): PostgreSQL inside
/// `PREFIX-db` on 10.77.0.10, `hotstandby run` daemons inside `PREFIX-a` and `PREFIX-b` holding the VIP
/// 10.77.0.100/24 on their `eth0`, a client `PREFIX-c`. Use it through `withVIPLab`, which always tears
/// it down (daemons, PostgreSQL, namespaces), also when the test fails or throws.
final class VIPLab: Sendable {
    static let vip = "10.77.0.100"
    static let ip = "/usr/sbin/ip"
    static let macs = ["a": "02:77:00:00:00:01", "b": "02:77:00:00:00:02", "c": "02:77:00:00:00:20"]

    /// The virtual IP this lab's daemons hold (`vip` above, or `fd77::100` for an IPv6 lab) and its prefix.
    let vip: String
    let vipPrefix: Int
    let prefix: String
    let directory: String
    let interval: Duration
    let timeout: Duration
    let refresh: Duration
    /// `vip.probe` in the daemons' configuration.
    let probe: String
    /// YAML appended to each node's configuration (`health:`, `hooks:`), by node; `{dir}` is the lab's folder.
    let extra: [String: String]
    /// When set, `vip.ipPath` and `vip.arpingPath` are wrappers that append each call's arguments to
    /// `calls-NODE` in the lab's folder and exec the real tool (`toolCalls`).
    let wrapTools: Bool
    private let mutable = Mutex<(conninfo: String, daemons: [String: LabDaemon], tornDown: Bool, smtpURL: String)>(
        ("", [:], false, "")
    )

    /// Root, `ip netns` and the lab script: what the lab tests need beyond `scripts/test`'s environment.
    static let unavailableReason: String? = {
        if getuid() != 0 { return "the namespace lab needs root (ip netns needs CAP_SYS_ADMIN and CAP_NET_ADMIN)" }
        guard let result = try? runProgramSync(ip, ["netns", "list"]), result.status == 0 else {
            return "`ip netns list` does not work here (iproute2 missing or no network namespaces)"
        }
        for tool in ["/usr/bin/ping", "/usr/sbin/nft"] where !FileManager.default.isExecutableFile(atPath: tool) {
            return "\(tool) is missing (apt-get install iputils-ping nftables)"
        }
        return nil
    }()

    init(
        name: String,
        interval: Duration = .milliseconds(200),
        timeout: Duration = .seconds(2),
        refresh: Duration = .seconds(1),
        ipv6: Bool = false,
        probe: String = "on",
        extra: [String: String] = [:],
        wrapTools: Bool = false
    ) {
        self.extra = extra
        self.wrapTools = wrapTools
        vip = ipv6 ? "fd77::100" : Self.vip
        vipPrefix = ipv6 ? 64 : 24
        prefix = "vl\(name.prefix(6))-" + UUID().uuidString.prefix(4).lowercased()
        directory = NSTemporaryDirectory() + "hs-viplab-" + prefix
        self.interval = interval
        self.timeout = timeout
        self.refresh = refresh
        self.probe = probe
    }

    var conninfo: String { mutable.withLock { $0.conninfo } }
    func ns(_ node: String) -> String { "\(prefix)-\(node)" }

    /// Builds the namespaces, starts PostgreSQL inside `db`, writes `a.yaml`/`b.yaml` and creates the schema.
    func setUp() throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        chmod(directory, 0o755)
        let up = try lab(["up"])
        guard up.status == 0 else { throw HarnessError("netns-lab up failed (\(up.status)): \(up.output)") }
        let pg = try lab([
            "exec", "db", "env", "PG_LISTEN=10.77.0.10", TestEnvironment.repository + "/scripts/postgres", "start",
            directory + "/pg",
        ])
        guard pg.status == 0, let line = pg.output.split(separator: "\n").first(where: { $0.contains("PG_CONNINFO") })
        else {
            throw HarnessError("scripts/postgres start inside \(ns("db")) failed: \(pg.output)")
        }
        mutable.withLock { $0.conninfo = String(line.split(separator: "'")[1]) }
        if extra.values.contains(where: { $0.contains("{smtp}") }) {
            // A real SMTP server inside `db` on 10.77.0.10, for the daemons' alert e-mail.
            let smtp = try lab([
                "exec", "db", "env", "SMTP_LISTEN=10.77.0.10", TestEnvironment.repository + "/scripts/smtp-server",
                "start", directory + "/smtp",
            ])
            guard smtp.status == 0,
                let url = smtp.output.split(separator: "\n").first(where: { $0.contains("SMTP_URL=") })
            else {
                throw HarnessError("scripts/smtp-server start inside \(ns("db")) failed: \(smtp.output)")
            }
            mutable.withLock { $0.smtpURL = String(url.split(separator: "=", maxSplits: 1)[1]) }
        }
        // Issue 18: the failsafe's shared token, before `init-db` reads the configuration.
        if extra.values.contains(where: { $0.contains("failsafe.token") }) { try writeToken() }
        for node in ["a", "b"] {
            if wrapTools { try writeToolWrappers(node) }
            try writeConfig(node)
        }
        let initialized = try hotstandbySync(in: "a", ["init-db", "--config", directory + "/a.yaml"])
        guard initialized.status == 0 else { throw HarnessError("init-db failed: \(initialized.output)") }
    }

    /// Ends the daemons, stops PostgreSQL and deletes the namespaces; idempotent.
    func tearDown() {
        let daemons: [LabDaemon]? = mutable.withLock { state in
            if state.tornDown { return nil }
            state.tornDown = true
            return Array(state.daemons.values)
        }
        guard let daemons else { return }
        for daemon in daemons {
            daemon.signal(SIGCONT)
            daemon.signal(SIGKILL)
            _ = daemon.isRunning
        }
        _ = try? runProgramSync(TestEnvironment.repository + "/scripts/postgres", ["stop", directory + "/pg"])
        _ = try? runProgramSync(TestEnvironment.repository + "/scripts/smtp-server", ["stop", directory + "/smtp"])
        _ = try? lab(["down"])
        try? FileManager.default.removeItem(atPath: directory)
    }

    deinit { tearDown() }

    @discardableResult
    func lab(_ arguments: [String]) throws -> (status: Int32, output: String) {
        try runProgramSync(
            TestEnvironment.repository + "/scripts/netns-lab",
            arguments,
            environment: ["HS_LAB_PREFIX": prefix]
        )
    }

    /// Runs a program inside `node`'s namespace.
    @discardableResult
    func exec(in node: String, _ argv: [String]) async throws -> (status: Int32, output: String) {
        try await runProgram(Self.ip, ["netns", "exec", ns(node)] + argv)
    }

    func hotstandbySync(in node: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        try runProgramSync(Self.ip, ["netns", "exec", ns(node), TestEnvironment.binary!] + arguments)
    }

    @discardableResult
    func hotstandby(in node: String, _ arguments: [String]) async throws -> (status: Int32, output: String) {
        try await exec(in: node, [TestEnvironment.binary!] + arguments)
    }

    func configPath(_ node: String) -> String { directory + "/\(node).yaml" }

    private func writeConfig(_ node: String) throws {
        let yaml = """
            cluster: "viplab-\(prefix)"
            node: "\(node)"
            logLevel: info
            stateDirectory: "\(directory)/\(node)-state"
            database:
              conninfo: "\(conninfo)"
            heartbeat:
              interval: \(interval.ms)ms
              timeout: \(timeout.ms)ms
            vip:
              address: \(vip)/\(vipPrefix)
              interface: eth0
              garp: {count: 5, interval: 200ms, refresh: \(refresh.ms)ms}
              probe: \(probe)

            """
            + (wrapTools ? "  ipPath: \(directory)/ip-\(node)\n  arpingPath: \(directory)/arping-\(node)\n" : "")
            + (extra[node] ?? "").replacingOccurrences(of: "{dir}", with: directory)
            .replacingOccurrences(of: "{smtp}", with: mutable.withLock { $0.smtpURL })
        try yaml.write(toFile: configPath(node), atomically: true, encoding: .utf8)
    }

    private func writeToolWrappers(_ node: String) throws {
        for (name, tool) in [("ip", Self.ip), ("arping", "/usr/bin/arping")] {
            let path = directory + "/\(name)-\(node)"
            let script = "#!/bin/sh\necho \"\(name) $*\" >> '\(directory)/calls-\(node)'\nexec \(tool) \"$@\"\n"
            try script.write(toFile: path, atomically: true, encoding: .utf8)
            chmod(path, 0o755)
        }
    }

    /// The `ip` and `arping` calls `node`'s daemon made since the lab started or since `clearToolCalls()`,
    /// one line each (`ip addr add 10.77.0.100/24 dev eth0`); needs `wrapTools`.
    func toolCalls(_ node: String) -> [String] {
        let text = (try? String(contentsOfFile: directory + "/calls-\(node)", encoding: .utf8)) ?? ""
        return text.split(separator: "\n").map(String.init)
    }

    func clearToolCalls() {
        for node in ["a", "b"] { try? FileManager.default.removeItem(atPath: directory + "/calls-\(node)") }
    }

    /// Starts `hotstandby run` inside `node`'s namespace (`ip netns exec` execs, so the PID is the daemon's).
    @discardableResult
    func start(_ node: String) throws -> LabDaemon {
        let daemon = LabDaemon(name: node, logPath: directory + "/\(node).log")
        try daemon.start([
            Self.ip, "netns", "exec", ns(node), TestEnvironment.binary!, "run", "--config", configPath(node),
        ])
        mutable.withLock { $0.daemons[node] = daemon }
        return daemon
    }

    func daemon(_ node: String) -> LabDaemon { mutable.withLock { $0.daemons[node]! } }

    /// Starts a helper process inside `node`'s namespace under `key` (a service, a beater), ended with the lab.
    @discardableResult
    func startProcess(_ key: String, in node: String, _ argv: [String]) throws -> LabDaemon {
        let process = LabDaemon(name: key, logPath: directory + "/\(key).log")
        try process.start([Self.ip, "netns", "exec", ns(node)] + argv)
        mutable.withLock { $0.daemons[key] = process }
        return process
    }

    /// The service behind the VIP: Python's `http.server` on port 8080 of `node`, serving `/node` (its name).
    @discardableResult
    func startService(on node: String) throws -> LabDaemon {
        let root = directory + "/www-\(node)"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        try node.write(toFile: root + "/node", atomically: true, encoding: .utf8)
        return try startProcess(
            "svc-\(node)",
            in: node,
            ["/usr/bin/python3", "-m", "http.server", "8080", "--bind", "0.0.0.0", "--directory", root]
        )
    }

    /// What the client gets from the service through the VIP (`curl http://VIP:8080/node`): the name of the node
    /// that answered, or nil.
    func clientAsks() async -> String? {
        guard
            let result = try? await exec(
                in: "c",
                ["/usr/bin/curl", "-s", "--max-time", "0.3", "http://\(vip):8080/node"]
            ),
            result.status == 0
        else { return nil }
        return result.output
    }

    /// The cluster as `status --json` on `node` prints it.
    func statusJSON(from node: String = "a") async -> [String: Any]? {
        guard
            let result = try? await hotstandby(
                in: node,
                ["status", "--json", "--events", "50", "--config", configPath(node)]
            )
        else { return nil }
        return try? JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any]
    }

    /// One node's row in `status --json`.
    func nodeRow(_ node: String, from: String = "a") async -> [String: Any]? {
        ((await statusJSON(from: from))?["nodes"] as? [[String: Any]])?.first { ($0["node"] as? String) == node }
    }

    /// The e-mails the lab's SMTP server received, each as its text.
    func mails() -> [String] {
        let folder = directory + "/smtp/mail"
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).sorted()
        return names.compactMap { try? String(contentsOfFile: folder + "/" + $0, encoding: .utf8) }
    }

    /// The kinds of the recorded events, oldest first.
    func eventKinds(from: String = "a") async -> [String] {
        (((await statusJSON(from: from))?["events"] as? [[String: Any]]) ?? []).compactMap { $0["kind"] as? String }
            .reversed()
    }

    /// Which of `a`, `b` hold the VIP now, read with `ip -n NS -json addr` (blocking). An address on a link
    /// that is down (a dead host's kernel keeps it) answers nobody, so it does not count.
    func holdersSync() -> Set<String> {
        var holders = Set<String>()
        for node in ["a", "b"] {
            guard let result = try? runProgramSync(Self.ip, ["-n", ns(node), "-json", "addr", "show", "dev", "eth0"])
            else { continue }
            if result.output.contains("\"local\":\"\(vip)\""), result.output.contains("\"UP\"") { holders.insert(node) }
        }
        return holders
    }

    /// The MAC the client's neighbour table has for the VIP (nil when there is no usable entry).
    func clientNeighbourMAC() async -> String? {
        guard
            let result = try? await runProgram(Self.ip, ["-n", ns("c"), "-json", "neigh", "show", vip, "dev", "eth0"]),
            let entries = try? JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [[String: Any]]
        else { return nil }
        return entries.first?["lladdr"] as? String
    }

    /// Drops every packet `node` sends to the database (nftables inside its namespace).
    func cutFromDatabase(_ node: String) async throws {
        let rules = """
            table inet viplab {
              chain out { type filter hook output priority 0; policy accept; ip daddr 10.77.0.10 drop; }
              chain in { type filter hook input priority 0; policy accept; ip saddr 10.77.0.10 drop; }
            }

            """
        let path = directory + "/cut-\(node).nft"
        try rules.write(toFile: path, atomically: true, encoding: .utf8)
        let result = try await exec(in: node, ["/usr/sbin/nft", "-f", path])
        guard result.status == 0 else { throw HarnessError("nft -f failed in \(ns(node)): \(result.output)") }
    }

    /// Waits until `a` holds the VIP alone and `b` is a standby whose row is fresh.
    func startPair() async throws {
        try start("a")
        let aHolds = await waitUntil(.seconds(10)) { self.holdersSync() == ["a"] }
        try #require(aHolds != nil, "a never bound the VIP:\n\(logs())")
        try start("b")
        let seen = await waitUntil(.seconds(10)) {
            guard
                let result = try? await self.hotstandby(
                    in: "a",
                    ["status", "--json", "--config", self.configPath("a")]
                ),
                let status = try? JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any],
                let nodes = status["nodes"] as? [[String: Any]]
            else { return false }
            return nodes.contains {
                ($0["node"] as? String) == "b" && ($0["role"] as? String) == "standby"
                    && (($0["lastSeenSeconds"] as? Double) ?? 99) < 1
            }
        }
        try #require(seen != nil, "b never seen as standby:\n\(logs())")
    }

    func waitUntil(_ limit: Duration, _ condition: () async -> Bool) async -> Double? {
        let deadline = ContinuousClock.now.advanced(by: limit)
        while ContinuousClock.now < deadline {
            if await condition() { return now() }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return await condition() ? now() : nil
    }

    func logs() -> String {
        mutable.withLock { $0.daemons }.values.sorted { $0.name < $1.name }
            .map { "--- \($0.name)\n\($0.log.suffix(3000))" }.joined(separator: "\n")
    }
}

/// Wall-clock seconds, the clock `ping -D` stamps its replies with.
func now() -> Double { Date().timeIntervalSince1970 }

/// Builds a lab, runs `body`, and always tears the lab down.
func withVIPLab(
    _ name: String,
    refresh: Duration = .seconds(1),
    ipv6: Bool = false,
    probe: String = "on",
    extra: [String: String] = [:],
    wrapTools: Bool = false,
    _ body: (VIPLab) async throws -> Void
) async throws {
    let lab = VIPLab(name: name, refresh: refresh, ipv6: ipv6, probe: probe, extra: extra, wrapTools: wrapTools)
    defer { lab.tearDown() }
    try lab.setUp()
    try await body(lab)
}

/// A process started inside a namespace (TestSupport's `ChildProcess`).
typealias LabDaemon = ChildProcess
