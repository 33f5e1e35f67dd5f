import FailoverController
import Foundation
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

        /// Creates an identity.
        public init(
            cluster: String,
            node: String,
            priority: Int = 100,
            address: String = "",
            version: String = "",
            preferred: String? = nil
        ) {
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
    /// How recent a standby's row must be to be a step-down's or failback's target (two intervals + 0.5 s).
    private let targetFreshness: Duration

    /// Creates a store. `timeout` is the cluster's takeover timeout (standbys older than that do not rank).
    /// `clock` is the one the listener's reconnect back-off sleeps on (a manual clock in tests).
    public init(
        database: DatabaseSettings,
        identity: Identity,
        timeout: Duration,
        logger: Logger,
        clock: any Clock<Duration> = ContinuousClock(),
        interval: Duration? = nil
    ) {
        self.clock = clock
        self.targetFreshness = interval.map { $0 * 2 + .milliseconds(500) } ?? timeout
        self.database = database
        self.identity = identity
        self.timeout = timeout
        self.logger = logger
        self.heartbeat = ConnectionSlot(settings: database)
        self.listener = ConnectionSlot(settings: database)
        self.events = ConnectionSlot(settings: database)
    }

    /// The NOTIFY channel of a cluster: a hex digest, so any cluster name makes a safe identifier.
    static let channelSQL = "'hotstandby_' || md5($1::text)"

    // MARK: - LeaseStore

    public func perform(_ call: LeaseCall) async -> LeaseResult {
        do {
            return try await heartbeat.with(timeout: database.callTimeout) { conn, left throws(PGError) in
                try await run(call, on: conn, timeout: left)
            }
        } catch {
            return .failed(error.description)
        }
    }

    private func run(_ call: LeaseCall, on conn: PGConnection, timeout: Duration) async throws(PGError) -> LeaseResult {
        let me = identity
        switch call {
        case .observe(let role, let note, let report):
            let rows = try await conn.query(
                SQL.observe,
                [
                    me.cluster, me.node, role.rawValue, note, String(me.priority), me.address, me.version,
                    intervalText(self.timeout), report.eligible ? "true" : "false", report.health,
                ],
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
                    rank: Int(rows.value(0, "rank") ?? "") ?? 0
                )
            )
        case .renew(let epoch, let report):
            let rows = try await conn.query(
                SQL.renew,
                [
                    me.cluster, String(epoch), me.node, String(me.priority), me.address, me.version,
                    report.eligible ? "true" : "false", report.health, intervalText(targetFreshness),
                    me.preferred ?? "",
                ],
                timeout: timeout
            )
            guard rows.rows.count == 1 else { return .renew(.deposed) }
            return .renew(
                .renewed(
                    counter: Int64(rows.value(0, "counter") ?? "") ?? 0,
                    paused: rows.value(0, "paused") == "t",
                    handoverTo: rows.value(0, "handover_to"),
                    standbyAge: rows.value(0, "standby_age").flatMap(Double.init),
                    bestStandby: rows.value(0, "best_standby"),
                    preferredEligibleFor: rows.value(0, "preferred_eligible_for").flatMap(Double.init)
                )
            )
        case .takeOver(let seenEpoch, let seenCounter):
            let rows = try await conn.query(
                SQL.takeOver,
                [me.cluster, me.node, String(seenEpoch), String(seenCounter)],
                timeout: timeout
            )
            return .tookOver(newEpoch: rows.rows.count == 1 ? Int64(rows.value(0, "epoch") ?? "") : nil)
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

    public func listen(onChange: @escaping @Sendable () -> Void) async {
        guard database.listen else { return }
        var backoff = Duration.milliseconds(200)
        while !Task.isCancelled {
            do {
                try await listener.with(timeout: database.callTimeout) { conn, left throws(PGError) in
                    let rows = try await conn.query(
                        "SELECT \(Self.channelSQL.replacingOccurrences(of: "$1::text", with: "$1")) AS channel",
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
    String(format: "%.3f seconds", duration.secondsValue)
}
