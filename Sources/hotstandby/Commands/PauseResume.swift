import ArgumentParser
import FailoverController
import Heartbeat
import HotStandbyConfig

/// `hotstandby pause` and `hotstandby resume`: set or clear the cluster's pause flag.
enum PauseFlag {
    /// Sets the flag to `paused` for the cluster of `options`' configuration and prints what it means.
    static func set(_ paused: Bool, options: ConfigOption) async throws {
        let config = try options.load()
        do throws(PGError) {
            try await ClusterAdmin(database: config.database).setPaused(
                cluster: config.cluster,
                paused,
                by: config.node
            )
            print(
                paused
                    ? "cluster '\(config.cluster)' paused: no takeover until `hotstandby resume`"
                    : "cluster '\(config.cluster)' resumed: standbys count the timeout from now"
            )
        } catch {
            throw ExitMessage(text: error.description)
        }
    }
}

/// `hotstandby pause`.
struct Pause: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Maintenance: no standby takes over until `resume` (the active keeps serving and renewing)."
    )

    @OptionGroup var options: ConfigOption

    func run() async throws { try await PauseFlag.set(true, options: options) }
}

/// `hotstandby resume`.
struct Resume: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "End a pause: standbys start counting the timeout afresh."
    )

    @OptionGroup var options: ConfigOption

    func run() async throws { try await PauseFlag.set(false, options: options) }
}
