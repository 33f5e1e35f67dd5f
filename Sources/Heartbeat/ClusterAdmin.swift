import FailoverController
import FoundationEssentials
import Glibc
import HotStandbyCore

/// What the CLI does with the database: migrations, the schema check, status, switchover, pause.
/// Works from any host that reaches the database, whether the daemons run or not.
public struct ClusterAdmin: Sendable {
    private let database: DatabaseSettings
    private let slot: ConnectionSlot

    /// Creates an admin handle.
    /// Creates an admin handle. The CLI is not on any heartbeat's path: its calls get at least 5 seconds.
    /// `slot`: the daemon's shared connection (issue 16) for its status reader and HTTP write routes; one of its
    /// own when nil.
    public init(database: DatabaseSettings, slot: ConnectionSlot? = nil) {
        var settings = database
        settings.callTimeout = max(database.callTimeout, .seconds(5))
        settings.connectTimeout = max(database.connectTimeout, .seconds(5))
        self.database = settings
        self.slot = slot ?? ConnectionSlot(settings: settings)
    }

    /// Closes the connection now (the next call opens a new one).
    public func close() { slot.reset() }

    func querySlot(_ sql: String, _ parameters: [String?] = []) async throws(PGError) -> PGRows {
        try await query(sql, parameters)
    }

    private func query(_ sql: String, _ parameters: [String?] = []) async throws(PGError) -> PGRows {
        try await slot.with(timeout: database.callTimeout) { conn, left throws(PGError) in
            try await conn.query(sql, parameters, timeout: left)
        }
    }

    // MARK: - Schema

    /// The schema version recorded in the database, or `nil` when hotstandby's schema is not there.
    public func schemaVersion() async throws(PGError) -> Int? {
        let exists = try await query("SELECT to_regclass('hotstandby_schema') IS NOT NULL AS present")
        guard exists.value(0, "present") == "t" else { return nil }
        let rows = try await query("SELECT max(version) AS version FROM hotstandby_schema")
        return rows.value(0, "version").flatMap(Int.init)
    }

    /// Throws unless the database holds exactly the schema this binary was written for.
    public func checkSchema() async throws(PGError) {
        let version = try await schemaVersion()
        guard let version else {
            throw PGError(
                code: .schemaMismatch,
                message: "the database has no hotstandby schema: run `hotstandby init-db --config PATH` once"
            )
        }
        if version > Schema.currentVersion {
            throw PGError(
                code: .schemaMismatch,
                message: "the database schema is version \(version), newer than this binary supports "
                    + "(\(Schema.currentVersion)): upgrade hotstandby on this host"
            )
        }
        if version < Schema.currentVersion {
            throw PGError(
                code: .schemaMismatch,
                message: "the database schema is version \(version); this binary needs \(Schema.currentVersion): "
                    + "run `hotstandby init-db --config PATH` to upgrade it"
            )
        }
    }

    /// Applies the missing migrations, each in its own transaction, under an advisory lock.
    /// - Returns: the versions applied (empty when the schema was current).
    public func migrate() async throws(PGError) -> [Int] {
        try await slot.with(timeout: database.callTimeout * 4) { conn, left throws(PGError) -> [Int] in
            var applied: [Int] = []
            for migration in Schema.migrations {
                _ = try await conn.query("BEGIN", timeout: left)
                do throws(PGError) {
                    _ = try await conn.query("SELECT pg_advisory_xact_lock(7223419201)", timeout: left)
                    // Under the lock: two first runs at once (both hosts' init-db) would otherwise race in
                    // CREATE TABLE IF NOT EXISTS ("duplicate key value ... pg_type_typname_nsp_index").
                    _ = try await conn.query(
                        """
                        CREATE TABLE IF NOT EXISTS hotstandby_schema (
                            version integer PRIMARY KEY,
                            description text NOT NULL,
                            applied_at timestamptz NOT NULL DEFAULT now()
                        )
                        """,
                        timeout: left
                    )
                    let present = try await conn.query(
                        "SELECT 1 FROM hotstandby_schema WHERE version = $1::integer",
                        [String(migration.version)],
                        timeout: left
                    )
                    if present.rows.isEmpty {
                        _ = try await conn.query(migration.sql, timeout: left)
                        _ = try await conn.query(
                            "INSERT INTO hotstandby_schema (version, description) VALUES ($1::integer, $2)",
                            [String(migration.version), migration.description],
                            timeout: left
                        )
                        applied.append(migration.version)
                    }
                    _ = try await conn.query("COMMIT", timeout: left)
                } catch {
                    _ = try? await conn.query("ROLLBACK", timeout: left)
                    throw error
                }
            }
            return applied
        }
    }

    // MARK: - Operator commands

