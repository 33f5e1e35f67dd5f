import Logging
import Synchronization

/// Delivers the outbox: claims unsent events, sends them by email and/or webhook, marks them sent.
///
/// Every node runs one. A failed send is logged, its claim released and retried with exponential backoff,
/// so an alert raised on a node that cannot reach the mail server is sent by a node that can. More than
/// `alerts.maxPerMinute` events within a minute are sent as one digest per cluster. Nothing here blocks
/// the failover: each send has its transport's deadline and runs off Swift's cooperative pool.
public actor AlertNotifier<C: Clock> where C.Duration == Duration {
    private let settings: AlertsSettings
    private let node: String
    private let outbox: any AlertOutbox
    private let transports: [any AlertTransport]
    private let logger: Logger
    private let clock: C
    private let pollInterval: Duration
    private let initialBackoff: Duration
    private let maxBackoff: Duration
    private let lease: Duration
    private let batchSize: Int
    private let clusterNow: (@Sendable (String) async -> String?)?
    /// When each message of the last minute went out, for `alerts.maxPerMinute`.
    private var sentAt: [C.Instant] = []
    /// "transport:id" delivered but not yet marked sent, so a retry on this node does not send them again.
    private var delivered: Set<String> = []
    /// Ends an idle wait early: `eventRecorded()`.
    private let wakeup = Wakeup()

    /// Creates a notifier; `settings` must be valid.
    /// - Parameters:
    ///   - node: this node's name, used for claims and in each message's footer.
    ///   - transports: how to deliver; nil builds `SMTPSender` and `WebhookSender` from `settings`.
    ///   - clusterNow: an optional one-paragraph status of a cluster for the body ("active: b, epoch 8 ...").
    ///   - pollInterval: how often to look for new events when idle, for the events of other nodes (this node's own
    ///     wake it at once through `eventRecorded()`). Defaults to 15 seconds.
    ///   - initialBackoff: the first wait after a failure, doubled each time. Defaults to 1 second.
    ///   - maxBackoff: the longest wait after failures. Defaults to 60 seconds.
    ///   - lease: how long a claim hides events from other nodes; nil: long enough for one round of sends.
    public init(
        settings: AlertsSettings,
        node: String,
        outbox: any AlertOutbox,
        logger: Logger,
        clock: C,
        transports: [any AlertTransport]? = nil,
        clusterNow: (@Sendable (String) async -> String?)? = nil,
        pollInterval: Duration = .seconds(15),
        initialBackoff: Duration = .seconds(1),
        maxBackoff: Duration = .seconds(60),
        lease: Duration? = nil,
        batchSize: Int = 500
    ) throws {
        try settings.validate()
        self.settings = settings
        self.node = node
        self.outbox = outbox
        self.logger = logger
        self.clock = clock
        self.clusterNow = clusterNow
        self.pollInterval = pollInterval
        self.initialBackoff = initialBackoff
        self.maxBackoff = maxBackoff
        self.batchSize = batchSize
        var built: [any AlertTransport] = []
        if let transports {
            built = transports
        } else {
            if let email = settings.email { built.append(try SMTPSender(settings: email, node: node, logger: logger)) }
            if let webhook = settings.webhook { built.append(try WebhookSender(settings: webhook, node: node)) }
        }
        self.transports = built
        let perMessage = (settings.email?.timeout ?? .zero) + (settings.webhook?.timeout ?? .zero)
        self.lease = lease ?? max(.seconds(60), perMessage * (settings.maxPerMinute + 2))
    }

    /// Delivers until the task is cancelled; never throws. Failures are logged and retried with backoff.
    public func run() async {
        var backoff = initialBackoff
        while !Task.isCancelled {
            let wait: Duration
            var idle = false
            do {
                switch try await deliverPending() {
                case .idle:
                    wait = pollInterval
                    idle = true
                case .delivered: wait = .zero
                case .rateLimited(let seconds): wait = seconds
                }
                backoff = initialBackoff
            } catch {
                logger.error(
                    "alert not delivered; retrying in \(backoff)",
                    metadata: ["error": "\(error)", "node": "\(node)"]
                )
                wait = backoff
                backoff = min(backoff * 2, maxBackoff)
            }
            if idle {
                await idleWait()
            } else if wait > .zero {
                try? await clock.sleep(for: wait)
            }
        }
    }

    /// Tells the notifier that this node has just written an event to the outbox: an idle notifier looks at once
    /// instead of at its next poll (issue 16: an idle node no longer claims every 2 seconds to find nothing).
    public nonisolated func eventRecorded() { wakeup.signal() }

    /// Waits `pollInterval`, or less when `eventRecorded()` is called (also before the wait began).
    private func idleWait() async {
        let clock = self.clock
        let pollInterval = self.pollInterval
        let wakeup = self.wakeup
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await clock.sleep(for: pollInterval) }
            group.addTask { await wakeup.wait() }
            await group.next()
            group.cancelAll()
        }
    }

    /// What one round did.
    public enum Round: Sendable, Equatable {
        /// Nothing was waiting.
        case idle
        /// Events were sent or skipped (filtered by `alerts.events`).
        case delivered(Int)
        /// `alerts.maxPerMinute` messages went out in the last minute; the next is due after this wait.
        case rateLimited(Duration)
    }

    /// One round: claim, send, mark sent. On a failure the unsent claims are released and the error thrown.
    public func deliverPending() async throws -> Round {
        let claimed = try await outbox.claim(node: node, limit: batchSize, lease: lease)
        if claimed.isEmpty { return .idle }
        let skipped = claimed.filter { !settings.alerts(on: $0.kind) }.map(\.id)
        let wanted = claimed.filter { settings.alerts(on: $0.kind) }
        if !skipped.isEmpty {
            do {
                try await outbox.markSent(ids: skipped)
            } catch {
                try? await outbox.release(ids: claimed.map(\.id))
                throw error
            }
        }
        if wanted.isEmpty { return .delivered(skipped.count) }

        let now = clock.now
        sentAt.removeAll { $0.duration(to: now) >= .seconds(60) }
        let budget = settings.maxPerMinute - sentAt.count
        if budget <= 0 {
            try? await outbox.release(ids: wanted.map(\.id))
            let oldest = sentAt.first ?? now
            return .rateLimited(max(.milliseconds(100), .seconds(60) - oldest.duration(to: now)))
        }
        let messages = await compose(wanted, digest: wanted.count > budget)
        for (index, message) in messages.enumerated() {
            let ids = message.events.map(\.id)
            do {
                try await deliver(message)
            } catch {
                try? await outbox.release(ids: messages[index...].flatMap { $0.events.map(\.id) })
                throw error
            }
            sentAt.append(clock.now)
            do {
                try await outbox.markSent(ids: ids)
            } catch {
                try? await outbox.release(ids: messages[(index + 1)...].flatMap { $0.events.map(\.id) })
                throw error
            }
            for transport in transports { for id in ids { delivered.remove("\(transport.name):\(id)") } }
            if Task.isCancelled {
                try? await outbox.release(ids: messages[(index + 1)...].flatMap { $0.events.map(\.id) })
                throw CancellationError()
            }
        }
        return .delivered(claimed.count)
    }

    private func compose(_ events: [AlertEvent], digest: Bool) async -> [AlertMessage] {
        var clusters: [String] = []
        for event in events where !clusters.contains(event.cluster) { clusters.append(event.cluster) }
        var messages: [AlertMessage] = []
        for cluster in clusters {
            let status = await clusterNow?(cluster)
            let group = events.filter { $0.cluster == cluster }
            if digest && group.count > 1 {
                messages.append(
                    .digest(group, sentBy: node, maxPerMinute: settings.maxPerMinute, clusterNow: status)
                )
            } else {
                messages += group.map { AlertMessage.single($0, sentBy: node, clusterNow: status) }
            }
        }
        return messages
    }

    private func deliver(_ message: AlertMessage) async throws {
        let ids = message.events.map(\.id)
        for transport in transports {
            if ids.allSatisfy({ delivered.contains("\(transport.name):\($0)") }) { continue }
            try await transport.send(message)
            for id in ids { delivered.insert("\(transport.name):\(id)") }
            logger.info(
                "alert sent",
                metadata: [
                    "transport": "\(transport.name)", "subject": "\(message.subject)",
                    "events": "\(ids.map(String.init).joined(separator: ","))",
                ]
            )
        }
    }
}

