import ArgumentParser
import FailoverController
import Heartbeat
import HotStandbyConfig
import Logging
import Operator
import ServiceLifecycle

/// `hotstandby run`: the daemon.
struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run this node: stand by, take over when the active's heartbeat stops, serve while active."
    )

    @OptionGroup var options: ConfigOption

    func run() async throws {
        let config = try options.load()
        if let problem = ListenProbe.problem(config.http) { throw ExitMessage(text: problem) }
        let logger = makeLogger(label: "hotstandby", level: config.logLevel, node: config.node)
        if let note = config.oldLayoutNote() { logger.notice("\(note)") }
        let parts = try Wiring(config: config, logger: logger)
        do {
            // On the node's shared connection (issue 16: the daemon keeps two, plus that one on demand).
            try await ClusterAdmin(database: config.database, slot: parts.shared).checkSchema()
        } catch let error where error.code == .schemaMismatch || error.code == .authenticationFailed {
            throw ExitMessage(text: error.description)
        } catch {
            logger.warning(
                "database not reachable at start; standing by and retrying",
                metadata: ["error": "\(error.description)"]
            )
        }
        let loop = FailoverLoop(
            settings: config.failover,
            store: parts.store,
            recorder: parts.recorder,
            gate: parts.gate,
            plan: parts.plan,
            clock: ContinuousClock(),
            logger: logger,
            onStatus: parts.onStatus,
            health: parts.health,
            peers: parts.peers,
            inbox: parts.inbox
        )
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                // ServiceGroup shuts services down one at a time in reverse order of registration, so the
                // loop comes last here and stops first: SIGTERM demotes and releases before anything
                // else is asked to stop (an SMTP send in flight cannot be cancelled for up to 15 s).
                services: parts.services.map { .init(service: $0) }
                    + [.init(service: loop, successTerminationBehavior: .gracefullyShutdownGroup)],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        // The last lines ("demoted", "stopped") are still in the log buffer: write them before exiting.
        defer { LogSink.standardError.flush() }
        do {
            try await group.run()
        } catch  where "\(error)".hasPrefix("bind(") {
            // Taken between the probe and the server's own bind: NIO's IOError, mapped the same way (the
            // other holder still has it, so the probe now says why).
            throw ExitMessage(text: ListenProbe.problem(config.http) ?? "http.listen \(config.http.listen): \(error)")
        }
    }
}

/// An error whose description is the whole message: ArgumentParser prints it as one line.
struct ExitMessage: Error, CustomStringConvertible {
    var text: String
    var description: String { text }
}
