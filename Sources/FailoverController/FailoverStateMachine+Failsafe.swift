/// What the state machine keeps for the failsafe (issue 18), on the active's side and a standby's.
struct FailsafeBook<Instant: InstantProtocol>: Sendable, Equatable where Instant.Duration == Duration {
    /// A membership change whose answer did not arrive: it may still commit until the next successful write.
    struct Change: Sendable, Equatable {
        var members: [String]?
        var maxDuration: Duration?
    }

    /// The row's failsafe columns as the active's last successful write returned them.
    var row: FailsafeRow?
    /// The membership change in flight or unanswered, if any (at most one).
    var unsettled: Change?
    /// Whether the active's last renew failed (a failsafe round is then due every interval).
    var renewFailing = false
    /// The current round.
    var round: FailsafeRound<Instant>?
    /// The number of the last round id (`nonce-number`).
    var number: UInt64 = 0
    /// Rounds sent since the failsafe was entered.
    var rounds = 0
    /// Rounds every member acknowledged since the failsafe was entered.
    var extensions = 0
    /// When the active entered the failsafe; nil while it is not in it.
    var enteredAt: Instant?
    /// How the failsafe ends, when the state that ends it knows (`fenced`, `deposed`).
    var leaving: String?
    /// Round ids this node acknowledged lately (a replayed beat is refused).
    var seenRounds: [String] = []
    /// A lease value: an epoch and its counter.
    struct LeaseMark: Sendable, Equatable {
        var epoch: Int64
        var counter: Int64
    }
    /// A standby: the lease value for which `failsafe-peer` was recorded.
    var peerRecordedAt: LeaseMark?

    /// A successful write (renew, membership change, the first renew of an epoch) answered with `row`: any change
    /// still in flight can no longer commit (the write moved the counter it checks).
    mutating func wrote(_ row: FailsafeRow?) {
        self.row = row
        unsettled = nil
        renewFailing = false
    }

    /// This node's takeover won a new epoch; `row` is what it wrote. Nothing of an earlier epoch's writes carries
    /// over: a row kept from an epoch this node held before would name that epoch's members, and a round sent to
    /// them could be acknowledged while a member of the new epoch that is not among them takes over.
    mutating func beganEpoch(_ row: FailsafeRow?) {
        wrote(row)
        round = nil
        enteredAt = nil
        leaving = nil
    }

    /// The cap the active obeys: the least of the row's and an unsettled change's; nil when the failsafe is not in
    /// use (no extension then).
    var cap: Duration? {
        guard let row, row.members != nil, let rowCap = row.maxDuration else { return nil }
        guard let unsettled else { return rowCap }
        guard unsettled.members != nil, let changeCap = unsettled.maxDuration else { return nil }
        return min(rowCap, changeCap)
    }

    /// The failsafe set: the last write's members plus those of an unsettled change, without `me`; nil when the
    /// failsafe is not in use.
    func set(without me: String) -> [String]? {
        guard cap != nil, let members = row?.members else { return nil }
        return Set(members + (unsettled?.members ?? [])).subtracting([me]).sorted()
    }
}

extension FailoverStateMachine {
    // MARK: - Failsafe: the active's rounds

    /// Whether the active's renew has failed, or has been in flight for an interval: failsafe rounds are due.
    func renewOverdue(now: Instant) -> Bool {
        if failsafe.renewFailing { return true }
        guard callInFlight?.renewEpoch != nil, let started = callStartedAt else { return false }
        return started.advanced(by: settings.interval) <= now
    }

    /// When the active must look at the failsafe again: the next round, or the instant the renew in flight
    /// becomes overdue.
    func failsafeWake() -> Instant? {
        guard settings.failsafe != nil, failsafe.cap != nil else { return nil }
        if let round = failsafe.round, failsafe.enteredAt != nil { return round.start.advanced(by: settings.interval) }
        if callInFlight?.renewEpoch != nil, let started = callStartedAt {
            return started.advanced(by: settings.interval)
        }
        return nil
    }

