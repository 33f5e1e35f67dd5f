import Foundation
import HotStandbyConfig
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Issue 18's keys as a user writes them: each refusal names the key and the value; a good section is accepted.
@Suite("failsafe.* and http.advertise in the configuration")
struct FailsafeConfigTests {
    /// A work folder with a good token (0600), a token readable by others (0644) and a short one.
    static func folder(_ name: String) throws -> String {
        let directory = try TestEnvironment.workDirectory("failsafe-config-\(name)")
        for (file, text, mode) in [
            ("good.token", "0123456789abcdef0123456789abcdef", 0o600), ("open.token", "0123456789abcdef0123", 0o644),
            ("short.token", "short", 0o600),
        ] {
            try text.write(toFile: directory + "/" + file, atomically: true, encoding: .utf8)
            chmod(directory + "/" + file, mode_t(mode))
        }
        return directory
    }

    static func parse(_ section: String, _ name: String) throws -> String {
        let directory = try folder(name)
        let yaml = """
            cluster: fc
            node: a
            stateDirectory: \(directory)/state
            database: {conninfo: "host=127.0.0.1 dbname=hs"}
            heartbeat: {interval: 500ms, timeout: 3s}
            \(section.replacingOccurrences(of: "{dir}", with: directory))
            """
        do {
            let config = try Config.parse(yaml: yaml, path: directory + "/c.yaml")
            return "OK \(config.failsafe.enabled) \(config.http.advertise ?? "-") "
                + "\(config.failover.failsafe?.maxDuration.description ?? "-")"
        } catch {
            return "Error: \(error)"
        }
    }

    @Test(
        "refusals name the key, the value and the fix",
        arguments: [
            (
                "failsafe: {enabled: true}\nhttp: {listen: 0.0.0.0:8008, advertise: http://10.0.0.1:8008}",
                "failsafe.tokenFile: missing"
            ),
            (
                "failsafe: {enabled: true, tokenFile: {dir}/open.token}\nhttp: {advertise: http://10.0.0.1:8008}",
                "open.token' is readable by others (mode 644); run chmod 0600 on it"
            ),
            (
                "failsafe: {enabled: true, tokenFile: {dir}/short.token}\nhttp: {advertise: http://10.0.0.1:8008}",
                "holds a token shorter than 16 characters"
            ),
            (
                "failsafe: {enabled: true, tokenFile: {dir}/none.token}\nhttp: {advertise: http://10.0.0.1:8008}",
                "none.token' does not exist"
            ),
            (
                "failsafe: {enabled: true, tokenFile: {dir}/good.token}\nhttp: {listen: 0.0.0.0:8008}",
                "http.advertise: missing; with failsafe.enabled and http.listen '0.0.0.0:8008'"
            ),
            (
                "failsafe: {enabled: true, tokenFile: {dir}/good.token, maxDuration: 2s}\nhttp: {advertise: http://10.0.0.1:8008}",
                "failsafe.maxDuration: 2s is shorter than heartbeat.timeout (3s)"
            ),
            (
                "failsafe: {enabled: true, tokenFile: {dir}/good.token}\nhttp: {enabled: false, advertise: http://10.0.0.1:8008}",
                "failsafe.enabled: the beats arrive on http.listen, but http.enabled is false"
            ),
            ("http: {advertise: 10.0.0.1:8008}", "http.advertise: '10.0.0.1:8008' must start with http://"),
            ("http: {advertise: http://10.0.0.1:8008/x}", "must be http://HOST:PORT with no path, user or query"),
            ("http: {advertise: http://10.0.0.1}", "must be http://HOST:PORT with a port from 1 to 65535"),
            ("failsafe: {enabled: maybe}", "failsafe.enabled: 'maybe' is not true or false"),
            ("failsafe: {maxDuration: soon}", "failsafe.maxDuration: 'soon' is not a duration"),
            ("failsafe: {enable: true}", "failsafe.enable"),
        ]
    )
    func refusals(section: String, expected: String) throws {
        let output = try Self.parse(section, "refuse")
        #expect(output.hasPrefix("Error"), "accepted: \(section)")
        #expect(output.contains(expected), "\(output)")
    }

    @Test("a good section: enabled, the advertise address, the cap; listen on one address advertises itself")
    func accepted() throws {
        #expect(
            try Self.parse(
                "failsafe: {enabled: true, tokenFile: {dir}/good.token, maxDuration: 5m}\nhttp: {listen: 0.0.0.0:8008, advertise: http://10.0.0.1:8008/}",
                "good"
            ) == "OK true http://10.0.0.1:8008 300.0 seconds"
        )
        #expect(
            try Self.parse(
                "failsafe: {enabled: true, tokenFile: {dir}/good.token}\nhttp: {listen: 10.0.0.7:9000}",
                "own"
            ) == "OK true http://10.0.0.7:9000 900.0 seconds"
        )
        #expect(try Self.parse("", "off") == "OK false http://127.0.0.1:8008 -")
    }
}
