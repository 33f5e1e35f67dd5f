/// Why a DNS takeover step failed, in words an operator can act on.
///
/// The `description` never holds a TSIG secret: secrets live in files, and only file paths, key names,
/// server addresses and DNS response codes appear here.
public struct DNSError: Error, CustomStringConvertible, Sendable {
    /// The kind of failure, opaque so cases can be added.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        /// A `dns.*` setting is missing or wrong; the message names the key and the value.
        public static let invalidConfig = Code("invalid config")
        /// A key or secret file can be read by group or others; the message gives the `chmod` to run.
        public static let insecureKeyFile = Code("insecure key file")
        /// The server rejected the TSIG signature: wrong secret (BADSIG), unknown key name (BADKEY),
        /// or clocks too far apart (BADTIME).
        public static let tsigRejected = Code("TSIG rejected")
        /// The server refused the update: the key is not granted this name and type by `update-policy`.
        public static let refused = Code("refused")
        /// The epoch record holds a newer (or equal, other node's) epoch: this node was deposed and
        /// must not touch the record.
        public static let deposed = Code("deposed")
        /// The update's prerequisite failed (`NXRRSET`/`YXRRSET`): the epoch record changed between
        /// our read and our update, on every round allowed (`maxRounds`).
        public static let prerequisiteFailed = Code("prerequisite failed")
        /// The server could not be reached (connection refused, no route, name not resolvable).
        public static let unreachable = Code("unreachable")
        /// The step did not finish within `dns.timeout`.
        public static let timedOut = Code("timed out")
        /// The update was accepted but the server did not answer with the new address within the deadline.
        public static let notConfirmed = Code("not confirmed")
        /// The server answered with another error (SERVFAIL, NOTZONE, NOTAUTH, ...).
        public static let serverError = Code("server error")
        /// `nsupdate` or `dig` could not be started: the package `bind9-dnsutils` is missing.
        public static let toolMissing = Code("tool missing")
        /// The runtime folder or the generated key file could not be written.
        public static let runtimeFolder = Code("runtime folder")
        /// The retry loop ended because the caller said this node is no longer active.
        public static let noLongerActive = Code("no longer active")
        public var description: String { name }
    }

    /// The kind of failure.
    public var code: Code
    /// What went wrong and what to do, in words.
    public var message: String
    /// The output of `nsupdate` or `dig`, when one ran (never holds the secret: it is only in a file).
    public var output: String

    /// Creates an error.
    public init(_ code: Code, _ message: String, output: String = "") {
        self.code = code
        self.message = message
        self.output = output
    }

    /// False for failures that another try cannot fix by itself: this node was deposed, the
    /// configuration is wrong, or a tool is missing.
    public var isRetryable: Bool {
        switch code {
        case .deposed, .invalidConfig, .insecureKeyFile, .toolMissing, .noLongerActive: false
        default: true
        }
    }

    public var description: String { "DNS update: \(message)" }
}
