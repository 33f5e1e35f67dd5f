import Foundation
import Testing

@testable import SharedFolderSync

#if canImport(Glibc)
    import Glibc
#endif

/// The shortcuts that make a publish cheaper must not change what it publishes.
@Suite(.serialized) struct PublishCostTests {
    @Test func handWrittenManifestReadsBackEqual() throws {
        let odd = "/srv/ä \"quoted\" back\\slash\ttab\nnewline \u{1} bell\u{7} / emoji 🚀"
        let manifest = SnapshotManifest(
            epoch: 3,
            sequence: 9_007_199_254_740_993,
            node: "node-\"x\"",
            createdAt: 1_763_928_000.123_456_7,
            encrypted: true,
            roots: ["/srv", odd],
            directories: [.init(path: odd, mode: 0o2755, uid: 0, gid: UInt32.max)],
            files: [
                .init(
                    path: odd + "/f",
                    size: Int64.max,
                    mode: 0o4755,
                    mtime: 1_763_928_000.999_999_999,
                    uid: 1000,
                    gid: 1000,
                    sha256: String(repeating: "ab", count: 32),
                    stored: "data/0"
                ),
                .init(
                    path: "/srv/plain",
                    size: 0,
                    mode: 0o600,
                    mtime: 0.1,
                    uid: 0,
                    gid: 0,
                    sha256: String(repeating: "0", count: 64),
                    stored: "data/1"
                ),
                .init(
                    path: "/srv/old",
                    size: 1,
                    mode: 0,
                    mtime: -1.5e-7,
                    uid: 0,
                    gid: 0,
                    sha256: String(repeating: "f", count: 64),
                    stored: "data/2"
                ),
            ]
        )
        let json = try manifest.jsonBytes()
        #expect(try JSONDecoder().decode(SnapshotManifest.self, from: Data(json)) == manifest)
        #expect(try JSONSerialization.jsonObject(with: Data(json)) is [String: Any])
        let empty = SnapshotManifest(
            epoch: 1,
            sequence: 1,
            node: "a",
            createdAt: 0,
            encrypted: false,
            roots: [],
            directories: [],
            files: []
        )
        #expect(try JSONDecoder().decode(SnapshotManifest.self, from: Data(try empty.jsonBytes())) == empty)
        var bad = empty
        bad.createdAt = .nan
        #expect(throws: SharedFolderError.self) { try bad.jsonBytes() }
    }

    @Test("the manifest kept in memory is not trusted after another node published")
    func cachedManifestIsNotTrustedAfterAnotherNodePublished() async throws {
        let lab = try Lab()
        defer { lab.remove() }
        try lab.write("conf/a.conf", "v1")
        try lab.write("conf/b.conf", "same")
        let alpha = try lab.sync(node: "a")
        _ = try await alpha.publish(epoch: 1, node: "a", leaseStillHeld: held)
        // Beta takes over and publishes a version alpha never saw; then alpha takes the lease back.
        try lab.write("conf/a.conf", "v2 from beta's time")
        let beta = try lab.sync(node: "b")
        _ = try await beta.publish(epoch: 2, node: "b", leaseStillHeld: held)
        let again = try await alpha.publish(epoch: 3, node: "a", leaseStillHeld: held)
        // Alpha read beta's manifest: both files are linked from beta's snapshot, none copied.
        #expect(again.filesLinked == 2 && again.filesCopied == 0, "\(again)")
        let report = try await lab.sync(node: "c").restore()
        #expect(report.restored?.sequence == 3 && report.rejected.isEmpty)
    }

    @Test("a snapshot replaced under this process's own name is read again, never linked from blindly")
    func cachedManifestIsNotTrustedWhenItsFolderWasReplaced() async throws {
        let lab = try Lab()
        defer { lab.remove() }
        try lab.write("conf/a.conf", "first")
        try lab.write("conf/b.conf", "second")
        let alpha = try lab.sync(node: "a")
        _ = try await alpha.publish(epoch: 1, node: "a", leaseStillHeld: held)
        let first = try await alpha.publish(epoch: 1, node: "a", leaseStillHeld: held)
        #expect(first.filesLinked == 2)
        // Another process publishes a snapshot of the same name elsewhere, with the files stored in
        // the other order, and it replaces alpha's: the names data/0 and data/1 now hold other contents.
        let elsewhere = try Lab()
        defer { elsewhere.remove() }
        try elsewhere.write("conf/0.conf", "second")
        try elsewhere.write("conf/1.conf", "first")
        let other = try SharedFolderSync(
            config: .init(
                cluster: "test",
                path: elsewhere.share,
                paths: [elsewhere.local],
                stateDirectory: elsewhere.root + "/s",
                requireMount: false
            ),
            logger: .init(label: "t")
        )
        _ = try await other.publish(epoch: 1, node: "a", leaseStillHeld: held)
        _ = try await other.publish(epoch: 1, node: "a", leaseStillHeld: held)
        let name = "snapshot-e1-s2-a"
        try FileManager.default.removeItem(atPath: lab.share + "/" + name)
        try FileManager.default.moveItem(atPath: elsewhere.share + "/" + name, toPath: lab.share + "/" + name)

        _ = try await alpha.publish(epoch: 1, node: "a", leaseStillHeld: held)
        try lab.write("conf/a.conf", "local damage")
        try lab.write("conf/b.conf", "local damage")
        let report = try await lab.sync(node: "c").restore()
        #expect(report.restored?.sequence == 3 && report.rejected.isEmpty, "\(report.rejected)")
        #expect(lab.read("conf/a.conf") == "first" && lab.read("conf/b.conf") == "second")
    }

    @Test func manyFilesRoundTripWithOneReadBuffer() async throws {
        let lab = try Lab()
        defer { lab.remove() }
        // Sizes around the 1 MiB read buffer, so a stale tail of a larger file would show.
        let sizes = [0, 1, 4_095, 1 << 20, (1 << 20) + 1, 3 * (1 << 20) - 7, 17, 2 * (1 << 20)]
        var contents: [String: [UInt8]] = [:]
        for (index, size) in sizes.enumerated() {
            let bytes = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ index) }
            contents["conf/f\(index)"] = bytes
            try Data(bytes).write(to: URL(fileURLWithPath: lab.local + "/conf/f\(index)"))
        }
        _ = try await lab.sync(node: "a").publish(epoch: 1, node: "a", leaseStillHeld: held)
        for relative in contents.keys { try lab.write(relative, "x") }
        let report = try await lab.sync(node: "b").restore()
        #expect(report.rejected.isEmpty && report.filesWritten == sizes.count)
        for (relative, bytes) in contents {
            #expect(
                try Data(contentsOf: URL(fileURLWithPath: lab.local + "/" + relative)) == Data(bytes),
                "\(relative)"
            )
        }
    }
}
