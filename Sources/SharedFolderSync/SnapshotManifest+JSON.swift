/// A hand-written writer for `manifest.json`.
///
/// Foundation's `JSONEncoder` spent about a quarter of an incremental publish of 10,000 files building
/// the manifest (and most of its peak memory). This writes the same document (the same keys, sorted,
/// one file per line) straight into a byte array; any JSON reader, `JSONDecoder` included, reads it
/// back to an equal `SnapshotManifest` (`SnapshotManifestTests` checks that).
extension SnapshotManifest {
    func jsonBytes() throws -> [UInt8] {
        var out = JSONBytes()
        out.bytes.reserveCapacity(256 + 200 * directories.count + 320 * files.count)
        out.raw("{\n  \"createdAt\" : ")
        try out.number(createdAt)
        out.raw(",\n  \"directories\" : [")
        for (index, directory) in directories.enumerated() {
            out.raw(index == 0 ? "\n    {\"gid\":" : ",\n    {\"gid\":")
            out.integer(directory.gid)
            out.raw(",\"mode\":")
            out.integer(directory.mode)
            out.raw(",\"path\":")
            out.string(directory.path)
            out.raw(",\"uid\":")
            out.integer(directory.uid)
            out.raw("}")
        }
        out.raw(directories.isEmpty ? "],\n  \"encrypted\" : " : "\n  ],\n  \"encrypted\" : ")
        out.raw(encrypted ? "true" : "false")
        out.raw(",\n  \"epoch\" : ")
        out.integer(epoch)
        out.raw(",\n  \"files\" : [")
        for (index, file) in files.enumerated() {
            out.raw(index == 0 ? "\n    {\"gid\":" : ",\n    {\"gid\":")
            out.integer(file.gid)
            out.raw(",\"mode\":")
            out.integer(file.mode)
            out.raw(",\"mtime\":")
            try out.number(file.mtime)
            out.raw(",\"path\":")
            out.string(file.path)
            out.raw(",\"sha256\":")
            out.string(file.sha256)
            out.raw(",\"size\":")
            out.integer(file.size)
            out.raw(",\"stored\":")
            out.string(file.stored)
            out.raw(",\"uid\":")
            out.integer(file.uid)
            out.raw("}")
        }
        out.raw(files.isEmpty ? "],\n  \"format\" : " : "\n  ],\n  \"format\" : ")
        out.integer(format)
        out.raw(",\n  \"node\" : ")
        out.string(node)
        out.raw(",\n  \"roots\" : [")
        for (index, root) in roots.enumerated() {
            out.raw(index == 0 ? "" : ",")
            out.string(root)
        }
        out.raw("],\n  \"sequence\" : ")
        out.integer(sequence)
        out.raw("\n}\n")
        return out.bytes
    }
}

/// JSON text (RFC 8259) appended to a byte array.
private struct JSONBytes {
    var bytes: [UInt8] = []

    /// Appends text that needs no escaping (the writer's own punctuation and key names).
    mutating func raw(_ text: StaticString) {
        text.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    mutating func integer<T: BinaryInteger>(_ value: T) {
        bytes.append(contentsOf: String(value).utf8)
    }

    /// The shortest decimal that reads back as exactly `value` (Swift's `description`, as `JSONEncoder`).
    mutating func number(_ value: Double) throws {
        guard value.isFinite else {
            throw SharedFolderError(.ioFailed, "manifest value \(value) cannot be written as JSON")
        }
        bytes.append(contentsOf: value.description.utf8)
    }

    /// A string literal: `"` and `\` escaped, control characters as `\u00XX`, the rest as UTF-8.
    mutating func string(_ value: String) {
        bytes.append(UInt8(ascii: "\""))
        let utf8 = value.utf8
        if utf8.withContiguousStorageIfAvailable({ plain($0) }) ?? false {
            bytes.append(contentsOf: utf8)
        } else {
            for byte in utf8 {
                switch byte {
                case UInt8(ascii: "\""): bytes += [UInt8(ascii: "\\"), UInt8(ascii: "\"")]
                case UInt8(ascii: "\\"): bytes += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
                case UInt8(ascii: "\n"): bytes += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
                case UInt8(ascii: "\t"): bytes += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
                case 0..<0x20:
                    let hex = Array("0123456789abcdef".utf8)
                    bytes += Array("\\u00".utf8) + [hex[Int(byte >> 4)], hex[Int(byte & 0xf)]]
                default: bytes.append(byte)
                }
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    /// Whether `text` can be copied as it is: no quote, backslash or control character.
    private func plain(_ text: UnsafeBufferPointer<UInt8>) -> Bool {
        for byte in text where byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
            return false
        }
        return true
    }
}
