extension FailoverStateMachine {
    // MARK: - Lease results, one handler per state

    /// A lease call's result: the bookkeeping every state shares (database down or back, the last read,
    /// `started`), then the handler of the current state. A result the state has no use for (it moved on
    /// while the call was in flight) changes nothing.
    mutating func handleLeaseResult(_ result: LeaseResult, startedAt: Instant, now: Instant) -> [Action] {
        guard let call = callInFlight else { return [] }
        callInFlight = nil
        callStartedAt = nil
        if case .observe(_, _, let report, true) = call, case .observed = result {
            rowWritten = (startedAt, report)
        } else if call.renewEpoch != nil {
            // A renew writes the row as active: the next standby read writes it again.
            rowWritten = nil
        }
        nextCallAt = startedAt.advanced(by: settings.interval)
        if case .failed = result {} else { lastCallSeconds = startedAt.duration(to: now).secondsValue }
        var actions = noteOutcome(of: result, now: now)
        switch state {
        case .stopped:
            break
        case .starting:
            actions += startingResult(call, result, now: now)
        case .standby(let watch):
            actions += standbyResult(watch, call, result, now: now)
        case .vetting(let watch, let aborted):
            actions += vettingResult(watch, aborted: aborted, call, result, now: now)
        case .claiming(let watch):
            actions += claimingResult(watch, call, result, startedAt: startedAt, now: now)
        case .confirming(let epoch, let reason):
            actions += confirmingResult(epoch: epoch, reason: reason, call, result, startedAt: startedAt, now: now)
        case .active(let lease):
            actions += activeResult(lease, call, result, startedAt: startedAt, now: now)
        case .demoting(let after):
            actions += demotingResult(after, call, result)
        }
        return actions
    }

