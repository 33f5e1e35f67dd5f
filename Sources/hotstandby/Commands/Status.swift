import ArgumentParser
import FailoverController
import FoundationEssentials
import Heartbeat
import HotStandbyConfig
import HotStandbyCore
import Logging
import SharedFolderSync

/// `hotstandby status`: the cluster as the database shows it, from any host.
struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the lease, every node and the latest events (works whether the daemons run or not)."
    )

    @OptionGroup var options: ConfigOption

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    @Option(help: "How many recent events to show.")
    var events: Int = 10

    func run() async throws {
        let config = try options.load()
        let status: ClusterStatus
        do throws(PGError) {
            status = try await ClusterAdmin(database: config.database).status(
                cluster: config.cluster,
                eventLimit: events,
                timeout: config.failover.timeout
            )
        } catch {
            throw ExitMessage(text: error.description)
        }
        // The shared folder as this host sees it: the newest snapshot in the share, the local cache.
        var shared: SharedFolderStatus?
        if let sharedConfig = config.parts.sharedFolder,
            let sync = try? SharedFolderSync(config: sharedConfig, logger: Logger(label: "hotstandby.status"))
        {
            shared = await sync.status()
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            let data = try encoder.encode(StatusDocument(status: status, sharedFolder: shared))
            print(String(decoding: data, as: UTF8.self))
        } else {
            print(Self.table(status, timeout: config.failover.timeout))
            if let shared { print(Self.sharedFolderLines(shared)) }
        }
    }

    /// The status as an operator reads it at a glance.
    static func table(_ status: ClusterStatus, timeout: Duration) -> String {
        var lines: [String] = []
        let active = status.activeNode ?? "none (lease released)"
        lines.append(
            "cluster \(status.cluster)  epoch \(status.epoch)  active \(active)  counter \(status.counter)  "
                + "paused \(status.paused ? "YES" : "no")  lease updated \(String(cFormat: "%.1f", status.leaseAgeSeconds)) s ago"
        )
        if let target = status.handoverTo { lines.append("switchover to \(target) requested") }
        if let members = status.members, let cap = status.failsafeMaxSeconds {
            let names = members.isEmpty ? "none" : members.joined(separator: ", ")
            lines.append(
                "failsafe members \(names) (up to \(Duration.seconds(cap).text) on their acks; other nodes wait that "
                    + "plus the timeout)"
            )
        }
        lines.append("")
        let header = ["NODE", "ROLE", "PRIO", "SEEN", "HEALTH", "NOTE"]
        var rows = [header]
        for node in status.nodes {
            let gone = node.state == "gone" ? "gone (last \(node.role))" : node.state
            rows.append([
                node.node,
                gone,
                String(node.priority),
                String(cFormat: "%.1f s ago", node.lastSeenSeconds),
                node.state == node.role ? node.health : "-",
                node.note,
            ])
        }
        let widths = (0..<header.count).map { column in rows.map { $0[column].count }.max() ?? 0 }
        for row in rows {
            lines.append(
                row.enumerated().map { column, value in
                    column == row.count - 1
                        ? value : value.padded(to: widths[column])
                }.joined(separator: "  ")
            )
        }
        if !status.events.isEmpty {
            lines.append("")
            lines.append("recent events (newest first):")
            for event in status.events {
                var detail = ""
                if case .object(let fields) = event.detail {
                    detail = fields.sorted { $0.key < $1.key }
                        .filter { $0.key != "steps" }
                        .map { "\($0.key)=\($0.value)" }.joined(separator: " ")
                }
                lines.append("  \(event.at)  epoch \(event.epoch)  \(event.node)  \(event.kind)  \(detail)")
            }
        }
        return lines.joined(separator: "\n")
    }

    /// The shared folder's lines of the table.
    static func sharedFolderLines(_ shared: SharedFolderStatus) -> String {
        var lines = ["", "shared folder:"]
        if let newest = shared.newest {
            lines.append(
                "  newest snapshot: sequence \(newest.sequence), epoch \(newest.epoch), by \(newest.node), "
                    + String(
                        cFormat: "%.1f s old, %d files, %lld bytes",
                        newest.ageSeconds,
                        newest.fileCount,
                        newest.totalBytes
                    )
            )
        } else {
            lines.append("  newest snapshot: none yet")
        }
        if let age = shared.cacheAgeSeconds {
            lines.append(String(cFormat: "  local cache: %.1f s old", age))
        }
        if let error = shared.shareError { lines.append("  share problem: \(error)") }
        return lines.joined(separator: "\n")
    }
}

/// `status --json`: the cluster's status with the shared folder's beside its keys.
private struct StatusDocument<Shared: Encodable>: Encodable {
    var status: ClusterStatus
    var sharedFolder: Shared?

    private enum Keys: String, CodingKey { case sharedFolder }

    func encode(to encoder: any Encoder) throws {
        try status.encode(to: encoder)
        if let sharedFolder {
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode(sharedFolder, forKey: .sharedFolder)
        }
    }
}
