import Testing

@testable import FailoverController

/// The protocol's edges (issue 13): each test failed on the code before its fix.
@Suite("Edges: shutdown, stale counters, the gate, the takeover event")
struct EdgeTests {
    /// A standby that watched epoch 1 / counter 5 from 0 ms, now eligible at 10 000 ms with a fresh read.
    static func eligibleDriver() -> Driver {
        var driver = Driver()
        driver.feed(.tick, at: 0)
        driver.answer(activeView(1, 5), at: 0)
        #expect(!watchUnchanged(&driver, from: 500, until: 9500))
        return driver
    }

    @Test("a standby whose reads all fail never runs the pre-promote hook (item 5)")
    func noGateWithoutFreshRead() {
        var driver = Driver()
        driver.feed(.tick, at: 0)
        driver.answer(activeView(1, 5), at: 0)
        // Every read after the first fails: the lease looks stale, but nothing proves it.
        var gates = 0
        var now = 1000
        while now < 30_000 {
            let actions = failOrTick(&driver, at: now)
            if hasGate(actions) {
                gates += 1
                driver.feed(.gateResult(veto: nil), at: now)
            }
            now += 7
        }
        #expect(gates == 0, "\(gates) pre-promote runs without a successful read")
    }

    @Test("the gate runs only after a successful read no older than one interval (item 5)")
    func gateNeedsFreshRead() {
        var driver = Driver()
        driver.feed(.tick, at: 0)
        driver.answer(activeView(1, 5), at: 0)
        // Reads succeed until 5 s, then fail until 12 s.
        var now = 500
        while now <= 12_000 {
            let actions: [Machine.Action]
            if driver.callInFlight != nil {
                actions =
                    now <= 5_000 ? driver.answer(activeView(1, 5), at: now) : driver.answer(.failed("timeout"), at: now)
            } else {
                actions = driver.feed(.tick, at: now)
            }
            #expect(!hasGate(actions), "gate at \(now) ms without a fresh read")
            now += 250
        }
        // The next successful read (the counter still unchanged) lets the takeover go ahead.
        if driver.callInFlight == nil { driver.feed(.tick, at: 12_100) }
        #expect(hasGate(driver.answer(activeView(1, 5), at: 12_110)))
    }

    @Test("the takeover is recorded when the compare-and-set wins, before the promotion ends (item 6)")
    func takeoverRecordedAtWin() {
        var driver = Self.eligibleDriver()
        #expect(hasGate(driver.feed(.tick, at: 10_000)))
        if driver.callInFlight != nil { driver.answer(activeView(1, 5), at: 10_000) }
        driver.feed(.gateResult(veto: nil), at: 10_000)
        let won = driver.answer(.tookOver(newEpoch: 2), at: 10_050)
        #expect(won.contains(.promote(epoch: 2)))
        #expect(recorded(won, .takeover), "the takeover must be recorded at the win: \(won)")
        // A fence during the promotion: the takeover is not lost, and the promotion's end records its outcome only.
        let finished = driver.feed(.promotionFinished(steps: .array([])), at: 10_200)
        #expect(!recorded(finished, .takeover))
        #expect(recorded(finished, .promoted))
    }

    @Test("a hand-over received is recorded at the first renew, not at the promotion's end (item 6)")
    func handoverRecordedAtRenew() {
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
        #expect(recorded(renewed, .handoverReceived))
        let fenced = driver.feed(.shutdown, at: 130)
        #expect(demotes(fenced))
    }

