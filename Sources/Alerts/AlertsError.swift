/// Why an alert could not be configured, formatted, queued or delivered.
///
/// `description` says what failed and what to do; it never holds a password.
public struct AlertsError: Error, CustomStringConvertible, Sendable {
    /// The kind of failure, opaque so cases can be added.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        /// A configuration value is invalid; the message names the key.
        public static let invalidConfiguration = Code("invalid configuration")
        /// The password file is missing, unreadable, empty or readable by others.
        public static let passwordFile = Code("password file")
        /// Nothing listens at the server's address, or the host is unknown or unreachable.
        public static let connectionFailed = Code("connection failed")
        /// The server did not answer within `timeout`.
        public static let timedOut = Code("timed out")
        /// The server refused the user name or password.
        public static let authenticationFailed = Code("authentication failed")
        /// TLS could not be set up: no STARTTLS, an untrusted certificate, a handshake failure.
        public static let tls = Code("TLS failure")
        /// The SMTP server refused a recipient.
        public static let recipientRefused = Code("recipient refused")
        /// The SMTP server refused the sender or the message.
        public static let messageRefused = Code("message refused")
        /// The webhook answered with an HTTP status other than 2xx.
        public static let httpStatus = Code("HTTP status")
        /// Any other transfer failure (the message holds libcurl's words and code).
        public static let transferFailed = Code("transfer failed")
        /// The local spool is full or its folder cannot be written.
        public static let spool = Code("spool")
        public var description: String { name }
    }

    /// The kind of failure.
    public var code: Code
    /// What failed, with which value, and what to do.
    public var message: String
    /// libcurl's `CURLcode` when the failure came from a transfer.
    public var curlCode: Int?
    /// The SMTP reply code or HTTP status the server last sent, when there was one.
    public var responseCode: Int?

    /// Creates an error.
    public init(code: Code, message: String, curlCode: Int? = nil, responseCode: Int? = nil) {
        self.code = code
        self.message = message
        self.curlCode = curlCode
        self.responseCode = responseCode
    }

    public var description: String { message }

    static func config(_ key: String, _ message: String) -> AlertsError {
        AlertsError(code: .invalidConfiguration, message: "\(key): \(message)")
    }
}
