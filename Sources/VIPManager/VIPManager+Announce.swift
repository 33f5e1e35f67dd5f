import Logging
import Shell
import Synchronization

extension VIPManager {
    /// What a burst of gratuitous ARP did.
    public struct AnnounceReport: Sendable, Hashable {
        /// Packets handed to `arping` (it exited 0, or was still waiting for replies when stopped), or
        /// neighbour advertisements the kernel accepted (IPv6).
        public var sent: Int
        /// Packets whose `arping` failed; see `firstError`.
        public var failed: Int
        /// The first failure, in words.
        public var firstError: String?
        /// Set when nothing was sent on purpose (count 0, or IPv6 through a test lab's command prefix).
        public var note: String?
        /// How long the burst took.
        public var duration: Duration
    }

    /// What `takeOver(epoch:)` did.
    public struct TakeoverReport: Sendable, Hashable {
        /// The probe's answer, when a probe ran.
        public var probe: ProbeResult?
        /// Set when `probe` is the answer of a probe run ahead of the takeover (`EarlyProbe`); nil when it ran
        /// just before the bind (or none ran).
        public var probedAhead: ProbedAhead?
        /// Whether the address was added or already there.
        public var bind: Change
        /// The first gratuitous ARP packet.
        public var announce: AnnounceReport
    }

    /// Sends `count` gratuitous ARP packets `interval` apart, the first at once.
    ///
    /// They leave from a packet socket of this process (`GratuitousARP`), so the call returns right after the
    /// last one. Through a command prefix (a test lab), or without `CAP_NET_RAW`, each is sent by its own
    /// `arping -U -c 1 -I IF ADDR` instead (iputils-arping sends at once but only exits about a second later):
    /// no packet waits for an earlier `arping` to exit, and each is stopped at the latest `sendGrace` after
    /// the last packet was due (by then it has sent; it is only waiting for replies that `-U` never gets), so
    /// that call returns after about `(count - 1) * interval + sendGrace`.
    /// IPv6 sends unsolicited neighbour advertisements instead (`NeighbourAdvertisement`). Never throws:
    /// failures are counted.
    public func announce(
        count: Int,
        interval: Duration,
        sendGrace: Duration = .milliseconds(250)
    ) async -> AnnounceReport {
        let start = ContinuousClock.now
        guard count > 0 else {
            return AnnounceReport(sent: 0, failed: 0, firstError: nil, note: "count is 0", duration: .zero)
        }
        guard config.address.family == .ipv4 else {
            return await advertise(count: count, interval: interval, start: start)
        }
        if readsInProcess, let report = await announceInProcess(count: count, interval: interval, start: start) {
            return report
        }
        let argv = [config.arpingPath, "-U", "-c", "1", "-I", config.interface.name, config.address.address]
        let runner = self.runner
        let outcomes = await withTaskGroup(of: String?.self) { group in
            for index in 0..<count {
                if index > 0 {
                    do { try await Task.sleep(until: start + interval * index) } catch { break }
                }
                let deadline = interval * (count - 1 - index) + sendGrace
                group.addTask {
                    do throws(VIPError) {
                        let result = try await runner.run(argv, timeout: deadline, killGrace: .milliseconds(50))
                        return result.succeeded
                            ? nil : "\(result.statusText): \(result.output.trimmingTrailingWhitespace)"
                    } catch {
                        // Stopped while waiting for replies: the packet went out at its start.
                        return error.code == .timedOut ? nil : error.description
                    }
                }
            }
            var errors: [String?] = []
            for await outcome in group { errors.append(outcome) }
            return errors
        }
        let failures = outcomes.compactMap { $0 }
        return finish(sent: outcomes.count - failures.count, errors: failures, since: start, what: "gratuitous ARP")
    }

    /// The report of a burst, logged once: a warning with the first error when any packet failed.
    private func finish(sent: Int, errors: [String], since start: ContinuousClock.Instant, what: String)
        -> AnnounceReport
    {
        let report = AnnounceReport(
            sent: sent,
            failed: errors.count,
            firstError: errors.first,
            note: nil,
            duration: ContinuousClock.now - start
        )
        if let first = report.firstError {
            logger.warning(
                "\(what) failed",
                metadata: ["failed": "\(report.failed)", "sent": "\(report.sent)", "error": "\(first)"]
            )
        } else {
            logger.debug("\(what) sent", metadata: ["sent": "\(report.sent)"])
        }
        return report
    }

