import Foundation
import TestSupport
import Testing

@testable import Heartbeat

#if canImport(Glibc)
    import Glibc
#endif

/// Connecting under the call's one deadline, on the real server of `scripts/test`: a first host that accepts
/// TCP and never answers must not keep a call from reaching the second host, and a reconnect plus its
/// statement must fit in the call's deadline.
@Suite(
    "Multi-host connect under one deadline",
    .serialized,
    .enabled(if: TestEnvironment.conninfo != nil, "needs HOTSTANDBY_TEST_PG_CONNINFO: run the tests with scripts/test")
)
struct MultiHostConnectTests {
    /// Slack for a loaded 2-core machine.
    static let margin = Duration.milliseconds(400)

    /// The test server's conninfo with its host and port replaced by `hosts` and `ports`.
    static func conninfo(hosts: String, ports: String) throws -> String {
        let base = try #require(TestEnvironment.conninfo)
        return
            base
            .replacingOccurrences(of: #"host=\S+"#, with: "host=\(hosts)", options: .regularExpression)
            .replacingOccurrences(of: #"port=\S+"#, with: "port=\(ports)", options: .regularExpression)
    }

    static var realPort: String {
        get throws {
            let base = try #require(TestEnvironment.conninfo)
            let match = try #require(base.range(of: #"port=\d+"#, options: .regularExpression))
            return String(base[match].dropFirst("port=".count))
        }
    }

    @Test(
        "host=silent,real: the first call reaches the real server within the call deadline (1.5 s; 400 ms, as at interval 500ms)",
        arguments: [1500, 400]
    )
    func silentFirstHost(milliseconds: Int) async throws {
        let silent = try SilentListener()
        let conninfo = try Self.conninfo(hosts: "127.0.0.1,127.0.0.1", ports: "\(silent.port),\(try Self.realPort)")
        let deadline = Duration.milliseconds(milliseconds)
        let slot = ConnectionSlot(settings: DatabaseSettings(conninfo: conninfo, callTimeout: deadline))
        let started = ContinuousClock.now
        let result: Result<PGRows, PGError>
        do throws(PGError) {
            result = .success(
                try await slot.with(timeout: deadline) { conn, left throws(PGError) in
                    try await conn.query("SELECT 1 AS one", timeout: left)
                }
            )
        } catch {
            result = .failure(error)
        }
        let took = started.duration(to: .now)
        print(
            "silent first host: \(result.map { $0.value(0, "one") ?? "?" }) after \(took.ms) ms (deadline \(deadline.ms) ms)"
        )
        let rows = try result.get()
        #expect(rows.value(0, "one") == "1")
        #expect(took <= deadline + Self.margin)
    }

    @Test("a single silent host fails within the deadline, and the abandoned attempt's socket is closed")
    func singleSilentHost() async throws {
        let silent = try SilentListener()
        let conninfo = try Self.conninfo(hosts: "127.0.0.1", ports: "\(silent.port)")
        let deadline = Duration.milliseconds(1000)
        let slot = ConnectionSlot(settings: DatabaseSettings(conninfo: conninfo, callTimeout: deadline))
        let started = ContinuousClock.now
        var failure: PGError?
        do throws(PGError) {
            _ = try await slot.with(timeout: deadline) { conn, left throws(PGError) in
                try await conn.query("SELECT 1", timeout: left)
            }
        } catch {
            failure = error
        }
        let took = started.duration(to: .now)
        print("single silent host: \(failure.map(String.init(describing:)) ?? "connected?") after \(took.ms) ms")
        #expect(failure != nil)
        #expect(took <= deadline + Self.margin)
        // The attempt is abandoned, not left running on its queue: the client closes its socket.
        let closedAt = silent.waitForClientClose(until: started + deadline + Self.margin)
        print(
            "single silent host: client socket closed after \(closedAt.map { started.duration(to: $0).ms }.map(String.init) ?? "never") ms"
        )
        #expect(
            closedAt != nil,
            "the abandoned connect was still open \((deadline + Self.margin).ms) ms after the call began"
        )
    }

    @Test("a slow reconnect and its statement together stay within the call deadline")
    func reconnectThenStatement() async throws {
        let proxy = try DelayingProxy(delay: .milliseconds(700), upstreamPort: try Self.realPort)
        defer { proxy.stop() }
        let conninfo = try Self.conninfo(hosts: "127.0.0.1", ports: "\(proxy.port)")
        let deadline = Duration.milliseconds(1500)
        let slot = ConnectionSlot(settings: DatabaseSettings(conninfo: conninfo, callTimeout: deadline))
        let started = ContinuousClock.now
        var failure: PGError?
        do throws(PGError) {
            _ = try await slot.with(timeout: deadline) { conn, left throws(PGError) in
                try await conn.query("SELECT pg_sleep(5)", timeout: left)
            }
        } catch {
            failure = error
        }
        let took = started.duration(to: .now)
        print(
            "slow reconnect + slow statement: \(failure.map(String.init(describing:)) ?? "answered?") after \(took.ms) ms (deadline \(deadline.ms) ms)"
        )
        #expect(failure?.code == .timedOut)
        #expect(took <= deadline + Self.margin)

        // And a fast statement after the slow reconnect is answered within the same deadline.
        let fresh = ConnectionSlot(settings: DatabaseSettings(conninfo: conninfo, callTimeout: deadline))
        let again = ContinuousClock.now
        let rows = try await fresh.with(timeout: deadline) { conn, left throws(PGError) in
            try await conn.query("SELECT 2 AS two", timeout: left)
        }
        #expect(rows.value(0, "two") == "2")
        #expect(again.duration(to: .now) <= deadline + Self.margin)
    }

    @Test("a wrong password over a host list: one authentication failure, the password in no message")
    func wrongPasswordOverHosts() async throws {
        let refused = try SilentListener.refusedPort()
        let hosts = try Self.conninfo(
            hosts: "127.0.0.1,127.0.0.1,127.0.0.1",
            ports: "\(refused),\(try Self.realPort),\(refused)"
        )
        let secret = "Secret-Wrong-\(UInt32.random(in: 1000...9999))"
        let conninfo = hosts.replacingOccurrences(
            of: #"password=\S+"#,
            with: "password=\(secret)",
            options: .regularExpression
        )
        let slot = ConnectionSlot(settings: DatabaseSettings(conninfo: conninfo, callTimeout: .milliseconds(1500)))
        var failure: PGError?
        do throws(PGError) {
            _ = try await slot.with(timeout: .milliseconds(1500)) { conn, left throws(PGError) in
                try await conn.query("SELECT 1", timeout: left)
            }
        } catch {
            failure = error
        }
        let error = try #require(failure)
        print("wrong password over three hosts: \(error)")
        #expect(error.code == .authenticationFailed)
        #expect(error.message.contains("password authentication failed"))
        #expect(!error.message.contains(secret) && !error.description.contains(secret))

        // Every host refusing: one line naming each, no password.
        let allRefused = conninfo.replacingOccurrences(
            of: #"port=\S+"#,
            with: "port=\(refused),\(refused)",
            options: .regularExpression
        ).replacingOccurrences(of: "host=127.0.0.1,127.0.0.1,127.0.0.1", with: "host=127.0.0.1,127.0.0.1")
        do throws(PGError) {
            _ = try await ConnectionSlot(settings: DatabaseSettings(conninfo: allRefused, callTimeout: .seconds(1)))
                .with(timeout: .seconds(1)) { conn, left throws(PGError) in
                    try await conn.query("SELECT 1", timeout: left)
                }
            Issue.record("connected to a refused port")
        } catch {
            print("two refused hosts: \(error)")
            #expect(error.code == .connectionFailed)
            #expect(error.description.contains("none of 2 hosts connected"))
            #expect(!error.message.contains(secret))
        }
    }
}

/// How a connection string's hosts become single-host attempts (no server needed).
@Suite("Connect plan: one attempt per host")
struct ConnectPlanTests {
    @Test("keyword lists, a URI, hostaddr, one port for all, and libpq's reading of connect_timeout")
    func splitsHostLists() {
        let plain = ConnectPlan(conninfo: "host=db1,db2 port=5432,5433 dbname=x", environment: [:])
        #expect(plain.targets.map(\.host) == ["db1", "db2"])
        #expect(plain.targets.map(\.port) == ["5432", "5433"])
        #expect(plain.perHostLimit == nil)
        let uri = ConnectPlan(conninfo: "postgresql://u@db1:5432,db2:6432/x?connect_timeout=1", environment: [:])
        #expect(uri.targets.map(\.host) == ["db1", "db2"])
        #expect(uri.targets.map(\.port) == ["5432", "6432"])
        #expect(uri.perHostLimit == .seconds(2), "libpq raises 1 s to 2 s")
        let onePort = ConnectPlan(
            conninfo: "host=a,b,c hostaddr=10.0.0.1,10.0.0.2,10.0.0.3 port=7000",
            environment: [:]
        )
        #expect(onePort.targets.map(\.port) == ["7000", "7000", "7000"])
        #expect(onePort.targets.map(\.hostaddr) == ["10.0.0.1", "10.0.0.2", "10.0.0.3"])
        let fromEnvironment = ConnectPlan(
            conninfo: "dbname=x",
            environment: ["PGHOST": "e1,e2", "PGPORT": "1,2", "PGCONNECT_TIMEOUT": "7"]
        )
        #expect(fromEnvironment.targets.map(\.host) == ["e1", "e2"])
        #expect(fromEnvironment.perHostLimit == .seconds(7))
    }

