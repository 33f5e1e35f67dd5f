import FoundationEssentials
import Glibc

/// The outcome of a `restore`.
public struct RestoreReport: Sendable {
    /// The snapshot whose files are now in place, or nil when no usable snapshot exists.
    public var restored: SnapshotInfo?
    /// Files written because they were missing or differed, and files already identical.
    public var filesWritten: Int = 0
    public var filesUnchanged: Int = 0
    /// Where the replaced local files were kept, when any were replaced.
    public var backupFolder: String?
    /// Snapshots that failed verification and were skipped: raise an alert for each.
    public var rejected: [SharedFolderError] = []
    /// Why the share could not be consulted (the cache was used as it was), if it could not.
    public var shareError: SharedFolderError?
    /// Why the local cache was not restored although the share could not be consulted: it was filled
    /// from another share, cluster or `sharedFolder.path`, or records none. Nothing was restored.
    public var cacheRefused: SharedFolderError?
    /// Why old backup folders could not be removed, if they could not (the restore itself succeeded).
    public var backupPruneError: SharedFolderError?
}

extension SharedFolderSync {
    /// Restores the newest good snapshot onto the local disk; run on takeover, before the promote hook.
    ///
    /// Brings the local cache up to date from the share first (when the share answers in time; a hung
    /// share is reported in `shareError`, and the restore goes on from the cache on a lane of its own,
    /// but only from a cache recorded for this cluster and `sharedFolder.path`: any other is refused
    /// in `cacheRefused` and nothing is restored),
    /// then writes every differing file to a temporary name in its own folder, fsyncs it, and only
    /// when all of them verified renames them into place, keeping each replaced file in
    /// `backupDirectory`. A snapshot that fails verification is rejected and the previous good one
    /// used. A failed restore never deletes or truncates a local file; files not in the snapshot are left alone.
    /// After a successful restore, backup folders beyond the newest `sharedFolder.keepBackups` are
    /// removed (never the one just written); a failure to do so is logged and reported, never thrown.
    public func restore() async throws -> RestoreReport {
        try await exclusive("restore") {
            var report = RestoreReport()
            while true {
                var pulled = false
                do {
                    let pull = try await pullLocked()
                    report.rejected += pull.rejected
                    pulled = true
                } catch let error as SharedFolderError {
                    logger.warning(
                        "shared folder: share not consulted, restoring from the local cache",
                        metadata: ["error": "\(error)"]
                    )
                    report.shareError = error
                }
                if !pulled, let refusal = await refuseUntrustedCache() {
                    report.cacheRefused = refusal
                    return report
                }
                let cache = cacheCurrent
                let backupRoot = config.backupDirectory
                do {
                    let outcome = try await localIO("restore") { [self] ticker in
                        try RestoreJob(cipher: cipher, backupRoot: backupRoot).run(from: cache, ticker: ticker)
                    }
                    guard let outcome else { return report }  // nothing cached, nothing published yet
                    report.restored = outcome.snapshot
                    report.filesWritten = outcome.written
                    report.filesUnchanged = outcome.unchanged
                    report.backupFolder = outcome.backupFolder
                    logger.notice(
                        "shared folder: restored snapshot",
                        metadata: [
                            "epoch": "\(outcome.snapshot.epoch)", "sequence": "\(outcome.snapshot.sequence)",
                            "written": "\(outcome.written)", "unchanged": "\(outcome.unchanged)",
                        ]
                    )
                    report.backupPruneError = await pruneBackups(sparing: outcome.backupFolder)
                    return report
                } catch let error as SharedFolderError where error.code == .verificationFailed {
                    // The cached copy is bad: set it aside and fall back to the previous good snapshot.
                    report.rejected.append(error)
                    logger.error("shared folder: cached snapshot rejected", metadata: ["error": "\(error)"])
                    let seal = try await localIO("restore (set aside)") { [self] ticker -> String? in
                        let seal = try? Self.seal(of: cache, ticker: ticker)
                        try PosixIO.rename(cache, config.localCacheDirectory + "/rejected-" + PosixIO.randomToken())
                        return seal
                    }
                    if let seal, !seal.isEmpty { memory.withLock { _ = $0.rejected.insert(seal) } }
                    if report.shareError != nil { return report }
                }
            }
        }
    }
}

extension SharedFolderSync {
    /// When the share could not be read: the refusal to restore a cache whose record does not name
    /// this cluster and `sharedFolder.path` (and the share id last read), or nil when it may be restored.
    func refuseUntrustedCache() async -> SharedFolderError? {
        let cache = config.localCacheDirectory
        let knownShareId = memory.withLock { $0.shareId }
        let trusted = try? await localIO("restore (check cache)") { [self] ticker -> Bool in
            cacheTrustedWithoutShare(knownShareId: knownShareId, ticker: ticker) != nil
                || !PosixIO.exists(cacheCurrent + "/" + SnapshotManifest.fileName)
        }
        if trusted == true { return nil }
        let refusal = SharedFolderError(
            .otherCluster,
            "the local cache \(cache) was not restored: it was not filled from this cluster's share at "
                + "sharedFolder.path '\(config.path)', and the share could not be read to check it; "
                + "the local files were left as they are",
            path: cache
        )
        logger.error("shared folder: local cache not restored", metadata: ["error": "\(refusal)"])
        return refusal
    }

    /// Removes backup folders beyond the newest `keepBackups`, sparing the one just written.
    /// Returns the failure instead of throwing it: the restore it follows has succeeded.
    func pruneBackups(sparing: String?) async -> SharedFolderError? {
        let root = config.backupDirectory
        let keep = config.keepBackups
        do {
            let removed = try await localIO("prune backups") { ticker in
                try BackupFolders.prune(root, keep: keep, sparing: sparing, ticker: ticker)
            }
            if !removed.isEmpty {
                logger.info(
                    "shared folder: removed old backup folders",
                    metadata: ["removed": "\(removed.count)", "kept": "\(keep)", "backupDirectory": "\(root)"]
                )
            }
            return nil
        } catch {
            let failure = SharedFolderError(
                (error as? SharedFolderError)?.code ?? .ioFailed,
                "removing old backup folders in \(root) (sharedFolder.keepBackups \(keep)) failed: \(error); "
                    + "the restore succeeded; remove old backups by hand if the disk fills",
                path: (error as? SharedFolderError)?.path ?? root
            )
            logger.warning("shared folder: pruning old backup folders failed", metadata: ["error": "\(failure)"])
            return failure
        }
    }
}
