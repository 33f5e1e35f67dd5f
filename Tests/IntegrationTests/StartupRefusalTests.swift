import Foundation
import TestSupport
import Testing

extension IntegrationSuite {
    @Suite("Refusals at start (issue 13 item 11)")
    struct StartupRefusalTests {
        @Test("a state folder where the event spool cannot be created: run refuses to start, naming stateDirectory")
        func spoolFolderRefused() async throws {
            let cluster = try TestCluster(name: "spool")
            // A folder under a regular file can never be created. Before the fix the daemon ran on with a
            // warning and lost every event raised while the database was down.
            let blocker = cluster.directory + "/not-a-folder"
            try "x".write(toFile: blocker, atomically: true, encoding: .utf8)
            let path = try cluster.config(for: "a")
            let yaml = try String(contentsOfFile: path, encoding: .utf8).replacingOccurrences(
                of: "stateDirectory: \"\(cluster.directory)/a-state\"",
                with: "stateDirectory: \"\(blocker)/state\""
            )
            #expect(yaml.contains(blocker))
            try yaml.write(toFile: path, atomically: true, encoding: .utf8)
            let node = try cluster.start("a")
            let ended = await cluster.waitUntil(.seconds(15)) { !node.isRunning }
            if ended == nil { node.signal(SIGKILL) }
            try #require(ended != nil, "the daemon ran on:\n\(cluster.logs())")
            let log = try String(contentsOfFile: cluster.directory + "/a.log", encoding: .utf8)
            #expect(
                log.contains("stateDirectory: cannot create the event spool \(blocker)/state/alert-spool"),
                "\(log)"
            )
            #expect(cluster.marker("a") == nil, "it must not have promoted")
        }
    }
}

extension IntegrationSuite {
    @Suite("check-config and the systemd watchdog (issue 13 item 13)")
    struct WatchdogFitTests {
        /// check-config's output for a configuration with `heartbeat` and the unit file `unit`.
        static func check(_ cluster: TestCluster, heartbeat: String, unit: String) async throws -> (
            status: Int32, output: String
        ) {
            let path = cluster.directory + "/wd.yaml"
            try "cluster: x\nnode: y\ndatabase:\n  conninfo: \"host=127.0.0.1\"\n\(heartbeat)"
                .write(toFile: path, atomically: true, encoding: .utf8)
            return try await cluster.runHotstandby(["check-config", "--config", path, "--unit", unit])
        }

        @Test("the packaged unit fits the default heartbeat; a 0.5 s / 3 s heartbeat gets a warning naming both values")
        func packagedUnit() async throws {
            let cluster = try TestCluster(name: "wdfit")
            let unit = TestEnvironment.repository + "/packaging/hotstandby.service"
            let defaults = try await Self.check(cluster, heartbeat: "", unit: unit)
            #expect(defaults.status == 0 && defaults.output.contains(": OK"), "\(defaults.output)")
            #expect(!defaults.output.contains("warning"), "\(defaults.output)")
            let short = try await Self.check(
                cluster,
                heartbeat: "heartbeat:\n  interval: 500ms\n  timeout: 3s\n",
                unit: unit
            )
            #expect(short.status == 0, "a warning, not a refusal: \(short.output)")
            #expect(short.output.contains("warning: WatchdogSec=15s + TimeoutAbortSec=5s"), "\(short.output)")
        }

        @Test("the old unit (WatchdogSec=10s, TimeoutAbortSec from TimeoutStopSec=60s) does not fit the defaults")
        func oldUnit() async throws {
            let cluster = try TestCluster(name: "wdold")
            let unit = cluster.directory + "/old.service"
            try "[Service]\nWatchdogSec=10s\nTimeoutStopSec=60s\n".write(
                toFile: unit,
                atomically: true,
                encoding: .utf8
            )
            let result = try await Self.check(cluster, heartbeat: "", unit: unit)
            #expect(result.output.contains("warning: WatchdogSec=10s + TimeoutAbortSec=1m"), "\(result.output)")
        }

        @Test("a unit value too large to count (WatchdogSec=1e30) is a warning, not a crash")
        func hugeUnitValue() async throws {
            let cluster = try TestCluster(name: "wdhuge")
            let unit = cluster.directory + "/huge.service"
            try "[Service]\nWatchdogSec=1e30\nTimeoutAbortSec=inf\n".write(
                toFile: unit,
                atomically: true,
                encoding: .utf8
            )
            let result = try await Self.check(cluster, heartbeat: "", unit: unit)
            #expect(result.status == 0, "\(result.output)")
            #expect(result.output.contains("sets no WatchdogSec"), "\(result.output)")
        }
    }
}
