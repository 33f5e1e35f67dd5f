import FailoverController

/// The room between the active's self-fencing deadline and a standby's takeover, and what must fit in it.
///
/// A standby may take over `heartbeat.timeout` after the last renew it saw committed; the active stops
/// serving `heartbeat.renewDeadline` after the start of its last successful renew, *plus the time its
/// demotion takes*: stopping a promotion still running (its hook gets `killGrace` between SIGTERM and
/// SIGKILL), then the demote steps up to the service's stop (the address release, then `hooks.demote`,
/// killed at `hooks.demoteTimeout`). The protocol is safe when
/// `renewDeadline + killGrace + demoteTimeout + drift ≤ timeout`, with one `heartbeat.interval` (at least
/// 100 ms) for the drift of the two hosts' clocks and for noticing — the model's one tick of drift
/// (docs/protocol.md, docs/model). The address release (`ip addr del`, milliseconds) is not counted.
public struct DemoteRoom {
    public var interval: Duration
    public var timeout: Duration
    public var renewDeadline: Duration

    /// `timeout - renewDeadline`.
    public var margin: Duration { timeout - renewDeadline }
    /// The clock drift and wake-up allowance: one interval, at least 100 ms.
    public var drift: Duration { max(interval, .milliseconds(100)) }
    /// SIGTERM-to-SIGKILL grace for a hook stopped by a demotion: a tenth of the room, at most 500 ms.
    public var killGrace: Duration { max(min(.milliseconds(500), margin / 10), .milliseconds(10)) }
    /// The longest demote hook that fits.
    public var forDemoteHook: Duration { margin - drift - killGrace }

    /// The refusal when a demote hook of `demoteTimeout` does not fit; `key` is the key the user wrote
    /// (nil when both hook timeouts are defaults and the heartbeat leaves too little room).
    public func problem(demoteTimeout: Duration, key: String?, renewDeadlineWritten: Bool) -> String? {
        let deadlineText =
            renewDeadlineWritten
            ? "heartbeat.renewDeadline (\(renewDeadline.text))"
            : "the self-fencing deadline (\(renewDeadline.text), heartbeat.timeout - 3 × heartbeat.interval)"
        let why =
            "the active stops serving only after its demotion: \(deadlineText), then up to \(killGrace.text) to stop a "
            + "running promotion and the demote hook; the \(margin.text) between that deadline and heartbeat.timeout "
            + "(\(timeout.text)) must also hold \(drift.text) of clock drift (one heartbeat.interval)"
        if let key {
            guard demoteTimeout > forDemoteHook else { return nil }
            let fit =
                forDemoteHook > .zero
                ? "set hooks.demoteTimeout to at most \(forDemoteHook.text)" : "no demote hook fits"
            return
                "\(key): \(demoteTimeout.text) for hooks.demote does not fit: \(why); \(fit), or raise heartbeat.timeout"
        }
        guard forDemoteHook < .milliseconds(100) else { return nil }
        return
            "heartbeat.timeout: \(timeout.text) leaves hooks.demote less than 100ms: \(why); raise heartbeat.timeout "
            + "or lower heartbeat.renewDeadline"
    }
}
