import FoundationEssentials
import Glibc
import HotStandbyCore

extension SharedFolderSync {
    /// `<sharedFolder.path>/.hotstandby-share-id`.
    var shareIdentityPath: String { config.path + "/" + ShareIdentity.fileName }

    /// The share's identity, created when missing. Throws `.otherCluster` when the share belongs to
    /// another cluster. Runs on the share lane.
    func shareIdentity(ticker: IOTicker) throws -> ShareIdentity {
        let path = shareIdentityPath
        let identity =
            try ShareIdentity.read(path, ticker: ticker)
            ?? ShareIdentity.create(path, cluster: config.cluster, ticker: ticker)
        guard identity.cluster == config.cluster else {
            throw SharedFolderError(
                .otherCluster,
                "sharedFolder.path '\(config.path)' belongs to cluster '\(identity.cluster)' (its \(ShareIdentity.fileName) "
                    + "says so), not to this node's cluster '\(config.cluster)': give each cluster a share of its own, "
                    + "or remove that file if the share was handed over on purpose",
                path: path
            )
        }
        return identity
    }

    /// Makes the local cache the cache of `share`: a cache recorded for another cluster or share id,
    /// or with no record (left by an earlier version, or half set up), is discarded, never restored.
    /// Returns why a cache was discarded, for the log. Runs on the share lane (the cache is local).
    func adoptCache(for share: ShareIdentity, ticker: IOTicker) throws -> String? {
        let cache = config.localCacheDirectory
        let wanted = CacheIdentity(cluster: config.cluster, shareId: share.id, sharePath: config.path)
        let recorded = CacheIdentity.read(cache, ticker: ticker)
        if recorded == wanted { return nil }
        if let recorded, recorded.cluster == wanted.cluster, recorded.shareId == wanted.shareId {
            try wanted.write(into: cache, ticker: ticker)  // the same share, mounted at another path
            return nil
        }
        var discarded: String?
        if let entries = try? PosixIO.list(cache), !entries.isEmpty {
            discarded =
                recorded.map {
                    "the cache was filled from cluster '\($0.cluster)' share id \($0.shareId) at '\($0.sharePath)', "
                        + "not from this cluster's share (id \(share.id))"
                } ?? "the cache records no share (left by an earlier version or another cluster)"
            let away = PosixIO.parentOf(cache) + "/.deleting-cache-" + PosixIO.randomToken()
            try PosixIO.rename(cache, away)
        }
        // Also what an earlier discard could not finish removing.
        for entry in (try? PosixIO.list(PosixIO.parentOf(cache))) ?? [] where entry.hasPrefix(".deleting-cache-") {
            try? PosixIO.removeTree(PosixIO.parentOf(cache) + "/" + entry, ticker: ticker)
        }
        try PosixIO.makeDirectories(cache)
        try wanted.write(into: cache, ticker: ticker)
        return discarded
    }

    /// Whether the cache may be restored while the share cannot be read: its record names this
    /// cluster and this `sharedFolder.path`, and the share id this process last read, if it read one.
    /// Runs on the local lane.
    func cacheTrustedWithoutShare(knownShareId: String?, ticker: IOTicker) -> CacheIdentity? {
        guard let recorded = CacheIdentity.read(config.localCacheDirectory, ticker: ticker),
            recorded.cluster == config.cluster, recorded.sharePath == config.path,
            knownShareId == nil || knownShareId == recorded.shareId
        else { return nil }
        return recorded
    }

    /// The seal (`manifest.json.sha256`) of the snapshot folder `folder`: the digest of its manifest,
    /// which names every file's checksum. Two snapshots are the same snapshot when their seals are equal.
    static func seal(of folder: String, ticker: IOTicker) throws -> String {
        String(decoding: try PosixIO.readWhole(folder + "/" + SnapshotManifest.sealName, ticker: ticker), as: UTF8.self)
            .trimmingWhitespace()
    }
}
