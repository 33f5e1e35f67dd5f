import Foundation
import Logging
import TestSupport
import Testing

@testable import SharedFolderSync

/// The local cache belongs to one cluster and one share: a cache left by another share, another
/// cluster or an earlier life of the cluster (a new database, epochs from 1 again) is never restored.
@Suite(.serialized) struct CacheIdentityTests {
    /// A configuration for `share`, keeping its cache in `state`, protecting the lab's local folder.
    static func config(_ lab: Lab, share: String, state: String, cluster: String = "billing") -> SharedFolderConfig {
        SharedFolderConfig(
            cluster: cluster,
            path: share,
            paths: [lab.local],
            stateDirectory: state,
            keep: 3,
            requireMount: false
        )
    }

    static func sync(_ lab: Lab, share: String, state: String, cluster: String = "billing") throws -> SharedFolderSync {
        try FileManager.default.createDirectory(atPath: share, withIntermediateDirectories: true)
        return try SharedFolderSync(
            config: config(lab, share: share, state: state, cluster: cluster),
            logger: .init(label: "t")
        )
    }

    /// Publishes `count` snapshots of the lab's local folder with `blob.bin` = `content`.
    static func publish(_ lab: Lab, _ sync: SharedFolderSync, epoch: Int64, content: String, count: Int = 1)
        async throws
    {
        try lab.write("blob.bin", content)
        for _ in 0..<count { _ = try await sync.publish(epoch: epoch, node: "a", leaseStillHeld: held) }
    }

    @Test("case 1: a cache of an earlier cluster life with the same snapshot name is not restored")
    func sameNameFromAnEarlierLifeIsNotRestored() async throws {
        let lab = try Lab()
        defer { lab.remove() }
        let state = lab.root + "/state-b"
        // The earlier cluster on this host: its own share, a database whose epochs started at 1.
        let oldShare = lab.root + "/old-share"
        try await Self.publish(
            lab,
            try Self.sync(lab, share: oldShare, state: lab.root + "/old-a"),
            epoch: 1,
            content: "old life",
            count: 5
        )
        let oldPull = try await Self.sync(lab, share: oldShare, state: state).pull()
        #expect(oldPull.cached?.sequence == 5)

        // The new cluster (same name, a fresh database, another share) publishes the same name.
        try await Self.publish(
            lab,
            try Self.sync(lab, share: lab.share, state: lab.root + "/new-a"),
            epoch: 1,
            content: "new life",
            count: 5
        )
        #expect(lab.snapshotFolders().last == "snapshot-e1-s5-a")
        try lab.write("blob.bin", "standby's stale copy")
        let standby = try Self.sync(lab, share: lab.share, state: state)
        let report = try await standby.restore()
        #expect(report.restored?.epoch == 1 && report.restored?.sequence == 5)
        #expect(lab.read("blob.bin") == "new life")
    }

    @Test("case 2: after a new database (epochs from 1 again) pulls go on and the newest snapshot is restored")
    func newDatabaseEpochsRestartingAtOneArePulled() async throws {
        let lab = try Lab()
        defer { lab.remove() }
        let active = try Self.sync(lab, share: lab.share, state: lab.root + "/state-a")
        let standby = try Self.sync(lab, share: lab.share, state: lab.root + "/state-b")
        try await Self.publish(lab, active, epoch: 7, content: "old database", count: 2)
        #expect(try await standby.pull().cached?.epoch == 7)

        // init-db on a new database; the operator clears the old snapshots out of the same share.
        for folder in lab.snapshotFolders() { try FileManager.default.removeItem(atPath: lab.share + "/" + folder) }
        let reborn = try Self.sync(lab, share: lab.share, state: lab.root + "/state-a")
        try await Self.publish(lab, reborn, epoch: 1, content: "new database v1")
        let first = try await standby.pull()
        #expect(first.updated && first.cached?.epoch == 1 && first.cached?.sequence == 1)
        try await Self.publish(lab, reborn, epoch: 1, content: "new database v2")
        let second = try await standby.pull()
        #expect(second.updated && second.cached?.sequence == 2, "pulls stopped: \(String(describing: second.cached))")

        try lab.write("blob.bin", "standby's stale copy")
        let report = try await standby.restore()
        #expect(report.restored?.epoch == 1 && report.restored?.sequence == 2)
        #expect(lab.read("blob.bin") == "new database v2")
    }

    @Test("case 3: sharedFolder.path pointed at another share: the old share's cache is not restored")
    func cacheOfThePreviousShareIsNotRestored() async throws {
        let lab = try Lab()
        defer { lab.remove() }
        let state = lab.root + "/state-b"
        try await Self.publish(
            lab,
            try Self.sync(lab, share: lab.share, state: lab.root + "/a1"),
            epoch: 3,
            content: "share A",
            count: 2
        )
        #expect(try await Self.sync(lab, share: lab.share, state: state).pull().cached?.epoch == 3)

        let shareB = lab.root + "/share-b"
        try await Self.publish(
            lab,
            try Self.sync(lab, share: shareB, state: lab.root + "/a2"),
            epoch: 1,
            content: "share B"
        )
        try lab.write("blob.bin", "standby's stale copy")
        let report = try await Self.sync(lab, share: shareB, state: state).restore()
        #expect(report.restored?.epoch == 1 && report.restored?.sequence == 1)
        #expect(lab.read("blob.bin") == "share B")
    }