    @Test("SIGTERM with a renew in flight: the release carries the counter that renew wrote (item 4)")
    func releaseAfterRenewInFlight() {
        var driver = ActiveTests.activeDriver()
        driver.feed(.tick, at: 11_000)
        driver.answer(.renew(.renewed(counter: 9, paused: false, handoverTo: nil, standbyAge: 0)), at: 11_010)
        driver.feed(.tick, at: 12_000)  // renew sent: it will write counter 10
        let stop = driver.feed(.shutdown, at: 12_001)
        #expect(demotes(stop))
        let finished = driver.feed(.demotionFinished(steps: .array([])), at: 12_002)
        // One call at a time: the release waits for the renew in flight.
        #expect(!finished.contains { if case .call = $0 { return true } else { return false } }, "\(finished)")
        let after = driver.answer(
            .renew(.renewed(counter: 10, paused: false, handoverTo: nil, standbyAge: 0)),
            at: 12_010
        )
        #expect(
            after.contains {
                if case .call(_, .release(epoch: 2, counter: 10)) = $0 { return true } else { return false }
            },
            "\(after)"
        )
    }

    // A guard, not a failing-first test: no renew can be in flight when a switchover starts (the renew
    // that carried `handoverTo` is the one that just returned); it passed before the change too.
    @Test("a switchover hands off with the counter of the renew that carried it (item 4)")
    func handOffAfterRenewInFlight() {
        var driver = ActiveTests.activeDriver()
        driver.feed(.tick, at: 11_000)
        driver.answer(.renew(.renewed(counter: 4, paused: false, handoverTo: "c", standbyAge: 0)), at: 11_010)
        let after = driver.feed(.demotionFinished(steps: .array([])), at: 11_100)
        #expect(
            after.contains {
                if case .call(_, .handOff(to: "c", epoch: 2, counter: 4)) = $0 { return true } else { return false }
            }
        )
    }

    @Test("SIGTERM while the compare-and-set is in flight: a won lease is released, not left to time out (item 11)")
    func shutdownWhileClaiming() {
        var driver = Self.eligibleDriver()
        #expect(hasGate(driver.feed(.tick, at: 10_000)))
        if driver.callInFlight != nil { driver.answer(activeView(1, 5), at: 10_000) }
        driver.feed(.gateResult(veto: nil), at: 10_000)
        let stop = driver.feed(.shutdown, at: 10_010)
        #expect(!stop.contains(.exit), "it must learn whether it won first")
        let won = driver.answer(.tookOver(newEpoch: 2), at: 10_050)
        #expect(!won.contains(.promote(epoch: 2)))
        #expect(
            won.contains {
                if case .call(_, .release(epoch: 2, counter: 0)) = $0 { return true } else { return false }
            },
            "\(won)"
        )
        let done = driver.answer(.released(true), at: 10_060)
        #expect(done.contains(.exit))
    }

    @Test("SIGTERM while confirming a lease that names this node: renew, then release with its counter (item 11)")
    func shutdownWhileConfirming() {
        var driver = Driver(node: "a")
        driver.feed(.tick, at: 0)
        driver.answer(activeView(4, 17, holder: "a"), at: 5)  // the renew is issued
        let stop = driver.feed(.shutdown, at: 6)
        #expect(!stop.contains(.exit))
        let renewed = driver.answer(
            .renew(.renewed(counter: 18, paused: false, handoverTo: nil, standbyAge: 0)),
            at: 10
        )
        #expect(!renewed.contains(.promote(epoch: 4)))
        #expect(
            renewed.contains {
                if case .call(_, .release(epoch: 4, counter: 18)) = $0 { return true } else { return false }
            },
            "\(renewed)"
        )
    }

    @Test("the first successful read records `started` once (item 11)")
    func startedRecorded() {
        var driver = Driver()
        driver.feed(.tick, at: 0)
        let first = driver.answer(activeView(1, 5), at: 5)
        #expect(recorded(first, .started))
        driver.feed(.tick, at: 1000)
        #expect(!recorded(driver.answer(activeView(1, 6), at: 1005), .started))
    }
}

@Suite("Serving deadline (issue 13 item 10)")
struct ServingDeadlineTests {
    @Test(
        "while active the machine exposes its fence deadline, counted from the last renew's start; none after the fence"
    )
    func servingUntilFollowsRenews() {
        var driver = ActiveTests.activeDriver()  // took over with a write sent at 10 000 ms; renewDeadline 7 s
        #expect(driver.machine.servingUntil == .ms(17_000))
        driver.feed(.tick, at: 11_000)
        driver.answer(.renew(.renewed(counter: 1, paused: false, handoverTo: nil, standbyAge: 0)), at: 11_400)
        #expect(driver.machine.servingUntil == .ms(18_000), "from the renew's start (11 000), not its answer")
        driver.feed(.tick, at: 18_000)
        #expect(driver.machine.servingUntil == nil)
    }

    @Test("ServingDeadline answers true only before its instant, false when unset")
    func deadlineObject() {
        let deadline = ServingDeadline()
        #expect(!deadline.isServing())
        let now = ContinuousClock.now
        deadline.set(now.advanced(by: .seconds(1)))
        #expect(deadline.isServing(at: now))
        #expect(!deadline.isServing(at: now.advanced(by: .seconds(1))))
        // Keyed to the epoch: a step of an older epoch's promotion is not serving in the new one.
        deadline.set(now.advanced(by: .seconds(1)), epoch: 7)
        #expect(deadline.isServing(epoch: 7, at: now))
        #expect(!deadline.isServing(epoch: 6, at: now))
        deadline.set(nil)
        #expect(!deadline.isServing(at: now))
    }
}

/// A step that only has a name, to check the plan's order.
struct NamedStep: RoleStep {
    var name: String
    func promote(_ context: RoleContext) async throws {}
    func demote(_ context: RoleContext) async throws {}
}

@Suite("PromotionPlan owns the order of the steps")
struct PromotionPlanTests {
    @Test("restore → service → address → name on promotion; the address goes first on demotion")
    func order() {
        let plan = PromotionPlan(
            restore: NamedStep(name: "restore"),
            service: NamedStep(name: "hooks"),
            address: NamedStep(name: "vip"),
            name: NamedStep(name: "dns")
        )
        #expect(plan.promotion.map(\.name) == ["restore", "hooks", "vip", "dns"])
        #expect(plan.demotion.map(\.name) == ["dns", "vip", "hooks", "restore"])
        let partial = PromotionPlan(service: NamedStep(name: "hooks"), address: NamedStep(name: "vip"))
        #expect(partial.demotion.map(\.name) == ["vip", "hooks"])
    }
}
