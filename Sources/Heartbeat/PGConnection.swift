import CLibPQ
import Dispatch
import FoundationEssentials
import Glibc
import HotStandbyCore
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// One libpq connection. The only code that touches the libpq API.
///
/// Every use of the `PGconn` happens on `queue`, a serial dispatch queue of its own, so blocking
/// libpq calls never run on Swift's cooperative pool and never run concurrently. Queries use the
/// asynchronous API (`PQsendQueryParams`, `poll` on `PQsocket` until the deadline, `PQconsumeInput`),
/// and a query that misses its deadline is cancelled with `PQcancel` on a thread of its own (the server
/// may be frozen, so the cancel is not waited for) and the connection is closed.
package final class PGConnection: @unchecked Sendable {
    // @unchecked: `conn` is only read or written inside blocks on `queue` (a serial queue), and
    // `broken` is a Mutex; no other stored state is mutable.
    private var conn: OpaquePointer?
    private let queue: DispatchQueue
    private let redactor: Redactor
    private let broken = Mutex(false)
    /// The names this connection prepared (read and written on `queue` only).
    private var prepared: Set<String> = []
    /// Set for good when the server refused a prepared statement (a transaction-mode pooler): the reason, and whether
    /// ``takeUnpreparedNotice()`` handed it out.
    private let unprepared = Mutex<(reason: String, noticed: Bool)?>(nil)

    /// Takes ownership of an established `conn`, which from now on is used only on `queue`
    /// (``connect(conninfo:timeout:applicationName:)`` in PGConnection+Connect.swift opens it).
    init(conn: OpaquePointer, queue: DispatchQueue, redactor: Redactor) {
        self.conn = conn
        self.queue = queue
        self.redactor = redactor
    }

    deinit {
        // Runs on whatever thread dropped the last reference; PQfinish only sends a Terminate
        // message on an established socket, which does not block on a frozen server.
        if let conn { PQfinish(conn) }
    }

    /// Whether a deadline or I/O error left the connection unusable.
    package var isBroken: Bool { broken.withLock { $0 } }

    /// Runs one statement with text parameters (bound, never interpolated) and returns its rows.
    /// A statement without parameters may hold several commands (used by migrations).
    package func query(_ sql: String, _ parameters: [String?] = [], timeout: Duration) async throws(PGError) -> PGRows {
        try await submit(timeout: timeout) { [self] deadline in
            runQuery(sql, parameters, deadline: deadline, timeout: timeout)
        }
    }

    /// Runs `work` on the queue with the call's deadline and waits for it, at most `timeout`; a failure marks the
    /// connection broken.
    private func submit(
        timeout: Duration,
        _ work: @escaping @Sendable (ContinuousClock.Instant) -> Result<PGRows, PGError>
    ) async throws(PGError) -> PGRows {
        let outcome = OneShot<Result<PGRows, PGError>>()
        let deadline = ContinuousClock.now.advanced(by: timeout)
        queue.async { outcome.complete(work(deadline)) }
        // The queue enforces the deadline with poll, and no block on it runs past its own deadline (an
        // earlier call's included), so the call ends within `timeout`; the few milliseconds only let the
        // queue's own message win the race against this one.
        let result = await outcome.value(timeout: timeout + .milliseconds(50)) {
            .failure(PGError(code: .timedOut, message: "no answer within \(timeout.text)"))
        }
        if case .failure = result { broken.withLock { $0 = true } }
        return try result.get()
    }

    /// Runs one statement of the heartbeat (`SQL.renew`, `SQL.observe`, `SQL.observeRead`) as a named prepared
    /// statement of this connection: parsed and analysed once, and after a few executions planned once (a generic
    /// plan), where an unnamed statement is planned afresh every time (issue 16: planning was ~80 % of the server's
    /// CPU per statement; pgbench on the same statements runs 3× the statements per second prepared). The first
    /// call on a connection prepares it (one more round trip, within the same deadline). Its name is a digest of
    /// the text (``statementName(_:)``), so one name never stands for two texts, on any server connection.
    ///
    /// A server that refuses the name (SQLSTATE 26000 or 42P05: a pooler in transaction mode hands each statement
    /// to any server connection, and pgbouncer before 1.21 does not carry prepared statements) makes this
    /// connection fall back, for good, to unnamed statements: the statement is sent again at once, unnamed,
    /// within the same deadline. Sending it again is safe: a statement that fails ends its own transaction
    /// without a commit, so it changed nothing (and its `pg_notify` was never sent).
    package func query(prepared sql: String, _ parameters: [String?], timeout: Duration) async throws(PGError)
        -> PGRows
    {
        try await submit(timeout: timeout) { [self] deadline in
            runPrepared(sql, parameters, deadline: deadline, timeout: timeout)
        }
    }

    /// Whether this connection still sends the heartbeat's statements prepared.
    package var preparesStatements: Bool { unprepared.withLock { $0 == nil } }

    /// Why this connection stopped preparing statements, once: the first call after the fallback gets it (for the
    /// log), every other call nil.
    package func takeUnpreparedNotice() -> String? {
        unprepared.withLock { state in
            guard let current = state, !current.noticed else { return nil }
            state = (current.reason, true)
            return current.reason
        }
    }

    /// The name a statement is prepared under: `hotstandby_` and the FNV-1a digest (64 bits) of its text.
    static func statementName(_ sql: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in sql.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01b3
        }
        let hex = String(hash, radix: 16)
        return "hotstandby_" + String(repeating: "0", count: 16 - hex.count) + hex
    }

    /// The SQLSTATEs of a refused prepared statement: 26000 invalid_sql_statement_name (not prepared on this
    /// server connection), 42P05 duplicate_prepared_statement (prepared there by another client of the pooler).
    static let refusedPrepared: Set<String> = ["26000", "42P05"]

    /// Waits up to `timeout` for NOTIFY messages and returns their payloads (empty when none arrived).
    ///
    /// Cancelling the calling task ends the wait at once (the queue's `poll` also watches a pipe that the
    /// cancellation handler writes to), so a listener can wait for long stretches without waking the
    /// process and still stop promptly on shutdown.
    package func waitForNotifications(timeout: Duration) async throws(PGError) -> [String] {
        let outcome = OneShot<Result<[String], PGError>>()
        let wake = WakePipe()
        queue.async { [self] in
            outcome.complete(self.runWait(timeout: timeout, wake: wake))
        }
        let result = await withTaskCancellationHandler {
            await outcome.value(timeout: timeout + .seconds(1)) {
                .failure(PGError(code: .timedOut, message: "notification wait overran"))
            }
        } onCancel: {
            wake.signal()
        }
        if case .failure = result { broken.withLock { $0 = true } }
        return try result.get()
    }

    // MARK: - On the queue

    private func runQuery(_ sql: String, _ parameters: [String?], deadline: ContinuousClock.Instant, timeout: Duration)
        -> Result<PGRows, PGError>
    {
        guard let conn else { return .failure(PGError(code: .connectionFailed, message: "connection closed")) }
        let sent: Int32
        if parameters.isEmpty {
            sent = PQsendQuery(conn, sql)
        } else {
            sent = withOptionalCStrings(parameters) { pointers in
                PQsendQueryParams(conn, sql, Int32(parameters.count), nil, pointers, nil, nil, 0)
            }
        }
        guard sent == 1 else { return .failure(fail(conn, .queryFailed)) }
        return collect(conn, deadline: deadline, timeout: timeout)
    }

    private func runPrepared(
        _ sql: String,
        _ parameters: [String?],
        deadline: ContinuousClock.Instant,
        timeout: Duration
    )
        -> Result<PGRows, PGError>
    {
        guard let conn else { return .failure(PGError(code: .connectionFailed, message: "connection closed")) }
        guard preparesStatements else { return runQuery(sql, parameters, deadline: deadline, timeout: timeout) }
        let name = Self.statementName(sql)
        if !prepared.contains(name) {
            guard PQsendPrepare(conn, name, sql, Int32(parameters.count), nil) == 1 else {
                return .failure(fail(conn, .queryFailed))
            }
            switch collect(conn, deadline: deadline, timeout: timeout) {
            case .success:
                prepared.insert(name)
            case .failure(let error) where error.sqlState.map(Self.refusedPrepared.contains) == true:
                return fallBack(error, sql, parameters, deadline: deadline, timeout: timeout)
            case .failure(let error):
                return .failure(error)
            }
        }
        let sent = withOptionalCStrings(parameters) { pointers in
            PQsendQueryPrepared(conn, name, Int32(parameters.count), pointers, nil, nil, 0)
        }
        guard sent == 1 else { return .failure(fail(conn, .queryFailed)) }
        let result = collect(conn, deadline: deadline, timeout: timeout)
        if case .failure(let error) = result, error.sqlState.map(Self.refusedPrepared.contains) == true {
            return fallBack(error, sql, parameters, deadline: deadline, timeout: timeout)
        }
        return result
    }

    /// Stops preparing on this connection and sends `sql` unnamed (the refused statement changed nothing).
    private func fallBack(
        _ error: PGError,
        _ sql: String,
        _ parameters: [String?],
        deadline: ContinuousClock.Instant,
        timeout: Duration
    ) -> Result<PGRows, PGError> {
        prepared.removeAll()
        let firstLine = error.message.split(separator: "\n").first.map(String.init) ?? error.message
        unprepared.withLock { $0 = ("SQLSTATE \(error.sqlState ?? "?"): \(firstLine)", false) }
        return runQuery(sql, parameters, deadline: deadline, timeout: timeout)
    }

    /// Flushes the request just sent and reads its results until the deadline.
    private func collect(_ conn: OpaquePointer, deadline: ContinuousClock.Instant, timeout: Duration)
        -> Result<PGRows, PGError>
    {
        // Flush the request (the socket is non-blocking).
        while true {
            let flushed = PQflush(conn)
            if flushed == 0 { break }
            if flushed < 0 { return .failure(fail(conn, .connectionFailed)) }
            guard waitSocket(conn, events: Int16(POLLIN | POLLOUT), until: deadline) else {
                return .failure(expire(conn, timeout: timeout))
            }
            if PQconsumeInput(conn) == 0 { return .failure(fail(conn, .connectionFailed)) }
        }
        var rows = PGRows()
        var errorMessage: String?
        var errorState: String?
        while true {
            while PQisBusy(conn) == 1 {
                guard waitSocket(conn, events: Int16(POLLIN), until: deadline) else {
                    return .failure(expire(conn, timeout: timeout))
                }
                if PQconsumeInput(conn) == 0 { return .failure(fail(conn, .connectionFailed)) }
            }
            guard let result = PQgetResult(conn) else { break }
            defer { PQclear(result) }
            switch PQresultStatus(result) {
            case PGRES_TUPLES_OK, PGRES_COMMAND_OK:
                rows = PGRows(result: result)
            default:
                if errorMessage == nil {
                    errorMessage = redactor.clean(String(cString: PQresultErrorMessage(result)))
                    if let state = PQresultErrorField(result, Int32(UInt8(ascii: "C"))) {
                        errorState = String(cString: state)
                    }
                }
            }
        }
        if let errorMessage {
            return .failure(PGError(code: .queryFailed, message: errorMessage, sqlState: errorState))
        }
        return .success(rows)
    }

    private func runWait(timeout: Duration, wake: WakePipe) -> Result<[String], PGError> {
        guard let conn else { return .failure(PGError(code: .connectionFailed, message: "connection closed")) }
        var payloads = drainNotifications(conn)
        if !payloads.isEmpty { return .success(payloads) }
        let deadline = ContinuousClock.now.advanced(by: timeout)
        if wake.waitReadable(PQsocket(conn), until: deadline) {
            if PQconsumeInput(conn) == 0 { return .failure(fail(conn, .connectionFailed)) }
            payloads = drainNotifications(conn)
        }
        return .success(payloads)
    }

    private func drainNotifications(_ conn: OpaquePointer) -> [String] {
        var payloads: [String] = []
        while let notify = PQnotifies(conn) {
            payloads.append(String(cString: notify.pointee.extra))
            PQfreemem(notify)
        }
        return payloads
    }

    /// Polls the connection's socket; false when the deadline passed first.
    private func waitSocket(_ conn: OpaquePointer, events: Int16, until deadline: ContinuousClock.Instant) -> Bool {
        let socket = PQsocket(conn)
        guard socket >= 0 else { return false }
        return waitForSocket(socket, events: events, until: deadline)
    }

    private func fail(_ conn: OpaquePointer, _ code: PGError.Code) -> PGError {
        broken.withLock { $0 = true }
        return PGError(code: code, message: redactor.clean(String(cString: PQerrorMessage(conn))))
    }

    private func expire(_ conn: OpaquePointer, timeout: Duration) -> PGError {
        broken.withLock { $0 = true }
        if let cancel = PQgetCancel(conn) {
            CancelHandle(cancel).sendDetached()
        }
        PQfinish(conn)
        self.conn = nil
        return PGError(code: .timedOut, message: "no answer within \(timeout.text); the query was cancelled")
    }
}

