/// The failover protocol as a value: observations and the current instant go in, actions come out.
///
/// It does no I/O and reads no clock: the run loop (`FailoverLoop`) owns it as a local `var`, passes
/// the instant at which each input *arrived*, carries out the returned actions, and wakes it at
/// `nextWake`. Tests drive it with a manual instant type.
///
/// The rules (see `docs/protocol.md` for the safety argument):
/// - A standby takes over when the lease's `(epoch, counter, holder, paused)` has not changed for
///   `timeout` (+ `rank * interval`), measured from the arrival of the first read that showed the
///   current value, on this node's monotonic clock. A failed read proves nothing and resets nothing.
/// - A released lease (no holder) may be taken at once (after the rank delay).
/// - The active demotes itself when `renewDeadline` has passed since the *start* of its last
///   successful renew. That check runs first on every input, so a process that wakes from SIGSTOP
///   demotes before it does anything else.
/// - A node named active in the lease (a restart, or a hand-off) serves only after its first renew
///   in that epoch succeeded.
public struct FailoverStateMachine<Instant: InstantProtocol>: Sendable where Instant.Duration == Duration {
    /// What the node is doing.
    ///
    /// - `starting`: no read yet. Can transition to: `standby`, `confirming`.
    /// - `standby`: watching the lease. Can transition to: `vetting`, `confirming`, `stopped`.
    /// - `vetting`: the pre-promote hook runs. Can transition to: `claiming`, `standby`, `stopped`.
    /// - `claiming`: the compare-and-set is in flight. Can transition to: `active`, `standby`, `stopped`.
    /// - `confirming`: named active; the first renew in the epoch is pending. Can transition to: `active`, `standby`.
    /// - `active`: serving and renewing. Can transition to: `demoting`.
    /// - `demoting`: demotion actions run; no lease call is made until they finish. The hand-off or
    ///   release that follows waits for a call still in flight (one call at a time) and takes the counter
    ///   of a renew that lands meanwhile. Can transition to: `standby`, `stopped`.
    /// - `stopped`: shut down.
    public enum State: Sendable, Equatable {
        case starting
        case standby(Watch)
        case vetting(Watch, aborted: Bool)
        case claiming(Watch)
        case confirming(epoch: Int64, reason: ConfirmReason)
        case active(Lease)
        case demoting(then: AfterDemotion)
        case stopped
    }

    /// Why a node is confirming a lease that names it.
    public enum ConfirmReason: Sendable, Equatable {
        /// The node restarted (or was fenced) while the lease still named it in the current epoch.
        case resume
        /// The active handed the lease to this node on a switchover.
        case handover
    }

    /// What a standby knows about the lease.
    public struct Watch: Sendable, Equatable {
        /// The last successful read.
        public var view: LeaseView
        /// When the read that first showed the current `(epoch, counter, holder, paused)` arrived.
        public var changedAt: Instant
        /// The reason the last pre-promote hook gave, until the lease changes.
        public var veto: String?
    }

    /// What the active knows about its lease.
    public struct Lease: Sendable, Equatable {
        /// The epoch this node holds.
        public var epoch: Int64
        /// The counter value of the last successful renew (0 after a takeover).
        public var counter: Int64
        /// When the last successful renew (or the takeover) was *sent*: the self-fencing deadline counts from it.
        public var lastRenewStart: Instant
        /// When this node became active.
        public var since: Instant
        /// Whether the promotion actions have finished.
        public var promoted: Bool
        /// How this node came to hold the lease (`takeover`, `resumed`, `handover-received`), for the
        /// `promoted` event that records the promotion's outcome.
        public var cause: ClusterEvent.Kind
        /// Whether the "no standby seen" alarm is raised.
        public var haLost: Bool
    }

