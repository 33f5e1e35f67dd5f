import ArgumentParser
import FailoverController
import Heartbeat
import HotStandbyConfig
import Operator

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
