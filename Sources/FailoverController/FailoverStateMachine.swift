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
        /// When the last successful renew (or membership change, or the takeover) was *sent*: the self-fencing
        /// deadline counts from it, and so does the failsafe's cap.
        public var lastRenewStart: Instant
        /// The start of the last failsafe round every member acknowledged, if any (issue 18): the deadline may count
        /// from it instead, up to the cap.
        public var failsafeFrom: Instant? = nil
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
        /// A takeover of this view will be due in `settings.takeoverLead`: let the promotion steps prepare what
        /// they can do ahead of it (the VIP's duplicate-address probe), off the heartbeat's path, with their own
        /// deadlines. Nothing may depend on it: the takeover may never come (the counter moves again).
        case prepareTakeover(LeaseView)
        /// Start the promotion actions for the epoch (concurrently: heartbeats go on) and feed back
        /// `promotionFinished`. `retry`: a failed promotion tried again (the files are not restored again).
        /// `prepared`: a takeover at the deadline that `prepareTakeover` announced (the steps may use what they
        /// prepared); false for a released lease, a hand-off, a resume and a retry.
        case promote(epoch: Int64, retry: Bool = false, prepared: Bool = false)
        /// Stop any promotion in progress, run the demotion actions and feed back `demotionFinished`.
        case demote(epoch: Int64, reason: String)
        /// Append an event to the event log (off the heartbeat's path).
        case record(ClusterEvent)
        /// Run `hooks.recover` (attempt `attempt` of `of`) and feed back `recovered`.
        case recover(attempt: Int, of: Int)
        /// Send a failsafe round's beats and feed each member's reply back as `failsafeReply`.
        case sendBeats(FailsafeSend)
        /// Answer the failsafe beat `id` (handed in by the HTTP server) with `answer`.
        case answerBeat(id: Int, FailsafeAnswer)
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
        /// The promotion actions finished; the detail lists each step's outcome and duration. `failure` names a
        /// step that failed on this host (the address could not be bound, `hooks.promote` failed): the node
        /// cannot serve.
        case promotionFinished(steps: JSONValue, failure: String? = nil)
        /// A health check finished (`health.check` on the active, `health.standbyCheck` on a standby).
        case checked(CheckReport)
        /// `hooks.recover` finished: whether it exited 0, and its last line or error.
        case recovered(passed: Bool, detail: String)
        /// The host prerequisites were checked: each problem names the key and the value; empty when all hold.
        case hostChecked(problems: [String])
        /// The demotion actions finished.
        case demotionFinished(steps: JSONValue)
        /// A failsafe beat arrived from the active (its signature checked); answer it with `answerBeat(id:)`.
        case failsafeBeat(id: Int, FailsafeBeat)
        /// A member's reply to the beat of round `round`.
        case failsafeReply(round: String, from: String, FailsafeReply)
        /// SIGTERM or SIGINT: demote and release if active, then stop.
        case shutdown
    }

    /// The node's settings.
    public let settings: FailoverSettings
    /// The current state.
    public internal(set) var state: State = .starting
    /// The lease call in flight, if any.
    public internal(set) var callInFlight: LeaseCall?
    /// When the next periodic lease call is due.
    public internal(set) var nextCallAt: Instant
    // The bookkeeping below is internal rather than private only so that the state machine's extensions
    // in the other FailoverStateMachine+*.swift files can reach it; nothing outside them sets it.

    /// Whether a notification or change asked for a read as soon as the current call returns.
    var readSoon = true
    /// When this node last completed any lease call.
    var lastSuccess: Instant
    /// Whether `database-unreachable` was recorded and `database-back` is owed.
    var databaseDown = false
    /// When the last lease call failure began a run of failures, for the status note.
    var lastFailure: String?
    /// Whether a shutdown was requested.
    var shuttingDown = false
    /// The identifier of the last lease call issued; results of older calls are ignored.
    var lastCallID = 0
    /// After a takeover attempt failed (the database did not answer), the next one waits until
    /// this instant: one attempt per interval, not one per failed call.
    var takeoverBackoffUntil: Instant?
    /// When the last successful read of the lease arrived: the pre-promote hook and the compare-and-set
    /// run only on a view confirmed within one interval.
    var lastReadAt: Instant?
    /// Whether the demotion actions of the current `demoting` state have finished (the hand-off or
    /// release may still wait for the call in flight).
    var demotionDone = false
    /// Whether `started` was recorded.
    var startedRecorded = false
    /// The active's service check (`health.check`, the beat), counted by fall and rise.
    var activeCheck = HealthTracker(role: .active)
    /// A standby's readiness check (`health.standbyCheck`).
    var standbyCheck = HealthTracker(role: .standby)
    /// The host prerequisites that do not hold, each naming its key and value.
    var hostProblems: [String] = []
    /// Whether the host prerequisites were checked at least once (with `health.checksHost`, no takeover before).
    var hostChecked = false
    /// After a step-down, this node is not eligible before this instant.
    var holdDownUntil: Instant?
    /// The reason recorded with the last `not-eligible` event; nil while eligible (or not yet recorded).
    var recordedIneligible: String?
    /// What the active's service is doing.
    var service: ServiceState = .serving
    /// When a failed promotion is tried again (no eligible standby to hand the lease to).
    var promotionRetryAt: Instant?
    /// How long the last successful lease call took (from its start to its answer), for the status page.
    var lastCallSeconds: Double?
    /// The best eligible standby the active's last renew saw (for a step-down), nil when none.
    var bestStandby: String?
    /// Whether the active's last renew found the cluster paused (no step-down or failback then).
    var lastPaused = false
    /// How many `hooks.recover` attempts the current failure has used.
    var recoverAttemptsUsed = 0
    /// Whether `staying-active` was recorded for the current failure.
    var stayRecorded = false
    /// When the lease call in flight was sent (a renew outstanding for an interval starts the failsafe).
    var callStartedAt: Instant?
    /// The failsafe (issue 18): what the active's writes and rounds know.
    var failsafe = FailsafeBook<Instant>()
    /// A standby's last write of its row: when the read that wrote it was sent, and the report it wrote.
    var rowWritten: (at: Instant, report: NodeReport)?
    /// The takeover instant (`takeoverAt`) that `prepareTakeover` was last considered for: once per deadline.
    var preparedFor: Instant?
    /// The view that `prepareTakeover` was last emitted for: a takeover of the same lease (epoch, counter, holder)
    /// promotes with `prepared`.
    var preparedView: LeaseView?
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
        return deadline(of: lease).instant
    }

    /// The active's self-fencing deadline: `renewDeadline` after the start of its last successful renew, or after
    /// the start of its last failsafe round every member acknowledged when that is later, but then never past the
    /// failsafe's cap after the start of the last successful write. `extended`: a round is what the deadline
    /// counts from; `capped`: the cap is what binds.
    func deadline(of lease: Lease) -> (instant: Instant, extended: Bool, capped: Bool) {
        let renewed = lease.lastRenewStart.advanced(by: settings.renewDeadline)
        guard let from = lease.failsafeFrom, from > lease.lastRenewStart, let cap = failsafe.cap else {
            return (renewed, false, false)
        }
        let extended = from.advanced(by: settings.renewDeadline)
        let capAt = lease.lastRenewStart.advanced(by: cap)
        if extended <= capAt { return (extended, true, false) }
        return (max(capAt, renewed), true, true)
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
            wakes.append(deadline(of: lease).instant)
            if let retry = promotionRetryAt { wakes.append(retry) }
            if let round = failsafeWake() { wakes.append(round) }
        case .standby(let watch):
            // The end of a hold-down makes the node eligible again (an event, and maybe a takeover).
            if let holdDown = holdDownUntil, recordedIneligible != nil { wakes.append(holdDown) }
            // A takeover that will be due before the last read goes stale wakes the machine at the due
            // instant; otherwise the next periodic read (below) decides, once it has succeeded.
            if let eligible = takeoverAt(watch), isFresh(at: eligible) { wakes.append(eligible) }
            // Likewise the instant to prepare that takeover, once per deadline.
            if let (prepare, due) = prepareAt(watch), preparedFor != due, isFresh(at: prepare) { wakes.append(prepare) }
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
        case .promotionFinished(let steps, let failure):
            actions += handlePromotionFinished(steps: steps, failure: failure, now: now)
        case .checked(let report):
            actions += handleCheck(report, now: now)
        case .recovered(let passed, let detail):
            actions += handleRecovered(passed: passed, detail: detail, now: now)
        case .hostChecked(let problems):
            hostProblems = problems
            hostChecked = true
        case .demotionFinished(let steps):
            actions += handleDemotionFinished(steps: steps, now: now)
        case .failsafeBeat(let id, let beat):
            actions += handleBeat(id: id, beat, now: now)
        case .failsafeReply(let round, let from, let reply):
            actions += handleReply(round: round, from: from, reply, now: now)
        case .shutdown:
            actions += handleShutdown(now: now)
        }
        actions += retryPromotionIfDue(now: now)
        actions += prepareTakeoverIfDue(now: now)
        actions += nextCalls(now: now)
        actions += failsafeRound(now: now)
        actions += leaveFailsafeIfNotActive(now: now)
        actions += eligibilityEvents(now: now)
        return actions
    }

    // MARK: - Self-fencing

    mutating func fenceIfDeadlinePassed(now: Instant) -> [Action] {
        guard case .active(let lease) = state else { return [] }
        let (deadline, extended, capped) = deadline(of: lease)
        guard now >= deadline else { return [] }
        let sinceRenew = lease.lastRenewStart.duration(to: now)
        let reason: String
        if capped {
            reason =
                "the failsafe reached failsafe.maxDuration (\((failsafe.cap ?? .zero).text)): no heartbeat write "
                + "succeeded for \(sinceRenew.text)"
        } else if extended, let from = lease.failsafeFrom {
            reason =
                "no heartbeat write succeeded for \(sinceRenew.text) and no failsafe round was acknowledged by every "
                + "member for \(from.duration(to: now).text) (renewDeadline \(settings.renewDeadline.text))"
        } else {
            reason =
                "no heartbeat write succeeded for \(sinceRenew.text) (renewDeadline \(settings.renewDeadline.text))"
        }
        failsafe.leaving = capped ? "fenced at failsafe.maxDuration" : "fenced"
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

    mutating func becomeActive(
        epoch: Int64,
        counter: Int64,
        renewStart: Instant,
        now: Instant,
        cause: ClusterEvent.Kind,
        prepared: Bool = false
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
        resetServiceHealth()
        return [.promote(epoch: epoch, prepared: prepared)]
    }

    func watchStandbys(_ lease: inout Lease, standbyAge: Double?, now: Instant) -> [Action] {
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
                                standbyAge.map { "the last standby was seen \(Int($0)) s ago" }
                                    ?? "no standby is registered"
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

    mutating func handleDemotionFinished(steps: JSONValue, now: Instant) -> [Action] {
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

    mutating func handleShutdown(now: Instant) -> [Action] {
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
    var currentEpoch: Int64 {
        switch state {
        case .standby(let watch), .vetting(let watch, _), .claiming(let watch): return watch.view.epoch
        case .confirming(let epoch, _): return epoch
        case .active(let lease): return lease.epoch
        case .demoting(.handOff(_, let epoch, _)), .demoting(.release(let epoch, _)): return epoch
        default: return 0
        }
    }

    mutating func issue(_ call: LeaseCall, now: Instant) -> Action {
        callInFlight = call
        callStartedAt = now
        readSoon = false
        lastCallID += 1
        return .call(id: lastCallID, call)
    }

    /// Whether a standby's read should write its row (issue 16): when its report changed, or when the last write
    /// is one and a half intervals old (so every other read; the note in the row lags by at most an interval).
    func rowDue(_ report: NodeReport, now: Instant) -> Bool {
        guard let last = rowWritten, last.report == report else { return true }
        return last.at.advanced(by: settings.interval + settings.interval / 2) <= now
    }

    /// Starts the lease call that is due, if none is in flight.
    mutating func nextCalls(now: Instant) -> [Action] {
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
            return [issue(.observe(role: .standby, note: "starting", report: report(now: now)), now: now)]
        case .standby(let watch):
            guard due else { return [] }
            return [
                issue(
                    .observe(
                        role: .standby,
                        note: standbyNote(watch, now: now),
                        report: report(now: now),
                        writeRow: rowDue(report(now: now), now: now)
                    ),
                    now: now
                )
            ]
        case .vetting:
            guard due else { return [] }
            return [
                issue(.observe(role: .standby, note: "pre-promote hook running", report: report(now: now)), now: now)
            ]
        case .claiming(let watch):
            return [issue(.takeOver(seenEpoch: watch.view.epoch, seenCounter: watch.view.counter), now: now)]
        case .confirming(let epoch, _):
            guard due else { return [] }
            return [issue(.renew(epoch: epoch, report: report(now: now)), now: now)]
        case .active(let lease):
            guard now >= nextCallAt else { return [] }
            if let change = membershipChange(lease, now: now) { return [issue(change, now: now)] }
            return [issue(.renew(epoch: lease.epoch, report: report(now: now)), now: now)]
        }
    }

}