    /// What a node does once its demotion actions have finished.
    public enum AfterDemotion: Sendable, Equatable {
        /// Watch the lease again.
        case watch
        /// Hand the lease to the named node, then watch.
        case handOff(to: String, epoch: Int64, counter: Int64)
        /// Release the lease, then stop.
        case release(epoch: Int64, counter: Int64)
        /// Stop (a shutdown arrived while demoting for another reason).
        case stop
    }

    /// Something the run loop must do.
    public enum Action: Sendable, Equatable {
        /// Make a lease call and feed its result back with the same `id`. Calls are issued strictly one at a
        /// time: a new call is only issued once the previous one's result (or failure at its deadline) came back.
        case call(id: Int, LeaseCall)
        /// Run the pre-promote hook for this view and feed back `gateResult`.
        case checkGate(LeaseView)
        /// Start the promotion actions for the epoch (concurrently: heartbeats go on) and feed back `promotionFinished`.
        case promote(epoch: Int64)
        /// Stop any promotion in progress, run the demotion actions and feed back `demotionFinished`.
        case demote(epoch: Int64, reason: String)
        /// Append an event to the event log (off the heartbeat's path).
        case record(ClusterEvent)
        /// Shutdown is complete: the run loop may return.
        case exit
    }

    /// Inputs the run loop feeds in.
    public enum Input: Sendable, Equatable {
        /// A timer fired (or any reason to look at the clock).
        case tick
        /// A change notification arrived (NOTIFY on the cluster's channel): read now.
        case notified
        /// The result of the lease call `id`, which was sent at `startedAt`.
        case leaseResult(id: Int, LeaseResult, startedAt: Instant)
        /// The pre-promote hook's answer: `nil` allows the takeover, a string is the veto's reason.
        case gateResult(veto: String?)
        /// The promotion actions finished; the detail lists each step's outcome and duration.
        case promotionFinished(steps: JSONValue)
        /// The demotion actions finished.
        case demotionFinished(steps: JSONValue)
        /// SIGTERM or SIGINT: demote and release if active, then stop.
        case shutdown
    }

    /// The node's settings.
    public let settings: FailoverSettings
    /// The current state.
    public private(set) var state: State = .starting
    /// The lease call in flight, if any.
    public private(set) var callInFlight: LeaseCall?
    /// When the next periodic lease call is due.
    public private(set) var nextCallAt: Instant
    /// Whether a notification or change asked for a read as soon as the current call returns.
    private var readSoon = true
    /// When this node last completed any lease call.
    private var lastSuccess: Instant
    /// Whether `database-unreachable` was recorded and `database-back` is owed.
    private var databaseDown = false
    /// When the last lease call failure began a run of failures, for the status note.
    private var lastFailure: String?
    /// Whether a shutdown was requested.
    private var shuttingDown = false
    /// The identifier of the last lease call issued; results of older calls are ignored.
    private var lastCallID = 0
    /// After a takeover attempt failed (the database did not answer), the next one waits until
    /// this instant: one attempt per interval, not one per failed call.
    private var takeoverBackoffUntil: Instant?
    /// When the last successful read of the lease arrived: the pre-promote hook and the compare-and-set
    /// run only on a view confirmed within one interval.
    private var lastReadAt: Instant?
    /// Whether the demotion actions of the current `demoting` state have finished (the hand-off or
    /// release may still wait for the call in flight).
    private var demotionDone = false
    /// Whether `started` was recorded.
    private var startedRecorded = false
    /// Creates a state machine that starts at `now`.
    public init(settings: FailoverSettings, now: Instant) {
        self.settings = settings
        self.nextCallAt = now
        self.lastSuccess = now
    }

    /// The role to report in this node's row and in `/health`.
    public var role: NodeRole {
        switch state {
        case .starting, .standby, .vetting, .claiming: return .standby
        case .confirming: return .promoting
        case .active(let lease): return lease.promoted ? .active : .promoting
        case .demoting: return .demoting
        case .stopped: return .stopped
        }
    }

    /// True while this node holds the lease and may serve (its promotion actions may still be running).
    public var isActive: Bool {
        if case .active = state { return true }
        return false
    }

