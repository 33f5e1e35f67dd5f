import FailoverController
import FoundationEssentials
import Glibc
import Heartbeat
import Logging

/// The whole configuration file (`/etc/hotstandby/hotstandby.yaml`), decoded and validated.
public struct Config: Sendable {
    /// Hook argv arrays and their deadline.
    public struct Hooks: Sendable {
        public var prePromote: [String]?
        public var promote: [String]?
        public var demote: [String]?
        /// `hooks.timeout`: the pre-promote and promote hooks' deadline. Defaults to 30 seconds.
        public var timeout: Duration
        /// `hooks.demoteTimeout`: the demote hook's share of the room between `renewDeadline` and
        /// `timeout`; the hook is killed (SIGKILL) when it overruns it. Defaults to `hooks.timeout` when
        /// that is written, else to what the room holds (`Config.demoteRoom`), at most 30 seconds.
        public var demoteTimeout: Duration
        /// How long a hook stopped by a demotion gets between SIGTERM and SIGKILL: a tenth of the room,
        /// at most 500 ms.
        public var killGrace: Duration
    }

    public var path: String
    public var cluster: String
    public var node: String
    public var priority: Int
    public var address: String
    /// `stateDirectory`: defaults to `/var/lib/hotstandby/<cluster>` (see `defaultStateDirectory`).
    public var stateDirectory: String
    /// Whether `stateDirectory` was left to its default (then the old shared layout is looked for).
    public var stateDirectoryIsDefault: Bool
    public var logLevel: Logger.Level
    public var database: DatabaseSettings
    public var failover: FailoverSettings
    public var hooks: Hooks
    /// `health.*`, `hooks.recover`, `failback`.
    public var health: HealthConfig
    public var http: HTTPSettings
    public var parts: PartsConfig
    /// `failsafe.*` (issue 18).
    public var failsafe: FailsafeConfig

    /// `application_name` of the node's connections, as `pg_stat_activity` shows them: `hotstandby NODE`, printable
    /// ASCII only, at most 63 bytes (PostgreSQL's limit).
    public static func applicationName(node: String) -> String {
        let printable = String(
            String.UnicodeScalarView(node.unicodeScalars.map { (32...126).contains($0.value) ? $0 : "?" })
        )
        return String(("hotstandby " + printable).prefix(63))
    }

    /// The default path of the configuration file.
    public static let defaultPath = "/etc/hotstandby/hotstandby.yaml"

