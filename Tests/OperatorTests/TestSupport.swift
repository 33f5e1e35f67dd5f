import Dispatch
import Foundation
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The environment `scripts/test` sets; tests that need a server are skipped, saying why, without it.
enum OpsEnvironment {
    static let conninfo = ProcessInfo.processInfo.environment["HOTSTANDBY_TEST_PG_CONNINFO"]
    static let binary = ProcessInfo.processInfo.environment["HOTSTANDBY_BINARY"]
    static let repository: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()
    /// A PostgreSQL and the built binary are available.
    static var daemons: Bool { conninfo != nil && binary != nil }
    static let daemonsReason: Comment = "needs HOTSTANDBY_TEST_PG_CONNINFO and HOTSTANDBY_BINARY: run the tests with scripts/test"
    /// The binary alone is available.
    static var hasBinary: Bool { binary != nil }
    static let binaryReason: Comment = "needs HOTSTANDBY_BINARY: run the tests with scripts/test"

    /// A fresh folder for one test, kept under `HOTSTANDBY_TEST_WORK` when set (CI keeps it as an artifact).
    static func workDirectory(_ name: String) throws -> String {
        let base = ProcessInfo.processInfo.environment["HOTSTANDBY_TEST_WORK"] ?? NSTemporaryDirectory()
        let path = base + "/ops-\(name)-\(UUID().uuidString.prefix(6))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// The first of `names` found in the usual binary folders.
    static func tool(_ names: String...) -> String? {
        for name in names {
            for folder in ["/usr/local/bin", "/usr/bin", "/bin", "/usr/sbin", "/sbin"] {
                let path = folder + "/" + name
                if FileManager.default.isExecutableFile(atPath: path) { return path }
            }
        }
        return nil
    }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Runs a program to completion off Swift's cooperative pool; returns its exit status and combined output.
@discardableResult
func run(_ path: String, _ arguments: [String], environment: [String: String] = [:]) async throws -> (status: Int32, output: String) {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global().async {
            continuation.resume(with: Result { try runSync(path, arguments, environment: environment) })
        }
    }
}

func runSync(_ path: String, _ arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32, output: String) {
    let outputPath = NSTemporaryDirectory() + "ops-out-" + UUID().uuidString
    defer { unlink(outputPath) }
    let pid = try spawnProcess([path] + arguments, outputPath: outputPath, environment: environment)
    var status: Int32 = 0
    while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
    let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
    let exitCode: Int32 = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    return (exitCode, text)
}

/// Starts `argv` with output appended to `outputPath` (a file, never a pipe a daemon could hold open).
func spawnProcess(_ argv: [String], outputPath: String, environment: [String: String] = [:]) throws -> pid_t {
    let fd = open(outputPath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw TestFailure("cannot open \(outputPath)") }
    defer { close(fd) }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_adddup2(&actions, fd, 1)
    posix_spawn_file_actions_adddup2(&actions, fd, 2)
    var env = ProcessInfo.processInfo.environment
    env.merge(environment) { $1 }
    var cEnv = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
    defer { cEnv.forEach { free($0) } }
    var cArgv = argv.map { strdup($0) } + [nil]
    defer { cArgv.forEach { free($0) } }
    var child: pid_t = 0
    let rc = posix_spawn(&child, argv[0], &actions, nil, &cArgv, &cEnv)
    guard rc == 0 else { throw TestFailure("cannot start \(argv[0]): error \(rc)") }
    return child
}

/// A free TCP port on 127.0.0.1 (bound to port 0, read back, closed).
func freePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw TestFailure("socket failed") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
            bind(fd, raw, length) == 0 && getsockname(fd, raw, &length) == 0
        }
    }
    guard bound else { throw TestFailure("bind failed") }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// One `hotstandby run` process, reaped by hand so the test sees when it dies.
final class Daemon: Sendable {
    let name: String
    let logPath: String
    private let pidBox = Mutex<pid_t>(0)

