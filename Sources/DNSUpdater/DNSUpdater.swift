import HotStandbyCore
import Logging

/// Points a DNS name at this node with a TSIG-signed dynamic update (`nsupdate`), fenced by the epoch.
///
/// The update is a compare-and-set in DNS: it requires the epoch record `_hotstandby.NAME TXT
/// "epoch=N node=X"` to hold exactly the value read just before, replaces the A/AAAA record and writes
/// this node's epoch, all in one message. A deposed node (older epoch) therefore never overwrites the
/// record, even when its update arrives late. Every call has a deadline (`dns.timeout`) and runs in
/// the caller's task only: run it off the heartbeat's path.
public struct DNSUpdater: Sendable {
    /// The validated configuration.
    public let config: DNSConfig
    let key: TSIGKey
    let logger: Logger
    let clock: any Clock<Duration>

    /// Validates the configuration and prepares the key file.
    ///
    /// - Parameters:
    ///   - runtimeDirectory: where a key file is written when the configuration gives only a secret file;
    ///     created with mode 0700. Defaults to `/run/hotstandby`.
    ///   - clock: the clock for back-off and verify sleeps. Defaults to `ContinuousClock()`.
    /// - Throws: `DNSError` (`.invalidConfig`, `.insecureKeyFile`, `.runtimeFolder`).
    public init(
        config: DNSConfig,
        runtimeDirectory: String = "/run/hotstandby",
        logger: Logger,
        clock: any Clock<Duration> = ContinuousClock()
    ) throws(DNSError) {
        self.config = try config.validated()
        self.key = try TSIGKey.prepare(config.tsig, runtimeDirectory: runtimeDirectory)
        self.logger = logger
        self.clock = clock
    }

    /// Points the name at `config.address` for `epoch`, unless a newer epoch already holds it.
    ///
    /// Reads the epoch record; stops with `.deposed` when its epoch is not lower than `epoch` (its own
    /// record of the same epoch excepted); else sends one update whose prerequisite is that record;
    /// when another node wrote in between, reads and decides again (up to `maxRounds`). Then queries the
    /// server until it answers with the new address. All of it within `dns.timeout`.
    public func point(epoch: Int64, node: String) async throws(DNSError) -> DNSUpdateReport {
        try Self.checkNode(node)
        let started = ContinuousClock.now
        let deadline = started + config.timeout
        var rounds = 0
        while true {
            rounds += 1
            let record = try await readEpochRecord(deadline: deadline)
            if let record, !record.allows(epoch: epoch, node: node) {
                throw deposedError(record, epoch: epoch, node: node)
            }
            do {
                try await sendUpdate(epoch: epoch, node: node, expected: record, deadline: deadline)
            } catch let error where error.code == .prerequisiteFailed && rounds < config.maxRounds {
                logger.info(
                    "DNS epoch record changed between read and update; reading it again",
                    metadata: [LogKey.name: "\(config.nameFQDN)", LogKey.epoch: "\(epoch)", LogKey.round: "\(rounds)"]
                )
                continue
            }
            let updated = ContinuousClock.now
            try await confirm(deadline: deadline)
            let now = ContinuousClock.now
            let report = DNSUpdateReport(
                name: config.nameFQDN,
                address: config.address,
                epoch: epoch,
                node: node,
                previous: record,
                changed: true,
                rounds: rounds,
                duration: now - started,
                confirmDuration: now - updated
            )
            logger.notice(
                "DNS name points at this node",
                metadata: [
                    LogKey.name: "\(config.nameFQDN)", LogKey.address: "\(config.address)", LogKey.epoch: "\(epoch)",
                    LogKey.previous: "\(record?.description ?? "none")", LogKey.duration: "\(report.duration.text)",
                ]
            )
            return report
        }
    }

    /// Checks that the name still points here in `epoch`, and repairs it with `point` when it drifted
    /// (another address, a missing or older epoch record).
    ///
    /// - Returns: a report with `changed == false` when nothing had to be done.
    /// - Throws: `.deposed` when a newer epoch holds the record: this node must not touch it.
    public func verify(epoch: Int64, node: String) async throws(DNSError) -> DNSUpdateReport {
        try Self.checkNode(node)
        let started = ContinuousClock.now
        let deadline = started + config.timeout
        let record = try await readEpochRecord(deadline: deadline)
        if let record, !record.allows(epoch: epoch, node: node) {
            throw deposedError(record, epoch: epoch, node: node)
        }
        let addresses = try await readAddresses(deadline: deadline)
        if record?.epoch == epoch, record?.node == node, addresses == [canonicalAddress] {
            return DNSUpdateReport(
                name: config.nameFQDN,
                address: config.address,
                epoch: epoch,
                node: node,
                previous: record,
                changed: false,
                rounds: 0,
                duration: ContinuousClock.now - started,
                confirmDuration: .zero
            )
        }
        logger.warning(
            "DNS record drifted; repairing it",
            metadata: [
                LogKey.name: "\(config.nameFQDN)", LogKey.found: "\(addresses.joined(separator: ","))",
                LogKey.previous: "\(record?.description ?? "none")", LogKey.epoch: "\(epoch)",
            ]
        )
        return try await point(epoch: epoch, node: node)
    }

    var canonicalAddress: String { IPAddressText.canonical(config.address) ?? config.address }

    private func deposedError(_ record: EpochRecord, epoch: Int64, node: String) -> DNSError {
        DNSError(
            .deposed,
            "\(config.epochRecordFQDN) holds \(record) but this node is \(node) in epoch \(epoch): "
                + "another node took over, so this node leaves \(config.nameFQDN) alone"
        )
    }

    /// A node name goes into the TXT record and the update script: letters, digits, `.`, `_`, `-` only.
    static func checkNode(_ node: String) throws(DNSError) {
        let ok =
            !node.isEmpty && node.count <= 63
            && node.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }
        guard ok else {
            throw DNSError(
                .invalidConfig,
                "node name '\(node)' cannot go into the epoch record: use letters, digits, '.', '_' or '-'"
            )
        }
    }
}

/// Metadata keys of this module's log lines, defined once.
enum LogKey {
    static let name = "dns.name"
    static let address = "dns.address"
    static let epoch = "dns.epoch"
    static let round = "dns.round"
    static let previous = "dns.previous"
    static let found = "dns.found"
    static let duration = "dns.duration"
    static let attempt = "dns.attempt"
    static let error = "dns.error"
}
