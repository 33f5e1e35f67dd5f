import Dispatch
import Synchronization

/// A value delivered once from a dispatch queue to one async waiter, or replaced by a timeout value
/// when it does not arrive in time. Whoever completes it first wins; later completions are dropped.
final class OneShot<Value: Sendable>: Sendable {
    private struct State {
        var value: Value?
        var waiter: CheckedContinuation<Value, Never>?
    }
    private let state = Mutex(State())

    /// Delivers `value`; returns false when the one-shot was already completed (e.g. by its timeout).
    @discardableResult
    func complete(_ value: Value) -> Bool {
        let waiter = state.withLock { state -> CheckedContinuation<Value, Never>?? in
            guard state.value == nil else { return .none }
            state.value = value
            defer { state.waiter = nil }
            return .some(state.waiter)
        }
        switch waiter {
        case .none: return false
        case .some(let continuation):
            continuation?.resume(returning: value)
            return true
        }
    }

    /// Waits for the value, at most `timeout`; then completes with `timeoutValue()` instead.
    ///
    /// The timeout is a dispatch timer source cancelled as soon as the value is there, so a call that
    /// returns in time leaves no timer behind to wake the process later (an `asyncAfter` cannot be
    /// withdrawn: every query used to schedule a wakeup up to its whole deadline later).
    func value(timeout: Duration, timeoutValue: @escaping @Sendable () -> Value) async -> Value {
        let nanoseconds = max(
            0,
            timeout.components.seconds * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000
        )
        let timer = DispatchSource.makeTimerSource(queue: .global())
        timer.schedule(deadline: .now() + .nanoseconds(Int(nanoseconds)))
        timer.setEventHandler { [self] in
            self.complete(timeoutValue())
        }
        timer.resume()
        defer { timer.cancel() }
        return await withCheckedContinuation { continuation in
            let ready = state.withLock { state -> Value? in
                if let value = state.value { return value }
                state.waiter = continuation
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }
}