    /// IPv4 without a command prefix: `count` gratuitous ARPs `interval` apart from a packet socket of this
    /// process (`GratuitousARP`), the first at once. Nil when this process may not open one (no `CAP_NET_RAW`,
    /// e.g. started by hand as a user for whom `arping` has the file capability): `arping` then sends them.
    private func announceInProcess(count: Int, interval: Duration, start: ContinuousClock.Instant) async
        -> AnnounceReport?
    {
        let arp = GratuitousARP(interface: config.interface.name, address: config.address.address)
        var errors: [String] = []
        var sent = 0
        do throws(GratuitousARP.Failure) {
            try arp.send()
            sent = 1
        } catch let failure where failure.permissionDenied {
            if !Self.arpingFallbackNoted.exchange(true, ordering: .relaxed) {
                logger.notice(
                    "sending gratuitous ARP with arping: this process may not open a packet socket (CAP_NET_RAW)",
                    metadata: ["error": "\(failure.error)"]
                )
            }
            return nil
        } catch {
            errors.append(error.error.description)
        }
        let rest = await burst(1..<count, interval: interval, start: start) { () throws(VIPError) in
            do throws(GratuitousARP.Failure) { try arp.send() } catch { throw error.error }
        }
        return finish(sent: sent + rest.sent, errors: errors + rest.errors, since: start, what: "gratuitous ARP")
    }

    /// Logged once per process: the fallback to `arping` for want of `CAP_NET_RAW`.
    private static let arpingFallbackNoted = Atomic<Bool>(false)

    /// Calls `send` for each of `indices`, the one at index `i` due at `start + interval * i`; stops early when
    /// cancelled. Returns how many were sent and the errors of the others.
    private func burst(
        _ indices: Range<Int>,
        interval: Duration,
        start: ContinuousClock.Instant,
        send: () throws(VIPError) -> Void
    ) async -> (sent: Int, errors: [String]) {
        var sent = 0
        var errors: [String] = []
        for index in indices {
            if index > 0 {
                do { try await Task.sleep(until: start + interval * index) } catch { break }
            }
            do throws(VIPError) {
                try send()
                sent += 1
            } catch {
                errors.append(error.description)
            }
        }
        return (sent, errors)
    }

    /// IPv6: `count` unsolicited neighbour advertisements `interval` apart, on a raw ICMPv6 socket.
    ///
    /// Sends nothing when `commandPrefix` is set (the test labs run `ip` in another network namespace;
    /// a socket of this process would be in the wrong one) and says so in `note`.
    private func advertise(count: Int, interval: Duration, start: ContinuousClock.Instant) async -> AnnounceReport {
        guard config.commandPrefix.isEmpty else {
            return AnnounceReport(
                sent: 0,
                failed: 0,
                firstError: nil,
                note: "IPv6: commands run through a command prefix (another namespace); no advertisement sent",
                duration: .zero
            )
        }
        let advertisement = NeighbourAdvertisement(interface: config.interface.name, target: config.address.address)
        let (sent, errors) = await burst(0..<count, interval: interval, start: start) { () throws(VIPError) in
            try advertisement.send()
        }
        return finish(sent: sent, errors: errors, since: start, what: "unsolicited neighbour advertisement")
    }

    /// The takeover step: probe (per `vip.probe`), bind, and send the first gratuitous ARP packet.
    ///
    /// Takes about 5 ms for `ip addr add`, plus `vip.probe-window` when probing here; the first packet leaves
    /// right after the bind (through `arping`, the call waits up to `sendGrace` for it).
    /// The rest of the burst and the refresh are `keepAnnounced()`'s job, run while active.
    ///
    /// `ahead`: the probe a standby ran ahead of its takeover deadline (`EarlyProbe`). Its answer stands for
    /// the probe before the bind when it probed this address and finished at most `earlyProbeFreshness` before
    /// (with `strict`, only when it found the address free), and the address is then bound at once; otherwise
    /// the probe runs before the bind as without it. Either way the bind waits for an early probe still running,
    /// so none runs while this node holds the address.
    ///
    /// A probe that cannot run (`arping` or `ndisc6` missing, no `CAP_NET_RAW`, no such interface) does
    /// not stop an `on` takeover: it is logged as a warning, the report says "not probed", and the address
    /// is bound, as `on` binds whatever the probe says. With `strict` it refuses, since it cannot show the
    /// address is free.
    ///
    /// - Parameter epoch: the epoch this node is active in, for the log line.
    /// - Throws: `.addressInUse` when `vip.probe` is `strict` and another host answers; the probe's error
    ///   when `strict` and the probe cannot run; errors of `ip`.
    public func takeOver(
        epoch: Int64,
        sendGrace: Duration = .milliseconds(250),
        ahead: EarlyProbe? = nil
    ) async throws(VIPError) -> TakeoverReport {
        var probeResult: ProbeResult?
        var early: EarlyProbe.Answer?
        if config.probe != .off, let ahead,
            let answer = await ahead.take(for: config.address.cidr, within: Self.earlyProbeFreshness, epoch: epoch),
            config.probe == .on || !answer.result.answered
        {
            early = answer
            probeResult = answer.result
        } else if config.probe != .off, try await !holds() {
            probeResult = try await probeBeforeBinding()
        }
        let bindStart = ContinuousClock.now
        let change = try await bind()
        let first = await announce(count: min(1, config.garpCount), interval: config.garpInterval, sendGrace: sendGrace)
        let probedAhead = early.map {
            ProbedAhead(
                startedBeforeBind: $0.started.duration(to: bindStart),
                finishedBeforeBind: $0.finished.duration(to: bindStart)
            )
        }
        if let probedAhead, let probeResult, probeResult.answered {
            logger.warning(
                "another host answered the probe run ahead of the takeover; bound the virtual IP anyway (vip.probe: on)",
                metadata: ["answered-by": "\(probeResult.answeredBy ?? "?")", "probe": "\(probedAhead.text)"]
            )
        }
        logger.notice(
            "holding the virtual IP",
            metadata: [
                "epoch": "\(epoch)", "bound": "\(change == .changed)",
                "probe-answered": "\(probeResult?.answered.description ?? "not probed")",
                "probe":
                    "\(probedAhead.map { "ahead of the takeover: \($0.text)" } ?? (probeResult == nil ? "none" : "before the bind"))",
            ]
        )
        return TakeoverReport(probe: probeResult, probedAhead: probedAhead, bind: change, announce: first)
    }

