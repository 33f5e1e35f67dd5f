import Dispatch
import Foundation
import Synchronization
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The operator tests' name for the shared environment.
typealias OpsEnvironment = TestEnvironment

/// One `hotstandby run` process (TestSupport's `ChildProcess`), started at once.
typealias Daemon = ChildProcess

extension ChildProcess {
    /// Starts `hotstandby run --config config` with `environment` added.
    convenience init(name: String, config: String, logPath: String, environment: [String: String] = [:]) throws {
        self.init(name: name, logPath: logPath, argv: [TestEnvironment.binary!, "run", "--config", config])
        try start(environment: environment)
    }
}

/// A TCP socket listening on 127.0.0.1 at a free port, as another program holding `http.listen` would.
final class Listener: Sendable {
    let fd: Int32
    let port: Int

    init() throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw HarnessError("socket failed") }
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
            throw HarnessError("bind or listen failed")
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
        let result = try await runProgram(OpsEnvironment.binary!, ["init-db", "--config", config])
        guard result.status == 0 else { throw HarnessError("init-db failed: \(result.output)") }
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
    let result = try await runProgram("/usr/bin/curl", arguments)
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
