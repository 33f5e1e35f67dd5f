import FailoverController
import Foundation
import Heartbeat

/// The lease's load on PostgreSQL, generated with the protocol's exact statements (`SQL.renew`, `SQL.observe`
/// and `SQL.observeRead`) over a few persistent connections, for `hotstandby-bench load` and `bench/lease-load`.
///
/// Each simulated cluster has an active node (`1`) and S standbys (`2`, `3`, …). Per cluster per interval the
/// generator sends one renew (the active's, with its node row folded in by a CTE) and one read per standby; as
/// the daemon does (issue 16), a standby's read writes its row every other read (`SQL.observe`) and is a pure
/// `SELECT` in between (`SQL.observeRead`), half the clusters writing in even intervals and half in odd ones.
/// The (1 + S)·N statements of an interval are spread evenly over it and dealt round-robin to K connections;
/// each connection has one statement in flight at a time, as a node's heartbeat connection does.
///
/// Clusters are named by number from `LeaseLoadGenerator.firstCluster` (`900000001`, …) so that
/// `pgbench` scripts, whose variables are numbers, can address the same rows. Run it against a
/// throwaway database: `prepare()` creates the schema and resets those clusters' rows.
public struct LeaseLoadGenerator: Sendable {
    /// What to generate.
    public struct Settings: Sendable {
        /// A libpq connection string (a password is better given by `PGPASSWORD` or `.pgpass`).
        public var conninfo: String
        /// How many clusters (N), each with an active and `standbys` standbys.
        public var clusters: Int
        /// Standbys per cluster (S). Defaults to 1 (a two-node cluster).
        public var standbys: Int
        /// The heartbeat interval: each cluster renews and observes once per interval.
        public var interval: Duration
        /// How long to generate load.
        public var duration: Duration
        /// How many persistent connections (K) carry the statements.
        public var connections: Int
        /// Each statement's deadline. Defaults to the daemon's: 80 % of the interval, at most 5 s.
        public var callTimeout: Duration
        /// The reads' rank window and the renew's `$12` (how recent a row must be to count): the takeover timeout.
        public var standbyWindow: Duration
        /// Send the statements unnamed, planned afresh each time, as the daemon did before issue 16's prepared
        /// heartbeat (and does through a transaction-mode pooler).
        public var unprepared: Bool

        /// The renew's `$9`, the step-down target window, as the daemon computes it: three intervals and a half
        /// second.
        public var targetWindow: Duration { interval * 3 + .milliseconds(500) }

        /// Creates settings.
        public init(
            conninfo: String,
            clusters: Int,
            standbys: Int = 1,
            interval: Duration = .seconds(1),
            duration: Duration = .seconds(20),
            connections: Int = 8,
            callTimeout: Duration? = nil,
            standbyWindow: Duration = .seconds(60),
            unprepared: Bool = false
        ) {
            self.unprepared = unprepared
            self.conninfo = conninfo
            self.clusters = clusters
            self.standbys = standbys
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
            if !(1...9).contains(standbys) { problems.append("--standbys: \(standbys) must be between 1 and 9") }
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
        /// Standbys per cluster (S).
        public var standbys: Int
        /// Statements per cluster per interval: 1 + S (one renew, one read per standby).
        public var statementsPerClusterPerInterval: Int
        /// Wall time from the first slot to the last answer.
        public var elapsedSeconds: Double
        /// Statements answered without error.
        public var statements: Int
        /// Statements that failed or ran past their deadline.
        public var failures: Int
        /// Answered statements per second.
        public var statementsPerSecond: Double
        /// Standbys' reads answered that wrote their row (`SQL.observe`).
        public var observeWrites: Int
        /// Standbys' reads answered that only read (`SQL.observeRead`).
        public var observeReads: Int
        /// The statements per second the schedule asked for ((1 + S)·N / interval).
        public var targetStatementsPerSecond: Double
        /// Renew round trip, median.
        public var renewP50Ms: Double
        /// Renew round trip, 99th percentile.
        public var renewP99Ms: Double
        /// Renew round trip, maximum.
        public var renewMaxMs: Double
        /// A standby's read round trip (either statement), median.
        public var observeP50Ms: Double
        /// A standby's read round trip (either statement), 99th percentile.
        public var observeP99Ms: Double
        /// How late statements were sent after their slot (client-side queueing), 99th percentile.
        public var sendLagP99Ms: Double
        /// Renews scheduled in the run.
        public var renewsScheduled: Int
        /// Renews not answered within one interval of their slot (late, failed, deposed or never sent).
        public var missedIntervals: Int
        /// Of the K connections, how many still sent the statements prepared at the end (0 through a
        /// transaction-mode pooler, which refuses them, and with `--unprepared`).
        public var preparedConnections: Int
    }

    /// The number before the first benchmark cluster's name (cluster i is `firstCluster + i`, i from 1).
    public static let firstCluster = 900_000_000
    /// The active node's name in every benchmark cluster.
    public static let activeNode = "1"
    /// The standby `k`'s name (k from 1) in every benchmark cluster: `2`, `3`, ….
    public static func standbyNode(_ k: Int) -> String { String(1 + k) }
    /// The standby's note, constant (the daemon's changes with the counter; the row is written either way).
    static let standbyNote = "watching"

    private let settings: Settings

    /// Creates a generator.
    public init(settings: Settings) {
        self.settings = settings
    }

