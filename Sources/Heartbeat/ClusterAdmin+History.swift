import FailoverController
import FoundationEssentials

/// One holder of the lease: an epoch from the event that began it to the one that ended it, as
/// `hotstandby history` prints it.
public struct HolderEpoch: Sendable, Codable, Equatable {
    /// The epoch (the fencing token).
    public var epoch: Int64
    /// The node that held the lease in this epoch.
    public var node: String
    /// When the epoch began (its first holder event reached the database), ISO 8601 in UTC.
    public var since: String
    /// When it ended: the earlier of its ending event and the next epoch's start; `nil` while it is held
    /// (or when it ended without a trace).
    public var until: String?
    /// Seconds between `since` and `until` (or now, while held), to the millisecond; `nil` when the end
    /// is unknown.
    public var heldSeconds: Double?
    /// How it began: `takeover`, `handover-received` or `resumed`.
    public var how: String
    /// Why: the takeover's reason, the switchover it came from, or the kind.
    public var why: String
    /// How it ended: `fenced`, `deposed`, `released`, `handed-off`; `taken over` when a later epoch began
    /// with no ending event for this one (the holder was killed, crashed or lost the database and could not
    /// record it); `active` while the lease still names it; `ended (no event)` otherwise.
    public var ended: String

    /// Encodes every key, `null` included, so that a reader of the JSON sees the same keys on every row.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(epoch, forKey: .epoch)
        try container.encode(node, forKey: .node)
        try container.encode(since, forKey: .since)
        try container.encode(until, forKey: .until)
        try container.encode(heldSeconds, forKey: .heldSeconds)
        try container.encode(how, forKey: .how)
        try container.encode(why, forKey: .why)
        try container.encode(ended, forKey: .ended)
    }
}

extension ClusterAdmin {
    /// The event kinds that begin an epoch's holding.
    static let holderStarts: Set<String> = ["takeover", "handover-received", "resumed"]
    /// The event kinds that end it.
    static let holderEnds: Set<String> = ["released", "handed-off", "fenced", "deposed"]

    /// Every change of holder of `cluster`, one row per epoch, oldest first; with `within`, only the epochs
    /// held at some time in the last `within` (by the database's clock).
    public func history(cluster: String, within: Duration? = nil) async throws(PGError) -> [HolderEpoch] {
        try await checkSchema()
        let lease = try await querySlot(
            """
            SELECT epoch, active_node, extract(epoch FROM now()) AS now
              FROM hotstandby_cluster WHERE cluster = $1
            """,
            [cluster]
        )
        guard lease.rows.count == 1 else {
            throw PGError(
                code: .queryFailed,
                message: "cluster '\(cluster)' does not exist in this database: no node has run yet"
            )
        }
        let kinds = Self.holderStarts.union(Self.holderEnds).sorted()
        let rows = try await querySlot(
            """
            SELECT extract(epoch FROM at) AS seconds,
                   to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS at,
                   epoch, node, kind, detail->>'reason' AS reason, detail->>'to' AS target
              FROM hotstandby_event
             WHERE cluster = $1 AND kind = ANY($2::text[])
             ORDER BY epoch, id
            """,
            [cluster, "{" + kinds.joined(separator: ",") + "}"]
        )
        let events = rows.rows.indices.map { row in
            HolderEvent(
                seconds: Double(rows.value(row, "seconds") ?? "") ?? 0,
                at: rows.value(row, "at") ?? "",
                epoch: Int64(rows.value(row, "epoch") ?? "") ?? 0,
                node: rows.value(row, "node") ?? "",
                kind: rows.value(row, "kind") ?? "",
                reason: rows.value(row, "reason"),
                target: rows.value(row, "target")
            )
        }
        let now = Double(lease.value(0, "now") ?? "") ?? 0
        let epochs = Self.epochs(
            events,
            leaseEpoch: Int64(lease.value(0, "epoch") ?? "") ?? 0,
            leaseHolder: lease.value(0, "active_node"),
            now: now
        )
        guard let within else { return epochs.map(\.row) }
        let from = now - within.secondsValue
        return epochs.filter { ($0.untilSeconds ?? now) >= from }.map(\.row)
    }

    /// One holder event as read from `hotstandby_event`.
    struct HolderEvent: Sendable {
        var seconds: Double
        var at: String
        var epoch: Int64
        var node: String
        var kind: String
        var reason: String?
        var target: String?
    }

    /// The rows of `events` (ordered by epoch, then id), with the instants the `within` filter needs.
    static func epochs(_ events: [HolderEvent], leaseEpoch: Int64, leaseHolder: String?, now: Double)
        -> [(row: HolderEpoch, untilSeconds: Double?)]
    {
        let grouped = Dictionary(grouping: events, by: \.epoch)
        let order = grouped.keys.sorted()
        var result: [(row: HolderEpoch, untilSeconds: Double?)] = []
        for (index, epoch) in order.enumerated() {
            let group = grouped[epoch] ?? []
            let start = group.first { holderStarts.contains($0.kind) } ?? group[0]
            let last = group.last { holderStarts.contains($0.kind) || holderEnds.contains($0.kind) } ?? start
            let nextStart = index + 1 < order.count ? (grouped[order[index + 1]] ?? []).first : nil
            var ended: String
            var until: (seconds: Double, at: String)?
            if holderEnds.contains(last.kind) {
                ended = last.kind
                until = (last.seconds, last.at)
                // An ending event spooled while the database was away reaches it late: the next epoch's
                // start bounds the holding all the same.
                if let nextStart, nextStart.seconds < last.seconds { until = (nextStart.seconds, nextStart.at) }
            } else if let nextStart {
                ended = "taken over"
                until = (nextStart.seconds, nextStart.at)
            } else if epoch == leaseEpoch && leaseHolder == start.node {
                ended = "active"
            } else {
                ended = "ended (no event)"
            }
            var why = start.reason ?? start.kind
            if start.kind == "handover-received" {
                let previous = index > 0 ? grouped[order[index - 1]]?.last { $0.kind == "handed-off" } : nil
                why = previous.map { "switchover from \($0.node)" } ?? "switchover"
            } else if start.kind == "resumed" {
                why = "resumed: restarted while the lease still named it"
            } else if !holderStarts.contains(start.kind) {
                why = "no start event recorded"
            }
            let held: Double? =
                until.map { $0.seconds - start.seconds } ?? (ended == "active" ? now - start.seconds : nil)
            let row = HolderEpoch(
                epoch: epoch,
                node: start.node,
                since: start.at,
                until: until?.at,
                heldSeconds: held.map { (max($0, 0) * 1000).rounded() / 1000 },
                how: holderStarts.contains(start.kind) ? start.kind : "unknown",
                why: why,
                ended: ended
            )
            result.append((row, until?.seconds))
        }
        return result
    }
}
