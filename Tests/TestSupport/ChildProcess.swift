import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// One process a test started (a `hotstandby run` daemon, a service, a beater), spawned with `spawn` and
/// reaped by hand (waitpid), so a test sees the moment it dies and never waits on a run loop. Ended with
/// SIGKILL, by its PID, when it goes out of scope. Every test target's daemon wrapper.
public final class ChildProcess: Sendable {
    /// A name for log lines and `logs()`.
    public let name: String
    /// Where its standard output and error go.
    public let logPath: String
    /// What `start()` runs.
    public let argv: [String]
    private let state = Mutex<(pid: pid_t, exited: Bool, status: Int32?)>((0, false, nil))

    /// Creates a process that `start` runs; `argv` may also be given to `start`.
    public init(name: String, logPath: String, argv: [String] = []) {
        self.name = name
        self.logPath = logPath
        self.argv = argv
    }

    /// Its PID (0 before it started).
    public var pid: pid_t { state.withLock { $0.pid } }

    /// Starts `argv` (or the one given at creation) with `environment` added and standard error to
    /// `standardError` when given.
    public func start(_ argv: [String]? = nil, environment: [String: String] = [:], standardError: Int32? = nil) throws
    {
        let child = try spawn(
            argv ?? self.argv,
            outputPath: logPath,
            environment: environment,
            standardError: standardError
        )
        state.withLock { $0 = (child, false, nil) }
    }

    /// True while the process has not exited (a stopped process is running).
    public var isRunning: Bool {
        state.withLock { state in
            guard state.pid > 0, !state.exited else { return false }
            var status: Int32 = 0
            let reaped = waitpid(state.pid, &status, WNOHANG)
            if reaped == state.pid {
                state.exited = true
                let signal = status & 0x7f
                state.status = signal == 0 ? (status >> 8) & 0xff : 128 + signal
            } else if reaped == -1 {
                // Someone else reaped it (or it is not ours any more): it is gone either way.
                state.exited = true
            }
            return !state.exited
        }
    }

    /// Sends `signal` while it runs.
    public func signal(_ signal: Int32) {
        let pid = self.pid
        if pid > 0 && isRunning { kill(pid, signal) }
    }

    /// Sends `signal` and waits for the end (SIGKILL after 10 s).
    public func stop(_ signal: Int32 = SIGTERM) {
        self.signal(signal)
        let deadline = ContinuousClock.now.advanced(by: .seconds(10))
        while isRunning {
            if ContinuousClock.now > deadline { kill(pid, SIGKILL) }
            usleep(20_000)
        }
    }

    /// Waits up to `timeout` for the process to exit by itself; its exit status (128 + N for signal N), or nil
    /// while it still runs.
    public func waitForExit(within timeout: Duration) async -> Int32? {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while ContinuousClock.now < deadline {
            if !isRunning { return state.withLock { $0.status } ?? -1 }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return isRunning ? nil : (state.withLock { $0.status } ?? -1)
    }

    /// Waits up to `timeout` for the process to exit; whether it did.
    public func waitForExit(timeout: Duration) async -> Bool { await waitForExit(within: timeout) != nil }

    /// Everything it printed so far.
    public var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    deinit {
        let (pid, exited, _) = state.withLock { $0 }
        if pid > 0 && !exited {
            kill(pid, SIGCONT)
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
    }
}
