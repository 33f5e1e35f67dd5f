import Testing

@testable import FailoverController

/// Issue 18: the failsafe, decided by the state machine from inputs (renew answers, beats, members' replies), with a
/// manual clock. Interval 1 s, timeout 10 s, renewDeadline 7 s, failsafe.maxDuration 60 s.
func failsafeDriver(node: String = "b", maxDuration: Duration? = .seconds(60)) -> Driver {
    var driver = Driver(node: node)
    driver.machine = Machine(
        settings: FailoverSettings(
            cluster: "c",
            node: node,
            interval: .seconds(1),
            timeout: .seconds(10),
            failsafe: maxDuration.map { FailsafeSettings(maxDuration: $0, nonce: 7) }
        ),
        now: .ms(0)
    )
    return driver
}

func renewedRow(
    _ counter: Int64,
    members: [String]? = ["a"],
    maxDuration: Duration? = .seconds(60),
    desired: [String] = ["a"]
) -> LeaseResult {
    .renew(
        .renewed(
            counter: counter,
            paused: false,
            handoverTo: nil,
            standbyAge: 0.1,
            failsafe: FailsafeRow(
                members: members,
                maxDuration: maxDuration,
                desired: desired,
                addresses: ["a": "http://10.77.0.1:8008", "c": "http://10.77.0.3:8008"]
            )
        )
    )
}

func sentBeats(_ actions: [Machine.Action]) -> FailsafeSend? {
    for case .sendBeats(let send) in actions { return send }
    return nil
}

func answers(_ actions: [Machine.Action]) -> [FailsafeAnswer] {
    actions.compactMap { if case .answerBeat(_, let answer) = $0 { return answer } else { return nil } }
}

func event(_ actions: [Machine.Action], _ kind: ClusterEvent.Kind) -> ClusterEvent? {
    for case .record(let event) in actions where event.kind == kind { return event }
    return nil
}

/// Active in epoch 2 (takeover sent at 10 000), first renew at 11 000 answered with `row`; the renew at 12 000 fails
/// at 12 010: the first round starts then. Returns that round's beats.
func activeInFailsafe(_ driver: inout Driver, row: LeaseResult = renewedRow(1)) -> FailsafeSend? {
    makeActive(&driver)
    driver.feed(.tick, at: 11_000)
    driver.answer(row, at: 11_010)
    driver.feed(.tick, at: 12_000)
    return sentBeats(driver.answer(.failed("connection refused"), at: 12_010))
}

/// Acks round `send` from every member at `ms`.
@discardableResult
func ackAll(_ driver: inout Driver, _ send: FailsafeSend, at ms: Int) -> [Machine.Action] {
    var actions: [Machine.Action] = []
    for member in send.members {
        actions += driver.feed(
            .failsafeReply(round: send.beat.round, from: member.name, .answered(.ack(round: send.beat.round))),
            at: ms
        )
    }
    return actions
}

/// Ticks every `step` ms from `from` to `until`, failing any renew in flight and acking every round at once; returns
/// the last round's beats.
func rideThrough(_ driver: inout Driver, from: Int, until: Int, step: Int = 100, ack: Bool = true) -> [Machine.Action] {
    var all: [Machine.Action] = []
    var at = from
    while at <= until {
        var actions =
            driver.callInFlight != nil
            ? driver.answer(.failed("connection refused"), at: at) : driver.feed(.tick, at: at)
        if ack, let send = sentBeats(actions) { actions += ackAll(&driver, send, at: at) }
        all += actions
        at += step
    }
    return all
}

@Suite("Failsafe: the active rides through")
struct FailsafeActiveTests {
    @Test("a failed renew starts a round: failsafe-entered names the set, the beat goes to the member's address")
    func entersOnFailure() throws {
        var driver = failsafeDriver()
        let send = try #require(activeInFailsafe(&driver))
        #expect(send.beat == FailsafeBeat(cluster: "c", from: "b", epoch: 2, round: "7-1"))
        #expect(send.members.map(\.name) == ["a"])
        #expect(send.members.map(\.address) == ["http://10.77.0.1:8008"])
        #expect(driver.machine.status(now: .ms(12_010)).failsafe != nil)
    }

