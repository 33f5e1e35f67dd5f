#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// One read buffer of `PosixIO.chunkSize` bytes, reused by every file of a job (a publish reads
/// thousands of files; allocating and zeroing 1 MiB for each was 13 % of a first publish's CPU).
/// Belongs to the one thread that runs the job: not `Sendable`.
final class ChunkBuffer {
    let storage: UnsafeMutableRawBufferPointer

    init() { storage = .allocate(byteCount: PosixIO.chunkSize, alignment: 16) }

    deinit { storage.deallocate() }
}

/// Thin, blocking wrappers over the POSIX calls the module needs. Run only on `IOLane` threads.
enum PosixIO {
    static let chunkSize = 1 << 20

    /// `lstat`, or nil when the path does not exist.
    static func lstatOrNil(_ path: String) throws -> stat? {
        var info = stat()
        if lstat(path, &info) == 0 { return info }
        if errno == ENOENT || errno == ENOTDIR { return nil }
        throw SharedFolderError.system("lstat", path, errno)
    }

    static func isDirectory(_ info: stat) -> Bool { (info.st_mode & S_IFMT) == S_IFDIR }
    static func isRegular(_ info: stat) -> Bool { (info.st_mode & S_IFMT) == S_IFREG }

    static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    /// The names in a directory, without `.` and `..`.
    static func list(_ path: String) throws -> [String] {
        guard let dir = opendir(path) else { throw SharedFolderError.system("opendir", path, errno) }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: Int(NAME_MAX) + 1) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// Creates `path` and missing parents with `mode`.
    static func makeDirectories(_ path: String, mode: mode_t = 0o700) throws {
        if let info = try lstatOrNil(path) {
            if isDirectory(info) { return }
            throw SharedFolderError(.ioFailed, "\(path) exists and is not a folder", path: path)
        }
        let parent = parentOf(path)
        if parent != path { try makeDirectories(parent, mode: mode) }
        if mkdir(path, mode) != 0 && errno != EEXIST { throw SharedFolderError.system("mkdir", path, errno) }
    }

