import FailoverController
import FoundationEssentials
import Glibc
import Heartbeat
import HotStandbyConfig
import HotStandbyCore
import Hummingbird
import Logging
import Metrics

/// The HTTP endpoints on `http.listen`: health for load balancers, status JSON, Prometheus metrics,
/// the status page, and (only with `http.tokenFile`) switchover and pause.
public struct HTTPServer {
    public let config: Config
    public let state: HTTPState
    public let metrics: NodeMetrics
    public let token: String?
    public let logger: Logger
    /// The failsafe's endpoint (issue 18): how beats are checked and where they go; nil when the failsafe is off.
    public var failsafe: (wire: FailsafeWire, inbox: FailsafeInbox)? = nil
    /// The daemon's shared database connection (issue 16) for the write routes; one of their own when nil.
    public var shared: ConnectionSlot? = nil

    /// The HTTP server, a `Service` for the daemon's `ServiceGroup`: the Hummingbird application's parts, run without
    /// its once-a-second `Date` timer (`HTTPApplication`).
    public func application(host: String, port: Int) -> HTTPApplication<RouterResponder<BasicRequestContext>> {
        let router = Router()
        let node = config.node
        let state = self.state
        let metrics = self.metrics
        router.get("/health") { _, _ in Self.health(state.status, wanted: .active) }
        router.get("/health/active") { _, _ in Self.health(state.status, wanted: .active) }
        router.get("/health/standby") { _, _ in Self.health(state.status, wanted: .standby) }
        let liveWithin = Self.livenessWindow(interval: config.failover.interval)
        router.get("/liveness") { _, _ in Self.liveness(lastStatusAt: state.statusAt, now: .now, within: liveWithin) }
        let fresh = max(config.failover.interval, .seconds(1)) * 2
        router.get("/status") { _, _ in
            await state.noteRequest(maxAge: fresh)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            let data = (try? encoder.encode(state.document(node: node))) ?? Data("{}".utf8)
            return Self.response(.ok, String(decoding: data, as: UTF8.self), type: "application/json")
        }
        router.get("/metrics") { _, _ in
            await state.noteRequest(maxAge: fresh)
            if let age = state.cluster().age { metrics.setClusterReadAge(age) }
            return Self.response(.ok, metrics.text(), type: "text/plain; version=0.0.4; charset=utf-8")
        }
        let page = StatusPage(node: node, timeout: config.failover.timeout, writable: token != nil)
        router.get("/") { _, _ in
            await state.noteRequest(maxAge: fresh)
            return Self.response(
                .ok,
                page.render(state.document(node: node), timeline: state.timeline),
                type: "text/html; charset=utf-8"
            )
        }
        if let token {
            addWriteRoutes(router, token: token)
        }
        if let failsafe {
            addFailsafeRoute(router, wire: failsafe.wire, inbox: failsafe.inbox)
        }
        return HTTPApplication(
            Application(
                router: router,
                configuration: .init(address: .hostname(host, port: port), serverName: "hotstandby"),
                eventLoopGroupProvider: .shared(HTTPEventLoop.group),
                logger: logger
            )
        )
    }

    private func addWriteRoutes(_ router: Router<BasicRequestContext>, token: String) {
        let admin = ClusterAdmin(database: config.database, slot: shared)
        let cluster = config.cluster
        let node = config.node
        let seenWithin = config.failover.interval * 3 + .milliseconds(500)
        let logger = self.logger
        router.post("/switchover") { request, _ in
            if let refused = Self.unauthorized(request, token: token) { return refused }
            guard let target = request.uri.queryParameters.get("to"), !target.isEmpty else {
                return Self.response(.badRequest, "name the node: POST /switchover?to=NODE\n")
            }
            do throws(PGError) {
                try await admin.requestSwitchover(cluster: cluster, to: target, seenWithin: seenWithin)
                logger.notice("switchover requested over HTTP", metadata: ["to": "\(target)"])
                return Self.response(
                    .accepted,
                    "switchover to '\(target)' requested; the active hands over at its next renew\n"
                )
            } catch {
                return Self.response(.conflict, "switchover refused: \(error.message)\n")
            }
        }
        for (path, paused) in [("/pause", true), ("/resume", false)] {
            router.post(RouterPath(path)) { request, _ in
                if let refused = Self.unauthorized(request, token: token) { return refused }
                do throws(PGError) {
                    try await admin.setPaused(cluster: cluster, paused, by: node)
                    logger.notice("cluster \(paused ? "paused" : "resumed") over HTTP")
                    return Self.response(.ok, "cluster '\(cluster)' \(paused ? "paused" : "resumed")\n")
                } catch {
                    return Self.response(.serviceUnavailable, "\(error.description)\n")
                }
            }
        }
    }