    /// Starts a failsafe round when one is due: the active's renew failed or is overdue, the failsafe is on and in
    /// use in this epoch, and the last round started an interval ago.
    mutating func failsafeRound(now: Instant) -> [Action] {
        guard case .active(var lease) = state, let config = settings.failsafe, !shuttingDown,
            let set = failsafe.set(without: settings.node), renewOverdue(now: now)
        else { return [] }
        if let round = failsafe.round, failsafe.enteredAt != nil, now < round.start.advanced(by: settings.interval) {
            return []
        }
        var actions: [Action] = []
        if failsafe.enteredAt == nil {
            failsafe.enteredAt = now
            failsafe.rounds = 0
            failsafe.extensions = 0
            failsafe.leaving = nil
            actions.append(
                .record(
                    ClusterEvent(
                        kind: .failsafeEntered,
                        epoch: lease.epoch,
                        detail: [
                            "members": .array(set.map(JSONValue.string)),
                            "maxDurationSeconds": (failsafe.cap ?? .zero).jsonSeconds,
                            "error": lastFailure.map(JSONValue.string) ?? "the renew is overdue",
                            "secondsSinceLastRenewStart": lease.lastRenewStart.duration(to: now).jsonSeconds,
                        ]
                    )
                )
            )
        }
        failsafe.number += 1
        failsafe.rounds += 1
        var round = FailsafeRound(id: "\(config.nonce)-\(failsafe.number)", start: now, set: set)
        if set.isEmpty {
            // No other node is registered: none can take over before the cap and a timeout have passed.
            extend(&lease, from: round.start)
            state = .active(lease)
            round.acked = []
            failsafe.round = round
            return actions
        }
        failsafe.round = round
        let addresses = failsafe.row?.addresses ?? [:]
        actions.append(
            .sendBeats(
                FailsafeSend(
                    beat: FailsafeBeat(
                        cluster: settings.cluster,
                        from: settings.node,
                        epoch: lease.epoch,
                        round: round.id
                    ),
                    members: set.map { FailsafeSend.Member(name: $0, address: addresses[$0] ?? "") },
                    timeout: settings.interval
                )
            )
        )
        return actions
    }

    private mutating func extend(_ lease: inout Lease, from start: Instant) {
        if lease.failsafeFrom.map({ start > $0 }) ?? true { lease.failsafeFrom = start }
        failsafe.extensions += 1
    }

    /// A member's reply: an ack of the current round counts; all of them extend the deadline from the round's
    /// start; a "no" that names a newer epoch fences at once.
    mutating func handleReply(round: String, from: String, _ reply: FailsafeReply, now: Instant) -> [Action] {
        guard case .active(var lease) = state, var current = failsafe.round, current.id == round,
            current.set.contains(from), case .answered(let answer) = reply
        else { return [] }
        switch answer {
        case .ack(let acked):
            guard acked == round, !current.acked.contains(from) else { return [] }
            current.acked.insert(from)
            failsafe.round = current
            if current.complete {
                extend(&lease, from: current.start)
                state = .active(lease)
            }
            return []
        case .no(let epoch, let reason):
            guard epoch > lease.epoch else { return [] }
            let why = "failsafe: \(from) knows a newer epoch, \(epoch) (\(reason))"
            failsafe.leaving = "fenced: \(from) knows epoch \(epoch)"
            state = .demoting(then: .watch)
            demotionDone = false
            return [
                .demote(epoch: lease.epoch, reason: "fenced: " + why),
                .record(
                    ClusterEvent(
                        kind: .fenced,
                        epoch: lease.epoch,
                        detail: ["reason": .string(why), "node": .string(from), "newerEpoch": .number(Double(epoch))]
                    )
                ),
            ]
        case .refused:
            return []
        }
    }

    /// Records `failsafe-left` if the failsafe was entered.
    mutating func endFailsafe(how: String, now: Instant) -> [Action] {
        guard let entered = failsafe.enteredAt else { return [] }
        let detail: [String: JSONValue] = [
            "how": .string(how),
            "seconds": entered.duration(to: now).jsonSeconds,
            "rounds": .number(Double(failsafe.rounds)),
            "acknowledgedRounds": .number(Double(failsafe.extensions)),
        ]
        failsafe.enteredAt = nil
        failsafe.round = nil
        failsafe.leaving = nil
        return [.record(ClusterEvent(kind: .failsafeLeft, epoch: currentEpoch, detail: detail))]
    }

    /// Ends the failsafe of an active that is no longer active (fenced, deposed, stopping).
    mutating func leaveFailsafeIfNotActive(now: Instant) -> [Action] {
        guard failsafe.enteredAt != nil, !isActive else { return [] }
        let how = failsafe.leaving ?? (shuttingDown ? "stopped" : "demoted")
        failsafe.renewFailing = false
        return endFailsafe(how: how, now: now)
    }

