import Crypto
import FoundationEssentials
import Glibc
import Logging
import Synchronization

/// One published snapshot, as the share or the cache holds it.
public struct SnapshotInfo: Sendable, Equatable, Codable {
    /// The publisher's epoch.
    public var epoch: Int64
    /// The snapshot's sequence number.
    public var sequence: Int64
    /// The publishing node.
    public var node: String
    /// Publication time, seconds since 1970 (wall clock of the publisher; display only).
    public var createdAt: Double
    /// Number of files and their total plaintext size.
    public var fileCount: Int
    public var totalBytes: Int64
    /// For a publish: bytes and files copied, and files linked unchanged from the previous snapshot.
    public var bytesCopied: Int64 = 0
    public var filesCopied: Int = 0
    public var filesLinked: Int = 0

    init(_ manifest: SnapshotManifest) {
        epoch = manifest.epoch
        sequence = manifest.sequence
        node = manifest.node
        createdAt = manifest.createdAt
        fileCount = manifest.files.count
        totalBytes = manifest.totalBytes
    }

    /// Seconds since publication, by this host's wall clock.
    public var ageSeconds: Double { max(0, Date().timeIntervalSince1970 - createdAt) }
}

/// What `status()` reports for `hotstandby status` and the metrics.
public struct SharedFolderStatus: Sendable, Codable {
    /// The newest usable snapshot in the share, when the share could be read.
    public var newest: SnapshotInfo?
    /// The snapshot in this node's local cache (nil when the cache was filled from another share or cluster).
    public var cached: SnapshotInfo?
    /// Seconds since the cache was last brought up to date with the share.
    public var cacheAgeSeconds: Double?
    /// Why the share could not be read, when it could not.
    public var shareError: String?
}

/// Snapshots of local files into a shared folder, epoch-fenced and checksummed, and their restore.
///
/// The active calls `publish` every `interval`; standbys call `pull`; a node taking over calls
/// `restore` before its promote hook. All file I/O runs on dedicated threads with the stall
/// deadline `sharedFolder.ioTimeout`, so a hung mount never blocks the caller's other tasks.
public final class SharedFolderSync: Sendable {
    /// The configuration in use.
    public let config: SharedFolderConfig
    let logger: Logger
    let lane: IOLane
    /// Work that touches only local disks (cache → protected paths, backups): a lane of its own, so a
    /// thread stuck on a hung share does not stop a takeover from restoring what the cache holds.
    let localLane: IOLane
    let cipher: SnapshotCipher

    struct HashMemo: Sendable {
        var device: UInt64, inode: UInt64, size: Int64, mtime: Double, ctime: Double
        var sha256: String
    }

    struct Memory: Sendable {
        var busy = false
        var hashes: [String: HashMemo] = [:]
        /// The snapshot this process published last (see `PublishedManifest`).
        var published: PublishedManifest?
        /// The seals (manifest digests) of snapshots that failed verification: never tried again.
        var rejected: Set<String> = []
        /// The share id the last successful pull read (see `ShareIdentity`).
        var shareId: String?
    }

    let memory = Mutex(Memory())

    /// Validates the configuration and loads the key file. Throws `SharedFolderError` naming the key.
    public init(config: SharedFolderConfig, logger: Logger) throws {
        try config.validate()
        self.config = config
        self.logger = logger
        self.lane = IOLane(place: config.path)
        self.localLane = IOLane(place: config.stateDirectory)
        self.cipher = SnapshotCipher(keyBytes: try config.encryptionKeyFile.map(SnapshotCipher.loadKey))
    }

    /// The operation stuck past its deadline, if any (for `status` and alerts).
    public var stuckOperation: String? {
        lane.stuck.map { "\($0.operation) stuck for \($0.since.components.seconds)s on \(config.path)" }
    }

    /// Runs `body` as the only publish/pull/restore of this instance.
    func exclusive<T: Sendable>(_ operation: String, _ body: () async throws -> T) async throws -> T {
        let taken = memory.withLock { memory in
            if memory.busy { return false }
            memory.busy = true
            return true
        }
        guard taken else {
            throw SharedFolderError(.busy, "\(operation) refused: another shared-folder operation is running")
        }
        defer { memory.withLock { $0.busy = false } }
        return try await body()
    }

