import Crypto
import FoundationEssentials
import Glibc
import HotStandbyCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// How file contents are stored in the share: as they are, or sealed with AES-256-GCM in 1 MiB records.
///
/// Encrypted format: `HSE1`, then records of `UInt32 big-endian length` + `nonce | ciphertext | tag`.
/// Each record's additional data is its index (UInt64 BE) and a final flag, so records cannot be
/// reordered, dropped or cut off without the open failing.
struct SnapshotCipher: Sendable {
    static let magic: [UInt8] = Array("HSE1".utf8)
    /// The raw key (SymmetricKey is not Sendable, so the bytes are kept and wrapped on use).
    let keyBytes: [UInt8]?
    var key: SymmetricKey? { keyBytes.map { SymmetricKey(data: $0) } }

    /// Copies a local file into `destination` (a new file) in stored form and returns the SHA-256
    /// and size of the plaintext that was actually copied. `buffer` is the job's read buffer.
    func store(
        _ source: String,
        to destination: String,
        buffer: ChunkBuffer = ChunkBuffer(),
        ticker: IOTicker
    ) throws -> (sha256: String, size: Int64) {
        let input = try PosixIO.openRead(source)
        defer { close(input) }
        let output = try PosixIO.createExclusive(destination)
        var hasher = SHA256()
        var size: Int64 = 0
        do {
            if let key {
                try PosixIO.writeAll(output, destination, Self.magic, ticker: ticker)
                var current = try PosixIO.read(input, source, max: PosixIO.chunkSize, ticker: ticker)
                var index: UInt64 = 0
                while true {
                    let next =
                        current.isEmpty ? [] : try PosixIO.read(input, source, max: PosixIO.chunkSize, ticker: ticker)
                    hasher.update(data: current)
                    size += Int64(current.count)
                    let sealed = try AES.GCM.seal(
                        current,
                        using: key,
                        authenticating: Self.aad(index, final: next.isEmpty)
                    )
                    guard let combined = sealed.combined else {
                        throw SharedFolderError(.ioFailed, "AES-GCM produced no output for \(source)")
                    }
                    let length = UInt32(combined.count)
                    let header: [UInt8] = [
                        UInt8(length >> 24), UInt8(length >> 16 & 0xff), UInt8(length >> 8 & 0xff),
                        UInt8(length & 0xff),
                    ]
                    try PosixIO.writeAll(output, destination, header + Array(combined), ticker: ticker)
                    if next.isEmpty { break }
                    current = next
                    index += 1
                }
            } else {
                while true {
                    let chunk = try PosixIO.read(input, source, into: buffer, ticker: ticker)
                    if chunk.isEmpty { break }
                    hasher.update(bufferPointer: chunk)
                    size += Int64(chunk.count)
                    try PosixIO.writeAll(output, destination, chunk, ticker: ticker)
                }
            }
            try PosixIO.fsyncFile(output, destination)
        } catch {
            close(output)
            throw error
        }
        try PosixIO.closeChecked(output, destination)
        return (Self.hex(hasher.finalize()), size)
    }

    /// Reads a stored file and hands its plaintext to `body` chunk by chunk.
    func plaintext(of stored: String, ticker: IOTicker, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        let fd = try PosixIO.openRead(stored)
        defer { close(fd) }
        guard let key else {
            let buffer = ChunkBuffer()
            while true {
                let chunk = try PosixIO.read(fd, stored, into: buffer, ticker: ticker)
                if chunk.isEmpty { return }
                try body(chunk)
            }
        }
        func corrupt(_ why: String) -> SharedFolderError {
            SharedFolderError(.verificationFailed, "\(stored): \(why)", path: stored)
        }
        guard try PosixIO.read(fd, stored, max: 4, ticker: ticker) == Self.magic else {
            throw corrupt("not an encrypted snapshot file (wrong header)")
        }
        var index: UInt64 = 0
        while true {
            let header = try PosixIO.read(fd, stored, max: 4, ticker: ticker)
            guard header.count == 4 else { throw corrupt("cut off before its final record") }
            let length = Int(header[0]) << 24 | Int(header[1]) << 16 | Int(header[2]) << 8 | Int(header[3])
            guard length >= 28, length <= PosixIO.chunkSize + 28 else { throw corrupt("bad record length \(length)") }
            let record = try PosixIO.read(fd, stored, max: length, ticker: ticker)
            guard record.count == length else { throw corrupt("cut off inside a record") }
            let box = try AES.GCM.SealedBox(combined: record)
            if let plain = try? AES.GCM.open(box, using: key, authenticating: Self.aad(index, final: false)) {
                try plain.withUnsafeBytes(body)
            } else if let plain = try? AES.GCM.open(box, using: key, authenticating: Self.aad(index, final: true)) {
                try plain.withUnsafeBytes(body)
                guard try PosixIO.read(fd, stored, max: 1, ticker: ticker).isEmpty else {
                    throw corrupt("data after the final record")
                }
                return
            } else {
                throw corrupt("record \(index) fails authentication (corrupt, or sealed with another key)")
            }
            index += 1
        }
    }

