import Testing

@testable import FailoverController

/// A manual instant: tests say exactly when each input arrives.
struct TestInstant: InstantProtocol {
    var offset: Duration
    func advanced(by duration: Duration) -> TestInstant { TestInstant(offset: offset + duration) }
    func duration(to other: TestInstant) -> Duration { other.offset - offset }
    static func < (lhs: TestInstant, rhs: TestInstant) -> Bool { lhs.offset < rhs.offset }
    static func ms(_ value: Int) -> TestInstant { TestInstant(offset: .milliseconds(value)) }
}

typealias Machine = FailoverStateMachine<TestInstant>

/// Drives a machine and remembers the id of the lease call in flight.
struct Driver {
    var machine: Machine
    var lastCall: (id: Int, call: LeaseCall, at: TestInstant)?

    init(
        node: String = "b",
        interval: Duration = .seconds(1),
        timeout: Duration = .seconds(10),
        health: HealthSettings? = nil
    ) {
        machine = Machine(
            settings: FailoverSettings(cluster: "c", node: node, interval: interval, timeout: timeout, health: health),
            now: .ms(0)
        )
    }

    @discardableResult
    mutating func feed(_ input: Machine.Input, at ms: Int) -> [Machine.Action] {
        let actions = machine.handle(input, now: .ms(ms))
        for case .call(let id, let call) in actions { lastCall = (id, call, .ms(ms)) }
        return actions
    }

    /// Answers the call in flight; it was sent when it was issued and arrives at `ms`.
    @discardableResult
    mutating func answer(_ result: LeaseResult, at ms: Int) -> [Machine.Action] {
        guard let (id, _, sent) = lastCall else {
            Issue.record("no call in flight")
            return []
        }
        return feed(.leaseResult(id: id, result, startedAt: sent), at: ms)
    }

    var callInFlight: LeaseCall? { machine.callInFlight }
}

func activeView(_ epoch: Int64, _ counter: Int64, holder: String? = "a", paused: Bool = false, rank: Int = 0)
    -> LeaseResult
{
    .observed(LeaseView(epoch: epoch, activeNode: holder, counter: counter, paused: paused, rank: rank))
}

func hasGate(_ actions: [Machine.Action]) -> Bool {
    actions.contains { if case .checkGate = $0 { return true } else { return false } }
}

func demotes(_ actions: [Machine.Action]) -> Bool {
    actions.contains { if case .demote = $0 { return true } else { return false } }
}

func recorded(_ actions: [Machine.Action], _ kind: ClusterEvent.Kind) -> Bool {
    actions.contains { if case .record(let event) = $0 { return event.kind == kind } else { return false } }
}

/// How many lease reads `actions` start.
func reads(_ actions: [Machine.Action]) -> Int {
    actions.filter { if case .call(_, .observe) = $0 { return true } else { return false } }.count
}

/// Fails the call in flight at once (the database refuses connections), or ticks when none is.
func failOrTick(_ driver: inout Driver, at ms: Int) -> [Machine.Action] {
    driver.callInFlight != nil ? driver.answer(.failed("connection refused"), at: ms) : driver.feed(.tick, at: ms)
}

/// Runs a standby through reads every second of an unchanged counter up to `until` ms.
func watchUnchanged(_ driver: inout Driver, from start: Int, until end: Int, epoch: Int64 = 1, counter: Int64 = 5)
    -> Bool
{
    watch(&driver, from: start, until: end, activeView(epoch, counter))
}

/// Steps time by 500 ms from `start` to `end`, answering each read in flight with `result` and
/// ticking otherwise (reads go out at their periodic cadence); true if the gate ran on the way.
func watch(_ driver: inout Driver, from start: Int, until end: Int, _ result: LeaseResult) -> Bool {
    var gated = false
    var now = start
    while now <= end {
        if driver.callInFlight != nil {
            gated = hasGate(driver.answer(result, at: now)) || gated
        } else {
            gated = hasGate(driver.feed(.tick, at: now)) || gated
        }
        now += 500
    }
    return gated
}

