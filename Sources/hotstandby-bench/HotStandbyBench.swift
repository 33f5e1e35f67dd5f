import ArgumentParser

/// `hotstandby-bench`: the benchmark drivers `bench/` runs, kept out of the production binary.
@main
struct HotStandbyBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hotstandby-bench",
        abstract: "Benchmark drivers for bench/lease-load and bench/shared-folder (not for production use).",
        subcommands: [BenchLoad.self, BenchSnapshot.self]
    )
}

/// An error whose description is the whole message: ArgumentParser prints it as one line.
struct ExitMessage: Error, CustomStringConvertible {
    var text: String
    var description: String { text }
}
