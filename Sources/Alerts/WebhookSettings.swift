import FoundationEssentials

/// The `alerts.webhook` section: the same alerts as JSON by HTTP POST.
public struct WebhookSettings: Sendable, Equatable {
    /// `alerts.webhook.url`: an `http://` or `https://` URL that accepts a JSON POST.
    public var url: String
    /// `alerts.webhook.caFile`: a PEM bundle to verify an `https://` server with; nil uses the system's.
    public var caFile: String?
    /// `alerts.webhook.timeout`: the deadline of one POST. Defaults to 10 seconds.
    public var timeout: Duration

    /// Creates the settings; call `validate()` before use.
    public init(url: String, caFile: String? = nil, timeout: Duration = .seconds(10)) {
        self.url = url
        self.caFile = caFile
        self.timeout = timeout
    }

    /// Checks every key; the error names the key and the value.
    public func validate() throws {
        guard let parsed = URLComponents(string: url), let scheme = parsed.scheme?.lowercased(),
            scheme == "http" || scheme == "https", let host = parsed.host, !host.isEmpty
        else {
            throw AlertsError.config("alerts.webhook.url", "'\(url)' is not an http:// or https:// URL")
        }
        if timeout <= .zero { throw AlertsError.config("alerts.webhook.timeout", "must be more than 0 seconds") }
        if let caFile, !FileManager.default.isReadableFile(atPath: caFile) {
            throw AlertsError.config("alerts.webhook.caFile", "'\(caFile)' does not exist or is not readable")
        }
    }
}
