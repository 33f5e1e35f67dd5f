import Foundation
import Testing

@testable import SharedFolderSync

#if canImport(Glibc)
    import Glibc
#endif

@Suite(.serialized) struct SharedFolderFailureTests {
    // Needs root to mount a small tmpfs as the share.
    @Test(.enabled(if: isRoot, "mounting a tmpfs needs root")) func fullShareIsReportedAndLocalDataUntouched()
        async throws
    {
        let lab = try Lab()
        defer { lab.remove() }
        guard mountTmpfs(lab.share, options: "size=512k") else {
            Issue.record("mount -t tmpfs failed although running as root")
            return
        }
        defer { unmount(lab.share) }
        let big = String(repeating: "0123456789", count: 200_000)
        try lab.write("conf/big.dat", big)
        let sync = try lab.sync(node: "a", requireMount: true)
        for _ in 0..<2 {  // reported, and reported again on retry
            let error = await expectError(.noSpace) {
                try await sync.publish(epoch: 1, node: "a", leaseStillHeld: held)
            }
            #expect(error?.isRetryable == true)
            #expect(error?.message.contains("local files are untouched") == true)
        }
        #expect(lab.read("conf/big.dat") == big)
        // Nothing but the share's identity (written at the first publish, before the snapshot ran out of space).
        let left = try FileManager.default.contentsOfDirectory(atPath: lab.share)
        #expect(left == [ShareIdentity.fileName], "\(left)")
        try FileManager.default.removeItem(atPath: lab.local + "/conf/big.dat")
        try lab.write("conf/small", "fits")
        _ = try await sync.publish(epoch: 1, node: "a", leaseStillHeld: held)
        #expect(lab.snapshotFolders().count == 1)
    }

    @Test(.enabled(if: isRoot, "mounting a read-only tmpfs needs root")) func readOnlyShareIsReported() async throws {
        let lab = try Lab()
        defer { lab.remove() }
        guard mountTmpfs(lab.share, options: "size=1m,ro") else {
            Issue.record("mount -t tmpfs -o ro failed although running as root")
            return
        }
        defer { unmount(lab.share) }
        try lab.write("conf/a.conf", "precious", mode: 0o640)
        let sync = try lab.sync(node: "a", requireMount: true)
        let error = await expectError(.readOnly) { try await sync.publish(epoch: 1, node: "a", leaseStillHeld: held) }
        #expect(error?.isRetryable == true)
        #expect(error?.message.contains("read-only") == true || error?.message.contains("Read-only") == true)
        #expect(lab.read("conf/a.conf") == "precious" && lab.mode("conf/a.conf") == 0o640)
    }

    @Test("a share hung by an earlier pull does not stop a takeover's restore: the local cache is restored")
    func restoreFromCacheWhileTheShareIsHung() async throws {
        let lab = try Lab()
        defer { lab.remove() }
        try lab.write("conf/a.conf", "v1")
        let active = try lab.sync(node: "a")
        let standby = try lab.sync(node: "b", ioTimeout: .milliseconds(600))
        _ = try await active.publish(epoch: 1, node: "a", leaseStillHeld: held)
        _ = try await standby.pull()  // the cache holds v1
        try lab.write("conf/a.conf", "v2")
        _ = try await active.publish(epoch: 1, node: "a", leaseStillHeld: held)
        let newest = lab.share + "/" + lab.snapshotFolders().last! + "/data/0"
        unlink(newest)
        #expect(mkfifo(newest, 0o600) == 0)
        defer {  // unblock the stuck reader whatever happens
            let writer = open(newest, O_WRONLY | O_NONBLOCK)
            if writer >= 0 { close(writer) }
        }
        _ = await expectError(.timedOut) { try await standby.pull() }
        #expect(standby.stuckOperation != nil, "the pull should still be stuck on the FIFO")

        // The host lost its copy; the standby takes over while the share is still hung.
        try FileManager.default.removeItem(atPath: lab.local + "/conf/a.conf")
        let started = ContinuousClock.now
        let report = try await standby.restore()
        #expect(ContinuousClock.now - started < .seconds(2), "the restore waited on the hung share")
        #expect(report.shareError?.code == .stuck, "\(String(describing: report.shareError))")
        #expect(report.restored?.sequence == 1, "restored \(String(describing: report.restored))")
        #expect(lab.read("conf/a.conf") == "v1")
    }

    @Test func hungReadTimesOutWithoutDelayingOtherTasks() async throws {
        let lab = try Lab()
        defer { lab.remove() }
        try lab.write("conf/a.conf", "v1")
        _ = try await lab.sync(node: "a").publish(epoch: 1, node: "a", leaseStillHeld: held)
        // Replace the stored file with a FIFO: opening it for reading blocks forever, like a hung NFS read.
        let fifo = lab.share + "/" + lab.snapshotFolders()[0] + "/data/0"
        unlink(fifo)
        #expect(mkfifo(fifo, 0o600) == 0)

        // A 2 s I/O deadline: a reader blocking the cooperative pool would make the timer ~2 s late, far
        // from the scheduling noise of a loaded 2-core machine (1.26 s was seen with 800 ms here).
        let standby = try lab.sync(node: "b", ioTimeout: .milliseconds(2000))
        let period = Duration.milliseconds(20)
        let ticking = Task {  // a heartbeat-like timer on the cooperative pool
            var worst = Duration.zero
            let clock = ContinuousClock()
            var next = clock.now + period
            while !Task.isCancelled {
                try? await Task.sleep(until: next, clock: clock)
                worst = max(worst, clock.now - next)
                next += period
            }
            return worst
        }
        let started = ContinuousClock.now
        let error = await expectError(.timedOut) { try await standby.pull() }
        let took = ContinuousClock.now - started
        #expect(error != nil)
        #expect(took >= .milliseconds(2000) && took < .milliseconds(5000), "timed out after \(took)")
        // While the reader is stuck, new work is refused at once instead of piling up.
        let quick = ContinuousClock.now
        let stuck = await expectError(.stuck) { try await standby.pull() }
        #expect(stuck != nil && ContinuousClock.now - quick < .milliseconds(200))
        #expect(standby.stuckOperation != nil)
        try await Task.sleep(for: .milliseconds(200))
        ticking.cancel()
        let lateness = await ticking.value
        // Below the 2 s I/O deadline: a reader blocking the cooperative pool would make the timer
        // at least that late; scheduling noise on a loaded 2-core machine stays well under it.
        #expect(lateness < .milliseconds(1500), "timer was up to \(lateness) late")

        // Unblock the reader (a writer opens and closes the FIFO): the thread ends and work resumes.
        let writer = open(fifo, O_WRONLY | O_NONBLOCK)
        #expect(writer >= 0)
        close(writer)
        try await Task.sleep(for: .milliseconds(100))
        #expect(standby.stuckOperation == nil)
        // With a damaged regular file in its place, the pull completes and rejects that snapshot.
        unlink(fifo)
        #expect(FileManager.default.createFile(atPath: fifo, contents: Data("v2".utf8)))
        let again = try await standby.pull()
        #expect(again.rejected.count == 1 && again.cached == nil)
    }
}