extension AlertNotifier where C == ContinuousClock {
    /// Creates a notifier on the continuous clock; see the full initializer for the parameters.
    public init(
        settings: AlertsSettings,
        node: String,
        outbox: any AlertOutbox,
        logger: Logger,
        transports: [any AlertTransport]? = nil,
        clusterNow: (@Sendable (String) async -> String?)? = nil
    ) throws {
        try self.init(
            settings: settings,
            node: node,
            outbox: outbox,
            logger: logger,
            clock: ContinuousClock(),
            transports: transports,
            clusterNow: clusterNow
        )
    }
}

/// A signal that one waiter waits for; a signal while nobody waits is kept for the next wait.
final class Wakeup: Sendable {
    private struct State {
        var pending = false
        var waiter: CheckedContinuation<Void, Never>?
    }
    private let state = Mutex(State())

    /// Resumes the waiter, or lets the next `wait()` return at once.
    func signal() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard let waiter = state.waiter else {
                state.pending = true
                return nil
            }
            state.waiter = nil
            return waiter
        }
        waiter?.resume()
    }

    /// Returns at a signal (or one that came before) or when the task is cancelled.
    func wait() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let now = state.withLock { state -> Bool in
                    if state.pending || Task.isCancelled {
                        state.pending = false
                        return true
                    }
                    state.waiter = continuation
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            state.withLock { state in
                defer { state.waiter = nil }
                return state.waiter
            }?.resume()
        }
    }
}
