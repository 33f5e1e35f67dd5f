import Synchronization

/// One lazily opened connection that is replaced after any failure: the next call reconnects.
///
/// A call that has to reconnect spends connect and statement time under the call's one deadline, so a
/// reconnect never makes a renew outlast its interval. No warm spare is kept: after a failure the spare
/// would most often be on the same unreachable server, and a call that found it dead would cost the whole
/// statement deadline where a reconnect to the next host costs a share of it.
///
/// A **shared** slot (issue 16: the one connection for everything but the heartbeat and the listener: events,
/// the alert outbox, the status reader, the HTTP write routes) lets one call in at a time, first come first
/// served, each waiting within its own deadline, and closes its connection after `idleClose` without a call.
public final class ConnectionSlot: Sendable {
    private struct State {
        var connection: PGConnection?
        var busy = false
        var waiters: [(id: Int, continuation: CheckedContinuation<Bool, Never>)] = []
        var nextWaiter = 0
        var lastUse = ContinuousClock.now
        var reaping = false
    }

    private let settings: DatabaseSettings
    private let shared: Bool
    private let idleClose: Duration
    private let state = Mutex(State())

    /// The least a statement gets after a reconnect, so a connect that took all its time still leaves the
    /// statement a chance instead of a certain timeout. Defaults to 10 milliseconds.
    static let statementFloor = Duration.milliseconds(10)

    /// The part of a call's deadline that connecting leaves to the statement: a fifth, at most 250 ms (one
    /// round trip on a LAN takes well under a millisecond; a loaded server more).
    static func statementReserve(of timeout: Duration) -> Duration {
        min(timeout / 5, .milliseconds(250))
    }

    /// Creates an empty slot; the first call connects. `shared`: one call at a time, the connection closed after
    /// `idleClose` without a call.
    public init(settings: DatabaseSettings, shared: Bool = false, idleClose: Duration = .seconds(10)) {
        self.settings = settings
        self.shared = shared
        self.idleClose = idleClose
    }

    /// Whether a connection is open now (for tests).
    public var isOpen: Bool { state.withLock { $0.connection != nil } }

    /// Runs `body` on a healthy connection, opening one first if needed, all within `timeout`: `body`
    /// gets what is left of it (at least ``statementFloor``). A connection that fails is dropped so the
    /// next call starts afresh. On a shared slot the call first waits for its turn, within the same deadline.
    func with<R: Sendable>(
        timeout: Duration,
        _ body: (PGConnection, Duration) async throws(PGError) -> R
    ) async throws(PGError) -> R {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        if shared {
            guard await enter(before: deadline) else {
                throw PGError(
                    code: .timedOut,
                    message: "the shared database connection stayed busy for the whole deadline (\(timeout.text))"
                )
            }
        }
        defer { if shared { leave() } }
        let existing = state.withLock { state -> PGConnection? in
            if let current = state.connection, current.isBroken { state.connection = nil }
            return state.connection
        }
        let conn: PGConnection
        if let existing {
            conn = existing
        } else {
            let left = ContinuousClock.now.duration(to: deadline)
            conn = try await PGConnection.connect(
                conninfo: settings.conninfo,
                timeout: min(settings.connectTimeout, left - Self.statementReserve(of: left)),
                applicationName: settings.applicationName
            )
            state.withLock { $0.connection = conn }
            if shared { startReaper() }
        }
        let left = max(ContinuousClock.now.duration(to: deadline), Self.statementFloor)
        do {
            return try await body(conn, left)
        } catch {
            if conn.isBroken { state.withLock { if $0.connection === conn { $0.connection = nil } } }
            throw error
        }
    }

    /// Drops the connection (the next call reconnects).
    func reset() {
        state.withLock { $0.connection = nil }
    }

    // MARK: - Shared: one call at a time

    private func enter(before deadline: ContinuousClock.Instant) async -> Bool {
        await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            // Checking for a free slot and queueing are one step, so a `leave` in between cannot be missed.
            let queued = state.withLock { state -> Int? in
                if !state.busy {
                    state.busy = true
                    return nil
                }
                state.nextWaiter += 1
                state.waiters.append((state.nextWaiter, continuation))
                return state.nextWaiter
            }
            guard let id = queued else {
                continuation.resume(returning: true)
                return
            }
            Task {
                try? await Task.sleep(until: deadline, clock: .continuous)
                let expired = self.state.withLock { state -> CheckedContinuation<Bool, Never>? in
                    guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                    return state.waiters.remove(at: index).continuation
                }
                expired?.resume(returning: false)
            }
        }
    }

    private func leave() {
        let next = state.withLock { state -> CheckedContinuation<Bool, Never>? in
            state.lastUse = .now
            guard !state.waiters.isEmpty else {
                state.busy = false
                return nil
            }
            return state.waiters.removeFirst().continuation
        }
        next?.resume(returning: true)
    }

    /// Closes the shared connection once no call used it for `idleClose`.
    private func startReaper() {
        let start = state.withLock { state -> Bool in
            if state.reaping { return false }
            state.reaping = true
            return true
        }
        guard start else { return }
        let idleClose = self.idleClose
        Task { [weak self] in
            while true {
                try? await Task.sleep(for: idleClose / 2)
                guard let self else { return }
                let done = self.state.withLock { state -> Bool in
                    if state.connection == nil {
                        state.reaping = false
                        return true
                    }
                    if !state.busy && state.lastUse.duration(to: .now) >= idleClose {
                        state.connection = nil
                        state.reaping = false
                        return true
                    }
                    return false
                }
                if done { return }
            }
        }
    }
}
