import HotStandbyCore
import Shell

extension DNSUpdater {
    /// The `nsupdate` script of one fenced update: the prerequisite on the epoch record as read, the
    /// A/AAAA replaced, the epoch record replaced. Fed on standard input; the secret stays in the key file.
    func updateScript(epoch: Int64, node: String, expected: EpochRecord?) -> String {
        let name = config.nameFQDN
        let epochName = config.epochRecordFQDN
        var lines = ["server \(config.server) \(config.port)", "zone \(config.zoneFQDN)"]
        if let expected {
            // Every value of the set: a value-dependent prerequisite compares the whole RRset.
            for rdata in expected.rdata { lines.append("prereq yxrrset \(epochName) TXT \(rdata)") }
        } else {
            lines.append("prereq nxrrset \(epochName) TXT")
        }
        lines += [
            "update delete \(name) A",
            "update delete \(name) AAAA",
            "update add \(name) \(config.ttl) \(config.recordType ?? "A") \(config.address)",
            "update delete \(epochName) TXT",
            "update add \(epochName) \(config.ttl) TXT \(EpochRecord.rdata(epoch: epoch, node: node))",
            // No blank line: nsupdate sends on a blank line, and a second, empty update would follow.
            "send",
            "quit",
        ]
        return lines.joined(separator: "\n") + "\n"
    }

    /// Sends the fenced update with `nsupdate`; throws the classified failure.
    func sendUpdate(
        epoch: Int64,
        node: String,
        expected: EpochRecord?,
        deadline: ContinuousClock.Instant
    ) async throws(DNSError) {
        let what = "update \(config.nameFQDN)"
        let remaining = try remainingTime(until: deadline, doing: what)
        let seconds = max(1, Int(remaining.secondsValue.rounded(.up)))
        var argv = [config.nsupdatePath, "-v", "-t", "\(seconds)"]
        if let path = key.path { argv += ["-k", path] } else { argv.append("-g") }
        let script = updateScript(epoch: epoch, node: node, expected: expected)
        logger.debug("sending DNS update", metadata: [LogKey.name: "\(config.nameFQDN)", LogKey.epoch: "\(epoch)"])
        let result = try await run(Command(argv, standardInput: script, timeout: remaining), doing: what)
        if result.succeeded && !result.output.contains("update failed") { return }
        throw classifyUpdateFailure(result.output)
    }

    /// Turns nsupdate's output into a classified error with advice.
    func classifyUpdateFailure(_ output: String) -> DNSError {
        let name = config.nameFQDN
        let keyText = key.path.map { "'\(key.name)' (\($0))" } ?? key.name
        if output.contains("NXRRSET") || output.contains("YXRRSET") {
            return DNSError(
                .prerequisiteFailed,
                "the server refused the update because \(config.epochRecordFQDN) changed since it was read "
                    + "(prerequisite failed): another node is writing the record",
                output: output
            )
        }
        if output.contains("BADSIG") {
            return DNSError(
                .tsigRejected,
                "\(config.server) rejected the signature of key \(keyText) (NOTAUTH/BADSIG): the secret does not "
                    + "match the server's key of that name; copy the key from the server again. "
                    + "\(name) was left unchanged",
                output: output
            )
        }
        if output.contains("BADKEY") {
            return DNSError(
                .tsigRejected,
                "\(config.server) does not know key \(keyText) (NOTAUTH/BADKEY): the key name or algorithm differs "
                    + "from the server's `key` statement. \(name) was left unchanged",
                output: output
            )
        }
        if output.contains("BADTIME") {
            return DNSError(
                .tsigRejected,
                "\(config.server) rejected the signature's time (NOTAUTH/BADTIME): this host's clock and the "
                    + "server's differ by more than 5 minutes; fix NTP. \(name) was left unchanged",
                output: output
            )
        }
        if output.contains("REFUSED") {
            return DNSError(
                .refused,
                "\(config.server) refused the update (REFUSED): key \(keyText) is not granted \(name) and "
                    + "\(config.epochRecordFQDN). Add to zone \(config.zoneFQDN)'s update-policy: "
                    + "`grant \(key.name) name \(name) A AAAA; grant \(key.name) name \(config.epochRecordFQDN) TXT;`",
                output: output
            )
        }
        if output.contains("NOTAUTH") || output.contains("NOTZONE") {
            return DNSError(
                .serverError,
                "\(config.server) is not authoritative for zone \(config.zoneFQDN) (NOTAUTH/NOTZONE): "
                    + "check dns.server (the primary) and dns.zone",
                output: output
            )
        }
        if output.contains("SERVFAIL") {
            return DNSError(
                .serverError,
                "\(config.server) failed to apply the update (SERVFAIL): see the server's log (journal file, disk)",
                output: output
            )
        }
        if output.contains("Communication with") || output.contains("could not talk")
            || output.contains("couldn't get address") || output.contains("timed out")
        {
            return classifyUnreached(output, doing: "update \(name)")
        }
        return DNSError(.serverError, "nsupdate failed: \(output.trimmingWhitespace.suffix(300))", output: output)
    }
}
