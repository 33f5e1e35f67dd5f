import ArgumentParser
import Foundation
import Logging
import SharedFolderSync

#if canImport(Glibc)
    import Glibc
#endif

/// `hotstandby-bench snapshot`: the cost of publishing snapshots, for `bench/shared-folder`.
///
/// Runs the daemon's own publish (`SharedFolderSync.publish`, one instance for the whole run, so the
/// metadata memo that lets unchanged files go unread carries over from one publish to the next, as in
/// `hotstandby run`) once for every line `publish` read from standard input, and prints one JSON
/// line per publish. The caller changes files between publishes. Ends at end of input.
struct BenchSnapshot: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "snapshot",
        abstract: "Benchmark: publish snapshots of a folder into a share, one per 'publish' line on stdin; JSON out.",
        discussion: """
            Each output line holds the publish's wall-clock seconds, bytes and files copied, files linked from \
            the previous snapshot, files and bytes in the snapshot, and this process's peak RSS so far. \
            The share is a plain folder (sharedFolder.requireMount is off); the lease is assumed held.
            """,
    )

    @Option(help: "The folder to protect (sharedFolder.paths).")
    var source: String

    @Option(help: "The share to publish into (sharedFolder.path); created if missing.")
    var share: String

    @Option(help: "The state directory (for the local cache; unused by publishing).")
    var state: String

    @Option(help: "sharedFolder.keep.")
    var keep: Int = 5

    @Option(help: "The epoch to publish in.")
    var epoch: Int64 = 1

    @Option(help: "An encryption key file (sharedFolder.encryptionKeyFile), to measure sealing too.")
    var encryptionKeyFile: String?

    /// One publish's figures, as printed.
    struct Figures: Codable {
        var sequence: Int64
        var seconds: Double
        var bytesCopied: Int64
        var filesCopied: Int
        var filesLinked: Int
        var fileCount: Int
        var totalBytes: Int64
        var maxRSSBytes: Int
    }

    func run() async throws {
        try FileManager.default.createDirectory(atPath: share, withIntermediateDirectories: true)
        let config = SharedFolderConfig(
            cluster: "bench",
            path: share,
            paths: [source],
            stateDirectory: state,
            keep: keep,
            requireMount: false,
            encryptionKeyFile: encryptionKeyFile,
            ioTimeout: .seconds(120)
        )
        var logger = Logger(label: "hotstandby.bench-snapshot") { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = .warning
        let sync: SharedFolderSync
        do {
            sync = try SharedFolderSync(config: config, logger: logger)
        } catch {
            throw ValidationError("\(error)")
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        while let line = readLine() {
            guard line.trimmingCharacters(in: .whitespaces) == "publish" else {
                throw ValidationError("expected 'publish' on standard input, read '\(line)'")
            }
            let clock = ContinuousClock()
            let started = clock.now
            let info: SnapshotInfo
            do {
                info = try await sync.publish(epoch: epoch, node: "bench", leaseStillHeld: { true })
            } catch {
                throw ExitMessage(text: "publish failed: \(error)")
            }
            let took = clock.now - started
            var usage = rusage()
            getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
            let figures = Figures(
                sequence: info.sequence,
                seconds: Double(took.components.seconds) + Double(took.components.attoseconds) / 1e18,
                bytesCopied: info.bytesCopied,
                filesCopied: info.filesCopied,
                filesLinked: info.filesLinked,
                fileCount: info.fileCount,
                totalBytes: info.totalBytes,
                maxRSSBytes: usage.ru_maxrss * 1024
            )
            // Unbuffered, so the driving script reads each line as soon as the publish ends.
            FileHandle.standardOutput.write(try encoder.encode(figures) + Data("\n".utf8))
        }
    }
}
