import Testing

@testable import VIPManager

@Suite("VIPConfig: parsing and validation")
struct VIPConfigTests {
    @Test func parsesIPv4AndIPv6WithPrefix() throws {
        let v4 = try VIPAddress(parsing: "10.77.0.100/24")
        #expect(v4.family == .ipv4)
        #expect(v4.address == "10.77.0.100")
        #expect(v4.prefixLength == 24)
        let v6 = try VIPAddress(parsing: "FD77:0:0::100/64")
        #expect(v6.family == .ipv6)
        #expect(v6.address == "fd77::100")  // the kernel's spelling, as ip -json prints it
        #expect(v6.cidr == "fd77::100/64")
    }

    @Test func defaultsMatchTheIssue() throws {
        let config = try VIPConfig(address: "10.77.0.100/24", interface: "eth0")
        #expect(config.garpCount == 5)
        #expect(config.garpInterval == .milliseconds(200))
        #expect(config.garpRefresh == .seconds(30))
        #expect(config.probe == .on)
        #expect(config.ipPath == "/usr/sbin/ip")
        #expect(config.arpingPath == "/usr/bin/arping")
        #expect(config.ndisc6Path == "/usr/bin/ndisc6")
        #expect(config.commandTimeout == .seconds(2))
    }

    @Test(arguments: [
        "10.77.0.100", "10.77.0.100/33", "10.77.0.100/", "10.77.0.100/24/1", "10.77.0.256/24",
        "-x/24", "--help", "10.77.0.100/24 ; rm", "10.77.0.100 /24", "fd77::100/129", "ff02::1/64",
        "host.example/24", "", "10.77.0.100/-1", "10.77.0.100/2\n4",
    ])
    func refusesBadAddresses(_ value: String) {
        let error = #expect(throws: VIPError.self) { try VIPConfig(address: value, interface: "eth0") }
        #expect(error?.code == .invalidSetting)
        #expect(error?.key == "vip.address")
        #expect(error?.message.hasPrefix("vip.address '") == true)
    }

    @Test(arguments: [
        "-x", "--help", "eth0 ; rm", "eth0;rm", "eth/0", "", "a-very-long-interface-name", "eth0\n", "eth\u{1}0",
        ".hidden", "eth0 ", "$(id)",
    ])
    func refusesInterfaceNamesThatAreNotPlainValues(_ value: String) {
        let error = #expect(throws: VIPError.self) { try VIPConfig(address: "10.77.0.100/24", interface: value) }
        #expect(error?.code == .invalidSetting)
        #expect(error?.key == "vip.interface")
        #expect(error?.description.contains("vip.interface") == true)
    }

    @Test func acceptsUsualInterfaceNames() throws {
        for name in ["eth0", "ens3", "enp0s31f6", "br-lan", "bond0.100", "wg_0"] {
            #expect(try VIPConfig(address: "10.77.0.100/24", interface: name).interface.name == name)
        }
    }

    @Test func checksTheLabel() throws {
        #expect(try VIPConfig(address: "10.77.0.100/24", interface: "eth0", label: "eth0:vip").label == "eth0:vip")
        for bad in ["vip", "eth1:vip", "eth0:-x", "eth0:a b", "eth0:waytoolongname"] {
            let error = #expect(throws: VIPError.self) {
                try VIPConfig(address: "10.77.0.100/24", interface: "eth0", label: bad)
            }
            #expect(error?.key == "vip.label")
        }
    }

    @Test func checksRangesNamingTheKey() {
        let cases: [(String, () throws -> VIPConfig)] = [
            ("vip.garp.count", { try VIPConfig(address: "10.0.0.1/24", interface: "eth0", garpCount: -1) }),
            ("vip.garp.interval", { try VIPConfig(address: "10.0.0.1/24", interface: "eth0", garpInterval: .zero) }),
            (
                "vip.garp.refresh",
                { try VIPConfig(address: "10.0.0.1/24", interface: "eth0", garpRefresh: .milliseconds(10)) }
            ),
            ("vip.ndisc6-path", { try VIPConfig(address: "fd77::1/64", interface: "eth0", ndisc6Path: "ndisc6") }),
            ("vip.ip-path", { try VIPConfig(address: "10.0.0.1/24", interface: "eth0", ipPath: "ip") }),
        ]
        for (key, make) in cases {
            let error = #expect(throws: VIPError.self, "\(key)") { try make() }
            #expect(error?.key == key)
            #expect(error?.description.contains(key) == true)
        }
        // Refresh 0 means off and is allowed.
        #expect(throws: Never.self) { try VIPConfig(address: "10.0.0.1/24", interface: "eth0", garpRefresh: .zero) }
    }

    @Test func parsesProbeModes() throws {
        #expect(try VIPConfig.probeMode(parsing: "strict") == .strict)
        #expect(try VIPConfig.probeMode(parsing: "off") == .off)
        #expect(try VIPConfig.probeMode(parsing: "true") == .on)
        let error = #expect(throws: VIPError.self) { try VIPConfig.probeMode(parsing: "maybe") }
        #expect(error?.key == "vip.probe")
    }

    @Test func unknownInterfaceIsRefusedListingTheHostsInterfaces() async throws {
        // A generous deadline: this checks the message, not the speed, on a loaded 2-core machine.
        let config = try VIPConfig(address: "10.77.0.100/24", interface: "nosuchif0", commandTimeout: .seconds(15))
        let error = await #expect(throws: VIPError.self) { try await config.checkHost() }
        #expect(error?.code == .unknownInterface)
        #expect(error?.key == "vip.interface")
        #expect(error?.description.contains("vip.interface 'nosuchif0' does not exist") == true)
        #expect(error?.description.contains("lo") == true, "the message lists the host's interfaces")
        let good = try VIPConfig(address: "10.77.0.100/24", interface: "lo")
        #expect(try await good.checkHost().contains("lo"))
    }
}
