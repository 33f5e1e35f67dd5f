import FoundationEssentials
import Glibc

/// The outcome of a `pull`.
public struct PullReport: Sendable {
    /// The snapshot the local cache holds now (nil when there is none yet).
    public var cached: SnapshotInfo?
    /// Whether this pull brought a newer snapshot into the cache.
    public var updated: Bool
    /// Snapshots that failed verification and were skipped: raise an alert for each.
    public var rejected: [SharedFolderError]
}

extension SharedFolderSync {
    var cacheCurrent: String { config.localCacheDirectory + "/current" }

    /// Copies the newest complete snapshot from the share into the local cache, verifying every
    /// checksum, so a takeover needs no copy over the network. A snapshot that fails verification
    /// is rejected (reported, remembered, never used) and the next older one is tried.
    ///
    /// The cache is matched to the share by identity and content, never by snapshot name: a cache
    /// filled from another share or cluster is discarded first (see `adoptCache`), and the share's
    /// newest snapshot is pulled whenever its manifest's seal differs from the cached one's, whatever
    /// the names say (a new database numbers epochs from 1 again).
    public func pull() async throws -> PullReport {
        try await exclusive("pull") { try await pullLocked() }
    }

    /// `pull` for a caller that already runs exclusively (`restore`).
    func pullLocked() async throws -> PullReport {
        let rejectedBefore = memory.withLock { $0.rejected }
        let report = try await io("pull") { [self] ticker in
            try fetchNewest(skipping: rejectedBefore, ticker: ticker)
        }
        memory.withLock {
            $0.rejected.formUnion(report.rejectedSeals)
            $0.shareId = report.shareId
        }
        if let discarded = report.discarded {
            logger.warning(
                "shared folder: local cache discarded, it belongs to another share or cluster",
                metadata: ["reason": "\(discarded)", "cache": "\(config.localCacheDirectory)"]
            )
        }
        for error in report.report.rejected {
            logger.error("shared folder: snapshot rejected", metadata: ["error": "\(error)"])
        }
        return report.report
    }

    private struct Fetched: Sendable {
        var report: PullReport
        var rejectedSeals: [String]
        var shareId: String
        var discarded: String?
    }

    private func fetchNewest(skipping: Set<String>, ticker: IOTicker) throws -> Fetched {
        try checkShare()
        let share = try shareIdentity(ticker: ticker)
        let discarded = try adoptCache(for: share, ticker: ticker)
        let cached = try? SnapshotManifest.load(cacheCurrent, key: cipher.key, ticker: ticker)
        let cachedSeal = cached == nil ? nil : try? Self.seal(of: cacheCurrent, ticker: ticker)
        var rejected: [SharedFolderError] = []
        var rejectedSeals: [String] = []
        var result: SnapshotInfo? = cached.map(SnapshotInfo.init)
        var updated = false
        for name in SnapshotName.usable(try listSnapshots()) {
            let seal = try? Self.seal(of: shareFolder(name), ticker: ticker)
            if let seal, skipping.contains(seal) { continue }
            if let seal, seal == cachedSeal { break }  // the cache holds this very snapshot
            do {
                result = try fetch(name, cached: cached, ticker: ticker)
                updated = true
                break
            } catch let error as SharedFolderError where error.code == .verificationFailed {
                rejected.append(
                    SharedFolderError(
                        .verificationFailed,
                        "snapshot \(name.folder) rejected: \(error.message); the previous good snapshot is used",
                        path: shareFolder(name)
                    )
                )
                rejectedSeals.append(seal ?? "")
            }
        }
        try PosixIO.writeNewFile(
            config.localCacheDirectory + "/.last-pull-" + PosixIO.randomToken(),
            [],
            ticker: ticker
        )
        try replaceStamp(ticker: ticker)
        return Fetched(
            report: PullReport(cached: result, updated: updated, rejected: rejected),
            rejectedSeals: rejectedSeals.filter { !$0.isEmpty },
            shareId: share.id,
            discarded: discarded
        )
    }

    private func replaceStamp(ticker: IOTicker) throws {
        for name in try PosixIO.list(config.localCacheDirectory) where name.hasPrefix(".last-pull-") {
            try PosixIO.rename(config.localCacheDirectory + "/" + name, config.localCacheDirectory + "/last-pull")
        }
    }

    /// Copies one snapshot into `cache/incoming-*`, verifies it, and swaps it in as `cache/current`.
    private func fetch(_ name: SnapshotName, cached: SnapshotManifest?, ticker: IOTicker) throws -> SnapshotInfo {
        let source = shareFolder(name)
        let manifest = try SnapshotManifest.load(source, key: cipher.key, ticker: ticker)
        guard manifest.epoch == name.epoch, manifest.sequence == name.sequence else {
            throw SharedFolderError(.verificationFailed, "\(source): manifest names another snapshot")
        }
        let incoming = config.localCacheDirectory + "/incoming-" + PosixIO.randomToken()
        let reuse = Dictionary((cached?.files ?? []).map { ($0.sha256, $0.stored) }) { first, _ in first }
        do {
            try PosixIO.makeDirectories(incoming + "/" + SnapshotManifest.dataFolder)
            for file in manifest.files {
                let target = incoming + "/" + file.stored
                if let local = reuse[file.sha256], link(cacheCurrent + "/" + local, target) == 0 {
                    // Already verified when it was pulled; the restore verifies it again.
                } else {
                    do {
                        try SnapshotCipher.copyRaw(source + "/" + file.stored, to: target, ticker: ticker)
                    } catch let error as SharedFolderError where error.errno == ENOENT {
                        throw SharedFolderError(.verificationFailed, "\(source)/\(file.stored) is missing")
                    }
                }
                try cipher.verify(target, file, ticker: ticker)
            }
            for extra in [SnapshotManifest.fileName, SnapshotManifest.sealName] {
                try SnapshotCipher.copyRaw(source + "/" + extra, to: incoming + "/" + extra, ticker: ticker)
            }
            _ = try SnapshotManifest.load(incoming, key: cipher.key, ticker: ticker)
            try PosixIO.fsyncDirectory(incoming + "/" + SnapshotManifest.dataFolder)
            try PosixIO.fsyncDirectory(incoming)
            let old = config.localCacheDirectory + "/old-" + PosixIO.randomToken()
            if PosixIO.exists(cacheCurrent) { try PosixIO.rename(cacheCurrent, old) }
            try PosixIO.rename(incoming, cacheCurrent)
            try PosixIO.fsyncDirectory(config.localCacheDirectory)
            try? PosixIO.removeTree(old, ticker: ticker)
        } catch {
            try? PosixIO.removeTree(incoming, ticker: IOTicker())
            throw error
        }
        return SnapshotInfo(manifest)
    }
}