    /// While active: the instant of the self-fencing deadline (`renewDeadline` after the start of the last
    /// successful renew); nil in every other state.
    public var servingUntil: Instant? {
        guard case .active(let lease) = state else { return nil }
        return lease.lastRenewStart.advanced(by: settings.renewDeadline)
    }

    /// The instant at which the run loop must feed `.tick` even if nothing else happens.
    public var nextWake: Instant? {
        var wakes: [Instant] = []
        switch state {
        case .stopped:
            return nil
        case .demoting:
            return nil
        case .active(let lease):
            wakes.append(lease.lastRenewStart.advanced(by: settings.renewDeadline))
        case .standby(let watch):
            // A takeover that will be due before the last read goes stale wakes the machine at the due
            // instant; otherwise the next periodic read (below) decides, once it has succeeded.
            if let eligible = eligibleAt(watch), isFresh(at: eligible) { wakes.append(eligible) }
        case .starting, .vetting, .claiming, .confirming:
            break
        }
        if callInFlight == nil { wakes.append(nextCallAt) }
        return wakes.min()
    }

    // MARK: - Inputs

    /// Feeds one input that arrived at `now` and returns the actions to carry out, in order.
    public mutating func handle(_ input: Input, now: Instant) -> [Action] {
        // Self-fencing comes before anything else: a process that wakes from a pause past its
        // deadline must drop the address before it acts on any stale result or timer.
        var actions = fenceIfDeadlinePassed(now: now)

        switch input {
        case .tick:
            break
        case .notified:
            readSoon = true
        case .leaseResult(let id, let result, let startedAt):
            if id == lastCallID {
                actions += handleLeaseResult(result, startedAt: startedAt, now: now)
            }
        case .gateResult(let veto):
            actions += handleGateResult(veto: veto, now: now)
        case .promotionFinished(let steps):
            if case .active(var lease) = state, !lease.promoted {
                lease.promoted = true
                state = .active(lease)
                actions.append(
                    .record(
                        ClusterEvent(
                            kind: .promoted,
                            epoch: lease.epoch,
                            detail: [
                                "node": .string(settings.node), "cause": .string(lease.cause.rawValue), "steps": steps,
                                "promotionSeconds": lease.since.duration(to: now).jsonSeconds,
                            ]
                        )
                    )
                )
            }
        case .demotionFinished(let steps):
            actions += handleDemotionFinished(steps: steps, now: now)
        case .shutdown:
            actions += handleShutdown(now: now)
        }
        actions += nextCalls(now: now)
        return actions
    }

    // MARK: - Self-fencing

    private mutating func fenceIfDeadlinePassed(now: Instant) -> [Action] {
        guard case .active(let lease) = state else { return [] }
        let sinceRenew = lease.lastRenewStart.duration(to: now)
        guard sinceRenew >= settings.renewDeadline else { return [] }
        let reason =
            "no heartbeat write succeeded for \(sinceRenew.text) (renewDeadline \(settings.renewDeadline.text))"
        state = .demoting(then: .watch)
        demotionDone = false
        return [
            .demote(epoch: lease.epoch, reason: "fenced: " + reason),
            .record(
                ClusterEvent(
                    kind: .fenced,
                    epoch: lease.epoch,
                    detail: [
                        "reason": .string(reason),
                        "secondsSinceLastRenewStart": sinceRenew.jsonSeconds,
                        "lastError": lastFailure.map(JSONValue.string) ?? .null,
                    ]
                )
            ),
        ]
    }

    // MARK: - Lease results

