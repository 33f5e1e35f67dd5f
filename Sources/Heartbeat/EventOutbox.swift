import FailoverController
import FoundationEssentials

/// The alert outbox: events in `hotstandby_event` not yet notified, claimed atomically by one node
/// at a time (`FOR UPDATE SKIP LOCKED`), so two nodes never send the same event.
public struct EventOutbox: Sendable {
    /// One claimed event.
    public struct Row: Sendable {
        public var id: Int64
        public var cluster: String
        /// Seconds since 1970 (database clock).
        public var at: Double
        public var epoch: Int64
        public var node: String
        public var kind: String
        /// The detail as JSON text.
        public var detail: String
    }

    private let slot: ConnectionSlot
    private let timeout: Duration
    private let cluster: String

    /// Creates an outbox for one cluster's events.
    /// `slot`: the node's shared connection (issue 16); one of its own when nil.
    public init(database: DatabaseSettings, cluster: String, slot: ConnectionSlot? = nil) {
        var settings = database
        settings.callTimeout = max(database.callTimeout, .seconds(3))
        self.slot = slot ?? ConnectionSlot(settings: settings)
        self.timeout = settings.callTimeout
        self.cluster = cluster
    }

    /// Claims up to `limit` unsent events for `lease`, oldest first: events nobody holds, whose claim
    /// expired, or that `node` itself holds. A node claims one round at a time, so a claim of its own
    /// seen at the start of a round is a ghost: an UPDATE whose answer never came back (the node was
    /// cut off from the database, gave up on the call, and the statement committed after the network
    /// healed). Taking it back sends the event now instead of after the claim lease (minutes).
    public func claim(node: String, limit: Int, lease: Duration) async throws(PGError) -> [Row] {
        let rows = try await slot.with(timeout: timeout) { conn, left throws(PGError) in
            try await conn.query(
                """
                UPDATE hotstandby_event SET claimed_by = $2, claimed_until = now() + $4::interval
                 WHERE id IN (SELECT id FROM hotstandby_event
                               WHERE cluster = $1 AND notified_at IS NULL
                                 AND (claimed_until IS NULL OR claimed_until < now() OR claimed_by = $2)
                               ORDER BY id LIMIT $3::integer FOR UPDATE SKIP LOCKED)
                RETURNING id, cluster, extract(epoch FROM at) AS at, epoch, node, kind, detail::text AS detail
                """,
                [cluster, node, String(limit), intervalText(lease)],
                timeout: left
            )
        }
        return rows.rows.indices.map { index in
            Row(
                id: Int64(rows.value(index, "id") ?? "") ?? 0,
                cluster: rows.value(index, "cluster") ?? cluster,
                at: Double(rows.value(index, "at") ?? "") ?? 0,
                epoch: Int64(rows.value(index, "epoch") ?? "") ?? 0,
                node: rows.value(index, "node") ?? "",
                kind: rows.value(index, "kind") ?? "",
                detail: rows.value(index, "detail") ?? "{}"
            )
        }.sorted { $0.id < $1.id }
    }

    /// Marks events sent.
    public func markSent(ids: [Int64]) async throws(PGError) {
        guard !ids.isEmpty else { return }
        _ = try await slot.with(timeout: timeout) { conn, left throws(PGError) in
            try await conn.query(
                "UPDATE hotstandby_event SET notified_at = now() WHERE id = ANY($1::bigint[])",
                ["{" + ids.map(String.init).joined(separator: ",") + "}"],
                timeout: left
            )
        }
    }

    /// Gives claimed events back (after a failed send) so any node may send them.
    public func release(ids: [Int64]) async throws(PGError) {
        guard !ids.isEmpty else { return }
        _ = try await slot.with(timeout: timeout) { conn, left throws(PGError) in
            try await conn.query(
                "UPDATE hotstandby_event SET claimed_by = NULL, claimed_until = NULL WHERE id = ANY($1::bigint[]) AND notified_at IS NULL",
                ["{" + ids.map(String.init).joined(separator: ",") + "}"],
                timeout: left
            )
        }
    }
}