    @Test("case 3: the new share does not answer at takeover: the old share's cache is still not restored")
    func cacheOfThePreviousShareIsNotRestoredWhenTheNewOneIsMissing() async throws {
        let lab = try Lab()
        defer { lab.remove() }
        let state = lab.root + "/state-b"
        try await Self.publish(
            lab,
            try Self.sync(lab, share: lab.share, state: lab.root + "/a1"),
            epoch: 3,
            content: "share A"
        )
        #expect(try await Self.sync(lab, share: lab.share, state: state).pull().cached?.epoch == 3)

        try lab.write("blob.bin", "local data")
        let unmounted = lab.root + "/share-c"
        let standby = try SharedFolderSync(
            config: Self.config(lab, share: unmounted, state: state),
            logger: .init(label: "t")
        )
        let report = try await standby.restore()
        #expect(report.shareError != nil)
        #expect(report.restored == nil, "restored \(String(describing: report.restored)) from another share's cache")
        #expect(report.cacheRefused?.code == .otherCluster)
        #expect(await standby.status().cached == nil, "status shows a cache that would not be restored")
        #expect(lab.read("blob.bin") == "local data")
    }

    @Test("case 4: two clusters with one state folder: neither restores the other's files")
    func twoClustersOnOneHostDoNotShareACache() async throws {
        let lab = try Lab()
        defer { lab.remove() }
        let state = lab.root + "/state"  // one stateDirectory for both (an explicit, shared setting)
        let billingShare = lab.root + "/billing-share"
        let crmShare = lab.root + "/crm-share"
        try await Self.publish(
            lab,
            try Self.sync(lab, share: billingShare, state: lab.root + "/ba", cluster: "billing"),
            epoch: 1,
            content: "billing files",
            count: 5
        )
        _ = try await Self.sync(lab, share: billingShare, state: state, cluster: "billing").pull()
        try await Self.publish(
            lab,
            try Self.sync(lab, share: crmShare, state: lab.root + "/ca", cluster: "crm"),
            epoch: 1,
            content: "crm files",
            count: 5
        )

        try lab.write("blob.bin", "crm standby's copy")
        let report = try await Self.sync(lab, share: crmShare, state: state, cluster: "crm").restore()
        #expect(report.restored?.sequence == 5)
        #expect(lab.read("blob.bin") == "crm files")
    }

    @Test("a share stamped by another cluster is refused for publishing and pulling, and keeps its identity")
    func shareOfAnotherClusterIsRefused() async throws {
        let lab = try Lab()
        defer { lab.remove() }
        try await Self.publish(
            lab,
            try Self.sync(lab, share: lab.share, state: lab.root + "/ba", cluster: "billing"),
            epoch: 1,
            content: "billing files"
        )
        let stamped = try #require(try ShareIdentity.read(lab.share + "/" + ShareIdentity.fileName, ticker: IOTicker()))
        #expect(stamped.cluster == "billing" && stamped.id.count == 32)
        let crm = try Self.sync(lab, share: lab.share, state: lab.root + "/ca", cluster: "crm")
        let publish = await expectError(.otherCluster) {
            try await crm.publish(epoch: 1, node: "a", leaseStillHeld: held)
        }
        #expect(publish?.message.contains("belongs to cluster 'billing'") == true, "\(String(describing: publish))")
        #expect(await expectError(.otherCluster) { try await crm.pull() } != nil)
        #expect(lab.snapshotFolders() == ["snapshot-e1-s1-a"])
        // A second creation (a node that lost the race) keeps the first identity.
        let again = try ShareIdentity.create(
            lab.share + "/" + ShareIdentity.fileName,
            cluster: "billing",
            ticker: IOTicker()
        )
        #expect(again == stamped)
        #expect(try FileManager.default.contentsOfDirectory(atPath: lab.share).filter { $0.contains(".tmp-") }.isEmpty)
    }

    @Test("a cache without a record (an earlier version's) is discarded and pulled again; the backups stay")
    func cacheWithoutARecordIsPulledAgain() async throws {
        let lab = try Lab()
        defer { lab.remove() }
        let state = lab.root + "/state-b"
        let standby = try Self.sync(lab, share: lab.share, state: state)
        try await Self.publish(
            lab,
            try Self.sync(lab, share: lab.share, state: lab.root + "/a"),
            epoch: 1,
            content: "v1"
        )
        _ = try await standby.pull()
        let config = Self.config(lab, share: lab.share, state: state)
        try FileManager.default.removeItem(atPath: config.localCacheDirectory + "/" + CacheIdentity.fileName)
        try FileManager.default.createDirectory(
            atPath: config.backupDirectory + "/keep-me",
            withIntermediateDirectories: true
        )
        let capture = CapturingLogHandler()
        let fresh = try SharedFolderSync(config: config, logger: Logger(label: "t") { _ in capture })
        let pulled = try await fresh.pull()
        #expect(pulled.updated && pulled.cached?.sequence == 1)
        #expect(capture.all.contains { $0.level == .warning && $0.text.contains("local cache discarded") })
        #expect(FileManager.default.fileExists(atPath: config.backupDirectory + "/keep-me"))
        #expect(CacheIdentity.read(config.localCacheDirectory, ticker: IOTicker())?.cluster == "billing")
    }
}