    @Test(
        "lists libpq must read itself stay one attempt",
        arguments: ["host=db1 port=5432", "host=a,,b", "host=a,b port=1,2,3", "service=prod", "dbname=x"]
    )
    func wholeConninfo(conninfo: String) {
        #expect(ConnectPlan(conninfo: conninfo, environment: [:]).targets.count == 1)
    }

    @Test("each host gets its share of what is left, at least 100 ms while it lasts, at most connect_timeout")
    func shares() {
        let plan = ConnectPlan(conninfo: "host=a,b,c", environment: [:])
        #expect(plan.share(of: .seconds(3), hostsLeft: 3) == .seconds(1))
        #expect(plan.share(of: .milliseconds(320), hostsLeft: 2) == .milliseconds(160))
        #expect(plan.share(of: .milliseconds(240), hostsLeft: 3) == .milliseconds(100))
        #expect(plan.share(of: .milliseconds(60), hostsLeft: 2) == .milliseconds(60))
        #expect(plan.share(of: .seconds(4), hostsLeft: 1) == .seconds(4))
        let capped = ConnectPlan(conninfo: "host=a,b connect_timeout=2", environment: [:])
        #expect(capped.share(of: .seconds(10), hostsLeft: 2) == .seconds(2))
    }
}

/// A TCP socket on 127.0.0.1 that completes handshakes (the kernel does) and never reads or answers:
/// a powered-off host behind a load balancer, or a frozen server, as a client sees it.
final class SilentListener {
    let fd: Int32
    let port: Int

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw HarnessError("socket: \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, listen(fd, 16) == 0 else {
            close(fd)
            throw HarnessError("bind/listen: \(errno)")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        self.fd = fd
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    /// A port on 127.0.0.1 where nothing listens (a connect is refused at once).
    static func refusedPort() throws -> Int {
        let listener = try SilentListener()
        return listener.port  // closed when `listener` goes away, before anyone connects
    }

    /// Accepts the waiting client connection and reads until it is closed; the instant it was seen closed,
    /// or nil if it was still open at `until`.
    func waitForClientClose(until: ContinuousClock.Instant) -> ContinuousClock.Instant? {
        var listening = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&listening, 1, Self.milliseconds(until)) > 0 else { return nil }
        let client = accept(fd, nil, nil)
        guard client >= 0 else { return nil }
        defer { close(client) }
        var buffer = [UInt8](repeating: 0, count: 1024)
        while ContinuousClock.now < until {
            var descriptor = pollfd(fd: client, events: Int16(POLLIN), revents: 0)
            guard poll(&descriptor, 1, Self.milliseconds(until)) > 0 else { return nil }
            let count = read(client, &buffer, buffer.count)
            if count <= 0 { return .now }
        }
        return nil
    }

