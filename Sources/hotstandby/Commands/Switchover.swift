import ArgumentParser
import FailoverController
import Heartbeat
import HotStandbyConfig

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
                seenWithin: config.failover.interval * 3 + .milliseconds(500)
            )
            print("switchover to '\(to)' requested; the active hands over at its next renew")
        } catch {
            throw ExitMessage(text: "switchover refused: \(error.message)")
        }
    }
}
