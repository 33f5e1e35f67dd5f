import Logging
import Metrics
import ServiceLifecycle
import Synchronization

/// The run loop: feeds the state machine with lease results, timers, notifications and signals,
/// and carries out its actions through the ports.
///
/// Every action runs as a child task, so no hook, address change or event write delays a heartbeat;
/// the only thing the loop itself does between inputs is call the state machine. Promotion runs
/// concurrently with heartbeats and is cancelled (and awaited) before a demotion starts.
public struct FailoverLoop<C: Clock>: Service where C.Duration == Duration {
    /// Identity and timing.
    public let settings: FailoverSettings
    /// The lease.
    public let store: any LeaseStore
    /// The event log.
    public let recorder: any EventRecorder
    /// The pre-promote check.
    public let gate: any PromotionGate
    /// The role steps and their order (`PromotionPlan`: the address is released before the service stops).
    public let plan: PromotionPlan
    /// The clock: `ContinuousClock` in production, a manual clock in tests.
    public let clock: C
    /// The logger.
    public let logger: Logger
    /// Called after every input with the node's status (for HTTP, metrics and sd_notify).
    public let onStatus: @Sendable (NodeStatus) -> Void
    /// The self-fencing deadline, kept after every input, for the steps' own timers and for HTTP.
    public let serving: ServingDeadline
    /// The service's checks, `hooks.recover` and the host prerequisites.
    public let health: any HealthProbe
    /// Sends the failsafe's beats to the members (issue 18); nil when the failsafe is off.
    public let peers: (any FailsafePeers)?
    /// Where the HTTP server hands in the beats this node receives; nil when it cannot receive any.
    public let inbox: FailsafeInbox?

    /// Creates a loop.
    public init(
        settings: FailoverSettings,
        store: any LeaseStore,
        recorder: any EventRecorder,
        gate: any PromotionGate,
        plan: PromotionPlan,
        clock: C,
        logger: Logger,
        onStatus: @escaping @Sendable (NodeStatus) -> Void = { _ in },
        serving: ServingDeadline = ServingDeadline(),
        health: any HealthProbe = NoHealthProbe(),
        peers: (any FailsafePeers)? = nil,
        inbox: FailsafeInbox? = nil
    ) {
        self.peers = peers
        self.inbox = inbox
        self.serving = serving
        self.health = health
        self.settings = settings
        self.store = store
        self.recorder = recorder
        self.gate = gate
        self.plan = plan
        self.clock = clock
        self.logger = logger
        self.onStatus = onStatus
    }

    typealias Machine = FailoverStateMachine<C.Instant>

