import HotStandbyCore

/// How the retry helper waits between attempts.
public struct DNSRetryPolicy: Sendable, Equatable {
    /// The wait after the first failure. Defaults to 500 ms.
    public var first: Duration
    /// The longest wait. Defaults to 30 seconds.
    public var maximum: Duration
    /// The factor applied to the wait after each failure. Defaults to 2.
    public var multiplier: Int

    /// Creates a policy.
    public init(first: Duration = .milliseconds(500), maximum: Duration = .seconds(30), multiplier: Int = 2) {
        self.first = first
        self.maximum = maximum
        self.multiplier = multiplier
    }
}

extension DNSUpdater {
    /// `point`, retried with back-off while `stillActive()` returns true.
    ///
    /// Stops at once on an error no retry can fix (`.deposed`, a configuration error, a missing tool).
    /// Runs only in the caller's task: it never blocks anything else (the heartbeat goes on).
    ///
    /// - Parameter onFailure: called after each failed attempt with the error and the attempt number,
    ///   e.g. to record an event; it is not called for the final, non-retryable error (that one is thrown).
    /// - Throws: the non-retryable error, or `.noLongerActive` when `stillActive()` turned false or the
    ///   task was cancelled.
    public func pointRetrying(
        epoch: Int64,
        node: String,
        policy: DNSRetryPolicy = DNSRetryPolicy(),
        stillActive: @escaping @Sendable () async -> Bool,
        onFailure: @escaping @Sendable (DNSError, Int) async -> Void = { _, _ in }
    ) async throws(DNSError) -> DNSUpdateReport {
        try await retrying(policy: policy, stillActive: stillActive, onFailure: onFailure) {
            () async throws(DNSError) in
            try await point(epoch: epoch, node: node)
        }
    }

    /// Runs `operation` until it succeeds, fails for good, or `stillActive()` turns false.
    public func retrying<Value: Sendable>(
        policy: DNSRetryPolicy = DNSRetryPolicy(),
        stillActive: @escaping @Sendable () async -> Bool,
        onFailure: @escaping @Sendable (DNSError, Int) async -> Void = { _, _ in },
        _ operation: () async throws(DNSError) -> Value
    ) async throws(DNSError) -> Value {
        var wait = policy.first
        var attempt = 0
        while true {
            attempt += 1
            guard !Task.isCancelled, await stillActive() else {
                throw DNSError(.noLongerActive, "stopped updating \(config.nameFQDN): this node is no longer active")
            }
            do {
                return try await operation()
            } catch {
                guard error.isRetryable else { throw error }
                logger.warning(
                    "DNS update failed; retrying",
                    metadata: [
                        LogKey.name: "\(config.nameFQDN)", LogKey.attempt: "\(attempt)",
                        LogKey.error: "\(error.message)", "dns.retryIn": "\(wait.text)",
                    ]
                )
                await onFailure(error, attempt)
            }
            do {
                try await clock.sleep(for: wait, tolerance: nil)
            } catch {
                throw DNSError(.noLongerActive, "stopped updating \(config.nameFQDN): the task was cancelled")
            }
            wait = min(wait * policy.multiplier, policy.maximum)
        }
    }

    /// The active node's periodic duty: every `dns.verifyInterval`, `verify` the record (repairing drift).
    ///
    /// After a failed check the next one comes sooner, with the back-off of `policy` (never later than
    /// `dns.verifyInterval`), so a takeover whose update failed (server down, BADSIG fixed by the
    /// operator) is completed as soon as the server accepts it. Returns when the task is cancelled,
    /// when `stillActive()` turns false, or when the record shows this node was deposed or the
    /// configuration cannot work (reported through `onResult` first).
    ///
    /// - Parameter checkFirst: verify at once instead of after the first interval (use it when the
    ///   promotion's own `point` failed).
    public func keepVerified(
        epoch: Int64,
        node: String,
        checkFirst: Bool = false,
        policy: DNSRetryPolicy = DNSRetryPolicy(),
        stillActive: @escaping @Sendable () async -> Bool,
        onResult: @escaping @Sendable (Result<DNSUpdateReport, DNSError>) async -> Void = { _ in }
    ) async {
        var wait: Duration? = checkFirst ? nil : config.verifyInterval
        var backoff = policy.first
        while !Task.isCancelled {
            if let wait {
                do { try await clock.sleep(for: wait, tolerance: nil) } catch { return }
            }
            guard await stillActive() else { return }
            do {
                let report = try await verify(epoch: epoch, node: node)
                if report.changed { await onResult(.success(report)) }
                wait = config.verifyInterval
                backoff = policy.first
            } catch {
                logger.warning(
                    "DNS verify failed",
                    metadata: [LogKey.name: "\(config.nameFQDN)", LogKey.error: "\(error.message)"]
                )
                await onResult(.failure(error))
                if !error.isRetryable { return }
                wait = min(backoff, config.verifyInterval)
                backoff = min(backoff * policy.multiplier, policy.maximum)
            }
        }
    }
}
