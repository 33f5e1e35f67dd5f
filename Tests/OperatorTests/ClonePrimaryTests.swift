import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A real OpenSSH server on 127.0.0.1 with a key of the test's own, run by hand and stopped by PID.
final class TestSSHD: Sendable {
    let port: Int
    let key: String
    let directory: String
    let pid: pid_t

    init(directory: String) throws {
        self.directory = directory
        port = try freePort()
        key = directory + "/client_key"
        for (file, comment) in [(directory + "/host_key", "host"), (key, "client")] {
            let made = try runProgramSync(
                "/usr/bin/ssh-keygen",
                ["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", file]
            )
            guard made.status == 0 else { throw HarnessError("ssh-keygen: \(made.output)") }
        }
        try FileManager.default.copyItem(atPath: key + ".pub", toPath: directory + "/authorized_keys")
        try FileManager.default.createDirectory(atPath: "/run/sshd", withIntermediateDirectories: true)
        let config = """
            ListenAddress 127.0.0.1:\(port)
            HostKey \(directory)/host_key
            AuthorizedKeysFile \(directory)/authorized_keys
            PidFile \(directory)/sshd.pid
            PermitRootLogin prohibit-password
            PasswordAuthentication no
            KbdInteractiveAuthentication no
            UsePAM no
            StrictModes no
            Subsystem sftp internal-sftp
            """
        try config.write(toFile: directory + "/sshd_config", atomically: true, encoding: .utf8)
        pid = try spawn(
            ["/usr/sbin/sshd", "-D", "-e", "-f", directory + "/sshd_config"],
            outputPath: directory + "/sshd.log"
        )
    }

    /// The ssh options clone-primary needs to reach this server.
    var cloneOptions: [String] {
        [
            "--port", String(port), "--identity", key, "--ssh-option", "StrictHostKeyChecking=no",
            "--ssh-option", "UserKnownHostsFile=\(directory)/known_hosts",
        ]
    }

    func waitReady() async throws {
        let ready = try await eventually(.seconds(10)) {
            try await runProgram(
                "/usr/bin/ssh",
                [
                    "-p", String(port), "-i", key, "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
                    "-o", "UserKnownHostsFile=\(directory)/known_hosts", "root@127.0.0.1", "true",
                ]
            ).status == 0
        }
        guard ready else {
            throw HarnessError(
                "sshd did not accept the key: \((try? String(contentsOfFile: directory + "/sshd.log", encoding: .utf8)) ?? "")"
            )
        }
    }

    deinit {
        kill(pid, SIGTERM)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
    }
}

@Suite(.serialized, .timeLimit(.minutes(3)))
struct ClonePrimaryTests {
    static var enabled: Bool {
        OpsEnvironment.hasBinary && FileManager.default.isExecutableFile(atPath: "/usr/sbin/sshd") && getuid() == 0
    }

    func mode(_ path: String) throws -> Int {
        (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int) ?? -1
    }

    // Needs HOTSTANDBY_BINARY, Debian's openssh-server and root (sshd logs the test in as root).
    @Test(.enabled(if: enabled, "needs HOTSTANDBY_BINARY (scripts/test), openssh-server and root"))
    func copiesRewritesAndNeverOverwritesWithoutForce() async throws {
        let work = try OpsEnvironment.workDirectory("clone")
        let sshd = try TestSSHD(directory: work)
        try await sshd.waitReady()
        let primary = work + "/primary"
        let secondary = work + "/secondary"
        try FileManager.default.createDirectory(atPath: primary, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: secondary, withIntermediateDirectories: true)
        func write(_ text: String, _ name: String, _ mode: Int) throws {
            try text.write(toFile: primary + "/" + name, atomically: true, encoding: .utf8)
            chmod(primary + "/" + name, mode_t(mode))
        }
        try write("#!/bin/sh\nexit 0\n", "hook.sh", 0o755)
        try write("key \"hs\" { algorithm hmac-sha256; secret \"c2VjcmV0\"; };\n", "tsig.key", 0o600)
        try write("application data\n", "data.txt", 0o640)
        try write("failsafe-token-0123456789abcdef\n", "failsafe.token", 0o600)
        try write(
            """
            # the primary
            cluster: "billing"
            node: "host-a"
            database:
              conninfo: "host=db dbname=hs"
            hooks:
              promote: ["\(primary)/hook.sh", "start"]
            dns:
              server: "127.0.0.1"
              zone: "example.test"
              name: "svc"
              address: "10.0.0.1"
              tsig:
                keyFile: "\(primary)/tsig.key"
            sharedFolder:
              path: "/mnt/share"
              paths: ["\(primary)/data.txt"]
            http:
              listen: 0.0.0.0:8008
              advertise: http://10.0.0.1:8008
            failsafe:
              enabled: true
              tokenFile: "\(primary)/failsafe.token"

            """,
            "hotstandby.yaml",
            0o640
        )
        try write("[Service]\nType=notify\n", "hotstandby.service", 0o644)
        let bin = work + "/bin"
        try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(
            atPath: bin + "/hotstandby",
            withDestinationPath: OpsEnvironment.binary!
        )
        let environment = ["PATH": bin + ":/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"]
        let args =
            [
                OpsEnvironment.repository + "/scripts/clone-primary", "--to", "root@127.0.0.1", "--node", "host-b",
                "--dns-address", "10.0.0.2", "--advertise", "http://10.0.0.2:8008", "--config",
                primary + "/hotstandby.yaml", "--unit",
                primary + "/hotstandby.service",
                "--remote-root", secondary, "--remote-binary", OpsEnvironment.binary!,
            ] + sshd.cloneOptions

        // Issue 18: the advertise address is the secondary's own, so it must be given.
        var noAdvertise = args
        noAdvertise.removeSubrange(
            noAdvertise.firstIndex(of: "--advertise")!...noAdvertise.firstIndex(of: "--advertise")! + 1
        )
        let refusedAdvertise = try await runProgram("/bin/bash", noAdvertise + ["--dry-run"], environment: environment)
        #expect(
            refusedAdvertise.status != 0 && refusedAdvertise.output.contains("--advertise"),
            "\(refusedAdvertise.output)"
        )