@Suite("Standby: when to take over")
struct StandbyTakeoverTests {
    @Test("the first input reads the lease")
    func startReads() {
        var driver = Driver()
        let actions = driver.feed(.tick, at: 0)
        #expect(actions == [.call(id: 1, .observe(role: .standby, note: "starting"))])
    }

    @Test("no takeover one millisecond before timeout; the gate runs exactly at timeout")
    func exactlyAtTimeout() {
        var driver = Driver()
        driver.feed(.tick, at: 0)
        driver.answer(activeView(1, 5), at: 100)  // first seen at 100 ms
        #expect(driver.machine.nextWake != nil)
        // Reads every second keep showing the same counter.
        for second in 1...10 {
            driver.feed(.tick, at: second * 1000)
            #expect(!hasGate(driver.answer(activeView(1, 5), at: second * 1000 + 5)))
        }
        #expect(!hasGate(driver.feed(.tick, at: 10_099)))
        // No call in flight (the next read is due at 11 000): the machine must wake itself at the deadline.
        #expect(driver.machine.callInFlight == nil)
        #expect(driver.machine.nextWake == .ms(10_100))
        let actions = driver.feed(.tick, at: 10_100)
        #expect(hasGate(actions))
    }

    @Test("staleness counts from the arrival of the read that first showed the value, not its send")
    func arrivalNotSend() {
        var driver = Driver()
        driver.feed(.tick, at: 0)  // sent at 0
        driver.answer(activeView(1, 5), at: 3000)  // arrived 3 s later
        #expect(!watchUnchanged(&driver, from: 3500, until: 12_500))
        #expect(!hasGate(driver.feed(.tick, at: 12_999)))
        #expect(hasGate(driver.feed(.tick, at: 13_000)))
    }

    @Test("a changing counter restarts the clock")
    func counterMoves() {
        var driver = Driver()
        driver.feed(.tick, at: 0)
        driver.answer(activeView(1, 5), at: 0)
        driver.feed(.tick, at: 8000)
        driver.answer(activeView(1, 6), at: 8000)
        #expect(!watchUnchanged(&driver, from: 8500, until: 17_500, counter: 6))
        #expect(!hasGate(driver.feed(.tick, at: 17_999)))
        #expect(hasGate(driver.feed(.tick, at: 18_000)))
    }

    @Test("a failed read in the middle of the window neither resets nor proves anything")
    func failedReadMidWindow() {
        var driver = Driver()
        driver.feed(.tick, at: 0)
        driver.answer(activeView(1, 5), at: 0)
        driver.feed(.tick, at: 4000)
        let failed = driver.answer(.failed("connection refused"), at: 4500)
        #expect(!hasGate(failed))
        driver.feed(.tick, at: 5000)
        driver.answer(activeView(1, 5), at: 5000)
        #expect(!watchUnchanged(&driver, from: 5500, until: 9500))
        // The window still counts from 0: takeover is due at 10 s, not 15 s.
        #expect(hasGate(driver.feed(.tick, at: 10_000)))
    }

    @Test("an epoch change seen while the pre-promote hook runs cancels the takeover")
    func epochChangeWhileGating() {
        var driver = Driver()
        driver.feed(.tick, at: 0)
        driver.answer(activeView(1, 5), at: 0)
        #expect(watchUnchanged(&driver, from: 500, until: 10_000))
        // While the gate runs, a read shows another node won epoch 2.
        if driver.callInFlight == nil { driver.feed(.tick, at: 10_500) }
        driver.answer(activeView(2, 0, holder: "c"), at: 10_600)
        let afterGate = driver.feed(.gateResult(veto: nil), at: 10_700)
        #expect(!afterGate.contains { if case .call(_, .takeOver) = $0 { return true } else { return false } })
        #expect(driver.machine.role == .standby)
    }

    @Test("the compare-and-set carries the values the standby saw")
    func casCarriesSeenValues() {
        var driver = Driver()
        driver.feed(.tick, at: 0)
        driver.answer(activeView(7, 42), at: 0)
        #expect(!watchUnchanged(&driver, from: 500, until: 9500, epoch: 7, counter: 42))
        #expect(hasGate(driver.feed(.tick, at: 10_000)))
        if driver.callInFlight != nil { driver.answer(activeView(7, 42), at: 10_001) }
        let actions = driver.feed(.gateResult(veto: nil), at: 10_002)
        #expect(actions.contains { $0 == .call(id: driver.lastCall!.id, .takeOver(seenEpoch: 7, seenCounter: 42)) })
    }

