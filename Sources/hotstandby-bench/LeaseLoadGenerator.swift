import FailoverController
import Foundation
import Heartbeat

/// The lease's load on PostgreSQL, generated with the protocol's exact statements (`SQL.renew` and
/// `SQL.observe`) over a few persistent connections, for `hotstandby bench-load` and `bench/lease-load`.
///
/// Each simulated cluster has an active node (`1`) and one standby (`2`). Per cluster per interval the
/// generator sends one renew (the active's, with its node row folded in by a CTE) and one observe (the
/// standby's, likewise): two statements. The 2·N statements of an interval are spread evenly over it
/// and dealt round-robin to K connections; each connection has one statement in flight at a time, as
/// a node's heartbeat connection does.
///
/// Clusters are named by number from `LeaseLoadGenerator.firstCluster` (`900000001`, …) so that
/// `pgbench` scripts, whose variables are numbers, can address the same rows. Run it against a
/// throwaway database: `prepare()` creates the schema and resets those clusters' rows.
public struct LeaseLoadGenerator: Sendable {
    /// What to generate.
    public struct Settings: Sendable {
        /// A libpq connection string (a password is better given by `PGPASSWORD` or `.pgpass`).
        public var conninfo: String
        /// How many clusters (N), each with an active and a standby.
        public var clusters: Int
        /// The heartbeat interval: each cluster renews and observes once per interval.
        public var interval: Duration
        /// How long to generate load.
        public var duration: Duration
        /// How many persistent connections (K) carry the statements.
        public var connections: Int
        /// Each statement's deadline. Defaults to the daemon's: 80 % of the interval, at most 5 s.
        public var callTimeout: Duration
        /// The observe's `$8` (how recent a standby row must be to rank): the takeover timeout.
        public var standbyWindow: Duration

        /// Creates settings.
        public init(
            conninfo: String,
            clusters: Int,
            interval: Duration = .seconds(1),
            duration: Duration = .seconds(20),
            connections: Int = 8,
            callTimeout: Duration? = nil,
            standbyWindow: Duration = .seconds(60)
        ) {
            self.conninfo = conninfo
            self.clusters = clusters
            self.interval = interval
            self.duration = duration
            self.connections = connections
            self.callTimeout = callTimeout ?? min(max(interval * 0.8, .milliseconds(100)), .seconds(5))
            self.standbyWindow = standbyWindow
        }

        /// What is wrong with the settings, one sentence per problem naming the option and its value.
        public func problems() -> [String] {
            var problems: [String] = []
            if !(1...1_000_000).contains(clusters) {
                problems.append("--clusters: \(clusters) must be between 1 and 1000000")
            }
            if !(1...1000).contains(connections) {
                problems.append("--connections: \(connections) must be between 1 and 1000")
            }
            if interval < .milliseconds(10) { problems.append("--interval: \(interval.text) must be at least 10ms") }
            if duration < interval {
                problems.append("--duration: \(duration.text) must be at least one interval (\(interval.text))")
            }
            if callTimeout <= .zero { problems.append("--call-timeout: \(callTimeout.text) must be positive") }
            return problems
        }
    }

    /// What one run achieved. Latencies in milliseconds; a renew's latency is its round trip.
    public struct Report: Sendable, Codable, Equatable {
        /// Clusters simulated (N).
        public var clusters: Int
        /// Interval in seconds.
        public var intervalSeconds: Double
        /// Persistent connections (K).
        public var connections: Int
        /// Statements per cluster per interval: 2 (one renew, one observe).
        public var statementsPerClusterPerInterval: Int
        /// Wall time from the first slot to the last answer.
        public var elapsedSeconds: Double
        /// Statements answered without error.
        public var statements: Int
        /// Statements that failed or ran past their deadline.
        public var failures: Int
        /// Answered statements per second.
        public var statementsPerSecond: Double
        /// The statements per second the schedule asked for (2·N / interval).
        public var targetStatementsPerSecond: Double
        /// Renew round trip, median.
        public var renewP50Ms: Double
        /// Renew round trip, 99th percentile.
        public var renewP99Ms: Double
        /// Renew round trip, maximum.
        public var renewMaxMs: Double
        /// Observe round trip, median.
        public var observeP50Ms: Double
        /// Observe round trip, 99th percentile.
        public var observeP99Ms: Double
        /// How late statements were sent after their slot (client-side queueing), 99th percentile.
        public var sendLagP99Ms: Double
        /// Renews scheduled in the run.
        public var renewsScheduled: Int
        /// Renews not answered within one interval of their slot (late, failed, deposed or never sent).
        public var missedIntervals: Int
    }

