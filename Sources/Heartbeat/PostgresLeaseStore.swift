import FailoverController
import FoundationEssentials
import Glibc
import HotStandbyCore
import Logging

/// The lease in PostgreSQL: the queries of the protocol, each one statement with bound parameters,
/// each with a deadline, on connections of their own (heartbeat, listener, event log) so a slow
/// event write never delays a renew.
public final class PostgresLeaseStore: LeaseStore, EventRecorder {
    /// Who this node is, as its row shows it.
    public struct Identity: Sendable {
        /// The cluster.
        public var cluster: String
        /// This node.
        public var node: String
        /// Higher wins among standbys. Defaults to 100.
        public var priority: Int
        /// The address shown in `status` (informational).
        public var address: String
        /// The hotstandby version running on the node.
        public var version: String
        /// With `failback: {preferred: …}`: the preferred node, whose eligible time the renew reports.
        public var preferred: String?
        /// This node's `http.advertise` address, for the failsafe's beats (issue 18); nil when it has none.
        public var advertise: String?
        /// This node's `failsafe.maxDuration`, written by its takeovers; nil when its failsafe is off.
        public var failsafeMax: Duration?

        /// Creates an identity.
        public init(
            cluster: String,
            node: String,
            priority: Int = 100,
            address: String = "",
            version: String = "",
            preferred: String? = nil,
            advertise: String? = nil,
            failsafeMax: Duration? = nil
        ) {
            self.advertise = advertise
            self.failsafeMax = failsafeMax
            self.preferred = preferred
            self.cluster = cluster
            self.node = node
            self.priority = priority
            self.address = address
            self.version = version
        }
    }

    private let database: DatabaseSettings
    private let identity: Identity
    private let timeout: Duration
    private let logger: Logger
    private let heartbeat: ConnectionSlot
    private let listener: ConnectionSlot
    private let events: ConnectionSlot
    /// The clock the listener's reconnect back-off sleeps on.
    private let clock: any Clock<Duration>
    /// How recent a standby's row must be to be a step-down's or failback's target (three intervals + 0.5 s: a
    /// standby writes its row every other read).
    private let targetFreshness: Duration

    /// Creates a store. `timeout` is the cluster's takeover timeout (standbys older than that do not rank).
    /// `clock` is the one the listener's reconnect back-off sleeps on (a manual clock in tests). `shared`: the
    /// node's one connection for everything but the heartbeat and the listener (issue 16), for the event log.
    public init(
        database: DatabaseSettings,
        identity: Identity,
        timeout: Duration,
        logger: Logger,
        clock: any Clock<Duration> = ContinuousClock(),
        interval: Duration? = nil,
        shared: ConnectionSlot? = nil
    ) {
        self.clock = clock
        self.targetFreshness = interval.map { $0 * 3 + .milliseconds(500) } ?? timeout
        self.database = database
        self.identity = identity
        self.timeout = timeout
        self.logger = logger
        self.heartbeat = ConnectionSlot(settings: database)
        self.listener = ConnectionSlot(settings: database)
        self.events = shared ?? ConnectionSlot(settings: database)
    }

    /// The NOTIFY channel of a cluster: a hex digest, so any cluster name makes a safe identifier.
    static let channelSQL = "'hotstandby_' || md5($1::text)"

    // MARK: - LeaseStore

    public func perform(_ call: LeaseCall) async -> LeaseResult {
        do {
            return try await heartbeat.with(timeout: database.callTimeout) { conn, left throws(PGError) in
                defer {
                    if let reason = conn.takeUnpreparedNotice() {
                        logger.notice(
                            "the database refused a prepared statement (\(reason)): a pooler in transaction mode? This heartbeat connection sends its statements unprepared from now on, each planned afresh (docs/performance.md)"
                        )
                    }
                }
                return try await run(call, on: conn, timeout: left)
            }
        } catch {
            return .failed(error.description)
        }
    }