    // Changed with issue 13 item 5: this test used to let every read fail too, and asserted that the
    // pre-promote hook still ran once per interval; a standby that cannot read now never runs it
    // (EdgeTests.noGateWithoutFreshRead). Here the reads succeed and only the compare-and-set fails.
    @Test("a standby whose compare-and-set fails at once retries once per interval, not in a loop")
    func takeoverRetryBackoff() {
        var driver = Driver()
        driver.feed(.tick, at: 0)
        driver.answer(activeView(1, 5), at: 0)
        #expect(!watchUnchanged(&driver, from: 500, until: 9500))
        #expect(hasGate(driver.feed(.tick, at: 10_000)))
        if driver.callInFlight != nil { driver.answer(activeView(1, 5), at: 10_001) }
        driver.feed(.gateResult(veto: nil), at: 10_002)
        // The compare-and-set fails at once (the connection drops on every write).
        #expect(driver.callInFlight == .takeOver(seenEpoch: 1, seenCounter: 5))
        driver.answer(.failed("connection refused"), at: 10_003)
        var gates = 0
        var now = 10_004
        while now < 12_000 {
            let actions: [Machine.Action]
            switch driver.callInFlight {
            case .takeOver?: actions = driver.answer(.failed("connection refused"), at: now)
            case .some: actions = driver.answer(activeView(1, 5), at: now)
            case nil: actions = driver.feed(.tick, at: now)
            }
            if hasGate(actions) {
                gates += 1
                driver.feed(.gateResult(veto: nil), at: now)
            }
            now += 1
        }
        // Two seconds of instant failures with a 1 s interval: at most two more attempts.
        #expect(gates <= 2, "\(gates) takeover attempts in 2 s")
        #expect(gates >= 1, "it must keep trying while the lease looks stale")
    }

    @Test("a node that starts while the database refuses connections reads once per interval, not in a loop")
    func startingReadBackoff() {
        var driver = Driver()  // interval 1 s
        driver.feed(.tick, at: 0)
        var readCount = 1
        var now = 1
        while now < 2_000 {
            readCount += reads(failOrTick(&driver, at: now))
            now += 1
        }
        // Two seconds of instant failures with a 1 s interval: the first read and one a second after it.
        #expect(readCount == 2, "\(readCount) reads in 2 s")
    }

    @Test("losing the race for a released lease: read again, then stand by; no loop of compare-and-sets")
    func lostRaceReadsAgain() {
        var driver = Driver()
        driver.feed(.tick, at: 0)
        #expect(hasGate(driver.answer(activeView(0, 0, holder: nil), at: 5)))
        if driver.callInFlight != nil { driver.answer(activeView(0, 0, holder: nil), at: 6) }
        driver.feed(.gateResult(veto: nil), at: 7)
        // The other node won epoch 1.
        let lost = driver.answer(.tookOver(newEpoch: nil), at: 8)
        #expect(lost.contains { if case .call(_, .observe) = $0 { return true } else { return false } })
        #expect(!hasGate(driver.answer(activeView(1, 0, holder: "a"), at: 9)))
        var attempts = 0
        var now = 10
        while now < 5000 {
            let actions =
                driver.callInFlight != nil
                ? driver.answer(activeView(1, Int64(now / 200), holder: "a"), at: now) : driver.feed(.tick, at: now)
            if actions.contains(where: { if case .call(_, .takeOver) = $0 { return true } else { return false } }) {
                attempts += 1
            }
            if hasGate(actions) { driver.feed(.gateResult(veto: nil), at: now) }
            now += 1
        }
        #expect(attempts == 0, "\(attempts) compare-and-sets against a live active")
        #expect(driver.machine.role == .standby)
    }