    /// Checks a stored file against its manifest entry.
    func verify(_ stored: String, _ entry: SnapshotManifest.File, ticker: IOTicker) throws {
        var hasher = SHA256()
        var size: Int64 = 0
        try plaintext(of: stored, ticker: ticker) { chunk in
            hasher.update(bufferPointer: chunk)
            size += Int64(chunk.count)
        }
        try Self.check(entry, sha256: Self.hex(hasher.finalize()), size: size, where: stored)
    }

    /// Writes the plaintext of a stored file to a new file and returns its SHA-256 and size.
    func materialize(_ stored: String, to destination: String, mode: mode_t, ticker: IOTicker) throws -> (
        sha256: String, size: Int64
    ) {
        let output = try PosixIO.createExclusive(destination, mode: mode & 0o7777)
        var hasher = SHA256()
        var size: Int64 = 0
        do {
            try plaintext(of: stored, ticker: ticker) { chunk in
                hasher.update(bufferPointer: chunk)
                size += Int64(chunk.count)
                try PosixIO.writeAll(output, destination, chunk, ticker: ticker)
            }
            try PosixIO.fsyncFile(output, destination)
        } catch {
            close(output)
            throw error
        }
        try PosixIO.closeChecked(output, destination)
        return (Self.hex(hasher.finalize()), size)
    }

    /// Copies a stored file byte for byte (share → cache) into a new file.
    static func copyRaw(_ source: String, to destination: String, ticker: IOTicker) throws {
        let input = try PosixIO.openRead(source)
        defer { close(input) }
        let output = try PosixIO.createExclusive(destination)
        let buffer = ChunkBuffer()
        do {
            while true {
                let chunk = try PosixIO.read(input, source, into: buffer, ticker: ticker)
                if chunk.isEmpty { break }
                try PosixIO.writeAll(output, destination, chunk, ticker: ticker)
            }
            try PosixIO.fsyncFile(output, destination)
        } catch {
            close(output)
            throw error
        }
        try PosixIO.closeChecked(output, destination)
    }

    /// SHA-256 of a local file's contents. `buffer` is the job's read buffer.
    static func hashFile(
        _ path: String,
        buffer: ChunkBuffer = ChunkBuffer(),
        ticker: IOTicker
    ) throws -> (sha256: String, size: Int64) {
        let fd = try PosixIO.openRead(path)
        defer { close(fd) }
        var hasher = SHA256()
        var size: Int64 = 0
        while true {
            let chunk = try PosixIO.read(fd, path, into: buffer, ticker: ticker)
            if chunk.isEmpty { break }
            hasher.update(bufferPointer: chunk)
            size += Int64(chunk.count)
        }
        return (hex(hasher.finalize()), size)
    }

    static func check(_ entry: SnapshotManifest.File, sha256: String, size: Int64, where place: String) throws {
        guard sha256 == entry.sha256, size == entry.size else {
            throw SharedFolderError(
                .verificationFailed,
                "\(place) (for \(entry.path)) does not match the manifest: size \(size) vs \(entry.size), "
                    + "SHA-256 \(sha256.prefix(12))… vs \(entry.sha256.prefix(12))…",
                path: place
            )
        }
    }

    static func aad(_ index: UInt64, final: Bool) -> [UInt8] {
        (0..<8).map { UInt8(index >> (56 - 8 * UInt64($0)) & 0xff) } + [final ? 1 : 0]
    }

    static func hex<D: Sequence>(_ digest: D) -> String where D.Element == UInt8 {
        digest.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }

    /// Loads the key file: 32 raw bytes or base64 text; refuses a file others can read.
    static func loadKey(_ path: String) throws -> [UInt8] {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw SharedFolderError(
                .keyFile,
                "sharedFolder.encryptionKeyFile '\(path)': \(String(cString: strerror(errno)))",
                path: path
            )
        }
        if info.st_mode & 0o077 != 0 {
            throw SharedFolderError(
                .keyFile,
                "sharedFolder.encryptionKeyFile '\(path)' is readable by group or others (mode "
                    + String(info.st_mode & 0o777, radix: 8) + "); run: chmod 600 \(path)",
                path: path
            )
        }
        let bytes = try PosixIO.readWhole(path, ticker: IOTicker())
        if bytes.count == 32 { return bytes }
        let text = String(decoding: bytes, as: UTF8.self).trimmingWhitespace()
        if let decoded = Data(base64Encoded: text), decoded.count == 32 { return Array(decoded) }
        throw SharedFolderError(
            .keyFile,
            "sharedFolder.encryptionKeyFile '\(path)' must hold 32 random bytes, raw or base64 "
                + "(e.g. openssl rand -base64 32 > \(path)); it holds \(bytes.count) bytes",
            path: path
        )
    }
}
