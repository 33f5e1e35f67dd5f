import FailoverController
import FoundationEssentials

/// The cluster as the database shows it: what `hotstandby status --json` prints.
public struct ClusterStatus: Sendable, Codable, Equatable {
    /// One node's row.
    public struct Node: Sendable, Codable, Equatable {
        public var node: String
        public var role: String
        public var lastSeenSeconds: Double
        public var note: String
        public var priority: Int
        public var address: String?
        public var version: String?
        public var counter: Int64?
        /// Whether the node may take over or be handed the lease (its own verdict, in its last row).
        public var eligible: Bool
        /// Its health in words: `healthy`, `failing 2/3: …`, `failed: …`, `not eligible: …`, `unchecked`.
        public var health: String
        /// What the node is, read with the row's age: its role while fresh, `stopped` when its daemon exited,
        /// `gone` when its row is older than `timeout` (a killed daemon or a dead host): never a fresh standby.
        public var state: String
    }

    /// One event.
    public struct Event: Sendable, Codable, Equatable {
        public var id: Int64
        public var at: String
        public var epoch: Int64
        public var node: String
        public var kind: String
        public var detail: JSONValue
        public var notifiedAt: String?
    }

    public var cluster: String
    public var epoch: Int64
    public var activeNode: String?
    public var counter: Int64
    public var paused: Bool
    public var handoverTo: String?
    /// The failsafe's members (issue 18): the nodes other than the holder that may take over after `timeout`; nil
    /// when the failsafe is not in use in this epoch.
    public var members: [String]? = nil
    /// The holder's failsafe cap in seconds; nil when the failsafe is not in use.
    public var failsafeMaxSeconds: Double? = nil
    /// Seconds since the lease row last changed (database clock).
    public var leaseAgeSeconds: Double
    public var nodes: [Node]
    public var events: [Event]
}

extension ClusterAdmin {
    /// What a node's row means, read with its age: `stopped` when its daemon exited, `gone` when the row is
    /// older than `timeout` (a killed daemon, a dead host), else its role.
    public static func nodeState(role: String, ageSeconds: Double, timeout: Duration) -> String {
        if role == NodeRole.stopped.rawValue || role == "registered" { return role }
        return ageSeconds > timeout.secondsValue ? "gone" : role
    }

    /// Reads the lease, every node's row and the newest `eventLimit` events; a row older than `timeout` is `gone`.
    ///
    /// `checkingSchema` first checks the schema's version (two more statements): the CLI always does; a
    /// reader that repeats the call every few seconds does it on its first call and after a failure.
    public func status(
        cluster: String,
        eventLimit: Int = 20,
        timeout: Duration = .seconds(60),
        checkingSchema: Bool = true
    ) async throws(PGError) -> ClusterStatus {
        if checkingSchema { try await checkSchema() }
        let lease = try await querySlot(
            """
            SELECT epoch, active_node, counter, paused, handover_to,
                   array_to_json(members)::text AS members, extract(epoch FROM failsafe_max) AS failsafe_max,
                   extract(epoch FROM now() - updated_at) AS age
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
        let nodes = try await querySlot(
            """
            SELECT node, role, note, priority, address, version, counter, eligible, health,
                   extract(epoch FROM now() - updated_at) AS age
              FROM hotstandby_node WHERE cluster = $1 ORDER BY node
            """,
            [cluster]
        )
        let events = try await querySlot(
            """
            SELECT id, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS at, epoch, node, kind,
                   detail::text AS detail,
                   to_char(notified_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS notified_at
              FROM hotstandby_event WHERE cluster = $1 ORDER BY id DESC LIMIT $2::integer
            """,
            [cluster, String(eventLimit)]
        )
        return ClusterStatus(
            cluster: cluster,
            epoch: Int64(lease.value(0, "epoch") ?? "") ?? 0,
            activeNode: lease.value(0, "active_node"),
            counter: Int64(lease.value(0, "counter") ?? "") ?? 0,
            paused: lease.value(0, "paused") == "t",
            handoverTo: lease.value(0, "handover_to"),
            members: lease.value(0, "members").flatMap {
                try? JSONDecoder().decode([String].self, from: Data($0.utf8))
            },
            failsafeMaxSeconds: lease.value(0, "failsafe_max").flatMap(Double.init),
            leaseAgeSeconds: Double(lease.value(0, "age") ?? "") ?? 0,
            nodes: nodes.rows.indices.map { row in
                let role = nodes.value(row, "role") ?? ""
                let age = Double(nodes.value(row, "age") ?? "") ?? 0
                return ClusterStatus.Node(
                    node: nodes.value(row, "node") ?? "",
                    role: role,
                    lastSeenSeconds: (age * 10).rounded() / 10,
                    note: nodes.value(row, "note") ?? "",
                    priority: Int(nodes.value(row, "priority") ?? "") ?? 100,
                    address: nodes.value(row, "address"),
                    version: nodes.value(row, "version"),
                    counter: nodes.value(row, "counter").flatMap { Int64($0) },
                    eligible: nodes.value(row, "eligible") != "f",
                    health: nodes.value(row, "health") ?? "",
                    state: Self.nodeState(role: role, ageSeconds: age, timeout: timeout)
                )
            },
            events: events.rows.indices.map { row in
                let detailText = events.value(row, "detail") ?? "{}"
                let detail = (try? JSONDecoder().decode(JSONValue.self, from: Data(detailText.utf8))) ?? .object([:])
                return ClusterStatus.Event(
                    id: Int64(events.value(row, "id") ?? "") ?? 0,
                    at: events.value(row, "at") ?? "",
                    epoch: Int64(events.value(row, "epoch") ?? "") ?? 0,
                    node: events.value(row, "node") ?? "",
                    kind: events.value(row, "kind") ?? "",
                    detail: detail,
                    notifiedAt: events.value(row, "notified_at")
                )
            }
        )
    }
}
