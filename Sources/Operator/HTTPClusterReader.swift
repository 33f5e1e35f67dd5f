import FailoverController
import Heartbeat
import Logging
import ServiceLifecycle

/// Reads the cluster's status from the database every `period` for `/status`, `/metrics` and the page,
/// so HTTP traffic never reaches the database. Uses its own connection, never the heartbeat's.
public struct HTTPClusterReader: Service {
    public let admin: ClusterAdmin
    public let cluster: String
    public let node: String
    public let timeout: Duration
    public let period: Duration
    public let state: HTTPState
    public let metrics: NodeMetrics
    public let logger: Logger

    public func run() async throws {
        var failing = false
        var schemaChecked = false
        var lastHistory = ContinuousClock.now.advanced(by: .seconds(-3600))
        // The lease's (epoch, holder) when the history was last read, and as the last status read showed it.
        var historyLease: String?
        var seenLease: String?
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            // The timeline's holders change only with the lease's epoch or holder (the current epoch is drawn up
            // to now): read them when those changed, and every minute in case a change was missed.
            if seenLease != historyLease || lastHistory.duration(to: .now) >= .seconds(60) {
                lastHistory = .now
                do throws(PGError) {
                    state.setHistory(
                        try await admin.history(cluster: cluster, within: .seconds(Int64(HTTPState.window)))
                    )
                    historyLease = seenLease
                } catch {
                    logger.debug("status page: cannot read the history", metadata: ["error": "\(error.description)"])
                }
            }
            do throws(PGError) {
                // The schema's version on the first read and after a failure, not every period.
                let status = try await admin.status(
                    cluster: cluster,
                    eventLimit: 10,
                    timeout: timeout,
                    checkingSchema: !schemaChecked || failing
                )
                schemaChecked = true
                seenLease = "\(status.epoch) \(status.activeNode ?? "-")"
                state.setCluster(status)
                metrics.observe(cluster: status, node: node, timeout: timeout, readAge: 0)
                if failing {
                    logger.info("status page: cluster read works again")
                    failing = false
                }
            } catch {
                state.setClusterError(error.description)
                if !failing {
                    logger.warning(
                        "status page: cannot read the cluster status",
                        metadata: ["error": "\(error.description)"]
                    )
                    failing = true
                }
            }
            try? await cancelWhenGracefulShutdown {
                try await Task.sleep(for: period)
            }
        }
    }
}
