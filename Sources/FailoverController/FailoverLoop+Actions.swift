import Logging
import Metrics

/// The run loop's actions, one function each: every one starts its work as a child task (or in the duty
/// slot) and returns at once, so nothing an action does delays the next input.
extension FailoverLoop {
    /// A lease call as a child task; its answer (or failure at its deadline) is fed back with the same id.
    func performCall(
        id: Int,
        _ call: LeaseCall,
        group: inout DiscardingTaskGroup,
        feed: AsyncStream<Machine.Input>.Continuation
    ) {
        let store = self.store
        let clock = self.clock
        let logger = self.logger
        group.addTask {
            let startedAt = clock.now
            let result = await store.perform(call)
            let outcome: String
            if case .failed = result { outcome = "failed" } else { outcome = "ok" }
            Metrics.Timer(
                label: "hotstandby_lease_call_seconds",
                dimensions: [("call", call.name), ("outcome", outcome)]
            )
            .recordNanoseconds(startedAt.duration(to: clock.now).nanoseconds)
            switch result {
            case .failed(let message):
                logger.warning("lease call failed", metadata: ["call": "\(call.name)", "error": "\(message)"])
            default:
                logger.debug("lease call", metadata: ["call": "\(call.name)", "result": "\(result)"])
            }
            feed.yield(.leaseResult(id: id, result, startedAt: startedAt))
        }
    }

    /// The pre-promote hook, as a child task.
    func checkGate(_ view: LeaseView, group: inout DiscardingTaskGroup, feed: AsyncStream<Machine.Input>.Continuation) {
        let gate = self.gate
        let context = context(epoch: view.epoch, role: .active, reason: "takeover")
        logger.info("takeover due: running the pre-promote check", metadata: ["epoch": "\(view.epoch)"])
        group.addTask {
            let veto = await gate.check(context)
            feed.yield(.gateResult(veto: veto))
        }
    }

    /// The steps' preparation ahead of a takeover deadline, each as a child task (their own deadlines bound them).
    func prepareTakeover(_ view: LeaseView, group: inout DiscardingTaskGroup) {
        let context = context(epoch: view.epoch, role: .standby, reason: "takeover due soon")
        let lead = plan.takeoverLead ?? .zero
        logger.info(
            "takeover due soon: preparing",
            metadata: ["epoch": "\(view.epoch)", "lead": "\(lead.text)"]
        )
        for step in plan.promotion where step.takeoverLead != nil {
            group.addTask { await step.prepareTakeover(context) }
        }
    }

    /// The promotion steps in the duty slot (a retry runs only the local steps that failed), then every step's
    /// active duties.
    func promote(
        epoch: Int64,
        retry: Bool,
        prepared: Bool,
        group: inout DiscardingTaskGroup,
        feed: AsyncStream<Machine.Input>.Continuation,
        duties: DutySlot
    ) {
        logger.notice("promoting", metadata: ["epoch": "\(epoch)", "retry": "\(retry)"])
        let context = context(
            epoch: epoch,
            role: .active,
            reason: retry ? "promotion retried" : "promotion",
            prepared: prepared
        )
        // A retry runs again only the steps whose promotion failed on this host (not the restore, nor a DNS
        // update that succeeded: it would be sent again every interval).
        let failed = duties.failedSteps
        let steps = retry ? plan.retry.filter { failed.contains($0.name) } : plan.promotion
        let allSteps = plan.promotion
        let clock = self.clock
        duties.replace(in: &group) {
            var outcomes: [JSONValue] = []
            var failure: String?
            var failedNow: [String] = []
            for step in steps {
                if Task.isCancelled { break }
                // A retry's failure was recorded (and alerted) at the first attempt: not again every interval.
                let (outcome, error) = await runStep(
                    step,
                    promote: true,
                    context: context,
                    clock: clock,
                    record: !retry
                )
                outcomes.append(outcome)
                if let error, step.failureIsLocal(error) {
                    failedNow.append(step.name)
                    if failure == nil { failure = "\(step.name): \(error)" }
                }
            }
            duties.failedSteps = failedNow
            if Task.isCancelled { return }
            feed.yield(.promotionFinished(steps: .array(outcomes), failure: failure))
            await withTaskGroup(of: Void.self) { active in
                // Every step's active duties (ARP refresh and re-bind, DNS check, snapshots), also after a
                // retry that ran only the failed steps: replacing the duty ended the first promotion's.
                for step in allSteps { active.addTask { await step.whileActive(context) } }
            }
        }
    }

    /// The demotion steps in the duty slot (ending a promotion first), then the standby duties.
    func demote(
        epoch: Int64,
        reason: String,
        group: inout DiscardingTaskGroup,
        feed: AsyncStream<Machine.Input>.Continuation,
        duties: DutySlot
    ) {
        logger.notice("demoting", metadata: ["epoch": "\(epoch)", "reason": "\(reason)"])
        let context = context(epoch: epoch, role: .standby, reason: reason)
        let standbyContext = self.context(epoch: 0, role: .standby, reason: "standby")
        let steps = plan.demotion
        let clock = self.clock
        let recorder = self.recorder
        let logger = self.logger
        // Replacing the duty cancels a promotion in progress and waits for it to end, so an
        // address being bound cannot land after the release below.
        duties.replace(in: &group) {
            var outcomes: [JSONValue] = []
            for step in steps {
                outcomes.append(await runStep(step, promote: false, context: context, clock: clock).0)
            }
            logger.notice("demoted", metadata: ["epoch": "\(epoch)", "reason": "\(reason)"])
            feed.yield(.demotionFinished(steps: .array(outcomes)))
            await recorder.record(
                ClusterEvent(
                    kind: .demoted,
                    epoch: epoch,
                    detail: ["reason": .string(reason), "steps": .array(outcomes), "node": .string(context.node)]
                )
            )
            await withTaskGroup(of: Void.self) { standby in
                for step in steps { standby.addTask { await step.whileStandby(standbyContext) } }
            }
        }
    }

    /// An event, logged now and written by a child task.
    func record(_ event: ClusterEvent, group: inout DiscardingTaskGroup) {
        logger.notice(
            "event \(event.kind)",
            metadata: ["epoch": "\(event.epoch)", "detail": "\(JSONValue.object(event.detail))"]
        )
        let recorder = self.recorder
        group.addTask { await recorder.record(event) }
    }

    /// `hooks.recover`, as a child task.
    func recover(
        attempt: Int,
        of attempts: Int,
        group: inout DiscardingTaskGroup,
        feed: AsyncStream<Machine.Input>.Continuation
    ) {
        let health = self.health
        let context = context(epoch: serving.epoch ?? 0, role: .active, reason: "recover")
        logger.notice("service failed: running hooks.recover", metadata: ["attempt": "\(attempt)/\(attempts)"])
        group.addTask {
            let (passed, detail) = await health.recover(attempt: attempt, of: attempts, context: context)
            feed.yield(.recovered(passed: passed, detail: detail))
        }
    }
}
