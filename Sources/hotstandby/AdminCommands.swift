import ArgumentParser
import FailoverController
import Heartbeat

/// `hotstandby init-db`: creates or upgrades the schema.
struct InitDB: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init-db",
        abstract: "Create or upgrade hotstandby's tables in the database (idempotent)."
    )

    @OptionGroup var options: ConfigOption

    func run() async throws {
        let config = try options.load()
        let admin = ClusterAdmin(database: config.database)
        let existing: Int?
        do throws(PGError) {
            existing = try await admin.schemaVersion()
        } catch {
            throw ExitMessage(text: error.description)
        }
        if let version = existing, version > Schema.currentVersion {
            throw ExitMessage(
                text: "the database schema is version \(version), newer than this binary "
                    + "supports (\(Schema.currentVersion)): upgrade hotstandby on this host"
            )
        }
        do throws(PGError) {
            let applied = try await admin.migrate()
            if applied.isEmpty {
                print("schema is current (version \(Schema.currentVersion)); nothing to do")
            } else {
                print("applied migrations \(applied.map(String.init).joined(separator: ", ")); schema version \(Schema.currentVersion)")
            }
        } catch {
            throw ExitMessage(text: error.description)
        }
    }
}

/// `hotstandby check-config`: validates the file and exits.
struct CheckConfig: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Validate the configuration file and print the effective timing."
    )

    @OptionGroup var options: ConfigOption

    @Flag(help: "Also connect to the database and check its schema.")
    var database = false

    @Option(help: "The systemd unit file whose WatchdogSec/TimeoutAbortSec to check against the heartbeat (default: the installed hotstandby.service and its drop-ins).")
    var unit: String?

    @Flag(help: "Also check this host's prerequisites: the interface, the programs each part runs, key and password files, the shared folder, the beat socket's folder, and that http.listen can be bound (run it with the daemon stopped).")
    var host = false

    func run() async throws {
        let config = try options.load()
        let f = config.failover
        // The database and the host first: OK is printed only when every check passed.
        if database {
            do throws(PGError) {
                try await ClusterAdmin(database: config.database).checkSchema()
            } catch {
                throw ExitMessage(text: error.description)
            }
        }
        if host {
            var problems = await HostPrerequisites(config: config).problems()
            if let problem = ListenProbe.problem(config.http) { problems.append(problem) }
            if !problems.isEmpty {
                throw ExitMessage(
                    text: "\(config.path): this host is not ready (the node would not be eligible):\n"
                        + problems.map { "  - \($0)" }.joined(separator: "\n"))
            }
        }
        print(
            "\(config.path): OK — cluster '\(config.cluster)', node '\(config.node)', priority \(config.priority), "
                + "interval \(f.interval.text), timeout \(f.timeout.text), renewDeadline \(f.renewDeadline.text), "
                + "database call deadline \(config.database.callTimeout.text)"
                + (config.hooks.demote != nil ? ", hooks.demoteTimeout \(config.hooks.demoteTimeout.text)" : "")
        )
        print(
            "state: \(config.stateDirectory)" + (config.stateDirectoryIsDefault ? " (the default for this cluster)" : "")
                + " — alert spool \(config.alertSpoolDirectory)"
                + (config.parts.sharedFolder.map { ", snapshot cache \($0.localCacheDirectory)" } ?? "")
        )
        if let note = config.oldLayoutNote() { print("note: \(note)") }
        let demoteTime = config.hooks.demote != nil ? config.hooks.demoteTimeout + config.hooks.killGrace : .zero
        let unitValues = WatchdogFit.read(paths: unit.map { [$0] } ?? WatchdogFit.defaultUnitPaths)
        for warning in WatchdogFit.warnings(unitValues, failover: f, demoteTime: demoteTime) {
            print("warning: \(warning)")
        }
        if database { print("database: reachable, schema version \(Schema.currentVersion)") }
        if host { print("host: every prerequisite of the configured parts holds") }
        if config.health.check != nil || config.health.beatSocket != nil || config.health.standbyCheck != nil {
            let h = config.health.settings
            print(
                "health: every \(h.interval.text) (deadline \(h.timeout.text)), failed after \(h.fall), healthy after \(h.rise), "
                    + "\(h.recoverAttempts) recover attempt(s), hold-down \(h.holdDown.text); a dead service on the active "
                    + "moves within about \((h.interval * h.fall + h.timeout).text) + the hand-off")
        }
    }
}

