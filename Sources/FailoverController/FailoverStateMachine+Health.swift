/// What the active's service is doing, as its checks and `hooks.recover` tell.
public enum ServiceState: Sendable, Equatable {
    /// Serving (its check passes, or is failing fewer than `fall` times).
    case serving
    /// `hooks.recover` attempt `attempt` runs (`hookDone` false) or ran; `failures` counts failed checks
    /// since it finished: `fall` of them fail the attempt, `rise` passes recover the service in place.
    case recovering(attempt: Int, hookDone: Bool, failures: Int)
    /// The node cannot serve: its check failed after every recover attempt, or a promotion step failed on
    /// this host (`promotion`: then the promotion is tried again while no standby can take the lease).
    case failed(reason: String, promotion: Bool)
}

extension FailoverStateMachine {
    // MARK: - Health: the role follows the service

    /// Why this node may not take over or be handed the lease now, or nil when it may: a host prerequisite
    /// that does not hold, a failed `health.standbyCheck`, or the hold-down after a step-down.
    public func notEligibleReason(now: Instant) -> String? {
        if let problem = hostProblems.first {
            return hostProblems.count > 1 ? "\(problem) (and \(hostProblems.count - 1) more)" : problem
        }
        if standbyCheck.isFailed {
            let said = standbyCheck.lastDetail.isEmpty ? "" : ": " + standbyCheck.lastDetail
            return "health.standbyCheck failed \(settings.health.fall) times\(said)"
        }
        if let until = holdDownUntil, now < until {
            return
                "hold-down after stepping down: \(now.duration(to: until).text) left (health.holdDown \(settings.health.holdDown.text))"
        }
        return nil
    }

    /// What has not been checked yet at start-up (the host prerequisites, the first `health.standbyCheck`): no
    /// takeover and no hand-off to this node before; not an event (it lasts one check).
    var pendingCheck: String? {
        if settings.health.checksHost && !hostChecked { return "the host prerequisites are being checked" }
        if settings.health.checksStandby && standbyCheck.verdict == .unknown {
            return "health.standbyCheck has not run yet"
        }
        return nil
    }

    /// The health and eligibility this node writes into its row with every read or renew.
    public func report(now: Instant) -> NodeReport {
        switch state {
        case .active, .confirming:
            return NodeReport(eligible: service == .serving, health: serviceText)
        case .demoting, .stopped:
            return NodeReport(eligible: false, health: state == .stopped ? "stopped" : "demoting")
        case .starting, .standby, .vetting, .claiming:
            if let reason = notEligibleReason(now: now) ?? pendingCheck {
                return NodeReport(eligible: false, health: "not eligible: \(reason)")
            }
            guard settings.health.checksStandby else { return NodeReport() }
            return NodeReport(
                eligible: true,
                health: standbyCheck.text(fall: settings.health.fall, rise: settings.health.rise)
            )
        }
    }

    /// The active's service in words: `healthy`, `failing 2/3: …`, `recovering 1/1: …`, `failed: …`.
    var serviceText: String {
        let health = settings.health
        switch service {
        case .serving:
            return health.checksActive ? activeCheck.text(fall: health.fall, rise: health.rise) : "unchecked"
        case .recovering(let attempt, _, _):
            let said = activeCheck.lastDetail.isEmpty ? "" : ": " + activeCheck.lastDetail
            return "recovering \(attempt)/\(health.recoverAttempts)\(said)"
        case .failed(let reason, _):
            return "failed: \(reason)"
        }
    }

    /// Whether this node's check (the service's on the active, the readiness check on a standby) has failed.
    public var checkFailed: Bool {
        switch state {
        case .active: return service != .serving || activeCheck.isFailed
        case .starting, .standby, .vetting, .claiming: return standbyCheck.isFailed
        default: return false
        }
    }

    /// Whether the node holds the lease but cannot serve (`/health` then answers 503).
    public var serviceFailed: Bool {
        if case .failed = service, isActive { return true }
        return false
    }