    /// The membership change the active sends instead of its next renew, if the row's members or cap differ from
    /// what it wants (the registered nodes, not stopped, seen within `timeout`; its own `failsafe.maxDuration`).
    mutating func membershipChange(_ lease: Lease, now: Instant) -> LeaseCall? {
        guard failsafe.unsettled == nil, !failsafe.renewFailing, let row = failsafe.row else { return nil }
        let wantCap = settings.failsafe?.maxDuration
        let wantMembers = wantCap == nil ? nil : Array(Set(row.desired).subtracting([settings.node])).sorted()
        let sameMembers = row.members.map { Set($0) } == wantMembers.map { Set($0) }
        let sameCap = row.maxDuration.map { $0.milliseconds } == wantCap.map { $0.milliseconds }
        if sameMembers && sameCap { return nil }
        failsafe.unsettled = FailsafeBook.Change(members: wantMembers, maxDuration: wantCap)
        return .changeMembers(
            epoch: lease.epoch,
            counter: lease.counter,
            members: wantMembers,
            maxDuration: wantCap,
            report: report(now: now)
        )
    }

    // MARK: - Failsafe: a beat arrives

    /// Answers a beat. A standby (or a node taking over, or starting) acknowledges the holder it knows and
    /// restarts its takeover timer at the beat's arrival; a node that knows a newer epoch says no; a node that
    /// holds or may hold the lease says no.
    mutating func handleBeat(id: Int, _ beat: FailsafeBeat, now: Instant) -> [Action] {
        if failsafe.seenRounds.contains(beat.round) {
            return [.answerBeat(id: id, .refused("round \(beat.round) was answered before: a replayed beat"))]
        }
        var actions: [Action] = []
        switch state {
        case .standby(var watch), .vetting(var watch, _), .claiming(var watch):
            if beat.epoch < watch.view.epoch {
                let holder = watch.view.activeNode ?? "nobody"
                return [
                    .answerBeat(
                        id: id,
                        .no(
                            epoch: watch.view.epoch,
                            reason: "\(settings.node) saw epoch \(watch.view.epoch), held by \(holder)"
                        )
                    )
                ]
            }
            if beat.epoch == watch.view.epoch && beat.from != watch.view.activeNode {
                return [
                    .answerBeat(
                        id: id,
                        .refused(
                            "\(beat.from) does not hold epoch \(beat.epoch): the lease names "
                                + "\(watch.view.activeNode ?? "nobody")"
                        )
                    )
                ]
            }
            watch.changedAt = now
            watch.veto = nil
            switch state {
            case .vetting: state = .vetting(watch, aborted: true)
            case .claiming: state = .claiming(watch)
            default: state = .standby(watch)
            }
            let mark = FailsafeBook<Instant>.LeaseMark(epoch: watch.view.epoch, counter: watch.view.counter)
            if isFresh(at: now), failsafe.peerRecordedAt != mark {
                failsafe.peerRecordedAt = mark
                actions.append(
                    .record(
                        ClusterEvent(
                            kind: .failsafePeer,
                            epoch: beat.epoch,
                            detail: [
                                "node": .string(settings.node),
                                "active": .string(beat.from),
                                "counter": .number(Double(watch.view.counter)),
                                "reason": .string(
                                    "\(beat.from) is alive but cannot renew: this node reads the database and gets "
                                        + "its failsafe beats, so it stays standby"
                                ),
                            ]
                        )
                    )
                )
            }
        case .starting:
            // No read yet: the takeover timer starts at the first read's arrival, after this ack.
            break
        case .confirming(let epoch, _):
            return [
                .answerBeat(id: id, .no(epoch: epoch, reason: "\(settings.node) is named active in epoch \(epoch)"))
            ]
        case .active(let lease):
            return [
                .answerBeat(id: id, .no(epoch: lease.epoch, reason: "\(settings.node) holds epoch \(lease.epoch)"))
            ]
        case .demoting, .stopped:
            return [
                .answerBeat(id: id, .no(epoch: currentEpoch, reason: "\(settings.node) is \(role.rawValue)"))
            ]
        }
        failsafe.seenRounds.append(beat.round)
        if failsafe.seenRounds.count > 64 { failsafe.seenRounds.removeFirst(failsafe.seenRounds.count - 64) }
        return actions + [.answerBeat(id: id, .ack(round: beat.round))]
    }
}

extension Duration {
    /// Whole milliseconds (the precision the lease row keeps a cap in).
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
