import ArgumentParser
import FailoverController
import Heartbeat
import HotStandbyConfig

/// `hotstandby check-config`: validates the file and exits.
struct CheckConfig: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Validate the configuration file and print the effective timing."
    )

    @OptionGroup var options: ConfigOption

    @Flag(help: "Also connect to the database and check its schema.")
    var database = false

    @Option(
        help:
            "The systemd unit file whose WatchdogSec/TimeoutAbortSec to check against the heartbeat (default: the installed hotstandby.service and its drop-ins)."
    )
    var unit: String?

    @Flag(
        help:
            "Also check this host's prerequisites: the interface, the programs each part runs, key and password files, the shared folder, the beat socket's folder, and that http.listen can be bound (run it with the daemon stopped)."
    )
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
                        + problems.map { "  - \($0)" }.joined(separator: "\n")
                )
            }
        }
        print(
            "\(config.path): OK — cluster '\(config.cluster)', node '\(config.node)', priority \(config.priority), "
                + "interval \(f.interval.text), timeout \(f.timeout.text), renewDeadline \(f.renewDeadline.text), "
                + "database call deadline \(config.database.callTimeout.text)"
                + (config.hooks.demote != nil ? ", hooks.demoteTimeout \(config.hooks.demoteTimeout.text)" : "")
        )
        print(
            "state: \(config.stateDirectory)"
                + (config.stateDirectoryIsDefault ? " (the default for this cluster)" : "")
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
                    + "moves within about \((h.interval * h.fall + h.timeout).text) + the hand-off"
            )
        }
    }
}