    /// The number before the first benchmark cluster's name (cluster i is `firstCluster + i`, i from 1).
    public static let firstCluster = 900_000_000
    /// The active node's name in every benchmark cluster.
    public static let activeNode = "1"
    /// The standby node's name in every benchmark cluster.
    public static let standbyNode = "2"

    private let settings: Settings

    /// Creates a generator.
    public init(settings: Settings) {
        self.settings = settings
    }

    /// `SQL.renew`'s parameters for the active node: cluster, epoch 1, node, priority, address, version.
    static func renewParameters(cluster: String) -> [String] {
        [cluster, "1", activeNode, "100", "127.0.0.1", "bench"]
    }

    /// `SQL.observe`'s parameters for the standby node, as `PostgresLeaseStore` sends them.
    static func observeParameters(cluster: String, standbyWindow: String) -> [String] {
        [cluster, standbyNode, "standby", "standing by", "100", "127.0.0.1", "bench", standbyWindow]
    }

    /// The two statements as `pgbench` custom scripts (`-M extended`), for the ceiling beside this generator:
    /// the exact SQL text, with the cluster drawn at random among the N benchmark clusters (`:c`, sent as a
    /// bound parameter) and the other parameters, constant per node, as quoted literals.
    /// - Returns: file name and text, for the renew and for the observe.
    public func pgbenchScripts() -> [(name: String, text: String)] {
        let draw = "\\set c random(\(Self.firstCluster + 1), \(Self.firstCluster + settings.clusters))\n"
        func script(_ sql: String, _ parameters: [String]) -> String {
            var text = sql
            // Highest first, so `$1` does not eat the start of `$10`.
            for (index, value) in parameters.enumerated().reversed() {
                let replacement = index == 0 ? ":c" : "'" + value.replacingOccurrences(of: "'", with: "''") + "'"
                text = text.replacingOccurrences(of: "$\(index + 1)", with: replacement)
            }
            return draw + text + ";\n"
        }
        return [
            ("renew.sql", script(SQL.renew, Self.renewParameters(cluster: ""))),
            (
                "observe.sql",
                script(
                    SQL.observe,
                    Self.observeParameters(cluster: "", standbyWindow: intervalText(settings.standbyWindow))
                )
            ),
        ]
    }

    /// Creates the schema if missing and resets the benchmark clusters: each held by node `1` in epoch 1,
    /// with rows for both nodes. Not the protocol's statements: set-up only.
    public func prepare() async throws(PGError) {
        let database = DatabaseSettings(
            conninfo: settings.conninfo,
            callTimeout: .seconds(30),
            applicationName: "hotstandby-bench"
        )
        _ = try await ClusterAdmin(database: database).migrate()
        let conn = try await PGConnection.connect(
            conninfo: settings.conninfo,
            timeout: .seconds(10),
            applicationName: "hotstandby-bench"
        )
        let first = String(Self.firstCluster + 1)
        let last = String(Self.firstCluster + settings.clusters)
        _ = try await conn.query(
            """
            INSERT INTO hotstandby_cluster (cluster, epoch, active_node, counter, paused, updated_at)
            SELECT g::text, 1, $3, 0, false, now() FROM generate_series($1::bigint, $2::bigint) g
            ON CONFLICT (cluster) DO UPDATE
               SET epoch = 1, active_node = $3, counter = 0, paused = false, handover_to = NULL, updated_at = now()
            """,
            [first, last, Self.activeNode],
            timeout: .seconds(120)
        )
        _ = try await conn.query(
            """
            INSERT INTO hotstandby_node (cluster, node, role, note, priority, address, version, counter, updated_at)
            SELECT g::text, n.node, n.role, '', 100, '127.0.0.1', 'bench', NULL, now()
              FROM generate_series($1::bigint, $2::bigint) g,
                   (VALUES ($3, 'active'), ($4, 'standby')) AS n(node, role)
            ON CONFLICT (cluster, node) DO UPDATE SET role = EXCLUDED.role, updated_at = now()
            """,
            [first, last, Self.activeNode, Self.standbyNode],
            timeout: .seconds(120)
        )
        _ = try await conn.query("VACUUM ANALYZE hotstandby_cluster", timeout: .seconds(120))
        _ = try await conn.query("VACUUM ANALYZE hotstandby_node", timeout: .seconds(120))
    }