    @Test("a read that arrives while claiming and shows a new holder voids the claim")
    func readDuringClaim() {
        var driver = Driver()
        driver.feed(.tick, at: 0)
        #expect(hasGate(driver.answer(activeView(0, 0, holder: nil), at: 5)))
        // A notification starts a read; the gate passes while it is in flight.
        driver.feed(.notified, at: 6)
        let issued = driver.feed(.gateResult(veto: nil), at: 7)
        // The compare-and-set waits for the read in flight (one call at a time).
        #expect(!issued.contains { if case .call(_, .takeOver) = $0 { return true } else { return false } })
        #expect(driver.callInFlight == .observe(role: .standby, note: "pre-promote hook running"))
        let after = driver.answer(activeView(1, 0, holder: "a"), at: 8)
        #expect(!after.contains { if case .call(_, .takeOver) = $0 { return true } else { return false } })
        #expect(driver.machine.role == .standby)
    }

    @Test("a released lease is taken at once; rank 1 waits one interval more")
    func releasedAndRank() {
        var first = Driver()
        first.feed(.tick, at: 0)
        #expect(hasGate(first.answer(activeView(3, 0, holder: nil), at: 10)))

        var second = Driver()
        second.feed(.tick, at: 0)
        #expect(!hasGate(second.answer(activeView(3, 0, holder: nil, rank: 1), at: 10)))
        #expect(!hasGate(second.feed(.tick, at: 1009)))
        #expect(hasGate(second.feed(.tick, at: 1010)))
    }

    @Test("a lower-priority standby waits rank × interval after timeout")
    func rankDelaysTimeout() {
        var driver = Driver()
        driver.feed(.tick, at: 0)
        driver.answer(activeView(1, 5, rank: 2), at: 0)
        #expect(!watch(&driver, from: 500, until: 11_500, activeView(1, 5, rank: 2)))
        #expect(!hasGate(driver.feed(.tick, at: 11_999)))
        #expect(hasGate(driver.feed(.tick, at: 12_000)))
    }

    @Test("paused: no takeover however long; resume restarts the clock")
    func pauseAndResume() {
        var driver = Driver()
        driver.feed(.tick, at: 0)
        driver.answer(activeView(1, 5, paused: true), at: 0)
        for second in 1...30 {
            driver.feed(.tick, at: second * 1000)
            #expect(!hasGate(driver.answer(activeView(1, 5, paused: true), at: second * 1000)))
        }
        driver.feed(.tick, at: 31_000)
        driver.answer(activeView(1, 5, paused: false), at: 31_000)
        #expect(!watchUnchanged(&driver, from: 31_500, until: 40_500))
        #expect(!hasGate(driver.feed(.tick, at: 40_999)))
        #expect(hasGate(driver.feed(.tick, at: 41_000)))
    }

    @Test("a veto keeps the node standby, recorded with its reason, until the lease changes")
    func veto() {
        var driver = Driver()
        driver.feed(.tick, at: 0)
        driver.answer(activeView(1, 5), at: 0)
        #expect(!watchUnchanged(&driver, from: 500, until: 9500))
        #expect(hasGate(driver.feed(.tick, at: 10_000)))
        if driver.callInFlight != nil { driver.answer(activeView(1, 5), at: 10_000) }
        let actions = driver.feed(.gateResult(veto: "replica lag 40 s"), at: 10_100)
        #expect(recorded(actions, .vetoed))
        #expect(driver.machine.role == .standby)
        #expect(!watchUnchanged(&driver, from: 10_500, until: 30_000))
        if case .standby(let watch) = driver.machine.state {
            #expect(driver.machine.standbyNote(watch, now: .ms(30_000)).contains("replica lag 40 s"))
        } else {
            Issue.record("expected standby")
        }
    }
}

@Suite("Active: renew, fence, demote")
struct ActiveTests {
    /// A node that won epoch 2 with a takeover sent at 10 000 ms.
    static func activeDriver() -> Driver {
        var driver = Driver(interval: .seconds(1), timeout: .seconds(10))  // renewDeadline 7 s
        driver.feed(.tick, at: 0)
        driver.answer(activeView(1, 5), at: 0)
        driver.feed(.tick, at: 10_000)
        if driver.callInFlight != nil { driver.answer(activeView(1, 5), at: 10_000) }
        driver.feed(.gateResult(veto: nil), at: 10_000)
        let actions = driver.answer(.tookOver(newEpoch: 2), at: 10_050)
        #expect(actions.contains(.promote(epoch: 2)))
        return driver
    }

