extension FailoverStateMachine {
    // MARK: - Standby: when to take over

    /// Decides what a standby does after a successful read.
    mutating func afterObservation(view: LeaseView, previous: LeaseView?, now: Instant) -> [Action] {
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
    func isFresh(at instant: Instant) -> Bool {
        guard let lastReadAt else { return false }
        return lastReadAt.duration(to: instant) <= settings.interval
    }

    /// Whether a takeover may start now: due, and on a fresh view.
    func takeoverDue(_ watch: Watch, now: Instant) -> Bool {
        guard let eligible = takeoverAt(watch), now >= eligible else { return false }
        return isFresh(at: now)
    }

    /// When a standby may start a takeover, or `nil` while it may not (paused, vetoed, it is named, or it is
    /// not eligible: a failed `health.standbyCheck` or a missing host prerequisite; a hold-down only delays it).
    func takeoverAt(_ watch: Watch) -> Instant? {
        if watch.view.paused || watch.veto != nil || watch.view.activeNode == settings.node || shuttingDown {
            return nil
        }
        if !hostProblems.isEmpty || standbyCheck.isFailed || pendingCheck != nil { return nil }
        let rankDelay = settings.interval * watch.view.rank
        // Issue 18: a node the lease does not list as a member waits the holder's failsafe cap as well (the holder
        // may ride through an outage on its members' acks for that long).
        let wait = settings.timeout + (nonMemberWait(watch.view) ?? .zero)
        let due =
            watch.view.activeNode == nil
            ? watch.changedAt.advanced(by: rankDelay) : watch.changedAt.advanced(by: wait + rankDelay)
        var at = due
        if let backoff = takeoverBackoffUntil, backoff > at { at = backoff }
        if let holdDown = holdDownUntil, holdDown > at { at = holdDown }
        return at
    }

    /// When to prepare the takeover of `watch` (`settings.takeoverLead` before it is due) and when it is due; nil
    /// when there is nothing to prepare for.
    ///
    /// Only a deadline is looked ahead to: a released lease is taken at once, and a hand-off target is named,
    /// not timed, so both prepare nothing (their steps run as without a lead). Nor when the lead is longer than
    /// what `timeout` leaves after the holder's self-fencing deadline less the room for its demotion and clock
    /// drift (`minimumDemoteMargin`): a holder cut off from the database may still hold the address then, and an
    /// early probe would find it.
    func prepareAt(_ watch: Watch) -> (prepare: Instant, due: Instant)? {
        guard let lead = settings.takeoverLead, lead > .zero, watch.view.activeNode != nil,
            lead <= settings.timeout - settings.renewDeadline - settings.minimumDemoteMargin,
            let due = takeoverAt(watch)
        else { return nil }
        return (due.advanced(by: .zero - lead), due)
    }

    /// `prepareTakeover` once the lead before a standby's takeover deadline has begun, once per deadline; none
    /// when the takeover is due already or the last read is not fresh (it then runs without a prepared step).
    mutating func prepareTakeoverIfDue(now: Instant) -> [Action] {
        guard case .standby(let watch) = state, let (prepare, due) = prepareAt(watch), preparedFor != due,
            now >= prepare
        else { return [] }
        // Considered once, even when skipped: nextWake must not come back to an instant that has passed.
        preparedFor = due
        guard now < due, isFresh(at: now) else { return [] }
        preparedView = watch.view
        return [.prepareTakeover(watch.view)]
    }

    /// Whether a takeover of `view` is the one `prepareTakeover` was emitted for (same epoch, counter and holder).
    func wasPrepared(_ view: LeaseView) -> Bool {
        guard let prepared = preparedView, view.activeNode != nil else { return false }
        return prepared.epoch == view.epoch && prepared.counter == view.counter
            && prepared.activeNode == view.activeNode
    }

    /// The holder's failsafe cap when the lease uses the failsafe and does not list this node as a member; nil
    /// when this node is a member (or the failsafe is not in use).
    func nonMemberWait(_ view: LeaseView) -> Duration? {
        guard let members = view.members, let cap = view.failsafeMax, !members.contains(settings.node) else {
            return nil
        }
        return cap
    }

    mutating func handleGateResult(veto: String?, now: Instant) -> [Action] {
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
}