    @Test(
        "every member acks every round: still active long past renewDeadline; without acks it fences at renewDeadline"
    )
    func ridesThroughWithAcks() {
        var driver = failsafeDriver()
        _ = activeInFailsafe(&driver)
        let actions = rideThrough(&driver, from: 12_100, until: 40_000)
        #expect(!demotes(actions))
        #expect(driver.machine.isActive, "11 000 + 7 s = 18 000 would fence without the failsafe")

        var without = failsafeDriver()
        _ = activeInFailsafe(&without)
        let unacked = rideThrough(&without, from: 12_100, until: 18_100, ack: false)
        #expect(demotes(unacked))
        #expect(!without.machine.isActive)
        #expect(event(unacked, .failsafeLeft)?.detail["how"] == "fenced")
    }

    @Test("the deadline counts from the acked round's start, not from the ack's arrival")
    func extendsFromRoundStart() throws {
        var driver = failsafeDriver()
        let send = try #require(activeInFailsafe(&driver))  // round 1 started at 12 010
        ackAll(&driver, send, at: 12_900)  // arrives late, but before the next round
        // No more acks: the deadline is 12 010 + 7 s = 19 010, not 12 900 + 7 s.
        _ = rideThrough(&driver, from: 13_000, until: 19_000, ack: false)
        #expect(driver.machine.isActive)
        #expect(driver.machine.servingUntil == .ms(19_010))
        #expect(demotes(driver.feed(.tick, at: 19_010)))
    }

    @Test("an ack of an earlier round counts for nothing; a partial round extends nothing")
    func staleAndPartialAcks() throws {
        var driver = failsafeDriver()
        let row = renewedRow(1, members: ["a", "c"], desired: ["a", "c"])
        let first = try #require(activeInFailsafe(&driver, row: row))
        #expect(first.members.map(\.name) == ["a", "c"])
        // Round 2 starts at 13 010; round 1's acks arrive after it.
        let second = try #require(sentBeats(driver.feed(.tick, at: 13_010)))
        #expect(second.beat.round == "7-2")
        ackAll(&driver, first, at: 13_020)
        // Only a acks round 2.
        driver.feed(.failsafeReply(round: second.beat.round, from: "a", .answered(.ack(round: "7-2"))), at: 13_030)
        #expect(driver.machine.servingUntil == .ms(18_000), "11 000 + 7 s: nothing extended")
        // A reply from a node outside the set counts for nothing either.
        driver.feed(.failsafeReply(round: second.beat.round, from: "z", .answered(.ack(round: "7-2"))), at: 13_040)
        #expect(driver.machine.servingUntil == .ms(18_000))
        driver.feed(.failsafeReply(round: second.beat.round, from: "c", .answered(.ack(round: "7-2"))), at: 13_050)
        #expect(driver.machine.servingUntil == .ms(20_010), "round 2 started at 13 010")
    }

    @Test("failsafe.maxDuration caps the ride-through: fenced 60 s after the last successful renew's start")
    func cap() {
        var driver = failsafeDriver()
        _ = activeInFailsafe(&driver)
        let before = rideThrough(&driver, from: 12_100, until: 70_900)
        #expect(!demotes(before))
        let at = driver.feed(.tick, at: 71_000)
        #expect(demotes(at))
        let reason = event(at, .fenced)?.detail["reason"]?.description ?? ""
        #expect(reason.contains("failsafe.maxDuration"))
        #expect(event(at, .failsafeLeft)?.detail["how"] == "fenced at failsafe.maxDuration")
    }

