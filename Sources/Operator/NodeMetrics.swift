import FailoverController
import Heartbeat
import Metrics
import Prometheus
import Synchronization

/// The node's Prometheus metrics, served at `/metrics`.
///
/// The registry also backs swift-metrics (`MetricsSystem` is bootstrapped with it once per process), so
/// `Counter`/`Timer` values recorded by the other modules appear on the same page.
public final class NodeMetrics: Sendable {
    /// The registry every metric of this process lives in.
    public let registry: PrometheusCollectorRegistry
    private let roles: [NodeRole: Prometheus.Gauge]
    private let epoch: Prometheus.Gauge
    private let leaseCallAge: Prometheus.Gauge
    private let takeovers: Prometheus.Counter
    private let demotions: Prometheus.Counter
    private let standbysSeen: Prometheus.Gauge
    private let leaseAge: Prometheus.Gauge
    private let paused: Prometheus.Gauge
    private let clusterReadAge: Prometheus.Gauge
    private let info: Prometheus.Gauge
    private let serviceHealthy: Prometheus.Gauge
    private let eligible: Prometheus.Gauge
    private let failsafe: Prometheus.Gauge

    private static let bootstrapped = Mutex(false)

    /// Creates the metrics; bootstraps `MetricsSystem` with the same registry the first time only.
    public init(cluster: String, node: String, version: String) {
        let registry = PrometheusCollectorRegistry()
        self.registry = registry
        Self.bootstrapped.withLock { done in
            guard !done else { return }
            done = true
            MetricsSystem.bootstrap(HelpfulMetricsFactory(PrometheusMetricsFactory(registry: registry)))
        }
        let labels = [("cluster", cluster), ("node", node)]
        var roles: [NodeRole: Prometheus.Gauge] = [:]
        for role in NodeRole.allCases {
            roles[role] = Self.gauge(
                registry,
                "role",
                labels + [("role", role.rawValue)],
                "1 for the role this node is in now, 0 for the others."
            )
        }
        self.roles = roles
        epoch = Self.gauge(registry, "epoch", labels, "The epoch (fencing token) this node holds or last saw.")
        leaseCallAge = Self.gauge(
            registry,
            "last_lease_success_age_seconds",
            labels,
            "Seconds since this node's last successful lease call (renew or read); the heartbeat age."
        )
        takeovers = Self.counter(
            registry,
            "takeovers",
            labels,
            "Times this node became active since it started (takeover or switchover)."
        )
        demotions = Self.counter(
            registry,
            "demotions",
            labels,
            "Times this node stopped being active since it started."
        )
        standbysSeen = Self.gauge(
            registry,
            "standbys_seen",
            labels,
            "Other nodes whose row was refreshed within the timeout (from the last cluster read)."
        )
        leaseAge = Self.gauge(
            registry,
            "lease_age_seconds",
            labels,
            "Seconds since the lease row last changed, database clock (from the last cluster read)."
        )
        paused = Self.gauge(registry, "paused", labels, "1 while an operator paused the cluster.")
        clusterReadAge = Self.gauge(
            registry,
            "cluster_read_age_seconds",
            labels,
            "Seconds since the HTTP surface last read the cluster status from the database."
        )
        info = Self.gauge(registry, "info", labels + [("version", version)], "Always 1; carries the version.")
        info.set(to: 1)
        serviceHealthy = Self.gauge(
            registry,
            "service_healthy",
            labels,
            "1 while this node's service (on the active) or readiness (on a standby) is not failed, 0 when it is."
        )
        eligible = Self.gauge(
            registry,
            "node_eligible",
            labels,
            "1 while this node may take over or be handed the lease, 0 when it may not."
        )
        failsafe = Self.gauge(
            registry,
            "failsafe_active",
            labels,
            "1 while this node is active on failsafe rounds (its renews fail; its members acknowledge it), else 0."
        )
    }

    /// Records the node's status; `previous` is the role of the status before it, for the counters.
    public func observe(_ status: NodeStatus, previous: NodeRole?) {
        for (role, gauge) in roles { gauge.set(to: role == status.role ? 1 : 0) }
        epoch.set(to: Double(status.epoch))
        leaseCallAge.set(to: status.secondsSinceLastSuccess)
        serviceHealthy.set(to: status.checkFailed ? 0 : 1)
        eligible.set(to: status.eligible ? 1 : 0)
        failsafe.set(to: status.failsafe == nil ? 0 : 1)
        if status.role == .active && previous != .active { takeovers.increment() }
        if previous == .active && status.role != .active { demotions.increment() }
    }

