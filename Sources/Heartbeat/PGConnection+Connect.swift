import CLibPQ
import Dispatch
import FoundationEssentials
import Glibc
import HotStandbyCore

#if canImport(Glibc)
    import Glibc
#endif

extension PGConnection {
    /// Opens a connection within `timeout`, with libpq's own parsing of `conninfo` (keyword/value or URI,
    /// several hosts, `target_session_attrs`, `PG*` variables, `.pgpass`, `sslmode`).
    ///
    /// libpq's `connect_timeout` is not the deadline: libpq applies it to each host in turn and raises values
    /// under 2 s to 2 s, so with `host=db1,db2` a silent db1 used up the whole call and db2 was never tried.
    /// Instead the hosts are tried in order with libpq's non-blocking API (`PQconnectStartParams` +
    /// `PQconnectPoll`, `poll` on `PQsocket`), each with its share of what is left of this one deadline
    /// (``ConnectPlan``). An attempt that misses its share is freed at once and the next host tried. Everything
    /// runs on the connection's own serial queue, off the cooperative pool; if the caller's deadline passes
    /// first (libpq resolves host names synchronously), the attempt ends on the queue and is closed there.
    package static func connect(conninfo: String, timeout: Duration, applicationName: String) async throws(PGError)
        -> PGConnection
    {
        let redactor = Redactor(conninfo: conninfo)
        let queue = DispatchQueue(label: "hotstandby.pg")
        let deadline = ContinuousClock.now.advanced(by: timeout)
        let outcome = OneShot<Result<PGConnection, PGError>>()
        queue.async {
            let plan = ConnectPlan(conninfo: conninfo)
            switch plan.open(conninfo: conninfo, applicationName: applicationName, until: deadline, redactor: redactor)
            {
            case .success(let conn):
                PQsetnonblocking(conn, 1)
                // Server notices ("relation already exists, skipping") are not errors: keep them off stderr.
                PQsetNoticeProcessor(conn, { _, _ in }, nil)
                let connection = PGConnection(conn: conn, queue: queue, redactor: redactor)
                if !outcome.complete(.success(connection)) {
                    // The caller gave up; dropping `connection` here closes it.
                }
            case .failure(let error):
                outcome.complete(.failure(error))
            }
        }
        // The queue stops at `deadline` by itself (poll never waits past it); the few milliseconds let its
        // message, which says what each host did, arrive before this generic one.
        let result = await outcome.value(timeout: timeout + .milliseconds(50)) {
            .failure(PGError(code: .timedOut, message: "could not connect within \(timeout.text)"))
        }
        return try result.get()
    }
}

/// The hosts of a connection string, and how one connect deadline is shared among them.
///
/// Hosts are tried one after another, in the order written, each with
/// `max(left / hostsLeft, min(100 ms, left))` of what is left of the deadline, at most the `connect_timeout`
/// the user wrote (read as libpq reads it: whole seconds, at least 2). A host that fails fast (refused)
/// leaves its share to the next ones. One after another rather than all at once because the order is the
/// operator's preference and libpq's contract: with `target_session_attrs=any` (the default) the first host
/// that answers wins, and a race would hand the lease store to whichever server answered first (a
/// read-only replica, when db1 is a healthy primary); a race would also open one connection per host on
/// every reconnect (`max_connections`, a login line in every server's log) and repeat a wrong password
/// against each. The cost: a silent first host delays the connect by its share, which the one deadline
/// bounds.
///
/// Like libpq, a failed authentication (wrong or missing password) ends the attempt: the other hosts are not
/// tried. Any other failure (refused, silent, `target_session_attrs` not met, the server starting up or
/// refusing the database) moves on to the next host. When the host list cannot be split into single hosts
/// (one host, a `service=` that names the hosts, empty list elements, unmatched port counts), libpq gets
/// the conninfo as written, in one attempt, under the whole deadline.
struct ConnectPlan: Sendable {
    /// One host of the list, as `host`, `hostaddr` and `port` overrides (nil: not overridden).
    struct Target: Sendable {
        var host: String?
        var hostaddr: String?
        var port: String?

        /// How libpq's messages name a server: `"db1" (10.0.0.1), port 5432`.
        var label: String {
            let name = host ?? hostaddr ?? "the default host"
            let address = host != nil && hostaddr != nil ? " (\(hostaddr!))" : ""
            return "\"\(name)\"\(address), port \(port ?? "default")"
        }
    }