    private mutating func handleLeaseResult(_ result: LeaseResult, startedAt: Instant, now: Instant) -> [Action] {
        guard let call = callInFlight else { return [] }
        callInFlight = nil
        nextCallAt = startedAt.advanced(by: settings.interval)
        var actions: [Action] = []

        if case .failed(let message) = result {
            lastFailure = message
            if !databaseDown && lastSuccess.duration(to: now) >= settings.timeout {
                databaseDown = true
                actions.append(
                    .record(
                        ClusterEvent(
                            kind: .databaseUnreachable,
                            epoch: currentEpoch,
                            detail: ["error": .string(message), "seconds": lastSuccess.duration(to: now).jsonSeconds]
                        )
                    )
                )
            }
        } else {
            if databaseDown {
                databaseDown = false
                actions.append(
                    .record(
                        ClusterEvent(
                            kind: .databaseBack,
                            epoch: currentEpoch,
                            detail: ["unreachableSeconds": lastSuccess.duration(to: now).jsonSeconds]
                        )
                    )
                )
            }
            lastSuccess = now
            lastFailure = nil
            if case .observed(let view) = result {
                lastReadAt = now
                if !startedRecorded {
                    startedRecorded = true
                    actions.append(
                        .record(
                            ClusterEvent(
                                kind: .started,
                                epoch: view.epoch,
                                detail: ["node": .string(settings.node), "holder": view.activeNode.map(JSONValue.string) ?? .null]
                            )
                        )
                    )
                }
            }
        }

        switch (state, call, result) {
        case (.stopped, _, _):
            break

        // A standby's (or a starting node's) read.
        case (.starting, .observe, .observed(let view)):
            state = .standby(Watch(view: view, changedAt: now, veto: nil))
            actions += afterObservation(view: view, previous: nil, now: now)
        case (.standby(var watch), .observe, .observed(let view)):
            let previous = watch.view
            if view.differsInLiveness(from: watch.view) {
                watch.changedAt = now
                watch.veto = nil
            }
            watch.view = view
            state = .standby(watch)
            actions += afterObservation(view: view, previous: previous, now: now)
        case (.vetting(var watch, let aborted), .observe, .observed(let view)):
            let changed = view.differsInLiveness(from: watch.view)
            if changed { watch.changedAt = now }
            watch.view = view
            state = .vetting(watch, aborted: aborted || changed)

        // The compare-and-set.
        case (.claiming(let watch), .takeOver, .tookOver(let newEpoch)):
            if let newEpoch {
                let unchanged = watch.changedAt.duration(to: startedAt)
                var detail: [String: JSONValue] = [
                    "from": watch.view.activeNode.map(JSONValue.string) ?? .null,
                    "to": .string(settings.node),
                    "previousEpoch": .number(Double(watch.view.epoch)),
                    "counter": .number(Double(watch.view.counter)),
                ]
                if watch.view.activeNode == nil {
                    detail["reason"] = .string("the lease was released")
                } else {
                    detail["reason"] = .string(
                        "the heartbeat counter stayed at \(watch.view.counter) for \(unchanged.text) "
                            + "(timeout \(settings.timeout.text))"
                    )
                    detail["unchangedSeconds"] = unchanged.jsonSeconds
                }
                actions.append(.record(ClusterEvent(kind: .takeover, epoch: newEpoch, detail: detail)))
                if shuttingDown {
                    // SIGTERM arrived while the compare-and-set was in flight: nothing was promoted, so
                    // release the lease at once rather than leave it for a standby to time out.
                    state = .demoting(then: .release(epoch: newEpoch, counter: 0))
                    demotionDone = true
                } else {
                    actions += becomeActive(epoch: newEpoch, counter: 0, renewStart: startedAt, now: now, cause: .takeover)
                }
            } else {
                // Another node changed the lease first: read it afresh before deciding anything.
                _ = watch
                state = .starting
                readSoon = true
            }
        case (.claiming(var watch), .observe, .observed(let view)):
            // A read that was in flight when the gate passed: if the lease moved, the claim is void.
            if view.differsInLiveness(from: watch.view) {
                watch.view = view
                watch.changedAt = now
                watch.veto = nil
                state = .standby(watch)
                actions += afterObservation(view: view, previous: nil, now: now)
            }
        case (.claiming(let watch), .takeOver, .failed):
            if shuttingDown {
                // Whether it committed is unknown; if it did, a standby takes over after `timeout`, as on a crash.
                state = .stopped
                actions.append(.exit)
            } else {
                state = .standby(watch)
                takeoverBackoffUntil = now.advanced(by: settings.interval)
            }
        case (.claiming(let watch), .observe, .failed), (.vetting(let watch, _), .observe, .failed):
            // The read before the compare-and-set failed: the database is not answering; try again
            // in an interval rather than at once.
            state = .standby(watch)
            takeoverBackoffUntil = now.advanced(by: settings.interval)

        // The first renew of a node the lease names.
        case (.confirming(let epoch, let reason), .renew, .renew(.renewed(let counter, _, _, _))):
            let kind: ClusterEvent.Kind = reason == .resume ? .resumed : .handoverReceived
            actions.append(.record(ClusterEvent(kind: kind, epoch: epoch, detail: ["node": .string(settings.node)])))
            if shuttingDown {
                // SIGTERM while confirming: the lease is confirmed ours with this counter; release it.
                state = .demoting(then: .release(epoch: epoch, counter: counter))
                demotionDone = true
            } else {
                actions += becomeActive(epoch: epoch, counter: counter, renewStart: startedAt, now: now, cause: kind)
            }
        case (.confirming, .renew, .renew(.deposed)):
            if shuttingDown {
                state = .stopped
                actions.append(.exit)
            } else {
                state = .starting
                readSoon = true
            }
        case (.confirming, .renew, .failed) where shuttingDown:
            // Unknown whether the lease is still ours: leave it to time out, as on a crash.
            state = .stopped
            actions.append(.exit)

        // The active's renew.
        case (.active(var lease), .renew(let epoch), .renew(.renewed(let counter, let paused, let handoverTo, let age)))
        where epoch == lease.epoch:
            if startedAt > lease.lastRenewStart { lease.lastRenewStart = startedAt }
            lease.counter = counter
            actions += watchStandbys(&lease, standbyAge: age, now: now)
            state = .active(lease)
            _ = paused
            if let target = handoverTo, target != settings.node {
                state = .demoting(then: .handOff(to: target, epoch: lease.epoch, counter: lease.counter))
                demotionDone = false
                actions.append(.demote(epoch: lease.epoch, reason: "switchover to \(target)"))
            }
        case (.active(let lease), .renew(let epoch), .renew(.deposed)) where epoch == lease.epoch:
            state = .demoting(then: .watch)
            demotionDone = false
            actions.append(.demote(epoch: lease.epoch, reason: "deposed: the lease moved to another node"))
            actions.append(
                .record(
                    ClusterEvent(
                        kind: .deposed,
                        epoch: lease.epoch,
                        detail: ["reason": "the renew matched no row: another node holds a newer epoch"]
                    )
                )
            )

        // A renew that was in flight when the demotion began: the hand-off or release must carry the
        // counter it wrote, or it matches no row and the standby waits the whole `timeout`.
        case (.demoting(.release(let epoch, _)), .renew(let renewed), .renew(.renewed(let counter, _, _, _)))
        where renewed == epoch:
            state = .demoting(then: .release(epoch: epoch, counter: counter))
        case (.demoting(.handOff(let target, let epoch, _)), .renew(let renewed), .renew(.renewed(let counter, _, _, _)))
        where renewed == epoch:
            state = .demoting(then: .handOff(to: target, epoch: epoch, counter: counter))

        // Hand-off and release after demotion.
        case (_, .handOff(let target, let epoch, _), let outcome):
            if outcome == .handedOff(true) {
                actions.append(
                    .record(ClusterEvent(kind: .handedOff, epoch: epoch, detail: ["to": .string(target)]))
                )
            }
            if shuttingDown {
                state = .stopped
                actions.append(.exit)
            } else {
                readSoon = true
            }
        case (.demoting(.release(let epoch, _)), .release, .released(let done)):
            if done {
                actions.append(.record(ClusterEvent(kind: .released, epoch: epoch, detail: ["by": .string(settings.node)])))
            }
            state = .stopped
            actions.append(.exit)
        case (.demoting(.release), .release, .failed):
            // The lease stays ours; a standby takes over after `timeout`, as on a crash.
            state = .stopped
            actions.append(.exit)

        default:
            // A failure or a result that no longer matters (the state moved on while it was in flight).
            break
        }
        return actions
    }

