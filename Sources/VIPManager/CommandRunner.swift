import HotStandbyCore
import Shell

/// Runs `ip`, `arping` and `ndisc6` for the module: the optional command prefix (`ip netns exec NS`), a deadline
/// on every call, and `ShellError` turned into `VIPError`.
struct CommandRunner: Sendable {
    var prefix: [String]
    var timeout: Duration

    /// Runs `argv` (after the prefix) with `timeout` or the runner's default.
    ///
    /// A program that exits non-zero is returned, not thrown: callers decide what the status means.
    func run(
        _ argv: [String],
        timeout: Duration? = nil,
        killGrace: Duration = .milliseconds(200)
    ) async throws(VIPError) -> CommandResult {
        let command = Command(prefix + argv, timeout: timeout ?? self.timeout, killGrace: killGrace)
        do {
            return try await command.run()
        } catch {
            if error.code == .timedOut {
                throw VIPError(
                    code: .timedOut,
                    message: "\(command) did not finish within \((timeout ?? self.timeout).text) "
                        + "and was stopped; check that the program is not hung (`ip` waits on the kernel's "
                        + "netlink lock)",
                    output: error.output
                )
            }
            throw VIPError(
                code: .commandFailed,
                message: "\(command) could not be started: \(error.message); check the path "
                    + "(vip.ip-path / vip.arping-path / vip.ndisc6-path) and that the package is installed",
                output: error.output
            )
        }
    }

    /// Runs `argv` and throws unless it exits 0.
    func runChecked(_ argv: [String], what: String) async throws(VIPError) -> CommandResult {
        let result = try await run(argv)
        guard result.succeeded else {
            throw VIPError(
                code: .commandFailed,
                message: "\(what) failed (\(result.statusText)): \((prefix + argv).joined(separator: " "))",
                output: result.output
            )
        }
        return result
    }
}