/// A `PGcancel` handed to a thread of its own: it is used once there and then freed.
///
/// `PQcancel` connects to the server and waits for its reply with no deadline of its own (libpq 15), so against
/// a silent or cut-off server it waits for TCP to give up, minutes. It never runs on the connection's queue, and
/// never on `DispatchQueue.global()`: on Linux that is the pool Swift's tasks run on, one thread per core, and
/// two cancels waiting there stopped the run loop (the fault matrix's active cut from the database, in CI).
/// At most `limit` cancels wait at once; a statement that misses its deadline beyond that is closed without
/// one (the server ends it when it next writes to the closed connection, or at its own statement_timeout).
private final class CancelHandle: @unchecked Sendable {
    // @unchecked: the pointer is used by exactly one thread (`send`), after the creating queue let go of it.
    private let cancel: OpaquePointer
    init(_ cancel: OpaquePointer) { self.cancel = cancel }

    static let limit = 8
    private static let waiting = Atomic<Int>(0)

    /// Sends the cancel on a detached thread, or drops it when `limit` cancels are already waiting.
    func sendDetached() {
        guard Self.waiting.add(1, ordering: .relaxed).newValue <= Self.limit else {
            Self.waiting.subtract(1, ordering: .relaxed)
            return
        }
        DetachedThread.start(name: "hotstandby-cancel") { [self] in
            send()
            Self.waiting.subtract(1, ordering: .relaxed)
        }
    }