        let dry = try await runProgram("/bin/bash", args + ["--dry-run"], environment: environment)
        #expect(dry.status == 0, "\(dry.output)")
        #expect(dry.output.contains("would copy /etc/hotstandby/hotstandby.yaml"), "\(dry.output)")
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: secondary).isEmpty,
            "--dry-run changed the secondary"
        )

        let copy = try await runProgram("/bin/bash", args, environment: environment)
        #expect(copy.status == 0, "\(copy.output)")
        let config = try String(contentsOfFile: secondary + "/etc/hotstandby/hotstandby.yaml", encoding: .utf8)
        #expect(config.contains("node: \"host-b\"") && !config.contains("host-a"), "\(config)")
        #expect(config.contains("  address: \"10.0.0.2\"") && config.contains("# the primary"), "\(config)")
        #expect(try mode(secondary + primary + "/tsig.key") == 0o600)
        #expect(try mode(secondary + primary + "/failsafe.token") == 0o600)
        #expect(config.contains("  advertise: \"http://10.0.0.2:8008\""), "\(config)")
        #expect(try mode(secondary + primary + "/hook.sh") == 0o755)
        #expect(try mode(secondary + primary + "/data.txt") == 0o640)
        #expect(try mode(secondary + "/etc/hotstandby/hotstandby.yaml") == 0o640)
        #expect(FileManager.default.fileExists(atPath: secondary + "/etc/systemd/system/hotstandby.service"))

        let again = try await runProgram("/bin/bash", args, environment: environment)
        #expect(again.status == 0 && again.output.contains("already up to date"), "\(again.output)")

        // A file changed on the secondary is shown and kept, unless --force.
        try "changed on the secondary\n".write(
            toFile: secondary + primary + "/data.txt",
            atomically: false,
            encoding: .utf8
        )
        let refused = try await runProgram("/bin/bash", args, environment: environment)
        #expect(refused.status != 0, "\(refused.output)")
        #expect(
            refused.output.contains("-changed on the secondary") && refused.output.contains("+application data"),
            "\(refused.output)"
        )
        #expect(refused.output.contains("--force"))
        #expect(
            try String(contentsOfFile: secondary + primary + "/data.txt", encoding: .utf8)
                == "changed on the secondary\n"
        )
        let forced = try await runProgram("/bin/bash", args + ["--force"], environment: environment)
        #expect(forced.status == 0, "\(forced.output)")
        #expect(try String(contentsOfFile: secondary + primary + "/data.txt", encoding: .utf8) == "application data\n")

        // A version mismatch is refused.
        let fake = work + "/fake-hotstandby"
        try "#!/bin/sh\necho 9.9.9\n".write(toFile: fake, atomically: true, encoding: .utf8)
        chmod(fake, 0o755)
        var mismatch = args
        mismatch[mismatch.firstIndex(of: OpsEnvironment.binary!)!] = fake
        let wrong = try await runProgram("/bin/bash", mismatch, environment: environment)
        #expect(wrong.status != 0 && wrong.output.contains("version mismatch"), "\(wrong.output)")
    }
}
