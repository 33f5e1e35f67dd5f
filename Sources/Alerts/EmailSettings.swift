import FoundationEssentials
import Glibc

/// The `alerts.email` section: where and how alerts are mailed.
public struct EmailSettings: Sendable, Equatable {
    /// How the connection to an `smtp://` server is secured (`alerts.email.startTLS`).
    public enum StartTLS: String, Sendable, Equatable, CaseIterable {
        /// STARTTLS or no mail: the password and the alert never cross the network in clear.
        case required
        /// STARTTLS when the server offers it, plain text otherwise.
        case opportunistic
        /// Never STARTTLS (a local relay on 127.0.0.1).
        case off
    }

    /// `alerts.email.url`: `smtp://host:port` (STARTTLS per `startTLS`) or `smtps://host:port` (TLS from the start).
    public var url: String
    /// `alerts.email.startTLS`. Defaults to `required`; ignored for `smtps://`, which is always TLS.
    public var startTLS: StartTLS
    /// `alerts.email.user`: the SMTP login, or nil to send without AUTH.
    public var user: String?
    /// `alerts.email.passwordFile`: a file holding the SMTP password (mode 0600), read before each send.
    public var passwordFile: String?
    /// `alerts.email.from`: the sender address, e.g. `hotstandby@example.com`.
    public var from: String
    /// `alerts.email.to`: one or more recipient addresses.
    public var to: [String]
    /// `alerts.email.caFile`: a PEM bundle to verify the server's certificate with; nil uses the system's.
    public var caFile: String?
    /// `alerts.email.timeout`: the deadline of one send, connect included. Defaults to 15 seconds.
    public var timeout: Duration

    /// Creates the settings; call `validate()` before use.
    public init(
        url: String,
        startTLS: StartTLS = .required,
        user: String? = nil,
        passwordFile: String? = nil,
        from: String,
        to: [String],
        caFile: String? = nil,
        timeout: Duration = .seconds(15)
    ) {
        self.url = url
        self.startTLS = startTLS
        self.user = user
        self.passwordFile = passwordFile
        self.from = from
        self.to = to
        self.caFile = caFile
        self.timeout = timeout
    }

    /// Checks every key; the error names the key and the value. Reads the password file to check it.
    public func validate() throws {
        guard let parsed = URLComponents(string: url), let scheme = parsed.scheme?.lowercased(),
            scheme == "smtp" || scheme == "smtps", let host = parsed.host, !host.isEmpty
        else {
            throw AlertsError.config(
                "alerts.email.url",
                "'\(url)' is not an SMTP URL; write smtp://host:port or smtps://host:port"
            )
        }
        if parsed.user != nil || parsed.password != nil {
            throw AlertsError.config(
                "alerts.email.url",
                "holds a user or password; put the user in alerts.email.user and the password in alerts.email.passwordFile"
            )
        }
        try Self.checkAddress(from, key: "alerts.email.from")
        if to.isEmpty { throw AlertsError.config("alerts.email.to", "lists no recipient; give at least one address") }
        for address in to { try Self.checkAddress(address, key: "alerts.email.to") }
        if timeout <= .zero { throw AlertsError.config("alerts.email.timeout", "must be more than 0 seconds") }
        if let user, user.isEmpty || user.contains(where: { $0.isNewline }) {
            throw AlertsError.config("alerts.email.user", "must be a non-empty single line")
        }
        if user != nil, passwordFile == nil {
            throw AlertsError.config("alerts.email.passwordFile", "is required when alerts.email.user is set")
        }
        if passwordFile != nil, user == nil {
            throw AlertsError.config("alerts.email.user", "is required when alerts.email.passwordFile is set")
        }
        if let passwordFile { _ = try PasswordFile.read(passwordFile) }
        if let caFile, !FileManager.default.isReadableFile(atPath: caFile) {
            throw AlertsError.config("alerts.email.caFile", "'\(caFile)' does not exist or is not readable")
        }
    }

    /// Whether the URL is `smtps://` (TLS from the first byte).
    var implicitTLS: Bool { url.lowercased().hasPrefix("smtps://") }

    /// Refuses anything but a plain `local@domain` address, with the key named.
    static func checkAddress(_ address: String, key: String) throws {
        let parts = address.split(separator: "@", omittingEmptySubsequences: false)
        let special = Set("<>()[]\\,;:\" ".unicodeScalars)
        let forbidden = { (scalar: Unicode.Scalar) in
            special.contains(scalar) || scalar.properties.generalCategory == .control
                || scalar.properties.generalCategory == .lineSeparator
                || scalar.properties.generalCategory == .paragraphSeparator || scalar.value == 0x85
        }
        guard parts.count == 2, !parts[0].isEmpty, parts[1].contains("."), !parts[1].hasPrefix("."),
            !parts[1].hasSuffix("."), address.unicodeScalars.allSatisfy({ !forbidden($0) })
        else {
            throw AlertsError.config(key, "'\(address)' is not an email address; write it as name@example.com")
        }
    }
}
