import FailoverController
import FoundationEssentials

/// `health.*`, `hooks.recover` and `failback`: what checks the service and what a failure leads to.
public struct HealthConfig: Sendable {
    /// `health.check`: the argv run on the active; exit 0 is healthy.
    public var check: [String]?
    /// `health.standbyCheck`: the argv run on a standby; exit 0 means ready to take over.
    public var standbyCheck: [String]?
    /// `hooks.recover`: the argv that restarts the service in place.
    public var recover: [String]?
    /// `health.beat.socket`: the datagram socket the application beats on.
    public var beatSocket: String?
    /// `health.beat.timeout`: the longest silence of the application's beat.
    public var beatTimeout: Duration
    /// The counts, deadlines and failback, as the state machine needs them.
    public var settings: HealthSettings

    /// Reads the keys; `interval` is `heartbeat.interval`.
    public static func parse(_ reader: ConfigReader, interval: Duration) -> HealthConfig {
        let check = reader.stringList("health.check")
        let standbyCheck = reader.stringList("health.standbyCheck")
        let recover = reader.stringList("hooks.recover")
        for (key, argv) in [("health.check", check), ("health.standbyCheck", standbyCheck), ("hooks.recover", recover)]
        {
            if let argv, let problem = argvProblem(argv) { reader.problem("\(key): \(problem)") }
        }
        let every = reader.duration("health.interval", default: interval) ?? interval
        if every < .milliseconds(50) {
            reader.problem("health.interval: \(every.text) is shorter than the least supported, 50ms")
        }
        let timeout = reader.duration("health.timeout", default: min(every, .seconds(10))) ?? min(every, .seconds(10))
        if timeout < .milliseconds(10) || timeout > .seconds(600) {
            reader.problem("health.timeout: \(timeout.text) must be from 10ms to 10m (each check run's deadline)")
        }
        let fall = reader.int("health.fall", default: 3, range: 1...100)
        let rise = reader.int("health.rise", default: 2, range: 1...100)
        let attempts = reader.int("health.recoverAttempts", default: recover == nil ? 0 : 1, range: 0...10)
        if attempts > 0 && recover == nil {
            reader.problem(
                "health.recoverAttempts: \(attempts) needs hooks.recover (the command that restarts the service), "
                    + "e.g. hooks: {recover: [/usr/bin/systemctl, restart, billing]}"
            )
        }
        let holdDown = reader.duration("health.holdDown", default: every * 10) ?? every * 10
        let beatSocket = reader.string("health.beat.socket")
        let beatTimeout = reader.duration("health.beat.timeout", default: .seconds(10)) ?? .seconds(10)
        if reader.has("health.beat") && beatSocket == nil {
            reader.problem(
                "health.beat.socket: missing; write for example `health: {beat: {socket: /run/hotstandby/beat.sock}}`"
            )
        }
        if let beatSocket {
            if !beatSocket.hasPrefix("/") {
                reader.problem("health.beat.socket: '\(beatSocket)' must be an absolute path")
            } else if beatSocket.utf8.count > 107 {
                reader.problem(
                    "health.beat.socket: '\(beatSocket.prefix(40))…' is longer than a socket path may be (107 bytes)"
                )
            }
            if beatTimeout < .milliseconds(100) {
                reader.problem("health.beat.timeout: \(beatTimeout.text) is shorter than the least supported, 100ms")
            }
        }
        let failback = parseFailback(reader)
        return HealthConfig(
            check: check,
            standbyCheck: standbyCheck,
            recover: recover,
            beatSocket: beatSocket,
            beatTimeout: beatTimeout,
            settings: HealthSettings(
                interval: every,
                timeout: timeout,
                fall: fall,
                rise: rise,
                recoverAttempts: attempts,
                holdDown: holdDown,
                checksActive: check != nil || beatSocket != nil,
                checksStandby: standbyCheck != nil,
                checksHost: true,
                failback: failback
            )
        )
    }

    /// `failback: manual` or `failback: {preferred: NODE, after: 10m}`.
    private static func parseFailback(_ reader: ConfigReader) -> HealthSettings.Failback {
        guard reader.has("failback") else { return .manual }
        if reader.node("failback")?.scalar != nil {
            let text = reader.string("failback") ?? ""
            if text != "manual" {
                reader.problem(
                    "failback: '\(text)' is not `manual` or a mapping such as `failback: {preferred: host-a, after: 10m}`"
                )
            }
            return .manual
        }
        let preferred = reader.requiredString(
            "failback.preferred",
            example: "failback: {preferred: host-a, after: 10m}"
        )
        let after = reader.duration("failback.after", default: .seconds(600)) ?? .seconds(600)
        guard !preferred.isEmpty else { return .manual }
        return .preferred(node: preferred, after: after)
    }

    /// Why an argv cannot be run, or nil.
    public static func argvProblem(_ argv: [String]) -> String? {
        guard let program = argv.first else {
            return "the list is empty; give the program and its arguments, or remove the key"
        }
        if !program.hasPrefix("/") {
            return "'\(program)' must be an absolute path (checks and hooks do not search PATH)"
        }
        if !FileManager.default.isExecutableFile(atPath: program) {
            return "'\(program)' is not an executable file on this host"
        }
        return nil
    }
}
