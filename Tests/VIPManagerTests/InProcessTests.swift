import Foundation
import Shell
import Testing

@testable import VIPManager

#if canImport(Glibc)
    import Glibc
#endif

/// The VIP's in-process parts (`InterfaceLink` from `getifaddrs`, `GratuitousARP` from a packet socket)
/// checked against iproute2 and a real neighbour table, inside the namespace lab. Each body runs on a thread
/// of its own that has entered the node's namespace (`setns` changes only the calling thread), the way a
/// daemon started inside it sees its interfaces.
@Suite(
    "The VIP's in-process reads and gratuitous ARP, in the namespace lab",
    .serialized,
    .enabled(if: NetnsLab.available, "needs root, iproute2 (ip netns), iputils-arping and scripts/netns-lab"),
    .timeLimit(.minutes(2))
)
struct InProcessTests {
    @Test(
        "getifaddrs inside the namespace lists the addresses `ip -json addr show` lists, labelled or not, and the MAC"
    )
    func addressesMatchIproute2() async throws {
        try await NetnsLab.with { lab in
            for argv in [
                ["/usr/sbin/ip", "addr", "add", "10.77.0.100/24", "dev", "eth0", "label", "eth0:vip"],
                ["/usr/sbin/ip", "addr", "add", "10.77.9.1/16", "dev", "eth0"],
                ["/usr/sbin/ip", "addr", "add", "fd77::100/64", "dev", "eth0", "nodad"],
            ] {
                let result = try await lab.exec("a", argv)
                try #require(result.succeeded, "\(argv): \(result.output)")
            }
            let dump = try await lab.exec("a", ["/usr/sbin/ip", "-json", "addr", "show", "dev", "eth0"])
            let expected = try JSONDecoder().decode([VIPManager.LinkDump].self, from: Data(dump.output.utf8))
            let want = Set(try #require(expected.first?.addressInfo))
            try #require(want.contains(.init(family: "inet", local: "10.77.0.100", prefixlen: 24)))

            let (link, names) = try await inNamespace(lab.ns("a")) {
                (try InterfaceLink.named("eth0"), InterfaceLink.hostInterfaceNames())
            }
            #expect(Set(link.addresses) == want, "getifaddrs: \(link.addresses)\nip: \(want)")
            #expect(link.macText == (try await lab.mac("a")))
            #expect(names.sorted() == ["eth0", "lo"], "the namespace has lo and eth0 only: \(names)")
            let index = try await lab.exec("a", ["/usr/sbin/ip", "-json", "link", "show", "eth0"])
            struct Link: Decodable { var ifindex: UInt32 }
            #expect(try JSONDecoder().decode([Link].self, from: Data(index.output.utf8)).first?.ifindex == link.index)

            // Removed by ip, gone for getifaddrs; a missing interface is an error naming it and what exists.
            _ = try await lab.exec("a", ["/usr/sbin/ip", "addr", "del", "10.77.0.100/24", "dev", "eth0"])
            let after = try await inNamespace(lab.ns("a")) { try InterfaceLink.named("eth0").addresses }
            #expect(!after.contains { $0.local == "10.77.0.100" })
            let missing = try await inNamespace(lab.ns("a")) { () -> String in
                do throws(VIPError) {
                    _ = try InterfaceLink.named("eth9")
                    return "no error"
                } catch {
                    return "\(error.code): \(error.message)"
                }
            }
            #expect(missing.hasPrefix("unknown interface") && missing.contains("'eth9'") && missing.contains("eth0"))
        }
    }

    @Test(
        "one gratuitous ARP from the packet socket moves the client's entry for the VIP from a wrong MAC to the sender's, with no traffic from the client"
    )
    func gratuitousARPMovesTheClientsEntry() async throws {
        try await NetnsLab.with { lab in
            let macA = try await lab.mac("a")
            let host = "10.77.0.100"
            let bound = try await lab.exec("a", ["/usr/sbin/ip", "addr", "add", NetnsLab.vip, "dev", "eth0"])
            try #require(bound.succeeded, "\(bound.output)")
            // A stale entry with another MAC, as a client has after the old holder died.
            let wrong = "02:77:00:00:00:99"
            _ = try await lab.exec(
                "c",
                ["/usr/sbin/ip", "neigh", "replace", host, "lladdr", wrong, "dev", "eth0", "nud", "stale"]
            )
            try await Task.sleep(for: .milliseconds(1100))  // past the entry's locktime (1 s)
            #expect(try await lab.clientNeighbour(NetnsLab.vip) == wrong)

            try await inNamespace(lab.ns("a")) {
                do throws(GratuitousARP.Failure) {
                    try GratuitousARP(interface: "eth0", address: host).send()
                } catch {
                    throw error.error
                }
            }
            var seen = try await lab.clientNeighbour(NetnsLab.vip)
            let deadline = ContinuousClock.now + .seconds(1)
            while seen != macA, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
                seen = try await lab.clientNeighbour(NetnsLab.vip)
            }
            #expect(
                seen == macA,
                "the client's entry is \(seen ?? "missing") after the gratuitous ARP, not a's \(macA)"
            )
        }
    }

    @Test("the ARP payload: Ethernet/IPv4 request, the VIP as sender and target, broadcast target MAC")
    func arpLayout() {
        let mac: [UInt8] = [0x02, 0x77, 0, 0, 0, 0x01]
        let ipv4: [UInt8] = [10, 77, 0, 100]
        let packet = GratuitousARP.packet(mac: mac, ipv4: ipv4)
        #expect(packet.count == 28)
        #expect(Array(packet[0..<8]) == [0, 1, 8, 0, 6, 4, 0, 1], "htype 1, ptype 0x0800, hlen 6, plen 4, request")
        #expect(Array(packet[8..<14]) == mac && Array(packet[14..<18]) == ipv4)
        #expect(Array(packet[18..<24]) == [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF] && Array(packet[24..<28]) == ipv4)
        let destination = GratuitousARP.broadcastDestination(index: 7)
        #expect(destination.count == 20)
        #expect(Array(destination[2..<4]) == [0x08, 0x06], "ETH_P_ARP in network order")
        #expect(
            destination[4] == 7 && destination[11] == 6
                && Array(destination[12..<18]) == Array(repeating: 0xFF, count: 6)
        )
    }
}

/// Runs `body` on a new thread that has entered the network namespace `name` (`/run/netns/NAME`); the thread
/// ends with it, so no other code runs in that namespace.
func inNamespace<T: Sendable>(_ name: String, _ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread {
            let fd = open("/run/netns/\(name)", O_RDONLY | O_CLOEXEC)
            guard fd >= 0, setNetworkNamespace(fd) == 0 else {
                continuation.resume(throwing: LabError("cannot enter /run/netns/\(name): errno \(errno)"))
                return
            }
            close(fd)
            continuation.resume(with: Result { try body() })
        }
        thread.start()
    }
}

/// glibc's `setns(fd, CLONE_NEWNET)`, which Swift's Glibc module does not import (it is behind `_GNU_SOURCE`).
private func setNetworkNamespace(_ fd: Int32) -> Int32 {
    typealias SetNS = @convention(c) (Int32, Int32) -> Int32
    guard let symbol = dlsym(nil, "setns") else { return -1 }  // nil is glibc's RTLD_DEFAULT
    return unsafeBitCast(symbol, to: SetNS.self)(fd, 0x4000_0000)  // CLONE_NEWNET
}
