import Crypto
import FoundationEssentials
import Glibc
import HotStandbyCore

/// The `manifest.json` of one snapshot: what was copied, with checksums, and who published it when.
///
/// Beside it, `manifest.json.sha256` holds the SHA-256 of the manifest's bytes (an HMAC-SHA256 with
/// the key when encryption is on), so a damaged or forged manifest is rejected like a damaged file.
public struct SnapshotManifest: Codable, Sendable, Equatable {
    static let fileName = "manifest.json"
    static let sealName = "manifest.json.sha256"
    static let dataFolder = "data"

    /// One protected file.
    public struct File: Codable, Sendable, Equatable {
        /// The absolute local path.
        public var path: String
        /// Size of the plaintext in bytes.
        public var size: Int64
        /// Permission bits (`st_mode & 0o7777`).
        public var mode: UInt32
        /// Modification time, seconds since 1970.
        public var mtime: Double
        /// Owner and group, restored when running as root.
        public var uid: UInt32
        public var gid: UInt32
        /// SHA-256 of the plaintext, lowercase hex.
        public var sha256: String
        /// The stored copy, relative to the snapshot folder (`data/N`).
        public var stored: String
    }

    /// One protected folder (kept so empty folders and folder modes come back too).
    public struct Directory: Codable, Sendable, Equatable {
        /// The absolute local path.
        public var path: String
        /// Permission bits.
        public var mode: UInt32
        /// Owner and group, restored when running as root.
        public var uid: UInt32
        public var gid: UInt32
    }

    /// Format version (1).
    public var format: Int = 1
    /// The epoch of the node that published: a fencing token.
    public var epoch: Int64
    /// The sequence number, growing across epochs.
    public var sequence: Int64
    /// The publishing node's name.
    public var node: String
    /// Wall-clock time of publication, seconds since 1970 (for display only, never for ordering).
    public var createdAt: Double
    /// Whether the stored files are sealed with AES-GCM.
    public var encrypted: Bool
    /// `sharedFolder.paths` when published.
    public var roots: [String]
    /// The folders below the roots.
    public var directories: [Directory]
    /// The files below the roots.
    public var files: [File]

    /// Total plaintext bytes.
    public var totalBytes: Int64 { files.reduce(0) { $0 + $1.size } }

    func encoded(key: SymmetricKey?) throws -> (json: [UInt8], seal: [UInt8]) {
        let json = try jsonBytes()
        return (json, Array((Self.seal(json, key: key) + "\n").utf8))
    }

    static func seal(_ json: [UInt8], key: SymmetricKey?) -> String {
        if let key {
            return SnapshotCipher.hex(HMAC<SHA256>.authenticationCode(for: json, using: key))
        }
        return SnapshotCipher.hex(SHA256.hash(data: json))
    }

    /// Reads and checks the manifest of the snapshot folder `folder`.
    static func load(_ folder: String, key: SymmetricKey?, ticker: IOTicker) throws -> SnapshotManifest {
        let json = try PosixIO.readWhole(folder + "/" + fileName, ticker: ticker)
        let seal = String(decoding: try PosixIO.readWhole(folder + "/" + sealName, ticker: ticker), as: UTF8.self)
            .trimmingWhitespace()
        guard seal == Self.seal(json, key: key) else {
            throw SharedFolderError(
                .verificationFailed,
                "\(folder)/\(fileName) does not match \(sealName) (damaged, or sealed with another key)",
                path: folder
            )
        }
        do {
            let manifest = try JSONDecoder().decode(SnapshotManifest.self, from: Data(json))
            guard manifest.format == 1 else {
                throw SharedFolderError(.verificationFailed, "\(folder): unknown manifest format \(manifest.format)")
            }
            guard manifest.encrypted == (key != nil) else {
                throw SharedFolderError(
                    .verificationFailed,
                    "\(folder) was published " + (manifest.encrypted ? "encrypted" : "unencrypted")
                        + " but sharedFolder.encryptionKeyFile is " + (key == nil ? "not set" : "set")
                        + "; use the same setting on both nodes",
                    path: folder
                )
            }
            for file in manifest.files where !file.stored.hasPrefix(dataFolder + "/") || file.stored.contains("..") {
                throw SharedFolderError(.verificationFailed, "\(folder): bad stored name '\(file.stored)'")
            }
            return manifest
        } catch let error as SharedFolderError {
            throw error
        } catch {
            throw SharedFolderError(.verificationFailed, "\(folder)/\(fileName) cannot be read: \(error)", path: folder)
        }
    }
}
