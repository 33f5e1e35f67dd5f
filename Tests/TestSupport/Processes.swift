import Dispatch
import Foundation
import Synchronization
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The environment `scripts/test` sets; tests that need a server or the binary are skipped, saying why,
/// without it. Shared by every test target.
public enum TestEnvironment {
    /// The test PostgreSQL (`scripts/postgres start`).
    public static let conninfo = ProcessInfo.processInfo.environment["HOTSTANDBY_TEST_PG_CONNINFO"]
    /// The built `hotstandby` binary.
    public static let binary = ProcessInfo.processInfo.environment["HOTSTANDBY_BINARY"]
    /// The repository's root (for `scripts/`).
    public static let repository: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    /// A PostgreSQL and the built binary are available.
    public static var available: Bool { conninfo != nil && binary != nil }
    /// Why a test that needs both is skipped.
    public static let skipReason: Comment =
        "needs HOTSTANDBY_TEST_PG_CONNINFO and HOTSTANDBY_BINARY: run the tests with scripts/test"
    /// A PostgreSQL and the built binary are available (the operator tests' name for `available`).
    public static var daemons: Bool { available }
    /// The same reason.
    public static let daemonsReason: Comment = skipReason
    /// The binary alone is available.
    public static var hasBinary: Bool { binary != nil }
    /// Why a test that needs the binary is skipped.
    public static let binaryReason: Comment = "needs HOTSTANDBY_BINARY: run the tests with scripts/test"

    /// A fresh folder for one test, kept under `HOTSTANDBY_TEST_WORK` when set (CI keeps it as an artifact).
    public static func workDirectory(_ name: String) throws -> String {
        let base = ProcessInfo.processInfo.environment["HOTSTANDBY_TEST_WORK"] ?? NSTemporaryDirectory()
        let path = base + "/ops-\(name)-\(UUID().uuidString.prefix(6))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// The first of `names` found in the usual binary folders.
    public static func tool(_ names: String...) -> String? {
        for name in names {
            for folder in ["/usr/local/bin", "/usr/bin", "/bin", "/usr/sbin", "/sbin"] {
                let path = folder + "/" + name
                if FileManager.default.isExecutableFile(atPath: path) { return path }
            }
        }
        return nil
    }
}

/// A test harness failure, with what went wrong.
public struct HarnessError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Runs a program to completion off Swift's cooperative pool and returns its status and combined output.
@discardableResult
public func runProgram(
    _ path: String,
    _ arguments: [String],
    environment: [String: String] = [:]
) async throws -> (status: Int32, output: String) {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global().async {
            continuation.resume(with: Result { try runProgramSync(path, arguments, environment: environment) })
        }
    }
}

/// Runs a program to completion, blocking the calling thread.
@discardableResult
public func runProgramSync(
    _ path: String,
    _ arguments: [String],
    environment: [String: String] = [:]
) throws -> (status: Int32, output: String) {
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
/// `standardError` instead when given); returns its PID. The caller reaps it.
public func spawn(
    _ argv: [String],
    outputPath: String,
    environment: [String: String] = [:],
    standardError: Int32? = nil
) throws -> pid_t {
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
    defer { for entry in cEnv { free(entry) } }
    var cArgv = argv.map { strdup($0) } + [nil]
    defer { for word in cArgv { free(word) } }
    var child: pid_t = 0
    let rc = posix_spawn(&child, argv[0], &actions, nil, &cArgv, &cEnv)
    guard rc == 0 else { throw HarnessError("cannot start \(argv[0]): error \(rc)") }
    return child
}

/// A free TCP port on 127.0.0.1 (bound to port 0, read back, closed).
public func freePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw HarnessError("socket failed") }
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
    guard bound else { throw HarnessError("bind failed") }
    return Int(UInt16(bigEndian: address.sin_port))
}
