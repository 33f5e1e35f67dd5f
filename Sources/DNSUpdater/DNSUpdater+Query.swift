import HotStandbyCore
import Shell

extension DNSUpdater {
    /// Reads the epoch record from the configured (authoritative) server; `nil` when there is none.
    public func readEpochRecord() async throws(DNSError) -> EpochRecord? {
        try await readEpochRecord(deadline: .now + config.timeout)
    }

    /// The addresses the configured server answers for the name (of this node's record type), canonical text.
    public func readAddresses() async throws(DNSError) -> [String] {
        try await readAddresses(deadline: .now + config.timeout)
    }

    func readEpochRecord(deadline: ContinuousClock.Instant) async throws(DNSError) -> EpochRecord? {
        let rdata = try await query(config.epochRecordFQDN, type: "TXT", deadline: deadline)
        return rdata.isEmpty ? nil : EpochRecord(rdata: rdata)
    }

    func readAddresses(deadline: ContinuousClock.Instant) async throws(DNSError) -> [String] {
        let rdata = try await query(config.nameFQDN, type: config.recordType ?? "A", deadline: deadline)
        return rdata.map { IPAddressText.canonical($0) ?? $0 }.sorted()
    }

    /// Queries until the server answers with exactly this node's address, or the deadline passes.
    func confirm(deadline: ContinuousClock.Instant) async throws(DNSError) {
        var pause = Duration.milliseconds(10)
        var last: [String] = []
        while true {
            last = try await readAddresses(deadline: deadline)
            if last == [canonicalAddress] { return }
            guard ContinuousClock.now + pause < deadline else { break }
            do { try await Task.sleep(for: pause) } catch { break }
            pause = min(pause * 2, .milliseconds(200))
        }
        throw DNSError(
            .notConfirmed,
            "the update was accepted but \(config.server) still answers \(config.nameFQDN) with "
                + "\(last.isEmpty ? "nothing" : last.joined(separator: ", ")) instead of \(config.address) "
                + "after \(config.timeout.text); is dns.server the zone's primary?"
        )
    }

    /// One `dig` over TCP to the configured server; the answer's data for `name`/`type`, empty on NXDOMAIN/NODATA.
    func query(_ name: String, type: String, deadline: ContinuousClock.Instant) async throws(DNSError) -> [String] {
        let remaining = try remainingTime(until: deadline, doing: "query \(name) \(type)")
        let seconds = max(1, Int(remaining.secondsValue.rounded(.up)))
        let argv = [
            config.digPath, "@\(config.server)", "-p", "\(config.port)", "+tcp", "+norecurse", "+time=\(seconds)",
            "+tries=1", "+noall", "+comments", "+answer", name, type,
        ]
        let result = try await run(Command(argv, timeout: remaining), doing: "query \(name) \(type)")
        let output = result.output
        var status: String?
        var answers: [String] = []
        for line in output.split(separator: "\n", omittingEmptySubsequences: true) {
            if let range = line.firstRange(of: "status: ") {
                status = String(line[range.upperBound...].prefix { $0.isLetter })
                continue
            }
            if line.hasPrefix(";") { continue }
            let fields = line.split(maxSplits: 4, omittingEmptySubsequences: true) { $0 == " " || $0 == "\t" }
            guard fields.count == 5, fields[0].lowercased() == name.lowercased(), fields[3] == type else { continue }
            answers.append(String(fields[4]).trimmingWhitespace)
        }
        guard result.succeeded, let status else {
            throw classifyUnreached(output, doing: "query \(name) \(type)")
        }
        switch status {
        case "NOERROR", "NXDOMAIN": return answers
        case "REFUSED":
            throw DNSError(
                .refused,
                "\(config.server) refused to answer \(name) \(type) (REFUSED): allow this host in allow-query",
                output: output
            )
        default:
            throw DNSError(
                .serverError,
                "\(config.server) answered \(name) \(type) with \(status): check dns.server and dns.zone",
                output: output
            )
        }
    }

    func remainingTime(until deadline: ContinuousClock.Instant, doing what: String) throws(DNSError) -> Duration {
        let remaining = deadline - ContinuousClock.now
        guard remaining > .milliseconds(1) else {
            throw DNSError(.timedOut, "no time left to \(what) within dns.timeout (\(config.timeout.text))")
        }
        return remaining
    }

    /// Runs a tool, turning a missing program or a passed deadline into a `DNSError`.
    func run(_ command: Command, doing what: String) async throws(DNSError) -> CommandResult {
        do {
            return try await command.run()
        } catch {
            if error.code == .timedOut {
                throw DNSError(
                    .timedOut,
                    "\(config.server) port \(config.port) did not answer to \(what) within dns.timeout "
                        + "(\(config.timeout.text)): is the server up and reachable?",
                    output: error.output
                )
            }
            throw DNSError(
                .toolMissing,
                "cannot run '\(command.executable)' (\(error.message)): install Debian's bind9-dnsutils "
                    + "(apt-get install bind9-dnsutils)"
            )
        }
    }

    /// Words for a tool that got no answer from the server.
    func classifyUnreached(_ output: String, doing what: String) -> DNSError {
        let lower = output.lowercased()
        if lower.contains("timed out") {
            return DNSError(
                .timedOut,
                "\(config.server) port \(config.port) did not answer to \(what) (timed out): is the server up?",
                output: output
            )
        }
        if lower.contains("couldn't get address") || lower.contains("not found") && lower.contains("server") {
            return DNSError(
                .unreachable,
                "dns.server '\(config.server)' does not resolve to an address",
                output: output
            )
        }
        return DNSError(
            .unreachable,
            "cannot reach \(config.server) port \(config.port) to \(what) (connection refused or no route): "
                + "is named running and does the firewall allow TCP \(config.port)?",
            output: output
        )
    }
}
