/// The `alerts` section of the configuration.
public struct AlertsSettings: Sendable, Equatable {
    /// `alerts.email`, or nil for no email.
    public var email: EmailSettings?
    /// `alerts.webhook`, or nil for no webhook.
    public var webhook: WebhookSettings?
    /// `alerts.events`: the kinds that alert; nil (the default) means all of them but
    /// `AlertEvent.quietByDefault` (`started`, `promoted`).
    public var events: Set<String>?
    /// `alerts.maxPerMinute`: more events than this within a minute become one digest. Defaults to 10.
    public var maxPerMinute: Int

    /// Creates the settings; call `validate()` before use.
    public init(
        email: EmailSettings? = nil,
        webhook: WebhookSettings? = nil,
        events: Set<String>? = nil,
        maxPerMinute: Int = 10
    ) {
        self.email = email
        self.webhook = webhook
        self.events = events
        self.maxPerMinute = maxPerMinute
    }

    /// Checks every key; the error names the key and the value.
    public func validate() throws {
        try email?.validate()
        try webhook?.validate()
        if let events {
            for kind in events.sorted() where !AlertEvent.knownKinds.contains(kind) {
                throw AlertsError.config(
                    "alerts.events",
                    "'\(kind)' is not an event kind; known kinds: \(AlertEvent.knownKinds.joined(separator: ", "))"
                )
            }
        }
        if !(1...10_000).contains(maxPerMinute) {
            throw AlertsError.config("alerts.maxPerMinute", "\(maxPerMinute) is out of range; use 1 to 10000")
        }
    }

    /// Whether an event of this kind alerts.
    public func alerts(on kind: String) -> Bool {
        events.map { $0.contains(kind) } ?? !AlertEvent.quietByDefault.contains(kind)
    }
}