    private func send() {
        var buffer = [CChar](repeating: 0, count: 256)
        _ = PQcancel(cancel, &buffer, Int32(buffer.count))
    }
    deinit { PQfreeCancel(cancel) }
}

/// The rows of a result, as text.
package struct PGRows: Sendable {
    /// Column names in order.
    var columns: [String] = []
    /// Each row's values; `nil` is SQL NULL.
    package var rows: [[String?]] = []

    init() {}

    init(result: OpaquePointer) {
        let columnCount = PQnfields(result)
        let rowCount = PQntuples(result)
        columns = (0..<columnCount).map { String(cString: PQfname(result, $0)) }
        rows = (0..<rowCount).map { row in
            (0..<columnCount).map { column in
                PQgetisnull(result, row, column) == 1 ? nil : String(cString: PQgetvalue(result, row, column))
            }
        }
    }

    /// The value of `column` in `row`, or `nil`.
    package func value(_ row: Int, _ column: String) -> String? {
        guard row < rows.count, let index = columns.firstIndex(of: column) else { return nil }
        return rows[row][index]
    }
}

/// Removes the password of a connection string from messages before they reach a log or an error.
struct Redactor: Sendable {
    private let secrets: [String]
    /// True when libpq cannot parse the conninfo: then its messages quote fragments of the string, and any
    /// fragment may be a piece of the password, so every quoted fragment is masked.
    private let unparsable: Bool

