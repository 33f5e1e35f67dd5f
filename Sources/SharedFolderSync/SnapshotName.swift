/// A snapshot folder's name in the share: `snapshot-e<epoch>-s<sequence>-<node>`.
///
/// Only complete snapshots carry this name (the staging folder is renamed to it as the last step),
/// and a folder with this name but no manifest is ignored.
struct SnapshotName: Hashable, Sendable, Comparable {
    static let prefix = "snapshot-"
    static let stagingPrefix = ".staging-"
    static let deletingPrefix = ".deleting-"

    var epoch: Int64
    var sequence: Int64
    var node: String

    var folder: String { "\(Self.prefix)e\(epoch)-s\(sequence)-\(node)" }

    init(epoch: Int64, sequence: Int64, node: String) {
        self.epoch = epoch
        self.sequence = sequence
        self.node = node
    }

    init?(folder: String) {
        guard folder.hasPrefix(Self.prefix) else { return nil }
        let parts = folder.dropFirst(Self.prefix.count).split(separator: "-", maxSplits: 2)
        guard parts.count == 3, parts[0].first == "e", parts[1].first == "s",
            let epoch = Int64(parts[0].dropFirst()), let sequence = Int64(parts[1].dropFirst())
        else { return nil }
        self.init(epoch: epoch, sequence: sequence, node: String(parts[2]))
    }

    /// Ordered by epoch, then sequence: a newer epoch always wins.
    static func < (a: SnapshotName, b: SnapshotName) -> Bool {
        (a.epoch, a.sequence, a.node) < (b.epoch, b.sequence, b.node)
    }

    /// The snapshots a reader may use, newest first.
    ///
    /// A snapshot is ignored when some snapshot of a higher epoch has a sequence no larger than
    /// its own: it was published by a deposed node after the new active had published (the new
    /// active numbers on from the newest sequence it saw). Older history stays usable as a fallback.
    static func usable(_ names: [SnapshotName]) -> [SnapshotName] {
        names.filter { candidate in
            !names.contains { $0.epoch > candidate.epoch && $0.sequence <= candidate.sequence }
        }.sorted(by: >)
    }
}
