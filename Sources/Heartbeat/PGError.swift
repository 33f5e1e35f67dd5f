/// A database failure, in words an operator can act on. Never holds a password or a connection string.
public struct PGError: Error, CustomStringConvertible, Sendable {
    /// The kind of failure, opaque so cases can be added.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        /// No connection could be made (server down, wrong host, refused).
        public static let connectionFailed = Code("connection failed")
        /// The server rejected the password or user.
        public static let authenticationFailed = Code("authentication failed")
        /// The call ran past its deadline.
        public static let timedOut = Code("timed out")
        /// The server answered with an error.
        public static let queryFailed = Code("query failed")
        /// The schema is missing, older or newer than this binary.
        public static let schemaMismatch = Code("schema mismatch")
        public var description: String { name }
    }

    /// The kind of failure.
    public var code: Code
    /// libpq's or the server's message, with any password removed.
    public var message: String
    /// The SQLSTATE, when the server sent one.
    public var sqlState: String?

    /// Creates an error.
    public init(code: Code, message: String, sqlState: String? = nil) {
        self.code = code
        self.message = message
        self.sqlState = sqlState
    }

    public var description: String {
        let firstLine = message.split(separator: "\n").first.map(String.init) ?? message
        return "database \(code): \(firstLine)"
    }
}