    private func run(_ call: LeaseCall, on conn: PGConnection, timeout: Duration) async throws(PGError) -> LeaseResult {
        let me = identity
        switch call {
        case .observe(let role, let note, let report, let writeRow):
            let rows =
                writeRow
                ? try await conn.query(
                    prepared: SQL.observe,
                    [
                        me.cluster, me.node, role.rawValue, note, String(me.priority), me.address, me.version,
                        intervalText(self.timeout), report.eligible ? "true" : "false", report.health, me.advertise,
                    ],
                    timeout: timeout
                )
                : try await conn.query(
                    prepared: SQL.observeRead,
                    [me.cluster, me.node, String(me.priority), intervalText(self.timeout)],
                    timeout: timeout
                )
            guard rows.rows.count == 1 else {
                // A new cluster: create its row, released, so the first standby to see it takes it.
                _ = try await conn.query(SQL.createCluster, [me.cluster], timeout: timeout)
                return .observed(LeaseView(epoch: 0, activeNode: nil, counter: 0))
            }
            return .observed(
                LeaseView(
                    epoch: Int64(rows.value(0, "epoch") ?? "") ?? 0,
                    activeNode: rows.value(0, "active_node"),
                    counter: Int64(rows.value(0, "counter") ?? "") ?? 0,
                    paused: rows.value(0, "paused") == "t",
                    handoverTo: rows.value(0, "handover_to"),
                    rank: Int(rows.value(0, "rank") ?? "") ?? 0,
                    members: rows.value(0, "members").flatMap(Self.names),
                    failsafeMax: rows.value(0, "failsafe_max").flatMap(Double.init).map { Duration.seconds($0) }
                )
            )
        case .renew(let epoch, let report):
            let rows = try await conn.query(prepared: SQL.renew, renewParameters(epoch, report), timeout: timeout)
            guard rows.rows.count == 1 else { return .renew(.deposed) }
            return .renew(renewed(rows))
        case .changeMembers(let epoch, let counter, let members, let cap, let report):
            let membersJSON = members.flatMap { names in
                (try? JSONEncoder().encode(names)).flatMap { String(data: $0, encoding: .utf8) }
            }
            let rows = try await conn.query(
                SQL.changeMembers,
                renewParameters(epoch, report) + [membersJSON, cap.map(intervalText), String(counter)],
                timeout: timeout
            )
            guard rows.rows.count == 1 else { return .renew(.notApplied) }
            return .renew(renewed(rows))
        case .takeOver(let seenEpoch, let seenCounter):
            let rows = try await conn.query(
                SQL.takeOver,
                [me.cluster, me.node, String(seenEpoch), String(seenCounter), me.failsafeMax.map(intervalText)],
                timeout: timeout
            )
            guard rows.rows.count == 1, let epoch = rows.value(0, "epoch").flatMap({ Int64($0) }) else {
                return .tookOver(newEpoch: nil)
            }
            return .tookOver(newEpoch: epoch, failsafe: Self.failsafeRow(rows, desired: nil))
        case .release(let epoch, let counter):
            let rows = try await conn.query(
                SQL.release,
                [me.cluster, String(epoch), me.node, String(counter)],
                timeout: timeout
            )
            return .released(rows.rows.count == 1)
        case .handOff(let target, let epoch, let counter):
            let rows = try await conn.query(
                SQL.handOff,
                [me.cluster, String(epoch), me.node, String(counter), target],
                timeout: timeout
            )
            return .handedOff(rows.rows.count == 1)
        }
    }

    /// The parameters of the renew ($1–$12), which the membership change shares.
    private func renewParameters(_ epoch: Int64, _ report: NodeReport) -> [String?] {
        let me = identity
        return [
            me.cluster, String(epoch), me.node, String(me.priority), me.address, me.version,
            report.eligible ? "true" : "false", report.health, intervalText(targetFreshness),
            me.preferred ?? "", me.advertise, intervalText(self.timeout),
        ]
    }

    /// A JSON array of names, or nil.
    static func names(_ json: String) -> [String]? {
        try? JSONDecoder().decode([String].self, from: Data(json.utf8))
    }