    /// Decides what a standby does after a successful read.
    private mutating func afterObservation(view: LeaseView, previous: LeaseView?, now: Instant) -> [Action] {
        var actions: [Action] = []
        if view.activeNode == settings.node {
            // Named in a newer epoch than the one this standby watched: a hand-off. Otherwise this
            // node held the lease before it restarted (or fenced itself): a resume.
            let reason: ConfirmReason
            if let previous, previous.epoch < view.epoch, previous.activeNode != settings.node {
                reason = .handover
            } else {
                reason = .resume
            }
            state = .confirming(epoch: view.epoch, reason: reason)
            readSoon = true
            return actions
        }
        if case .standby(let watch) = state, takeoverDue(watch, now: now) {
            state = .vetting(watch, aborted: false)
            actions.append(.checkGate(watch.view))
        }
        return actions
    }

    /// Whether the last successful read is no older than one interval at `instant`: the pre-promote hook
    /// and the compare-and-set run only on such a view (a standby that cannot read proves nothing).
    private func isFresh(at instant: Instant) -> Bool {
        guard let lastReadAt else { return false }
        return lastReadAt.duration(to: instant) <= settings.interval
    }

    /// Whether a takeover may start now: due, and on a fresh view.
    private func takeoverDue(_ watch: Watch, now: Instant) -> Bool {
        guard let eligible = eligibleAt(watch), now >= eligible else { return false }
        return isFresh(at: now)
    }