    /// What every result tells, whatever the state: the database is down (for `timeout`) or back, the
    /// time of the last successful read, and the `started` event at the first one.
    private mutating func noteOutcome(of result: LeaseResult, now: Instant) -> [Action] {
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
                                detail: [
                                    "node": .string(settings.node),
                                    "holder": view.activeNode.map(JSONValue.string) ?? .null,
                                ]
                            )
                        )
                    )
                }
            }
        }

        return actions
    }

    /// `starting`: the first read; or, after a demotion for a switchover, the hand-off's answer (the
    /// state stays `starting` while the hand-off is the call in flight).
    private mutating func startingResult(_ call: LeaseCall, _ result: LeaseResult, now: Instant) -> [Action] {
        switch (call, result) {
        case (.observe, .observed(let view)):
            state = .standby(Watch(view: view, changedAt: now, veto: nil))
            return afterObservation(view: view, previous: nil, now: now)
        case (.handOff(let target, let epoch, _), let outcome):
            var actions: [Action] = []
            if outcome == .handedOff(true) {
                actions.append(.record(ClusterEvent(kind: .handedOff, epoch: epoch, detail: ["to": .string(target)])))
            }
            if shuttingDown {
                state = .stopped
                actions.append(.exit)
            } else {
                readSoon = true
            }
            return actions
        default:
            return []
        }
    }

    /// `standby`: a read restarts the staleness clock when the lease's liveness changed.
    private mutating func standbyResult(_ watch: Watch, _ call: LeaseCall, _ result: LeaseResult, now: Instant)
        -> [Action]
    {
        guard case .observe = call, case .observed(let view) = result else { return [] }
        var watch = watch
        let previous = watch.view
        if view.differsInLiveness(from: watch.view) {
            watch.changedAt = now
            watch.veto = nil
        }
        watch.view = view
        state = .standby(watch)
        return afterObservation(view: view, previous: previous, now: now)
    }

    /// `vetting`: reads go on while the pre-promote hook runs; a change aborts the takeover.
    private mutating func vettingResult(
        _ watch: Watch,
        aborted: Bool,
        _ call: LeaseCall,
        _ result: LeaseResult,
        now: Instant
    ) -> [Action] {
        guard case .observe = call else { return [] }
        switch result {
        case .observed(let view):
            var watch = watch
            let changed = view.differsInLiveness(from: watch.view)
            if changed { watch.changedAt = now }
            watch.view = view
            state = .vetting(watch, aborted: aborted || changed)
        case .failed:
            backOff(watch, now: now)
        default:
            break
        }
        return []
    }

    /// A read or compare-and-set failed on the way to a takeover: the database is not answering; stand by
    /// and try again in an interval rather than at once.
    private mutating func backOff(_ watch: Watch, now: Instant) {
        state = .standby(watch)
        takeoverBackoffUntil = now.advanced(by: settings.interval)
    }

    /// `claiming`: the compare-and-set's answer, or a read that was in flight when the gate passed.
    private mutating func claimingResult(
        _ watch: Watch,
        _ call: LeaseCall,
        _ result: LeaseResult,
        startedAt: Instant,
        now: Instant
    ) -> [Action] {
        switch (call, result) {
        case (.takeOver, .tookOver(let newEpoch?, let row)):
            return won(newEpoch, row: row, watch: watch, startedAt: startedAt, now: now)
        case (.takeOver, .tookOver(nil, _)):
            // Another node changed the lease first: read it afresh before deciding anything.
            state = .starting
            readSoon = true
        case (.observe, .observed(let view)):
            // If the lease moved, the claim is void.
            if view.differsInLiveness(from: watch.view) {
                var watch = watch
                watch.view = view
                watch.changedAt = now
                watch.veto = nil
                state = .standby(watch)
                return afterObservation(view: view, previous: nil, now: now)
            }
        case (.takeOver, .failed):
            if shuttingDown {
                // Whether it committed is unknown; if it did, a standby takes over after `timeout`, as on a crash.
                state = .stopped
                return [.exit]
            }
            backOff(watch, now: now)
        case (.observe, .failed):
            backOff(watch, now: now)
        default:
            break
        }
        return []
    }

    /// The compare-and-set won epoch `newEpoch`: record the takeover now (issue 13: a fence during the
    /// promotion must not lose it), then promote, or release at once if a shutdown is under way. `row`: what the
    /// takeover wrote of the failsafe, the epoch's first write.
    private mutating func won(
        _ newEpoch: Int64,
        row: FailsafeRow?,
        watch: Watch,
        startedAt: Instant,
        now: Instant
    ) -> [Action] {
        failsafe.beganEpoch(row)
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
        let actions: [Action] = [.record(ClusterEvent(kind: .takeover, epoch: newEpoch, detail: detail))]
        if shuttingDown {
            // SIGTERM arrived while the compare-and-set was in flight: nothing was promoted, so
            // release the lease at once rather than leave it for a standby to time out.
            state = .demoting(then: .release(epoch: newEpoch, counter: 0))
            demotionDone = true
            return actions
        }
        return actions
            + becomeActive(
                epoch: newEpoch,
                counter: 0,
                renewStart: startedAt,
                now: now,
                cause: .takeover,
                prepared: wasPrepared(watch.view)
            )
    }

    /// `confirming`: the first renew of a node the lease names (a restart or a hand-off).
    private mutating func confirmingResult(
        epoch: Int64,
        reason: ConfirmReason,
        _ call: LeaseCall,
        _ result: LeaseResult,
        startedAt: Instant,
        now: Instant
    ) -> [Action] {
        guard case .renew = call else { return [] }
        switch result {
        case .renew(.renewed(let counter, _, _, _, _, _, let row)):
            failsafe.wrote(row)
            let kind: ClusterEvent.Kind = reason == .resume ? .resumed : .handoverReceived
            let actions: [Action] = [
                .record(ClusterEvent(kind: kind, epoch: epoch, detail: ["node": .string(settings.node)]))
            ]
            if shuttingDown {
                // SIGTERM while confirming: the lease is confirmed ours with this counter; release it.
                state = .demoting(then: .release(epoch: epoch, counter: counter))
                demotionDone = true
                return actions
            }
            return actions + becomeActive(epoch: epoch, counter: counter, renewStart: startedAt, now: now, cause: kind)
        case .renew(.deposed):
            if shuttingDown {
                state = .stopped
                return [.exit]
            }
            state = .starting
            readSoon = true
        case .failed where shuttingDown:
            // Unknown whether the lease is still ours: leave it to time out, as on a crash.
            state = .stopped
            return [.exit]
        default:
            break
        }
        return []
    }

    /// `active`: the renew's answer; a switchover request or a lost lease starts the demotion.
    private mutating func activeResult(
        _ lease: Lease,
        _ call: LeaseCall,
        _ result: LeaseResult,
        startedAt: Instant,
        now: Instant
    ) -> [Action] {
        guard call.renewEpoch == lease.epoch else { return [] }
        switch result {
        case .renew(.renewed(let counter, let paused, let handoverTo, let age, let best, let preferredFor, let row)):
            var lease = lease
            if startedAt > lease.lastRenewStart { lease.lastRenewStart = startedAt }
            lease.counter = counter
            failsafe.wrote(row)
            bestStandby = best
            lastPaused = paused
            var actions = endFailsafe(how: "renewed", now: now)
            actions += watchStandbys(&lease, standbyAge: age, now: now)
            state = .active(lease)
            if let target = handoverTo, target != settings.node {
                state = .demoting(then: .handOff(to: target, epoch: lease.epoch, counter: lease.counter))
                demotionDone = false
                actions.append(.demote(epoch: lease.epoch, reason: "switchover to \(target)"))
                return actions
            }
            actions += stepDownIfFailed(now: now)
            actions += failBackIfDue(preferredEligibleFor: preferredFor, now: now)
            return actions
        case .renew(.notApplied):
            // The membership change matched no row: it ran and did not commit. The next renew tells the rest.
            failsafe.unsettled = nil
            return []
        case .renew(.deposed):
            failsafe.leaving = "deposed"
            state = .demoting(then: .watch)
            demotionDone = false
            return [
                .demote(epoch: lease.epoch, reason: "deposed: the lease moved to another node"),
                .record(
                    ClusterEvent(
                        kind: .deposed,
                        epoch: lease.epoch,
                        detail: ["reason": "the renew matched no row: another node holds a newer epoch"]
                    )
                ),
            ]
        case .failed:
            failsafe.renewFailing = true
            return []
        default:
            return []
        }
    }

    /// `demoting`: a renew that was in flight when the demotion began (the hand-off or release must carry
    /// the counter it wrote, or it matches no row and the standby waits the whole `timeout`), or the
    /// release's answer.
    private mutating func demotingResult(_ after: AfterDemotion, _ call: LeaseCall, _ result: LeaseResult) -> [Action] {
        switch (after, call, result) {
        case (.release(let epoch, _), _, .renew(.renewed(let counter, _, _, _, _, _, _))) where call.renewEpoch == epoch:
            state = .demoting(then: .release(epoch: epoch, counter: counter))
        case (.handOff(let target, let epoch, _), _, .renew(.renewed(let counter, _, _, _, _, _, _)))
        where call.renewEpoch == epoch:
            state = .demoting(then: .handOff(to: target, epoch: epoch, counter: counter))
        case (.release(let epoch, _), .release, .released(let done)):
            state = .stopped
            if done {
                return [
                    .record(ClusterEvent(kind: .released, epoch: epoch, detail: ["by": .string(settings.node)])), .exit,
                ]
            }
            return [.exit]
        case (.release, .release, .failed):
            // The lease stays ours; a standby takes over after `timeout`, as on a crash.
            state = .stopped
            return [.exit]
        default:
            break
        }
        return []
    }
}
