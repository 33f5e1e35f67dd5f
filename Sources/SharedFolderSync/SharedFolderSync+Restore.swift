import Foundation

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
    /// Why old backup folders could not be removed, if they could not (the restore itself succeeded).
    public var backupPruneError: SharedFolderError?
}

extension SharedFolderSync {
    /// Restores the newest good snapshot onto the local disk; run on takeover, before the promote hook.
    ///
    /// Brings the local cache up to date from the share first (when the share answers in time; a hung
    /// share is reported in `shareError`, and the restore goes on from the cache on a lane of its own),
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
                do {
                    let pulled = try await pullLocked(allowOlderThanCache: false)
                    report.rejected += pulled.rejected
                } catch let error as SharedFolderError {
                    logger.warning("shared folder: share not consulted, restoring from the local cache",
                        metadata: ["error": "\(error)"])
                    report.shareError = error
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
                    logger.notice("shared folder: restored snapshot",
                        metadata: ["epoch": "\(outcome.snapshot.epoch)", "sequence": "\(outcome.snapshot.sequence)",
                                   "written": "\(outcome.written)", "unchanged": "\(outcome.unchanged)"])
                    report.backupPruneError = await pruneBackups(sparing: outcome.backupFolder)
                    return report
                } catch let error as SharedFolderError where error.code == .verificationFailed {
                    // The cached copy is bad: set it aside and fall back to the previous good snapshot.
                    report.rejected.append(error)
                    logger.error("shared folder: cached snapshot rejected", metadata: ["error": "\(error)"])
                    let name = try await localIO("restore (set aside)") { [self] ticker -> SnapshotName? in
                        let manifest = try? SnapshotManifest.load(cache, key: cipher.key, ticker: ticker)
                        try PosixIO.rename(cache, config.localCacheDirectory + "/rejected-" + PosixIO.randomToken())
                        return manifest.map { SnapshotName(epoch: $0.epoch, sequence: $0.sequence, node: $0.node) }
                    }
                    if let name { memory.withLock { _ = $0.rejected.insert(name) } }
                    if report.shareError != nil { return report }
                }
            }
        }
    }
}

extension SharedFolderSync {
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
                    metadata: ["removed": "\(removed.count)", "kept": "\(keep)", "backupDirectory": "\(root)"])
            }
            return nil
        } catch {
            let failure = SharedFolderError(
                (error as? SharedFolderError)?.code ?? .ioFailed,
                "removing old backup folders in \(root) (sharedFolder.keepBackups \(keep)) failed: \(error); "
                    + "the restore succeeded; remove old backups by hand if the disk fills",
                path: (error as? SharedFolderError)?.path ?? root)
            logger.warning("shared folder: pruning old backup folders failed", metadata: ["error": "\(failure)"])
            return failure
        }
    }
}
