/// How a node's service is checked and what a failure leads to (`health.*`, `failback`).
public struct HealthSettings: Sendable, Equatable {
    /// How often the checks run. Defaults to the heartbeat interval.
    public var interval: Duration
    /// Each check's deadline; a run past it counts as a failure.
    public var timeout: Duration
    /// Consecutive failures before the service counts as failed.
    public var fall: Int
    /// Consecutive successes before a failed (or recovering) service counts as healthy again.
    public var rise: Int
    /// How many times `hooks.recover` may restart the service in place before the node steps down.
    public var recoverAttempts: Int
    /// After stepping down for a failed service (or a failed promotion), how long this node is not eligible.
    public var holdDown: Duration
    /// Whether the active runs a check (`health.check` or `health.beat`).
    public var checksActive: Bool
    /// Whether a standby runs a check (`health.standbyCheck`).
    public var checksStandby: Bool
    /// Whether the host prerequisites are checked (the daemon always does): no takeover before the first check.
    public var checksHost: Bool
    /// `failback`: who takes the role back, and when.
    public var failback: Failback

    /// `failback: manual` (the default) or `failback: {preferred: NODE, after: DURATION}`.
    public enum Failback: Sendable, Equatable {
        /// The role stays where it is until an operator moves it.
        case manual
        /// The preferred node takes the role back once it has been an eligible standby for `after`.
        case preferred(node: String, after: Duration)
    }

    /// Creates settings; by default nothing is checked and nothing fails back.
    public init(
        interval: Duration = .seconds(5),
        timeout: Duration = .seconds(5),
        fall: Int = 3,
        rise: Int = 2,
        recoverAttempts: Int = 0,
        holdDown: Duration = .seconds(50),
        checksActive: Bool = false,
        checksStandby: Bool = false,
        checksHost: Bool = false,
        failback: Failback = .manual
    ) {
        self.checksHost = checksHost
        self.interval = interval
        self.timeout = timeout
        self.fall = max(1, fall)
        self.rise = max(1, rise)
        self.recoverAttempts = max(0, recoverAttempts)
        self.holdDown = holdDown
        self.checksActive = checksActive
        self.checksStandby = checksStandby
        self.failback = failback
    }
}

/// Which check a run belongs to: the service on the active, or the readiness of a standby.
public enum CheckRole: String, Sendable, Equatable {
    /// `health.check` (and the beat) on the active.
    case active
    /// `health.standbyCheck` on a standby.
    case standby
}

/// One run of a check, as the health monitor feeds it to the state machine.
public struct CheckReport: Sendable, Equatable {
    /// The check that ran.
    public var role: CheckRole
    /// The epoch the node held when an active check started (0 for a standby's): a late report of a
    /// previous epoch is ignored.
    public var epoch: Int64
    /// Whether it passed.
    public var passed: Bool
    /// The last line of its output, or why it failed (`timed out after 2s`, `no beat for 10s`).
    public var detail: String
    /// How long it ran.
    public var seconds: Double

    /// Creates a report.
    public init(role: CheckRole, epoch: Int64 = 0, passed: Bool, detail: String = "", seconds: Double = 0) {
        self.role = role
        self.epoch = epoch
        self.passed = passed
        self.detail = detail
        self.seconds = seconds
    }
}

/// What this node tells the others in its row: whether it may take over, and its health in words.
public struct NodeReport: Sendable, Equatable {
    /// Whether this node may take over (a standby) or be handed the lease.
    public var eligible: Bool
    /// `healthy`, `failing 2/3: …`, `failed: …`, `recovering 1/1`, `not eligible: …`, or `unchecked`.
    public var health: String

    /// Creates a report.
    public init(eligible: Bool = true, health: String = "unchecked") {
        self.eligible = eligible
        self.health = health
    }
}

/// The fall/rise counter of one check (keepalived's `track_script` semantics): `fall` consecutive
/// failures make it failed, `rise` consecutive passes healthy again.
public struct HealthTracker: Sendable, Equatable {
    /// Where the check stands.
    public enum Verdict: Sendable, Equatable {
        /// No run finished yet (counts as healthy: a node is not refused for a check that has not run).
        case unknown
        /// Passing.
        case healthy
        /// `count` consecutive failures, fewer than `fall`.
        case failing(count: Int)
        /// `fall` consecutive failures; `passes` consecutive passes since, fewer than `rise`.
        case failed(passes: Int)
    }

    /// The check this tracker counts.
    public private(set) var role: CheckRole
    /// Where it stands.
    public private(set) var verdict: Verdict = .unknown
    /// The last run's detail.
    public private(set) var lastDetail = ""

    /// Creates a tracker for `role`'s check.
    public init(role: CheckRole) {
        self.role = role
    }

    /// What one run changed.
    public enum Change: Sendable, Equatable {
        /// Nothing worth an event.
        case none
        /// The check has now failed `fall` times in a row.
        case failed
        /// A failed check has now passed `rise` times in a row.
        case recovered
    }

    /// Counts one run.
    public mutating func record(passed: Bool, detail: String, fall: Int, rise: Int) -> Change {
        lastDetail = detail
        switch (verdict, passed) {
        case (.unknown, true), (.healthy, true), (.failing, true):
            verdict = .healthy
            return .none
        case (.unknown, false), (.healthy, false):
            verdict = fall <= 1 ? .failed(passes: 0) : .failing(count: 1)
            return fall <= 1 ? .failed : .none
        case (.failing(let count), false):
            if count + 1 >= fall {
                verdict = .failed(passes: 0)
                return .failed
            }
            verdict = .failing(count: count + 1)
            return .none
        case (.failed(let passes), true):
            if passes + 1 >= rise {
                verdict = .healthy
                return .recovered
            }
            verdict = .failed(passes: passes + 1)
            return .none
        case (.failed, false):
            verdict = .failed(passes: 0)
            return .none
        }
    }

    /// Whether `fall` failures in a row have been counted and `rise` passes have not yet followed.
    public var isFailed: Bool {
        if case .failed = verdict { return true }
        return false
    }

    /// The verdict in words: `healthy`, `failing 2/3: <detail>`, `failed: <detail>`.
    public func text(fall: Int, rise: Int) -> String {
        let said = lastDetail.isEmpty ? "" : ": " + lastDetail
        switch verdict {
        case .unknown: return "unchecked"
        case .healthy: return "healthy"
        case .failing(let count): return "failing \(count)/\(fall)\(said)"
        case .failed(let passes) where passes > 0: return "failed, passing \(passes)/\(rise)\(said)"
        case .failed: return "failed\(said)"
        }
    }
}
