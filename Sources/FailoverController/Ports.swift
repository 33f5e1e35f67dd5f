import Logging
import Synchronization

/// The lease in the database, as the run loop needs it. Implemented by `Heartbeat.PostgresLeaseStore`.
///
/// Every call carries its own deadline (shorter than the heartbeat interval for `renew`) and never
/// throws: a failure or an expired deadline comes back as `.failed` with a message that holds no password.
public protocol LeaseStore: Sendable {
    /// Carries out one lease call.
    func perform(_ call: LeaseCall) async -> LeaseResult
    /// Calls `onChange` whenever the lease row changes (LISTEN/NOTIFY), until the task is cancelled.
    /// Returns at once when change notifications are not available (a pooler in transaction mode).
    func listen(onChange: @escaping @Sendable () -> Void) async
}

/// Appends events to the event log, off the heartbeat's path.
public protocol EventRecorder: Sendable {
    /// Records the event; failures are logged and retried or queued by the recorder, never thrown.
    func record(_ event: ClusterEvent) async
}

/// The pre-promote check: may this node take over now?
public protocol PromotionGate: Sendable {
    /// Returns `nil` to allow the takeover, or the reason it is refused.
    func check(_ context: RoleContext) async -> String?
}

/// The service's checks, `hooks.recover` and the host prerequisites, run by the loop off the heartbeat's path.
/// Implemented by the daemon's `HealthMonitor` (`health.check`, `health.standbyCheck`, `health.beat`).
public protocol HealthProbe: Sendable {
    /// Runs `role`'s check once within `health.timeout`; nil when none is configured for that role.
    /// `activeSince` is when this node's promotion finished (the first beat is awaited from then).
    func check(_ role: CheckRole, epoch: Int64, activeSince: ContinuousClock.Instant?) async -> CheckReport?
    /// Runs `hooks.recover` once; returns whether it exited 0, and its last line or error.
    func recover(attempt: Int, of attempts: Int, context: RoleContext) async -> (passed: Bool, detail: String)
    /// Checks what this host's parts need (the interface, the programs, key files, the share, the port);
    /// each problem names the key and the value.
    func hostProblems() async -> [String]
}

/// No checks: the default when `health` is not configured.
public struct NoHealthProbe: HealthProbe {
    /// Creates the probe.
    public init() {}
    public func check(_ role: CheckRole, epoch: Int64, activeSince: ContinuousClock.Instant?) async -> CheckReport? {
        nil
    }
    public func recover(attempt: Int, of attempts: Int, context: RoleContext) async -> (passed: Bool, detail: String) {
        (false, "hooks.recover is not configured")
    }
    public func hostProblems() async -> [String] { [] }
}

/// One step of promotion and demotion: restoring files, a hook, binding an address, a DNS update.
///
/// Steps promote in the order given and demote in the reverse order, so the address bound last
/// is released first. Each step enforces its own deadline.
public protocol RoleStep: Sendable {
    /// The step's name in logs, events and emails (`vip`, `hook.promote`, `dns`, `restore`).
    var name: String { get }
    /// Runs when the node starts, before its first read: drop anything a crashed run left behind.
    func atStartup(_ context: RoleContext) async throws
    /// Makes this node the one that serves.
    func promote(_ context: RoleContext) async throws
    /// Stops this node from serving. Must be idempotent: it also runs from `hotstandby release`.
    func demote(_ context: RoleContext) async throws
    /// Periodic work while active (gratuitous ARP refresh, DNS verification, snapshots); runs until cancelled.
    func whileActive(_ context: RoleContext) async
    /// Periodic work while standing by (pulling snapshots); runs until cancelled.
    func whileStandby(_ context: RoleContext) async
    /// How long before a standby's takeover deadline this step wants `prepareTakeover` (the VIP: its probe
    /// window and some slack); nil when it prepares nothing. Defaults to nil.
    var takeoverLead: Duration? { get }
    /// Runs on a standby `takeoverLead` before its takeover deadline, as a child task of the run loop (never on
    /// the heartbeat's path), with the step's own deadline: work whose answer the promotion can use if it comes
    /// soon after (the VIP's duplicate-address probe). The takeover may never come; the promotion must not rely
    /// on it having run. `context.epoch` is the epoch the standby watched.
    func prepareTakeover(_ context: RoleContext) async
    /// Whether this step's promotion failing with `error` means this host cannot serve (the address cannot be
    /// bound, `hooks.promote` failed): the node then steps down. False for a failure of a remote that is down
    /// for every node (a DNS server, the shared folder): it is retried in place.
    func failureIsLocal(_ error: any Error) -> Bool
}

extension RoleStep {
    public func failureIsLocal(_ error: any Error) -> Bool { false }
    public func atStartup(_ context: RoleContext) async throws {}
    public func whileActive(_ context: RoleContext) async {}
    public func whileStandby(_ context: RoleContext) async {}
    public var takeoverLead: Duration? { nil }
    public func prepareTakeover(_ context: RoleContext) async {}
}