    /// Generates the load for `settings.duration` and reports what was achieved.
    /// Throws only when the connections cannot be opened; failures during the run are counted.
    public func run() async throws(PGError) -> Report {
        let settings = self.settings
        var connections: [PGConnection] = []
        for _ in 0..<settings.connections {
            connections.append(
                try await PGConnection.connect(
                    conninfo: settings.conninfo,
                    timeout: .seconds(10),
                    applicationName: "hotstandby-bench"
                )
            )
        }
        let slotsPerInterval = 2 * settings.clusters
        let intervals = Int((settings.duration.secondsValue / settings.interval.secondsValue).rounded(.down))
        let plan = Plan(
            start: ContinuousClock.now + .milliseconds(100),
            interval: settings.interval,
            slotsPerInterval: slotsPerInterval,
            totalSlots: slotsPerInterval * max(intervals, 1),
            connections: settings.connections
        )
        let tallies = await withTaskGroup(of: Tally.self) { group in
            for (index, connection) in connections.enumerated() {
                group.addTask {
                    await Worker(settings: settings, plan: plan, index: index, connection: connection).run()
                }
            }
            var all: [Tally] = []
            for await tally in group { all.append(tally) }
            return all
        }
        var total = Tally()
        for tally in tallies { total.merge(tally) }
        let elapsed = plan.start.duration(to: total.lastAnswer ?? .now).secondsValue
        total.renewLatencies.sort()
        total.observeLatencies.sort()
        total.lags.sort()
        return Report(
            clusters: settings.clusters,
            intervalSeconds: settings.interval.secondsValue,
            connections: settings.connections,
            statementsPerClusterPerInterval: 2,
            elapsedSeconds: elapsed,
            statements: total.answered,
            failures: total.failures,
            statementsPerSecond: elapsed > 0 ? Double(total.answered) / elapsed : 0,
            targetStatementsPerSecond: Double(slotsPerInterval) / settings.interval.secondsValue,
            renewP50Ms: percentile(total.renewLatencies, 0.50),
            renewP99Ms: percentile(total.renewLatencies, 0.99),
            renewMaxMs: total.renewLatencies.last ?? 0,
            observeP50Ms: percentile(total.observeLatencies, 0.50),
            observeP99Ms: percentile(total.observeLatencies, 0.99),
            sendLagP99Ms: percentile(total.lags, 0.99),
            renewsScheduled: plan.totalSlots / 2,
            missedIntervals: total.missed
        )
    }
}

/// When each statement is due: slot `g` (global, from 0) is cluster `(g mod 2N) / 2`, a renew when
/// even and an observe when odd, due at `start + g · interval / 2N`, carried by connection `g mod K`.
private struct Plan: Sendable {
    var start: ContinuousClock.Instant
    var interval: Duration
    var slotsPerInterval: Int
    var totalSlots: Int
    var connections: Int

    func due(_ slot: Int) -> ContinuousClock.Instant {
        let interval = slot / slotsPerInterval
        let within = slot % slotsPerInterval
        return start + self.interval * interval + self.interval * (Double(within) / Double(slotsPerInterval))
    }

