import HotStandbyCore
import Logging
import Synchronization

/// The duplicate-address probe run ahead of a takeover: a standby starts it `VIPManager.takeoverLead` before its
/// takeover deadline, so that when the deadline comes `takeOver` binds the address at once with the answer already
/// there, instead of waiting `vip.probe-window` first.
///
/// The probe never runs while this node holds the address (its own address, or the kernel's DAD, would no longer
/// look free): `run` skips it when the address is bound here, `takeOver` waits for a probe still running before it
/// binds, and no probe starts once a promotion newer than the watched epoch has begun. An answer counts only for
/// the same address and when it finished at most `VIPManager.earlyProbeFreshness` before the bind; each is used
/// once.
public final class EarlyProbe: Sendable {
    /// A probe that ran to its end ahead of a takeover.
    public struct Answer: Sendable, Hashable {
        /// What it saw.
        public var result: VIPManager.ProbeResult
        /// The address it probed, with its prefix (`vip.address`).
        public var address: String
        /// When it started and finished.
        public var started: ContinuousClock.Instant
        public var finished: ContinuousClock.Instant
    }

    private struct State {
        var running = false
        var answer: Answer?
        /// The newest epoch a promotion began in: a probe prepared for an older watched epoch does not start.
        var promotedEpoch: Int64 = .min
        var nextWaiter = 0
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
    }

    private let state = Mutex(State())

    /// Creates a holder with no answer.
    public init() {}

    /// Probes now, as a standby that watched `watchedEpoch` and expects to take over soon, and keeps the answer.
    ///
    /// Does nothing while another early probe runs, once a promotion in a newer epoch began, when `vip.probe` is
    /// `off` or when the address is bound here. Bounded by the probe's own deadline; a probe that cannot run keeps
    /// no answer (the takeover then probes as without a lead).
    public func run(_ vip: VIPManager, watchedEpoch: Int64) async {
        let start = state.withLock { state -> Bool in
            guard !state.running, state.promotedEpoch <= watchedEpoch else { return false }
            state.running = true
            state.answer = nil
            return true
        }
        guard start else { return }
        let answer = await vip.probeAhead()
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.running = false
            state.answer = answer
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// For a promotion in `epoch`: waits for an early probe still running, then returns its answer if it probed
    /// `address` and finished no more than `freshness` ago (and forgets it either way).
    func take(for address: String, within freshness: Duration, epoch: Int64) async -> Answer? {
        begin(epoch)
        await waitWhileRunning()
        return state.withLock { state -> Answer? in
            defer { state.answer = nil }
            guard let answer = state.answer, answer.address == address,
                answer.finished.duration(to: .now) <= freshness
            else { return nil }
            return answer
        }
    }

    /// For a promotion in `epoch` that does not use an early answer: waits for an early probe still running (so
    /// none runs once the address is bound) and forgets its answer.
    public func discard(epoch: Int64) async {
        begin(epoch)
        await waitWhileRunning()
        state.withLock { $0.answer = nil }
    }

    private func begin(_ epoch: Int64) {
        state.withLock { $0.promotedEpoch = max($0.promotedEpoch, epoch) }
    }

    /// Returns once no early probe is running (or the task was cancelled).
    private func waitWhileRunning() async {
        let id = state.withLock { state -> Int in
            state.nextWaiter += 1
            return state.nextWaiter
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let now = state.withLock { state -> Bool in
                    if !state.running || Task.isCancelled { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { $0.waiters.removeValue(forKey: id) }
            waiter?.resume()
        }
    }
}

extension VIPManager {
    /// When a probe ahead of the takeover ran, counted back from the start of the bind.
    public struct ProbedAhead: Sendable, Hashable {
        /// How long before the bind it started.
        public var startedBeforeBind: Duration
        /// How long before the bind it finished.
        public var finishedBeforeBind: Duration

        /// "started 0.452s and finished 0.151s before the bind", for logs and events.
        public var text: String {
            "started \(startedBeforeBind.text) and finished \(finishedBeforeBind.text) before the bind"
        }
    }

    /// How long after an early probe finished its answer may stand for the probe before the bind: 1 second.
    ///
    /// The probe before the bind is itself a sample (a host that claims the address a moment after it is missed
    /// too); a second is 3 × the default window, and leaves room for the compare-and-set and a short promote hook
    /// between the deadline and the bind. An older answer is not used: the takeover probes again.
    public static let earlyProbeFreshness = Duration.seconds(1)

    /// How long before a takeover deadline to start the early probe (`vip.probe-window` plus 200 ms for the
    /// `ip -json` check, starting the probe on a loaded host and its kill grace), so that it has finished when
    /// the deadline comes; nil with `vip.probe: off`.
    public var takeoverLead: Duration? {
        config.probe == .off ? nil : config.probeWindow + .milliseconds(200)
    }

    /// `EarlyProbe.run`'s probe: nil when it should not count (probe off, the address bound here, the probe
    /// could not run).
    func probeAhead() async -> EarlyProbe.Answer? {
        guard config.probe != .off else { return nil }
        do {
            if try await holds() { return nil }
            let started = ContinuousClock.now
            let result = try await probe()
            let finished = ContinuousClock.now
            logger.info(
                "probed the virtual IP ahead of the takeover deadline",
                metadata: [
                    "probe-answered": "\(result.answered)", "answered-by": "\(result.answeredBy ?? "none")",
                    "seconds": "\((finished - started).text)",
                ]
            )
            return EarlyProbe.Answer(result: result, address: config.address.cidr, started: started, finished: finished)
        } catch {
            logger.warning(
                "the probe ahead of the takeover could not run; a takeover probes again before binding",
                metadata: ["error": "\(error)"]
            )
            return nil
        }
    }
}
