import FoundationEssentials
import HotStandbyCore

/// Where a node keeps its local state: one folder per cluster, so two clusters on one host never
/// share a snapshot cache, restore backups or an alert spool (docs/shared-folder.md, "The default state folder").
extension Config {
    /// The folder below which each cluster's default state folder lives, and the state folder itself
    /// of versions before the per-cluster default.
    public static let stateRoot = "/var/lib/hotstandby"

    /// The default `stateDirectory`: `/var/lib/hotstandby/<cluster>`, the cluster name escaped so
    /// that it is one path component and different names give different folders.
    ///
    /// Letters, digits, `.`, `_` and `-` are kept; every other byte of the UTF-8 name is written as
    /// `%XX` (`%` included), and a leading `.` as `%2E` (so neither `.` nor `..` nor a hidden name
    /// comes out). A result longer than 120 bytes is cut to 100 and followed by `-` and the first 16
    /// hex digits of the name's 64-bit FNV-1a hash (stable across versions and hosts).
    public static func defaultStateDirectory(cluster: String) -> String {
        var escaped = ""
        for (index, byte) in cluster.utf8.enumerated() {
            let keep =
                (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-") || (byte == UInt8(ascii: ".") && index > 0)
            escaped += keep ? String(UnicodeScalar(byte)) : String(cFormat: "%%%02X", byte)
        }
        if escaped.isEmpty { escaped = "%00" }  // no cluster (a refused configuration): never the root itself
        if escaped.utf8.count > 120 {
            var hash: UInt64 = 0xcbf2_9ce4_8422_2325
            for byte in cluster.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
            escaped = String(escaped.prefix(100)) + "-" + String(cFormat: "%016llx", hash)
        }
        return stateRoot + "/" + escaped
    }

    /// The local event spool: `<stateDirectory>/alert-spool`.
    public var alertSpoolDirectory: String { stateDirectory + "/alert-spool" }

    /// The one-time note for the log when `stateDirectory` is left to its default and the old shared
    /// layout (`/var/lib/hotstandby/shared-folder`, `/var/lib/hotstandby/alert-spool`) still exists;
    /// nil otherwise. Nothing there is moved or removed.
    public func oldLayoutNote(exists: (String) -> Bool = { FileManager.default.fileExists(atPath: $0) }) -> String? {
        guard stateDirectoryIsDefault else { return nil }
        let old = ["shared-folder", "alert-spool"].map { Self.stateRoot + "/" + $0 }.filter(exists)
        guard !old.isEmpty else { return nil }
        return "stateDirectory now defaults to \(stateDirectory) (one folder per cluster); "
            + "\(old.joined(separator: " and ")) of the old shared layout \(old.count == 1 ? "is" : "are") no longer used: "
            + "its snapshot cache is pulled again into the new folder; check shared-folder/backup (files replaced by "
            + "earlier restores) and alert-spool (events not yet in the database) before removing them, "
            + "or set stateDirectory: \(Self.stateRoot) to keep using the old folder"
    }
}