    init(conninfo: String) {
        var secrets: [String] = []
        var errorPointer: UnsafeMutablePointer<CChar>?
        let parsed = PQconninfoParse(conninfo, &errorPointer)
        unparsable = parsed == nil
        if let options = parsed {
            var option = options
            while let keyword = option.pointee.keyword {
                if String(cString: keyword) == "password", let value = option.pointee.val {
                    secrets.append(String(cString: value))
                }
                option += 1
            }
            PQconninfoFree(options)
        }
        if let errorPointer { PQfreemem(errorPointer) }
        if let environment = getenv("PGPASSWORD") { secrets.append(String(cString: environment)) }
        self.secrets = secrets.filter { !$0.isEmpty }
    }

    func clean(_ message: String) -> String {
        var cleaned = message.trimmingWhitespace()
        for secret in secrets {
            cleaned = cleaned.replacing(secret, with: "********")
        }
        return unparsable ? Self.maskQuoted(cleaned) : cleaned
    }

    /// `missing "=" after "ret99" in ...` → `missing "=" after "…" in ...`: libpq's parse errors quote one
    /// piece of the connection string, and the piece may itself hold quotes and `=` (`password=''"ab`
    /// gives `missing "=" after ""ab" in ...`), so after libpq's own words everything from the first
    /// quote to the last one is masked; a lone quote masks the rest of the message.
    static func maskQuoted(_ message: String) -> String {
        var head = ""
        var rest = Substring(message)
        if let words = message.firstRange(of: "missing \"=\" after ") {
            head = String(message[..<words.upperBound])
            rest = message[words.upperBound...]
        }
        guard let first = rest.firstIndex(of: "\""), let last = rest.lastIndex(of: "\"") else { return message }
        let tail = last > first ? rest[rest.index(after: last)...] : ""
        return head + rest[..<first] + "\"…\"" + tail
    }
}

