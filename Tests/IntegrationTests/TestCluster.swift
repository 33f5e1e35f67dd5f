import Foundation
import Synchronization
import TestSupport
import Testing

/// Two or more real `hotstandby run` processes on one database, with hooks that write marker files
/// (`<node>.role` holds `active` or `standby`) and a sampler that checks, every 20 ms, that at most
/// one running node's marker says active.
final class TestCluster: Sendable {
    let directory: String
    let cluster: String
    let conninfo: String
    let interval: Duration
    let timeout: Duration
    private let nodes = Mutex<[String: NodeProcess]>([:])
    private let samples = Mutex(SampleStats())

    struct SampleStats {
        var samples = 0
        var doubleSamples = 0
        var longestDouble: Duration = .zero
        var doubleSince: ContinuousClock.Instant?
    }

    init(
        name: String,
        conninfo: String? = nil,
        interval: Duration = .milliseconds(200),
        timeout: Duration = .seconds(2)
    ) throws {
        self.cluster = "\(name)-\(UUID().uuidString.prefix(6))"
        self.conninfo = conninfo ?? TestEnvironment.conninfo!
        self.interval = interval
        self.timeout = timeout
        directory = NSTemporaryDirectory() + "hs-it-" + cluster
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let hook = """
            #!/bin/sh
            echo "$(date +%s.%N) $HOTSTANDBY_NODE $1 $HOTSTANDBY_EPOCH" >> "\(directory)/hooks.log"
            # A test that names a file in `probe` learns whether it existed when this hook ran.
            if [ -f "\(directory)/probe" ] && [ -e "$(cat "\(directory)/probe")" ]; then
                echo "$HOTSTANDBY_NODE $1 saw $(cat "\(directory)/probe")" >> "\(directory)/probe.log"
            fi
            echo "$1" > "\(directory)/$HOTSTANDBY_NODE.role"
            """
        try write(hook, to: "hook.sh", mode: 0o755)
        try write("#!/bin/sh\necho \"replica is 40 s behind\" >&2\nexit 3\n", to: "veto.sh", mode: 0o755)
        try runProgramSync(TestEnvironment.binary!, ["init-db", "--config", try config(for: "init")])
    }

    func write(_ text: String, to name: String, mode: Int) throws {
        let path = directory + "/" + name
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
    }

