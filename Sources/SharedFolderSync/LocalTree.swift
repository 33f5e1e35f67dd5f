import Logging

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Walks the protected paths: regular files and folders are protected; symlinks, sockets,
/// FIFOs and devices are skipped with a warning (documented in docs/shared-folder.md).
enum LocalTree {
    struct Item {
        var path: String
        var info: stat
    }

    static func scan(_ roots: [String], logger: Logger, ticker: IOTicker) throws -> (directories: [Item], files: [Item])
    {
        var directories: [Item] = []
        var files: [Item] = []
        func visit(_ path: String, root: Bool) throws {
            try ticker.tick()
            guard let info = try PosixIO.lstatOrNil(path) else {
                // A root that is missing is worth a warning; an entry deleted since its folder was
                // listed (a temporary file) is not.
                if root {
                    logger.warning("shared folder: protected path is missing, skipped", metadata: ["path": "\(path)"])
                }
                return
            }
            if PosixIO.isDirectory(info) {
                let names: [String]
                do {
                    names = try PosixIO.list(path).sorted()
                } catch let error as SharedFolderError where error.errno == ENOENT && !root {
                    return  // removed since it was seen
                }
                directories.append(Item(path: path, info: info))
                for name in names { try visit(path + "/" + name, root: false) }
            } else if PosixIO.isRegular(info) {
                files.append(Item(path: path, info: info))
            } else {
                logger.warning("shared folder: not a regular file or folder, skipped", metadata: ["path": "\(path)"])
            }
        }
        for root in roots { try visit(SharedFolderConfig.normalized(root), root: true) }
        return (directories, files)
    }
}