    @Test("a member that knows a newer epoch says no: the active fences at once")
    func newerEpochFences() throws {
        var driver = failsafeDriver()
        let send = try #require(activeInFailsafe(&driver))
        let actions = driver.feed(
            .failsafeReply(
                round: send.beat.round,
                from: "a",
                .answered(.no(epoch: 3, reason: "a saw epoch 3, held by c"))
            ),
            at: 12_100
        )
        #expect(demotes(actions))
        #expect(event(actions, .fenced) != nil)
        // A "no" that names the same epoch (a member that is itself confused) does not fence.
        var other = failsafeDriver()
        let round = try #require(activeInFailsafe(&other))
        let same = other.feed(
            .failsafeReply(round: round.beat.round, from: "a", .answered(.no(epoch: 2, reason: "a is demoting"))),
            at: 12_100
        )
        #expect(!demotes(same))
    }

    @Test("the first successful renew ends the failsafe: failsafe-left with its duration")
    func leavesOnRenew() throws {
        var driver = failsafeDriver()
        let send = try #require(activeInFailsafe(&driver))
        ackAll(&driver, send, at: 12_050)
        driver.feed(.tick, at: 13_000)
        let actions = driver.answer(renewedRow(2), at: 13_020)
        let left = try #require(event(actions, .failsafeLeft))
        #expect(left.detail["how"] == "renewed")
        #expect(left.detail["seconds"] == .number(1.01))
        #expect(driver.machine.status(now: .ms(13_020)).failsafe == nil)
    }

    @Test("no rounds with the failsafe off, or when the row does not use it (members NULL)")
    func offOrUnused() {
        var off = failsafeDriver(maxDuration: nil)
        #expect(activeInFailsafe(&off, row: renewedRow(1)) == nil)
        #expect(demotes(rideThrough(&off, from: 12_100, until: 18_000)))

        var unused = failsafeDriver()
        #expect(activeInFailsafe(&unused, row: renewedRow(1, members: nil, maxDuration: nil)) == nil)
        #expect(demotes(rideThrough(&unused, from: 12_100, until: 18_000)))
    }

    @Test("no other node registered: every round counts as acknowledged (nobody can take over before the cap)")
    func emptySet() {
        var driver = failsafeDriver()
        #expect(activeInFailsafe(&driver, row: renewedRow(1, members: [], desired: [])) == nil)
        let actions = rideThrough(&driver, from: 12_100, until: 40_000, ack: false)
        #expect(!demotes(actions))
        #expect(driver.machine.isActive)
    }

    @Test("a renew that is only slow (in flight for an interval) starts rounds too")
    func overdueRenew() {
        var driver = failsafeDriver()
        makeActive(&driver)
        driver.feed(.tick, at: 11_000)
        driver.answer(renewedRow(1), at: 11_010)
        driver.feed(.tick, at: 12_000)  // renew sent, no answer
        #expect(sentBeats(driver.feed(.tick, at: 12_900)) == nil)
        #expect(driver.machine.nextWake == .ms(13_000))
        #expect(sentBeats(driver.feed(.tick, at: 13_000)) != nil)
    }
}

@Suite("Failsafe: membership")
struct FailsafeMembershipTests {
    @Test("the active changes members with a counter-checked call; while its answer is missing both sets count")
    func unsettledChangeJoinsTheSet() throws {
        var driver = failsafeDriver()
        makeActive(&driver)
        driver.feed(.tick, at: 11_000)
        driver.answer(renewedRow(1, members: ["a"], desired: ["a", "c"]), at: 11_010)
        driver.feed(.tick, at: 12_000)
        guard case .changeMembers(2, 1, let members, let cap, _)? = driver.callInFlight else {
            Issue.record("expected a membership change, got \(String(describing: driver.callInFlight))")
            return
        }
        #expect(members == ["a", "c"])
        #expect(cap == .seconds(60))
        // It fails: unsettled. The round's set holds both the old and the new members.
        let send = try #require(sentBeats(driver.answer(.failed("timeout"), at: 12_900)))
        #expect(send.members.map(\.name) == ["a", "c"])
        // No second change while one is unsettled: the next call is a plain renew.
        driver.feed(.tick, at: 13_000)
        #expect(driver.callInFlight == .renew(epoch: 2, report: driver.machine.report(now: .ms(13_000))))
    }