    private static func milliseconds(_ until: ContinuousClock.Instant) -> Int32 {
        Int32(max(0, ContinuousClock.now.duration(to: until).ms))
    }

    deinit { close(fd) }
}

/// A TCP proxy (python3) on 127.0.0.1 that waits `delay` before it connects each client to the server:
/// a slow connect (a far or loaded server) that does succeed.
final class DelayingProxy {
    private let process = Process()
    let port: Int

    init(delay: Duration, upstreamPort: String) throws {
        let script = """
            import asyncio, sys
            delay, upstream = float(sys.argv[1]), int(sys.argv[2])
            async def pump(reader, writer):
                try:
                    while data := await reader.read(65536):
                        writer.write(data)
                        await writer.drain()
                finally:
                    writer.close()
            async def handle(reader, writer):
                await asyncio.sleep(delay)
                up_reader, up_writer = await asyncio.open_connection('127.0.0.1', upstream)
                await asyncio.gather(pump(reader, up_writer), pump(up_reader, writer), return_exceptions=True)
            async def main():
                server = await asyncio.start_server(handle, '127.0.0.1', 0)
                print(server.sockets[0].getsockname()[1], flush=True)
                await server.serve_forever()
            asyncio.run(main())
            """
        let output = Pipe()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = ["-c", script, String(Double(delay.ms) / 1000), upstreamPort]
        process.standardOutput = output
        try process.run()
        let line = String(decoding: output.fileHandleForReading.availableData, as: UTF8.self)
        guard let port = Int(line.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            process.terminate()
            throw HarnessError("delaying proxy did not start: '\(line)'")
        }
        self.port = port
    }

    /// Stops the proxy (by its own PID; SIGKILL, since the test process's children may ignore SIGTERM)
    /// and reaps it.
    func stop() {
        let pid = process.processIdentifier
        guard pid > 0 else { return }
        kill(pid, SIGKILL)
        var status: Int32 = 0
        _ = waitpid(pid, &status, 0)
    }
}
