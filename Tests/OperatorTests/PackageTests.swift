import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `scripts/package-deb`: build the .deb, install it with dpkg on this machine, run it, remove it.
@Suite(.serialized, .timeLimit(.minutes(5)))
struct PackageTests {
    static var enabled: Bool {
        OpsEnvironment.hasBinary && getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/dpkg-deb")
            && !FileManager.default.fileExists(atPath: "/usr/bin/hotstandby")
    }

    /// A .deb that `scripts/test` built the way a release is built (`scripts/package-deb` without `--binary`:
    /// `swift build -c release --static-swift-stdlib`); when it is not set, the test packages the debug binary.
    static let releaseDeb = ProcessInfo.processInfo.environment["HOTSTANDBY_TEST_DEB"]

    // Installs into the real system: needs root, dpkg, and no hotstandby already installed there.
    @Test(
        .enabled(if: enabled, "needs HOTSTANDBY_BINARY, root, dpkg-deb, and no /usr/bin/hotstandby already installed")
    )
    func buildInstallRunRemove() async throws {
        let work = try OpsEnvironment.workDirectory("package")
        let deb: String
        if let releaseDeb = Self.releaseDeb {
            deb = releaseDeb
            print("testing the release package \(deb)")
        } else {
            let built = try await runProgram(
                "/bin/bash",
                [OpsEnvironment.repository + "/scripts/package-deb", "--binary", OpsEnvironment.binary!, "--out", work]
            )
            #expect(built.status == 0, "\(built.output)")
            deb = try #require(built.output.split(separator: "\n").last.map(String.init))
        }
        #expect(deb.hasSuffix(".deb") && deb.contains("/hotstandby_"), "\(deb)")
        let info = try await runProgram("/usr/bin/dpkg-deb", ["-I", deb])
        // The library part of Depends comes from dpkg-shlibdeps (with versions), the tools are listed by hand.
        let depends = info.output.split(separator: "\n").first { $0.hasPrefix(" Depends: ") }.map(String.init) ?? ""
        for name in ["libc6 (>=", "libpq5", "libcurl4", "iproute2", "iputils-arping", "ndisc6"] {
            #expect(depends.contains(name), "\(name) not in Depends: \(info.output)")
        }
        #expect(info.output.contains("Recommends: bind9-dnsutils"))
        #expect(info.output.contains("conffiles"))
        let contents = try await runProgram("/usr/bin/dpkg-deb", ["-c", deb])
        for path in [
            "./usr/bin/hotstandby", "./etc/hotstandby/hotstandby.yaml", "./lib/systemd/system/hotstandby.service",
            "./usr/share/man/man1/hotstandby.1.gz", "./usr/share/man/man8/hotstandby-configure-failover.8.gz",
            "./usr/share/man/man8/hotstandby-clone-primary.8.gz", "./usr/share/doc/hotstandby/changelog.gz",
            "./usr/share/hotstandby/configure-failover",
            "./usr/share/hotstandby/clone-primary", "./usr/share/doc/hotstandby/operations.md",
        ] {
            #expect(contents.output.contains(path), "\(path) missing from the package")
        }

        let installed = try await runProgram("/usr/bin/dpkg", ["-i", deb])
        #expect(installed.status == 0, "\(installed.output)")
        let version = try await runProgram("/usr/bin/hotstandby", ["--version"])
        #expect(
            version.status == 0 && !version.output.isEmpty
                && deb.contains("_\(version.output.trimmingCharacters(in: .whitespacesAndNewlines))_"),
            "\(version.output)"
        )
        let example = try await runProgram(
            "/usr/bin/hotstandby",
            ["check-config", "--config", "/etc/hotstandby/hotstandby.yaml"]
        )
        #expect(example.status == 0, "the example configuration does not validate: \(example.output)")
        if OpsEnvironment.conninfo != nil {
            try await runInstalledDaemon(in: work)
        }
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-analyze") {
            let verify = try await runProgram(
                "/usr/bin/systemd-analyze",
                ["verify", "/lib/systemd/system/hotstandby.service"]
            )
            #expect(verify.status == 0, "systemd-analyze verify: \(verify.output)")
        }
        let removed = try await runProgram("/usr/bin/dpkg", ["-r", "hotstandby"])
        #expect(removed.status == 0, "\(removed.output)")
        #expect(!FileManager.default.fileExists(atPath: "/usr/bin/hotstandby"))
        _ = try await runProgram("/usr/bin/dpkg", ["--purge", "hotstandby"])
    }

    /// The installed binary as a daemon against the test database: it becomes active, `status` says so,
    /// and SIGTERM ends it cleanly (release of the lease, exit 0).
    func runInstalledDaemon(in work: String) async throws {
        let cluster = "pkg-\(UUID().uuidString.prefix(6))"
        let config = work + "/daemon.yaml"
        try """
        cluster: "\(cluster)"
        node: "a"
        stateDirectory: "\(work)/state"
        database:
          conninfo: "\(OpsEnvironment.conninfo!)"
        heartbeat:
          interval: 200ms
          timeout: 2s
        http:
          enabled: false

        """.write(toFile: config, atomically: true, encoding: .utf8)
        let initialized = try await runProgram("/usr/bin/hotstandby", ["init-db", "--config", config])
        #expect(initialized.status == 0, "\(initialized.output)")
        let log = work + "/daemon.log"
        let pid = try spawn(["/usr/bin/hotstandby", "run", "--config", config], outputPath: log)
        var exited = false
        defer {
            if !exited {  // never signal a PID after it was reaped: it may be another process's by then
                kill(pid, SIGKILL)
                var status: Int32 = 0
                waitpid(pid, &status, 0)
            }
        }
        var active = false
        for _ in 0..<100 where !active {
            try await Task.sleep(for: .milliseconds(100))
            let status = try await runProgram("/usr/bin/hotstandby", ["status", "--json", "--config", config])
            let object = try? JSONSerialization.jsonObject(with: Data(status.output.utf8)) as? [String: Any]
            active = object?["activeNode"] as? String == "a"
        }
        let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        #expect(active, "the installed daemon never became active:\n\(output)")
        kill(pid, SIGTERM)
        var status: Int32 = 0
        for _ in 0..<100 where !exited {
            exited = waitpid(pid, &status, WNOHANG) == pid
            if !exited { try await Task.sleep(for: .milliseconds(50)) }
        }
        #expect(
            exited && (status & 0x7f) == 0 && (status >> 8) & 0xff == 0,
            "SIGTERM did not end the daemon cleanly (status \(status))"
        )
    }
}