    /// `SQL.renew`'s parameters ($1–$12) for the active node, as `PostgresLeaseStore` sends them: cluster,
    /// epoch 1, node, priority, address, version, eligible, health, target window, no preferred node, no
    /// advertise address, rank window.
    static func renewParameters(cluster: String, settings: Settings) -> [String?] {
        [
            cluster, "1", activeNode, "100", "127.0.0.1", "bench", "true", "unchecked",
            intervalText(settings.targetWindow), "", nil, intervalText(settings.standbyWindow),
        ]
    }

    /// `SQL.observe`'s parameters ($1–$11) for a standby, as `PostgresLeaseStore` sends them.
    static func observeParameters(cluster: String, node: String, settings: Settings) -> [String?] {
        [
            cluster, node, "standby", standbyNote, "100", "127.0.0.1", "bench", intervalText(settings.standbyWindow),
            "true", "unchecked", nil,
        ]
    }

    /// `SQL.observeRead`'s parameters ($1–$4) for a standby, as `PostgresLeaseStore` sends them.
    static func observeReadParameters(cluster: String, node: String, settings: Settings) -> [String?] {
        [cluster, node, "100", intervalText(settings.standbyWindow)]
    }

    /// The three statements as `pgbench` custom scripts (`-M extended`), for the ceiling beside this generator:
    /// the exact SQL text, with the cluster drawn at random among the N benchmark clusters (`:c`) and the standby
    /// among the S (`:s`), both sent as bound parameters, and the other parameters, constant per node, as quoted
    /// literals (`NULL` for none). The weights give the generator's mix: per cluster per interval one renew and
    /// S reads, half of them writing.
    /// - Returns: file name, text and `pgbench -f` weight of the renew, the writing read and the pure read.
    public func pgbenchScripts() -> [(name: String, text: String, weight: Int)] {
        let first = Self.firstCluster + 1
        let draw = "\\set c random(\(first), \(Self.firstCluster + settings.clusters))\n"
        let drawStandby = draw + "\\set s random(2, \(1 + settings.standbys))\n"
        func script(_ head: String, _ sql: String, _ parameters: [String?]) -> String {
            var text = sql
            // Highest first, so `$1` does not eat the start of `$10`.
            for (index, value) in parameters.enumerated().reversed() {
                let token: String
                switch (index, value) {
                case (0, _): token = ":c"
                case (1, "s"): token = ":s"
                case (_, nil): token = "NULL"
                case (_, let text?): token = "'" + text.replacingOccurrences(of: "'", with: "''") + "'"
                }
                text = text.replacingOccurrences(of: "$\(index + 1)", with: token)
            }
            return head + text + ";\n"
        }
        return [
            ("renew.sql", script(draw, SQL.renew, Self.renewParameters(cluster: "", settings: settings)), 2),
            (
                "observe.sql",
                script(drawStandby, SQL.observe, Self.observeParameters(cluster: "", node: "s", settings: settings)),
                settings.standbys
            ),
            (
                "observe-read.sql",
                script(
                    drawStandby,
                    SQL.observeRead,
                    Self.observeReadParameters(cluster: "", node: "s", settings: settings)
                ),
                settings.standbys
            ),
        ]
    }

    /// Creates the schema if missing and resets the benchmark clusters: each held by node `1` in epoch 1,
    /// with rows for all 1 + S nodes (eligible standbys). Not the protocol's statements: set-up only.
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
            INSERT INTO hotstandby_node (cluster, node, role, note, priority, address, version, counter, updated_at,
                                         eligible, health)
            SELECT g::text, n::text, CASE WHEN n = 1 THEN 'active' ELSE 'standby' END, '', 100, '127.0.0.1', 'bench',
                   NULL, now(), true, 'unchecked'
              FROM generate_series($1::bigint, $2::bigint) g, generate_series(1, 1 + $3::integer) n
            ON CONFLICT (cluster, node) DO UPDATE SET role = EXCLUDED.role, updated_at = now()
            """,
            [first, last, String(settings.standbys)],
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
        let slotsPerInterval = (1 + settings.standbys) * settings.clusters
        let intervals = Int((settings.duration.secondsValue / settings.interval.secondsValue).rounded(.down))
        let plan = Plan(
            start: ContinuousClock.now + .milliseconds(100),
            interval: settings.interval,
            slotsPerInterval: slotsPerInterval,
            nodes: 1 + settings.standbys,
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
        let nodes = 1 + settings.standbys
        let rate: Double = elapsed > 0 ? Double(total.answered) / elapsed : 0
        let target: Double = Double(slotsPerInterval) / settings.interval.secondsValue
        let renews: Int = plan.totalSlots / nodes
        return Report(
            clusters: settings.clusters,
            intervalSeconds: settings.interval.secondsValue,
            connections: settings.connections,
            standbys: settings.standbys,
            statementsPerClusterPerInterval: nodes,
            elapsedSeconds: elapsed,
            statements: total.answered,
            failures: total.failures,
            statementsPerSecond: rate,
            observeWrites: total.observeWrites,
            observeReads: total.observeReads,
            targetStatementsPerSecond: target,
            renewP50Ms: percentile(total.renewLatencies, 0.50),
            renewP99Ms: percentile(total.renewLatencies, 0.99),
            renewMaxMs: total.renewLatencies.last ?? 0,
            observeP50Ms: percentile(total.observeLatencies, 0.50),
            observeP99Ms: percentile(total.observeLatencies, 0.99),
            sendLagP99Ms: percentile(total.lags, 0.99),
            renewsScheduled: renews,
            missedIntervals: total.missed,
            preparedConnections: total.preparedConnections
        )
    }
}
