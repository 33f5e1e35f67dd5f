import Foundation
import Synchronization
import Testing

@testable import SharedFolderSync

#if canImport(Glibc)
    import Glibc
#endif

@Suite(.serialized) struct SharedFolderSyncTests {
    @Test func roundTripKeepsBytesAndModes() async throws {
        let lab = try Lab()
        defer { lab.remove() }
        try lab.write("conf/a.conf", "alpha v1", mode: 0o640)
        try lab.write("conf/nested/b.bin", String(repeating: "xyz", count: 400_000), mode: 0o600)
        try lab.write("top.txt", "top v1", mode: 0o755)
        let active = try lab.sync(node: "a")
        let first = try await active.publish(epoch: 1, node: "a", leaseStillHeld: held)
        #expect(first.filesCopied == 3)
        try lab.write("conf/a.conf", "alpha v2", mode: 0o640)
        let second = try await active.publish(epoch: 1, node: "a", leaseStillHeld: held)
        #expect(second.sequence == 2)
        #expect(second.filesCopied == 1)
        #expect(second.filesLinked == 2)

        // The standby's disk holds stale and missing files; it pulls, then takes over.
        let standby = try lab.sync(node: "b")
        let pulled = try await standby.pull()
        #expect(pulled.updated && pulled.cached?.sequence == 2 && pulled.rejected.isEmpty)
        try lab.write("conf/a.conf", "stale", mode: 0o600)
        try FileManager.default.removeItem(atPath: lab.local + "/conf/nested/b.bin")
        let report = try await standby.restore()
        #expect(report.restored?.sequence == 2)
        #expect(report.rejected.isEmpty)
        #expect(lab.read("conf/a.conf") == "alpha v2")
        #expect(lab.read("conf/nested/b.bin") == String(repeating: "xyz", count: 400_000))
        #expect(lab.mode("conf/a.conf") == 0o640)
        #expect(lab.mode("conf/nested/b.bin") == 0o600)
        #expect(lab.mode("top.txt") == 0o755)
        #expect(report.filesWritten == 2 && report.filesUnchanged == 1)
        let kept = try #require(report.backupFolder)
        #expect(
            String(
                decoding: try Data(contentsOf: URL(fileURLWithPath: kept + lab.local + "/conf/a.conf")),
                as: UTF8.self
            ) == "stale"
        )
        let status = await standby.status()
        #expect(status.newest?.sequence == 2 && status.cached?.sequence == 2 && status.cacheAgeSeconds != nil)
    }

    @Test func flippedByteIsRejectedAndPreviousSnapshotRestored() async throws {
        let lab = try Lab()
        defer { lab.remove() }
        try lab.write("conf/a.conf", "good one")
        let active = try lab.sync(node: "a")
        _ = try await active.publish(epoch: 1, node: "a", leaseStillHeld: held)
        try lab.write("conf/a.conf", "newer one")
        _ = try await active.publish(epoch: 1, node: "a", leaseStillHeld: held)
        // Flip a byte of the changed file in the newest snapshot.
        let newest = lab.share + "/" + lab.snapshotFolders().last!
        let manifest = try SnapshotManifest.load(newest, key: nil, ticker: IOTicker())
        let stored = newest + "/" + manifest.files.first { $0.path.hasSuffix("a.conf") }!.stored
        var bytes = try Data(contentsOf: URL(fileURLWithPath: stored))
        bytes[0] ^= 0x01
        try bytes.write(to: URL(fileURLWithPath: stored))

        try lab.write("conf/a.conf", "local before takeover")
        let report = try await lab.sync(node: "b").restore()
        #expect(report.rejected.count == 1)
        #expect(report.rejected.first?.code == .verificationFailed)
        #expect(report.restored?.sequence == 1)
        #expect(lab.read("conf/a.conf") == "good one")
    }

    @Test func stagingWithoutManifestAndLowerEpochAreIgnored() async throws {
        let lab = try Lab()
        defer { lab.remove() }
        // A deposed node's late snapshot (epoch 1, sequence 2) made in another share, moved in later.
        let elsewhere = try Lab()
        defer { elsewhere.remove() }
        try elsewhere.write("conf/a.conf", "from the deposed node")
        let deposed = try SharedFolderSync(
            config: .init(
                cluster: "test",
                path: elsewhere.share,
                paths: [lab.local],
                stateDirectory: elsewhere.root + "/s",
                requireMount: false
            ),
            logger: .init(label: "t")
        )
        try lab.write("conf/a.conf", "from the deposed node")
        _ = try await deposed.publish(epoch: 1, node: "a", leaseStillHeld: held)
        _ = try await deposed.publish(epoch: 1, node: "a", leaseStillHeld: held)

        try lab.write("conf/a.conf", "from the new active")
        _ = try await lab.sync(node: "b").publish(epoch: 2, node: "b", leaseStillHeld: held)
        try FileManager.default.moveItem(
            atPath: elsewhere.share + "/snapshot-e1-s2-a",
            toPath: lab.share + "/snapshot-e1-s2-a"
        )
        try FileManager.default.createDirectory(
            atPath: lab.share + "/.staging-a-123/data",
            withIntermediateDirectories: true
        )
        try FileManager.default.createDirectory(
            atPath: lab.share + "/snapshot-e9-s99-ghost/data",
            withIntermediateDirectories: true
        )

        try lab.write("conf/a.conf", "stale")
        let report = try await lab.sync(node: "c").restore()
        #expect(report.restored?.epoch == 2)
        #expect(report.rejected.isEmpty)
        #expect(lab.read("conf/a.conf") == "from the new active")
    }

    @Test func deposedNodeCannotPublish() async throws {
        let lab = try Lab()
        defer { lab.remove() }
        try lab.write("conf/a.conf", "v1")
        let old = try lab.sync(node: "a")
        _ = try await old.publish(epoch: 1, node: "a", leaseStillHeld: held)
        _ = try await lab.sync(node: "b").publish(epoch: 2, node: "b", leaseStillHeld: held)
        let refused = await expectError(.deposed) { try await old.publish(epoch: 1, node: "a", leaseStillHeld: held) }
        #expect(refused?.message.contains("epoch 2") == true)
        // A new active that publishes while the old one is staging: the old one's rename is refused.
        let racing = await expectError(.deposed) {
            try await old.publish(epoch: 2, node: "a") {
                _ = try? await lab.sync(node: "c").publish(epoch: 3, node: "c", leaseStillHeld: held)
                return true
            }
        }
        #expect(racing != nil)
        let lost = await expectError(.deposed) { try await lab.sync(node: "c").publish(epoch: 3, node: "c") { false } }
        #expect(lost != nil)
        #expect(lab.snapshotFolders() == ["snapshot-e1-s1-a", "snapshot-e2-s2-b", "snapshot-e3-s3-c"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: lab.share).allSatisfy { !$0.hasPrefix(".staging") })
    }

    @Test func unmountedShareIsRefused() async throws {
        let lab = try Lab()
        defer { lab.remove() }
        try lab.write("conf/a.conf", "v1")
        let sync = try lab.sync(node: "a", requireMount: true)
        let error = await expectError(.notMounted) { try await sync.publish(epoch: 1, node: "a", leaseStillHeld: held) }
        #expect(error?.message.contains("sharedFolder.path '\(lab.share)'") == true)
        #expect(error?.message.contains("sharedFolder.requireMount") == true)
        #expect(lab.snapshotFolders().isEmpty)
        #expect(FileManager.default.createFile(atPath: lab.share + "/.hotstandby-share", contents: Data()))
        _ = try await sync.publish(epoch: 1, node: "a", leaseStillHeld: held)
        #expect(lab.snapshotFolders().count == 1)
    }

    @Test func encryptedRoundTrip() async throws {
        let lab = try Lab()
        defer { lab.remove() }
        let keyFile = lab.root + "/share.key"
        let key = (0..<32).map { _ in UInt8.random(in: 0...255) }
        try Data(Data(key).base64EncodedString().utf8).write(to: URL(fileURLWithPath: keyFile))
        chmod(keyFile, 0o644)
        #expect(throws: SharedFolderError.self) { try lab.sync(node: "a", key: keyFile) }
        chmod(keyFile, 0o600)
        let secret = "password=hunter2 " + String(repeating: "s", count: 3_000_000)
        try lab.write("conf/a.conf", secret)
        _ = try await lab.sync(node: "a", key: keyFile).publish(epoch: 1, node: "a", leaseStillHeld: held)
        let folder = lab.share + "/" + lab.snapshotFolders()[0]
        let stored = try Data(contentsOf: URL(fileURLWithPath: folder + "/data/0"))
        #expect(stored.range(of: Data("hunter2".utf8)) == nil)
        try lab.write("conf/a.conf", "gone")
        let report = try await lab.sync(node: "b", key: keyFile).restore()
        #expect(report.rejected.isEmpty)
        #expect(lab.read("conf/a.conf") == secret)
        // Without the key the snapshot is not used.
        let plain = try await lab.sync(node: "c").restore()
        #expect(plain.restored == nil)
    }

    @Test func filesDeletedDuringAPublishAreLeftOutNotFatal() async throws {
        let lab = try Lab()
        defer { lab.remove() }
        for index in 0..<300 { try lab.write("conf/f\(index)", String(repeating: "x", count: 2_000)) }
        // A service that writes temporary files and folders and removes them, all the time.
        let stop = Mutex(false)
        let churn = Thread { [local = lab.local] in
            var round = 0
            while !stop.withLock({ $0 }) {
                let file = local + "/conf/.tmp\(round % 5)"
                let folder = local + "/conf/nested/tmpdir\(round % 3)"
                _ = FileManager.default.createFile(atPath: file, contents: Data("partial".utf8))
                try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
                _ = FileManager.default.createFile(atPath: folder + "/part", contents: Data("p".utf8))
                unlink(file)
                try? FileManager.default.removeItem(atPath: folder)
                round += 1
            }
        }
        churn.start()
        defer { stop.withLock { $0 = true } }
        let active = try lab.sync(node: "a")
        for _ in 0..<15 {
            let info = try await active.publish(epoch: 1, node: "a", leaseStillHeld: held)
            #expect(info.fileCount >= 300)
        }
        stop.withLock { $0 = true }
        try await Task.sleep(for: .milliseconds(50))
        let last = try await active.publish(epoch: 1, node: "a", leaseStillHeld: held)
        #expect(last.fileCount == 300)
    }

    @Test func configErrorsNameTheKey() {
        var config = SharedFolderConfig(
            cluster: "test",
            path: "relative",
            paths: [],
            stateDirectory: "/var/lib/hs",
            keep: 1,
            keepBackups: 0
        )
        let messages = config.problems().map(\.message).joined(separator: "\n")
        #expect(messages.contains("sharedFolder.path 'relative'"))
        #expect(messages.contains("sharedFolder.paths is empty"))
        #expect(messages.contains("sharedFolder.keep 1"))
        #expect(messages.contains("sharedFolder.keepBackups 0 is too small"))
        #expect(
            SharedFolderConfig(cluster: "test", path: "/mnt/share", paths: ["/srv"], stateDirectory: "/var/lib/hs")
                .keepBackups == 5
        )
        config = SharedFolderConfig(
            cluster: "test",
            path: "/mnt/share",
            paths: ["/mnt/share/x"],
            stateDirectory: "/var/lib/hs"
        )
        #expect(config.problems().first?.message.contains("sharedFolder.paths[0]") == true)
    }
}