    init(name: String, config: String, logPath: String, environment: [String: String] = [:]) throws {
        self.name = name
        self.logPath = logPath
        let pid = try spawnProcess([OpsEnvironment.binary!, "run", "--config", config], outputPath: logPath, environment: environment)
        pidBox.withLock { $0 = pid }
    }

    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// Sends `signal` and, for SIGKILL and SIGTERM, waits for the process to end.
    func stop(_ signal: Int32 = SIGTERM) {
        let pid = pidBox.withLock { pid in defer { pid = 0 }; return pid }
        guard pid > 0 else { return }
        kill(pid, signal)
        var status: Int32 = 0
        let deadline = ContinuousClock.now.advanced(by: .seconds(10))
        while waitpid(pid, &status, WNOHANG) == 0 {
            if ContinuousClock.now > deadline { kill(pid, SIGKILL) }
            usleep(20_000)
        }
    }

    /// Waits up to `timeout` for the process to exit by itself; its exit status (128 + N for signal N),
    /// or nil while it still runs.
    func waitForExit(within timeout: Duration) async -> Int32? {
        let pid = pidBox.withLock { $0 }
        guard pid > 0 else { return nil }
        let deadline = ContinuousClock.now.advanced(by: timeout)
        var status: Int32 = 0
        while ContinuousClock.now < deadline {
            if waitpid(pid, &status, WNOHANG) == pid {
                pidBox.withLock { $0 = 0 }
                let signal = status & 0x7f
                return signal == 0 ? (status >> 8) & 0xff : 128 + signal
            }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return nil
    }

    deinit { stop(SIGKILL) }
}

/// A TCP socket listening on 127.0.0.1 at a free port, as another program holding `http.listen` would.
final class Listener: Sendable {
    let fd: Int32
    let port: Int

    init() throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket failed") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let fd = self.fd
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
                bind(fd, raw, length) == 0 && listen(fd, 8) == 0 && getsockname(fd, raw, &length) == 0
            }
        }
        guard bound else {
            close(fd)
            throw TestFailure("bind or listen failed")
        }
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit { close(fd) }
}

/// A cluster of the test's own in the shared test database.
struct OpsCluster {
    let directory: String
    let name: String

    init(_ label: String) throws {
        directory = try OpsEnvironment.workDirectory(label)
        name = "\(label)-\(UUID().uuidString.prefix(6))"
    }

    /// Writes `<node>.yaml` with HTTP on `port`; returns its path.
    func config(node: String, port: Int, extra: String = "") throws -> String {
        let yaml = """
            cluster: "\(name)"
            node: "\(node)"
            logLevel: info
            stateDirectory: "\(directory)/\(node)-state"
            database:
              conninfo: "\(OpsEnvironment.conninfo!)"
            heartbeat:
              interval: 200ms
              timeout: 2s
            http:
              listen: "127.0.0.1:\(port)"
            \(extra)
            """
        let path = directory + "/\(node).yaml"
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func initDB(config: String) async throws {
        let result = try await run(OpsEnvironment.binary!, ["init-db", "--config", config])
        guard result.status == 0 else { throw TestFailure("init-db failed: \(result.output)") }
    }

    func start(_ node: String, port: Int, extra: String = "", environment: [String: String] = [:]) throws -> Daemon {
        let path = try config(node: node, port: port, extra: extra)
        return try Daemon(name: node, config: path, logPath: directory + "/\(node).log", environment: environment)
    }
}

/// An HTTP exchange through the curl binary: status code and body.
func http(_ method: String, _ url: String, headers: [String] = []) async throws -> (code: Int, body: String) {
    var arguments = ["-s", "-S", "-m", "3", "-X", method, "-w", "\n%{http_code}", url]
    for header in headers { arguments += ["-H", header] }
    let result = try await run("/usr/bin/curl", arguments)
    guard result.status == 0 else { return (0, result.output) }
    var lines = result.output.split(separator: "\n", omittingEmptySubsequences: false)
    let code = Int(lines.popLast() ?? "") ?? 0
    return (code, lines.joined(separator: "\n"))
}

/// Polls `condition` every 100 ms until it holds or `timeout` passes.
func eventually(_ timeout: Duration, _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now.advanced(by: timeout)
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(100))
    }
    return try await condition()
}

/// `GET url` through curl.
func get(_ url: String) async throws -> (code: Int, body: String) { try await http("GET", url) }
