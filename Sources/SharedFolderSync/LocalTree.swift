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

    static func scan(_ roots: [String], logger: Logger, ticker: IOTicker) throws -> (directories: [Item], files: [Item]) {
        var directories: [Item] = []
        var files: [Item] = []
        func visit(_ path: String) throws {
            try ticker.tick()
            guard let info = try PosixIO.lstatOrNil(path) else {
                logger.warning("shared folder: protected path is missing, skipped", metadata: ["path": "\(path)"])
                return
            }
            if PosixIO.isDirectory(info) {
                directories.append(Item(path: path, info: info))
                for name in try PosixIO.list(path).sorted() { try visit(path + "/" + name) }
            } else if PosixIO.isRegular(info) {
                files.append(Item(path: path, info: info))
            } else {
                logger.warning("shared folder: not a regular file or folder, skipped", metadata: ["path": "\(path)"])
            }
        }
        for root in roots { try visit(SharedFolderConfig.normalized(root)) }
        return (directories, files)
    }
}
