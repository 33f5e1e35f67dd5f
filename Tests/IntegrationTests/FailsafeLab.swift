import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Issue 18's lab parts: the failsafe section of a node, the database stopped and restarted inside `db`, cuts with
/// nftables, signed beats sent by hand.
extension VIPLab {
    /// The lab nodes' addresses (scripts/netns-lab).
    static let addresses = ["a": "10.77.0.1", "b": "10.77.0.2", "c": "10.77.0.20", "db": "10.77.0.10"]

    /// The `failsafe:` and `http:` sections of `node` (the token at `{dir}/failsafe.token`, written by `writeToken`).
    static func failsafeYAML(_ node: String, enabled: Bool = true, maxDuration: String = "30s") -> String {
        """
        failsafe:
          enabled: \(enabled)
          tokenFile: "{dir}/failsafe.token"
          maxDuration: \(maxDuration)
        http:
          listen: 0.0.0.0:8008
          advertise: http://\(addresses[node]!):8008

        """
    }

    /// Writes the token every node shares, mode 0600, before the nodes start.
    func writeToken(_ token: String = "lab-token-" + UUID().uuidString) throws {
        let path = directory + "/failsafe.token"
        _ = FileManager.default.createFile(
            atPath: path,
            contents: Data(token.utf8),
            attributes: [.posixPermissions: 0o600]
        )
        chmod(path, 0o600)
    }

    /// Stops PostgreSQL (`pg_ctl stop -m immediate`).
    func stopDatabase() throws {
        let stopped = try runProgramSync(TestEnvironment.repository + "/scripts/postgres", ["stop", directory + "/pg"])
        guard stopped.status == 0 else { throw HarnessError("scripts/postgres stop failed: \(stopped.output)") }
    }

    /// Starts PostgreSQL again on its port, inside `db`.
    func restartDatabase() throws {
        let started = try lab([
            "exec", "db", "env", "PG_LISTEN=10.77.0.10", TestEnvironment.repository + "/scripts/postgres", "restart",
            directory + "/pg",
        ])
        guard started.status == 0 else { throw HarnessError("scripts/postgres restart failed: \(started.output)") }
    }

    /// Drops every packet between `node` and each of `peers` (lab names), with nftables inside `node`.
    func cut(_ node: String, from peers: [String]) async throws {
        let set = peers.map { Self.addresses[$0]! }.joined(separator: ", ")
        let rules = """
            table inet failsafecut {
              chain out { type filter hook output priority 0; policy accept; ip daddr { \(set) } drop; }
              chain in { type filter hook input priority 0; policy accept; ip saddr { \(set) } drop; }
            }

            """
        let path = directory + "/cut-\(node)-\(peers.joined()).nft"
        try rules.write(toFile: path, atomically: true, encoding: .utf8)
        let result = try await exec(in: node, ["/usr/sbin/nft", "-f", path])
        guard result.status == 0 else { throw HarnessError("nft -f failed in \(ns(node)): \(result.output)") }
    }

    /// `node`'s own `/status` over HTTP (from the client's namespace): it answers while the database is down.
    func httpStatus(of node: String) async -> [String: Any]? {
        guard
            let result = try? await exec(
                in: "c",
                ["/usr/bin/curl", "-s", "--max-time", "1", "http://\(Self.addresses[node]!):8008/status"]
            ),
            result.status == 0
        else { return nil }
        return try? JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any]
    }

    /// The lease's failsafe members as `status --json` on `from` shows them; nil when unset or unreadable.
    func members(from node: String = "a") async -> [String]? {
        (await statusJSON(from: node))?["members"] as? [String]
    }

    /// POSTs a beat to `node` as the client, signed with the token in `tokenFile` (python3's hmac, the token read
    /// from the file, never on a command line); returns the HTTP status and the body.
    func postBeat(to node: String, from sender: String, epoch: Int64, round: String, tokenFile: String) async throws
        -> (status: Int, body: String)
    {
        let payload = #"{"cluster":"viplab-\#(prefix)","from":"\#(sender)","epoch":\#(epoch),"round":"\#(round)"}"#
        let payloadPath = directory + "/beat-\(round).json"
        try payload.write(toFile: payloadPath, atomically: true, encoding: .utf8)
        let sign = """
            import hashlib, hmac, json, sys
            token = open(sys.argv[1]).read().strip().encode()
            payload = open(sys.argv[2]).read()
            sig = hmac.new(token, payload.encode(), hashlib.sha256).hexdigest()
            open(sys.argv[3], "w").write(json.dumps({"payload": payload, "signature": sig}))
            """
        let bodyPath = payloadPath + ".signed"
        let signed = try await runProgram("/usr/bin/python3", ["-c", sign, tokenFile, payloadPath, bodyPath])
        guard signed.status == 0 else { throw HarnessError("signing failed: \(signed.output)") }
        let result = try await exec(
            in: "c",
            [
                "/usr/bin/curl", "-s", "--max-time", "2", "-o", "-", "-w", "\n%{http_code}", "-H",
                "Content-Type: application/json", "--data-binary", "@" + bodyPath,
                "http://\(Self.addresses[node]!):8008/failsafe/beat",
            ]
        )
        let lines = result.output.split(separator: "\n", omittingEmptySubsequences: false)
        return (Int(lines.last ?? "") ?? 0, lines.dropLast().joined(separator: "\n"))
    }
}