    /// Runs until a graceful shutdown has demoted and released (or the task is cancelled).
    public func run() async {
        let (inputs, feed) = AsyncStream.makeStream(of: Machine.Input.self)
        var machineSettings = settings
        machineSettings.takeoverLead = plan.takeoverLead
        var machine = Machine(settings: machineSettings, now: clock.now)
        let duties = DutySlot()
        let checkTarget = CheckTarget()
        let startup = context(epoch: 0, role: .standby, reason: "startup")
        for step in plan.all {
            do {
                try await step.atStartup(startup)
            } catch {
                logger.error("startup cleanup failed", metadata: ["step": "\(step.name)", "error": "\(error)"])
            }
        }
        logger.notice(
            "node starting as standby",
            metadata: [
                "cluster": "\(settings.cluster)", "node": "\(settings.node)",
                "interval": "\(settings.interval.text)", "timeout": "\(settings.timeout.text)",
                "renewDeadline": "\(settings.renewDeadline.text)",
            ]
        )
        await withGracefulShutdownHandler {
            // Discarding: the loop adds a child for every lease call and every wake for as long as the node
            // runs and never awaits them; a plain task group keeps each finished child (and its task
            // allocator) until it is awaited or the group ends: about 13 KB per heartbeat, 1.6 MB a minute
            // at a 500ms interval (docs/reliability.md, Soak).
            await withDiscardingTaskGroup { group in
                group.addTask { await store.listen { feed.yield(.notified) } }
                inbox?.attach { id, beat in feed.yield(.failsafeBeat(id: id, beat)) }
                group.addTask { await runChecks(target: checkTarget, feed: feed) }
                group.addTask { await runHostChecks(feed: feed) }
                startStandbyDuties(in: &group, duties: duties)
                var pendingWakes: [C.Instant] = []
                var lastRole = machine.role
                feed.yield(.tick)
                loop: for await input in inputs {
                    let now = clock.now
                    let actions = machine.handle(input, now: now)
                    if actions.contains(.exit) {
                        // Last words: write this batch's events and mark the node stopped before leaving,
                        // each bounded by the store's own deadlines.
                        for case .record(let event) in actions {
                            logger.notice("event \(event.kind)", metadata: ["epoch": "\(event.epoch)"])
                            await recorder.record(event)
                        }
                        _ = await store.perform(
                            .observe(
                                role: .stopped,
                                note: "stopped",
                                report: NodeReport(eligible: false, health: "stopped")
                            )
                        )
                        break loop
                    }
                    for action in actions {
                        execute(action, group: &group, feed: feed, duties: duties)
                    }
                    if machine.role != lastRole {
                        logger.notice(
                            "role changed",
                            metadata: ["from": "\(lastRole.rawValue)", "to": "\(machine.role.rawValue)"]
                        )
                        lastRole = machine.role
                    }
                    pendingWakes.removeAll { $0 <= now }
                    if let wake = machine.nextWake, wake < (pendingWakes.min() ?? wake.advanced(by: .seconds(1))) {
                        pendingWakes.append(wake)
                        let clock = self.clock
                        group.addTask {
                            try? await clock.sleep(until: wake, tolerance: nil)
                            feed.yield(.tick)
                        }
                    }
                    checkTarget.set(machine: machine, now: now)
                    var status = machine.status(now: now)
                    // The deadline on the loop's clock, carried over to the monotonic clock HTTP and the
                    // steps read (the same clock in production).
                    status.servingUntil = machine.servingUntil.map {
                        ContinuousClock.now.advanced(by: now.duration(to: $0))
                    }
                    serving.set(status.servingUntil, epoch: status.epoch)
                    onStatus(status)
                }
                logger.notice("stopped")
                inbox?.detach()
                feed.finish()
                group.cancelAll()
            }
        } onGracefulShutdown: {
            feed.yield(.shutdown)
        }
    }

    func context(epoch: Int64, role: NodeRole, reason: String, prepared: Bool = false) -> RoleContext {
        let recorder = self.recorder
        return RoleContext(
            cluster: settings.cluster,
            node: settings.node,
            epoch: epoch,
            role: role,
            reason: reason,
            logger: logger,
            record: { await recorder.record($0) },
            stillServing: { [serving] in serving.isServing(epoch: epoch) },
            prepared: prepared
        )
    }

    private func execute(
        _ action: Machine.Action,
        group: inout DiscardingTaskGroup,
        feed: AsyncStream<Machine.Input>.Continuation,
        duties: DutySlot
    ) {
        switch action {
        case .call(let id, let call): performCall(id: id, call, group: &group, feed: feed)
        case .checkGate(let view): checkGate(view, group: &group, feed: feed)
        case .prepareTakeover(let view): prepareTakeover(view, group: &group)
        case .promote(let epoch, let retry, let prepared):
            promote(epoch: epoch, retry: retry, prepared: prepared, group: &group, feed: feed, duties: duties)
        case .demote(let epoch, let reason):
            demote(epoch: epoch, reason: reason, group: &group, feed: feed, duties: duties)
        case .record(let event): record(event, group: &group)
        case .recover(let attempt, let attempts): recover(attempt: attempt, of: attempts, group: &group, feed: feed)
        case .sendBeats(let send): sendBeats(send, group: &group, feed: feed)
        case .answerBeat(let id, let answer):
            if case .refused(let reason) = answer {
                logger.warning("failsafe beat refused", metadata: ["reason": "\(reason)"])
            }
            inbox?.answer(id, answer)
        case .exit: break
        }
    }

