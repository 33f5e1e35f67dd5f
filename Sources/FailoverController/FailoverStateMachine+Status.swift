extension FailoverStateMachine {
    // MARK: - What the node reports

    /// Why this standby is not taking over, in words, for its row and `status`.
    public func standbyNote(_ watch: Watch, now: Instant) -> String {
        if let failure = lastFailure { return "database unreachable: \(failure)" }
        if watch.view.paused { return "paused: no takeover until resume" }
        if let veto = watch.veto { return "vetoed by the pre-promote hook: \(veto)" }
        if let reason = notEligibleReason(now: now) ?? pendingCheck { return "not eligible: \(reason)" }
        guard let eligible = takeoverAt(watch) else { return "watching" }
        let left = now.duration(to: eligible)
        let rank = watch.view.rank > 0 ? ", rank \(watch.view.rank)" : ""
        if watch.view.activeNode == nil { return "lease released: taking over\(rank)" }
        if watch.changedAt.duration(to: now) < settings.interval * 2 {
            return "counter moving (\(watch.view.counter))\(rank)"
        }
        return
            "counter unchanged for \(watch.changedAt.duration(to: now).text): takeover in \(max(left, .zero).text)\(rank)"
    }

    /// While the active rides through on failsafe rounds: since when, on whose acks, until when at most.
    func failsafeText(now: Instant) -> String? {
        guard case .active(let lease) = state, let entered = failsafe.enteredAt else { return nil }
        let set = failsafe.round?.set ?? []
        let members = set.isEmpty ? "no other node registered" : "members " + set.joined(separator: ", ")
        let left = now.duration(to: deadline(of: lease).instant)
        return "failsafe for \(entered.duration(to: now).text) (\(members); \(failsafe.extensions) of "
            + "\(failsafe.rounds) rounds acknowledged; fences in \(max(left, .zero).text) unless a renew or a round succeeds)"
    }

    /// The node's status at `now`, for `/health`, `/status`, metrics and sd_notify.
    public func status(now: Instant) -> NodeStatus {
        var status = baseStatus(now: now)
        let report = report(now: now)
        status.health = report.health
        status.eligible = report.eligible
        status.serviceFailed = serviceFailed
        status.checkFailed = checkFailed
        status.lastCallSeconds = lastCallSeconds
        status.failsafe = failsafeText(now: now)
        if let text = status.failsafe { status.note += "; " + text }
        return status
    }

    private func baseStatus(now: Instant) -> NodeStatus {
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
                role: role,
                epoch: watch.view.epoch,
                view: watch.view,
                note: "pre-promote hook running",
                secondsSinceLastSuccess: sinceSuccess
            )
        case .claiming(let watch):
            return NodeStatus(
                role: role,
                epoch: watch.view.epoch,
                view: watch.view,
                note: "taking over",
                secondsSinceLastSuccess: sinceSuccess
            )
        case .confirming(let epoch, _):
            return NodeStatus(
                role: role,
                epoch: epoch,
                view: nil,
                note: "named active: confirming the lease with a renew",
                secondsSinceLastSuccess: sinceSuccess
            )
        case .active(let lease):
            let view = LeaseView(epoch: lease.epoch, activeNode: settings.node, counter: lease.counter)
            var note = lease.promoted ? "active" : "active: promotion actions running"
            if case .failed(let reason, _) = service {
                note =
                    "active, service failed (\(reason))"
                    + (bestStandby == nil ? ": no eligible standby to step down to" : "")
            } else if case .recovering(let attempt, _, _) = service {
                note =
                    "active, recovering the service in place (hooks.recover \(attempt)/\(settings.health.recoverAttempts))"
            }
            return NodeStatus(
                role: role,
                epoch: lease.epoch,
                view: view,
                note: lease.haLost ? note + ", no standby seen" : note,
                secondsSinceLastSuccess: sinceSuccess
            )
        case .demoting:
            return NodeStatus(
                role: role,
                epoch: currentEpoch,
                view: nil,
                note: "demoting",
                secondsSinceLastSuccess: sinceSuccess
            )
        case .stopped:
            return NodeStatus(
                role: role,
                epoch: currentEpoch,
                view: nil,
                note: "stopped",
                secondsSinceLastSuccess: sinceSuccess
            )
        }
    }
}
