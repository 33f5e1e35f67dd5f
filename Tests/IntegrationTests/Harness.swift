import Dispatch
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Synchronization
import Testing

/// The environment `scripts/test` sets; integration tests are skipped, saying why, without it.
enum TestEnvironment {
    static let conninfo = ProcessInfo.processInfo.environment["HOTSTANDBY_TEST_PG_CONNINFO"]
    static let binary = ProcessInfo.processInfo.environment["HOTSTANDBY_BINARY"]
    static let repository: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    /// True when a PostgreSQL and the built binary are available (run through `scripts/test`).
    static var available: Bool { conninfo != nil && binary != nil }
    static let skipReason: Comment = "needs HOTSTANDBY_TEST_PG_CONNINFO and HOTSTANDBY_BINARY: run the tests with scripts/test"
}

/// Runs a program to completion off Swift's cooperative pool and returns its status and combined output.
@discardableResult
func runProgram(_ path: String, _ arguments: [String], environment: [String: String] = [:]) async throws -> (status: Int32, output: String) {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global().async {
            continuation.resume(with: Result { try runProgramSync(path, arguments, environment: environment) })
        }
    }
}

/// Runs a program to completion, blocking the calling thread.
@discardableResult
func runProgramSync(_ path: String, _ arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32, output: String) {
    // Output goes to a file, not a pipe: a daemon the program starts (pg_ctl's postmaster) may keep
    // an inherited pipe open forever. posix_spawn and waitpid, not Foundation's Process, so that
    // nothing depends on a run loop.
    let outputPath = NSTemporaryDirectory() + "hs-out-" + UUID().uuidString
    defer { unlink(outputPath) }
    let pid = try spawn([path] + arguments, outputPath: outputPath, environment: environment)
    var status: Int32 = 0
    while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
    let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
    let exitCode: Int32 = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    return (exitCode, text)
}

/// Starts `argv` with standard output and error appended to `outputPath` (standard error to
/// `standardError` instead when given); returns its PID.
func spawn(_ argv: [String], outputPath: String, environment: [String: String] = [:], standardError: Int32? = nil) throws -> pid_t {
    let fd = open(outputPath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw HarnessError("cannot open \(outputPath)") }
    defer { close(fd) }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_adddup2(&actions, fd, 1)
    posix_spawn_file_actions_adddup2(&actions, standardError ?? fd, 2)
    var env = ProcessInfo.processInfo.environment
    env.merge(environment) { $1 }
    var cEnv = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
    defer { cEnv.forEach { free($0) } }
    var cArgv = argv.map { strdup($0) } + [nil]
    defer { cArgv.forEach { free($0) } }
    var child: pid_t = 0
    let rc = posix_spawn(&child, argv[0], &actions, nil, &cArgv, &cEnv)
    guard rc == 0 else { throw HarnessError("cannot start \(argv[0]): error \(rc)") }
    return child
}

/// A throwaway PostgreSQL of the test's own (for tests that stop or freeze the database).
final class OwnPostgres: Sendable {
    let directory: String
    let conninfo: String

    init() throws {
        directory = NSTemporaryDirectory() + "hs-ownpg-" + UUID().uuidString.prefix(8)
        let (status, output) = try runProgramSync(TestEnvironment.repository + "/scripts/postgres", ["start", directory])
        guard status == 0, let line = output.split(separator: "\n").first(where: { $0.contains("PG_CONNINFO") }) else {
            throw HarnessError("scripts/postgres start failed: \(output)")
        }
        conninfo = String(line.split(separator: "'")[1])
    }

    func stop() async throws { try await runProgram(TestEnvironment.repository + "/scripts/postgres", ["stop", directory]) }
    func restart() async throws { try await runProgram(TestEnvironment.repository + "/scripts/postgres", ["restart", directory]) }

    deinit {
        _ = try? runProgramSync(TestEnvironment.repository + "/scripts/postgres", ["stop", directory])
        try? FileManager.default.removeItem(atPath: directory)
    }
}

struct HarnessError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// One `hotstandby run` process, spawned and reaped by hand (posix_spawn/waitpid) so the tests see
/// the moment it dies and never wait on a run loop.
final class NodeProcess: Sendable {
    let name: String
    let configPath: String
    let logPath: String
    private let state = Mutex<(pid: pid_t, exited: Bool)>((0, false))

    init(name: String, configPath: String, logPath: String) {
        self.name = name
        self.configPath = configPath
        self.logPath = logPath
    }

    var pid: pid_t { state.withLock { $0.pid } }

    func start(standardError: Int32? = nil) throws {
        let child = try spawn(
            [TestEnvironment.binary!, "run", "--config", configPath], outputPath: logPath, standardError: standardError)
        state.withLock { $0 = (child, false) }
    }

    /// True while the process has not exited (a stopped process is running).
    var isRunning: Bool {
        state.withLock { state in
            guard state.pid > 0, !state.exited else { return false }
            var status: Int32 = 0
            let reaped = waitpid(state.pid, &status, WNOHANG)
            // -1: someone else reaped it (or it is not ours any more): it is gone either way.
            if reaped == state.pid || reaped == -1 { state.exited = true }
            return !state.exited
        }
    }

    func signal(_ signal: Int32) {
        let pid = self.pid
        if pid > 0 && isRunning { kill(pid, signal) }
    }

    func waitForExit(timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while ContinuousClock.now < deadline {
            if !isRunning { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return !isRunning
    }

    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    deinit {
        let (pid, exited) = state.withLock { $0 }
        if pid > 0 && !exited {
            kill(pid, SIGCONT)
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
    }
}