    /// Records what the last cluster read showed.
    public func observe(cluster: ClusterStatus, node: String, timeout: Duration, readAge: Double) {
        let fresh = cluster.nodes.filter { $0.node != node && $0.lastSeenSeconds <= timeout.secondsValue }
        standbysSeen.set(to: Double(fresh.count))
        leaseAge.set(to: cluster.leaseAgeSeconds)
        paused.set(to: cluster.paused ? 1 : 0)
        clusterReadAge.set(to: readAge)
    }

    /// Sets how old the last successful cluster read is (called when serving `/metrics`).
    public func setClusterReadAge(_ seconds: Double) { clusterReadAge.set(to: seconds) }

    private static func gauge(
        _ registry: PrometheusCollectorRegistry,
        _ name: String,
        _ labels: [(String, String)],
        _ help: String
    ) -> Prometheus.Gauge {
        registry.makeGauge(
            descriptor: .init(namespace: "hotstandby", metricName: name, unitName: "", helpText: help),
            labels: labels
        )
    }

    private static func counter(
        _ registry: PrometheusCollectorRegistry,
        _ name: String,
        _ labels: [(String, String)],
        _ help: String
    ) -> Prometheus.Counter {
        registry.makeCounter(
            descriptor: .init(namespace: "hotstandby", metricName: name, unitName: "total", helpText: help),
            labels: labels
        )
    }

    /// The Prometheus text exposition of every metric of the process.
    public func text() -> String { registry.emitToString() }
}

/// The swift-metrics factory `/metrics` is backed by: `PrometheusMetricsFactory` registers every metric with an
/// empty help text (no `# HELP` line, which `promtool check metrics` reports), so the metrics the other modules
/// record through swift-metrics get their help text here, by label. The registry refuses two help texts for one
/// name, so each name is registered only through this factory.
public struct HelpfulMetricsFactory: MetricsFactory {
    public static let helpTexts: [String: String] = [
        "hotstandby_lease_call_seconds":
            "Duration of each lease call (renew, read, takeover, ...) against PostgreSQL, by call and outcome.",
        "hotstandby_health_check_seconds":
            "Duration of each health check run, by check (active or standby) and outcome.",
        "hotstandby_action_seconds":
            "Duration of each promote or demote step (address, DNS, hooks, ...), by step, phase and outcome.",
        "hotstandby_snapshot_age_seconds": "Seconds since the shared folder's newest snapshot was written.",
        "hotstandby_failsafe_beats_refused_total":
            "Failsafe beats this node refused, by reason (signature, malformed, cluster, state).",
        "hotstandby_snapshot_cache_age_seconds":
            "Seconds since the local copy of the shared folder's snapshot was refreshed.",
    ]

    private let inner: PrometheusMetricsFactory

    public init(_ inner: PrometheusMetricsFactory) { self.inner = inner }

    /// The label as the whole metric name, with its help text.
    private func descriptor(_ label: String) -> MetricNameDescriptor {
        MetricNameDescriptor(
            metricName: label,
            unitName: "",
            helpText: Self.helpTexts[label] ?? "\(label) (recorded through swift-metrics)."
        )
    }

    public func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        inner.registry.makeCounter(descriptor: descriptor(label), labels: dimensions)
    }

    public func makeFloatingPointCounter(label: String, dimensions: [(String, String)])
        -> any FloatingPointCounterHandler
    {
        inner.registry.makeCounter(descriptor: descriptor(label), labels: dimensions)
    }

    public func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        guard aggregate else { return inner.registry.makeGauge(descriptor: descriptor(label), labels: dimensions) }
        let buckets = inner.valueHistogramBuckets[label] ?? inner.defaultValueHistogramBuckets
        return inner.registry.makeValueHistogram(descriptor: descriptor(label), labels: dimensions, buckets: buckets)
    }

    public func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler {
        inner.registry.makeGauge(descriptor: descriptor(label), labels: dimensions)
    }

    public func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        let buckets = inner.durationHistogramBuckets[label] ?? inner.defaultDurationHistogramBuckets
        return inner.registry.makeDurationHistogram(descriptor: descriptor(label), labels: dimensions, buckets: buckets)
    }

    public func destroyCounter(_ handler: any CounterHandler) { inner.destroyCounter(handler) }
    public func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) {
        inner.destroyFloatingPointCounter(handler)
    }
    public func destroyRecorder(_ handler: any RecorderHandler) { inner.destroyRecorder(handler) }
    public func destroyMeter(_ handler: any MeterHandler) { inner.destroyMeter(handler) }
    public func destroyTimer(_ handler: any TimerHandler) { inner.destroyTimer(handler) }
}
