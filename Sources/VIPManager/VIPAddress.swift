#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A virtual IP address with its prefix length, parsed from `vip.address` (`10.77.0.100/24`, `fd77::100/64`).
///
/// Only a value that parsed as an address can reach an argv, so nothing else (an option, a second
/// word) can be smuggled into `ip` or `arping` through it.
public struct VIPAddress: Sendable, Hashable, CustomStringConvertible {
    /// The address family.
    public enum Family: Sendable, Hashable {
        /// IPv4: bound with an optional label, announced with gratuitous ARP.
        case ipv4
        /// IPv6: bound with `nodad`, announced by unsolicited neighbour advertisements (see docs/vip.md).
        case ipv6
    }

    /// IPv4 or IPv6.
    public let family: Family
    /// The address in canonical text form (`10.77.0.100`, `fd77::100`), as `ip -json` prints it.
    public let address: String
    /// The prefix length: 0...32 for IPv4, 0...128 for IPv6.
    public let prefixLength: Int

    /// `address/prefixLength`, the form `ip addr add` takes.
    public var cidr: String { "\(address)/\(prefixLength)" }
    public var description: String { cidr }

    /// Parses `ADDRESS/PREFIX`; the prefix is required.
    ///
    /// - Throws: `VIPError.Code.invalidSetting` naming `vip.address` and the value.
    public init(parsing text: String) throws(VIPError) {
        func invalid(_ why: String) -> VIPError {
            VIPError(
                code: .invalidSetting,
                key: "vip.address",
                message: "vip.address '\(text.printable)' \(why); write an address with its prefix, "
                    + "e.g. 10.77.0.100/24 or fd77::100/64"
            )
        }
        guard text.utf8.count <= 64, !text.isEmpty else { throw invalid("is empty or too long") }
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2 else {
            throw invalid(parts.count == 1 ? "has no prefix length" : "has more than one '/'")
        }
        let host = String(parts[0])
        let prefixText = parts[1]
        guard !prefixText.isEmpty, prefixText.count <= 3, prefixText.allSatisfy(\.isASCIIDigit),
            let prefix = Int(prefixText)
        else { throw invalid("has a prefix length that is not a number") }
        if let canonical = Self.canonical(host, family: AF_INET) {
            guard prefix <= 32 else { throw invalid("has a prefix length above 32") }
            // inet_pton accepts only dotted quads for AF_INET; reject the all-zero and broadcast oddities.
            guard canonical != "0.0.0.0", canonical != "255.255.255.255" else {
                throw invalid("is not a usable host address")
            }
            self.family = .ipv4
            self.address = canonical
        } else if let canonical = Self.canonical(host, family: AF_INET6) {
            guard prefix <= 128 else { throw invalid("has a prefix length above 128") }
            guard canonical != "::", !canonical.lowercased().hasPrefix("ff") else {
                throw invalid("is not a usable unicast address")
            }
            self.family = .ipv6
            self.address = canonical
        } else {
            throw invalid("is not an IPv4 or IPv6 address")
        }
        self.prefixLength = prefix
    }

    /// Round-trips through inet_pton/inet_ntop, so only a real address comes out, in the kernel's spelling.
    private static func canonical(_ text: String, family: Int32) -> String? {
        guard text.allSatisfy({ $0.isASCIIHexDigit || $0 == "." || $0 == ":" }) else { return nil }
        var buffer = [UInt8](repeating: 0, count: 16)
        let parsed = text.withCString { inet_pton(family, $0, &buffer) }
        guard parsed == 1 else { return nil }
        var output = [CChar](repeating: 0, count: 64)
        guard inet_ntop(family, buffer, &output, socklen_t(output.count)) != nil else { return nil }
        return String(decoding: output.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// A network interface name that is safe to put in an argv: 1 to 15 characters of letters, digits,
/// `.`, `_` and `-`, not starting with `-` or `.`.
public struct InterfaceName: Sendable, Hashable, CustomStringConvertible {
    /// The name, as the kernel knows it (`eth0`).
    public let name: String
    public var description: String { name }

    /// Checks the name is a plain value; whether it exists is checked by `VIPConfig.checkHost()`.
    ///
    /// - Parameter key: the YAML key for the message. Defaults to `vip.interface`.
    public init(_ name: String, key: String = "vip.interface") throws(VIPError) {
        if let why = Self.problem(name) {
            throw VIPError(
                code: .invalidSetting,
                key: key,
                message: "\(key) '\(name.printable)' \(why); give the name of an interface as "
                    + "`ip link show` prints it, e.g. eth0"
            )
        }
        self.name = name
    }

    static func problem(_ name: String) -> String? {
        if name.isEmpty { return "is empty" }
        if name.utf8.count > 15 { return "is longer than 15 characters (the kernel's limit)" }
        if name.hasPrefix("-") { return "starts with '-' (it would be read as an option)" }
        if name.hasPrefix(".") { return "starts with '.'" }
        if name.contains(where: { $0.isWhitespace }) { return "contains a space" }
        if name.contains("/") { return "contains '/'" }
        if name.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f }) {
            return "contains a control character"
        }
        if !name.allSatisfy({ $0.isASCIILetterOrDigit || $0 == "." || $0 == "_" || $0 == "-" }) {
            return "contains characters other than letters, digits, '.', '_' and '-'"
        }
        return nil
    }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
    var isASCIIHexDigit: Bool { isASCII && isHexDigit }
    var isASCIILetterOrDigit: Bool { isASCII && (isLetter || isNumber) }
}

extension String {
    /// The value with control characters made visible, for error messages.
    var printable: String {
        String(
            unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7f ? "?" : Character($0) }
        )
    }
}
