import FoundationEssentials
import Glibc

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// The identity of a share: `<sharedFolder.path>/.hotstandby-share-id`, a random id and the cluster
/// that owns the share, written once by the first node that finds it missing and never replaced.
///
/// The local cache records the identity it was pulled from (`CacheIdentity`); a cache recorded for
/// another cluster or another share id is never restored (see docs/shared-folder.md, "Whose cache").
struct ShareIdentity: Codable, Sendable, Equatable {
    /// The file's name in the share.
    static let fileName = ".hotstandby-share-id"

    /// Format version (1).
    var format: Int = 1
    /// The `cluster` of the configuration that created the file.
    var cluster: String
    /// 128 random bits, lowercase hex.
    var id: String

    /// A new identity for `cluster` with a fresh random id.
    static func make(cluster: String) -> ShareIdentity {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }
        return ShareIdentity(cluster: cluster, id: SnapshotCipher.hex(bytes))
    }

    /// The file's bytes: sorted-key JSON and a newline.
    func encoded() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return Array(try encoder.encode(self)) + [UInt8(ascii: "\n")]
    }

    /// Reads the identity file at `path`; nil when there is none.
    static func read(_ path: String, ticker: IOTicker) throws -> ShareIdentity? {
        guard try PosixIO.lstatOrNil(path) != nil else { return nil }
        let bytes = try PosixIO.readWhole(path, ticker: ticker)
        guard let identity = try? JSONDecoder().decode(ShareIdentity.self, from: Data(bytes)), identity.format == 1,
            !identity.id.isEmpty
        else {
            throw SharedFolderError(
                .ioFailed,
                "\(path) cannot be read (damaged, or still being written by another node); if this persists, "
                    + "remove it: the next node to use the share writes a new one, and every node's cache is then pulled again",
                path: path
            )
        }
        return identity
    }

    /// Creates the identity file at `path` unless one exists, without ever replacing one: the new
    /// identity is written and fsynced under a temporary name, then hard-linked to `path` (which fails
    /// if another node was first). Where the share refuses hard links (SMB without POSIX extensions),
    /// `path` is created with `O_EXCL` and written in place. Returns the identity now in the file.
    static func create(_ path: String, cluster: String, ticker: IOTicker) throws -> ShareIdentity {
        let made = make(cluster: cluster)
        let bytes = try made.encoded()
        let folder = PosixIO.parentOf(path)
        let temp = path + ".tmp-" + PosixIO.randomToken()
        try PosixIO.writeNewFile(temp, bytes, mode: 0o644, ticker: ticker)
        defer { unlink(temp) }
        if link(temp, path) != 0 {
            let err = errno
            switch err {
            case EEXIST:
                break  // another node was first: its identity stands
            case EPERM, EOPNOTSUPP, EMLINK, ENOSYS:
                do {
                    try PosixIO.writeNewFile(path, bytes, mode: 0o644, ticker: ticker)
                } catch let error as SharedFolderError where error.errno == EEXIST {
                    // another node was first
                }
            default:
                throw SharedFolderError.system("link", "\(temp) -> \(path)", err)
            }
        }
        try PosixIO.fsyncDirectory(folder)
        guard let found = try read(path, ticker: ticker) else {
            throw SharedFolderError(.ioFailed, "\(path) vanished right after it was written", path: path)
        }
        return found
    }
}

/// What the local cache belongs to: `<cache>/identity.json`, written when the cache is (re)started
/// for a share, before anything is pulled into it.
struct CacheIdentity: Codable, Sendable, Equatable {
    /// The record's name in the cache folder.
    static let fileName = "identity.json"

    /// Format version (1).
    var format: Int = 1
    /// The cluster whose share filled the cache.
    var cluster: String
    /// The share's `ShareIdentity.id`.
    var shareId: String
    /// `sharedFolder.path` when the cache was filled (used only when the share cannot be read).
    var sharePath: String

    /// Reads the record in `cache`; nil when there is none or it cannot be decoded (an untrusted cache).
    static func read(_ cache: String, ticker: IOTicker) -> CacheIdentity? {
        guard let bytes = try? PosixIO.readWhole(cache + "/" + fileName, ticker: ticker) else { return nil }
        return try? JSONDecoder().decode(CacheIdentity.self, from: Data(bytes))
    }

    /// Writes the record into `cache` durably (temporary name, fsync, rename).
    func write(into cache: String, ticker: IOTicker) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let temp = cache + "/." + Self.fileName + "-" + PosixIO.randomToken()
        try PosixIO.writeNewFile(temp, Array(try encoder.encode(self)) + [UInt8(ascii: "\n")], ticker: ticker)
        try PosixIO.rename(temp, cache + "/" + Self.fileName)
        try PosixIO.fsyncDirectory(cache)
    }
}
