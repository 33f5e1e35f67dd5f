import Testing

@testable import VIPManager

@Suite("NeighbourAdvertisement: the unsolicited NA packet (RFC 4861 §4.4)")
struct NeighbourAdvertisementTests {
    @Test("type 136, code 0, Override set and Solicited/Router clear, the target, then the target link-layer option")
    func layout() {
        let target: [UInt8] = [0xfd, 0x77] + Array(repeating: 0, count: 13) + [0x01]
        let mac: [UInt8] = [0x02, 0x77, 0, 0, 0, 0x02]
        let packet = NeighbourAdvertisement.message(target: target, mac: mac)
        #expect(packet.count == 32)
        #expect(packet[0] == 136 && packet[1] == 0)
        #expect(packet[2] == 0 && packet[3] == 0, "the checksum is left to the kernel")
        #expect(packet[4] == 0x20, "flags R=0 S=0 O=1: an unsolicited NA to all-nodes must not claim Solicited")
        #expect(Array(packet[5..<8]) == [0, 0, 0])
        #expect(Array(packet[8..<24]) == target)
        #expect(Array(packet[24..<26]) == [2, 1], "option 2 (target link-layer address), 8 bytes long")
        #expect(Array(packet[26..<32]) == mac)
    }

    @Test("a missing interface is an error that names it")
    func missingInterface() {
        #expect {
            try InterfaceLink.named("hs-none0")
        } throws: { error in
            "\(error)".contains("hs-none0")
        }
    }
}
