#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Unsolicited neighbour advertisements (RFC 4861 §7.2.6): IPv6's gratuitous ARP, sent on a raw ICMPv6
/// socket of our own (Debian has no maintained tool that sends one; `ndisc6` only solicits).
///
/// Each packet goes to all-nodes (`ff02::1`) with hop limit 255, the Override flag set, Solicited clear,
/// and the interface's MAC in a target link-layer address option, so every neighbour that has an entry
/// for the address replaces the old holder's MAC with ours. The kernel fills in the ICMPv6 checksum (it
/// always does on `IPPROTO_ICMPV6` raw sockets). Needs `CAP_NET_RAW`, which the unit grants.
///
/// Nothing here blocks: the socket is sent on with `MSG_DONTWAIT`.
struct NeighbourAdvertisement {
    let interface: String
    let target: String

    /// The ICMPv6 message: type 136, code 0, checksum 0 (the kernel computes it), flags O, the target
    /// address, and option 2 (target link-layer address, length 1 = 8 bytes) carrying `mac`.
    static func message(target: [UInt8], mac: [UInt8]) -> [UInt8] {
        precondition(target.count == 16 && mac.count == 6)
        var bytes: [UInt8] = [136, 0, 0, 0, 0x20, 0, 0, 0]
        bytes += target
        bytes += [2, 1] + mac
        return bytes
    }

    /// Sends one advertisement. Throws with the system's reason (e.g. `Operation not permitted` without
    /// `CAP_NET_RAW`).
    func send() throws(VIPError) {
        func failure(_ what: String) -> VIPError {
            VIPError(
                code: .commandFailed,
                message: "cannot send a neighbour advertisement for \(target) on \(interface): \(what): "
                    + String(cString: strerror(errno))
            )
        }
        let link = try InterfaceLink.named(interface)
        guard link.mac.count == 6 else {
            throw VIPError(
                code: .commandFailed,
                message: "cannot send a neighbour advertisement: \(interface) has no Ethernet (6-byte) hardware address"
            )
        }
        var targetAddress = in6_addr()
        guard inet_pton(AF_INET6, target, &targetAddress) == 1 else {
            throw VIPError(code: .commandFailed, message: "\(target) is not an IPv6 address")
        }
        let targetBytes = withUnsafeBytes(of: targetAddress) { Array($0) }
        let fd = socket(AF_INET6, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), Int32(IPPROTO_ICMPV6))
        guard fd >= 0 else { throw failure("socket(AF_INET6, SOCK_RAW, IPPROTO_ICMPV6)") }
        defer { close(fd) }
        var hops: Int32 = 255
        var index = Int32(bitPattern: link.index)
        guard setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_MULTICAST_HOPS, &hops, socklen_t(MemoryLayout<Int32>.size)) == 0,
            setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_UNICAST_HOPS, &hops, socklen_t(MemoryLayout<Int32>.size)) == 0,
            setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_MULTICAST_IF, &index, socklen_t(MemoryLayout<Int32>.size)) == 0
        else { throw failure("setsockopt") }
        // The source is the address itself: it is bound (nodad), so it is ours and usable at once.
        var source = sockaddr_in6()
        source.sin6_family = sa_family_t(AF_INET6)
        source.sin6_addr = targetAddress
        source.sin6_scope_id = link.index
        let bound = withUnsafePointer(to: &source) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size))
            }
        }
        guard bound == 0 else { throw failure("binding to the address (is it bound to \(interface)?)") }
        var destination = sockaddr_in6()
        destination.sin6_family = sa_family_t(AF_INET6)
        _ = inet_pton(AF_INET6, "ff02::1", &destination.sin6_addr)
        destination.sin6_scope_id = link.index
        let packet = Self.message(target: targetBytes, mac: link.mac)
        let sent = packet.withUnsafeBytes { bytes in
            withUnsafePointer(to: &destination) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(
                        fd,
                        bytes.baseAddress,
                        bytes.count,
                        Int32(MSG_DONTWAIT),
                        $0,
                        socklen_t(MemoryLayout<sockaddr_in6>.size)
                    )
                }
            }
        }
        guard sent == packet.count else { throw failure("sendto ff02::1%\(interface)") }
    }
}
