import FailoverController
import Foundation
import Heartbeat
import Synchronization

/// What the HTTP endpoints show: the node's latest status from the run loop and the cluster's latest
/// read from the database. Written by the run loop and the cluster reader, read by request handlers.
final class HTTPState: Sendable {
    private struct Snapshot {
        var status: NodeStatus?
        var statusAt: ContinuousClock.Instant?
        var cluster: ClusterStatus?
        var clusterReadAt: ContinuousClock.Instant?
        var clusterError: String?
    }

    private let snapshot = Mutex(Snapshot())

    /// The node's status as the run loop last reported it, `nil` before the first report.
    var status: NodeStatus? { snapshot.withLock { $0.status } }

    /// When the run loop last reported a status, `nil` before the first report.
    var statusAt: ContinuousClock.Instant? { snapshot.withLock { $0.statusAt } }

    /// Stores the node's status (and when it came) and returns the previous role.
    @discardableResult
    func setStatus(_ status: NodeStatus, at instant: ContinuousClock.Instant = .now) -> NodeRole? {
        snapshot.withLock { state in
            let previous = state.status?.role
            state.status = status
            state.statusAt = instant
            return previous
        }
    }

    /// Stores a successful cluster read.
    func setCluster(_ cluster: ClusterStatus, at instant: ContinuousClock.Instant = .now) {
        snapshot.withLock { state in
            state.cluster = cluster
            state.clusterReadAt = instant
            state.clusterError = nil
        }
    }

    /// Stores why the last cluster read failed (the previous good read is kept).
    func setClusterError(_ message: String) {
        snapshot.withLock { $0.clusterError = message }
    }

    /// The last good cluster read, seconds since it, and the last read's error if it failed.
    func cluster(now: ContinuousClock.Instant = .now) -> (status: ClusterStatus?, age: Double?, error: String?) {
        snapshot.withLock { state in
            (state.cluster, state.clusterReadAt.map { $0.duration(to: now).secondsValue }, state.clusterError)
        }
    }

    /// The `/status` document.
    struct Document: Codable, Sendable {
        /// This node's own view.
        struct NodeView: Codable, Sendable {
            var node: String
            var role: String
            var epoch: Int64
            var note: String
            var secondsSinceLastSuccess: Double
            var lease: LeaseView?
            /// The service's health or the standby's readiness in words.
            var health: String
            /// Whether this node may take over or be handed the lease.
            var eligible: Bool
        }
        var node: NodeView
        /// The cluster as the database showed it at the last read (same as `hotstandby status --json`).
        var cluster: ClusterStatus?
        /// Seconds since that read.
        var clusterReadAgeSeconds: Double?
        /// Why the last read failed, if it did.
        var clusterError: String?
    }

    /// The `/status` document for node `name`.
    func document(node name: String) -> Document {
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
                eligible: status?.eligible ?? false
            ),
            cluster: cluster.status,
            clusterReadAgeSeconds: cluster.age.map { ($0 * 10).rounded() / 10 },
            clusterError: cluster.error
        )
    }
}
