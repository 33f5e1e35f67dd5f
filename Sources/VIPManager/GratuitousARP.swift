#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Gratuitous ARP (RFC 5227 §3, as `arping -U` sends it) from a packet socket of our own, so an
/// announcement costs one `sendto` instead of an `arping` process (fork, exec, the loader, its socket).
///
/// Each packet is an ARP request broadcast on the interface with the virtual IP as both sender and target
/// address and the interface's MAC as sender: every neighbour with an entry for the address replaces the
/// old holder's MAC with ours. Needs `CAP_NET_RAW`, which the unit grants (`arping` needs it too). Nothing
/// here blocks: the packet is sent with `MSG_DONTWAIT`.
struct GratuitousARP {
    let interface: String
    let address: String

    static let ethernetTypeARP: UInt16 = 0x0806

    /// The 28-byte ARP payload: Ethernet/IPv4, request, `mac` and `ipv4` as sender, `ipv4` as target, the
    /// broadcast MAC as target hardware address (what `arping -U` puts there).
    static func packet(mac: [UInt8], ipv4: [UInt8]) -> [UInt8] {
        precondition(mac.count == 6 && ipv4.count == 4)
        var bytes: [UInt8] = [0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x01]
        bytes += mac + ipv4
        bytes += [UInt8](repeating: 0xFF, count: 6) + ipv4
        return bytes
    }

    /// struct sockaddr_ll (not imported into Swift), 20 bytes: family, protocol (network order), ifindex,
    /// hatype, pkttype, halen, addr[8]; here the broadcast address on `index`.
    static func broadcastDestination(index: UInt32) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: 20)
        withUnsafeBytes(of: UInt16(AF_PACKET)) { bytes.replaceSubrange(0..<2, with: $0) }
        withUnsafeBytes(of: ethernetTypeARP.bigEndian) { bytes.replaceSubrange(2..<4, with: $0) }
        withUnsafeBytes(of: Int32(bitPattern: index)) { bytes.replaceSubrange(4..<8, with: $0) }
        bytes[11] = 6
        for offset in 12..<18 { bytes[offset] = 0xFF }
        return bytes
    }

    /// Sends one packet. Throws with the system's reason (`Operation not permitted` without `CAP_NET_RAW`);
    /// `permissionDenied` tells that case apart, for the fallback to `arping`.
    func send() throws(Failure) {
        func failure(_ what: String) -> Failure {
            let code = errno
            return Failure(
                permissionDenied: code == EPERM || code == EACCES,
                error: VIPError(
                    code: .commandFailed,
                    message: "cannot send a gratuitous ARP for \(address) on \(interface): \(what): "
                        + String(cString: strerror(code))
                )
            )
        }
        let link: InterfaceLink
        do { link = try InterfaceLink.named(interface) } catch { throw Failure(permissionDenied: false, error: error) }
        guard link.mac.count == 6 else {
            throw Failure(
                permissionDenied: false,
                error: VIPError(
                    code: .commandFailed,
                    message: "cannot send a gratuitous ARP: \(interface) has no Ethernet (6-byte) hardware address"
                )
            )
        }
        var ipv4 = in_addr()
        guard inet_pton(AF_INET, address, &ipv4) == 1 else {
            throw Failure(
                permissionDenied: false,
                error: VIPError(code: .commandFailed, message: "\(address) is not an IPv4 address")
            )
        }
        let fd = socket(
            AF_PACKET,
            Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue),
            Int32(Self.ethernetTypeARP.bigEndian)
        )
        guard fd >= 0 else { throw failure("socket(AF_PACKET, SOCK_DGRAM, ETH_P_ARP)") }
        defer { close(fd) }
        let packet = Self.packet(mac: link.mac, ipv4: withUnsafeBytes(of: ipv4) { Array($0) })
        let destination = Self.broadcastDestination(index: link.index)
        let sent = packet.withUnsafeBytes { bytes in
            destination.withUnsafeBytes { address in
                sendto(
                    fd,
                    bytes.baseAddress,
                    bytes.count,
                    Int32(MSG_DONTWAIT),
                    address.baseAddress!.assumingMemoryBound(to: sockaddr.self),
                    socklen_t(address.count)
                )
            }
        }
        guard sent == packet.count else { throw failure("sendto the broadcast address of \(interface)") }
    }

    /// A failed send, and whether it failed for want of `CAP_NET_RAW`.
    struct Failure: Error {
        var permissionDenied: Bool
        var error: VIPError
    }
}