    /// The smallest share of a host while the deadline allows it: a TCP, TLS and SCRAM login on a LAN takes
    /// tens of milliseconds. Small because the short settings (interval 500 ms: a 400 ms call, 320 ms of it
    /// for connecting) must still reach a second host: a 500 ms floor would give the first host all of it.
    static let floor = Duration.milliseconds(100)

    /// Each host's attempt, in the order written; one target without overrides when the list is not split.
    let targets: [Target]
    /// The `connect_timeout` of the conninfo or `PGCONNECT_TIMEOUT`, as libpq reads it: an upper bound per host.
    let perHostLimit: Duration?

    /// Reads the host list of `conninfo` (with `PGHOST`, `PGHOSTADDR`, `PGPORT` and `PGCONNECT_TIMEOUT` where
    /// the string does not set them, as libpq does).
    init(conninfo: String, environment: [String: String] = ProcessInfo.processInfo.environment) {
        var values: [String: String] = [:]
        var errorPointer: UnsafeMutablePointer<CChar>?
        if let options = PQconninfoParse(conninfo, &errorPointer) {
            var option = options
            while let keyword = option.pointee.keyword {
                let name = String(cString: keyword)
                if ["host", "hostaddr", "port", "connect_timeout"].contains(name), let value = option.pointee.val {
                    values[name] = String(cString: value)
                }
                option += 1
            }
            PQconninfoFree(options)
        }
        if let errorPointer { PQfreemem(errorPointer) }
        func value(_ keyword: String, _ variable: String) -> String? {
            if let given = values[keyword], !given.isEmpty { return given }
            if let given = environment[variable], !given.isEmpty { return given }
            return nil
        }
        let hostValue = value("host", "PGHOST")
        let hostaddrValue = value("hostaddr", "PGHOSTADDR")
        let portValue = value("port", "PGPORT")
        if let seconds = value("connect_timeout", "PGCONNECT_TIMEOUT").flatMap({
            Int($0.trimmingBlanks())
        }),
            seconds > 0
        {
            perHostLimit = .seconds(max(seconds, 2))
        } else {
            perHostLimit = nil
        }
        // Not split: no overrides are passed (``overrides``), the values only name the server in messages.
        let whole = [Target(host: hostValue, hostaddr: hostaddrValue, port: portValue)]
        func split(_ value: String?) -> [String]? {
            value.map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        }
        let hosts = split(hostValue)
        let hostaddrs = split(hostaddrValue)
        let ports = split(portValue)
        let count = hosts?.count ?? hostaddrs?.count ?? 0
        let lists = [hosts, hostaddrs, ports].compactMap { $0 }
        guard count > 1,
            hostaddrs == nil || hostaddrs?.count == count,
            ports == nil || ports?.count == 1 || ports?.count == count,
            // libpq ignores an empty override, so an empty element cannot be passed on by itself.
            !lists.contains(where: { $0.contains(where: { $0.trimmingBlanks().isEmpty }) })
        else {
            targets = whole
            return
        }
        targets = (0..<count).map { index in
            Target(
                host: hosts?[index],
                hostaddr: hostaddrs?[index],
                port: ports.map { $0.count == 1 ? $0[0] : $0[index] }
            )
        }
    }

    /// The share of `left` for the next host when `hostsLeft` hosts (it included) remain.
    func share(of left: Duration, hostsLeft: Int) -> Duration {
        var share = max(left / max(hostsLeft, 1), min(Self.floor, left))
        if let perHostLimit { share = min(share, perHostLimit) }
        return min(share, left)
    }