    /// `takeOver`'s probe per `vip.probe`: throws when the address is in use and `strict`, or when the probe
    /// cannot run and `strict`; nil when it cannot run and `on`.
    private func probeBeforeBinding() async throws(VIPError) -> ProbeResult? {
        let result: ProbeResult
        do {
            result = try await probe()
        } catch {
            guard config.probe == .on else {
                throw VIPError(
                    code: error.code,
                    key: "vip.probe",
                    message: "vip.probe is strict and the probe could not run, so this node does not bind "
                        + "\(config.address): \(error.message)",
                    output: error.output
                )
            }
            logger.warning(
                "the probe could not run; binding the virtual IP anyway (vip.probe: on)",
                metadata: ["error": "\(error)"]
            )
            return nil
        }
        if result.answered, config.probe == .strict {
            throw VIPError(
                code: .addressInUse,
                key: "vip.probe",
                message: "another host (\(result.answeredBy ?? "unknown MAC")) answers for \(config.address) "
                    + "and vip.probe is strict, so this node does not bind it; find and stop that host, "
                    + "or set vip.probe: on to bind anyway"
            )
        }
        return result
    }

    /// The duty while active: the rest of the gratuitous ARP burst after `takeOver`, then a full burst
    /// every `vip.garp.refresh` (none when it is zero). Runs until cancelled.
    ///
    /// Before each refresh it checks that the address is still bound; if someone removed it, it logs an
    /// error and does not announce an address this host no longer answers for.
    ///
    /// `stillServing` is asked before every announcement: a node past its self-fencing deadline (woken
    /// from a pause before its run loop fenced it) must not announce the address again.
    public func keepAnnounced(
        stillServing: @escaping @Sendable () -> Bool = { true },
        onRebound: @escaping @Sendable (String) async -> Void = { _ in }
    ) async {
        let clock = ContinuousClock()
        if config.garpCount > 1 {
            do { try await clock.sleep(for: config.garpInterval) } catch { return }
            if stillServing() { _ = await announce(count: config.garpCount - 1, interval: config.garpInterval) }
        }
        guard config.garpRefresh > .zero else { return }
        while !Task.isCancelled {
            do { try await clock.sleep(for: config.garpRefresh) } catch { return }
            guard stillServing() else {
                logger.warning("past the self-fencing deadline: not refreshing the virtual IP's announcement")
                continue
            }
            do {
                if try await !holds() {
                    // Someone removed it (a network restart, another program): this node holds the lease, so
                    // the address is its own. Bind it again, then announce as after a takeover.
                    guard stillServing() else { continue }
                    logger.error(
                        "the virtual IP was removed from the interface while this node is active: binding it again"
                    )
                    _ = try await bind()
                    await onRebound("\(config.address.cidr) was not on \(config.interface.name); bound it again")
                }
            } catch {
                logger.warning("cannot check the virtual IP before the refresh", metadata: ["error": "\(error)"])
                continue
            }
            _ = await announce(count: max(config.garpCount, 1), interval: config.garpInterval)
        }
    }

    /// On a standby: every `vip.garp.refresh` (30 s when the refresh is off), look for the virtual IP on
    /// this node's interface and remove it: only the active may hold it (another program managing the
    /// same address would otherwise make two holders). Calls `onRemoved` after each removal.
    public func keepAway(onRemoved: @escaping @Sendable (String) async -> Void = { _ in }) async {
        let every = config.garpRefresh > .zero ? config.garpRefresh : .seconds(30)
        while !Task.isCancelled {
            do { try await ContinuousClock().sleep(for: every) } catch { return }
            do {
                guard try await holds() else { continue }
                logger.error("the virtual IP is on this standby's interface: removing it (another program manages it?)")
                _ = try await release()
                await onRemoved("\(config.address.cidr) was on \(config.interface.name) of this standby; removed it")
            } catch {
                logger.warning("cannot check for the virtual IP on this standby", metadata: ["error": "\(error)"])
            }
        }
    }
}