    /// `POST /failsafe/beat`: a signed beat from the active; the answer is signed too. A bad signature or another
    /// cluster's beat is refused with 403, logged and counted (`hotstandby_failsafe_beats_refused_total`).
    private func addFailsafeRoute(_ router: Router<BasicRequestContext>, wire: FailsafeWire, inbox: FailsafeInbox) {
        let cluster = config.cluster
        let node = config.node
        let logger = self.logger
        router.post("/failsafe/beat") { request, _ in
            let refuse = { (label: String, message: String) -> Response in
                logger.warning("failsafe beat refused", metadata: ["reason": "\(message)"])
                Counter(label: "hotstandby_failsafe_beats_refused_total", dimensions: [("reason", label)]).increment()
                return Self.response(.forbidden, "refused: \(message)\n")
            }
            guard let body = try? await request.body.collect(upTo: 8192) else {
                return refuse("malformed", "the body is larger than 8 KiB")
            }
            let beat: FailsafeBeat
            do throws(FailsafeWire.Refusal) {
                beat = try wire.open(FailsafeBeat.self, from: Data(body.readableBytesView))
            } catch {
                return refuse(error.label, error.message)
            }
            guard beat.cluster == cluster else {
                return refuse("cluster", "the beat is for cluster '\(beat.cluster)', this node is in '\(cluster)'")
            }
            let answer = await inbox.deliver(beat)
            if case .refused(let reason) = answer {
                Counter(label: "hotstandby_failsafe_beats_refused_total", dimensions: [("reason", "state")]).increment()
                logger.warning(
                    "failsafe beat refused",
                    metadata: ["from": "\(beat.from)", "epoch": "\(beat.epoch)", "reason": "\(reason)"]
                )
            }
            let sealed = wire.seal(FailsafeWire.Answer(answer, node: node, round: beat.round))
            return Self.response(.ok, String(decoding: sealed, as: UTF8.self), type: "application/json")
        }
    }

    /// 200 when this node is in the wanted role, 503 otherwise; the body says the role and note.
    public static func health(_ status: NodeStatus?, wanted: NodeRole) -> Response {
        let role = status?.role.rawValue ?? "starting"
        let note = status?.note ?? "starting"
        // An active's status is trusted only before its fence deadline: after SIGCONT or a VM thaw the
        // last status may still say active while the loop has not yet run its first (fencing) check.
        let serving = wanted != .active || (status?.servingUntil.map { ContinuousClock.now < $0 } ?? false)
        // "Active" means "serving": a node whose service failed (it stays active only while no standby is
        // eligible) is not where a load balancer should send traffic.
        let failed = wanted == .active && (status?.serviceFailed ?? false)
        let ok = status?.role == wanted && serving && !failed
        return response(ok ? .ok : .serviceUnavailable, "\(role) epoch \(status?.epoch ?? 0): \(note)\n")
    }

    /// How recent the run loop's last status must be for `/liveness`: two intervals, at least 1 second.
    /// The loop reports after every input, and a tick or a lease call's answer comes at least once an interval.
    public static func livenessWindow(interval: Duration) -> Duration { max(interval * 2, .seconds(1)) }

    /// Whether the run loop is turning: its last status came at most `within` before `now`. A pure
    /// decision, for `/liveness`.
    public static func isLive(lastStatusAt: ContinuousClock.Instant?, now: ContinuousClock.Instant, within: Duration)
        -> Bool
    {
        guard let lastStatusAt else { return false }
        return lastStatusAt.duration(to: now) <= within
    }

    /// 200 while the run loop turns, whatever the role, 503 when it has not reported within `within`
    /// (stuck, or not started yet): for a supervisor that restarts a wedged daemon.
    public static func liveness(lastStatusAt: ContinuousClock.Instant?, now: ContinuousClock.Instant, within: Duration)
        -> Response
    {
        guard let lastStatusAt else {
            return response(.serviceUnavailable, "starting: the run loop has not reported yet\n")
        }
        let age = lastStatusAt.duration(to: now)
        let text = String(cFormat: "%.3f", age.secondsValue)
        if isLive(lastStatusAt: lastStatusAt, now: now, within: within) {
            return response(.ok, "live: the run loop reported \(text) s ago\n")
        }
        return response(
            .serviceUnavailable,
            "not live: the run loop last reported \(text) s ago (more than \(within.text))\n"
        )
    }

    /// A 401 unless the request carries `Authorization: Bearer <token>`.
    public static func unauthorized(_ request: Request, token: String) -> Response? {
        let header = request.headers[.authorization] ?? ""
        let expected = "Bearer " + token
        // Compares every byte, so the time taken does not tell how much of the token was right.
        let a = Array(header.utf8)
        let b = Array(expected.utf8)
        var difference = a.count ^ b.count
        for index in 0..<min(a.count, b.count) { difference |= Int(a[index] ^ b[index]) }
        if difference == 0 { return nil }
        return response(.unauthorized, "send the token from http.tokenFile as `Authorization: Bearer TOKEN`\n")
    }

    public static func response(
        _ status: HTTPResponse.Status,
        _ body: String,
        type: String = "text/plain; charset=utf-8"
    )
        -> Response
    {
        Response(
            status: status,
            headers: [.contentType: type, .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(string: body))
        )
    }
}
