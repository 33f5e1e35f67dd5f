import Foundation
import HotStandbyConfig
import TestSupport
import Testing

/// Issue 15's keys as a user writes them: each refusal names the key and the value (read in this process with
/// `Config.parse`), and a good section is accepted and echoed by `check-config` (the binary) with the
/// detection bound.
@Suite("health.*, hooks.recover and failback in the configuration")
struct HealthConfigTests {
    static func document(_ health: String, in directory: String) -> String {
        """
        cluster: hc
        node: a
        stateDirectory: \(directory)/state
        database: {conninfo: "host=127.0.0.1 dbname=hs"}
        heartbeat: {interval: 500ms, timeout: 3s}
        \(health)
        """
    }

    static func check(_ health: String, _ name: String) throws -> (status: Int32, output: String) {
        let directory = try TestEnvironment.workDirectory("health-config-\(name)")
        do {
            _ = try Config.parse(yaml: document(health, in: directory), path: directory + "/c.yaml")
            return (0, "OK")
        } catch {
            return (1, "Error: \(error)")
        }
    }

    @Test(
        "refusals name the key, the value and the fix",
        arguments: [
            ("health: {check: [curl, http://x]}", "health.check: 'curl' must be an absolute path"),
            ("health: {check: [/no/such/checker]}", "health.check: '/no/such/checker' is not an executable file"),
            ("health: {check: []}", "health.check: the list is empty"),
            ("health: {standbyCheck: /bin/true}", "health.standbyCheck: expected a list"),
            ("health: {recoverAttempts: 2}", "health.recoverAttempts: 2 needs hooks.recover"),
            ("health: {fall: 0}", "health.fall: '0' is not a whole number from 1 to 100"),
            ("health: {interval: 10ms}", "health.interval: 10ms is shorter than the least supported, 50ms"),
            ("health: {rise: 101}", "health.rise: '101' is not a whole number from 1 to 100"),
            ("health: {recoverAttempts: 11}", "health.recoverAttempts: '11' is not a whole number from 0 to 10"),
            ("health: {timeout: 5ms}", "health.timeout: 5ms must be from 10ms to 10m"),
            ("health: {holdDown: -5s}", "health.holdDown: '-5s' is not a duration"),
            (
                "health: {beat: {socket: /run/hotstandby/beat.sock, timeout: 50ms}}",
                "health.beat.timeout: 50ms is shorter than the least supported, 100ms"
            ),
            ("health: {timeout: 20m}", "health.timeout: 20m must be from 10ms to 10m"),
            ("health: {beat: {timeout: 5s}}", "health.beat.socket: missing"),
            ("health: {beat: {socket: run/beat.sock}}", "health.beat.socket: 'run/beat.sock' must be an absolute path"),
            ("failback: always", "failback: 'always' is not `manual` or a mapping"),
            ("failback: {after: 5m}", "failback.preferred: missing"),
            ("failback: {preferred: b, after: soon}", "failback.after: 'soon' is not a duration"),
            ("hooks: {recover: [systemctl, restart, x]}", "hooks.recover: 'systemctl' must be an absolute path"),
        ]
    )
    func refusals(_ health: String, _ message: String) throws {
        let result = try Self.check(health, String(abs(health.hashValue) % 100_000))
        #expect(result.status == 1, "accepted: \(result.output)")
        #expect(result.output.contains(message), "\(result.output)")
        #expect(!result.output.contains("OK —"), "printed OK after an error: \(result.output)")
    }

    @Test(
        "a good section is accepted, and check-config states the detection bound",
        .enabled(if: TestEnvironment.hasBinary, TestEnvironment.binaryReason)
    )
    func accepted() async throws {
        let directory = try TestEnvironment.workDirectory("health-config-good")
        let path = directory + "/c.yaml"
        try Self.document(
            """
            health:
              check: ["/bin/true"]
              standbyCheck: ["/bin/true"]
              interval: 2s
              fall: 3
              holdDown: 1m
              beat: {socket: /run/hotstandby/beat.sock, timeout: 10s}
            hooks:
              recover: ["/bin/true"]
            failback: {preferred: a, after: 10m}
            """,
            in: directory
        ).write(toFile: path, atomically: true, encoding: .utf8)
        let result = try await runProgram(TestEnvironment.binary!, ["check-config", "--config", path])
        #expect(result.status == 0, "\(result.output)")
        #expect(
            result.output.contains(
                "health: every 2s (deadline 2s), failed after 3, healthy after 2, 1 recover attempt(s), hold-down 1m"
            ),
            "\(result.output)"
        )
    }
}