/// What a step or a hook is told about the role change it takes part in.
/// Until when this node may serve: the self-fencing deadline of the lease it holds, kept by the run loop
/// after every input. Steps that act on their own timers while active (the gratuitous-ARP refresh, the
/// DNS check) ask it before each action, so a stale "active" after a pause does not announce anything.
public final class ServingDeadline: Sendable {
    private let held = Mutex<(epoch: Int64, until: ContinuousClock.Instant)?>(nil)

    /// Creates a deadline that has passed (not serving).
    public init() {}

    /// Sets the deadline of the lease held in `epoch`; nil when this node does not hold the lease.
    public func set(_ instant: ContinuousClock.Instant?, epoch: Int64 = 0) {
        held.withLock { $0 = instant.map { (epoch, $0) } }
    }

    /// The deadline, or nil.
    public var servingUntil: ContinuousClock.Instant? { held.withLock { $0?.until } }

    /// The epoch of the lease held, or nil.
    public var epoch: Int64? { held.withLock { $0?.epoch } }

    /// Whether `now` is before the deadline (of the lease in `epoch`, when given).
    public func isServing(epoch: Int64? = nil, at now: ContinuousClock.Instant = .now) -> Bool {
        guard let held = held.withLock({ $0 }) else { return false }
        if let epoch, epoch != held.epoch { return false }
        return now < held.until
    }
}

public struct RoleContext: Sendable {
    /// The cluster's name.
    public var cluster: String
    /// This node's name.
    public var node: String
    /// The epoch this node holds (or held, on demotion).
    public var epoch: Int64
    /// `active` when promoting, `standby` when demoting.
    public var role: NodeRole
    /// Why the change happens, in words.
    public var reason: String
    /// The logger to use.
    public var logger: Logger
    /// Records an event (a failed action, a rejected snapshot) from inside a step.
    public var record: @Sendable (ClusterEvent) async -> Void
    /// Whether this node still holds the lease of `epoch` and is before its self-fencing deadline: what a
    /// step asks before it acts on its own timer (a snapshot publish, an ARP refresh, a DNS check).
    public var stillServing: @Sendable () -> Bool
    /// On promotion: whether this is a takeover at the deadline that `RoleStep.prepareTakeover` ran ahead of,
    /// so a step may use what it prepared (when fresh). False for a released lease, a hand-off, a resume, a retry.
    public var prepared: Bool

    /// Creates a context.
    public init(
        cluster: String,
        node: String,
        epoch: Int64,
        role: NodeRole,
        reason: String,
        logger: Logger,
        record: @escaping @Sendable (ClusterEvent) async -> Void = { _ in },
        stillServing: @escaping @Sendable () -> Bool = { false },
        prepared: Bool = false
    ) {
        self.stillServing = stillServing
        self.prepared = prepared
        self.cluster = cluster
        self.node = node
        self.epoch = epoch
        self.role = role
        self.reason = reason
        self.logger = logger
        self.record = record
    }
}

/// A snapshot of what the node is doing, for `/health`, `/status`, metrics and sd_notify.
public struct NodeStatus: Sendable, Equatable {
    /// The role.
    public var role: NodeRole
    /// The epoch this node holds or last saw.
    public var epoch: Int64
    /// The last lease this node read or renewed.
    public var view: LeaseView?
    /// Why a standby is not taking over, or what the active is doing.
    public var note: String
    /// Seconds since the last successful lease call.
    public var secondsSinceLastSuccess: Double
    /// While active: the self-fencing deadline on the monotonic clock (set by the run loop). `/health`
    /// answers 200 only before it, so a process that wakes from SIGSTOP or a VM thaw past its deadline
    /// never claims to serve on a stale status.
    public var servingUntil: ContinuousClock.Instant?
    /// The service's health, or a standby's readiness, in words (`healthy`, `failing 2/3: …`, `not eligible: …`).
    public var health = "unchecked"
    /// Whether this node may take over or be handed the lease.
    public var eligible = true
    /// Whether this node holds the lease but its service failed: `/health` answers 503.
    public var serviceFailed = false
    /// Whether this node's own check has failed (the service's on the active, the readiness on a standby).
    public var checkFailed = false
    /// How long the last successful lease call took (a renew on the active, a read on a standby), in seconds.
    public var lastCallSeconds: Double?
    /// While the active rides through on failsafe rounds (issue 18): since when and on whose acks, in words.
    public var failsafe: String?

    /// Creates a status.
    public init(role: NodeRole, epoch: Int64, view: LeaseView?, note: String, secondsSinceLastSuccess: Double) {
        self.role = role
        self.epoch = epoch
        self.view = view
        self.note = note
        self.secondsSinceLastSuccess = secondsSinceLastSuccess
    }
}
