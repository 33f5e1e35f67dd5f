import Heartbeat

/// When each statement is due: with M = 1 + S nodes per cluster, slot `g` (global, from 0) is in interval
/// `i = g / MN`, for cluster `c = (g mod MN) / M` and its node `m = g mod M` (0 the active's renew, 1…S a
/// standby's read, which writes its row when `i + c + m` is even), due at `start + g · interval / MN`, carried
/// by connection `g mod K`.
struct Plan: Sendable {
    var start: ContinuousClock.Instant
    var interval: Duration
    var slotsPerInterval: Int
    var nodes: Int
    var totalSlots: Int
    var connections: Int

    func due(_ slot: Int) -> ContinuousClock.Instant {
        let interval = slot / slotsPerInterval
        let within = slot % slotsPerInterval
        return start + self.interval * interval + self.interval * (Double(within) / Double(slotsPerInterval))
    }

    var end: ContinuousClock.Instant { due(totalSlots) }

    /// What slot `slot` sends.
    func statement(_ slot: Int) -> Statement {
        let within = slot % slotsPerInterval
        let cluster = within / nodes
        let member = within % nodes
        let name = String(LeaseLoadGenerator.firstCluster + 1 + cluster)
        guard member > 0 else { return .renew(cluster: name) }
        let node = LeaseLoadGenerator.standbyNode(member)
        return (slot / slotsPerInterval + cluster + member) % 2 == 0
            ? .observe(cluster: name, node: node) : .observeRead(cluster: name, node: node)
    }
}

/// One statement of the load.
enum Statement: Equatable {
    /// The active's renew (`SQL.renew`).
    case renew(cluster: String)
    /// A standby's read that writes its row (`SQL.observe`).
    case observe(cluster: String, node: String)
    /// A standby's read alone (`SQL.observeRead`).
    case observeRead(cluster: String, node: String)
}

/// One connection's results (latencies in milliseconds).
struct Tally: Sendable {
    var renewLatencies: [Double] = []
    var observeLatencies: [Double] = []
    var lags: [Double] = []
    var answered = 0
    var failures = 0
    var observeWrites = 0
    var observeReads = 0
    var missed = 0
    var lastAnswer: ContinuousClock.Instant?
    /// Connections that still sent prepared statements at the end (0 or 1 per worker).
    var preparedConnections = 0

    mutating func merge(_ other: Tally) {
        renewLatencies += other.renewLatencies
        observeLatencies += other.observeLatencies
        lags += other.lags
        answered += other.answered
        failures += other.failures
        observeWrites += other.observeWrites
        observeReads += other.observeReads
        missed += other.missed
        if let last = other.lastAnswer { lastAnswer = max(lastAnswer ?? last, last) }
        preparedConnections += other.preparedConnections
    }
}

/// Sends one connection's share of the slots, in order, one statement in flight.
struct Worker: Sendable {
    var settings: LeaseLoadGenerator.Settings
    var plan: Plan
    var index: Int
    var connection: PGConnection

    func run() async -> Tally {
        var tally = Tally()
        var connection = self.connection
        // Past this, a backlog is abandoned: the run has shown the database cannot keep up.
        let giveUp = plan.end + settings.interval
        var slot = index
        while slot < plan.totalSlots {
            defer { slot += plan.connections }
            let due = plan.due(slot)
            let statement = plan.statement(slot)
            let isRenew: Bool
            if case .renew = statement { isRenew = true } else { isRenew = false }
            let now = ContinuousClock.now
            if now > giveUp {
                if isRenew { tally.missed += 1 }
                continue
            }
            if due > now + .microseconds(200) {
                try? await Task.sleep(until: due, clock: .continuous)
            }
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
                let (sql, parameters): (String, [String?])
                switch statement {
                case .renew(let cluster):
                    (sql, parameters) = (
                        SQL.renew, LeaseLoadGenerator.renewParameters(cluster: cluster, settings: settings)
                    )
                case .observe(let cluster, let node):
                    (sql, parameters) = (
                        SQL.observe,
                        LeaseLoadGenerator.observeParameters(cluster: cluster, node: node, settings: settings)
                    )
                case .observeRead(let cluster, let node):
                    (sql, parameters) = (
                        SQL.observeRead,
                        LeaseLoadGenerator.observeReadParameters(cluster: cluster, node: node, settings: settings)
                    )
                }
                outcome = .success(
                    settings.unprepared
                        ? try await connection.query(sql, parameters, timeout: settings.callTimeout)
                        : try await connection.query(prepared: sql, parameters, timeout: settings.callTimeout)
                )
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
                    if case .observe = statement { tally.observeWrites += 1 } else { tally.observeReads += 1 }
                }
            case .failure:
                tally.failures += 1
                if isRenew { tally.missed += 1 }
            }
        }
        if !settings.unprepared && connection.preparesStatements { tally.preparedConnections = 1 }
        return tally
    }
}

func milliseconds(_ duration: Duration) -> Double {
    duration.secondsValue * 1000
}

/// Nearest-rank percentile of sorted values (0 when empty).
func percentile(_ sorted: [Double], _ fraction: Double) -> Double {
    guard !sorted.isEmpty else { return 0 }
    let rank = Int((fraction * Double(sorted.count)).rounded(.up))
    return sorted[min(max(rank, 1), sorted.count) - 1]
}
