/// One HTTP POST through libcurl, off Swift's cooperative pool, within a deadline: what the failsafe's beats
/// travel by (issue 18). The alerts' own senders use the same transport.
public struct HTTPPost: Sendable {
    /// What came back.
    public struct Outcome: Sendable {
        /// The HTTP status, 0 when no answer arrived.
        public var status: Int
        /// The first 4 KiB of the body.
        public var body: String
        /// Why the transfer failed (connection refused, the deadline), nil when an answer arrived.
        public var error: String?
    }

    /// Creates a poster.
    public init() {}

    /// POSTs `body` (JSON) to `url`; the whole transfer, connection included, ends at `timeout`.
    public func post(url: String, body: [UInt8], timeout: Duration) async -> Outcome {
        let transport = CurlTransport(label: "post")
        let outcome = await transport.perform(
            CurlRequest(
                url: url,
                timeout: timeout,
                connectTimeout: timeout,
                body: body,
                httpHeaders: ["Content-Type: application/json"]
            )
        )
        guard outcome.code == 0 else {
            let detail = outcome.detail.isEmpty ? outcome.codeText : outcome.detail
            return Outcome(status: 0, body: "", error: detail)
        }
        return Outcome(status: outcome.responseCode, body: outcome.responseBody, error: nil)
    }
}