    @Test("winning the compare-and-set promotes and schedules the next renew one interval after the write")
    func promotes() {
        var driver = Self.activeDriver()
        #expect(driver.machine.isActive)
        #expect(driver.machine.nextWake == .ms(11_000))
        let actions = driver.feed(.tick, at: 11_000)
        #expect(actions.contains { if case .call(_, .renew(epoch: 2, _)) = $0 { return true } else { return false } })
    }

    @Test("self-fencing at renewDeadline counted from the start of the last successful renew")
    func fencesFromRenewStart() {
        var driver = Self.activeDriver()
        driver.feed(.tick, at: 11_000)  // renew sent at 11 000
        driver.answer(.renew(.renewed(counter: 1, paused: false, handoverTo: nil, standbyAge: 0.1)), at: 11_900)
        // Every later renew fails.
        var now = 12_000
        while now < 18_000 {
            if driver.callInFlight == nil {
                driver.feed(.tick, at: now)
            } else {
                driver.answer(.failed("timeout"), at: now)
            }
            #expect(driver.machine.isActive, "still active at \(now) ms")
            now += 250
        }
        // 11 000 + 7 000: the deadline counts from the send, not the 11 900 ack.
        let actions = driver.feed(.tick, at: 18_000)
        #expect(demotes(actions))
        #expect(recorded(actions, .fenced))
        #expect(!driver.machine.isActive)
    }

    @Test("fenced while the database refuses connections: a read at once after the demotion, then one per interval")
    func fencedReadBackoff() {
        var driver = Self.activeDriver()
        var now = 10_100
        var demoted = false
        while !demoted {
            demoted = demotes(failOrTick(&driver, at: now))
            now += 1
        }
        let after = driver.feed(.demotionFinished(steps: .array([])), at: now)
        #expect(reads(after) == 1)
        var readCount = 1
        let end = now + 2_000
        now += 1
        while now < end {
            readCount += reads(failOrTick(&driver, at: now))
            now += 1
        }
        // The read at the demotion and one a second after it.
        #expect(readCount == 2, "\(readCount) reads in 2 s after the demotion")
    }

    @Test("waking from a pause past the deadline demotes before acting on the stale result")
    func wakeAfterPause() {
        var driver = Self.activeDriver()
        driver.feed(.tick, at: 11_000)
        // SIGSTOP for 30 s: the renew's (successful) answer is only processed at 41 000.
        let actions = driver.answer(
            .renew(.renewed(counter: 1, paused: false, handoverTo: nil, standbyAge: 0)),
            at: 41_000
        )
        #expect(actions.first.map { if case .demote = $0 { return true } else { return false } } == true)
        #expect(!driver.machine.isActive)
        // No lease call is made until the demotion finished.
        #expect(!actions.contains { if case .call = $0 { return true } else { return false } })
        let after = driver.feed(.demotionFinished(steps: .array([])), at: 41_100)
        #expect(after.contains { if case .call(_, .observe) = $0 { return true } else { return false } })
    }

    @Test("a renew that matches no row demotes at once")
    func deposed() {
        var driver = Self.activeDriver()
        driver.feed(.tick, at: 11_000)
        let actions = driver.answer(.renew(.deposed), at: 11_010)
        #expect(demotes(actions))
        #expect(recorded(actions, .deposed))
    }