    /// Sends a failsafe round's beats, one child task per member, each within the round's deadline.
    private func sendBeats(
        _ send: FailsafeSend,
        group: inout DiscardingTaskGroup,
        feed: AsyncStream<Machine.Input>.Continuation
    ) {
        let logger = self.logger
        guard let peers else { return }
        for member in send.members {
            group.addTask {
                let reply: FailsafeReply =
                    member.address.isEmpty
                    ? .failed("\(member.name) has no http.advertise address in its row")
                    : await peers.send(send.beat, to: member.name, address: member.address, timeout: send.timeout)
                switch reply {
                case .answered(.ack): break
                case .answered(.no(let epoch, let reason)):
                    logger.warning(
                        "failsafe beat answered no",
                        metadata: ["member": "\(member.name)", "epoch": "\(epoch)", "reason": "\(reason)"]
                    )
                case .answered(.refused(let reason)):
                    logger.warning(
                        "failsafe beat refused",
                        metadata: ["member": "\(member.name)", "reason": "\(reason)"]
                    )
                case .failed(let error):
                    logger.warning(
                        "failsafe beat failed",
                        metadata: ["member": "\(member.name)", "round": "\(send.beat.round)", "error": "\(error)"]
                    )
                }
                feed.yield(.failsafeReply(round: send.beat.round, from: member.name, reply))
            }
        }
    }

    /// Runs the check of the node's current role every `health.interval` (start to start), each within
    /// its deadline, and feeds the reports in. A run never overlaps the next.
    private func runChecks(target: CheckTarget, feed: AsyncStream<Machine.Input>.Continuation) async {
        let every = settings.health.interval
        // No check configured: no loop, so no wake-up every interval for nothing (issue 16).
        guard settings.health.checksActive || settings.health.checksStandby else { return }
        while !Task.isCancelled {
            let started = ContinuousClock.now
            if let (role, epoch, since) = target.get(),
                let report = await health.check(role, epoch: epoch, activeSince: since)
            {
                Metrics.Timer(
                    label: "hotstandby_health_check_seconds",
                    dimensions: [("check", role.rawValue), ("outcome", report.passed ? "passed" : "failed")]
                ).recordNanoseconds(Duration.seconds(report.seconds).nanoseconds)
                if !report.passed {
                    logger.warning(
                        "health check failed",
                        metadata: ["check": "\(role.rawValue)", "detail": "\(report.detail)"]
                    )
                }
                feed.yield(.checked(report))
            }
            try? await Task.sleep(until: started.advanced(by: every), tolerance: nil, clock: .continuous)
        }
    }

    /// Checks the host prerequisites at start and every minute.
    private func runHostChecks(feed: AsyncStream<Machine.Input>.Continuation) async {
        var last: [String]?
        while !Task.isCancelled {
            let problems = await health.hostProblems()
            if problems != last {
                for problem in problems {
                    logger.error("host prerequisite missing", metadata: ["problem": "\(problem)"])
                }
                last = problems
            }
            feed.yield(.hostChecked(problems: problems))
            try? await Task.sleep(for: .seconds(60))
        }
    }

    private func startStandbyDuties(in group: inout DiscardingTaskGroup, duties: DutySlot) {
        let steps = plan.all
        let context = context(epoch: 0, role: .standby, reason: "standby")
        duties.replace(in: &group) {
            await withTaskGroup(of: Void.self) { standby in
                for step in steps { standby.addTask { await step.whileStandby(context) } }
            }
        }
    }

    func runStep(
        _ step: any RoleStep,
        promote: Bool,
        context: RoleContext,
        clock: C,
        record: Bool = true
    ) async -> (JSONValue, (any Error)?) {
        let started = clock.now
        do {
            if promote {
                try await step.promote(context)
            } else {
                try await step.demote(context)
            }
            let took = started.duration(to: clock.now)
            Metrics.Timer(
                label: "hotstandby_action_seconds",
                dimensions: [("step", step.name), ("phase", promote ? "promote" : "demote"), ("outcome", "ok")]
            ).recordNanoseconds(took.nanoseconds)
            logger.info(
                "\(promote ? "promote" : "demote") step done",
                metadata: ["step": "\(step.name)", "seconds": "\(took.secondsValue)"]
            )
            return (.object(["step": .string(step.name), "ok": true, "seconds": took.jsonSeconds]), nil)
        } catch {
            let took = started.duration(to: clock.now)
            Metrics.Timer(
                label: "hotstandby_action_seconds",
                dimensions: [("step", step.name), ("phase", promote ? "promote" : "demote"), ("outcome", "failed")]
            ).recordNanoseconds(took.nanoseconds)
            logger.error(
                "\(promote ? "promote" : "demote") step failed",
                metadata: ["step": "\(step.name)", "error": "\(error)"]
            )
            if record {
                await context.record(
                    ClusterEvent(
                        kind: .actionFailed,
                        epoch: context.epoch,
                        detail: [
                            "step": .string(step.name), "phase": .string(promote ? "promote" : "demote"),
                            "error": .string("\(error)"), "node": .string(context.node),
                        ]
                    )
                )
            }
            return (
                .object([
                    "step": .string(step.name), "ok": false, "seconds": took.jsonSeconds, "error": .string("\(error)"),
                ]),
                error
            )
        }
    }
}

