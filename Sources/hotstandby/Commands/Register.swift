import ArgumentParser
import FailoverController
import Heartbeat
import HotStandbyConfig
import HotStandbyCore

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
                cluster: config.cluster,
                node: config.node,
                priority: config.priority,
                address: config.address,
                version: HotStandby.version
            )
        } catch {
            throw ExitMessage(text: "cannot register node '\(config.node)': \(error.message)")
        }
        if registration.created {
            print("registered node '\(config.node)' in cluster '\(config.cluster)' (priority \(config.priority))")
        } else {
            print(
                "node '\(config.node)' is already known to cluster '\(config.cluster)' (role \(registration.role), "
                    + "row refreshed \(String(cFormat: "%.1f", registration.ageSeconds)) s ago); its priority and version are up to date"
            )
        }
    }
}