    /// The failsafe columns of a write's answer row. `desired`: the members the active wants, nil to take the
    /// row's own (the takeover has no wish of its own: its first renew brings one).
    static func failsafeRow(_ rows: PGRows, desired: [String]?) -> FailsafeRow {
        let members = rows.value(0, "members").flatMap(Self.names)
        let addresses =
            rows.value(0, "addresses").flatMap { try? JSONDecoder().decode([String: String].self, from: Data($0.utf8)) }
            ?? [:]
        return FailsafeRow(
            members: members,
            maxDuration: rows.value(0, "failsafe_max").flatMap(Double.init).map { Duration.seconds($0) },
            desired: desired ?? members ?? [],
            addresses: addresses
        )
    }

    /// The renew's answer row.
    private func renewed(_ rows: PGRows) -> RenewOutcome {
        .renewed(
            counter: Int64(rows.value(0, "counter") ?? "") ?? 0,
            paused: rows.value(0, "paused") == "t",
            handoverTo: rows.value(0, "handover_to"),
            standbyAge: rows.value(0, "standby_age").flatMap(Double.init),
            bestStandby: rows.value(0, "best_standby"),
            preferredEligibleFor: rows.value(0, "preferred_eligible_for").flatMap(Double.init),
            failsafe: Self.failsafeRow(rows, desired: rows.value(0, "desired").flatMap(Self.names) ?? [])
        )
    }

    public func listen(onChange: @escaping @Sendable () -> Void) async {
        guard database.listen else { return }
        var backoff = Duration.milliseconds(200)
        while !Task.isCancelled {
            do {
                try await listener.with(timeout: database.callTimeout) { conn, left throws(PGError) in
                    let rows = try await conn.query(
                        "SELECT \(Self.channelSQL.replacing("$1::text", with: "$1")) AS channel",
                        [identity.cluster],
                        timeout: left
                    )
                    guard let channel = rows.value(0, "channel") else { return }
                    // The channel is 'hotstandby_' and 32 hex digits: safe to quote as an identifier.
                    _ = try await conn.query("LISTEN \"\(channel)\"", timeout: left)
                    // Anything may have changed while we were not listening.
                    onChange()
                    while !Task.isCancelled {
                        // Cancellation ends the wait at once: no need to wake up twice a second to look.
                        let payloads = try await conn.waitForNotifications(timeout: .seconds(60))
                        if !payloads.isEmpty { onChange() }
                    }
                }
                backoff = .milliseconds(200)
            } catch {
                logger.debug("listener reconnecting", metadata: ["error": "\(error)"])
                listener.reset()
                try? await clock.sleep(for: backoff)
                backoff = min(backoff * 2, .seconds(5))
            }
        }
    }

    // MARK: - EventRecorder

    public func record(_ event: ClusterEvent) async {
        _ = await write(event)
    }

    /// Writes an event, retrying briefly; returns false when the database could not take it
    /// (the caller may spool it locally).
    public func write(_ event: ClusterEvent, node: String? = nil) async -> Bool {
        let detail = (try? String(data: JSONEncoder().encode(event.detail), encoding: .utf8)) ?? "{}"
        var attempt = 0
        while attempt < 3 && !Task.isCancelled {
            attempt += 1
            do {
                _ = try await events.with(timeout: max(database.callTimeout * 2, .seconds(2))) {
                    conn,
                    left throws(PGError) in
                    try await conn.query(
                        SQL.recordEvent,
                        [identity.cluster, String(event.epoch), node ?? identity.node, event.kind.rawValue, detail],
                        timeout: left
                    )
                }
                return true
            } catch {
                logger.warning(
                    "could not write event to the database",
                    metadata: ["kind": "\(event.kind)", "attempt": "\(attempt)", "error": "\(error)"]
                )
                try? await Task.sleep(for: .milliseconds(200 * attempt))
            }
        }
        return false
    }
}

/// `interval` text for a duration, e.g. `60.000 seconds`.
package func intervalText(_ duration: Duration) -> String {
    String(cFormat: "%.3f seconds", duration.secondsValue)
}