/// `hotstandby beat`: the application's own heartbeat, one datagram to `health.beat.socket`.
struct Beat: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Tell the daemon the service is alive (health.beat): send one datagram to the beat socket.",
        discussion: """
            Run it from the service (or its own health loop) at least every health.beat.timeout. The same from
            Python: socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM).sendto(b"beat", "/run/hotstandby/beat.sock")
            """
    )

    @Option(help: "The beat socket (default: health.beat.socket of --config).")
    var socket: String?

    @Option(name: .long, help: "The configuration file (read only when --socket is not given).")
    var config: String = Config.defaultPath

    func run() async throws {
        let path: String
        if let socket {
            path = socket
        } else {
            guard let configured = try Config.load(path: config).health.beatSocket else {
                throw ExitMessage(text: "\(config): health.beat.socket is not set; set it, or pass --socket PATH")
            }
            path = configured
        }
        if let problem = BeatClient.send(to: path) { throw ExitMessage(text: problem) }
    }
}

/// `hotstandby switchover --to NODE`.
struct Switchover: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Move the active role to another node by hand, without waiting for the timeout."
    )

    @OptionGroup var options: ConfigOption

    @Option(help: "The node that should become active.")
    var to: String

    func run() async throws {
        let config = try options.load()
        do throws(PGError) {
            try await ClusterAdmin(database: config.database).requestSwitchover(
                cluster: config.cluster,
                to: to,
                seenWithin: config.failover.interval * 2 + .milliseconds(500)
            )
            print("switchover to '\(to)' requested; the active hands over at its next renew")
        } catch {
            throw ExitMessage(text: "switchover refused: \(error.message)")
        }
    }
}

/// `hotstandby pause`.
struct Pause: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Maintenance: no standby takes over until `resume` (the active keeps serving and renewing)."
    )

    @OptionGroup var options: ConfigOption

    func run() async throws {
        let config = try options.load()
        do throws(PGError) {
            try await ClusterAdmin(database: config.database).setPaused(cluster: config.cluster, true, by: config.node)
            print("cluster '\(config.cluster)' paused: no takeover until `hotstandby resume`")
        } catch {
            throw ExitMessage(text: error.description)
        }
    }
}

/// `hotstandby resume`.
struct Resume: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "End a pause: standbys start counting the timeout afresh."
    )

    @OptionGroup var options: ConfigOption

    func run() async throws {
        let config = try options.load()
        do throws(PGError) {
            try await ClusterAdmin(database: config.database).setPaused(cluster: config.cluster, false, by: config.node)
            print("cluster '\(config.cluster)' resumed: standbys count the timeout from now")
        } catch {
            throw ExitMessage(text: error.description)
        }
    }
}

/// `hotstandby release`: what a node does when it stops being active, for `ExecStopPost=`.
struct Release: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Drop what this node holds (the address) and run the demote hook. Idempotent; for ExecStopPost=."
    )

    @OptionGroup var options: ConfigOption

    func run() async throws {
        let config = try options.load()
        let logger = makeLogger(label: "hotstandby.release", level: config.logLevel, node: config.node)
        defer { LogSink.standardError.flush() }
        let plan = try Wiring.plan(config: config, hooks: HookStep(hooks: config.hooks), logger: logger)
        let context = RoleContext(
            cluster: config.cluster,
            node: config.node,
            epoch: 0,
            role: .standby,
            reason: "release",
            logger: logger
        )
        var failures: [String] = []
        for step in plan.demotion {
            do {
                try await step.demote(context)
            } catch {
                failures.append("\(step.name): \(error)")
            }
        }
        if !failures.isEmpty {
            throw ExitMessage(text: "release finished with failures: " + failures.joined(separator: "; "))
        }
        print("released: nothing held by this node")
    }
}

/// `hotstandby register`: makes this node known to the cluster before its daemon first runs.
struct Register: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Make this node known to its cluster (role `registered` until its daemon runs). Idempotent."
    )

    @OptionGroup var options: ConfigOption

    func run() async throws {
        let config = try options.load()
        let registration: ClusterAdmin.Registration
        do throws(PGError) {
            let admin = ClusterAdmin(database: config.database)
            try await admin.checkSchema()
            registration = try await admin.register(
                cluster: config.cluster, node: config.node, priority: config.priority,
                address: config.address, version: HotStandby.version
            )
        } catch {
            throw ExitMessage(text: "cannot register node '\(config.node)': \(error.message)")
        }
        if registration.created {
            print("registered node '\(config.node)' in cluster '\(config.cluster)' (priority \(config.priority))")
        } else {
            print(
                "node '\(config.node)' is already known to cluster '\(config.cluster)' (role \(registration.role), "
                    + "row refreshed \(String(format: "%.1f", registration.ageSeconds)) s ago); its priority and version are up to date"
            )
        }
    }
}
