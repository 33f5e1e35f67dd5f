#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Why a shared-folder operation (publish, pull, restore, status) failed, in words an operator can act on.
///
/// `description` names the path and what to do; it never holds key material.
public struct SharedFolderError: Error, CustomStringConvertible, Sendable {
    /// The kind of failure, opaque so cases can be added.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        /// A configuration value is wrong; the message names the YAML key.
        public static let invalidConfig = Code("invalid config")
        /// The encryption key file is missing, unreadable, too open or the wrong size.
        public static let keyFile = Code("key file")
        /// `sharedFolder.requireMount` is on and the share is neither a mount point nor marked.
        public static let notMounted = Code("share not mounted")
        /// The share (or the local disk) has no space left (`ENOSPC`, `EDQUOT`).
        public static let noSpace = Code("no space")
        /// The share is mounted read-only (`EROFS`).
        public static let readOnly = Code("read-only")
        /// A file operation made no progress before its deadline (a hung NFS/SMB mount).
        public static let timedOut = Code("timed out")
        /// An earlier file operation is still stuck past its deadline; new work is refused until it ends.
        public static let stuck = Code("stuck")
        /// A newer epoch has published, or the lease was lost: this node must not publish.
        public static let deposed = Code("deposed")
        /// A snapshot failed verification (checksum, decryption or missing file).
        public static let verificationFailed = Code("verification failed")
        /// No complete, verifiable snapshot was found.
        public static let noSnapshot = Code("no snapshot")
        /// Another publish, pull or restore of this instance is running.
        public static let busy = Code("busy")
        /// The share belongs to another cluster (its `.hotstandby-share-id` names it), or the local cache
        /// was filled from another share or cluster and cannot be checked against this one.
        public static let otherCluster = Code("other cluster")
        /// A restore renamed some files into place and then failed; the message lists what is left.
        public static let restoreIncomplete = Code("restore incomplete")
        /// Any other file-system error; the message holds the call, the path and `strerror`.
        public static let ioFailed = Code("I/O failed")
        public var description: String { name }
    }

    /// The kind of failure.
    public var code: Code
    /// What failed, with which value, and what to do.
    public var message: String
    /// The path involved, when there is one.
    public var path: String?
    /// The `errno` behind the failure, when there is one.
    public var errno: Int32?

    /// Creates an error.
    public init(_ code: Code, _ message: String, path: String? = nil, errno: Int32? = nil) {
        self.code = code
        self.message = message
        self.path = path
        self.errno = errno
    }

    /// Whether the caller should simply try again at its next interval (full, read-only or hung share).
    public var isRetryable: Bool {
        [.noSpace, .readOnly, .timedOut, .stuck, .ioFailed, .busy, .notMounted].contains(code)
    }

    public var description: String { message }

    /// Maps an `errno` from a system call to an error with advice.
    static func system(_ call: String, _ path: String, _ err: Int32) -> SharedFolderError {
        let reason = String(cString: strerror(err))
        switch err {
        case ENOSPC, EDQUOT:
            return SharedFolderError(
                .noSpace,
                "\(call) \(path): \(reason); free space on that file system (local files are untouched)",
                path: path,
                errno: err
            )
        case EROFS:
            return SharedFolderError(
                .readOnly,
                "\(call) \(path): \(reason); remount the share read-write (local files are untouched)",
                path: path,
                errno: err
            )
        default:
            return SharedFolderError(.ioFailed, "\(call) \(path): \(reason)", path: path, errno: err)
        }
    }
}