    @Test("a change that matched no row is settled; the next renew decides")
    func notApplied() {
        var driver = failsafeDriver()
        makeActive(&driver)
        driver.feed(.tick, at: 11_000)
        driver.answer(renewedRow(1, members: ["a"], desired: []), at: 11_010)
        driver.feed(.tick, at: 12_000)
        #expect(driver.callInFlight?.name == "members")
        driver.answer(.renew(.notApplied), at: 12_010)
        #expect(driver.machine.isActive)
        driver.feed(.tick, at: 13_000)
        #expect(driver.callInFlight?.name == "members", "settled, so the change is tried again")
    }

    @Test("with the failsafe off the active clears members the row still has")
    func offClears() {
        var driver = failsafeDriver(maxDuration: nil)
        makeActive(&driver)
        driver.feed(.tick, at: 11_000)
        driver.answer(renewedRow(1), at: 11_010)
        driver.feed(.tick, at: 12_000)
        guard case .changeMembers(_, _, nil, nil, _)? = driver.callInFlight else {
            Issue.record("expected a change to NULL, got \(String(describing: driver.callInFlight))")
            return
        }
    }
}

@Suite("Failsafe: a standby receives beats")
struct FailsafeStandbyTests {
    func beat(_ round: Int, epoch: Int64 = 1, from: String = "a") -> Machine.Input {
        .failsafeBeat(id: round, FailsafeBeat(cluster: "c", from: from, epoch: epoch, round: "9-\(round)"))
    }

    @Test("a beat from the holder restarts the takeover timer at its arrival and is acked")
    func beatDelaysTakeover() {
        var driver = failsafeDriver()
        driver.feed(.tick, at: 0)
        driver.answer(activeView(1, 5), at: 0)
        var round = 0
        // Reads keep showing counter 5 (the active cannot renew); beats arrive every second until 20 000.
        for at in stride(from: 1_000, through: 20_000, by: 1_000) {
            if driver.callInFlight != nil { driver.answer(activeView(1, 5), at: at) }
            round += 1
            let actions = driver.feed(beat(round), at: at + 500)
            #expect(answers(actions) == [.ack(round: "9-\(round)")])
            #expect(!hasGate(actions))
        }
        // Beats stop; the last arrived at 20 500: no takeover before 30 500.
        var gateAt: Int?
        for at in stride(from: 21_000, through: 31_000, by: 100) {
            let actions =
                driver.callInFlight != nil ? driver.answer(activeView(1, 5), at: at) : driver.feed(.tick, at: at)
            if hasGate(actions) && gateAt == nil { gateAt = at }
        }
        #expect(gateAt == 30_500)
    }

    @Test("failsafe-peer: a standby that reads the database and gets beats records it once")
    func peerEventOnce() {
        var driver = failsafeDriver()
        driver.feed(.tick, at: 0)
        driver.answer(activeView(1, 5), at: 0)
        let first = driver.feed(beat(1), at: 500)
        #expect(event(first, .failsafePeer)?.detail["active"] == "a")
        driver.feed(.tick, at: 1_000)
        driver.answer(activeView(1, 5), at: 1_010)
        #expect(event(driver.feed(beat(2), at: 1_500), .failsafePeer) == nil)
    }

