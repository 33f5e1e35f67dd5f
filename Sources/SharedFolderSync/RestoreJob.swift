import FoundationEssentials
import Glibc

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// The blocking part of a restore: stage every differing file beside its target, verify, then
/// back up and rename. Runs on an `IOLane` thread.
struct RestoreJob {
    struct Outcome: Sendable {
        var snapshot: SnapshotInfo
        var written: Int
        var unchanged: Int
        var backupFolder: String?
    }

    private struct Planned {
        var entry: SnapshotManifest.File
        var temp: String
        var replaces: Bool
    }

    let cipher: SnapshotCipher
    let backupRoot: String

    /// Returns nil when the cache holds no snapshot.
    func run(from cache: String, ticker: IOTicker) throws -> Outcome? {
        guard PosixIO.exists(cache + "/" + SnapshotManifest.fileName) else { return nil }
        let manifest = try SnapshotManifest.load(cache, key: cipher.key, ticker: ticker)
        let root = geteuid() == 0
        for directory in manifest.directories.sorted(by: { $0.path.count < $1.path.count }) {
            if try PosixIO.lstatOrNil(directory.path) == nil {
                try PosixIO.makeDirectories(PosixIO.parentOf(directory.path), mode: 0o755)
                if mkdir(directory.path, 0o700) != 0 && errno != EEXIST {
                    throw SharedFolderError.system("mkdir", directory.path, errno)
                }
                chmod(directory.path, mode_t(directory.mode))
                if root { chown(directory.path, directory.uid, directory.gid) }
            }
        }

        // Phase 1: stage and verify everything; any failure removes only our temporary files.
        var plan: [Planned] = []
        var unchanged = 0
        do {
            for entry in manifest.files {
                let existing = try PosixIO.lstatOrNil(entry.path)
                if let existing {
                    guard PosixIO.isRegular(existing) else {
                        throw SharedFolderError(
                            .ioFailed,
                            "cannot restore \(entry.path): a non-file is in the way; move it aside",
                            path: entry.path
                        )
                    }
                    if Int64(existing.st_size) == entry.size,
                        try SnapshotCipher.hashFile(entry.path, ticker: ticker).sha256 == entry.sha256
                    {
                        unchanged += 1
                        continue
                    }
                }
                try PosixIO.makeDirectories(PosixIO.parentOf(entry.path), mode: 0o755)
                let temp =
                    PosixIO.parentOf(entry.path) + "/." + PosixIO.baseName(entry.path)
                    + ".hotstandby-" + PosixIO.randomToken()
                plan.append(Planned(entry: entry, temp: temp, replaces: existing != nil))
                let written = try cipher.materialize(cache + "/" + entry.stored, to: temp, mode: 0o600, ticker: ticker)
                try SnapshotCipher.check(
                    entry,
                    sha256: written.sha256,
                    size: written.size,
                    where: cache + "/" + entry.stored
                )
                if root { chown(temp, entry.uid, entry.gid) }
                chmod(temp, mode_t(entry.mode))
                let seconds = entry.mtime.rounded(.down)
                var times = [
                    timespec(tv_sec: Int(seconds), tv_nsec: Int((entry.mtime - seconds) * 1e9)),
                    timespec(tv_sec: Int(seconds), tv_nsec: Int((entry.mtime - seconds) * 1e9)),
                ]
                utimensat(AT_FDCWD, temp, &times, 0)
            }
        } catch {
            for item in plan { unlink(item.temp) }
            throw error
        }

        // Phase 2: keep each replaced file in the backup folder (a hard link, or a copy), then rename.
        var backupFolder: String?
        var done = 0
        do {
            if plan.contains(where: \.replaces) {
                backupFolder = try BackupFolders.create(
                    in: backupRoot,
                    epoch: manifest.epoch,
                    sequence: manifest.sequence
                )
            }
            var parents = Set<String>()
            for item in plan {
                if item.replaces, let folder = backupFolder {
                    let kept = folder + item.entry.path
                    try PosixIO.makeDirectories(PosixIO.parentOf(kept))
                    if link(item.entry.path, kept) != 0 {
                        _ = try SnapshotCipher(keyBytes: nil).store(item.entry.path, to: kept, ticker: ticker)
                    }
                }
                try PosixIO.rename(item.temp, item.entry.path)
                parents.insert(PosixIO.parentOf(item.entry.path))
                done += 1
            }
            for parent in parents { try PosixIO.fsyncDirectory(parent) }
        } catch {
            for item in plan.dropFirst(done) { unlink(item.temp) }
            if done == 0 { throw error }
            throw SharedFolderError(
                .restoreIncomplete,
                "restore stopped after \(done) of \(plan.count) files: \(error); no local file was deleted, "
                    + "replaced files are in \(backupFolder ?? "(none)"); fix the cause and run the restore again",
                path: (error as? SharedFolderError)?.path
            )
        }
        return Outcome(
            snapshot: SnapshotInfo(manifest),
            written: plan.count,
            unchanged: unchanged,
            backupFolder: backupFolder
        )
    }
}
