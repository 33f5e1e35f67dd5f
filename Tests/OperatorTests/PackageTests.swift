import Foundation
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

    // Installs into the real system: needs root, dpkg, and no hotstandby already installed there.
    @Test(.enabled(if: enabled, "needs HOTSTANDBY_BINARY, root, dpkg-deb, and no /usr/bin/hotstandby already installed"))
    func buildInstallRunRemove() async throws {
        let work = try OpsEnvironment.workDirectory("package")
        let built = try await run("/bin/bash", [OpsEnvironment.repository + "/scripts/package-deb", "--binary", OpsEnvironment.binary!, "--out", work])
        #expect(built.status == 0, "\(built.output)")
        let deb = try #require(built.output.split(separator: "\n").last.map(String.init))
        #expect(deb.hasSuffix(".deb") && deb.contains("/hotstandby_"), "\(deb)")
        let info = try await run("/usr/bin/dpkg-deb", ["-I", deb])
        #expect(info.output.contains("Depends: libpq5, libcurl4, iproute2, iputils-arping"), "\(info.output)")
        #expect(info.output.contains("Recommends: bind9-dnsutils"))
        #expect(info.output.contains("conffiles"))
        let contents = try await run("/usr/bin/dpkg-deb", ["-c", deb])
        for path in ["./usr/bin/hotstandby", "./etc/hotstandby/hotstandby.yaml", "./lib/systemd/system/hotstandby.service",
                     "./usr/share/man/man1/hotstandby.1.gz", "./usr/share/hotstandby/configure-failover",
                     "./usr/share/hotstandby/clone-primary", "./usr/share/doc/hotstandby/operations.md"] {
            #expect(contents.output.contains(path), "\(path) missing from the package")
        }

        let installed = try await run("/usr/bin/dpkg", ["-i", deb])
        #expect(installed.status == 0, "\(installed.output)")
        let version = try await run("/usr/bin/hotstandby", ["--version"])
        #expect(version.status == 0 && !version.output.isEmpty && deb.contains("_\(version.output.trimmingCharacters(in: .whitespacesAndNewlines))_"), "\(version.output)")
        let example = try await run("/usr/bin/hotstandby", ["check-config", "--config", "/etc/hotstandby/hotstandby.yaml"])
        #expect(example.status == 0, "the example configuration does not validate: \(example.output)")
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-analyze") {
            let verify = try await run("/usr/bin/systemd-analyze", ["verify", "/lib/systemd/system/hotstandby.service"])
            #expect(verify.status == 0, "systemd-analyze verify: \(verify.output)")
        }
        let removed = try await run("/usr/bin/dpkg", ["-r", "hotstandby"])
        #expect(removed.status == 0, "\(removed.output)")
        #expect(!FileManager.default.fileExists(atPath: "/usr/bin/hotstandby"))
        _ = try await run("/usr/bin/dpkg", ["--purge", "hotstandby"])
    }
}
