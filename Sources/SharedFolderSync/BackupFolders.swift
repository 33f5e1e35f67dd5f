import FoundationEssentials
import Glibc

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// The backup folders a restore writes into `<stateDirectory>/shared-folder/backup`, one per restore
/// that replaced files, named `<time>-e<epoch>-s<sequence>`, and their pruning to `sharedFolder.keepBackups`.
///
/// `<time>` is UTC with microseconds (`20261123-192000.123456`), so names sort by age even for
/// restores within the same second. Folders named by older versions (`20261123-192000-ab12-e3-s7`,
/// to the second) are still recognised; within one second they are ordered by epoch and sequence.
/// Anything else in the backup folder is never touched.
enum BackupFolders {
    static let deletingPrefix = ".deleting-"

    /// One backup folder's name, parsed for ordering.
    struct Name: Comparable {
        var folder: String
        var second: String
        var fraction: Double
        var epoch: Int64
        var sequence: Int64

        init?(_ folder: String) {
            let characters = Array(folder.utf8)
            // "yyyyMMdd-HHmmss" then "." + digits (new) or "-" + token (old), then "-e<epoch>-s<sequence>".
            guard characters.count > 15, characters[8] == UInt8(ascii: "-"),
                characters[..<8].allSatisfy({ $0 >= 48 && $0 <= 57 }),
                characters[9..<15].allSatisfy({ $0 >= 48 && $0 <= 57 }),
                let sRange = folder.ranges(of: "-s").last,
                let eRange = folder[..<sRange.lowerBound].ranges(of: "-e").last,
                let epoch = Int64(folder[eRange.upperBound..<sRange.lowerBound]),
                let sequence = Int64(folder[sRange.upperBound...])
            else { return nil }
            self.folder = folder
            second = String(folder.prefix(15))
            let middle = folder[folder.index(folder.startIndex, offsetBy: 15)..<eRange.lowerBound]
            if middle.first == "." {
                guard let value = Double("0" + middle), middle.dropFirst().allSatisfy(\.isNumber) else { return nil }
                fraction = value
            } else {
                guard middle.isEmpty || middle.first == "-" else { return nil }
                fraction = 0
            }
            self.epoch = epoch
            self.sequence = sequence
        }

        static func < (a: Name, b: Name) -> Bool {
            (a.second, a.fraction, a.epoch, a.sequence, a.folder) < (
                b.second, b.fraction, b.epoch, b.sequence, b.folder
            )
        }
    }

    /// Creates a new, empty backup folder for a restore of snapshot `epoch`/`sequence` and returns its path.
    static func create(in root: String, epoch: Int64, sequence: Int64) throws -> String {
        try PosixIO.makeDirectories(root)
        for _ in 0..<1000 {
            let folder = root + "/" + stamp(Date()) + "-e\(epoch)-s\(sequence)"
            if mkdir(folder, 0o700) == 0 { return folder }
            if errno != EEXIST { throw SharedFolderError.system("mkdir", folder, errno) }
            usleep(1)  // same microsecond as another restore: take the next one
        }
        throw SharedFolderError(.ioFailed, "cannot create a new backup folder in \(root)", path: root)
    }

    /// Keeps the newest `keep` backup folders (and always `sparing`, the one just written) and removes
    /// the older ones: each is first renamed to `.deleting-<name>` (so an interrupted prune leaves
    /// nothing that looks like a backup), then removed, with leftovers of earlier prunes.
    ///
    /// Removing a backup only unlinks names in the backup folder: a hard link there never changes the
    /// file it shares an inode with. Goes on past a folder that cannot be removed and throws the
    /// first failure at the end. Returns the folders removed.
    @discardableResult
    static func prune(_ root: String, keep: Int, sparing: String?, ticker: IOTicker) throws -> [String] {
        guard PosixIO.exists(root) else { return [] }
        let spared = sparing.map(PosixIO.baseName)
        var backups: [Name] = []
        var leftovers: [String] = []
        for entry in try PosixIO.list(root) {
            guard let info = try PosixIO.lstatOrNil(root + "/" + entry), PosixIO.isDirectory(info) else { continue }
            if entry.hasPrefix(deletingPrefix) {
                leftovers.append(entry)
            } else if let name = Name(entry) {
                backups.append(name)
            }
        }
        let doomed = backups.sorted(by: >).dropFirst(max(keep, 0)).filter { $0.folder != spared }
        var firstError: (any Error)?
        var removed: [String] = []
        for name in doomed {
            do {
                let away = deletingPrefix + name.folder
                try PosixIO.rename(root + "/" + name.folder, root + "/" + away)
                leftovers.append(away)
                removed.append(root + "/" + name.folder)
            } catch {
                firstError = firstError ?? error
            }
        }
        for leftover in leftovers {
            do {
                try PosixIO.removeTree(root + "/" + leftover, ticker: ticker)
            } catch {
                firstError = firstError ?? error
            }
        }
        if let firstError { throw firstError }
        return removed
    }

    /// UTC `yyyyMMdd-HHmmss.ffffff`.
    static func stamp(_ date: Date) -> String {
        let seconds = date.timeIntervalSince1970.rounded(.down)
        var time = time_t(seconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        let micro = Int((date.timeIntervalSince1970 - seconds) * 1_000_000)
        return String(
            cFormat: "%04d%02d%02d-%02d%02d%02d.%06d",
            Int(parts.tm_year) + 1900,
            Int(parts.tm_mon) + 1,
            Int(parts.tm_mday),
            Int(parts.tm_hour),
            Int(parts.tm_min),
            Int(parts.tm_sec),
            min(micro, 999_999)
        )
    }
}
