import FoundationEssentials
import Glibc

extension SharedFolderSync {
    private struct Staged: Sendable {
        var staging: String
        var name: SnapshotName
        var info: SnapshotInfo
        var hashes: [String: HashMemo]
        var published: PublishedManifest
    }

    /// Publishes a snapshot of `sharedFolder.paths` into the share, in the given epoch.
    ///
    /// Copies changed files (unchanged ones are hard-linked from the previous snapshot) into a
    /// staging folder, fsyncs them, writes the manifest, then asks `leaseStillHeld()` and, if this
    /// node still holds the lease and no newer epoch has published, renames the staging folder into
    /// place and prunes to `sharedFolder.keep`. Local files are only read.
    ///
    /// - Throws: `SharedFolderError` with `.deposed` when a newer epoch published or the lease is
    ///   lost, `.noSpace`/`.readOnly`/`.timedOut`/`.stuck` (retry at the next interval), `.notMounted`,
    ///   `.otherCluster` when the share's `.hotstandby-share-id` names another cluster.
    public func publish(
        epoch: Int64,
        node: String,
        leaseStillHeld: @Sendable () async -> Bool
    ) async throws -> SnapshotInfo {
        try await exclusive("publish") {
            let started = ContinuousClock.now
            let (knownHashes, lastPublished) = memory.withLock { ($0.hashes, $0.published) }
            let staged = try await io("publish") { [self] ticker in
                try stage(
                    epoch: epoch,
                    node: node,
                    knownHashes: knownHashes,
                    lastPublished: lastPublished,
                    ticker: ticker
                )
            }
            // Forgotten until this publish's rename succeeds: only a snapshot that is in the share may be trusted.
            memory.withLock {
                $0.hashes = staged.hashes
                $0.published = nil
            }
            guard await leaseStillHeld() else {
                try? await io("publish (discard)") { ticker in try PosixIO.removeTree(staged.staging, ticker: ticker) }
                throw SharedFolderError(
                    .deposed,
                    "publish of epoch \(epoch) abandoned: this node no longer holds the lease"
                )
            }
            try await io("publish (commit)") { [self] ticker in
                try commit(staged.staging, as: staged.name, ticker: ticker)
            }
            memory.withLock { $0.published = staged.published }
            do {
                try await io("prune") { [self] ticker in try prune(node: node, ticker: ticker) }
            } catch {
                logger.warning("shared folder: pruning old snapshots failed", metadata: ["error": "\(error)"])
            }
            logger.info(
                "shared folder: published snapshot",
                metadata: [
                    "epoch": "\(epoch)", "sequence": "\(staged.name.sequence)", "files": "\(staged.info.fileCount)",
                    "copied": "\(staged.info.filesCopied)", "linked": "\(staged.info.filesLinked)",
                    "bytesCopied": "\(staged.info.bytesCopied)", "duration": "\(ContinuousClock.now - started)",
                ]
            )
            return staged.info
        }
    }

    private func refuseIfDeposed(_ names: [SnapshotName], epoch: Int64) throws {
        if let newer = names.first(where: { $0.epoch > epoch }) {
            throw SharedFolderError(
                .deposed,
                "publish refused: node \(newer.node) already published in epoch \(newer.epoch), newer than this node's "
                    + "epoch \(epoch); this node has been deposed"
            )
        }
    }

