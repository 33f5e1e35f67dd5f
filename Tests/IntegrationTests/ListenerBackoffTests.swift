import FailoverController
import Foundation
import Heartbeat
import Logging
import Synchronization
import TestSupport
import Testing

/// A clock that moves only when a test says so.
final class ManualClock: Clock, Sendable {
    struct Instant: InstantProtocol {
        var offset: Duration
        func advanced(by duration: Duration) -> Instant { Instant(offset: offset + duration) }
        func duration(to other: Instant) -> Duration { other.offset - offset }
        static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.offset < rhs.offset }
    }

    private struct State {
        var now = Instant(offset: .zero)
        var sleepers: [(deadline: Instant, continuation: CheckedContinuation<Void, Never>)] = []
    }
    private let state = Mutex(State())

    var now: Instant { state.withLock { $0.now } }
    var minimumResolution: Duration { .nanoseconds(1) }

    func sleep(until deadline: Instant, tolerance: Duration?) async throws {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let resumeNow = state.withLock { state -> Bool in
                if deadline <= state.now { return true }
                state.sleepers.append((deadline, continuation))
                return false
            }
            if resumeNow { continuation.resume() }
        }
    }

    /// How many tasks sleep on this clock.
    var sleeping: Int { state.withLock { $0.sleepers.count } }

    /// Moves the clock and wakes the sleepers whose deadline passed.
    func advance(by duration: Duration) {
        let due = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.now = state.now.advanced(by: duration)
            let now = state.now
            let due = state.sleepers.filter { $0.deadline <= now }.map(\.continuation)
            state.sleepers.removeAll { $0.deadline <= now }
            return due
        }
        for continuation in due { continuation.resume() }
    }
}

extension IntegrationSuite {
    @Suite("The listener's reconnect back-off (issue 13 item 11)")
    struct ListenerBackoffTests {
        @Test("the back-off sleeps on the injected clock: no retry until that clock moves")
        func backoffUsesInjectedClock() async throws {
            let handler = CapturingLogHandler()
            let logger = Logger(label: "test") { _ in handler }
            let clock = ManualClock()
            // Nothing listens on port 1: every connection attempt is refused at once.
            let store = PostgresLeaseStore(
                database: DatabaseSettings(
                    conninfo: "host=127.0.0.1 port=1 dbname=x user=x",
                    callTimeout: .milliseconds(500)
                ),
                identity: .init(cluster: "c", node: "n"),
                timeout: .seconds(2),
                logger: logger,
                clock: clock
            )
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await store.listen {} }
                // Real time passes, the manual clock does not: one attempt, then the listener waits.
                try await Task.sleep(for: .milliseconds(800))
                #expect(handler.count("listener reconnecting") == 1, "the back-off slept on another clock")
                #expect(clock.sleeping == 1)
                clock.advance(by: .milliseconds(200))
                var waited = Duration.zero
                while handler.count("listener reconnecting") < 2 && waited < .seconds(5) {
                    try await Task.sleep(for: .milliseconds(20))
                    waited += .milliseconds(20)
                }
                #expect(handler.count("listener reconnecting") == 2)
                group.cancelAll()
                clock.advance(by: .seconds(10))
            }
        }
    }
}
