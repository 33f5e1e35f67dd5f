import FoundationEssentials
import Glibc
import HotStandbyCore
import Synchronization

/// Progress reports from a blocking job: the job calls `tick()` after every read or write, and
/// learns through it that its caller gave up.
final class IOTicker: Sendable {
    private let state: Mutex<(last: ContinuousClock.Instant, abandoned: Bool)>

    init() { state = Mutex((ContinuousClock.now, false)) }

    /// Records progress; throws when the caller has given up, so a job that wakes up late stops.
    func tick() throws {
        let abandoned = state.withLock { state in
            state.last = .now
            return state.abandoned
        }
        if abandoned {
            throw SharedFolderError(.timedOut, "file operation abandoned after its deadline")
        }
    }

    func abandon() { state.withLock { $0.abandoned = true } }

    /// How long since the last progress.
    var idle: Duration { ContinuousClock.now - state.withLock { $0.last } }
}

/// Hands a result from the worker thread to the waiting task exactly once.
private final class JobOutcome<T: Sendable>: Sendable {
    private let state = Mutex<(result: Result<T, any Error>?, waiter: CheckedContinuation<T, any Error>?)>((nil, nil))

    func complete(_ result: Result<T, any Error>) {
        let waiter: CheckedContinuation<T, any Error>? = state.withLock { state in
            guard state.result == nil else { return nil }
            state.result = result
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(with: result)
    }

    func wait() async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let ready: Result<T, any Error>? = state.withLock { state in
                if let result = state.result { return result }
                state.waiter = continuation
                return nil
            }
            if let ready { continuation.resume(with: ready) }
        }
    }
}

/// Runs blocking file I/O on dedicated threads (never Swift's cooperative pool), each job with a
/// stall deadline: a job that makes no progress for `stallTimeout` is reported as timed out at once.
///
/// The stuck thread cannot be killed (a read on a hard NFS mount sleeps uninterruptibly); it stays
/// registered until its call returns, and while it does, new jobs are refused with `.stuck`, so
/// threads never pile up behind a dead mount.
final class IOLane: Sendable {
    private struct Flight {
        var operation: String
        var started: ContinuousClock.Instant
        var overdue: Bool
    }

    private let flights = Mutex<(next: UInt64, running: [UInt64: Flight])>((0, [:]))
    private let place: String

    /// `place` names the share in messages.
    init(place: String) { self.place = place }

    /// The operation that is stuck past its deadline, if any, and for how long.
    var stuck: (operation: String, since: Duration)? {
        flights.withLock { state in
            state.running.values.first(where: \.overdue).map { ($0.operation, ContinuousClock.now - $0.started) }
        }
    }

    /// Runs `body` on a new thread and waits for it, or for `stallTimeout` without progress.
    func run<T: Sendable>(
        _ operation: String,
        stallTimeout: Duration,
        _ body: @escaping @Sendable (IOTicker) throws -> T
    ) async throws -> T {
        let id = try begin(operation)
        let outcome = JobOutcome<T>()
        let ticker = IOTicker()
        DetachedThread.start(name: "hotstandby-io") { [self] in
            let result = Result { try body(ticker) }
            end(id)
            outcome.complete(result)
        }

        let poll = max(min(stallTimeout / 10, .milliseconds(100)), .milliseconds(5))
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                try await withTaskCancellationHandler {
                    try await outcome.wait()
                } onCancel: {
                    ticker.abandon()
                    outcome.complete(.failure(CancellationError()))
                }
            }
            group.addTask { [self] in
                while !Task.isCancelled {
                    try? await Task.sleep(for: poll)
                    if ticker.idle >= stallTimeout {
                        ticker.abandon()
                        markOverdue(id)
                        outcome.complete(
                            .failure(
                                SharedFolderError(
                                    .timedOut,
                                    "\(operation) on \(place) made no progress for \(stallTimeout) (sharedFolder.ioTimeout); "
                                        + "check the mount (a hard NFS mount waits for the server)",
                                    path: place
                                )
                            )
                        )
                        return nil
                    }
                }
                return nil
            }
            defer { group.cancelAll() }
            while let value = try await group.next() {
                if let value { return value }
            }
            throw CancellationError()
        }
    }

    private func begin(_ operation: String) throws -> UInt64 {
        try flights.withLock { state in
            if let stuck = state.running.values.first(where: \.overdue) {
                let seconds = (ContinuousClock.now - stuck.started).components.seconds
                throw SharedFolderError(
                    .stuck,
                    "\(operation) refused: \(stuck.operation) on \(place) has been stuck for \(seconds)s; "
                        + "check the mount (new file operations resume once it returns)",
                    path: place
                )
            }
            state.next += 1
            state.running[state.next] = Flight(operation: operation, started: .now, overdue: false)
            return state.next
        }
    }

    private func end(_ id: UInt64) { _ = flights.withLock { $0.running.removeValue(forKey: id) } }

    private func markOverdue(_ id: UInt64) { flights.withLock { $0.running[id]?.overdue = true } }
}
