import CCurl
import FoundationEssentials
import Logging

/// Sends alerts by email through libcurl's SMTP client: STARTTLS, AUTH, several recipients, a deadline.
public struct SMTPSender: AlertTransport {
    /// `email`.
    public var name: String { "email" }
    private let settings: EmailSettings
    private let node: String
    private let transport: CurlTransport

    /// Validates the settings (the error names the key) and prepares the sender.
    /// - Parameters:
    ///   - node: this node's name, written in each message's footer.
    ///   - logger: warns once here when a password would cross the network without TLS.
    public init(settings: EmailSettings, node: String, logger: Logger) throws {
        try settings.validate()
        self.settings = settings
        self.node = node
        transport = CurlTransport(label: "smtp")
        if settings.user != nil, settings.startTLS != .required, !settings.implicitTLS {
            logger.warning(
                "alerts.email.startTLS is not 'required': the SMTP password may cross the network in clear",
                metadata: ["alerts.email.url": "\(settings.url)", "alerts.email.startTLS": "\(settings.startTLS)"]
            )
        }
    }

    /// Sends the message to every address of `alerts.email.to`. `alerts.email.timeout` is how long the
    /// server may stay silent (connect included), and a send that keeps trickling ends at twice that.
    ///
    /// A silence deadline rather than a whole-send one: a server that was slow to greet (just restarted,
    /// or resumed from a stall with a backlog) still gets the full time to answer the DATA. A whole-send
    /// deadline would abandon it after it had stored the message but before its 250 reply, and the retry
    /// would deliver the alert twice (SMTP has no idempotent submit).
    /// Throws `AlertsError` saying what failed in plain words; the password never appears in it.
    public func send(_ message: AlertMessage) async throws {
        let password = try settings.passwordFile.map(PasswordFile.read)
        let useSSL: curl_usessl =
            switch settings.startTLS {
            case .required: CURLUSESSL_ALL
            case .opportunistic: CURLUSESSL_TRY
            case .off: CURLUSESSL_NONE
            }
        let request = CurlRequest(
            url: settings.url,
            timeout: settings.timeout * 2,
            connectTimeout: min(settings.timeout, .seconds(10)),
            useSSL: settings.implicitTLS ? nil : Int(useSSL.rawValue),
            caFile: settings.caFile,
            user: settings.user,
            password: password,
            mailFrom: settings.from,
            mailRecipients: settings.to,
            body: message.email(from: settings.from, to: settings.to, date: Date()),
            stallTimeout: settings.timeout
        )
        let outcome = await transport.perform(request)
        if let error = outcome.error(
            service: "SMTP server \(settings.url)",
            timeout: settings.timeout,
            timeoutKey: "alerts.email.timeout",
            caKey: "alerts.email.caFile",
            user: settings.user
        ) {
            throw error
        }
    }
}