extension LeaseCall {
    /// The call's name for log lines.
    public var name: String {
        switch self {
        case .observe: return "observe"
        case .renew: return "renew"
        case .takeOver: return "takeover"
        case .release: return "release"
        case .handOff: return "handoff"
        case .changeMembers: return "members"
        }
    }
}

/// Which check the node's current role runs, set by the loop after every input: the active's once its
/// promotion finished (with the epoch and when), a standby's while it stands by, none otherwise.
final class CheckTarget: Sendable {
    private let current = Mutex<(role: CheckRole, epoch: Int64, since: ContinuousClock.Instant?)?>(nil)

    func set<Instant: InstantProtocol>(machine: FailoverStateMachine<Instant>, now: Instant)
    where Instant.Duration == Duration {
        let next: (CheckRole, Int64, ContinuousClock.Instant?)?
        switch machine.state {
        case .active(let lease) where lease.promoted:
            next = (.active, lease.epoch, nil)
        case .starting, .standby, .vetting, .claiming:
            next = (.standby, 0, nil)
        default:
            next = nil
        }
        current.withLock { held in
            guard let next else {
                held = nil
                return
            }
            if let held, held.role == next.0, held.epoch == next.1 { return }
            held = (next.0, next.1, next.0 == .active ? ContinuousClock.now : nil)
        }
    }

    func get() -> (CheckRole, Int64, ContinuousClock.Instant?)? {
        current.withLock { held in held.map { ($0.role, $0.epoch, $0.since) } }
    }
}

/// The one background job of the current role (promotion then active duties, or demotion then
/// standby duties): starting a new one cancels the previous one and waits until it has ended.
final class DutySlot: Sendable {
    private struct Current {
        var generation = 0
        var cancel: Signal?
        var done: Signal?
        var failedSteps: [String] = []
    }
    private let current = Mutex(Current())

    /// The local steps whose last promotion failed (what a promotion retry runs again).
    var failedSteps: [String] {
        get { current.withLock { $0.failedSteps } }
        set { current.withLock { $0.failedSteps = newValue } }
    }

    /// Starts `work` as the current duty in `group`, after the previous duty (if any) has ended.
    func replace(in group: inout DiscardingTaskGroup, _ work: @escaping @Sendable () async -> Void) {
        let cancel = Signal()
        let done = Signal()
        let previous = current.withLock { state -> (Signal?, Signal?) in
            let previous = (state.cancel, state.done)
            state.generation += 1
            state.cancel = cancel
            state.done = done
            return previous
        }
        previous.0?.fire()
        group.addTask {
            await previous.1?.wait()
            await withTaskGroup(of: Void.self) { inner in
                inner.addTask { await work() }
                inner.addTask { await cancel.wait() }
                await inner.next()
                inner.cancelAll()
            }
            done.fire()
        }
    }
}

/// A one-shot event that any number of tasks can wait for; a waiting task that is cancelled
/// stops waiting.
final class Signal: Sendable {
    private struct State {
        var fired = false
        var nextID = 0
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
    }
    private let state = Mutex(State())

    /// Wakes every waiter, now and later.
    func fire() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.fired = true
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns once `fire()` was called, or the task was cancelled.
    func wait() async {
        let id = state.withLock { state -> Int in
            state.nextID += 1
            return state.nextID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state -> Bool in
                    if state.fired || Task.isCancelled { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { $0.waiters.removeValue(forKey: id) }
            waiter?.resume()
        }
    }
}

extension Duration {
    /// The duration in whole nanoseconds, for metrics timers.
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
