import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `scripts/configure-failover` into a staging root, against the real test database.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct ConfigureFailoverTests {
    static let script = OpsEnvironment.repository + "/scripts/configure-failover"

    func configure(_ arguments: [String], environment: [String: String] = [:]) async throws -> (
        status: Int32, output: String
    ) {
        try await runProgram(
            "/bin/bash",
            [Self.script, "--binary", OpsEnvironment.binary!] + arguments,
            environment: environment
        )
    }

    /// A PATH with everything in /usr/bin and /usr/sbin except `without`.
    func pathWithout(_ without: [String], in directory: String) throws -> String {
        let bin = directory + "/restricted-bin"
        try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
        for folder in ["/usr/bin", "/usr/sbin"] {
            for name in try FileManager.default.contentsOfDirectory(atPath: folder) where !without.contains(name) {
                _ = try? FileManager.default.createSymbolicLink(
                    atPath: bin + "/" + name,
                    withDestinationPath: folder + "/" + name
                )
            }
        }
        return bin
    }

    /// The README's hooks (`systemctl start billing` / `stop billing`) under the packaged unit need the
    /// polkit rule's list: configure-failover writes it from the hooks it finds, nothing else.
    @Test(.enabled(if: OpsEnvironment.daemons, OpsEnvironment.daemonsReason))
    func writesTheUnitsTheHooksManage() async throws {
        let work = try OpsEnvironment.workDirectory("configure-units")
        let root = work + "/root"
        try FileManager.default.createDirectory(atPath: root + "/etc/hotstandby", withIntermediateDirectories: true)
        let cluster = "cu-\(UUID().uuidString.prefix(6))"
        let yaml = """
            cluster: "\(cluster)"
            node: "a"
            database:
              conninfo: "\(OpsEnvironment.conninfo!)"
            http:
              enabled: false
            hooks:
              prePromote: ["/usr/bin/test", "-d", "/"]
              promote: ["/usr/bin/systemctl", "start", "billing"]
              demote: ["/usr/bin/systemctl", "stop", "billing", "nginx.service"]
            """
        try yaml.write(toFile: root + "/etc/hotstandby/hotstandby.yaml", atomically: true, encoding: .utf8)
        let result = try await configure(["--root", root, "--init-db", "--no-start"])
        #expect(result.status == 0, "\(result.output)")
        let units = try String(contentsOfFile: root + "/etc/hotstandby/units", encoding: .utf8)
        let names = units.split(separator: "\n").filter { !$0.hasPrefix("#") }.map(String.init)
        #expect(names == ["billing", "nginx.service"], "\(units)")
        let mode =
            try FileManager.default.attributesOfItem(atPath: root + "/etc/hotstandby/units")[.posixPermissions] as? Int
        #expect(mode == 0o644)
    }

    @Test(.enabled(if: OpsEnvironment.daemons, OpsEnvironment.daemonsReason))
    func installsIntoRootAndIsIdempotent() async throws {
        let work = try OpsEnvironment.workDirectory("configure")
        let root = work + "/root"
        let share = work + "/share"
        try FileManager.default.createDirectory(atPath: share, withIntermediateDirectories: true)
        let cluster = "cf-\(UUID().uuidString.prefix(6))"
        let flags = [
            "--root", root, "--cluster", cluster, "--node", "a", "--conninfo", OpsEnvironment.conninfo!,
            "--interval", "1s", "--timeout", "10s", "--shared-folder", share, "--shared-path", "/etc/hostname",
            "--init-db", "--no-start",
        ]
        let first = try await configure(flags)
        #expect(first.status == 0, "\(first.output)")
        #expect(first.output.contains("registered node 'a' in cluster '\(cluster)'"), "\(first.output)")
        let config = try String(contentsOfFile: root + "/etc/hotstandby/hotstandby.yaml", encoding: .utf8)
        #expect(config.contains("cluster: \"\(cluster)\"") && config.contains("node: \"a\""))
        let unit = try String(contentsOfFile: root + "/etc/systemd/system/hotstandby.service", encoding: .utf8)
        #expect(unit.contains("Type=notify"))
        let link = try FileManager.default.destinationOfSymbolicLink(
            atPath: root + "/etc/systemd/system/multi-user.target.wants/hotstandby.service"
        )
        #expect(link == "/etc/systemd/system/hotstandby.service")
        let marker = try String(contentsOfFile: share + "/.hotstandby-share", encoding: .utf8)
        #expect(marker == "cluster=\(cluster)\n")
        let check = try await runProgram(
            OpsEnvironment.binary!,
            ["check-config", "--database", "--config", root + "/etc/hotstandby/hotstandby.yaml"]
        )
        #expect(check.status == 0, "\(check.output)")
        // The node is known to its cluster before its daemon ever ran.
        let status = try await runProgram(
            OpsEnvironment.binary!,
            ["status", "--json", "--config", root + "/etc/hotstandby/hotstandby.yaml"]
        )
        let json = try JSONSerialization.jsonObject(with: Data(status.output.utf8)) as? [String: Any]
        let nodes = json?["nodes"] as? [[String: Any]] ?? []
        #expect(
            nodes.count == 1 && nodes.first?["node"] as? String == "a"
                && nodes.first?["role"] as? String == "registered",
            "\(status.output)"
        )

        let before =
            try FileManager.default.attributesOfItem(atPath: root + "/etc/hotstandby/hotstandby.yaml")[
                .modificationDate
            ] as? Date
        let second = try await configure(flags)
        #expect(second.status == 0 && second.output.contains("nothing to change"), "\(second.output)")
        #expect(
            second.output.contains("node 'a' is already known to cluster '\(cluster)' (role registered"),
            "\(second.output)"
        )
        let after =
            try FileManager.default.attributesOfItem(atPath: root + "/etc/hotstandby/hotstandby.yaml")[
                .modificationDate
            ] as? Date
        #expect(before == after)
        // Without flags, the existing configuration is kept and checked.
        let keep = try await configure(["--root", root, "--no-start"])
        #expect(keep.status == 0 && keep.output.contains("nothing to change"), "\(keep.output)")
    }

    /// Runs configure-failover on a terminal (`script` gives it a pty) with `answer` typed at the prompt.
    func configureAtTerminal(_ arguments: [String], answer: String, in work: String) async throws -> (
        status: Int32, output: String
    ) {
        let quoted = ([Self.script, "--binary", OpsEnvironment.binary!] + arguments)
            .map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }.joined(separator: " ")
        let inner = work + "/configure-at-terminal.sh"
        try "exec /bin/bash \(quoted)\n".write(toFile: inner, atomically: true, encoding: .utf8)
        let outer = work + "/type-answer.sh"
        try "printf '%s\\n' \(answer) | exec script -qec '/bin/bash \(inner)' /dev/null\n"
            .write(toFile: outer, atomically: true, encoding: .utf8)
        return try await runProgram("/bin/bash", [outer])
    }

    @Test(
        "at a terminal, a missing schema is offered to init-db: 'n' leaves the database alone and names the command, 'y' creates it and registers the node",
        .enabled(
            if: OpsEnvironment.daemons && OpsEnvironment.tool("script") != nil && OpsEnvironment.tool("psql") != nil,
            "needs the test database, script (util-linux) and psql"
        )
    )
    func offersInitDBAtATerminal() async throws {
        let work = try OpsEnvironment.workDirectory("configure-terminal")
        // A schema of its own on the test server stands in for a fresh database (the test role cannot create one).
        let schema = "cf_" + UUID().uuidString.prefix(8).lowercased()
        let created = try await runProgram(
            OpsEnvironment.tool("psql")!,
            [OpsEnvironment.conninfo!, "-v", "ON_ERROR_STOP=1", "-c", "CREATE SCHEMA \(schema)"]
        )
        try #require(created.status == 0, "\(created.output)")
        let conninfo = OpsEnvironment.conninfo! + " options='-c search_path=\(schema)'"
        let flags = [
            "--root", work + "/root", "--cluster", "fresh", "--node", "a", "--conninfo", conninfo, "--no-start",
        ]
        let config = work + "/root/etc/hotstandby/hotstandby.yaml"

        let declined = try await configureAtTerminal(flags, answer: "n", in: work)
        #expect(declined.status != 0, "\(declined.output)")
        #expect(
            declined.output.contains("create or upgrade the schema now with hotstandby init-db? [y/N]"),
            "\(declined.output)"
        )
        #expect(declined.output.contains("hotstandby init-db --config \(config)"), "\(declined.output)")
        let stillMissing = try await runProgram(
            OpsEnvironment.binary!,
            ["check-config", "--database", "--config", config]
        )
        #expect(
            stillMissing.status != 0 && stillMissing.output.contains("no hotstandby schema"),
            "\(stillMissing.output)"
        )
        #expect(!stillMissing.output.contains(": OK"), "OK printed after an error: \(stillMissing.output)")

        let accepted = try await configureAtTerminal(flags, answer: "y", in: work)
        #expect(accepted.status == 0, "\(accepted.output)")
        #expect(accepted.output.contains("schema created or upgraded"), "\(accepted.output)")
        #expect(accepted.output.contains("registered node 'a' in cluster 'fresh'"), "\(accepted.output)")
        let current = try await runProgram(OpsEnvironment.binary!, ["check-config", "--database", "--config", config])
        #expect(current.status == 0, "\(current.output)")
    }

    @Test(.enabled(if: OpsEnvironment.daemons, OpsEnvironment.daemonsReason))
    func eachMissingPrerequisiteIsNamed() async throws {
        let work = try OpsEnvironment.workDirectory("configure-missing")
        let root = work + "/root"
        let cluster = "cf-\(UUID().uuidString.prefix(6))"
        let deadPort = try freePort()
        let base = ["--root", root, "--cluster", cluster, "--node", "a", "--no-start"]

        let noDatabase = try await configure(
            base + ["--conninfo", "host=127.0.0.1 port=\(deadPort) dbname=x connect_timeout=2"]
        )
        #expect(noDatabase.status != 0)
        #expect(noDatabase.output.contains("database not reachable or schema not current"), "\(noDatabase.output)")
        #expect(noDatabase.output.contains("hotstandby init-db --config \(root)/etc/hotstandby/hotstandby.yaml"))

        let good = ["--conninfo", OpsEnvironment.conninfo!, "--init-db"]
        let noShare = try await configure(
            base + good + ["--shared-folder", work + "/not-mounted", "--shared-path", "/etc/hostname"]
        )
        #expect(noShare.status != 0)
        #expect(noShare.output.contains("shared folder '\(work)/not-mounted' does not exist"), "\(noShare.output)")

        let path = try pathWithout(["arping", "nsupdate"], in: work)
        let vip = ["--vip", "192.0.2.10/24", "--vip-interface", "lo"]
        let noArping = try await configure(base + good + vip, environment: ["PATH": path])
        #expect(noArping.status != 0)
        #expect(
            noArping.output.contains(
                "'arping' not found on PATH (apt-get install iputils-arping); needed because vip is configured"
            ),
            "\(noArping.output)"
        )
        #expect(!noArping.output.contains("'ip' not found"))

        let keyFile = work + "/tsig.key"
        try "key \"hs\" {\n\talgorithm hmac-sha256;\n\tsecret \"c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0\";\n};\n"
            .write(toFile: keyFile, atomically: true, encoding: .utf8)
        chmod(keyFile, 0o600)
        let dns = [
            "--dns-server", "127.0.0.1", "--dns-zone", "example.test", "--dns-name", "svc", "--dns-address",
            "127.0.0.2", "--dns-key-file", keyFile,
        ]
        let noNsupdate = try await configure(base + good + dns, environment: ["PATH": path])
        #expect(
            noNsupdate.output.contains(
                "'nsupdate' not found on PATH (apt-get install bind9-dnsutils); needed because dns is configured"
            ),
            "\(noNsupdate.output)"
        )

        let missingFlag = try await configure(["--root", root, "--node", "a", "--no-start"])
        #expect(missingFlag.status != 0 && missingFlag.output.contains("--cluster is missing"), "\(missingFlag.output)")
    }
}
