/// Database settings shared by the lease store, the event recorder and the CLI.
public struct DatabaseSettings: Sendable {
    /// A libpq connection string: keyword/value or URI, several hosts allowed. `PG*` variables and
    /// `.pgpass` apply as libpq applies them.
    public var conninfo: String
    /// The deadline of each call, connecting included: a call that has to reconnect first gives its statement
    /// what is left after connecting. Shorter than the heartbeat interval.
    public var callTimeout: Duration
    /// Whether to LISTEN for changes (off behind a pooler in transaction mode). Defaults to on.
    public var listen: Bool
    /// The longest the connecting part of a call (every host of the list, TCP, TLS, authentication) may take.
    /// It never stretches a call: connecting and the statement share the call's one deadline, and connecting
    /// stops early enough to leave the statement a reserve (``ConnectionSlot/statementReserve(of:)``).
    /// Safety does not depend on it: the active fences itself by the clock. Defaults to the call deadline.
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
        self.connectTimeout = connectTimeout ?? callTimeout
        self.listen = listen
        self.applicationName = applicationName
    }
}
