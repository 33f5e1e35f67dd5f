import FailoverController
import Foundation
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
        snapshot.withLock { $0.clusterError = message }
    }

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