    /// When a standby may start a takeover, or `nil` while it may not (paused, vetoed, or it is named).
    private func eligibleAt(_ watch: Watch) -> Instant? {
        if watch.view.paused || watch.veto != nil || watch.view.activeNode == settings.node || shuttingDown {
            return nil
        }
        let rankDelay = settings.interval * watch.view.rank
        let due =
            watch.view.activeNode == nil
            ? watch.changedAt.advanced(by: rankDelay) : watch.changedAt.advanced(by: settings.timeout + rankDelay)
        if let backoff = takeoverBackoffUntil, backoff > due { return backoff }
        return due
    }

    private mutating func handleGateResult(veto: String?, now: Instant) -> [Action] {
        guard case .vetting(var watch, let aborted) = state else { return [] }
        if aborted {
            state = .standby(watch)
            return []
        }
        if let veto {
            watch.veto = veto
            state = .standby(watch)
            return [
                .record(
                    ClusterEvent(
                        kind: .vetoed,
                        epoch: watch.view.epoch,
                        detail: ["reason": .string(veto), "node": .string(settings.node)]
                    )
                )
            ]
        }
        guard isFresh(at: now) else {
            // The hook took longer than an interval: confirm the view with a read before the compare-and-set.
            state = .standby(watch)
            readSoon = true
            return []
        }
        state = .claiming(watch)
        return []
    }

    private mutating func becomeActive(
        epoch: Int64,
        counter: Int64,
        renewStart: Instant,
        now: Instant,
        cause: ClusterEvent.Kind
    ) -> [Action] {
        state = .active(
            Lease(
                epoch: epoch,
                counter: counter,
                lastRenewStart: renewStart,
                since: now,
                promoted: false,
                cause: cause,
                haLost: false
            )
        )
        // The takeover's write counts as a renew: the next one is due an interval after it was sent.
        nextCallAt = renewStart.advanced(by: settings.interval)
        return [.promote(epoch: epoch)]
    }