    @Test("graceful stop: demote, then release with the last renewed counter, then exit")
    func gracefulStop() {
        var driver = Self.activeDriver()
        driver.feed(.tick, at: 11_000)
        driver.answer(.renew(.renewed(counter: 9, paused: false, handoverTo: nil, standbyAge: 0)), at: 11_010)
        let stop = driver.feed(.shutdown, at: 11_500)
        #expect(demotes(stop))
        let after = driver.feed(.demotionFinished(steps: .array([])), at: 11_600)
        #expect(
            after.contains {
                if case .call(_, .release(epoch: 2, counter: 9)) = $0 { return true } else { return false }
            }
        )
        let done = driver.answer(.released(true), at: 11_610)
        #expect(done.contains(.exit))
        #expect(recorded(done, .released))
    }

    @Test("switchover: demote, then hand the lease over with the last renewed counter")
    func switchover() {
        var driver = Self.activeDriver()
        driver.feed(.tick, at: 11_000)
        let actions = driver.answer(
            .renew(.renewed(counter: 4, paused: false, handoverTo: "c", standbyAge: 0)),
            at: 11_010
        )
        #expect(demotes(actions))
        let after = driver.feed(.demotionFinished(steps: .array([])), at: 11_100)
        #expect(
            after.contains {
                if case .call(_, .handOff(to: "c", epoch: 2, counter: 4)) = $0 { return true } else { return false }
            }
        )
    }

    @Test("no standby seen for timeout raises ha-lost once; a standby seen again raises ha-restored")
    func haLostAndRestored() {
        var driver = Self.activeDriver()
        var lost = 0
        var now = 11_000
        while now <= 22_000 {
            driver.feed(.tick, at: now)
            let actions = driver.answer(
                .renew(.renewed(counter: 1, paused: false, handoverTo: nil, standbyAge: 50)),
                at: now + 5
            )
            if recorded(actions, .haLost) { lost += 1 }
            now += 1000
        }
        #expect(lost == 1)
        driver.feed(.tick, at: now)
        let back = driver.answer(
            .renew(.renewed(counter: 1, paused: false, handoverTo: nil, standbyAge: 0.5)),
            at: now + 5
        )
        #expect(recorded(back, .haRestored))
    }
}

@Suite("Named active: resume and hand-over")
struct ConfirmTests {
    @Test("a restarted node named active resumes only after its first renew succeeds")
    func resumeAfterRenew() {
        var driver = Driver(node: "a")
        driver.feed(.tick, at: 0)
        let named = driver.answer(activeView(4, 17, holder: "a"), at: 5)
        #expect(!named.contains { if case .promote = $0 { return true } else { return false } })
        #expect(named.contains { if case .call(_, .renew(epoch: 4, _)) = $0 { return true } else { return false } })
        let renewed = driver.answer(
            .renew(.renewed(counter: 18, paused: false, handoverTo: nil, standbyAge: 0)),
            at: 10
        )
        #expect(renewed.contains(.promote(epoch: 4)))
    }

    @Test("a restarted node whose renew is refused stays standby")
    func resumeRefused() {
        var driver = Driver(node: "a")
        driver.feed(.tick, at: 0)
        driver.answer(activeView(4, 17, holder: "a"), at: 5)
        let refused = driver.answer(.renew(.deposed), at: 10)
        #expect(!refused.contains { if case .promote = $0 { return true } else { return false } })
        #expect(driver.machine.role == .standby)
    }

    @Test("a standby named by a hand-off records handover-received at its first renew, then promotes")
    func handoverReceived() {
        var driver = Driver(node: "b")
        driver.feed(.tick, at: 0)
        driver.answer(activeView(4, 17, holder: "a"), at: 5)
        driver.feed(.notified, at: 100)
        driver.answer(activeView(5, 0, holder: "b"), at: 110)
        driver.feed(.tick, at: 111)
        let renewed = driver.answer(
            .renew(.renewed(counter: 1, paused: false, handoverTo: nil, standbyAge: 0)),
            at: 120
        )
        #expect(renewed.contains(.promote(epoch: 5)))
        #expect(recorded(renewed, .handoverReceived))
        let finished = driver.feed(.promotionFinished(steps: .array([])), at: 200)
        #expect(recorded(finished, .promoted))
    }

    @Test("a result of an older call is ignored")
    func staleResultIgnored() {
        var driver = Driver()
        driver.feed(.tick, at: 0)
        let stale = driver.feed(.leaseResult(id: 99, activeView(1, 5), startedAt: .ms(0)), at: 10)
        #expect(stale.isEmpty)
        #expect(driver.machine.callInFlight != nil)
    }
}

