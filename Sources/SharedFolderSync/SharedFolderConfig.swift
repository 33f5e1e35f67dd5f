/// The `sharedFolder` section of the configuration.
///
/// ```yaml
/// sharedFolder:
///   path: /mnt/hotstandby          # the share both hosts mount
///   paths: [/opt/ManageEngine/conf, /var/lib/app/data]
///   interval: 30s
///   keep: 5
///   keepBackups: 5
///   requireMount: true
///   encryptionKeyFile: /etc/hotstandby/share.key
/// ```
public struct SharedFolderConfig: Sendable, Equatable {
    /// The marker file `configure-failover` writes into a share that is not a mount point of its own.
    public static let markerFileName = ".hotstandby-share"

    /// `cluster`: the cluster this node belongs to. The share is stamped with it at first use, and
    /// the local cache is trusted only for this cluster's share.
    public var cluster: String
    /// `sharedFolder.path`: the shared folder (an NFS or SMB mount, or any folder). Absolute.
    public var path: String
    /// `sharedFolder.paths`: the local files and folders to protect. Absolute.
    public var paths: [String]
    /// `sharedFolder.interval`: how often the active publishes and the standby pulls. Defaults to 30 seconds.
    public var interval: Duration
    /// `sharedFolder.keep`: how many snapshots are kept in the share. Defaults to 5; at least 2,
    /// so a snapshot that fails verification has a predecessor.
    public var keep: Int
    /// `sharedFolder.keepBackups`: how many backup folders (the local files replaced by a restore, one
    /// folder per restore) are kept below `backupDirectory`; older ones are removed after a successful
    /// restore. Defaults to 5; at least 1 (the folder a restore just wrote is never removed).
    public var keepBackups: Int
    /// `sharedFolder.requireMount`: refuse to use a share that is neither a mount point nor holds
    /// `.hotstandby-share`, so an unmounted share is noticed instead of filling the local disk. Defaults to true.
    public var requireMount: Bool
    /// `sharedFolder.encryptionKeyFile`: an AES-256-GCM key (32 bytes raw, or base64), mode 0600. Optional.
    public var encryptionKeyFile: String?
    /// `sharedFolder.ioTimeout`: how long a file operation may make no progress before it is
    /// reported as hung. Defaults to 20 seconds.
    public var ioTimeout: Duration
    /// The node's state directory; the local cache and the backups live below it. The executable
    /// defaults it to `/var/lib/hotstandby/<cluster>`, one per cluster.
    public var stateDirectory: String

    /// Creates a configuration with the documented defaults.
    public init(
        cluster: String,
        path: String,
        paths: [String],
        stateDirectory: String,
        interval: Duration = .seconds(30),
        keep: Int = 5,
        keepBackups: Int = 5,
        requireMount: Bool = true,
        encryptionKeyFile: String? = nil,
        ioTimeout: Duration = .seconds(20)
    ) {
        self.cluster = cluster
        self.path = path
        self.paths = paths
        self.stateDirectory = stateDirectory
        self.interval = interval
        self.keep = keep
        self.keepBackups = keepBackups
        self.requireMount = requireMount
        self.encryptionKeyFile = encryptionKeyFile
        self.ioTimeout = ioTimeout
    }

    /// Where the standby keeps its verified copy of the newest snapshot: `<stateDirectory>/shared-folder/cache`.
    public var localCacheDirectory: String { stateDirectory + "/shared-folder/cache" }
    /// Where a restore keeps the local files it replaced: `<stateDirectory>/shared-folder/backup`.
    public var backupDirectory: String { stateDirectory + "/shared-folder/backup" }

    /// Checks every value and returns one error per problem, each naming its YAML key and value.
    public func problems() -> [SharedFolderError] {
        var found: [SharedFolderError] = []
        func bad(_ message: String) { found.append(SharedFolderError(.invalidConfig, message)) }
        if cluster.isEmpty {
            bad("cluster is empty: the share and the local cache are stamped with the cluster's name")
        }
        let share = Self.normalized(path)
        if !path.hasPrefix("/") {
            bad("sharedFolder.path '\(path)' must be an absolute path (the shared folder both hosts mount)")
        } else if share == "/" {
            bad("sharedFolder.path '/' cannot be the share: use a dedicated mount such as /mnt/hotstandby")
        }
        if paths.isEmpty {
            bad("sharedFolder.paths is empty: list the local files and folders to protect")
        }
        for (index, local) in paths.enumerated() {
            let key = "sharedFolder.paths[\(index)]"
            let item = Self.normalized(local)
            if !local.hasPrefix("/") {
                bad("\(key) '\(local)' must be an absolute path")
            } else if item == "/" {
                bad("\(key) '/' would protect the whole disk: list the service's folders instead")
            } else if share.hasPrefix("/") && (Self.contains(item, share) || Self.contains(share, item)) {
                bad("\(key) '\(local)' overlaps sharedFolder.path '\(path)': the share cannot hold protected files")
            }
        }
        if interval < .seconds(1) {
            bad("sharedFolder.interval \(interval) is too short: use at least 1s (default 30s)")
        }
        if keep < 2 {
            bad(
                "sharedFolder.keep \(keep) is too small: keep at least 2 snapshots (default 5) so a bad one has a predecessor"
            )
        }
        if keepBackups < 1 {
            bad(
                "sharedFolder.keepBackups \(keepBackups) is too small: keep at least 1 backup folder (default 5); "
                    + "the newest backup holds the files the last restore replaced"
            )
        }
        if ioTimeout <= .zero {
            bad("sharedFolder.ioTimeout \(ioTimeout) must be positive (default 20s)")
        }
        if let keyFile = encryptionKeyFile, !keyFile.hasPrefix("/") {
            bad("sharedFolder.encryptionKeyFile '\(keyFile)' must be an absolute path")
        }
        if !stateDirectory.hasPrefix("/") {
            bad("stateDirectory '\(stateDirectory)' must be an absolute path")
        }
        return found
    }

    /// Throws the first problem `problems()` finds.
    public func validate() throws {
        if let first = problems().first { throw first }
    }

    static func normalized(_ path: String) -> String {
        var parts: [Substring] = []
        for part in path.split(separator: "/") where part != "." && !part.isEmpty {
            if part == ".." { _ = parts.popLast() } else { parts.append(part) }
        }
        return "/" + parts.joined(separator: "/")
    }

    /// Whether `inner` is `outer` or below it.
    static func contains(_ outer: String, _ inner: String) -> Bool {
        outer == inner || outer == "/" || inner.hasPrefix(outer + "/")
    }
}