    /// Reads and validates the file; throws `ConfigError` listing every problem with its key.
    public static func load(path: String) throws -> Config {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            let reason =
                FileManager.default.fileExists(atPath: path) ? "cannot be read (permissions?)" : "does not exist"
            throw ConfigError(
                problems: ["the configuration file \(reason); pass another with --config PATH"],
                file: path
            )
        }
        return try parse(yaml: text, path: path)
    }

    /// Decodes a document; `path` only names it in messages.
    public static func parse(yaml: String, path: String) throws -> Config {
        let reader = ConfigReader(yaml: yaml)
        if !reader.problems.isEmpty { throw ConfigError(problems: reader.problems, file: path) }

        let cluster = reader.requiredString("cluster", example: "cluster: billing")
        let node = reader.requiredString("node", example: "node: host-a")
        for (key, value) in [("cluster", cluster), ("node", node)] where !value.isEmpty {
            if value.count > 200 || value.unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
            {
                reader.problem(
                    "\(key): '\(value.prefix(40))' must be at most 200 characters without control characters"
                )
            }
        }
        let priority = reader.int("priority", default: 100, range: 0...1_000_000)
        let address = reader.string("address") ?? ""
        let configuredState = reader.string("stateDirectory")
        let stateDirectory = configuredState ?? Self.defaultStateDirectory(cluster: cluster)
        let levelText = reader.string("logLevel") ?? "info"
        let logLevel =
            Logger.Level(rawValue: levelText.lowercased())
            ?? {
                reader.problem(
                    "logLevel: '\(levelText)' is not one of trace, debug, info, notice, warning, error, critical"
                )
                return .info
            }()

        let conninfo = reader.requiredString(
            "database.conninfo",
            example: "database: {conninfo: \"host=db1,db2 dbname=hotstandby target_session_attrs=read-write\"}"
        )
        if !conninfo.isEmpty, let problem = DatabaseSettings.conninfoProblem(conninfo) {
            // The value itself is not shown: it may hold the password.
            reader.problem(
                "database.conninfo: libpq cannot parse it (\(problem)); write keyword=value pairs separated by "
                    + "spaces, quoting values with spaces in single quotes (password='a b'), or a postgresql:// URI"
            )
        }
        let interval = reader.duration("heartbeat.interval", default: .seconds(5)) ?? .seconds(5)
        let timeout = reader.duration("heartbeat.timeout", default: .seconds(60)) ?? .seconds(60)
        let renewDeadline = reader.duration("heartbeat.renewDeadline", default: nil)
        let callTimeout = reader.duration("database.callTimeout", default: nil)
        let listen = reader.bool("database.listen", default: true)

        let writtenHooksTimeout = reader.duration("hooks.timeout", default: nil)
        let writtenDemoteTimeout = reader.duration("hooks.demoteTimeout", default: nil)
        let room = DemoteRoom(
            interval: interval,
            timeout: timeout,
            renewDeadline: renewDeadline ?? (timeout - interval * 3)
        )
        let hooks = Hooks(
            prePromote: reader.stringList("hooks.prePromote"),
            promote: reader.stringList("hooks.promote"),
            demote: reader.stringList("hooks.demote"),
            timeout: writtenHooksTimeout ?? .seconds(30),
            demoteTimeout: writtenDemoteTimeout ?? writtenHooksTimeout ?? min(.seconds(30), room.forDemoteHook),
            killGrace: room.killGrace
        )
        if hooks.timeout < .milliseconds(100) {
            reader.problem(
                "hooks.timeout: \(hooks.timeout.text) leaves a hook no time to run; give at least 100ms (default 30s)"
            )
        }
        if hooks.demote != nil, room.margin > .zero {
            let key =
                writtenDemoteTimeout != nil ? "hooks.demoteTimeout" : writtenHooksTimeout != nil ? "hooks.timeout" : nil
            if let problem = room.problem(
                demoteTimeout: hooks.demoteTimeout,
                key: key,
                renewDeadlineWritten: renewDeadline != nil
            ) {
                reader.problem(problem)
            }
        }
        for (key, argv) in [
            ("hooks.prePromote", hooks.prePromote), ("hooks.promote", hooks.promote), ("hooks.demote", hooks.demote),
        ] {
            if let argv, let problem = HealthConfig.argvProblem(argv) { reader.problem("\(key): \(problem)") }
        }

        let health = HealthConfig.parse(reader, interval: interval)
        let http = HTTPSettings.parse(reader)
        let failsafe = FailsafeConfig.parse(reader, http: http)
        let failover = FailoverSettings(
            cluster: cluster,
            node: node,
            interval: interval,
            timeout: timeout,
            renewDeadline: renewDeadline,
            health: health.settings,
            failsafe: failsafe.settings
        )
        for problem in failover.problems(renewDeadlineIsDefault: renewDeadline == nil)
        where !(problem.hasPrefix("cluster:") || problem.hasPrefix("node:")) {
            reader.problem(problem)
        }
        // Each call's deadline: shorter than the interval, so a renew never overlaps the next one.
        let defaultCallTimeout = min(max(interval * 0.8, .milliseconds(100)), .seconds(5))
        let calls = callTimeout ?? defaultCallTimeout
        if calls >= interval || calls <= .zero {
            reader.problem(
                "database.callTimeout: \(calls.text) must be shorter than heartbeat.interval (\(interval.text))"
            )
        }

        let parts = PartsConfig.parse(reader, cluster: cluster, stateDirectory: stateDirectory)

        reader.reportUnknownKeys()
        if !reader.problems.isEmpty { throw ConfigError(problems: reader.problems, file: path) }
        return Config(
            path: path,
            cluster: cluster,
            node: node,
            priority: priority,
            address: address,
            stateDirectory: stateDirectory,
            stateDirectoryIsDefault: configuredState == nil,
            logLevel: logLevel,
            database: DatabaseSettings(
                conninfo: conninfo,
                callTimeout: calls,
                listen: listen,
                applicationName: Self.applicationName(node: node)
            ),
            failover: failover,
            hooks: hooks,
            health: health,
            http: http,
            parts: parts,
            failsafe: failsafe
        )
    }
}