    static func parentOf(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    static func baseName(_ path: String) -> String {
        path.lastIndex(of: "/").map { String(path[path.index(after: $0)...]) } ?? path
    }

    static func openRead(_ path: String) throws -> Int32 {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 { throw SharedFolderError.system("open", path, errno) }
        return fd
    }

    /// Creates a new file (never replaces one) for writing.
    static func createExclusive(_ path: String, mode: mode_t = 0o600) throws -> Int32 {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        if fd < 0 { throw SharedFolderError.system("create", path, errno) }
        return fd
    }

    /// Reads up to `count` bytes, retrying on EINTR; an empty result means end of file.
    ///
    /// For small reads (headers, records); whole-file loops use `read(_:_:into:ticker:)` with one buffer per job.
    static func read(_ fd: Int32, _ path: String, max count: Int, ticker: IOTicker) throws -> [UInt8] {
        // Not zero-filled first: `read` overwrites what it returns, and only that is kept.
        try [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            initialized = try fill(fd, path, UnsafeMutableRawBufferPointer(buffer), ticker: ticker)
        }
    }

    /// Fills `buffer` from `fd` (or up to end of file), retrying on EINTR, and returns the bytes read.
    private static func fill(_ fd: Int32, _ path: String, _ buffer: UnsafeMutableRawBufferPointer, ticker: IOTicker)
        throws -> Int
    {
        var filled = 0
        while filled < buffer.count {
            let got = Glibc.read(fd, buffer.baseAddress! + filled, buffer.count - filled)
            if got < 0 {
                if errno == EINTR { continue }
                throw SharedFolderError.system("read", path, errno)
            }
            try ticker.tick()
            if got == 0 { break }
            filled += got
        }
        return filled
    }

    /// Reads the next chunk of `fd` into `buffer` and returns it (valid until the buffer's next use);
    /// empty at end of file.
    static func read(_ fd: Int32, _ path: String, into buffer: ChunkBuffer, ticker: IOTicker) throws
        -> UnsafeRawBufferPointer
    {
        let count = try fill(fd, path, buffer.storage, ticker: ticker)
        return UnsafeRawBufferPointer(rebasing: buffer.storage[0..<count])
    }

    static func writeAll(_ fd: Int32, _ path: String, _ bytes: [UInt8], ticker: IOTicker) throws {
        try bytes.withUnsafeBytes { try writeAll(fd, path, $0, ticker: ticker) }
    }

    static func writeAll(_ fd: Int32, _ path: String, _ bytes: UnsafeRawBufferPointer, ticker: IOTicker) throws {
        var done = 0
        while done < bytes.count {
            let wrote = Glibc.write(fd, bytes.baseAddress! + done, bytes.count - done)
            if wrote < 0 {
                if errno == EINTR { continue }
                throw SharedFolderError.system("write", path, errno)
            }
            done += wrote
            try ticker.tick()
        }
    }

    static func fsyncFile(_ fd: Int32, _ path: String) throws {
        if fsync(fd) != 0 { throw SharedFolderError.system("fsync", path, errno) }
    }

    /// Closes, reporting a failed close (NFS reports write errors there).
    static func closeChecked(_ fd: Int32, _ path: String) throws {
        if close(fd) != 0 { throw SharedFolderError.system("close", path, errno) }
    }

    /// Opens a folder, to name entries relative to it (`linkat`, `unlinkat`).
    static func openDirectory(_ path: String) throws -> Int32 {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd < 0 { throw SharedFolderError.system("open", path, errno) }
        return fd
    }

    static func fsyncDirectory(_ path: String) throws {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd < 0 { throw SharedFolderError.system("open", path, errno) }
        defer { close(fd) }
        // Some file systems (SMB) reject fsync on a folder; the rename that follows is still atomic.
        if fsync(fd) != 0 && errno != EINVAL && errno != EBADF { throw SharedFolderError.system("fsync", path, errno) }
    }

    static func rename(_ from: String, _ to: String) throws {
        if Glibc.rename(from, to) != 0 { throw SharedFolderError.system("rename", "\(from) -> \(to)", errno) }
    }

    /// Writes a small file completely and durably under a new name.
    static func writeNewFile(_ path: String, _ bytes: [UInt8], mode: mode_t = 0o600, ticker: IOTicker) throws {
        let fd = try createExclusive(path, mode: mode)
        do {
            try writeAll(fd, path, bytes, ticker: ticker)
            try fsyncFile(fd, path)
        } catch {
            close(fd)
            throw error
        }
        try closeChecked(fd, path)
    }

    static func readWhole(_ path: String, ticker: IOTicker) throws -> [UInt8] {
        let fd = try openRead(path)
        defer { close(fd) }
        var all: [UInt8] = []
        while true {
            let chunk = try read(fd, path, max: chunkSize, ticker: ticker)
            if chunk.isEmpty { return all }
            all += chunk
        }
    }

    /// Removes a tree this module created (snapshots, staging, cache). Never used on protected files.
    ///
    /// Each folder is listed first and its entries removed afterwards (deleting while reading a folder
    /// can skip entries on NFS), by name relative to the open folder, and without an `lstat` for entries
    /// whose type the listing gives: pruning a snapshot of 10,000 files is 10,000 `unlinkat` calls.
    static func removeTree(_ path: String, ticker: IOTicker) throws {
        guard let info = try lstatOrNil(path) else { return }
        if isDirectory(info) {
            try removeContents(path, ticker: ticker)
            if rmdir(path) != 0 && errno != ENOENT { throw SharedFolderError.system("rmdir", path, errno) }
        } else if unlink(path) != 0 && errno != ENOENT {
            throw SharedFolderError.system("unlink", path, errno)
        }
        try ticker.tick()
    }

    private static func removeContents(_ path: String, ticker: IOTicker) throws {
        guard let dir = opendir(path) else {
            if errno == ENOENT { return }
            throw SharedFolderError.system("opendir", path, errno)
        }
        defer { closedir(dir) }
        var entries: [(name: String, type: UInt8)] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: Int(NAME_MAX) + 1) { String(cString: $0) }
            }
            if name != "." && name != ".." { entries.append((name, entry.pointee.d_type)) }
        }
        let folder = dirfd(dir)
        for entry in entries {
            var isFolder = entry.type == UInt8(DT_DIR)
            if entry.type == UInt8(DT_UNKNOWN) {  // some file systems do not say; ask
                guard let info = try lstatOrNil(path + "/" + entry.name) else { continue }
                isFolder = isDirectory(info)
            }
            if isFolder {
                try removeTree(path + "/" + entry.name, ticker: ticker)
            } else {
                if unlinkat(folder, entry.name, 0) != 0 && errno != ENOENT {
                    throw SharedFolderError.system("unlink", path + "/" + entry.name, errno)
                }
                try ticker.tick()
            }
        }
    }

    /// A random hex string for unique temporary names.
    static func randomToken() -> String {
        (0..<8).map { _ in String(UInt8.random(in: 0...255), radix: 16) }.joined()
    }

    /// Modification time of a stat result, in seconds since 1970.
    static func mtime(_ info: stat) -> Double {
        Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) / 1e9
    }
}