    /// Tries the hosts in order until one connects or `deadline` passes; on the connection's queue.
    /// - Returns: an established `PGconn` the caller owns, or why none could be opened (password removed).
    func open(conninfo: String, applicationName: String, until deadline: ContinuousClock.Instant, redactor: Redactor)
        -> Result<OpaquePointer, PGError>
    {
        let started = ContinuousClock.now
        var failures: [String] = []
        var lastTimedOut = false
        for (index, target) in targets.enumerated() {
            let left = ContinuousClock.now.duration(to: deadline)
            guard left > .zero else {
                let skipped = targets.count - index
                failures.append("\(skipped) more host\(skipped == 1 ? "" : "s") not tried: the deadline had passed")
                lastTimedOut = true
                break
            }
            let share = share(of: left, hostsLeft: targets.count - index)
            // A single target is the conninfo as written: libpq reads its host, hostaddr and port itself.
            let overrides = targets.count == 1 ? Target(host: nil, hostaddr: nil, port: nil) : target
            switch Self.attempt(
                overrides,
                conninfo: conninfo,
                applicationName: applicationName,
                until: ContinuousClock.now.advanced(by: share),
                redactor: redactor
            ) {
            case .connected(let conn):
                return .success(conn)
            case .failed(let message) where Self.isAuthenticationFailure(message):
                return .failure(PGError(code: .authenticationFailed, message: message))
            case .failed(let message):
                failures.append(
                    targets.count == 1 ? message : message.split(separator: "\n").first.map(String.init) ?? message
                )
                lastTimedOut = false
            case .timedOut:
                failures.append("no answer from server at \(target.label) within \(share.text)")
                lastTimedOut = true
            }
        }
        let code: PGError.Code = lastTimedOut ? .timedOut : .connectionFailed
        if targets.count == 1 {
            let message = failures.first ?? "could not connect"
            return .failure(PGError(code: code, message: lastTimedOut ? "could not connect: " + message : message))
        }
        return .failure(
            PGError(
                code: code,
                message: "none of \(targets.count) hosts connected within \(started.duration(to: deadline).text): "
                    + failures.joined(separator: "; ")
            )
        )
    }

    /// libpq's words for a rejected login: then, as libpq does, no further host is tried.
    static func isAuthenticationFailure(_ message: String) -> Bool {
        message.contains("password authentication failed") || message.contains("no password supplied")
    }

    private enum Attempt {
        case connected(OpaquePointer)
        case failed(String)
        case timedOut
    }

    /// One host: `PQconnectStartParams`, then `PQconnectPoll` whenever the socket is ready, until `deadline`.
    /// A missed deadline frees the half-open `PGconn` at once (`PQfinish` sends nothing on a socket that is not
    /// established, so it does not block).
    private static func attempt(
        _ target: Target,
        conninfo: String,
        applicationName: String,
        until deadline: ContinuousClock.Instant,
        redactor: Redactor
    ) -> Attempt {
        // Keywords are processed in order and later ones win: the caller's conninfo (expanded from `dbname`)
        // overrides our application_name, and this host's overrides replace the conninfo's lists.
        var keywords = ["application_name", "dbname"]
        var values = [applicationName, conninfo]
        for (keyword, value) in [("host", target.host), ("hostaddr", target.hostaddr), ("port", target.port)] {
            if let value {
                keywords.append(keyword)
                values.append(value)
            }
        }
        let started = withCStrings(keywords) { keywordPointers in
            withCStrings(values) { valuePointers in
                PQconnectStartParams(keywordPointers, valuePointers, 1)
            }
        }
        guard let conn = started else { return .failed("out of memory") }
        var polled = PQstatus(conn) == CONNECTION_BAD ? PGRES_POLLING_FAILED : PGRES_POLLING_WRITING
        while true {
            let events: Int16
            switch polled {
            case PGRES_POLLING_OK:
                return .connected(conn)
            case PGRES_POLLING_FAILED:
                let message = redactor.clean(String(cString: PQerrorMessage(conn)))
                PQfinish(conn)
                return .failed(message)
            case PGRES_POLLING_READING:
                events = Int16(POLLIN)
            default:
                events = Int16(POLLOUT)
            }
            // libpq may switch sockets (next address of a name, SSL fallback): ask for it every time.
            guard waitForSocket(PQsocket(conn), events: events, until: deadline) else {
                PQfinish(conn)
                return .timedOut
            }
            polled = PQconnectPoll(conn)
        }
    }
}

/// Polls `socket` for `events`; false when `deadline` passed first. A poll error or an invalid socket
/// counts as ready, so that libpq reports the error itself.
func waitForSocket(_ socket: Int32, events: Int16, until deadline: ContinuousClock.Instant) -> Bool {
    while true {
        let left = ContinuousClock.now.duration(to: deadline)
        if left <= .zero { return false }
        if socket < 0 { return true }
        let milliseconds = Int32(
            min(left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000 + 1, 60_000)
        )
        var descriptor = pollfd(fd: socket, events: events, revents: 0)
        let ready = poll(&descriptor, 1, milliseconds)
        if ready > 0 { return true }
        if ready < 0 && errno != EINTR { return true }
    }
}
