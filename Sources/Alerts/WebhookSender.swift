import Logging

/// Posts alerts as JSON to `alerts.webhook.url` through libcurl, with a deadline.
///
/// The body is `{"cluster", "subject", "text", "digest", "sentBy", "events": [...]}`; any 2xx status is success.
public struct WebhookSender: AlertTransport {
    /// `webhook`.
    public var name: String { "webhook" }
    private let settings: WebhookSettings
    private let node: String
    private let transport: CurlTransport

    /// Validates the settings (the error names the key) and prepares the sender.
    public init(settings: WebhookSettings, node: String) throws {
        try settings.validate()
        self.settings = settings
        self.node = node
        transport = CurlTransport(label: "webhook")
    }

    /// Posts the message; throws `AlertsError` on a transfer failure or a status other than 2xx.
    public func send(_ message: AlertMessage) async throws {
        let request = CurlRequest(
            url: settings.url,
            timeout: settings.timeout,
            connectTimeout: min(settings.timeout, .seconds(10)),
            caFile: settings.caFile,
            body: message.json(sentBy: node),
            httpHeaders: ["Content-Type: application/json", "Expect:", "User-Agent: hotstandby"]
        )
        let outcome = await transport.perform(request)
        let service = "webhook \(settings.url)"
        if let error = outcome.error(
            service: service,
            timeout: settings.timeout,
            timeoutKey: "alerts.webhook.timeout",
            caKey: "alerts.webhook.caFile",
            user: nil
        ) {
            throw error
        }
        guard (200..<300).contains(outcome.responseCode) else {
            let body = String(outcome.responseBody.prefix(200)).replacing("\n", with: " ")
            throw AlertsError(
                code: .httpStatus,
                message: "\(service): answered HTTP \(outcome.responseCode), expected 2xx: \(body)",
                responseCode: outcome.responseCode
            )
        }
    }
}