    private func watchStandbys(_ lease: inout Lease, standbyAge: Double?, now: Instant) -> [Action] {
        let timeoutSeconds = settings.timeout.secondsValue
        let seen = standbyAge.map { $0 <= timeoutSeconds } ?? false
        if !seen && !lease.haLost && lease.since.duration(to: now) >= settings.timeout {
            lease.haLost = true
            return [
                .record(
                    ClusterEvent(
                        kind: .haLost,
                        epoch: lease.epoch,
                        detail: [
                            "reason": .string(
                                standbyAge.map { "the last standby was seen \(Int($0)) s ago" } ?? "no standby is registered"
                            )
                        ]
                    )
                )
            ]
        }
        if seen && lease.haLost {
            lease.haLost = false
            return [.record(ClusterEvent(kind: .haRestored, epoch: lease.epoch, detail: [:]))]
        }
        return []
    }

    private mutating func handleDemotionFinished(steps: JSONValue, now: Instant) -> [Action] {
        guard case .demoting(let after) = state else { return [] }
        switch after {
        case .watch:
            state = .starting
            readSoon = true
            return []
        case .handOff, .release:
            // Issued by `nextCalls` once no call is in flight.
            demotionDone = true
            return []
        case .stop:
            state = .stopped
            return [.exit]
        }
    }

    private mutating func handleShutdown(now: Instant) -> [Action] {
        shuttingDown = true
        switch state {
        case .claiming, .confirming:
            // The call in flight (or due) decides: a won or confirmed lease is released, not left behind.
            readSoon = true
            return []
        case .active(let lease):
            state = .demoting(then: .release(epoch: lease.epoch, counter: lease.counter))
            demotionDone = false
            return [.demote(epoch: lease.epoch, reason: "graceful stop")]
        case .demoting(.watch):
            // Finish the demotion, then stop instead of watching.
            state = .demoting(then: .stop)
            return []
        case .demoting:
            return []
        case .stopped:
            return []
        default:
            state = .stopped
            return [.exit]
        }
    }

    // MARK: - Periodic calls

    /// The epoch this node last knew of, for events.
    private var currentEpoch: Int64 {
        switch state {
        case .standby(let watch), .vetting(let watch, _), .claiming(let watch): return watch.view.epoch
        case .confirming(let epoch, _): return epoch
        case .active(let lease): return lease.epoch
        case .demoting(.handOff(_, let epoch, _)), .demoting(.release(let epoch, _)): return epoch
        default: return 0
        }
    }

    private mutating func issue(_ call: LeaseCall, now: Instant) -> Action {
        callInFlight = call
        readSoon = false
        lastCallID += 1
        return .call(id: lastCallID, call)
    }

    /// Starts the lease call that is due, if none is in flight.
    private mutating func nextCalls(now: Instant) -> [Action] {
        // A takeover that is due starts even while a read is in flight (the read may be stuck
        // until its deadline); the compare-and-set itself waits for the call slot.
        if case .standby(let watch) = state, takeoverDue(watch, now: now) {
            state = .vetting(watch, aborted: false)
            return [.checkGate(watch.view)] + nextCalls(now: now)
        }
        guard callInFlight == nil else { return [] }
        let due = now >= nextCallAt || readSoon
        switch state {
        case .stopped, .demoting(.watch), .demoting(.stop):
            return []
        case .demoting(.handOff(let target, let epoch, let counter)):
            guard demotionDone else { return [] }
            demotionDone = false
            // `starting` becomes `standby` at the next read after the hand-off.
            state = .starting
            return [issue(.handOff(to: target, epoch: epoch, counter: counter), now: now)]
        case .demoting(.release(let epoch, let counter)):
            guard demotionDone else { return [] }
            demotionDone = false
            return [issue(.release(epoch: epoch, counter: counter), now: now)]
        case .starting:
            // Due at start-up (nextCallAt is the start) and after every way in here (readSoon); after a
            // failed read one interval later, not at once: a refused connection fails in microseconds.
            guard due else { return [] }
            return [issue(.observe(role: .standby, note: "starting"), now: now)]
        case .standby(let watch):
            guard due else { return [] }
            return [issue(.observe(role: .standby, note: standbyNote(watch, now: now)), now: now)]
        case .vetting:
            guard due else { return [] }
            return [issue(.observe(role: .standby, note: "pre-promote hook running"), now: now)]
        case .claiming(let watch):
            return [issue(.takeOver(seenEpoch: watch.view.epoch, seenCounter: watch.view.counter), now: now)]
        case .confirming(let epoch, _):
            guard due else { return [] }
            return [issue(.renew(epoch: epoch), now: now)]
        case .active(let lease):
            guard now >= nextCallAt else { return [] }
            return [issue(.renew(epoch: lease.epoch), now: now)]
        }
    }