    @Test("refused: an older epoch gets no (with the newer one), another sender in the same epoch, a replayed round")
    func refusals() {
        var driver = failsafeDriver()
        driver.feed(.tick, at: 0)
        driver.answer(activeView(3, 5, holder: "c"), at: 0)
        #expect(
            answers(driver.feed(beat(1, epoch: 2, from: "a"), at: 100)) == [
                .no(epoch: 3, reason: "b saw epoch 3, held by c")
            ]
        )
        guard case .refused(let reason)? = answers(driver.feed(beat(2, epoch: 3, from: "a"), at: 200)).first else {
            Issue.record("a beat from a node that does not hold the epoch must be refused")
            return
        }
        #expect(reason.contains("the lease names c"))
        #expect(answers(driver.feed(beat(3, epoch: 3, from: "c"), at: 300)) == [.ack(round: "9-3")])
        guard case .refused(let replay)? = answers(driver.feed(beat(3, epoch: 3, from: "c"), at: 400)).first else {
            Issue.record("a replayed round must be refused")
            return
        }
        #expect(replay.contains("replayed"))
    }

    @Test("an active node says no with its epoch")
    func activeSaysNo() {
        var driver = failsafeDriver()
        makeActive(&driver)
        #expect(
            answers(driver.feed(beat(1, epoch: 1, from: "a"), at: 10_500)) == [.no(epoch: 2, reason: "b holds epoch 2")]
        )
    }

    /// The first instant (ms) a standby whose reads always show `members` starts a takeover, reading every second.
    func firstTakeover(members: [String], until: Int) -> Int? {
        var driver = failsafeDriver()
        let view = LeaseResult.observed(
            LeaseView(epoch: 1, activeNode: "a", counter: 5, members: members, failsafeMax: .seconds(60))
        )
        driver.feed(.tick, at: 0)
        driver.answer(view, at: 0)
        for at in stride(from: 1_000, through: until, by: 1_000) {
            let actions = driver.callInFlight != nil ? driver.answer(view, at: at) : driver.feed(.tick, at: at)
            if hasGate(actions) { return at }
        }
        return nil
    }

    @Test("a node the lease does not list as a member waits the holder's cap plus timeout; a member waits timeout")
    func nonMemberWaits() {
        #expect(firstTakeover(members: ["c"], until: 71_000) == 70_000, "60 s cap + 10 s timeout after the first read")
        #expect(firstTakeover(members: ["b"], until: 11_000) == 10_000)
    }
}

/// The failsafe row a takeover answers with: the members it wrote, the cap, the addresses.
func takeoverRow(_ members: [String]) -> FailsafeRow {
    FailsafeRow(
        members: members,
        maxDuration: .seconds(60),
        desired: members,
        addresses: ["a": "http://10.77.0.1:8008", "c": "http://10.77.0.3:8008"]
    )
}

/// Takes over from a standby at `ms` (the counter of epoch `epoch` - 1 unchanged since `ms` - timeout), answered
/// with `row`, and finishes the promotion.
func takeOver(_ driver: inout Driver, seenEpoch: Int64, holder: String, at ms: Int, row: FailsafeRow?) {
    driver.feed(.checked(CheckReport(role: .standby, passed: true)), at: ms - 10_000)
    driver.feed(.tick, at: ms - 10_000)
    if driver.callInFlight != nil { driver.answer(activeView(seenEpoch, 5, holder: holder), at: ms - 10_000) }
    driver.feed(.tick, at: ms)
    if driver.callInFlight != nil { driver.answer(activeView(seenEpoch, 5, holder: holder), at: ms) }
    driver.feed(.gateResult(veto: nil), at: ms)
    // A read sent while the gate ran goes first; the compare-and-set follows its answer.
    if case .observe? = driver.callInFlight { driver.answer(activeView(seenEpoch, 5, holder: holder), at: ms) }
    guard case .takeOver? = driver.callInFlight else {
        Issue.record("no takeover in flight: \(String(describing: driver.callInFlight))")
        return
    }
    driver.answer(.tookOver(newEpoch: seenEpoch + 1, failsafe: row), at: ms + 50)
    driver.feed(.promotionFinished(steps: .array([])), at: ms + 100)
}

