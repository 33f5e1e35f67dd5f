import Synchronization

/// One lazily opened connection that is replaced after any failure: the next call reconnects.
///
/// A call that has to reconnect spends connect and statement time under the call's one deadline, so a
/// reconnect never makes a renew outlast its interval. No warm spare is kept: after a failure the spare
/// would most often be on the same unreachable server, and a call that found it dead would cost the whole
/// statement deadline where a reconnect to the next host costs a share of it.
final class ConnectionSlot: Sendable {
    private let settings: DatabaseSettings
    private let connection = Mutex<PGConnection?>(nil)

    /// The least a statement gets after a reconnect, so a connect that took all its time still leaves the
    /// statement a chance instead of a certain timeout. Defaults to 10 milliseconds.
    static let statementFloor = Duration.milliseconds(10)

    /// The part of a call's deadline that connecting leaves to the statement: a fifth, at most 250 ms (one
    /// round trip on a LAN takes well under a millisecond; a loaded server more).
    static func statementReserve(of timeout: Duration) -> Duration {
        min(timeout / 5, .milliseconds(250))
    }

    /// Creates an empty slot; the first call connects.
    init(settings: DatabaseSettings) {
        self.settings = settings
    }

    /// Runs `body` on a healthy connection, opening one first if needed, all within `timeout`: `body`
    /// gets what is left of it (at least ``statementFloor``). A connection that fails is dropped so the
    /// next call starts afresh.
    func with<R: Sendable>(
        timeout: Duration,
        _ body: (PGConnection, Duration) async throws(PGError) -> R
    ) async throws(PGError) -> R {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        let existing = connection.withLock { current -> PGConnection? in
            if let current, current.isBroken { return nil }
            return current
        }
        let conn: PGConnection
        if let existing {
            conn = existing
        } else {
            conn = try await PGConnection.connect(
                conninfo: settings.conninfo,
                timeout: min(settings.connectTimeout, timeout - Self.statementReserve(of: timeout)),
                applicationName: settings.applicationName
            )
            connection.withLock { $0 = conn }
        }
        let left = max(ContinuousClock.now.duration(to: deadline), Self.statementFloor)
        do {
            return try await body(conn, left)
        } catch {
            if conn.isBroken { connection.withLock { if $0 === conn { $0 = nil } } }
            throw error
        }
    }

    /// Drops the connection (the next call reconnects).
    func reset() {
        connection.withLock { $0 = nil }
    }
}
