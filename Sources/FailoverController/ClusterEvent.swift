/// One entry of the cluster's event log (`hotstandby_event`): what happened, where, and why.
public struct ClusterEvent: Sendable, Equatable, Codable {
    /// The kind of event, such as `takeover` or `fenced`. The list is `ClusterEvent.Kind`.
    public var kind: Kind
    /// The epoch the event belongs to.
    public var epoch: Int64
    /// Details for the log, the email and `status`: reasons, durations, step outcomes.
    public var detail: [String: JSONValue]

    /// Creates an event.
    public init(kind: Kind, epoch: Int64, detail: [String: JSONValue] = [:]) {
        self.kind = kind
        self.epoch = epoch
        self.detail = detail
    }

    /// The kinds of event the daemon and the CLI record.
    public struct Kind: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// A standby won the compare-and-set: it holds the lease in a new epoch (recorded at the win;
        /// the promotion's outcome is its own event, `promoted`).
        public static let takeover = Kind(rawValue: "takeover")
        /// The promotion actions of a takeover, resume or hand-over finished (the detail lists each step).
        public static let promoted = Kind(rawValue: "promoted")
        /// A restarted active confirmed its lease in the same epoch and resumed serving.
        public static let resumed = Kind(rawValue: "resumed")
        /// A node named by a switchover confirmed the lease and started serving.
        public static let handoverReceived = Kind(rawValue: "handover-received")
        /// The active found its epoch taken by another node and stepped down.
        public static let deposed = Kind(rawValue: "deposed")
        /// The active could not renew within `renewDeadline` and stepped down by itself.
        public static let fenced = Kind(rawValue: "fenced")
        /// The active ran its demotion actions (the detail says why and how each step went).
        public static let demoted = Kind(rawValue: "demoted")
        /// The active released the lease on a graceful stop.
        public static let released = Kind(rawValue: "released")
        /// The active handed the lease to the node an operator named.
        public static let handedOff = Kind(rawValue: "handed-off")
        /// An operator asked for a switchover.
        public static let switchoverRequested = Kind(rawValue: "switchover-requested")
        /// The pre-promote hook refused a takeover.
        public static let vetoed = Kind(rawValue: "vetoed")
        /// The active has seen no standby for `timeout`: no failover is possible.
        public static let haLost = Kind(rawValue: "ha-lost")
        /// A standby is seen again after `ha-lost`.
        public static let haRestored = Kind(rawValue: "ha-restored")
        /// This node could not reach the database for longer than `timeout`.
        public static let databaseUnreachable = Kind(rawValue: "database-unreachable")
        /// This node reaches the database again.
        public static let databaseBack = Kind(rawValue: "database-back")
        /// An operator paused the cluster.
        public static let paused = Kind(rawValue: "paused")
        /// An operator resumed the cluster.
        public static let unpaused = Kind(rawValue: "unpaused")
        /// A node's daemon started.
        public static let started = Kind(rawValue: "started")
        /// The active's service failed its check `health.fall` times in a row, or a promotion step failed on
        /// this host.
        public static let serviceFailed = Kind(rawValue: "service-failed")
        /// A failed service passes its check again (`health.rise` times) without a move.
        public static let serviceRecovered = Kind(rawValue: "service-recovered")
        /// `hooks.recover` restarted the service and it passes its check again: no failover.
        public static let recoveredInPlace = Kind(rawValue: "recovered-in-place")
        /// The active's service failed and it handed the lease to an eligible standby.
        public static let steppedDown = Kind(rawValue: "stepped-down")
        /// The active's service failed but no standby is eligible (or the cluster is paused): it stays active.
        public static let stayingActive = Kind(rawValue: "staying-active")
        /// A standby may not take over (the detail says why).
        public static let notEligible = Kind(rawValue: "not-eligible")
        /// A standby that was not eligible is again.
        public static let eligible = Kind(rawValue: "eligible")
        /// `failback`: the active handed the lease back to the preferred node.
        public static let failback = Kind(rawValue: "failback")
        /// The active found its virtual IP gone from the interface and bound it again.
        public static let addressRestored = Kind(rawValue: "address-restored")
        /// A standby found the virtual IP on its own interface and removed it.
        public static let addressRemoved = Kind(rawValue: "address-removed")
        /// A promotion or demotion step failed (the detail names the step).
        public static let actionFailed = Kind(rawValue: "action-failed")
        /// The active's renews fail and it rides through on failsafe rounds (the detail names the members).
        public static let failsafeEntered = Kind(rawValue: "failsafe-entered")
        /// The active left the failsafe: a renew succeeded, or it fenced (the detail says how and how long).
        public static let failsafeLeft = Kind(rawValue: "failsafe-left")
        /// A standby that reads the database gets failsafe beats: the active is alive, cut off from the database.
        public static let failsafePeer = Kind(rawValue: "failsafe-peer")
    }
}