/// Epoch 2: b takes over, its first renew answers `members`; then another node takes epoch 3 and b is deposed and
/// stands by again.
func heldThenDeposed(_ driver: inout Driver, members: [String]) {
    takeOver(&driver, seenEpoch: 1, holder: "a", at: 10_000, row: takeoverRow(["a"]))
    driver.feed(.tick, at: 11_000)
    driver.answer(renewedRow(1, members: members, desired: members), at: 11_010)
    driver.feed(.tick, at: 12_000)
    #expect(demotes(driver.answer(.renew(.deposed), at: 12_010)))
    driver.feed(.demotionFinished(steps: .array([])), at: 12_100)
    #expect(!driver.machine.isActive)
}

@Suite("Failsafe: from the takeover on")
struct FailsafeTakeoverTests {
    @Test("the takeover's answer puts the failsafe in use: a failed first renew starts a round to the members it wrote")
    func inUseFromTheTakeover() throws {
        var driver = failsafeDriver()
        takeOver(&driver, seenEpoch: 1, holder: "a", at: 10_000, row: takeoverRow(["a"]))
        #expect(driver.machine.isActive)
        driver.feed(.tick, at: 11_000)
        let send = try #require(
            sentBeats(driver.answer(.failed("connection refused"), at: 11_010)),
            "no round before the first renew answered: the failsafe waited for it"
        )
        #expect(send.beat.epoch == 2)
        #expect(send.members.map(\.name) == ["a"])
        #expect(send.members.map(\.address) == ["http://10.77.0.1:8008"])
    }

    @Test("a takeover without the failsafe (no members written): a failed first renew starts no round")
    func notInUseWithoutMembers() {
        var driver = failsafeDriver()
        takeOver(
            &driver,
            seenEpoch: 1,
            holder: "a",
            at: 10_000,
            row: FailsafeRow(members: nil, maxDuration: nil)
        )
        driver.feed(.tick, at: 11_000)
        #expect(sentBeats(driver.answer(.failed("connection refused"), at: 11_010)) == nil)
    }

    @Test(
        "a new epoch's rounds go to the members its takeover wrote, never to those of an epoch this node held before"
    )
    func noRowFromAnEarlierEpoch() throws {
        var driver = failsafeDriver()
        // Epoch 2 with members [a]; c takes epoch 3.
        heldThenDeposed(&driver, members: ["a"])
        // Epoch 4: c stopped renewing; b takes over and writes members [a, c].
        takeOver(&driver, seenEpoch: 3, holder: "c", at: 30_000, row: takeoverRow(["a", "c"]))
        #expect(driver.machine.isActive)
        driver.feed(.tick, at: 31_000)
        let send = try #require(sentBeats(driver.answer(.failed("connection refused"), at: 31_010)))
        #expect(send.beat.epoch == 4)
        #expect(send.members.map(\.name) == ["a", "c"], "epoch 2's members were [a]")
    }

    @Test(
        "two nodes: an earlier epoch whose members were [] (a was dropped) does not make the new epoch ride alone"
    )
    func noEmptySetFromAnEarlierEpoch() throws {
        var driver = failsafeDriver()
        // Epoch 2 with members []: a was not seen, a membership change dropped it.
        heldThenDeposed(&driver, members: [])
        // Epoch 4: a held epoch 3 and stopped renewing; b takes over, and its takeover makes a a member again.
        takeOver(&driver, seenEpoch: 3, holder: "a", at: 30_000, row: takeoverRow(["a"]))
        driver.feed(.tick, at: 31_000)
        let actions = driver.answer(.failed("connection refused"), at: 31_010)
        // With epoch 2's empty set the round would count as acked at once (nobody else can take over), while a,
        // a member of epoch 4, may take over a timeout after the counter last moved.
        let send = try #require(sentBeats(actions), "no beat: the round counted as acked by an empty set")
        #expect(send.members.map(\.name) == ["a"])
    }
}