    /// Writes `<node>.yaml` and returns its path.
    @discardableResult
    func config(for node: String, priority: Int = 100, extra: String = "", prePromote: String? = nil) throws -> String {
        let yaml = """
            cluster: "\(cluster)"
            node: "\(node)"
            priority: \(priority)
            logLevel: info
            stateDirectory: "\(directory)/\(node)-state"
            database:
              conninfo: "\(conninfo)"
            heartbeat:
              interval: \(Int(interval.components.seconds * 1000 + interval.components.attoseconds / 1_000_000_000_000_000))ms
              timeout: \(Int(timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000))ms
            http:
              enabled: false
            hooks:
              promote: ["\(directory)/hook.sh", "active"]
              demote: ["\(directory)/hook.sh", "standby"]
            \(prePromote.map { "  prePromote: [\"\($0)\"]" } ?? "")
            \(extra)
            """
        let path = directory + "/\(node).yaml"
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @discardableResult
    func runHotstandby(_ arguments: [String]) async throws -> (status: Int32, output: String) {
        try await runProgram(TestEnvironment.binary!, arguments)
    }

    /// Starts `hotstandby run` for `node` (writing its config unless one exists).
    @discardableResult
    func start(_ node: String, priority: Int = 100, extra: String = "", prePromote: String? = nil) throws -> NodeProcess
    {
        let path = directory + "/\(node).yaml"
        if !FileManager.default.fileExists(atPath: path) || !extra.isEmpty || priority != 100 || prePromote != nil {
            try config(for: node, priority: priority, extra: extra, prePromote: prePromote)
        }
        let process = NodeProcess(name: node, configPath: path, logPath: directory + "/\(node).log")
        try process.start()
        nodes.withLock { $0[node] = process }
        return process
    }

    func node(_ name: String) -> NodeProcess? { nodes.withLock { $0[name] } }

    /// Starts `node` and waits until its promote hook has run.
    func startActive(_ node: String, extra: String = "") async throws {
        try start(node, extra: extra)
        let active = await waitUntil(.seconds(10)) { self.marker(node) == "active" }
        try #require(active != nil, "\(node) never became active:\n\(logs())")
    }

    /// Starts `node` and waits until its row shows it as a fresh standby.
    func startStandby(_ node: String, priority: Int = 100, extra: String = "", prePromote: String? = nil) async throws {
        try start(node, priority: priority, extra: extra, prePromote: prePromote)
        let seen = await waitUntil(.seconds(10)) {
            guard let status = try? await self.statusJSON(), let rows = status["nodes"] as? [[String: Any]] else {
                return false
            }
            return rows.contains {
                $0["node"] as? String == node && $0["role"] as? String == "standby"
                    && (($0["lastSeenSeconds"] as? Double) ?? 99) < 1
            }
        }
        try #require(seen != nil, "\(node) never seen as standby:\n\(logs())")
    }

    /// `kill -9` of `victim`, then waits until `heir`'s promote hook ran; returns how long that took.
    @discardableResult
    func killAndAwaitTakeover(of victim: String = "a", by heir: String = "b") async throws -> Duration {
        let killed = ContinuousClock.now
        node(victim)!.signal(SIGKILL)
        let took = await waitUntil(timeout + .seconds(3)) { self.marker(heir) == "active" }
        return killed.duration(to: try #require(took, "\(heir) never took over:\n\(logs())"))
    }

    /// What `<node>.role` says: `active`, `standby`, or nil before any hook ran.
    func marker(_ node: String) -> String? {
        (try? String(contentsOfFile: directory + "/\(node).role", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Nodes whose marker says active and whose process is alive (a SIGSTOPped one still counts:
    /// it still holds what it held).
    func activeNodes() -> [String] {
        let processes = nodes.withLock { $0 }
        return processes.keys.sorted().filter { name in
            marker(name) == "active" && (processes[name]?.isRunning ?? false)
        }
    }

    var hooksLog: String { (try? String(contentsOfFile: directory + "/hooks.log", encoding: .utf8)) ?? "" }

    /// Samples every 20 ms until cancelled.
    func sample() async {
        while !Task.isCancelled {
            let active = activeNodes().count
            let now = ContinuousClock.now
            samples.withLock { stats in
                stats.samples += 1
                if active > 1 {
                    stats.doubleSamples += 1
                    if stats.doubleSince == nil { stats.doubleSince = now }
                    stats.longestDouble = max(stats.longestDouble, stats.doubleSince!.duration(to: now))
                } else {
                    stats.doubleSince = nil
                }
            }
            try? await Task.sleep(for: .milliseconds(20))
        }
    }

    var stats: SampleStats { samples.withLock { $0 } }

    /// Waits until `condition` holds, polling every 10 ms; returns the instant it held, or nil on timeout.
    func waitUntil(_ timeout: Duration, _ condition: () async -> Bool) async -> ContinuousClock.Instant? {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while ContinuousClock.now < deadline {
            if await condition() { return .now }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return await condition() ? .now : nil
    }

    /// `status --json`, decoded loosely.
    func statusJSON() async throws -> [String: Any] {
        let (status, output) = try await runHotstandby(["status", "--json", "--config", directory + "/init.yaml"])
        guard status == 0, let object = try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any]
        else {
            throw HarnessError("status --json failed (\(status)): \(output)")
        }
        return object
    }

    func logs() -> String {
        nodes.withLock { $0 }.values.map { "--- \($0.name)\n\($0.log.suffix(3000))" }.joined(separator: "\n")
    }

    func stopAll() {
        for process in nodes.withLock({ Array($0.values) }) {
            process.signal(SIGCONT)
            process.signal(SIGKILL)
            _ = process.isRunning
        }
    }

    deinit {
        stopAll()
        try? FileManager.default.removeItem(atPath: directory)
    }
}

extension Duration {
    var ms: Int { Int(components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000) }
}