    var end: ContinuousClock.Instant { due(totalSlots) }
}

/// One connection's results (latencies in milliseconds).
private struct Tally: Sendable {
    var renewLatencies: [Double] = []
    var observeLatencies: [Double] = []
    var lags: [Double] = []
    var answered = 0
    var failures = 0
    var missed = 0
    var lastAnswer: ContinuousClock.Instant?

    mutating func merge(_ other: Tally) {
        renewLatencies += other.renewLatencies
        observeLatencies += other.observeLatencies
        lags += other.lags
        answered += other.answered
        failures += other.failures
        missed += other.missed
        if let last = other.lastAnswer { lastAnswer = max(lastAnswer ?? last, last) }
    }
}

/// Sends one connection's share of the slots, in order, one statement in flight.
private struct Worker: Sendable {
    var settings: LeaseLoadGenerator.Settings
    var plan: Plan
    var index: Int
    var connection: PGConnection

    func run() async -> Tally {
        var tally = Tally()
        var connection = self.connection
        let standbyWindow = intervalText(settings.standbyWindow)
        // Past this, a backlog is abandoned: the run has shown the database cannot keep up.
        let giveUp = plan.end + settings.interval
        var slot = index
        while slot < plan.totalSlots {
            defer { slot += plan.connections }
            let due = plan.due(slot)
            let isRenew = slot % 2 == 0
            let now = ContinuousClock.now
            if now > giveUp {
                if isRenew { tally.missed += 1 }
                continue
            }
            if due > now + .microseconds(200) {
                try? await Task.sleep(until: due, clock: .continuous)
            }
            let cluster = String(LeaseLoadGenerator.firstCluster + 1 + (slot % plan.slotsPerInterval) / 2)
            if connection.isBroken {
                guard
                    let fresh = try? await PGConnection.connect(
                        conninfo: settings.conninfo,
                        timeout: settings.callTimeout,
                        applicationName: "hotstandby-bench"
                    )
                else {
                    tally.failures += 1
                    if isRenew { tally.missed += 1 }
                    continue
                }
                connection = fresh
            }
            let sent = ContinuousClock.now
            let outcome: Result<PGRows, PGError>
            do throws(PGError) {
                if isRenew {
                    outcome = .success(
                        try await connection.query(
                            SQL.renew,
                            LeaseLoadGenerator.renewParameters(cluster: cluster),
                            timeout: settings.callTimeout
                        )
                    )
                } else {
                    outcome = .success(
                        try await connection.query(
                            SQL.observe,
                            LeaseLoadGenerator.observeParameters(cluster: cluster, standbyWindow: standbyWindow),
                            timeout: settings.callTimeout
                        )
                    )
                }
            } catch {
                outcome = .failure(error)
            }
            let answered = ContinuousClock.now
            tally.lastAnswer = answered
            tally.lags.append(milliseconds(due.duration(to: sent)))
            switch outcome {
            case .success(let rows):
                tally.answered += 1
                let latency = milliseconds(sent.duration(to: answered))
                if isRenew {
                    tally.renewLatencies.append(latency)
                    // No row back means the fence refused the renew: the set-up is wrong or someone else holds it.
                    if rows.rows.count != 1 || due.duration(to: answered) > settings.interval { tally.missed += 1 }
                } else {
                    tally.observeLatencies.append(latency)
                }
            case .failure:
                tally.failures += 1
                if isRenew { tally.missed += 1 }
            }
        }
        return tally
    }
}

private func milliseconds(_ duration: Duration) -> Double {
    duration.secondsValue * 1000
}

/// Nearest-rank percentile of sorted values (0 when empty).
private func percentile(_ sorted: [Double], _ fraction: Double) -> Double {
    guard !sorted.isEmpty else { return 0 }
    let rank = Int((fraction * Double(sorted.count)).rounded(.up))
    return sorted[min(max(rank, 1), sorted.count) - 1]
}