    /// Asks the active to hand the lease to `target`. Refuses, with the reason, when there is no
    /// active, the target is the active already, or the target has not been seen within `seenWithin`.
    public func requestSwitchover(cluster: String, to target: String, seenWithin: Duration) async throws(PGError) {
        let lease = try await query(
            "SELECT epoch, active_node, paused FROM hotstandby_cluster WHERE cluster = $1",
            [cluster]
        )
        guard lease.rows.count == 1 else {
            throw PGError(code: .queryFailed, message: "cluster '\(cluster)' does not exist in this database")
        }
        guard let active = lease.value(0, "active_node") else {
            throw PGError(code: .queryFailed, message: "cluster '\(cluster)' has no active node to hand over from")
        }
        if active == target {
            throw PGError(code: .queryFailed, message: "node '\(target)' is already the active node")
        }
        let seen = try await query(
            """
            SELECT extract(epoch FROM now() - updated_at) AS age, role, note, eligible, health FROM hotstandby_node
             WHERE cluster = $1 AND node = $2
            """,
            [cluster, target]
        )
        guard let ageText = seen.value(0, "age"), let age = Double(ageText) else {
            throw PGError(code: .queryFailed, message: "node '\(target)' has never been seen in cluster '\(cluster)'")
        }
        // Only a row its own running daemon wrote as a standby counts: `register` writes 'registered', a
        // daemon that exits writes 'stopped' (both fresh rows), and a node that is promoting or demoting
        // cannot take a hand-off. Handing the lease to any of them leaves the cluster without an active.
        let role = seen.value(0, "role") ?? "unknown"
        guard role == NodeRole.standby.rawValue else {
            let note = seen.value(0, "note").map { ": \($0)" } ?? ""
            throw PGError(
                code: .queryFailed,
                message: "node '\(target)' is not a running standby (its row says \(role)\(note)); "
                    + "start its daemon and wait until `status` lists it as standby"
            )
        }
        guard seen.value(0, "eligible") != "f" else {
            throw PGError(
                code: .queryFailed,
                message:
                    "node '\(target)' is not eligible to take over (\(seen.value(0, "health") ?? "its row says so")); "
                    + "fix what it names, or choose another node"
            )
        }
        guard age <= seenWithin.secondsValue else {
            throw PGError(
                code: .queryFailed,
                message: "node '\(target)' was last seen \(String(cFormat: "%.1f", age)) s ago "
                    + "(more than three intervals, \(seenWithin.text)): is its daemon running?"
            )
        }
        let updated = try await query(
            """
            UPDATE hotstandby_cluster SET handover_to = $2
             WHERE cluster = $1 AND active_node = $3 AND epoch = $4::bigint
            RETURNING pg_notify('hotstandby_' || md5($1::text), 'switchover')
            """,
            [cluster, target, active, lease.value(0, "epoch")]
        )
        guard updated.rows.count == 1 else {
            throw PGError(code: .queryFailed, message: "the active node changed meanwhile; look at `status` and retry")
        }
        try await recordEvent(
            cluster: cluster,
            epoch: Int64(lease.value(0, "epoch") ?? "") ?? 0,
            node: active,
            kind: .switchoverRequested,
            detail: ["from": .string(active), "to": .string(target)]
        )
    }

    /// What `register` found or did.
    public struct Registration: Sendable, Hashable {
        /// True when this call created the node's row; false when the node was known already.
        public var created: Bool
        /// The row's role now (`registered` for a node whose daemon has not run yet).
        public var role: String
        /// Seconds since the row was last refreshed (by a daemon, or by the registration).
        public var ageSeconds: Double
    }

    /// Makes `node` known to `cluster` before its daemon first runs, so `status`, the status page and the
    /// other node list it (role `registered`). Creates the cluster's row if missing (released, no holder).
    ///
    /// Idempotent and harmless beside a running daemon: an existing row keeps its role, note, counter and
    /// `updated_at` (a registered row never counts as a live standby); only priority, address and version
    /// are brought up to date.
    public func register(
        cluster: String,
        node: String,
        priority: Int,
        address: String?,
        version: String
    ) async throws(PGError) -> Registration {
        _ = try await query(SQL.createCluster, [cluster])
        let rows = try await query(
            """
            INSERT INTO hotstandby_node AS n (cluster, node, role, note, priority, address, version, counter, updated_at)
            VALUES ($1, $2, 'registered', 'registered by configure-failover; its daemon has not run yet',
                    $3::integer, $4, $5, NULL, now())
            ON CONFLICT (cluster, node) DO UPDATE
               SET priority = EXCLUDED.priority, address = COALESCE(EXCLUDED.address, n.address),
                   version = EXCLUDED.version
            RETURNING (xmax = 0) AS created, role, extract(epoch FROM now() - updated_at) AS age
            """,
            [cluster, node, String(priority), address, version]
        )
        guard rows.rows.count == 1 else {
            throw PGError(code: .queryFailed, message: "registering node '\(node)' returned no row")
        }
        return Registration(
            created: rows.value(0, "created") == "t",
            role: rows.value(0, "role") ?? "",
            ageSeconds: rows.value(0, "age").flatMap(Double.init) ?? 0
        )
    }

    /// Sets or clears the pause flag. While paused, no standby takes over.
    public func setPaused(cluster: String, _ paused: Bool, by node: String) async throws(PGError) {
        let rows = try await query(
            """
            UPDATE hotstandby_cluster SET paused = $2::boolean WHERE cluster = $1
            RETURNING epoch, pg_notify('hotstandby_' || md5($1::text), 'pause')
            """,
            [cluster, paused ? "true" : "false"]
        )
        guard rows.rows.count == 1 else {
            throw PGError(code: .queryFailed, message: "cluster '\(cluster)' does not exist in this database")
        }
        try await recordEvent(
            cluster: cluster,
            epoch: Int64(rows.value(0, "epoch") ?? "") ?? 0,
            node: node,
            kind: paused ? .paused : .unpaused,
            detail: ["by": .string(node)]
        )
    }

    /// Appends an event from the CLI.
    public func recordEvent(
        cluster: String,
        epoch: Int64,
        node: String,
        kind: ClusterEvent.Kind,
        detail: [String: JSONValue]
    ) async throws(PGError) {
        let json = (try? String(data: JSONEncoder().encode(detail), encoding: .utf8)) ?? "{}"
        _ = try await query(SQL.recordEvent, [cluster, String(epoch), node, kind.rawValue, json])
    }
}