    /// A check finished. On the active it counts toward `fall` and `rise` (and may start a recovery or a
    /// step-down); on a standby it decides eligibility.
    mutating func handleCheck(_ report: CheckReport, now: Instant) -> [Action] {
        let health = settings.health
        switch report.role {
        case .standby:
            switch state {
            case .starting, .standby, .vetting, .claiming:
                guard health.checksStandby else { return [] }
                _ = standbyCheck.record(
                    passed: report.passed,
                    detail: report.detail,
                    fall: health.fall,
                    rise: health.rise
                )
            default:
                break
            }
            return []
        case .active:
            guard health.checksActive, case .active(let lease) = state, lease.promoted, report.epoch == lease.epoch
            else {
                return []
            }
            let change = activeCheck.record(
                passed: report.passed,
                detail: report.detail,
                fall: health.fall,
                rise: health.rise
            )
            switch service {
            case .serving:
                guard change == .failed else { return [] }
                let reason = "health.check failed \(health.fall) times in a row: \(report.detail)"
                return [
                    record(
                        .serviceFailed,
                        epoch: lease.epoch,
                        ["reason": .string(reason), "output": .string(report.detail)]
                    )
                ]
                    + recoverOrStepDown(reason: reason, now: now)
            case .recovering(let attempt, let hookDone, let failures):
                if change == .recovered {
                    service = .serving
                    recoverAttemptsUsed = 0
                    return [
                        record(
                            .recoveredInPlace,
                            epoch: lease.epoch,
                            ["attempt": .number(Double(attempt)), "of": .number(Double(health.recoverAttempts))]
                        )
                    ]
                }
                guard hookDone else { return [] }
                if report.passed {
                    // Failures after the hook count in a row, as before it.
                    service = .recovering(attempt: attempt, hookDone: true, failures: 0)
                    return []
                }
                if failures + 1 >= health.fall {
                    return recoverOrStepDown(
                        reason:
                            "health.check still failing after hooks.recover attempt \(attempt)/\(health.recoverAttempts): \(report.detail)",
                        now: now
                    )
                }
                service = .recovering(attempt: attempt, hookDone: true, failures: failures + 1)
                return []
            case .failed(_, let promotion):
                guard change == .recovered, !promotion else { return [] }
                service = .serving
                recoverAttemptsUsed = 0
                return [record(.serviceRecovered, epoch: lease.epoch, ["output": .string(report.detail)])]
            }
        }
    }

    /// `hooks.recover` finished.
    mutating func handleRecovered(passed: Bool, detail: String, now: Instant) -> [Action] {
        guard case .active = state, case .recovering(let attempt, false, _) = service else { return [] }
        if passed {
            // Recovered once `rise` checks pass; failed again once `fall` fail.
            service = .recovering(attempt: attempt, hookDone: true, failures: 0)
            return []
        }
        return recoverOrStepDown(
            reason: "hooks.recover attempt \(attempt)/\(settings.health.recoverAttempts) failed: \(detail)",
            now: now
        )
    }

    /// The service failed: try `hooks.recover` while attempts are left, else step down.
    mutating func recoverOrStepDown(reason: String, now: Instant) -> [Action] {
        let attempts = settings.health.recoverAttempts
        if recoverAttemptsUsed < attempts {
            recoverAttemptsUsed += 1
            service = .recovering(attempt: recoverAttemptsUsed, hookDone: false, failures: 0)
            return [.recover(attempt: recoverAttemptsUsed, of: attempts)]
        }
        service = .failed(reason: reason, promotion: false)
        stayRecorded = false
        return stepDownIfFailed(now: now)
    }

    /// A failed active hands the lease to the best eligible standby its last renew saw, with the
    /// counter-checked hand-off of a switchover (demote first, then hand off). With none (or while paused)
    /// it stays active, says so once, and steps down at the first renew that sees one.
    mutating func stepDownIfFailed(now: Instant) -> [Action] {
        guard case .active(let lease) = state, lease.promoted, case .failed(let reason, _) = service else { return [] }
        guard !lastPaused, let target = bestStandby else {
            guard !stayRecorded else { return [] }
            stayRecorded = true
            let why =
                lastPaused
                ? "the cluster is paused: no automatic move until resume"
                : "no eligible standby: a failed service on the only node beats no node"
            return [record(.stayingActive, epoch: lease.epoch, ["reason": .string(reason), "why": .string(why)])]
        }
        state = .demoting(then: .handOff(to: target, epoch: lease.epoch, counter: lease.counter))
        demotionDone = false
        holdDownUntil = now.advanced(by: settings.health.holdDown)
        promotionRetryAt = nil
        return [
            .demote(epoch: lease.epoch, reason: "stepped down: \(reason)"),
            record(
                .steppedDown,
                epoch: lease.epoch,
                [
                    "reason": .string(reason), "to": .string(target),
                    "holdDownSeconds": settings.health.holdDown.jsonSeconds,
                ]
            ),
        ]
    }

