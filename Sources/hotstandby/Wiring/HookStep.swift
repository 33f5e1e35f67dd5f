import FailoverController
import HotStandbyConfig
import Logging
import Shell

/// The operator's hooks: `hooks.prePromote` as the promotion gate, `hooks.promote` and `hooks.demote`
/// as a role step. Each runs as an argv array with the role, epoch, cluster and node in its
/// environment, one at a time, with `hooks.timeout`.
struct HookStep: RoleStep, PromotionGate {
    var hooks: Config.Hooks

    var name: String { "hooks" }
    /// `hooks.promote` failing means the service did not start here: the node steps down.
    func failureIsLocal(_ error: any Error) -> Bool { true }

    private func environment(_ context: RoleContext, role: String) -> [String: String] {
        [
            "HOTSTANDBY_ROLE": role,
            "HOTSTANDBY_EPOCH": String(context.epoch),
            "HOTSTANDBY_CLUSTER": context.cluster,
            "HOTSTANDBY_NODE": context.node,
            "HOTSTANDBY_REASON": context.reason,
        ]
    }

    /// Runs one hook; throws `HookError` when it fails or overruns.
    private func run(
        _ key: String,
        _ argv: [String],
        role: String,
        context: RoleContext,
        timeout: Duration? = nil,
        killGrace: Duration? = nil
    ) async throws -> CommandResult {
        let command = Command(
            argv,
            environment: environment(context, role: role),
            timeout: timeout ?? hooks.timeout,
            killGrace: killGrace ?? hooks.killGrace
        )
        context.logger.info("running hook", metadata: ["hook": "\(key)", "argv": "\(command)"])
        let result: CommandResult
        do {
            result = try await command.run()
        } catch {
            throw HookError(key: key, message: error.message, output: error.output)
        }
        if !result.output.isEmpty {
            context.logger.notice(
                "hook output",
                metadata: ["hook": "\(key)", "output": "\(result.output.suffix(2000))"]
            )
        }
        guard result.succeeded else {
            throw HookError(key: key, message: "ended with \(result.statusText)", output: result.output)
        }
        return result
    }

    func check(_ context: RoleContext) async -> String? {
        guard let argv = hooks.prePromote else { return nil }
        do {
            _ = try await run("hooks.prePromote", argv, role: "active", context: context)
            return nil
        } catch let error as HookError {
            let said = error.output.split(separator: "\n").last.map { ": \($0)" } ?? ""
            return "hooks.prePromote \(error.message)\(said)"
        } catch {
            return "hooks.prePromote failed: \(error)"
        }
    }

    func promote(_ context: RoleContext) async throws {
        guard let argv = hooks.promote else { return }
        _ = try await run("hooks.promote", argv, role: "active", context: context)
    }

    func demote(_ context: RoleContext) async throws {
        guard let argv = hooks.demote else { return }
        // Killed at its share of the room between renewDeadline and timeout, without grace: a standby
        // may start the service once that room has passed (DemoteRoom).
        _ = try await run(
            "hooks.demote",
            argv,
            role: "standby",
            context: context,
            timeout: hooks.demoteTimeout,
            killGrace: .zero
        )
    }
}

/// A hook that failed, named by its key.
struct HookError: Error, CustomStringConvertible {
    var key: String
    var message: String
    var output: String
    var description: String { "\(key) \(message)" }
}
