import Foundation
import Testing

extension IntegrationSuite {
    @Suite("Logging never blocks the heartbeat (issue 13 item 9)")
    struct BlockedLogTests {
        @Test("stderr is a full pipe nobody reads; the database stops: the active still demotes by renewDeadline")
        func fullStderrPipe() async throws {
            let database = try OwnPostgres()
            let cluster = try TestCluster(name: "logpipe", conninfo: database.conninfo)
            let renewDeadline = cluster.timeout - cluster.interval * 3
            var fds: [Int32] = [0, 0]
            #expect(pipe(&fds) == 0)
            defer {
                close(fds[0])
                close(fds[1])
            }
            try await withSampling(cluster) {
                try cluster.config(for: "a")
                let node = NodeProcess(
                    name: "a",
                    configPath: cluster.directory + "/a.yaml",
                    logPath: cluster.directory + "/a.log"
                )
                try node.start(standardError: fds[1])
                let active = await cluster.waitUntil(.seconds(10)) { cluster.marker("a") == "active" }
                try #require(active != nil, "a never became active")
                // Fill the pipe: from now on every write to a's standard error would block. The filler is a
                // second open of the pipe (its own file description), so O_NONBLOCK stays off a's end.
                let filler = open("/proc/self/fd/\(fds[1])", O_WRONLY | O_NONBLOCK)
                try #require(filler >= 0)
                defer { close(filler) }
                let chunk = [UInt8](repeating: UInt8(ascii: "x"), count: 1)
                var filled = 0
                while true {
                    let n = chunk.withUnsafeBytes { write(filler, $0.baseAddress!, $0.count) }
                    if n <= 0 { break }
                    filled += n
                }
                #expect(fcntl(fds[1], F_GETFL) & O_NONBLOCK == 0)
                #expect(filled >= 1, "the pipe took \(filled) bytes")
                let stopped = ContinuousClock.now
                try await database.stop()
                // Every failed renew logs a warning: with a blocking handler the first one stalls the loop.
                let demoted = await cluster.waitUntil(.seconds(10)) { cluster.marker("a") == "standby" }
                let at = try #require(demoted, "a never demoted with its standard error blocked")
                print("stderr blocked, database down → a demoted after \(stopped.duration(to: at).ms) ms")
                #expect(stopped.duration(to: at) <= renewDeadline + cluster.interval + .milliseconds(500))
                node.signal(SIGKILL)
                _ = await node.waitForExit(timeout: .seconds(5))
            }
            #expect(cluster.stats.doubleSamples == 0)
        }
    }
}
