import Dispatch
import Foundation
import Synchronization
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A throwaway PostgreSQL of the test's own (for tests that stop or freeze the database).
final class OwnPostgres: Sendable {
    let directory: String
    let conninfo: String

    init() throws {
        directory = NSTemporaryDirectory() + "hs-ownpg-" + UUID().uuidString.prefix(8)
        let (status, output) = try runProgramSync(
            TestEnvironment.repository + "/scripts/postgres",
            ["start", directory]
        )
        guard status == 0, let line = output.split(separator: "\n").first(where: { $0.contains("PG_CONNINFO") }) else {
            throw HarnessError("scripts/postgres start failed: \(output)")
        }
        conninfo = String(line.split(separator: "'")[1])
    }

    func stop() async throws {
        try await runProgram(TestEnvironment.repository + "/scripts/postgres", ["stop", directory])
    }
    func restart() async throws {
        try await runProgram(TestEnvironment.repository + "/scripts/postgres", ["restart", directory])
    }

    deinit {
        _ = try? runProgramSync(TestEnvironment.repository + "/scripts/postgres", ["stop", directory])
        try? FileManager.default.removeItem(atPath: directory)
    }
}

/// One `hotstandby run` process (TestSupport's `ChildProcess`, running the daemon on `configPath`).
typealias NodeProcess = ChildProcess

extension ChildProcess {
    /// A daemon that `start()` runs as `hotstandby run --config configPath`.
    convenience init(name: String, configPath: String, logPath: String) {
        self.init(name: name, logPath: logPath, argv: [TestEnvironment.binary!, "run", "--config", configPath])
    }
}
