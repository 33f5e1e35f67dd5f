import FailoverController
import HotStandbyConfig
import HotStandbyCore
import Logging
import Shell

/// The daemon's `HealthProbe`: runs `health.check` (and reads the beat) on the active, `health.standbyCheck`
/// on a standby, `hooks.recover` when asked, and the host prerequisites. Each command is an argv array
/// in its own process group, ended (the whole group) at `health.timeout`; a run past it is a failure.
struct HealthMonitor: HealthProbe {
    let config: Config
    let beat: BeatListener?
    let logger: Logger

    init(config: Config, logger: Logger) {
        self.config = config
        self.logger = logger
        self.beat = config.health.beatSocket.map { BeatListener(path: $0) }
        if let problem = beat?.bindProblem { logger.error("beat socket", metadata: ["problem": "\(problem)"]) }
    }

    func check(_ role: CheckRole, epoch: Int64, activeSince: ContinuousClock.Instant?) async -> CheckReport? {
        let argv = role == .active ? config.health.check : config.health.standbyCheck
        let beat = role == .active ? self.beat : nil
        guard argv != nil || beat != nil else { return nil }
        let started = ContinuousClock.now
        var passed = true
        var detail = ""
        if let argv {
            (passed, detail) = await run(
                role == .active ? "health.check" : "health.standbyCheck",
                argv,
                role: role,
                epoch: epoch
            )
        }
        if passed, let beat {
            let verdict = beat.verdict(timeout: config.health.beatTimeout, since: activeSince)
            passed = verdict.passed
            detail = detail.isEmpty ? verdict.detail : detail + "; " + verdict.detail
        }
        return CheckReport(
            role: role,
            epoch: epoch,
            passed: passed,
            detail: detail,
            seconds: started.duration(to: .now).secondsValue
        )
    }

    func recover(attempt: Int, of attempts: Int, context: RoleContext) async -> (passed: Bool, detail: String) {
        guard let argv = config.health.recover else { return (false, "hooks.recover is not configured") }
        let command = Command(
            argv,
            environment: [
                "HOTSTANDBY_ROLE": "active", "HOTSTANDBY_CLUSTER": config.cluster, "HOTSTANDBY_NODE": config.node,
                "HOTSTANDBY_REASON": "recover", "HOTSTANDBY_ATTEMPT": "\(attempt)/\(attempts)",
                "HOTSTANDBY_EPOCH": String(context.epoch),
            ],
            timeout: config.hooks.timeout,
            killGrace: config.hooks.killGrace
        )
        logger.notice(
            "running hook",
            metadata: ["hook": "hooks.recover", "argv": "\(command)", "attempt": "\(attempt)/\(attempts)"]
        )
        do {
            let result = try await command.run()
            let line = Self.lastLine(result.output)
            return result.succeeded
                ? (true, line) : (false, "ended with \(result.statusText)\(line.isEmpty ? "" : ": " + line)")
        } catch {
            return (false, error.message)
        }
    }

    func hostProblems() async -> [String] {
        var problems = await HostPrerequisites(config: config).problems()
        // A socket that could not be bound (its folder was missing) is tried again once its cause may be fixed.
        if let problem = beat?.bindIfNeeded() { problems.append(problem) }
        return problems
    }

    /// Runs one check; a non-zero exit, a signal or the deadline is a failure with the output's last line.
    private func run(_ key: String, _ argv: [String], role: CheckRole, epoch: Int64) async -> (Bool, String) {
        let command = Command(
            argv,
            environment: [
                "HOTSTANDBY_ROLE": role.rawValue, "HOTSTANDBY_CLUSTER": config.cluster, "HOTSTANDBY_NODE": config.node,
                "HOTSTANDBY_EPOCH": String(epoch),
            ],
            timeout: config.health.settings.timeout,
            killGrace: .milliseconds(100)
        )
        do {
            let result = try await command.run()
            let line = Self.lastLine(result.output)
            if result.succeeded { return (true, line) }
            return (false, "\(key) ended with \(result.statusText)\(line.isEmpty ? "" : ": " + line)")
        } catch {
            let line = Self.lastLine(error.output)
            return (false, "\(key) \(error.message)\(line.isEmpty ? "" : ": " + line)")
        }
    }

    /// The last non-empty line, at most 200 characters.
    static func lastLine(_ output: String) -> String {
        let line = output.split(whereSeparator: \.isNewline).last.map(String.init) ?? ""
        return String(line.trimmingBlanks().prefix(200))
    }
}
