import Testing

@testable import DNSUpdater

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Configuration, key files and the update script: no server needed.
@Suite struct DNSConfigTests {
    let secret = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlYw=="

    func keyFile(mode: mode_t) -> String {
        let path = scratch() + "/k.key"
        writeFile(path, "key \"hs-key\" {\n\talgorithm hmac-sha256;\n\tsecret \"\(secret)\";\n};\n", mode: mode)
        return path
    }

    func config(tsig: DNSConfig.TSIG, address: String = "192.0.2.10", name: String = "svc") -> DNSConfig {
        DNSConfig(server: "127.0.0.1", port: 5353, zone: "example.test", name: name, address: address, tsig: tsig)
    }

    @Test func worldReadableKeyFileIsRefusedWithChmodAdvice() throws {
        let path = keyFile(mode: 0o644)
        let error = #expect(throws: DNSError.self) {
            _ = try DNSUpdater(config: config(tsig: .keyFile(path)), runtimeDirectory: scratch(), logger: quietLogger)
        }
        #expect(error?.code == .insecureKeyFile)
        #expect(error?.description.contains("dns.tsig.keyFile") == true)
        #expect(error?.description.contains("chmod 600 \(path)") == true)
        #expect(error?.description.contains(secret) == false)
    }

    @Test func groupReadableSecretFileIsRefused() throws {
        let path = scratch() + "/secret"
        writeFile(path, secret + "\n", mode: 0o640)
        let error = #expect(throws: DNSError.self) {
            try config(tsig: .secretFile(name: "hs-key", algorithm: "hmac-sha256", path: path)).validated()
        }
        #expect(error?.code == .insecureKeyFile)
        #expect(error?.description.contains("dns.tsig.secretFile") == true)
        #expect(error?.description.contains("chmod 600 \(path)") == true)
    }

    @Test func secretFileBecomesPrivateKeyFile() throws {
        let secretPath = scratch() + "/secret"
        writeFile(secretPath, secret + "\n", mode: 0o600)
        let runtime = scratch() + "/run/dns"
        let updater = try DNSUpdater(
            config: config(tsig: .secretFile(name: "hs-key", algorithm: "HMAC-SHA256", path: secretPath)),
            runtimeDirectory: runtime,
            logger: quietLogger
        )
        let keyPath = try #require(updater.key.path)
        #expect(keyPath == runtime + "/tsig-hs-key.key")
        #expect(fileMode(runtime) == 0o700)
        #expect(fileMode(keyPath) == 0o600)
        #expect(readFile(keyPath) == "key \"hs-key\" {\n\talgorithm hmac-sha256;\n\tsecret \"\(secret)\";\n};\n")
        #expect(updater.key.name == "hs-key")
    }

    @Test(arguments: [
        ("dns.server", DNSConfig(server: "bad host", zone: "z.test", name: "svc", address: "192.0.2.1", tsig: .gss)),
        ("dns.port", DNSConfig(server: "ns1", port: 0, zone: "z.test", name: "svc", address: "192.0.2.1", tsig: .gss)),
        ("dns.zone", DNSConfig(server: "ns1", zone: "", name: "svc", address: "192.0.2.1", tsig: .gss)),
        ("dns.name", DNSConfig(server: "ns1", zone: "z.test", name: "a b", address: "192.0.2.1", tsig: .gss)),
        ("dns.ttl", DNSConfig(server: "ns1", zone: "z.test", name: "svc", ttl: 0, address: "192.0.2.1", tsig: .gss)),
        ("dns.address", DNSConfig(server: "ns1", zone: "z.test", name: "svc", address: "10.0.0.300", tsig: .gss)),
        (
            "dns.timeout",
            DNSConfig(server: "ns1", zone: "z.test", name: "svc", address: "::1", tsig: .gss, timeout: .zero)
        ),
        (
            "dns.tsig.keyFile",
            DNSConfig(server: "ns1", zone: "z.test", name: "svc", address: "::1", tsig: .keyFile("/nonexistent/k"))
        ),
        (
            "dns.tsig.algorithm",
            DNSConfig(
                server: "ns1",
                zone: "z.test",
                name: "svc",
                address: "::1",
                tsig: .secretFile(name: "k", algorithm: "rot13", path: "/x")
            )
        ),
    ])
    func invalidSettingNamesItsKey(key: String, config: DNSConfig) {
        let error = #expect(throws: DNSError.self) { try config.validated() }
        #expect(error?.code == .invalidConfig)
        #expect(error?.message.hasPrefix(key + " ") == true, "\(error?.message ?? "")")
    }

    @Test func namesAndRecordTypes() {
        let gss = DNSConfig.TSIG.gss
        #expect(config(tsig: gss).nameFQDN == "svc.example.test.")
        #expect(config(tsig: gss, name: "svc.example.test").nameFQDN == "svc.example.test.")
        #expect(config(tsig: gss, name: "svc.other.").nameFQDN == "svc.other.")
        #expect(config(tsig: gss).epochRecordFQDN == "_hotstandby.svc.example.test.")
        #expect(config(tsig: gss).recordType == "A")
        #expect(config(tsig: gss, address: "2001:db8::1").recordType == "AAAA")
        #expect(IPAddressText.canonical("2001:0db8:0::01") == "2001:db8::1")
    }

    @Test func epochRecordDecides() {
        let record = EpochRecord(rdata: ["\"epoch=7 node=b\""])
        #expect(record.epoch == 7 && record.node == "b")
        #expect(record.allows(epoch: 8, node: "a"))
        #expect(record.allows(epoch: 7, node: "b"))  // its own record: a repeat is fine
        #expect(!record.allows(epoch: 7, node: "a"))
        #expect(!record.allows(epoch: 6, node: "a"))
        #expect(EpochRecord(rdata: ["\"hello\""]).allows(epoch: 1, node: "a"))
        #expect(EpochRecord(rdata: ["\"epoch=2 node=a\"", "\"epoch=9 node=c\""]).epoch == 9)
    }

    @Test func updateScriptIsFencedAndHoldsNoSecret() throws {
        let updater = try DNSUpdater(
            config: config(tsig: .keyFile(keyFile(mode: 0o600))),
            runtimeDirectory: scratch(),
            logger: quietLogger
        )
        let previous = EpochRecord(rdata: ["\"epoch=3 node=a\""])
        let script = updater.updateScript(epoch: 4, node: "b", expected: previous)
        #expect(script.contains("prereq yxrrset _hotstandby.svc.example.test. TXT \"epoch=3 node=a\"\n"))
        #expect(script.contains("update add svc.example.test. 30 A 192.0.2.10\n"))
        #expect(script.contains("update add _hotstandby.svc.example.test. 30 TXT \"epoch=4 node=b\"\n"))
        #expect(!script.contains("\n\n"))
        #expect(!script.contains(secret))
        let first = updater.updateScript(epoch: 1, node: "b", expected: nil)
        #expect(first.contains("prereq nxrrset _hotstandby.svc.example.test. TXT\n"))
    }

    @Test func badNodeNameNeverReachesTheScript() async throws {
        let updater = try DNSUpdater(
            config: config(tsig: .keyFile(keyFile(mode: 0o600))),
            runtimeDirectory: scratch(),
            logger: quietLogger
        )
        let error = await #expect(throws: DNSError.self) { try await updater.point(epoch: 1, node: "a\nsend") }
        #expect(error?.code == .invalidConfig)
    }

    @Test func missingToolsAreNamed() async throws {
        var config = config(tsig: .keyFile(keyFile(mode: 0o600)))
        config.digPath = "/nonexistent/dig"
        config.nsupdatePath = "/nonexistent/nsupdate"
        let updater = try DNSUpdater(config: config, runtimeDirectory: scratch(), logger: quietLogger)
        let error = await #expect(throws: DNSError.self) { try await updater.point(epoch: 1, node: "a") }
        #expect(error?.code == .toolMissing)
        #expect(error?.message.contains("bind9-dnsutils") == true)
    }
}