extension DatabaseSettings {
    /// Nil when libpq can parse `conninfo` (keyword/value or URI); otherwise libpq's reason, with every
    /// quoted fragment of the string masked, since it may be a piece of the password.
    public static func conninfoProblem(_ conninfo: String) -> String? {
        var errorPointer: UnsafeMutablePointer<CChar>?
        if let options = PQconninfoParse(conninfo, &errorPointer) {
            PQconninfoFree(options)
            return nil
        }
        defer { if let errorPointer { PQfreemem(errorPointer) } }
        let reason = errorPointer.map { String(cString: $0) } ?? "libpq cannot parse it"
        return Redactor.maskQuoted(reason.trimmingWhitespace())
    }
}

/// Calls `body` with a NULL-terminated array of C copies of `strings`, freed afterwards.
func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> R) -> R {
    let duplicates = strings.map { strdup($0) }
    defer { for duplicate in duplicates { free(duplicate) } }
    var pointers: [UnsafePointer<CChar>?] = duplicates.map { UnsafePointer($0) }
    pointers.append(nil)
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}

private func withOptionalCStrings<R>(_ strings: [String?], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> R) -> R {
    let duplicates = strings.map { $0.map { strdup($0) } ?? nil }
    defer { for duplicate in duplicates { free(duplicate) } }
    let pointers: [UnsafePointer<CChar>?] = duplicates.map { $0.map { UnsafePointer($0) } }
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}

/// A pipe whose read end a `poll` watches beside a socket, so another thread can end the wait early
/// (`signal()`, from a task's cancellation handler). Both ends close when the last reference goes.
final class WakePipe: Sendable {
    private let readEnd: Int32
    private let writeEnd: Int32

    init() {
        var ends: [Int32] = [-1, -1]
        if pipe(&ends) == 0 {
            // Close-on-exec (hooks must not inherit it) and non-blocking (a full pipe must not block `signal`).
            // pipe2 is not visible to Swift; a fork in the instant between pipe and fcntl is harmless, since
            // swift-subprocess closes every descriptor above 2 in the child.
            for end in ends {
                _ = fcntl(end, F_SETFD, FD_CLOEXEC)
                _ = fcntl(end, F_SETFL, fcntl(end, F_GETFL) | O_NONBLOCK)
            }
            readEnd = ends[0]
            writeEnd = ends[1]
        } else {
            // No pipe (out of descriptors): the wait then only ends by its timeout or the socket.
            readEnd = -1
            writeEnd = -1
        }
    }

    deinit {
        if readEnd >= 0 { close(readEnd) }
        if writeEnd >= 0 { close(writeEnd) }
    }

    /// Ends a `waitReadable` in progress, or the next one, at once.
    func signal() {
        guard writeEnd >= 0 else { return }
        var byte: UInt8 = 1
        _ = write(writeEnd, &byte, 1)
    }

    /// Polls `socket` for input until `deadline`; true when it is readable (or failed, so the caller
    /// reads the error), false on the deadline or when `signal()` was called.
    func waitReadable(_ socket: Int32, until deadline: ContinuousClock.Instant) -> Bool {
        guard socket >= 0 else { return false }
        while true {
            let left = ContinuousClock.now.duration(to: deadline)
            if left <= .zero { return false }
            let milliseconds = Int32(
                min(left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000 + 1, 60_000)
            )
            var descriptors = [
                pollfd(fd: socket, events: Int16(POLLIN), revents: 0),
                pollfd(fd: readEnd, events: Int16(POLLIN), revents: 0),
            ]
            let ready = poll(&descriptors, nfds_t(readEnd >= 0 ? 2 : 1), milliseconds)
            if ready > 0 { return descriptors[0].revents != 0 }
            if ready < 0 && errno != EINTR { return true }
        }
    }
}
