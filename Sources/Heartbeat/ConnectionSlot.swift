import Synchronization

/// Database settings shared by the lease store, the event recorder and the CLI.
public struct DatabaseSettings: Sendable {
    /// A libpq connection string: keyword/value or URI, several hosts allowed. `PG*` variables and
    /// `.pgpass` apply as libpq applies them.
    public var conninfo: String
    /// The deadline of each call, connection included. Shorter than the heartbeat interval.
    public var callTimeout: Duration
    /// Whether to LISTEN for changes (off behind a pooler in transaction mode). Defaults to on.
    public var listen: Bool
    /// The deadline for opening a connection (TCP, TLS, authentication), which may take longer than
    /// one statement. Safety does not depend on it: the active fences itself by the clock.
    /// Defaults to the call deadline, at least 1 second.
    public var connectTimeout: Duration
    /// The `application_name` the server shows for our connections.
    public var applicationName: String

    /// Creates settings.
    public init(
        conninfo: String,
        callTimeout: Duration,
        connectTimeout: Duration? = nil,
        listen: Bool = true,
        applicationName: String = "hotstandby"
    ) {
        self.conninfo = conninfo
        self.callTimeout = callTimeout
        self.connectTimeout = connectTimeout ?? max(callTimeout, .seconds(1))
        self.listen = listen
        self.applicationName = applicationName
    }
}

/// One lazily opened connection that is replaced after any failure: the next call reconnects.
final class ConnectionSlot: Sendable {
    private let settings: DatabaseSettings
    private let connection = Mutex<PGConnection?>(nil)

    init(settings: DatabaseSettings) {
        self.settings = settings
    }

    /// Runs `body` on a healthy connection, opening one within `timeout` if needed; a connection
    /// that fails is dropped so the next call starts afresh.
    func with<R: Sendable>(
        timeout: Duration,
        _ body: (PGConnection, Duration) async throws(PGError) -> R
    ) async throws(PGError) -> R {
        let started = ContinuousClock.now
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
                timeout: max(timeout, settings.connectTimeout),
                applicationName: settings.applicationName
            )
            connection.withLock { $0 = conn }
        }
        // A fresh connection gets the statement's full deadline; a reused one what is left of it.
        let left = existing == nil ? timeout : max(timeout - started.duration(to: .now), .milliseconds(10))
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
