import Alerts
import FailoverController
import FoundationEssentials
import Glibc
import Heartbeat
import HotStandbyConfig
import Logging
import ServiceLifecycle

/// Alerts' outbox on PostgreSQL.
struct PGAlertOutbox: AlertOutbox {
    let outbox: EventOutbox

    func claim(node: String, limit: Int, lease: Duration) async throws -> [AlertEvent] {
        try await outbox.claim(node: node, limit: limit, lease: lease).map { row in
            AlertEvent(
                id: row.id,
                cluster: row.cluster,
                at: Date(timeIntervalSince1970: row.at),
                epoch: row.epoch,
                node: row.node,
                kind: row.kind,
                detail: (try? JSONValue.decodeObject(json: row.detail)) ?? [:]
            )
        }
    }

    func markSent(ids: [Int64]) async throws { try await outbox.markSent(ids: ids) }
    func release(ids: [Int64]) async throws { try await outbox.release(ids: ids) }
}

/// Writes events to the database; an event the database cannot take is kept in a bounded local
/// spool and written when the database is back, so no alert is lost to an outage.
///
/// While the spool holds events, they are written first, so the event log keeps this node's order: after a
/// database outage `failsafe-entered` (spooled during it) comes before `failsafe-left` (recorded once the
/// database is back), not after it. If they cannot be written yet, the new event joins them. A spool that cannot
/// take it (full) lets it go to the database directly.
struct SpoolingRecorder: EventRecorder {
    let store: PostgresLeaseStore
    /// The local spool and what writes its events to the database; nil: no spool.
    let drainer: SpoolDrainer?
    /// Wakes the drain once an event is in the spool.
    let spooled: SpoolSignal
    /// Called after an event reached the database (the alert notifier looks at once).
    let written: @Sendable () -> Void
    let cluster: String
    let node: String
    let logger: Logger

    func record(_ event: ClusterEvent) async {
        let at = Date()
        let spool = drainer?.spool
        if let spool, let drainer, await spool.count() > 0, await !drainer.drain() {
            // The earlier events could not be written: this one waits behind them.
            if await keep(event, at: at, in: spool, reason: .behind) { return }
        }
        if await store.write(event) {
            written()
            return
        }
        guard let spool else { return }
        if await !keep(event, at: at, in: spool, reason: .refused) {
            logger.error(
                "event lost: the database and the local spool both refused it",
                metadata: ["kind": "\(event.kind)"]
            )
        }
    }

    private enum Reason {
        /// The database refused the event.
        case refused
        /// Earlier events wait in the spool and could not be written.
        case behind
    }

    /// Adds the event to the spool and wakes the drain; false when the spool refused it.
    private func keep(_ event: ClusterEvent, at: Date, in spool: LocalSpool, reason: Reason) async -> Bool {
        let alert = AlertEvent(
            id: 0,
            cluster: cluster,
            at: at,
            epoch: event.epoch,
            node: node,
            kind: event.kind.rawValue,
            detail: event.detail
        )
        do {
            try await spool.add(alert)
        } catch {
            logger.error("the local spool refused an event", metadata: ["kind": "\(event.kind)", "error": "\(error)"])
            return false
        }
        spooled.signal()
        logger.warning(
            reason == .refused
                ? "event kept in the local spool until the database is back"
                : "event kept in the local spool behind earlier events the database has not taken yet",
            metadata: ["kind": "\(event.kind)"]
        )
        return true
    }
}

/// Tells the spool's drain that an event was spooled. Signals that come while the drain is busy are kept as one.
final class SpoolSignal: Sendable {
    let signals: AsyncStream<Void>
    private let continuation: AsyncStream<Void>.Continuation

    init() {
        (signals, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Called after an event was added to the spool.
    func signal() { continuation.yield() }
}

/// Writes the spool's events to the database, oldest first; each keeps, as `spooledAt` in its detail, the time it
/// was recorded. Used by the drain service and by the recorder before a new event (the spool lets one drain run at a
/// time).
struct SpoolDrainer: Sendable {
    let store: PostgresLeaseStore
    let spool: LocalSpool
    /// Called after spooled events reached the database.
    let written: @Sendable () -> Void
    let logger: Logger

    /// Returns whether the spool is empty afterwards.
    func drain() async -> Bool {
        let store = self.store
        do {
            let drained = try await spool.drain { event in
                var detail = event.detail
                detail["spooledAt"] = .string(Date.ISO8601FormatStyle().format(event.at))
                let written = await store.write(
                    ClusterEvent(kind: .init(rawValue: event.kind), epoch: event.epoch, detail: detail),
                    node: event.node
                )
                if !written { throw SpoolDrainError() }
            }
            if drained > 0 {
                written()
                logger.notice("spooled events written to the database", metadata: ["count": "\(drained)"])
            }
        } catch {
            logger.debug("spool not drained yet", metadata: ["error": "\(error)"])
        }
        return await spool.count() == 0
    }

    private struct SpoolDrainError: Error {}
}

/// Drains the local spool into the database: every 5 seconds while it holds events, and not at all while it is
/// empty (issue 16: the empty folder was read every 5 seconds on every idle node). Events are spooled only by
/// `SpoolingRecorder`, which signals it, or were left by an earlier run, which the first look finds.
struct SpoolDrainService: Service {
    let drainer: SpoolDrainer
    let spooled: SpoolSignal

    func run() async throws {
        await cancelWhenGracefulShutdown {
            var signals = spooled.signals.makeAsyncIterator()
            while !Task.isCancelled {
                if await drainer.spool.count() == 0 {
                    // Returns nil when cancelled.
                    guard await signals.next() != nil else { return }
                }
                // The database has just refused an event (or the daemon has just started): give it a moment.
                try? await Task.sleep(for: .seconds(5))
                if Task.isCancelled { return }
                if await drainer.spool.count() == 0 { continue }
                _ = await drainer.drain()
            }
        }
    }
}

/// The alert notifier as a service of the daemon's group.
struct NotifierService: Service {
    let notifier: AlertNotifier<ContinuousClock>

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await notifier.run()
        }
    }
}
