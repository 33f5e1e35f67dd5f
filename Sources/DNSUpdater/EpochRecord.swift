/// The epoch record beside the name: `_hotstandby.NAME TXT "epoch=N node=X"`.
///
/// It is the compare-and-set token of the DNS update: every update requires the TXT record to hold
/// exactly the value read just before, so a deposed node's late update is refused by the server.
public struct EpochRecord: Sendable, Equatable, CustomStringConvertible {
    /// The TXT record's data exactly as the server presented it (with quotes), used verbatim in the
    /// update's prerequisite. Several values are kept when the record set holds more than one.
    public var rdata: [String]
    /// The epoch written in the record; `nil` when the record does not parse as ours.
    public var epoch: Int64?
    /// The node written in the record; `nil` when the record does not parse as ours.
    public var node: String?

    /// Parses the TXT data of the record set (as `dig` prints it). The highest epoch found wins.
    public init(rdata: [String]) {
        self.rdata = rdata
        var best: (Int64, String)?
        for value in rdata {
            guard let parsed = Self.parse(value) else { continue }
            if best == nil || parsed.0 > best!.0 { best = parsed }
        }
        self.epoch = best?.0
        self.node = best?.1
    }

    /// The TXT data this node writes: `"epoch=N node=X"`, quotes included.
    public static func rdata(epoch: Int64, node: String) -> String { "\"epoch=\(epoch) node=\(node)\"" }

    /// `epoch=N node=X`, or the raw data when it is not ours.
    public var description: String {
        if let epoch, let node { return "epoch=\(epoch) node=\(node)" }
        return rdata.joined(separator: " ")
    }

    /// Whether a node at `epoch` named `node` may still write the record after reading this one:
    /// only when the recorded epoch is lower, or it is its own record of the same epoch (a repeat).
    public func allows(epoch: Int64, node: String) -> Bool {
        guard let recorded = self.epoch else { return true }  // not ours: the prerequisite still guards it
        if recorded < epoch { return true }
        return recorded == epoch && self.node == node
    }

    private static func parse(_ value: String) -> (Int64, String)? {
        // dig prints `"epoch=3 node=b"`; several character-strings would be `"a" "b"`: join them.
        var text = ""
        var inQuotes = false
        for character in value {
            if character == "\"" { inQuotes.toggle() } else if inQuotes { text.append(character) }
        }
        var epoch: Int64?
        var node: String?
        for field in text.split(separator: " ") {
            if field.hasPrefix("epoch=") { epoch = Int64(field.dropFirst(6)) }
            if field.hasPrefix("node=") { node = String(field.dropFirst(5)) }
        }
        guard let epoch, let node, !node.isEmpty else { return nil }
        return (epoch, node)
    }
}
