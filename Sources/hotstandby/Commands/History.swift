import ArgumentParser
import FailoverController
import FoundationEssentials
import Glibc
import Heartbeat
import HotStandbyConfig
import HotStandbyCore

/// `hotstandby history`: every change of holder, one row per epoch, oldest first (as `patronictl history`).
struct History: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show every change of holder by epoch: the node, since when, why, how it ended, how long it held."
    )

    @OptionGroup var options: ConfigOption

    @Option(help: "Only the epochs held in the last DURATION (500ms, 30s, 15m, 24h).")
    var since: String?

    @Flag(help: "Print a JSON array, one object per epoch, oldest first.")
    var json = false

    func validate() throws {
        if let since, ConfigReader.parseDuration(since) == nil {
            throw ValidationError("--since: '\(since)' is not a duration; write it with a unit: 30s, 15m, 24h")
        }
    }

    func run() async throws {
        let config = try options.load()
        let window = since.flatMap(ConfigReader.parseDuration)
        let epochs: [HolderEpoch]
        do throws(PGError) {
            epochs = try await ClusterAdmin(database: config.database).history(cluster: config.cluster, within: window)
        } catch {
            throw ExitMessage(text: error.description)
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(epochs), as: UTF8.self))
        } else {
            print(Self.table(epochs, cluster: config.cluster, since: since))
        }
    }

    /// The epochs as an operator reads them: one line each, the reason last.
    static func table(_ epochs: [HolderEpoch], cluster: String, since: String?) -> String {
        guard !epochs.isEmpty else {
            return "cluster \(cluster): no holder " + (since.map { "in the last \($0)" } ?? "recorded yet")
        }
        let header = ["EPOCH", "NODE", "SINCE", "UNTIL", "HELD", "HOW", "ENDED", "WHY"]
        var rows = [header]
        for epoch in epochs {
            rows.append([
                String(epoch.epoch),
                epoch.node,
                epoch.since,
                epoch.until ?? "-",
                epoch.heldSeconds.map { Self.held($0) } ?? "?",
                epoch.how,
                epoch.ended,
                epoch.why,
            ])
        }
        let widths = (0..<header.count).map { column in rows.map { $0[column].count }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { column, value in
                column == row.count - 1 ? value : value.padded(to: widths[column])
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }

    /// `4.2 s`, `12 m 5 s`, `3 h 2 m`, `2 d 4 h`.
    static func held(_ seconds: Double) -> String {
        if seconds < 60 { return String(cFormat: "%.1f s", seconds) }
        let whole = Int(seconds)
        if whole < 3600 { return "\(whole / 60) m \(whole % 60) s" }
        if whole < 86_400 { return "\(whole / 3600) h \(whole % 3600 / 60) m" }
        return "\(whole / 86_400) d \(whole % 86_400 / 3600) h"
    }
}
