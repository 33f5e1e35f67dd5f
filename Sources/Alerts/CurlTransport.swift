import Dispatch

/// Runs libcurl transfers on a dedicated serial queue, so their blocking calls never hold a thread of
/// Swift's cooperative pool; each transfer's deadline is libcurl's own `CURLOPT_TIMEOUT_MS`.
struct CurlTransport: Sendable {
    private let queue: DispatchQueue

    /// Creates a transport with its own queue, named for the logs of a debugger.
    init(label: String) {
        queue = DispatchQueue(label: "hotstandby.alerts.\(label)")
    }

    /// Runs one transfer with a fresh easy handle, created, used and freed on the queue.
    func perform(_ request: CurlRequest) async -> CurlOutcome {
        await withCheckedContinuation { continuation in
            queue.async {
                guard let easy = CurlEasy() else {
                    continuation.resume(
                        returning: CurlOutcome(
                            code: -1,
                            codeText: "curl_easy_init failed",
                            detail: "",
                            responseCode: 0,
                            responseBody: ""
                        )
                    )
                    return
                }
                continuation.resume(returning: easy.perform(request))
            }
        }
    }
}
