import FailoverController
import FoundationEssentials
import Heartbeat
import HotStandbyConfig
import HotStandbyCore
import Logging
import ServiceLifecycle

/// What an operator's tools talk to: HTTP health/status/metrics, sd_notify. Fed by the run loop's status.
public struct OperatorSurface {
    /// Called by the run loop after every input.
    public var onStatus: @Sendable (NodeStatus) -> Void
    /// Services to run beside the loop (the HTTP server and its cluster reader).
    public var services: [any Service]

    /// `failsafe`: how beats are checked and where they go (issue 18), nil when the failsafe is off.
    public init(
        config: Config,
        version: String,
        logger: Logger,
        failsafe: (wire: FailsafeWire, inbox: FailsafeInbox)? = nil,
        shared: ConnectionSlot? = nil
    ) {
        let metrics = NodeMetrics(cluster: config.cluster, node: config.node, version: version)
        let state = HTTPState()
        let notify = SystemdNotify()
        onStatus = { status in
            let previous = state.setStatus(status)
            metrics.observe(status, previous: previous)
            notify?.update(status)
        }
        guard config.http.enabled else {
            services = []
            return
        }
        var token: String?
        if let path = config.http.tokenFile {
            token = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingWhitespace()
        }
        var server = HTTPServer(config: config, state: state, metrics: metrics, token: token, logger: logger)
        server.failsafe = failsafe
        server.shared = shared
        let reader = HTTPClusterReader(
            admin: ClusterAdmin(database: config.database, slot: shared),
            cluster: config.cluster,
            node: config.node,
            timeout: config.failover.timeout,
            period: max(config.failover.interval, Duration.seconds(1)),
            state: state,
            metrics: metrics,
            logger: logger
        )
        services = [server.application(host: config.http.host, port: config.http.port), reader]
    }
}
