import Foundation
import TestSupport
import Testing

@testable import Heartbeat

#if canImport(Glibc)
    import Glibc
#endif

extension IntegrationSuite {
    /// A statement that misses its deadline is cancelled with libpq's `PQcancel`, which connects to the server
    /// and waits for it with no deadline of its own. Found by the fault matrix (the active cut from the database
    /// with the failsafe on, in CI): the cancels ran on `DispatchQueue.global()`, which on Linux is the pool
    /// Swift's tasks run on, `ncpu` threads wide; cancels to a silent server held those threads, the run loop
    /// stopped for over 1.5 s and the watchdog killed the active.
    @Suite("Cancels off Swift's pool")
    struct CancelOffPoolTests {
        @Test(
            "statements that miss their deadline while the postmaster is stopped: their cancels wait, on at most 8 threads of their own, and the tasks do not"
        )
        func cancelsDoNotStallTasks() async throws {
            let database = try OwnPostgres()
            let pidText = try String(contentsOfFile: database.directory + "/postgres.pid", encoding: .utf8)
            let postmaster = try #require(pid_t(pidText.trimmingCharacters(in: .whitespacesAndNewlines)))
            // More statements than the pool has threads and than the 8 cancels that may wait at once, each on a
            // connection of its own.
            let count = max(ProcessInfo.processInfo.activeProcessorCount + 2, 10)
            var connections: [PGConnection] = []
            for _ in 0..<count {
                connections.append(
                    try await PGConnection.connect(
                        conninfo: database.conninfo,
                        timeout: .seconds(5),
                        applicationName: "cancel-test"
                    )
                )
            }
            // The backends keep running; the postmaster, which a cancel request connects to, answers nothing
            // (the kernel still accepts the connection, so PQcancel waits for the postmaster's reply).
            #expect(kill(postmaster, SIGSTOP) == 0)
            defer { kill(postmaster, SIGCONT) }

            let watch = Task {
                var longest = Duration.zero
                var last = ContinuousClock.now
                let end = last.advanced(by: .seconds(4))
                while ContinuousClock.now < end {
                    try? await Task.sleep(for: .milliseconds(20))
                    let now = ContinuousClock.now
                    longest = max(longest, last.duration(to: now))
                    last = now
                }
                return longest
            }
            let started = ContinuousClock.now
            var failures: [String] = []
            await withTaskGroup(of: String?.self) { group in
                for connection in connections {
                    group.addTask {
                        do throws(PGError) {
                            _ = try await connection.query("SELECT pg_sleep(30)", timeout: .milliseconds(200))
                            return "the statement returned"
                        } catch {
                            return error.code == .timedOut ? nil : "\(error)"
                        }
                    }
                }
                for await failure in group { if let failure { failures.append(failure) } }
            }
            let expired = started.duration(to: .now)
            let longest = await watch.value
            print(
                "\(count) statements expired after \(expired.ms) ms; the longest gap of a 20 ms sleep loop \(longest.ms) ms"
            )
            #expect(failures.isEmpty, "\(failures)")
            #expect(expired < .seconds(1), "each statement's deadline is 200 ms")
            #expect(longest < .milliseconds(500), "cancels waiting for a silent server held Swift's pool")
            // Each waiting cancel is a thread of its own, at most 8; once the postmaster answers they end.
            #expect(Self.cancelThreads() == 8, "threads waiting to cancel: \(Self.cancelThreads())")
            kill(postmaster, SIGCONT)
            var left = Self.cancelThreads()
            for _ in 0..<50 where left > 0 {
                try await Task.sleep(for: .milliseconds(100))
                left = Self.cancelThreads()
            }
            #expect(left == 0, "cancel threads still alive 5 s after the postmaster resumed")
        }

        /// The threads of this process named `hotstandby-cancel` (as `comm` shows it: 15 bytes).
        static func cancelThreads() -> Int {
            let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
            return tasks.filter { task in
                let comm = try? String(contentsOfFile: "/proc/self/task/\(task)/comm", encoding: .utf8)
                return comm?.hasPrefix("hotstandby-canc") == true
            }.count
        }
    }
}
