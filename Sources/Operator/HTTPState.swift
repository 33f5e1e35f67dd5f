import FailoverController
import FoundationEssentials
import Heartbeat
import Synchronization

/// What the HTTP endpoints show: the node's latest status from the run loop and the cluster's latest
/// read from the database. Written by the run loop and the cluster reader, read by request handlers.
public final class HTTPState: Sendable {
    private struct Snapshot {
        public var status: NodeStatus?
        public var statusAt: ContinuousClock.Instant?
        public var cluster: ClusterStatus?
        public var clusterReadAt: ContinuousClock.Instant?
        public var clusterError: String?
        var history: [HolderEpoch] = []
        var samples: [Sample] = []
        var lastRequestAt: ContinuousClock.Instant?
        var clusterAttemptAt: ContinuousClock.Instant?
    }

    /// One point of the page's plots: this node's heartbeat age and last lease call's duration.
    public struct Sample: Sendable {
        /// When (wall clock, for the timeline's axis).
        public var at: Date
        /// Seconds since the last successful lease call.
        public var heartbeatAge: Double
        /// How long the last successful lease call took, if one did.
        public var callSeconds: Double?
    }

    /// How far back the page's timeline and plots reach.
    public static let window: TimeInterval = 6 * 3600

    private let snapshot = Mutex(Snapshot())
    /// The reader waiting for the next request, when nobody looks.
    private let idleReader = Mutex<CheckedContinuation<Void, Never>?>(nil)

    /// The node's status as the run loop last reported it, `nil` before the first report.
    public var status: NodeStatus? { snapshot.withLock { $0.status } }

    /// When the run loop last reported a status, `nil` before the first report.
    public var statusAt: ContinuousClock.Instant? { snapshot.withLock { $0.statusAt } }

    /// Stores the node's status (and when it came) and returns the previous role.
    @discardableResult
    public func setStatus(_ status: NodeStatus, at instant: ContinuousClock.Instant = .now) -> NodeRole? {
        snapshot.withLock { state in
            let previous = state.status?.role
            state.status = status
            state.statusAt = instant
            // At most one sample a second, at most the window's worth (21,600 small values).
            let now = Date()
            if now.timeIntervalSince(state.samples.last?.at ?? .distantPast) >= 1 {
                state.samples.append(
                    Sample(at: now, heartbeatAge: status.secondsSinceLastSuccess, callSeconds: status.lastCallSeconds)
                )
                // Trimmed in batches of ten minutes: one shift of the array every 600 samples, not one every
                // second once it is full (this runs on the run loop's path, after every input).
                if state.samples.count > Int(Self.window) + 600 {
                    state.samples.removeFirst(state.samples.count - Int(Self.window))
                }
            }
            return previous
        }
    }

    /// Stores a successful cluster read.
    public func setCluster(_ cluster: ClusterStatus, at instant: ContinuousClock.Instant = .now) {
        snapshot.withLock { state in
            state.cluster = cluster
            state.clusterReadAt = instant
            state.clusterError = nil
        }
    }

    /// Stores the holders of the last hours (`ClusterAdmin.history`), for the page's timeline.
    public func setHistory(_ history: [HolderEpoch]) { snapshot.withLock { $0.history = history } }

    /// The holders of the last hours and this node's samples, oldest first.
    public var timeline: (history: [HolderEpoch], samples: [Sample]) { snapshot.withLock { ($0.history, $0.samples) } }

    /// Stores why the last cluster read failed (the previous good read is kept).
    public func setClusterError(_ message: String) {
        snapshot.withLock { state in
            state.clusterError = message
            state.clusterAttemptAt = .now
        }
    }

