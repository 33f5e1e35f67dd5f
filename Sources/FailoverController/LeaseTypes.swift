/// What a standby reads from the lease row, plus what the store knows about the other standbys.
public struct LeaseView: Sendable, Equatable, Codable {
    /// The fencing token: grows with every change of active node.
    public var epoch: Int64
    /// The node that holds the lease, or `nil` when the lease was released.
    public var activeNode: String?
    /// The heartbeat counter; the active increments it every interval.
    public var counter: Int64
    /// True while an operator paused the cluster: no standby takes over.
    public var paused: Bool
    /// The node the operator asked the active to hand the lease to, if any.
    public var handoverTo: String?
    /// How many live standbys are preferred over this node (higher priority, or equal and a smaller name).
    public var rank: Int
    /// The nodes other than the holder that may take over after `timeout` (issue 18); nil when the failsafe
    /// is not in use in this epoch: every node is then a member.
    public var members: [String]?
    /// The holder's failsafe cap: a node that is not a member waits this plus `timeout`; nil when not in use.
    public var failsafeMax: Duration?

    /// Creates a view.
    public init(
        epoch: Int64,
        activeNode: String?,
        counter: Int64,
        paused: Bool = false,
        handoverTo: String? = nil,
        rank: Int = 0,
        members: [String]? = nil,
        failsafeMax: Duration? = nil
    ) {
        self.members = members
        self.failsafeMax = failsafeMax
        self.epoch = epoch
        self.activeNode = activeNode
        self.counter = counter
        self.paused = paused
        self.handoverTo = handoverTo
        self.rank = rank
    }

    /// True when the part of the view that shows the active is alive differs from `other`:
    /// the epoch, the counter, the holder or the pause flag.
    public func differsInLiveness(from other: LeaseView) -> Bool {
        epoch != other.epoch || counter != other.counter || activeNode != other.activeNode || paused != other.paused
    }
}

/// The outcome of the active's fenced renew.
public enum RenewOutcome: Sendable, Equatable {
    /// One row: the lease is renewed.
    /// - Parameters:
    ///   - counter: the new counter value.
    ///   - paused: whether the cluster is paused.
    ///   - handoverTo: a switchover target, if an operator asked for one.
    ///   - standbyAge: seconds since any eligible standby's row was last refreshed (database clock), `nil` when
    ///     none exists.
    ///   - bestStandby: the eligible standby a step-down hands the lease to (highest priority, then name,
    ///     seen within `timeout`), `nil` when none is.
    ///   - preferredEligibleFor: with `failback: {preferred: …}`, seconds the preferred node has been an eligible
    ///     standby (database clock), `nil` when it is not one now.
    ///   - failsafe: the row's members and cap, the members wanted and the nodes' addresses (issue 18).
    case renewed(
        counter: Int64,
        paused: Bool,
        handoverTo: String?,
        standbyAge: Double?,
        bestStandby: String? = nil,
        preferredEligibleFor: Double? = nil,
        failsafe: FailsafeRow? = nil
    )
    /// Zero rows: the epoch or the holder changed; this node was deposed.
    case deposed
    /// Zero rows for a membership change: the epoch, the holder or the counter moved. Nothing was written; the
    /// next renew tells whether this node still holds the lease.
    case notApplied
}

/// The role a node reports in its row.
public enum NodeRole: String, Sendable, Codable, CaseIterable {
    /// Watching the counter.
    case standby
    /// Holding the lease and serving.
    case active
    /// Named active, waiting for its first renew, or running its promotion actions.
    case promoting
    /// Running its demotion actions.
    case demoting
    /// Stopped gracefully.
    case stopped
}

/// A request the state machine makes of the lease store; the run loop carries it out, one at a time.
public enum LeaseCall: Sendable, Equatable {
    /// Read the lease row and refresh this node's row with its role, a note and its health; with `writeRow` false
    /// only read (issue 16: a standby writes its row every other read, or when its role or health changed).
    case observe(role: NodeRole, note: String, report: NodeReport = NodeReport(), writeRow: Bool = true)
    /// Increment the counter, fenced by the epoch and this node's name; the row shows its health.
    case renew(epoch: Int64, report: NodeReport = NodeReport())
    /// The compare-and-set takeover on the values this standby saw.
    case takeOver(seenEpoch: Int64, seenCounter: Int64)
    /// Give the lease up after a graceful stop.
    case release(epoch: Int64, counter: Int64)
    /// Hand the lease to another node after a switchover request.
    case handOff(to: String, epoch: Int64, counter: Int64)
    /// The failsafe's membership change: a renew that also sets the row's members and cap, checked on the
    /// counter of the last successful write (issue 18). Answered like a renew, or `.notApplied`.
    case changeMembers(epoch: Int64, counter: Int64, members: [String]?, maxDuration: Duration?, report: NodeReport)

    /// The epoch a renew or a membership change writes in; nil for the other calls.
    public var renewEpoch: Int64? {
        switch self {
        case .renew(let epoch, _), .changeMembers(let epoch, _, _, _, _): return epoch
        default: return nil
        }
    }
}

/// What the lease store answered to a `LeaseCall`.
public enum LeaseResult: Sendable, Equatable {
    /// The answer to `.observe`.
    case observed(LeaseView)
    /// The answer to `.renew`.
    case renew(RenewOutcome)
    /// The answer to `.takeOver`: the new epoch when this node won, `nil` when it lost; `failsafe`: the members
    /// and cap the takeover wrote, and the members' addresses (issue 18), so the failsafe is in use from the
    /// takeover on rather than from the first renew.
    case tookOver(newEpoch: Int64?, failsafe: FailsafeRow? = nil)
    /// The answer to `.release`: whether the row was released by this call.
    case released(Bool)
    /// The answer to `.handOff`: whether the row now names the target.
    case handedOff(Bool)
    /// The call failed or ran past its deadline; the message names why (never a password).
    case failed(String)
}