    private func stage(
        epoch: Int64,
        node: String,
        knownHashes: [String: HashMemo],
        lastPublished: PublishedManifest?,
        ticker: IOTicker
    ) throws -> Staged {
        try checkShare()
        _ = try shareIdentity(ticker: ticker)  // written at the first publish; another cluster's share is refused
        let names = try listSnapshots()
        try refuseIfDeposed(names, epoch: epoch)
        let sequence = (names.map(\.sequence).max() ?? 0) + 1
        let name = SnapshotName(epoch: epoch, sequence: sequence, node: node)

        // The previous snapshot, to link unchanged files from; a damaged one is simply not used. When it
        // is the one this process published last, with its manifest files untouched, the manifest kept
        // in memory stands in for reading and decoding it again; anything else is read from the share.
        var previous: (folder: String, bySHA: [String: String])?
        let usable = SnapshotName.usable(names)
        if let lastPublished, let newest = usable.first, newest == lastPublished.name,
            try lastPublished.identity == ManifestIdentity(of: shareFolder(newest))
        {
            previous = (shareFolder(newest), lastPublished.bySHA)
        }
        for candidate in usable where previous == nil {
            let folder = shareFolder(candidate)
            if let manifest = try? SnapshotManifest.load(folder, key: cipher.key, ticker: ticker) {
                previous = (folder, Dictionary(manifest.files.map { ($0.sha256, $0.stored) }) { first, _ in first })
                break
            }
        }

        let (directories, files) = try LocalTree.scan(config.paths, logger: logger, ticker: ticker)
        let staging = config.path + "/" + SnapshotName.stagingPrefix + node + "-" + PosixIO.randomToken()
        var hashes: [String: HashMemo] = [:]
        let buffer = ChunkBuffer()
        var folders: (previous: Int32, staging: Int32) = (-1, -1)
        defer {
            if folders.previous >= 0 { close(folders.previous) }
            if folders.staging >= 0 { close(folders.staging) }
        }
        do {
            try PosixIO.makeDirectories(staging + "/" + SnapshotManifest.dataFolder)
            // Links are made by name relative to the two open data folders, not by two absolute paths
            // walked again for each of thousands of files.
            folders.staging = try PosixIO.openDirectory(staging + "/" + SnapshotManifest.dataFolder)
            if let previous {
                folders.previous = open(
                    previous.folder + "/" + SnapshotManifest.dataFolder,
                    O_RDONLY | O_DIRECTORY | O_CLOEXEC
                )
            }
            var entries: [SnapshotManifest.File] = []
            var info = (copied: 0, linked: 0, bytes: Int64(0))
            let now = Date().timeIntervalSince1970
            for (index, file) in files.enumerated() {
                let storedName = "\(index)"
                let stored = SnapshotManifest.dataFolder + "/" + storedName
                let target = staging + "/" + stored
                let stat = file.info
                var memo = HashMemo(
                    device: UInt64(stat.st_dev),
                    inode: UInt64(stat.st_ino),
                    size: Int64(stat.st_size),
                    mtime: PosixIO.mtime(stat),
                    ctime: Double(stat.st_ctim.tv_sec) + Double(stat.st_ctim.tv_nsec) / 1e9,
                    sha256: ""
                )
                var sha: String?
                var size = memo.size
                do {
                    if let known = knownHashes[file.path], known.device == memo.device, known.inode == memo.inode,
                        known.size == memo.size, known.mtime == memo.mtime, known.ctime == memo.ctime,
                        now - memo.mtime > 2
                    {
                        sha = known.sha256
                    } else if previous != nil {
                        sha = try SnapshotCipher.hashFile(file.path, buffer: buffer, ticker: ticker).sha256
                    }
                    if let sha, folders.previous >= 0, let source = previous?.bySHA[sha],
                        source.hasPrefix(SnapshotManifest.dataFolder + "/"),
                        linkat(
                            folders.previous,
                            String(source.dropFirst(SnapshotManifest.dataFolder.count + 1)),
                            folders.staging,
                            storedName,
                            0
                        ) == 0
                    {
                        info.linked += 1
                    } else {
                        let copied = try cipher.store(file.path, to: target, buffer: buffer, ticker: ticker)
                        sha = copied.sha256
                        size = copied.size
                        info.copied += 1
                        info.bytes += copied.size
                    }
                } catch let error as SharedFolderError where error.errno == ENOENT && error.path == file.path {
                    // Deleted since the walk (a service's temporary file, a rename-into-place): it is
                    // simply not in this snapshot, as if the walk had come a moment later.
                    logger.debug(
                        "shared folder: file vanished while publishing, left out",
                        metadata: ["path": "\(file.path)"]
                    )
                    continue
                }
                memo.sha256 = sha!
                memo.size = size
                hashes[file.path] = memo
                entries.append(
                    SnapshotManifest.File(
                        path: file.path,
                        size: size,
                        mode: UInt32(stat.st_mode & 0o7777),
                        mtime: memo.mtime,
                        uid: stat.st_uid,
                        gid: stat.st_gid,
                        sha256: sha!,
                        stored: stored
                    )
                )
            }
            try PosixIO.fsyncDirectory(staging + "/" + SnapshotManifest.dataFolder)
            let manifest = SnapshotManifest(
                epoch: epoch,
                sequence: sequence,
                node: node,
                createdAt: now,
                encrypted: cipher.key != nil,
                roots: config.paths,
                directories: directories.map {
                    .init(
                        path: $0.path,
                        mode: UInt32($0.info.st_mode & 0o7777),
                        uid: $0.info.st_uid,
                        gid: $0.info.st_gid
                    )
                },
                files: entries
            )
            let (json, seal) = try manifest.encoded(key: cipher.key)
            try PosixIO.writeNewFile(staging + "/" + SnapshotManifest.fileName, json, ticker: ticker)
            try PosixIO.writeNewFile(staging + "/" + SnapshotManifest.sealName, seal, ticker: ticker)
            try PosixIO.fsyncDirectory(staging)
            let published = PublishedManifest(
                name: name,
                identity: try ManifestIdentity(of: staging),
                bySHA: Dictionary(entries.map { ($0.sha256, $0.stored) }) { first, _ in first }
            )
            var result = SnapshotInfo(manifest)
            result.filesCopied = info.copied
            result.filesLinked = info.linked
            result.bytesCopied = info.bytes
            return Staged(staging: staging, name: name, info: result, hashes: hashes, published: published)
        } catch {
            try? PosixIO.removeTree(staging, ticker: IOTicker())
            throw error
        }
    }

