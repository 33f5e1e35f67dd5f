import HotStandbyCore
import Subprocess
import Synchronization
import SystemPackage

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// One external program to run: an argv array (never a shell string), its environment additions,
/// optional standard input and a deadline.
///
/// The output of the program goes to an unlinked temporary file rather than a pipe, so a grandchild
/// that keeps the descriptor open (a hook that starts a daemon with `&`) cannot keep `run` waiting;
/// the program runs in its own process group, so that on expiry of the deadline the whole group is
/// ended (SIGTERM, then SIGKILL after `killGrace`).
public struct Command: Sendable, CustomStringConvertible {
    /// The program: an absolute path, or a name looked up in `PATH`.
    public var executable: String
    /// The arguments after the program name.
    public var arguments: [String]
    /// Variables added to (or replacing) the inherited environment.
    public var environment: [String: String]
    /// Bytes written to the program's standard input, then closed. Defaults to none.
    public var standardInput: String?
    /// How long the program may run before it is ended.
    public var timeout: Duration
    /// How long a program gets between SIGTERM and SIGKILL once its deadline passed. Defaults to 500 ms.
    public var killGrace: Duration
    /// How many bytes of combined output are kept. Defaults to 16 KiB.
    public var outputLimit: Int

    /// Creates a command from an argv array: `argv[0]` is the program.
    public init(
        _ argv: [String],
        environment: [String: String] = [:],
        standardInput: String? = nil,
        timeout: Duration,
        killGrace: Duration = .milliseconds(500),
        outputLimit: Int = 16 * 1024
    ) {
        self.executable = argv.first ?? ""
        self.arguments = Array(argv.dropFirst())
        self.environment = environment
        self.standardInput = standardInput
        self.timeout = timeout
        self.killGrace = killGrace
        self.outputLimit = outputLimit
    }

    /// The argv, space-separated, for log lines. Never put a secret in an argv.
    public var description: String { ([executable] + arguments).joined(separator: " ") }

    /// Runs the command to completion or its deadline, whichever comes first.
    ///
    /// - Returns: the outcome; a program that exits non-zero is a result, not an error.
    /// - Throws: `ShellError` when the program cannot be started or its deadline passed.
    public func run() async throws(ShellError) -> CommandResult {
        let started = ContinuousClock.now
        let outputFD: FileDescriptor
        do {
            outputFD = try Self.makeUnlinkedTemporaryFile()
        } catch {
            throw ShellError(
                code: .spawnFailed,
                command: description,
                message: "cannot create an output file: \(error)"
            )
        }
        defer { try? outputFD.close() }

        var options = PlatformOptions()
        options.processGroupID = 0
        options.teardownSequence = [.send(signal: .terminate, allowedDurationToNextStep: killGrace)]
        let executableRef: Executable = executable.hasPrefix("/") ? .path(FilePath(executable)) : .name(executable)
        var env: [Environment.Key: String?] = [:]
        for (key, value) in environment {
            if let envKey = Environment.Key(rawValue: key) { env[envKey] = value }
        }
        let configuration = Configuration(
            executable: executableRef,
            arguments: Arguments(arguments),
            environment: .inherit.updating(env),
            platformOptions: options
        )
        let pidBox = PIDBox()
        let input = standardInput ?? ""
        let deadline = timeout
        let outcome: Outcome
        do {
            outcome = try await withThrowingTaskGroup(of: Outcome.self) { group in
                group.addTask {
                    let result = try await Subprocess.run(
                        configuration,
                        input: .string(input),
                        output: .fileDescriptor(outputFD, closeAfterSpawningProcess: false),
                        error: .fileDescriptor(outputFD, closeAfterSpawningProcess: false)
                    ) { execution in
                        pidBox.set(execution.processIdentifier.value)
                    }
                    return .finished(result.terminationStatus)
                }
                group.addTask {
                    try await Task.sleep(for: deadline)
                    return .timedOut
                }
                let first = try await group.next()!
                if case .timedOut = first, let pid = pidBox.get() {
                    // The direct child gets the teardown sequence through cancellation; its own
                    // children share its process group and end with it.
                    kill(-pid, SIGTERM)
                }
                group.cancelAll()
                if case .timedOut = first, let pid = pidBox.get() {
                    try? await Task.sleep(for: killGrace)
                    kill(-pid, SIGKILL)
                }
                return first
            }
        } catch let error as SubprocessError {
            throw ShellError(code: .spawnFailed, command: description, message: "\(error)")
        } catch {
            throw ShellError(code: .spawnFailed, command: description, message: "\(error)")
        }
        let elapsed = ContinuousClock.now - started
        let output = Self.readBack(outputFD, limit: outputLimit)
        switch outcome {
        case .timedOut:
            throw ShellError(
                code: .timedOut,
                command: description,
                message: "did not finish within \(timeout.text); it was stopped",
                output: output
            )
        case .finished(let status):
            switch status {
            case .exited(let code):
                return CommandResult(exitCode: code, signal: nil, output: output, duration: elapsed)
            case .signaled(let signal):
                return CommandResult(exitCode: nil, signal: signal, output: output, duration: elapsed)
            }
        }
    }

    private enum Outcome: Sendable {
        case finished(TerminationStatus)
        case timedOut
    }

    private static func makeUnlinkedTemporaryFile() throws -> FileDescriptor {
        var template = Array("/tmp/hotstandby-cmd-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { throw Errno(rawValue: errno) }
        template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
        return FileDescriptor(rawValue: fd)
    }

    private static func readBack(_ fd: FileDescriptor, limit: Int) -> String {
        guard (try? fd.seek(offset: 0, from: .start)) != nil else { return "" }
        var buffer = [UInt8](repeating: 0, count: limit)
        let count = (try? buffer.withUnsafeMutableBytes { try fd.read(into: $0) }) ?? 0
        return String(decoding: buffer.prefix(count), as: UTF8.self)
    }
}

/// What a finished program left behind.
public struct CommandResult: Sendable {
    /// The exit status, or `nil` when a signal ended the program.
    public var exitCode: Int32?
    /// The signal that ended the program, if one did.
    public var signal: Int32?
    /// Standard output and standard error together, cut at the command's `outputLimit`.
    public var output: String
    /// How long the program ran.
    public var duration: Duration

    /// True when the program exited with status 0.
    public var succeeded: Bool { exitCode == 0 }

    /// "exit 3" or "signal 9", for messages.
    public var statusText: String {
        if let exitCode { return "exit \(exitCode)" }
        return "signal \(signal ?? 0)"
    }
}

/// Holds the child's PID once known, so a timed-out run can end its whole process group.
private final class PIDBox: Sendable {
    private let pid = Mutex<pid_t?>(nil)
    func set(_ value: pid_t) { pid.withLock { $0 = value } }
    func get() -> pid_t? { pid.withLock { $0 } }
}
