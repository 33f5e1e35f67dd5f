import FailoverController
import Heartbeat
import Logging
import ServiceLifecycle

/// Reads the cluster's status from the database every `period` for `/status`, `/metrics` and the page,
/// so HTTP traffic never reaches the database. Uses the node's shared connection, never the heartbeat's, and
/// only while someone looks: a request within `interest` (issue 16: an unwatched node keeps two connections).
public struct HTTPClusterReader: Service {
    public let admin: ClusterAdmin
    public let cluster: String
    public let node: String
    public let timeout: Duration
    public let period: Duration
    public let state: HTTPState
    public let metrics: NodeMetrics
    public let logger: Logger
    /// How long after the last request for the status the reader goes on reading. Defaults to 2 minutes (longer
    /// than a Prometheus scrape interval).
    public var interest: Duration = .seconds(120)

    public func run() async throws {
        var failing = false
        var schemaChecked = false
        var lastHistory = ContinuousClock.now.advanced(by: .seconds(-3600))
        // The lease's (epoch, holder) when the history was last read, and as the last status read showed it.
        var historyLease: String?
        var seenLease: String?
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            let asked = state.lastRequestAt
            guard let asked, asked.duration(to: .now) <= interest else {
                // Nobody looks: no read, no wake-up, until a request comes (or the daemon stops).
                await cancelWhenGracefulShutdown { await state.nextRequest(after: asked) }
                continue
            }
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
