import Foundation
import Logging
import TestSupport
import Testing

@testable import SharedFolderSync

#if canImport(Glibc)
    import Glibc
#endif

/// `sharedFolder.keepBackups`: the folders a restore keeps the replaced local files in are pruned.
@Suite(.serialized) struct BackupPruningTests {
    /// The backup folders (not other entries) in a node's backup directory, oldest first by name.
    private func backups(_ config: SharedFolderConfig) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: config.backupDirectory)) ?? []
        return names.filter { BackupFolders.Name($0) != nil && !$0.hasPrefix(".") }.sorted()
    }

    private func bytes(_ path: String) -> [UInt8]? {
        (try? Data(contentsOf: URL(fileURLWithPath: path))).map(Array.init)
    }

    @Test func restoresKeepOnlyTheNewestBackupsByteForByte() async throws {
        let lab = try Lab()
        defer { lab.remove() }
        try lab.write("conf/a.conf", "published")
        try Data((0..<300_000).map { _ in UInt8.random(in: 0...255) })
            .write(to: URL(fileURLWithPath: lab.local + "/conf/nested/big.bin"))
        _ = try await lab.sync(node: "a").publish(epoch: 1, node: "a", leaseStillHeld: held)

        let keep = 3
        let standby = try lab.sync(node: "b", keepBackups: keep)
        var written: [(folder: String, conf: [UInt8], big: [UInt8])] = []
        for round in 0..<6 {
            // The standby's disk differs from the snapshot before each takeover, so each restore
            // replaces both files and keeps the local versions in a new backup folder.
            let conf = Array("local version \(round)\n".utf8)
            let big = (0..<250_000 + round).map { _ in UInt8.random(in: 0...255) }
            try Data(conf).write(to: URL(fileURLWithPath: lab.local + "/conf/a.conf"))
            try Data(big).write(to: URL(fileURLWithPath: lab.local + "/conf/nested/big.bin"))
            let report = try await standby.restore()
            #expect(report.restored?.sequence == 1 && report.filesWritten == 2)
            #expect(report.backupPruneError == nil)
            let folder = try #require(report.backupFolder)
            written.append((folder, conf, big))
            #expect(backups(standby.config).count == min(round + 1, keep), "after restore \(round)")
            #expect(FileManager.default.fileExists(atPath: folder), "the folder just written is kept")
            #expect(lab.read("conf/a.conf") == "published")
        }
        // Exactly the three newest remain, each holding byte-identical copies of what it replaced.
        let kept = backups(standby.config)
        #expect(kept == written.suffix(keep).map { PosixIO.baseName($0.folder) })
        for backup in written.suffix(keep) {
            #expect(bytes(backup.folder + lab.local + "/conf/a.conf") == backup.conf)
            #expect(bytes(backup.folder + lab.local + "/conf/nested/big.bin") == backup.big)
        }
        for backup in written.prefix(written.count - keep) {
            #expect(!FileManager.default.fileExists(atPath: backup.folder))
        }
        // No half-deleted folder is left behind.
        let all = try FileManager.default.contentsOfDirectory(atPath: standby.config.backupDirectory)
        #expect(all.allSatisfy { !$0.hasPrefix(BackupFolders.deletingPrefix) }, "\(all)")
    }

    @Test func olderNamesArePrunedAndOtherEntriesLeftAlone() async throws {
        let lab = try Lab()
        defer { lab.remove() }
        try lab.write("conf/a.conf", "published")
        _ = try await lab.sync(node: "a").publish(epoch: 2, node: "a", leaseStillHeld: held)
        let standby = try lab.sync(node: "b", keepBackups: 1)
        let root = standby.config.backupDirectory
        // A backup named by an older version (to the second, with a random token), an interrupted
        // prune's leftover, the operator's own folder, and a file that only looks like a backup.
        for folder in ["20200101-000000-ab12-e1-s1", ".deleting-20190101-000000.000000-e1-s1", "operator-notes"] {
            try FileManager.default.createDirectory(
                atPath: root + "/" + folder + "/x",
                withIntermediateDirectories: true
            )
            try Data("kept by hand".utf8).write(to: URL(fileURLWithPath: root + "/" + folder + "/x/file"))
        }
        try Data("not a folder".utf8).write(to: URL(fileURLWithPath: root + "/20200101-000000.000000-e1-s1"))
        try lab.write("conf/a.conf", "local")
        let report = try await standby.restore()
        let newest = try #require(report.backupFolder)
        let entries = Set(try FileManager.default.contentsOfDirectory(atPath: root))
        #expect(entries == [PosixIO.baseName(newest), "operator-notes", "20200101-000000.000000-e1-s1"])
        #expect(bytes(newest + lab.local + "/conf/a.conf") == Array("local".utf8))
        #expect(bytes(root + "/operator-notes/x/file") == Array("kept by hand".utf8))
    }

    @Test func namesSortByTimeThenEpochAndSequence() throws {
        let names = [
            "20261123-192000.500000-e3-s9", "20261123-192000-ab12-e3-s7", "20261123-192000.000001-e3-s8",
            "20261123-191959-e9-s9", "20261124-000000.000000-e1-s1", "20261123-192000-ffff-e4-s1",
        ].compactMap(BackupFolders.Name.init)
        #expect(names.count == 6)
        #expect(
            names.sorted().map(\.folder) == [
                "20261123-191959-e9-s9", "20261123-192000-ab12-e3-s7", "20261123-192000-ffff-e4-s1",
                "20261123-192000.000001-e3-s8", "20261123-192000.500000-e3-s9", "20261124-000000.000000-e1-s1",
            ]
        )
        for other in [
            "operator-notes", "20261123-192000", "2026112x-192000-e1-s1", "20261123-192000.12a-e1-s1",
            "20261123-192000.1-e1-sx", "20261123-192000xyz-e1-s1",
        ] {
            #expect(BackupFolders.Name(other) == nil, "\(other)")
        }
        let stamp = BackupFolders.stamp(Date(timeIntervalSince1970: 1_795_461_600.25))
        #expect(stamp == "20261123-192000.250000")
    }

    // Needs root: an old backup folder that is a mount point cannot be renamed away (EBUSY).
    @Test(.enabled(if: isRoot, "mounting a tmpfs needs root")) func failureToPruneIsLoggedNotFatal() async throws {
        let lab = try Lab()
        defer { lab.remove() }
        try lab.write("conf/a.conf", "published")
        _ = try await lab.sync(node: "a").publish(epoch: 1, node: "a", leaseStillHeld: held)
        let capture = CapturingLogHandler()
        let standby = try lab.sync(node: "b", keepBackups: 1, logger: Logger(label: "test") { _ in capture })
        let stuck = standby.config.backupDirectory + "/20200101-000000.000000-e1-s1"
        try FileManager.default.createDirectory(atPath: stuck, withIntermediateDirectories: true)
        guard mountTmpfs(stuck, options: "size=64k") else {
            Issue.record("mount -t tmpfs failed although running as root")
            return
        }
        defer { unmount(stuck) }
        try lab.write("conf/a.conf", "local")
        let report = try await standby.restore()
        #expect(report.restored?.sequence == 1)
        #expect(lab.read("conf/a.conf") == "published")
        let failure = try #require(report.backupPruneError)
        #expect(failure.message.contains("sharedFolder.keepBackups 1"), "\(failure)")
        #expect(failure.message.contains("the restore succeeded"))
        let newest = try #require(report.backupFolder)
        #expect(bytes(newest + lab.local + "/conf/a.conf") == Array("local".utf8))
        #expect(FileManager.default.fileExists(atPath: stuck))
        let warnings = capture.all.filter {
            $0.level == .warning && $0.text.contains("pruning old backup folders failed")
        }
        #expect(warnings.count == 1)
    }
}
