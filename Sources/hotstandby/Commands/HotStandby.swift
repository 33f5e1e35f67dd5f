import ArgumentParser
import HotStandbyConfig

/// `hotstandby`: a heartbeat-counter failover controller.
@main
struct HotStandby: AsyncParsableCommand {
    /// The version, shown by `--version` and recorded in each node's row.
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "hotstandby",
        abstract: "A heartbeat-counter failover controller: one active host, hot standbys, PostgreSQL as the arbiter.",
        version: version,
        subcommands: [
            Run.self, Status.self, History.self, Switchover.self, Pause.self, Resume.self, Release.self, InitDB.self,
            Register.self, CheckConfig.self, Beat.self,
        ]
    )
}

/// The `--config` option every subcommand takes.
struct ConfigOption: ParsableArguments {
    @Option(name: .long, help: "The configuration file.")
    var config: String = Config.defaultPath

    /// Loads and validates the file, as a `ValidationError`-style failure with every problem named.
    func load() throws -> Config {
        try Config.load(path: config)
    }
}
