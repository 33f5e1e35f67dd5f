#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Reads key and secret files after checking their mode, and writes the generated key file.
///
/// Nothing here ever puts a file's contents into an error or a log line.
enum SecretFile {
    /// Reads a key or secret file that only its owner may read.
    ///
    /// - Parameter key: the YAML key that named the file, for the message.
    static func readPrivate(_ path: String, key: String) throws(DNSError) -> String {
        var info = stat()
        guard stat(path, &info) == 0 else {
            let reason = String(cString: strerror(errno))
            throw DNSError(.invalidConfig, "\(key) '\(path)' cannot be used: \(reason)")
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw DNSError(.invalidConfig, "\(key) '\(path)' is not a regular file")
        }
        let mode = info.st_mode & 0o777
        guard mode & 0o077 == 0 else {
            throw DNSError(
                .insecureKeyFile,
                "\(key) '\(path)' can be read by group or others (mode \(String(mode, radix: 8))); "
                    + "a TSIG secret must be private: run `chmod 600 \(path)`"
            )
        }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let reason = String(cString: strerror(errno))
            throw DNSError(.invalidConfig, "\(key) '\(path)' cannot be read: \(reason)")
        }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while bytes.count < 64 * 1024 {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, 4096) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { break }
            bytes += chunk.prefix(count)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Makes `directory` (mode 0700) if needed and checks that only its owner can enter it.
    static func ensurePrivateDirectory(_ directory: String) throws(DNSError) {
        var path = ""
        for component in directory.split(separator: "/") {
            path += "/" + component
            if mkdir(path, 0o700) != 0 && errno != EEXIST {
                let reason = String(cString: strerror(errno))
                throw DNSError(.runtimeFolder, "cannot create the runtime folder '\(path)': \(reason)")
            }
        }
        var info = stat()
        guard stat(directory, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR else {
            throw DNSError(.runtimeFolder, "the runtime folder '\(directory)' is not a directory")
        }
        if info.st_mode & 0o077 != 0 {
            guard info.st_uid == geteuid(), chmod(directory, 0o700) == 0 else {
                throw DNSError(
                    .runtimeFolder,
                    "the runtime folder '\(directory)' can be entered by group or others and is not ours to fix: "
                        + "run `chmod 700 \(directory)`"
                )
            }
        }
    }

    /// Writes `text` to `path` with mode 0600, atomically (a temporary file renamed over it).
    static func writePrivate(_ text: String, to path: String) throws(DNSError) {
        let temporary = path + ".tmp"
        _ = unlink(temporary)
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else {
            let reason = String(cString: strerror(errno))
            throw DNSError(.runtimeFolder, "cannot write the key file '\(path)': \(reason)")
        }
        let bytes = Array(text.utf8)
        var written = 0
        while written < bytes.count {
            let count = bytes[written...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { break }
            written += count
        }
        fchmod(fd, 0o600)
        close(fd)
        guard written == bytes.count, rename(temporary, path) == 0 else {
            _ = unlink(temporary)
            throw DNSError(.runtimeFolder, "cannot write the key file '\(path)'")
        }
    }
}
