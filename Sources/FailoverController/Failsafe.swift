import Synchronization

/// The failsafe (issue 18): the active rides through a database outage while every member of the cluster it
/// knows acknowledges it directly. See docs/failsafe.md for the rules and the safety argument, and
/// docs/model/failsafe.pml for the checked model.

/// The failsafe settings of this node (`failsafe:` in the configuration); nil in `FailoverSettings` when it is off.
public struct FailsafeSettings: Sendable, Equatable {
    /// The longest ride-through of one outage: the active fences this long after the start of its last
    /// successful database write, whatever the rounds say; a node that is not a member waits this plus `timeout`.
    public var maxDuration: Duration
    /// A number that differs on every start of the daemon: round ids are `nonce-n`, so they never repeat.
    public var nonce: UInt64

    /// Creates settings.
    public init(maxDuration: Duration = .seconds(900), nonce: UInt64 = 0) {
        self.maxDuration = maxDuration
        self.nonce = nonce
    }
}

/// What the lease row says of the failsafe, as the active's last write returned it.
public struct FailsafeRow: Sendable, Equatable, Codable {
    /// The nodes that may take over after `timeout`, other than the holder; nil when the failsafe is not in use
    /// in this epoch (every node then counts as a member).
    public var members: [String]?
    /// The holder's cap (`failsafe_max`); nil when the failsafe is not in use.
    public var maxDuration: Duration?
    /// The members the active wants: the registered nodes other than itself, not stopped, seen within `timeout`.
    public var desired: [String]
    /// Each node's `http.advertise` address, for the beats.
    public var addresses: [String: String]

    /// Creates a row.
    public init(
        members: [String]?,
        maxDuration: Duration?,
        desired: [String] = [],
        addresses: [String: String] = [:]
    ) {
        self.members = members
        self.maxDuration = maxDuration
        self.desired = desired
        self.addresses = addresses
    }
}

/// A failsafe beat: the active of `epoch` asks whether it may go on serving (round `round`).
public struct FailsafeBeat: Sendable, Equatable, Codable {
    /// The cluster.
    public var cluster: String
    /// The sender, which holds `epoch`.
    public var from: String
    /// The epoch the sender holds.
    public var epoch: Int64
    /// The round's id, `nonce-n`: unique for ever.
    public var round: String

    /// Creates a beat.
    public init(cluster: String, from: String, epoch: Int64, round: String) {
        self.cluster = cluster
        self.from = from
        self.epoch = epoch
        self.round = round
    }
}

/// A node's answer to a beat.
public enum FailsafeAnswer: Sendable, Equatable {
    /// Acknowledged: this node restarted its takeover timer when the beat arrived.
    case ack(round: String)
    /// No: this node holds, or knows of, epoch `epoch` (newer than the beat's, when it is).
    case no(epoch: Int64, reason: String)
    /// Refused: the beat is not one this node may acknowledge (not the holder it knows, a replayed round).
    case refused(String)
}

/// What the active learnt from a member for a round.
public enum FailsafeReply: Sendable, Equatable {
    /// The member's answer (signature checked).
    case answered(FailsafeAnswer)
    /// No answer within the deadline, a refused connection, a bad signature: the message says which.
    case failed(String)
}

/// The active's current failsafe round.
public struct FailsafeRound<Instant: InstantProtocol>: Sendable, Equatable where Instant.Duration == Duration {
    /// The round's id.
    public var id: String
    /// When it was started: an extension counts from here, never from an ack's arrival.
    public var start: Instant
    /// The nodes that must acknowledge it.
    public var set: [String]
    /// The nodes that did.
    public var acked: Set<String> = []
    /// Whether every node of the set acknowledged it.
    public var complete: Bool { Set(set).isSubset(of: acked) }
}

/// The beats the loop sends for a round: one POST per member, each answer fed back as `.failsafeReply`.
public struct FailsafeSend: Sendable, Equatable {
    /// The beat.
    public var beat: FailsafeBeat
    /// A member the beat goes to.
    public struct Member: Sendable, Equatable {
        /// Its node name.
        public var name: String
        /// Its `http.advertise` address (empty when it has none).
        public var address: String
    }
    /// Each member's name and address.
    public var members: [Member]
    /// The deadline of each POST.
    public var timeout: Duration
}

/// Sends the active's beats to the members (`POST /failsafe/beat`, signed). Implemented by the daemon.
public protocol FailsafePeers: Sendable {
    /// Sends `beat` to the member at `address` within `timeout`; the reply's signature is checked.
    func send(_ beat: FailsafeBeat, to member: String, address: String, timeout: Duration) async -> FailsafeReply
}

/// Where the HTTP server hands in the beats it received (signature checked) and awaits the state machine's
/// answer. The run loop attaches itself when it starts.
public final class FailsafeInbox: Sendable {
    private struct State {
        var feed: (@Sendable (Int, FailsafeBeat) -> Void)?
        var nextID = 0
        var waiting: [Int: CheckedContinuation<FailsafeAnswer, Never>] = [:]
    }
    private let state = Mutex(State())

    /// Creates an inbox with no loop attached (beats are refused until one is).
    public init() {}

    /// Called by the run loop: beats go to `feed` from now on.
    public func attach(_ feed: @escaping @Sendable (Int, FailsafeBeat) -> Void) {
        state.withLock { $0.feed = feed }
    }

    /// Called by the run loop when it stops: pending and later beats are refused.
    public func detach() {
        let waiting = state.withLock { state -> [CheckedContinuation<FailsafeAnswer, Never>] in
            state.feed = nil
            defer { state.waiting = [:] }
            return Array(state.waiting.values)
        }
        for waiter in waiting { waiter.resume(returning: .refused("the node is stopping")) }
    }

    /// Hands `beat` to the state machine and returns its answer, or a refusal after `timeout`.
    public func deliver(_ beat: FailsafeBeat, timeout: Duration = .seconds(1)) async -> FailsafeAnswer {
        await withCheckedContinuation { (continuation: CheckedContinuation<FailsafeAnswer, Never>) in
            let delivery = state.withLock { state -> (Int, @Sendable (Int, FailsafeBeat) -> Void)? in
                guard let feed = state.feed else { return nil }
                state.nextID += 1
                state.waiting[state.nextID] = continuation
                return (state.nextID, feed)
            }
            guard let (id, feed) = delivery else {
                continuation.resume(returning: .refused("the run loop is not running"))
                return
            }
            feed(id, beat)
            Task {
                try? await Task.sleep(for: timeout)
                self.answer(id, .refused("the run loop did not answer within \(timeout.text)"))
            }
        }
    }

    /// Called by the run loop with the state machine's answer to beat `id`.
    public func answer(_ id: Int, _ answer: FailsafeAnswer) {
        let waiter = state.withLock { $0.waiting.removeValue(forKey: id) }
        waiter?.resume(returning: answer)
    }
}
