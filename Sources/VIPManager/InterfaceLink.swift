#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// What this process's network namespace says about one interface, read in-process with `getifaddrs`
/// (glibc asks the kernel over netlink: no `ip` process, no `/sys`, nothing that can hang on I/O).
///
/// The VIP's periodic duties use it instead of `ip -json addr show` (docs/vip.md, "What runs as a process"):
/// the standby's check every `vip.garp.refresh`, the active's check before each refresh, the host check every
/// minute. A node whose commands run through `commandPrefix` (a test lab entering another namespace) keeps
/// using `ip`, since this process's namespace is not the one its commands act on.
struct InterfaceLink: Sendable, Hashable {
    /// One address on the interface, as `ip -json addr show` lists it (`family` is `inet` or `inet6`).
    struct Address: Sendable, Hashable, Decodable {
        var family: String
        var local: String
        var prefixlen: Int
    }

    /// The interface's index (`if_nametoindex`).
    var index: UInt32
    /// The hardware address; empty when the interface has none (a tunnel, `lo` has six zero bytes).
    var mac: [UInt8]
    /// Every IPv4 and IPv6 address bound to the interface, labelled (`eth0:vip`) or not.
    var addresses: [Address]

    /// The MAC as `ip` prints it (`02:77:00:00:00:01`).
    var macText: String {
        mac.map { byte in
            let hex = String(byte, radix: 16)
            return hex.count == 1 ? "0" + hex : hex
        }.joined(separator: ":")
    }

    /// Reads `name`. Throws `.unknownInterface` when this namespace has no such interface.
    static func named(_ name: String) throws(VIPError) -> InterfaceLink {
        let index = if_nametoindex(name)
        guard index != 0 else {
            throw VIPError(
                code: .unknownInterface,
                key: "vip.interface",
                message:
                    "vip.interface '\(name)' does not exist on this host (\(hostInterfaceNames().joined(separator: ", ")))"
            )
        }
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0 else {
            throw VIPError(code: .commandFailed, message: "getifaddrs failed: \(String(cString: strerror(errno)))")
        }
        defer { freeifaddrs(list) }
        var link = InterfaceLink(index: index, mac: [], addresses: [])
        var cursor = list
        while let entry = cursor {
            cursor = entry.pointee.ifa_next
            // IPv4 entries carry the address's label as their name (`eth0:vip`); a label always starts with
            // the interface's name and a colon (VIPConfig checks vip.label), and names cannot hold a colon.
            let entryName = String(cString: entry.pointee.ifa_name)
            guard entryName == name || entryName.hasPrefix(name + ":"), let address = entry.pointee.ifa_addr else {
                continue
            }
            switch Int32(address.pointee.sa_family) {
            case AF_PACKET:
                // struct sockaddr_ll (not imported into Swift): sll_halen at byte 11, sll_addr[8] at byte 12.
                let raw = UnsafeRawPointer(address)
                let length = min(Int(raw.load(fromByteOffset: 11, as: UInt8.self)), 8)
                link.mac = (0..<length).map { raw.load(fromByteOffset: 12 + $0, as: UInt8.self) }
            case AF_INET, AF_INET6:
                if let parsed = Self.address(address, netmask: entry.pointee.ifa_netmask) {
                    link.addresses.append(parsed)
                }
            default:
                continue
            }
        }
        return link
    }

    /// The interface names of this namespace (`if_nameindex`), in index order.
    static func hostInterfaceNames() -> [String] {
        guard let list = if_nameindex() else { return [] }
        defer { if_freenameindex(list) }
        var names: [String] = []
        var cursor = list
        while cursor.pointee.if_index != 0, let name = cursor.pointee.if_name {
            names.append(String(cString: name))
            cursor += 1
        }
        return names
    }

    /// The text `inet_ntop` wrote into `buffer`, up to its terminating zero.
    private static func string(_ buffer: [CChar]) -> String {
        String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// One `getifaddrs` address in `ip`'s words: the canonical text and the netmask's prefix length.
    private static func address(_ address: UnsafeMutablePointer<sockaddr>, netmask: UnsafeMutablePointer<sockaddr>?)
        -> Address?
    {
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        func prefix(_ bytes: UnsafeRawBufferPointer) -> Int { bytes.reduce(0) { $0 + $1.nonzeroBitCount } }
        if Int32(address.pointee.sa_family) == AF_INET {
            var ipv4 = UnsafeRawPointer(address).loadUnaligned(as: sockaddr_in.self).sin_addr
            guard inet_ntop(AF_INET, &ipv4, &text, socklen_t(text.count)) != nil else { return nil }
            let length = netmask.map { mask in
                withUnsafeBytes(of: UnsafeRawPointer(mask).loadUnaligned(as: sockaddr_in.self).sin_addr) { prefix($0) }
            }
            return Address(family: "inet", local: Self.string(text), prefixlen: length ?? 32)
        }
        var ipv6 = UnsafeRawPointer(address).loadUnaligned(as: sockaddr_in6.self).sin6_addr
        guard inet_ntop(AF_INET6, &ipv6, &text, socklen_t(text.count)) != nil else { return nil }
        let length = netmask.map { mask in
            withUnsafeBytes(of: UnsafeRawPointer(mask).loadUnaligned(as: sockaddr_in6.self).sin6_addr) { prefix($0) }
        }
        return Address(family: "inet6", local: Self.string(text), prefixlen: length ?? 128)
    }
}
