import Foundation
import Logging
import Synchronization
import TestSupport

@testable import SharedFolderSync

#if canImport(Glibc)
    import Glibc
#endif

/// A temporary folder tree for one test: `local` (protected files), `share`, two node state folders.
struct Lab {
    let root: String
    var local: String { root + "/local" }
    var share: String { root + "/share" }

    init() throws {
        var template = Array("/tmp/hotstandby-sync-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw POSIXError(.EIO) }
        root = String(cString: made)
        try FileManager.default.createDirectory(atPath: root + "/local/conf/nested", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: root + "/share", withIntermediateDirectories: true)
    }

    func config(
        node: String,
        requireMount: Bool = false,
        key: String? = nil,
        ioTimeout: Duration = .seconds(5),
        keepBackups: Int = 5
    ) -> SharedFolderConfig {
        SharedFolderConfig(
            cluster: "test",
            path: share,
            paths: [local],
            stateDirectory: root + "/state-" + node,
            keep: 3,
            keepBackups: keepBackups,
            requireMount: requireMount,
            encryptionKeyFile: key,
            ioTimeout: ioTimeout
        )
    }

    func sync(
        node: String,
        requireMount: Bool = false,
        key: String? = nil,
        ioTimeout: Duration = .seconds(5),
        keepBackups: Int = 5,
        logger: Logger = Logger(label: "test")
    ) throws -> SharedFolderSync {
        try SharedFolderSync(
            config: config(
                node: node,
                requireMount: requireMount,
                key: key,
                ioTimeout: ioTimeout,
                keepBackups: keepBackups
            ),
            logger: logger
        )
    }

    func write(_ relative: String, _ text: String, mode: mode_t = 0o644) throws {
        let path = local + "/" + relative
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        chmod(path, mode)
    }

    func read(_ relative: String) -> String? {
        (try? Data(contentsOf: URL(fileURLWithPath: local + "/" + relative))).map {
            String(decoding: $0, as: UTF8.self)
        }
    }

    func mode(_ relative: String) -> mode_t {
        var info = stat()
        stat(local + "/" + relative, &info)
        return info.st_mode & 0o7777
    }

    func snapshotFolders() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: share)) ?? []).filter { $0.hasPrefix("snapshot-") }
            .sorted()
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: root)
    }
}

let isRoot = geteuid() == 0
let held: @Sendable () async -> Bool = { true }

/// Mounts a tmpfs (root only); returns false when mounting is not possible here.
func mountTmpfs(_ path: String, options: String) -> Bool {
    run(["/bin/mount", "-t", "tmpfs", "-o", options, "tmpfs", path]) == 0
}

func unmount(_ path: String) { _ = run(["/bin/umount", path]) }

@discardableResult
func run(_ argv: [String]) -> Int32 {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: argv[0])
    process.arguments = Array(argv.dropFirst())
    do { try process.run() } catch { return -1 }
    process.waitUntilExit()
    return process.terminationStatus
}

func expectError(_ code: SharedFolderError.Code, _ body: () async throws -> some Any) async -> SharedFolderError? {
    do {
        _ = try await body()
        return nil
    } catch let error as SharedFolderError {
        return error.code == code ? error : nil
    } catch {
        return nil
    }
}