    /// Issue 16: the cluster is read from the database only while someone looks (a request for `/status`, the
    /// page or `/metrics` within `HTTPClusterReader.interest`), so an unwatched node keeps no third connection.
    /// Records a request; when the last read is older than `maxAge` (or there is none), waits up to `wait` for the
    /// reader's next one, so the first look after a quiet spell is not answered from an old read.
    public func noteRequest(maxAge: Duration, wait: Duration = .seconds(3)) async {
        let requested = ContinuousClock.now
        // The request is recorded before the idle reader is woken: it looks at `lastRequestAt` when it wakes.
        let fresh = snapshot.withLock { state -> Bool in
            state.lastRequestAt = requested
            guard let at = state.clusterReadAt else { return false }
            return at.duration(to: requested) <= maxAge
        }
        wakeReader()
        guard !fresh else { return }
        let deadline = requested.advanced(by: wait)
        while ContinuousClock.now < deadline {
            let answered = snapshot.withLock { state in
                (state.clusterReadAt.map { $0 >= requested } ?? false)
                    || (state.clusterAttemptAt.map { $0 >= requested } ?? false)
            }
            if answered { return }
            try? await Task.sleep(for: .milliseconds(20))
        }
    }

    private func wakeReader() {
        idleReader.withLock { waiting in
            defer { waiting = nil }
            return waiting
        }?.resume()
    }

    /// Returns at the next request after `seen` (the `lastRequestAt` the reader last looked at), or when the task is
    /// cancelled: the idle reader sleeps here. A request that came in between is not missed.
    public func nextRequest(after seen: ContinuousClock.Instant?) async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let previous = idleReader.withLock { waiting in
                    defer { waiting = continuation }
                    return waiting
                }
                previous?.resume()
                // Cancelled, or a request came, before it was stored: nobody else will resume it, so resume it here.
                if Task.isCancelled || self.lastRequestAt != seen { self.wakeReader() }
            }
        } onCancel: {
            idleReader.withLock { waiting in
                defer { waiting = nil }
                return waiting
            }?.resume()
        }
    }

    /// When someone last asked for the cluster's status, nil when nobody has.
    public var lastRequestAt: ContinuousClock.Instant? { snapshot.withLock { $0.lastRequestAt } }

    /// The last good cluster read, seconds since it, and the last read's error if it failed.
    public func cluster(now: ContinuousClock.Instant = .now) -> (status: ClusterStatus?, age: Double?, error: String?) {
        snapshot.withLock { state in
            (state.cluster, state.clusterReadAt.map { $0.duration(to: now).secondsValue }, state.clusterError)
        }
    }

    /// The `/status` document.
    public struct Document: Codable, Sendable {
        /// This node's own view.
        public struct NodeView: Codable, Sendable {
            public var node: String
            public var role: String
            public var epoch: Int64
            public var note: String
            public var secondsSinceLastSuccess: Double
            public var lease: LeaseView?
            /// The service's health or the standby's readiness in words.
            public var health: String
            /// Whether this node may take over or be handed the lease.
            public var eligible: Bool
            /// While this node is active on failsafe rounds (issue 18): since when, on whose acks; else nil.
            public var failsafe: String?
        }
        public var node: NodeView
        /// The cluster as the database showed it at the last read (same as `hotstandby status --json`).
        public var cluster: ClusterStatus?
        /// Seconds since that read.
        public var clusterReadAgeSeconds: Double?
        /// Why the last read failed, if it did.
        public var clusterError: String?
    }

    /// The `/status` document for node `name`.
    public func document(node name: String) -> Document {
        let status = self.status
        let cluster = self.cluster()
        return Document(
            node: .init(
                node: name,
                role: status?.role.rawValue ?? "starting",
                epoch: status?.epoch ?? 0,
                note: status?.note ?? "starting",
                secondsSinceLastSuccess: status?.secondsSinceLastSuccess ?? 0,
                lease: status?.view,
                health: status?.health ?? "unchecked",
                eligible: status?.eligible ?? false,
                failsafe: status?.failsafe
            ),
            cluster: cluster.status,
            clusterReadAgeSeconds: cluster.age.map { ($0 * 10).rounded() / 10 },
            clusterError: cluster.error
        )
    }
}