    /// `failback: {preferred: NODE, after: D}`: once the preferred node has been an eligible standby for `D`,
    /// the active (serving, not paused, holding the role for at least `holdDown`) hands the lease to it.
    mutating func failBackIfDue(preferredEligibleFor: Double?, now: Instant) -> [Action] {
        guard case .preferred(let preferred, let after) = settings.health.failback, preferred != settings.node,
            case .active(let lease) = state, lease.promoted, service == .serving, !lastPaused,
            let seconds = preferredEligibleFor, seconds >= after.secondsValue,
            lease.since.duration(to: now) >= settings.health.holdDown
        else { return [] }
        state = .demoting(then: .handOff(to: preferred, epoch: lease.epoch, counter: lease.counter))
        demotionDone = false
        return [
            .demote(epoch: lease.epoch, reason: "failback to the preferred node \(preferred)"),
            record(
                .failback,
                epoch: lease.epoch,
                ["to": .string(preferred), "eligibleSeconds": .number(seconds.rounded()), "after": .string(after.text)]
            ),
        ]
    }

    /// The promotion actions finished; a step that failed on this host means the node cannot serve.
    mutating func handlePromotionFinished(steps: JSONValue, failure: String?, now: Instant) -> [Action] {
        guard case .active(var lease) = state, !lease.promoted else { return [] }
        lease.promoted = true
        state = .active(lease)
        var detail: [String: JSONValue] = [
            "node": .string(settings.node), "cause": .string(lease.cause.rawValue), "steps": steps,
            "promotionSeconds": lease.since.duration(to: now).jsonSeconds,
        ]
        if let failure { detail["failure"] = .string(failure) }
        var actions: [Action] = [.record(ClusterEvent(kind: .promoted, epoch: lease.epoch, detail: detail))]
        guard let failure else {
            if case .failed(_, true) = service {
                service = .serving
                actions.append(
                    record(.serviceRecovered, epoch: lease.epoch, ["reason": "the promotion was retried and succeeded"])
                )
            }
            promotionRetryAt = nil
            return actions
        }
        let reason = "promotion step failed on this host: \(failure)"
        let first: Bool
        if case .failed(_, true) = service { first = false } else { first = true }
        service = .failed(reason: reason, promotion: true)
        if first {
            stayRecorded = false
            actions.append(record(.serviceFailed, epoch: lease.epoch, ["reason": .string(reason)]))
        }
        let stepped = stepDownIfFailed(now: now)
        if case .active = state { promotionRetryAt = now.advanced(by: settings.interval) }
        return actions + stepped
    }

    /// While a failed promotion waits for a standby to take the lease: try it again every interval.
    mutating func retryPromotionIfDue(now: Instant) -> [Action] {
        guard case .active(var lease) = state, let retry = promotionRetryAt, now >= retry, lease.promoted,
            case .failed(_, true) = service
        else { return [] }
        promotionRetryAt = nil
        lease.promoted = false
        state = .active(lease)
        return [.promote(epoch: lease.epoch, retry: true)]
    }

    /// `not-eligible` and `eligible` when a standby's eligibility flips.
    mutating func eligibilityEvents(now: Instant) -> [Action] {
        switch state {
        case .standby, .vetting, .claiming:
            break
        default:
            return []
        }
        let reason = notEligibleReason(now: now)
        switch (reason, recordedIneligible) {
        case (let reason?, nil):
            recordedIneligible = reason
            return [record(.notEligible, epoch: currentEpoch, ["reason": .string(reason)])]
        case (nil, _?):
            recordedIneligible = nil
            return [record(.eligible, epoch: currentEpoch, [:])]
        default:
            return []
        }
    }

    /// A fresh start of the service's bookkeeping for a new epoch held by this node.
    mutating func resetServiceHealth() {
        activeCheck = HealthTracker(role: .active)
        standbyCheck = HealthTracker(role: .standby)
        service = .serving
        recoverAttemptsUsed = 0
        promotionRetryAt = nil
        stayRecorded = false
    }

    func record(_ kind: ClusterEvent.Kind, epoch: Int64, _ detail: [String: JSONValue]) -> Action {
        var detail = detail
        detail["node"] = .string(settings.node)
        return .record(ClusterEvent(kind: kind, epoch: epoch, detail: detail))
    }
}
