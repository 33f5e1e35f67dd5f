/// The timing and identity a node's state machine runs with.
public struct FailoverSettings: Sendable, Equatable {
    /// The cluster's name: one lease row.
    public var cluster: String
    /// This node's name, unique in the cluster.
    public var node: String
    /// How often the active renews and a standby reads. Defaults to 5 seconds.
    public var interval: Duration
    /// How long the counter must stay unchanged before a standby takes over. Defaults to 60 seconds.
    public var timeout: Duration
    /// How long the active may go without a successful renew (counted from the renew's start)
    /// before it demotes itself. Defaults to `timeout - 3 * interval`.
    public var renewDeadline: Duration
    /// The service checks and what their failure leads to (`health.*`, `failback`).
    public var health: HealthSettings
    /// The failsafe (`failsafe:`, issue 18); nil when it is off.
    public var failsafe: FailsafeSettings?
    /// How long before a standby's takeover deadline the state machine asks for the takeover to be prepared
    /// (`prepareTakeover`: the VIP's duplicate-address probe runs then, so its answer is there when the address
    /// is bound). Nil: never. The run loop sets it from the promotion steps (`PromotionPlan.takeoverLead`).
    public var takeoverLead: Duration?

    /// Creates settings; `renewDeadline` defaults to `timeout - 3 * interval`; `health` to no checks, run
    /// every interval with a deadline of `min(interval, 10s)` and a hold-down of ten intervals.
    public init(
        cluster: String,
        node: String,
        interval: Duration = .seconds(5),
        timeout: Duration = .seconds(60),
        renewDeadline: Duration? = nil,
        health: HealthSettings? = nil,
        failsafe: FailsafeSettings? = nil,
        takeoverLead: Duration? = nil
    ) {
        self.failsafe = failsafe
        self.takeoverLead = takeoverLead
        self.cluster = cluster
        self.node = node
        self.interval = interval
        self.timeout = timeout
        self.renewDeadline = renewDeadline ?? (timeout - interval * 3)
        self.health =
            health ?? HealthSettings(interval: interval, timeout: min(interval, .seconds(10)), holdDown: interval * 10)
    }

    /// The least room between `renewDeadline` and `timeout` that validation accepts: time for the
    /// active to notice, release the address and for clocks to drift. One interval, at least 100 ms.
    public var minimumDemoteMargin: Duration { max(interval, .milliseconds(100)) }

    /// The problems with these settings, each naming its key; empty when they are usable.
    ///
    /// `renewDeadlineIsDefault` says that the user did not write `heartbeat.renewDeadline`, so that it is
    /// `timeout - 3 * interval`: a refusal then names the keys the user wrote (`heartbeat.timeout` and
    /// `heartbeat.interval`) and the least timeout that works, not a derived, possibly negative, deadline.
    public func problems(renewDeadlineIsDefault: Bool = false) -> [String] {
        var problems: [String] = []
        if cluster.isEmpty { problems.append("cluster: must not be empty") }
        if node.isEmpty { problems.append("node: must not be empty") }
        if let failsafe, failsafe.maxDuration < timeout {
            problems.append(
                "failsafe.maxDuration: \(failsafe.maxDuration.text) is shorter than heartbeat.timeout (\(timeout.text)): "
                    + "a ride-through shorter than a takeover would fence before any standby could act"
            )
        }
        if interval < .milliseconds(50) {
            problems.append("heartbeat.interval: \(interval.text) is shorter than the least supported, 50ms")
            // The default deadline follows from the interval: the interval's refusal is the one to fix.
            if renewDeadlineIsDefault { return problems }
        }
        if renewDeadlineIsDefault {
            // With the default, renewDeadline < timeout always holds and the margin is 3 × interval, at
            // least max(interval, 100ms) for any interval of 50ms or more: only `interval < renewDeadline`,
            // that is timeout > 4 × interval, can fail.
            if let problem = defaultDeadlineProblem() { problems.append(problem) }
            return problems
        }
        if !(interval < renewDeadline) {
            problems.append(
                "heartbeat.renewDeadline: \(renewDeadline.text) must be longer than heartbeat.interval (\(interval.text))"
            )
        }
        if !(renewDeadline < timeout) {
            problems.append(
                "heartbeat.renewDeadline: \(renewDeadline.text) must be shorter than heartbeat.timeout (\(timeout.text)): "
                    + "the active must stop serving before a standby may take over"
            )
        } else if timeout - renewDeadline < minimumDemoteMargin {
            problems.append(
                "heartbeat.renewDeadline: \(renewDeadline.text) leaves \((timeout - renewDeadline).text) before "
                    + "heartbeat.timeout (\(timeout.text)); at least \(minimumDemoteMargin.text) is needed to release "
                    + "the address and allow for clock drift"
            )
        }
        return problems
    }

    /// The refusal of a `timeout` too short for `interval` when `renewDeadline` takes its default.
    private func defaultDeadlineProblem() -> String? {
        guard !(interval < renewDeadline) else { return nil }
        // Configured durations are whole milliseconds: the least timeout is 4 × interval + 1ms, the
        // longest interval under this timeout (timeout - 1ms) / 4, rounded down.
        let leastTimeout = interval * 4 + .milliseconds(1)
        let longestInterval = Duration.milliseconds((timeout - .milliseconds(1)).wholeMilliseconds / 4)
        var fix = "use a heartbeat.timeout of at least \(leastTimeout.text)"
        if longestInterval >= .milliseconds(50) {
            fix += " or a heartbeat.interval of at most \(longestInterval.text)"
        }
        return "heartbeat.timeout: \(timeout.text) is too short for heartbeat.interval \(interval.text): the active "
            + "fences itself at the default renewDeadline (timeout − 3 × interval), which must be longer than one "
            + "interval, and would be \(renewDeadline.text.replacingMinus); \(fix)"
    }
}

extension String {
    /// A leading hyphen-minus as the minus sign (`−11s`), so a negative duration reads as a number.
    fileprivate var replacingMinus: String { hasPrefix("-") ? "−" + dropFirst() : self }
}