    private func commit(_ staging: String, as name: SnapshotName, ticker: IOTicker) throws {
        do {
            try refuseIfDeposed(try listSnapshots(), epoch: name.epoch)
            try PosixIO.rename(staging, shareFolder(name))
            try PosixIO.fsyncDirectory(config.path)
        } catch {
            try? PosixIO.removeTree(staging, ticker: IOTicker())
            throw error
        }
    }

    /// Keeps the newest `keep` snapshots; older ones are first renamed away (so no reader sees a
    /// half-deleted snapshot), then removed. Also clears this node's leftover staging folders.
    private func prune(node: String, ticker: IOTicker) throws {
        let all = try PosixIO.list(config.path)
        let snapshots = try listSnapshots().sorted(by: >)  // folders without a manifest are not ours to judge
        var doomed = snapshots.dropFirst(config.keep).map { $0.folder }
        doomed += all.filter { $0.hasPrefix(SnapshotName.stagingPrefix + node + "-") }
        for folder in doomed {
            let away = config.path + "/" + SnapshotName.deletingPrefix + PosixIO.randomToken()
            try PosixIO.rename(config.path + "/" + folder, away)
        }
        for folder in try PosixIO.list(config.path) where folder.hasPrefix(SnapshotName.deletingPrefix) {
            try PosixIO.removeTree(config.path + "/" + folder, ticker: ticker)
        }
    }
}

/// The manifest of the snapshot this process published last, kept so the next publish need not
/// read and decode it from the share: the snapshot's name, what its manifest files looked like, and
/// which stored file holds each content hash.
struct PublishedManifest: Sendable {
    var name: SnapshotName
    var identity: ManifestIdentity
    var bySHA: [String: String]
}

/// Device, inode, size, modification and change time of a snapshot folder's `manifest.json` and its
/// seal: if any of them differs, the folder is not the one this process wrote (another node or a
/// person replaced it) and its manifest is read from the share again.
struct ManifestIdentity: Sendable, Equatable {
    struct Stamp: Sendable, Equatable {
        var device: UInt64, inode: UInt64, size: Int64
        var mtime: Int, mtimeNanos: Int, ctime: Int, ctimeNanos: Int
    }

    var manifest: Stamp?
    var seal: Stamp?

    init(of folder: String) throws {
        func stamp(_ path: String) throws -> Stamp? {
            try PosixIO.lstatOrNil(path).map {
                Stamp(
                    device: UInt64($0.st_dev),
                    inode: UInt64($0.st_ino),
                    size: Int64($0.st_size),
                    mtime: $0.st_mtim.tv_sec,
                    mtimeNanos: $0.st_mtim.tv_nsec,
                    ctime: $0.st_ctim.tv_sec,
                    ctimeNanos: $0.st_ctim.tv_nsec
                )
            }
        }
        manifest = try stamp(folder + "/" + SnapshotManifest.fileName)
        seal = try stamp(folder + "/" + SnapshotManifest.sealName)
    }
}
