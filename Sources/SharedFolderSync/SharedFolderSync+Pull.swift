import Foundation

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
    /// is rejected (reported, remembered, never used) and the next older one newer than the cache is tried.
    public func pull() async throws -> PullReport {
        try await exclusive("pull") { try await pullLocked(allowOlderThanCache: false) }
    }

    func pullLocked(allowOlderThanCache: Bool) async throws -> PullReport {
        let rejectedBefore = memory.withLock { $0.rejected }
        let report = try await io("pull") { [self] ticker in
            try fetchNewest(skipping: rejectedBefore, allowOlderThanCache: allowOlderThanCache, ticker: ticker)
        }
        memory.withLock { $0.rejected.formUnion(report.rejectedNames) }
        for error in report.report.rejected {
            logger.error("shared folder: snapshot rejected", metadata: ["error": "\(error)"])
        }
        return report.report
    }

    private struct Fetched: Sendable {
        var report: PullReport
        var rejectedNames: [SnapshotName]
    }

    private func fetchNewest(skipping: Set<SnapshotName>, allowOlderThanCache: Bool, ticker: IOTicker) throws -> Fetched {
        try checkShare()
        try PosixIO.makeDirectories(config.localCacheDirectory)
        let cached = try? SnapshotManifest.load(cacheCurrent, key: cipher.key, ticker: ticker)
        let cachedName = cached.map { SnapshotName(epoch: $0.epoch, sequence: $0.sequence, node: $0.node) }
        var names = try listSnapshots()
        if let cachedName { names.append(cachedName) }
        var rejected: [SharedFolderError] = []
        var rejectedNames: [SnapshotName] = []
        var result: SnapshotInfo? = cached.map(SnapshotInfo.init)
        var updated = false
        for name in SnapshotName.usable(names) where !skipping.contains(name) {
            if let cachedName, name == cachedName || (!allowOlderThanCache && name < cachedName) { break }
            do {
                result = try fetch(name, cached: cached, ticker: ticker)
                updated = true
                break
            } catch let error as SharedFolderError where error.code == .verificationFailed {
                rejected.append(SharedFolderError(
                    .verificationFailed,
                    "snapshot \(name.folder) rejected: \(error.message); the previous good snapshot is used",
                    path: shareFolder(name)))
                rejectedNames.append(name)
            }
        }
        try PosixIO.writeNewFile(
            config.localCacheDirectory + "/.last-pull-" + PosixIO.randomToken(), [], ticker: ticker)
        try replaceStamp(ticker: ticker)
        return Fetched(report: PullReport(cached: result, updated: updated, rejected: rejected), rejectedNames: rejectedNames)
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