    /// Runs a blocking job on the I/O lane with the configured stall deadline.
    func io<T: Sendable>(_ operation: String, _ body: @escaping @Sendable (IOTicker) throws -> T) async throws -> T {
        try await lane.run(operation, stallTimeout: config.ioTimeout, body)
    }

    /// Runs a blocking job that reads and writes only local disks on the local lane, with the same deadline.
    func localIO<T: Sendable>(_ operation: String, _ body: @escaping @Sendable (IOTicker) throws -> T) async throws -> T
    {
        try await localLane.run(operation, stallTimeout: config.ioTimeout, body)
    }

    /// Reports the newest snapshot in the share and the local cache's state.
    public func status() async -> SharedFolderStatus {
        var status = SharedFolderStatus()
        let cacheFolder = config.localCacheDirectory + "/current"
        let cipher = self.cipher
        let pulledAt = config.localCacheDirectory + "/last-pull"
        let knownShareId = memory.withLock { $0.shareId }
        if let cached = try? await localIO(
            "status (cache)",
            { [self] ticker -> (SnapshotInfo, Double?)? in
                // A cache filled from another share or cluster is not shown: it would not be restored.
                guard cacheTrustedWithoutShare(knownShareId: knownShareId, ticker: ticker) != nil else { return nil }
                let manifest = try SnapshotManifest.load(cacheFolder, key: cipher.key, ticker: ticker)
                let stamp = try PosixIO.lstatOrNil(pulledAt).map(PosixIO.mtime)
                return (SnapshotInfo(manifest), stamp)
            }
        ) ?? nil {
            status.cached = cached.0
            status.cacheAgeSeconds = cached.1.map { max(0, Date().timeIntervalSince1970 - $0) }
        }
        do {
            status.newest = try await io("status (share)") { [self] ticker in
                try checkShare()
                let names = SnapshotName.usable(try listSnapshots())
                for name in names {
                    if let manifest = try? SnapshotManifest.load(shareFolder(name), key: cipher.key, ticker: ticker) {
                        return SnapshotInfo(manifest)
                    }
                }
                return nil
            }
        } catch {
            status.shareError = "\(error)"
        }
        return status
    }

    func shareFolder(_ name: SnapshotName) -> String { config.path + "/" + name.folder }

    /// Refuses a share that does not exist, or (with `requireMount`) is not mounted or marked.
    func checkShare() throws {
        let share = config.path
        guard let info = try PosixIO.lstatOrNil(share), PosixIO.isDirectory(info) else {
            throw SharedFolderError(
                .notMounted,
                "sharedFolder.path '\(share)' does not exist or is not a folder: mount the share",
                path: share
            )
        }
        guard config.requireMount else { return }
        if PosixIO.exists(share + "/" + SharedFolderConfig.markerFileName) || Self.isMountPoint(share) { return }
        throw SharedFolderError(
            .notMounted,
            "sharedFolder.path '\(share)' is not a mount point and holds no \(SharedFolderConfig.markerFileName) "
                + "marker: mount the share (or run configure-failover to mark it), or set "
                + "sharedFolder.requireMount: false to use a plain folder",
            path: share
        )
    }

    /// Whether `path` is a mount point: another device than its parent, or listed in /proc/self/mountinfo
    /// (a bind mount of the same device).
    static func isMountPoint(_ path: String) -> Bool {
        var me = stat()
        var parent = stat()
        guard stat(path, &me) == 0, stat(path + "/..", &parent) == 0 else { return false }
        if me.st_dev != parent.st_dev || me.st_ino == parent.st_ino { return true }
        let real = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        guard let table = try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8) else { return false }
        for line in table.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count > 4 else { continue }
            let point = fields[4].replacing("\\040", with: " ")
                .replacing("\\011", with: "\t").replacing("\\134", with: "\\")
            if point == real { return true }
        }
        return false
    }

    /// The complete snapshots in the share (folders with a manifest), unordered.
    func listSnapshots() throws -> [SnapshotName] {
        try PosixIO.list(config.path).compactMap(SnapshotName.init(folder:)).filter { name in
            let folder = shareFolder(name)
            return PosixIO.exists(folder + "/" + SnapshotManifest.fileName)
                && PosixIO.exists(folder + "/" + SnapshotManifest.sealName)
        }
    }
}
