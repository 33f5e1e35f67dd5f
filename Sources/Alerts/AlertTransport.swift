/// A way to deliver an alert: email (`SMTPSender`) or webhook (`WebhookSender`).
public protocol AlertTransport: Sendable {
    /// A short name for logs, `email` or `webhook`.
    var name: String { get }
    /// Delivers the message once, within the transport's timeout; throws `AlertsError` in plain words.
    func send(_ message: AlertMessage) async throws
}
