import Foundation
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
                of: "stateDirectory: \"\(cluster.directory)/a-state\"", with: "stateDirectory: \"\(blocker)/state\"")
            #expect(yaml.contains(blocker))
            try yaml.write(toFile: path, atomically: true, encoding: .utf8)
            let node = try cluster.start("a")
            let ended = await cluster.waitUntil(.seconds(15)) { !node.isRunning }
            if ended == nil { node.signal(SIGKILL) }
            try #require(ended != nil, "the daemon ran on:\n\(cluster.logs())")
            let log = try String(contentsOfFile: cluster.directory + "/a.log", encoding: .utf8)
            #expect(log.contains("stateDirectory: cannot create the event spool \(blocker)/state/alert-spool"), "\(log)")
            #expect(cluster.marker("a") == nil, "it must not have promoted")
        }
    }
}