@Suite("Settings validation")
struct SettingsTests {
    @Test("defaults: renewDeadline is timeout - 3 × interval")
    func defaults() {
        let settings = FailoverSettings(cluster: "c", node: "n")
        #expect(settings.renewDeadline == .seconds(45))
        #expect(settings.problems().isEmpty)
    }

    @Test(
        "renewDeadline must lie strictly between interval and timeout, with room to demote",
        arguments: [
            (Duration.seconds(5), Duration.seconds(60), Duration.seconds(60), "heartbeat.renewDeadline"),
            (.seconds(5), .seconds(60), .seconds(70), "heartbeat.renewDeadline"),
            (.seconds(5), .seconds(60), .seconds(4), "heartbeat.renewDeadline"),
            (.seconds(5), .seconds(60), .milliseconds(59_950), "heartbeat.renewDeadline"),
            (.milliseconds(10), .seconds(3), .seconds(2), "heartbeat.interval"),
        ]
    )
    func rejects(interval: Duration, timeout: Duration, renewDeadline: Duration, key: String) {
        let problems = FailoverSettings(
            cluster: "c",
            node: "n",
            interval: interval,
            timeout: timeout,
            renewDeadline: renewDeadline
        )
        .problems()
        #expect(problems.contains { $0.hasPrefix(key) }, "\(problems)")
    }

    @Test("renewDeadline not written: a timeout too short for the interval is refused naming the keys written")
    func defaultDeadlineNamesTheWrittenKeys() {
        let short = FailoverSettings(cluster: "c", node: "n", interval: .seconds(5), timeout: .seconds(4))
            .problems(renewDeadlineIsDefault: true)
        #expect(short.count == 1, "\(short)")
        #expect(
            short.first?.hasPrefix("heartbeat.timeout: 4s is too short for heartbeat.interval 5s") == true,
            "\(short)"
        )
        #expect(short.first?.contains("would be −11s") == true, "\(short)")
        #expect(short.first?.contains("at least 20.001s or a heartbeat.interval of at most 999ms") == true, "\(short)")
        #expect(!short.contains { $0.hasPrefix("heartbeat.renewDeadline") }, "\(short)")
        // The least timeout the message names is accepted; one millisecond less is not.
        let least = FailoverSettings(cluster: "c", node: "n", interval: .seconds(5), timeout: .milliseconds(20_001))
        #expect(least.problems(renewDeadlineIsDefault: true).isEmpty)
        let under = FailoverSettings(cluster: "c", node: "n", interval: .seconds(5), timeout: .seconds(20))
        #expect(under.problems(renewDeadlineIsDefault: true).count == 1)
        // So is the longest interval it names.
        let longest = FailoverSettings(cluster: "c", node: "n", interval: .milliseconds(999), timeout: .seconds(4))
        #expect(longest.problems(renewDeadlineIsDefault: true).isEmpty)
        // Too short for any supported interval: only the timeout is offered.
        let tiny = FailoverSettings(cluster: "c", node: "n", interval: .milliseconds(100), timeout: .milliseconds(150))
            .problems(renewDeadlineIsDefault: true)
        #expect(tiny.first?.hasSuffix("use a heartbeat.timeout of at least 401ms") == true, "\(tiny)")
        // Written, the deadline keeps its own refusal.
        let written = FailoverSettings(
            cluster: "c",
            node: "n",
            interval: .seconds(5),
            timeout: .seconds(4),
            renewDeadline: .seconds(3)
        )
        .problems(renewDeadlineIsDefault: false)
        #expect(
            written.contains { $0.hasPrefix("heartbeat.renewDeadline: 3s must be longer than heartbeat.interval (5s)") }
        )
    }

    @Test("the benchmark's short settings are valid")
    func shortSettings() {
        #expect(
            FailoverSettings(cluster: "c", node: "n", interval: .milliseconds(500), timeout: .seconds(3)).problems()
                .isEmpty
        )
        #expect(
            FailoverSettings(cluster: "c", node: "n", interval: .milliseconds(200), timeout: .seconds(2)).problems()
                .isEmpty
        )
    }
}