    /// Why this standby is not taking over, in words, for its row and `status`.
    public func standbyNote(_ watch: Watch, now: Instant) -> String {
        if let failure = lastFailure { return "database unreachable: \(failure)" }
        if watch.view.paused { return "paused: no takeover until resume" }
        if let veto = watch.veto { return "vetoed by the pre-promote hook: \(veto)" }
        guard let eligible = eligibleAt(watch) else { return "watching" }
        let left = now.duration(to: eligible)
        let rank = watch.view.rank > 0 ? ", rank \(watch.view.rank)" : ""
        if watch.view.activeNode == nil { return "lease released: taking over\(rank)" }
        if watch.changedAt.duration(to: now) < settings.interval * 2 {
            return "counter moving (\(watch.view.counter))\(rank)"
        }
        return "counter unchanged for \(watch.changedAt.duration(to: now).text): takeover in \(max(left, .zero).text)\(rank)"
    }

    /// The node's status at `now`, for `/health`, `/status`, metrics and sd_notify.
    public func status(now: Instant) -> NodeStatus {
        let sinceSuccess = lastSuccess.duration(to: now).secondsValue
        switch state {
        case .starting:
            return NodeStatus(role: role, epoch: 0, view: nil, note: "starting", secondsSinceLastSuccess: sinceSuccess)
        case .standby(let watch):
            return NodeStatus(
                role: role,
                epoch: watch.view.epoch,
                view: watch.view,
                note: standbyNote(watch, now: now),
                secondsSinceLastSuccess: sinceSuccess
            )
        case .vetting(let watch, _):
            return NodeStatus(
                role: role, epoch: watch.view.epoch, view: watch.view, note: "pre-promote hook running",
                secondsSinceLastSuccess: sinceSuccess)
        case .claiming(let watch):
            return NodeStatus(
                role: role, epoch: watch.view.epoch, view: watch.view, note: "taking over",
                secondsSinceLastSuccess: sinceSuccess)
        case .confirming(let epoch, _):
            return NodeStatus(
                role: role, epoch: epoch, view: nil, note: "named active: confirming the lease with a renew",
                secondsSinceLastSuccess: sinceSuccess)
        case .active(let lease):
            let view = LeaseView(epoch: lease.epoch, activeNode: settings.node, counter: lease.counter)
            let note = lease.promoted ? "active" : "active: promotion actions running"
            return NodeStatus(
                role: role, epoch: lease.epoch, view: view, note: lease.haLost ? note + ", no standby seen" : note,
                secondsSinceLastSuccess: sinceSuccess)
        case .demoting:
            return NodeStatus(
                role: role, epoch: currentEpoch, view: nil, note: "demoting", secondsSinceLastSuccess: sinceSuccess)
        case .stopped:
            return NodeStatus(
                role: role, epoch: currentEpoch, view: nil, note: "stopped", secondsSinceLastSuccess: sinceSuccess)
        }
    }
}
