import Testing

@testable import FailoverController

func prepares(_ actions: [Machine.Action]) -> Bool {
    actions.contains { if case .prepareTakeover = $0 { return true } else { return false } }
}

/// `prepareTakeover` (issue 16, item 5): `takeoverLead` before a timeout deadline, once per deadline; the takeover
/// of that lease promotes with `prepared`.
@Suite("Standby: preparing a takeover ahead of its deadline")
struct PrepareTakeoverTests {
    /// interval 1 s, timeout 10 s (renewDeadline 7 s), a lead of 500 ms; the counter first seen at 100 ms.
    static func driver(lead: Duration? = .milliseconds(500)) -> Driver {
        var driver = Driver()
        driver.machine = Machine(
            settings: FailoverSettings(
                cluster: "c",
                node: "b",
                interval: .seconds(1),
                timeout: .seconds(10),
                takeoverLead: lead
            ),
            now: .ms(0)
        )
        driver.feed(.tick, at: 0)
        driver.answer(activeView(1, 5), at: 100)
        for second in 1...9 {
            #expect(!prepares(driver.feed(.tick, at: second * 1000)))
            #expect(!prepares(driver.answer(activeView(1, 5), at: second * 1000 + 5)))
        }
        return driver
    }

    @Test("prepared exactly at deadline - lead, once; the takeover of that lease promotes with prepared")
    func preparedOnceAtTheLead() {
        var driver = Self.driver()
        #expect(driver.machine.nextWake == .ms(9600))
        #expect(!prepares(driver.feed(.tick, at: 9599)))
        let actions = driver.feed(.tick, at: 9600)
        #expect(actions.contains(.prepareTakeover(LeaseView(epoch: 1, activeNode: "a", counter: 5, paused: false))))
        #expect(!hasGate(actions))
        #expect(!prepares(driver.feed(.tick, at: 9700)), "once per deadline")
        #expect(driver.machine.nextWake == .ms(10_000))
        driver.feed(.tick, at: 10_000)
        driver.answer(activeView(1, 5), at: 10_005)
        #expect(hasGate(driver.feed(.tick, at: 10_100)))
        driver.feed(.gateResult(veto: nil), at: 10_101)
        let won = driver.answer(.tookOver(newEpoch: 2), at: 10_102)
        #expect(won.contains(.promote(epoch: 2, prepared: true)))
    }

    @Test("a counter that moves again moves the preparation with the deadline; the old one is not reused")
    func counterMovesAfterPreparing() {
        var driver = Self.driver()
        #expect(prepares(driver.feed(.tick, at: 9600)))
        driver.feed(.tick, at: 10_000)
        driver.answer(activeView(1, 6), at: 10_005)  // the active came back: due at 20 005, prepared at 19 505
        var now = 11_000
        while now <= 19_000 {
            #expect(!prepares(driver.feed(.tick, at: now)))
            #expect(!prepares(driver.answer(activeView(1, 6), at: now + 5)))
            now += 1000
        }
        #expect(prepares(driver.feed(.tick, at: 19_505)))
    }

    @Test("no lead, a released lease, or a lead that does not fit the margin: nothing is prepared")
    func nothingToPrepare() {
        var none = Self.driver(lead: nil)
        #expect(none.machine.nextWake == .ms(10_000))
        #expect(!prepares(none.feed(.tick, at: 9600)))
        // renewDeadline 7 s leaves 3 s; less the 1 s margin, 2 s: a lead of 2.5 s would probe while a holder cut
        // off from the database may still hold the address.
        var long = Self.driver(lead: .milliseconds(2500))
        #expect(!prepares(long.feed(.tick, at: 9700)))
        // A released lease is taken at once: no deadline to look ahead to.
        var released = Self.driver()
        released.feed(.notified, at: 9200)
        #expect(!prepares(released.answer(activeView(2, 0, holder: nil), at: 9205)))
        #expect(!prepares(released.feed(.tick, at: 9600)))
    }
}
