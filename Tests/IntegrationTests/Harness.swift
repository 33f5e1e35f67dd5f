import Foundation
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

/// Runs a program to completion and returns its status and combined output.
@discardableResult
func runProgram(_ path: String, _ arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    var env = ProcessInfo.processInfo.environment
    env.merge(environment) { $1 }
    process.environment = env
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    process.standardInput = FileHandle.nullDevice
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}

/// A throwaway PostgreSQL of the test's own (for tests that stop or freeze the database).
final class OwnPostgres: Sendable {
    let directory: String
    let conninfo: String

    init() throws {
        directory = NSTemporaryDirectory() + "hs-ownpg-" + UUID().uuidString.prefix(8)
        let (status, output) = try runProgram(TestEnvironment.repository + "/scripts/postgres", ["start", directory])
        guard status == 0, let line = output.split(separator: "\n").first(where: { $0.contains("PG_CONNINFO") }) else {
            throw HarnessError("scripts/postgres start failed: \(output)")
        }
        conninfo = String(line.split(separator: "'")[1])
    }

    func stop() throws { try runProgram(TestEnvironment.repository + "/scripts/postgres", ["stop", directory]) }
    func restart() throws { try runProgram(TestEnvironment.repository + "/scripts/postgres", ["restart", directory]) }

    deinit {
        _ = try? runProgram(TestEnvironment.repository + "/scripts/postgres", ["stop", directory])
        try? FileManager.default.removeItem(atPath: directory)
    }
}

struct HarnessError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// One `hotstandby run` process.
final class NodeProcess: @unchecked Sendable {
    // @unchecked: `process` is set once in start() before the object is shared, then only read.
    let name: String
    let configPath: String
    let logPath: String
    private var process: Process?

    init(name: String, configPath: String, logPath: String) {
        self.name = name
        self.configPath = configPath
        self.logPath = logPath
    }

    var pid: Int32 { process?.processIdentifier ?? 0 }

    func start() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: TestEnvironment.binary!)
        process.arguments = ["run", "--config", configPath]
        FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        log.seekToEndOfFile()
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        try process.run()
        self.process = process
    }

    var isRunning: Bool { process?.isRunning ?? false }

    func signal(_ signal: Int32) { if pid > 0 { kill(pid, signal) } }

    func waitForExit(timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while ContinuousClock.now < deadline {
            if !(process?.isRunning ?? false) { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return false
    }

    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    deinit {
        if let process, process.isRunning {
            kill(process.processIdentifier, SIGCONT)
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }
}
