import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

private func format(_ seconds: Double) -> String { String(format: "%.2f s", seconds) }

extension IntegrationSuite {
    /// Issue 18 in the namespace lab: PostgreSQL in `db`, the nodes in `a` and `b`, a client in `c` pinging the VIP
    /// every 10 ms and sampling its holders every 10 ms (no sample may have two). heartbeat.interval 200ms, timeout
    /// 2s, renewDeadline 1.4s; failsafe on both nodes unless a test says otherwise.
    @Suite(
        "Failsafe in the namespace lab (real database outages, real beats, as root)",
        .enabled(if: VIPLab.unavailableReason == nil, Comment(rawValue: VIPLab.unavailableReason ?? ""))
    )
    struct FailsafeLabTests {
        static let events = ["failsafe-entered", "failsafe-left", "failsafe-peer", "fenced", "takeover"]

        /// Starts the pair with the failsafe (or not), waits until the lease lists b as a member, then runs `body`
        /// with the holder sampler and the pinger running; asserts no double holder.
        static func withFailsafePair(
            _ name: String,
            enabled: Bool = true,
            maxDuration: String = "30s",
            _ body: (VIPLab, HolderSampler, VIPPinger) async throws -> Void
        ) async throws {
            let extra = { (node: String) in
                VIPLab.failsafeYAML(node, enabled: enabled, maxDuration: maxDuration) + labAlertsYAML(Self.events)
            }
            try await withVIPLab(name, extra: ["a": extra("a"), "b": extra("b")]) { lab in
                let sampler = HolderSampler(lab: lab)
                let pinger = VIPPinger(lab: lab)
                sampler.start()
                defer {
                    sampler.stop()
                    pinger.stop()
                }
                try await lab.startPair()
                if enabled {
                    let member = await lab.waitUntil(.seconds(5)) { await lab.members() == ["b"] }
                    try #require(member != nil, "the lease never listed b as a member:\n\(lab.logs())")
                }
                try pinger.start()
                try await Task.sleep(for: .milliseconds(300))
                try await body(lab, sampler, pinger)
                #expect(sampler.doubleSamples == 0, "two holders in \(sampler.doubleSamples) samples")
                print("[\(lab.prefix)] \(sampler.summary)")
            }
        }

        @Test(
            "PostgreSQL stopped for 4.5 × timeout, failsafe on: the active keeps the VIP (no ping lost), no takeover; failsafe-entered and failsafe-left recorded in that order and mailed"
        )
        func databaseStopped() async throws {
            try await Self.withFailsafePair("fsdb") { lab, sampler, pinger in
                let stopped = now()
                try lab.stopDatabase()
                try await Task.sleep(for: .seconds(6))
                let status = await lab.httpStatus(of: "a")
                let node = status?["node"] as? [String: Any]
                #expect(node?["role"] as? String == "active", "\(status ?? [:])")
                #expect((node?["failsafe"] as? String)?.contains("members b") == true, "\(node ?? [:])")
                let during = now()
                let gap = pinger.longestGap(from: stopped, to: during)
                print("database stopped 6 s: the longest time without a ping reply \(format(gap.gap))")
                #expect(gap.gap < 0.5, "the client lost pings for \(format(gap.gap))")
                #expect(sampler.samples.filter { $0.time > stopped }.allSatisfy { $0.holders == ["a"] })
                // 9 s in all: the spool's drain (every 5 s) has failed twice, so failsafe-entered is still spooled
                // when failsafe-left is recorded after the restart.
                try await Task.sleep(for: .seconds(3))
                #expect(sampler.samples.filter { $0.time > stopped }.allSatisfy { $0.holders == ["a"] })
                try lab.restartDatabase()
                let recorded = await lab.waitUntil(.seconds(15)) {
                    let kinds = await lab.eventKinds()
                    return kinds.contains("failsafe-entered") && kinds.contains("failsafe-left")
                }
                let kinds = await lab.eventKinds()
                #expect(recorded != nil, "events: \(kinds)\n\(lab.logs())")
                // The event log keeps a's order: entered (spooled during the outage) before left.
                if let entered = kinds.firstIndex(of: "failsafe-entered"),
                    let left = kinds.firstIndex(of: "failsafe-left")
                {
                    #expect(entered < left, "event log order (oldest first): \(kinds)")
                }
                #expect(kinds.filter { $0 == "takeover" }.count == 1, "only a's first takeover: \(kinds)")
                #expect(!kinds.contains("fenced"), "\(kinds)")
                let mailed = await lab.waitUntil(.seconds(15)) {
                    let mails = lab.mails()
                    return mails.contains { $0.contains("rides through on failsafe") }
                        && mails.contains { $0.contains("left the failsafe: renewed") }
                }
                #expect(mailed != nil, "mails: \(lab.mails().map { $0.prefix(300) })")
            }
        }

        @Test("PostgreSQL stopped, failsafe off: today's behaviour, the active fences at renewDeadline")
        func databaseStoppedWithoutFailsafe() async throws {
            try await Self.withFailsafePair("fsoff", enabled: false) { lab, sampler, _ in
                let stopped = now()
                try lab.stopDatabase()
                let released = await lab.waitUntil(.seconds(5)) { lab.holdersSync().isEmpty }
                let at = try #require(released, "a kept the VIP without the failsafe:\n\(lab.logs())")
                print("failsafe off: a released the VIP \(format(at - stopped)) after the database stopped")
                #expect(at - stopped <= 1.4 + 1.0)
                try lab.restartDatabase()
                _ = sampler
            }
        }

        @Test(
            "the active cut off from the database only: no takeover, the VIP stays; the standby records failsafe-peer"
        )
        func activeCutFromDatabase() async throws {
            try await Self.withFailsafePair("fscut") { lab, sampler, pinger in
                let cut = now()
                try await lab.cut("a", from: ["db"])
                try await Task.sleep(for: .seconds(6))
                let gap = pinger.longestGap(from: cut, to: now())
                #expect(gap.gap < 0.5, "the client lost pings for \(format(gap.gap))")
                #expect(sampler.samples.filter { $0.time > cut }.allSatisfy { $0.holders == ["a"] })
                let kinds = await lab.eventKinds(from: "b")
                #expect(kinds.contains("failsafe-peer"), "\(kinds)\n\(lab.logs())")
                #expect(kinds.filter { $0 == "failsafe-peer" }.count == 1, "\(kinds)")
                #expect(kinds.filter { $0 == "takeover" }.count == 1, "\(kinds)")
                let row = await lab.nodeRow("b", from: "b")
                #expect(row?["role"] as? String == "standby", "\(row ?? [:])")
            }
        }

        @Test(
            "the active cut off from the database and the standby: it fences at renewDeadline, the standby takes over after timeout"
        )
        func activeCutFromAll() async throws {
            try await Self.withFailsafePair("fsall") { lab, sampler, _ in
                let cut = now()
                try await lab.cut("a", from: ["db", "b"])
                let released = await lab.waitUntil(.seconds(5)) { !lab.holdersSync().contains("a") }
                let releasedAt = try #require(released, "a kept the VIP:\n\(lab.logs())")
                let taken = await lab.waitUntil(.seconds(8)) { lab.holdersSync() == ["b"] }
                let takenAt = try #require(taken, "b never took over:\n\(lab.logs())")
                print(
                    "cut from all: a released after \(format(releasedAt - cut)), b bound after \(format(takenAt - cut))"
                )
                #expect(releasedAt - cut <= 1.4 + 1.0)
                #expect(takenAt - cut <= 2.0 + 2.0)
                _ = sampler
            }
        }

        @Test("the standby dead and the database down: no member can ack, the active fences")
        func standbyDeadAndDatabaseDown() async throws {
            try await Self.withFailsafePair("fsdead") { lab, _, _ in
                lab.daemon("b").signal(SIGKILL)
                let stopped = now()
                try lab.stopDatabase()
                let released = await lab.waitUntil(.seconds(5)) { lab.holdersSync().isEmpty }
                let at = try #require(released, "a kept the VIP with no member to ack:\n\(lab.logs())")
                #expect(at - stopped <= 1.4 + 1.0)
                try lab.restartDatabase()
            }
        }

        @Test(
            "refused, logged: a beat signed with another token (403), one from a node that does not hold the epoch, one of an older epoch (no, with the newer epoch), a replayed round"
        )
        func refusals() async throws {
            try await Self.withFailsafePair("fsrefuse") { lab, _, _ in
                let epoch = try #require((await lab.statusJSON())?["epoch"] as? Int64)
                let wrong = lab.directory + "/wrong.token"
                _ = FileManager.default.createFile(
                    atPath: wrong,
                    contents: Data("another-token-0123456789".utf8),
                    attributes: [.posixPermissions: 0o600]
                )
                let token = lab.directory + "/failsafe.token"
                let forged = try await lab.postBeat(to: "b", from: "a", epoch: epoch, round: "x-1", tokenFile: wrong)
                #expect(forged.status == 403, "\(forged)")
                #expect(forged.body.contains("signature"), "\(forged)")
                let stranger = try await lab.postBeat(to: "b", from: "zz", epoch: epoch, round: "x-2", tokenFile: token)
                #expect(stranger.status == 200)
                #expect(stranger.body.contains("refused") && stranger.body.contains("does not hold"), "\(stranger)")
                let old = try await lab.postBeat(to: "b", from: "a", epoch: epoch - 1, round: "x-3", tokenFile: token)
                // The answer's payload is JSON text inside the signed envelope, so its quotes arrive escaped.
                #expect(old.body.contains(#"\"verdict\":\"no\""#), "\(old)")
                #expect(old.body.contains("saw epoch \(epoch)"), "\(old)")
                let first = try await lab.postBeat(to: "b", from: "a", epoch: epoch, round: "x-4", tokenFile: token)
                #expect(first.body.contains("ack"), "\(first)")
                let replay = try await lab.postBeat(to: "b", from: "a", epoch: epoch, round: "x-4", tokenFile: token)
                #expect(replay.body.contains("replayed"), "\(replay)")
                let log = lab.daemon("b").log
                #expect(log.contains("failsafe beat refused"), "b's log:\n\(log.suffix(2000))")
                #expect(lab.holdersSync() == ["a"])
            }
        }

        @Test(
            "a late joiner during an outage does not take over; after the outage the active makes it a member"
        )
        func lateJoiner() async throws {
            let extra = { (node: String) in VIPLab.failsafeYAML(node) }
            try await withVIPLab("fslate", extra: ["a": extra("a"), "b": extra("b")]) { lab in
                let sampler = HolderSampler(lab: lab)
                sampler.start()
                defer { sampler.stop() }
                try lab.start("a")
                let holds = await lab.waitUntil(.seconds(10)) { lab.holdersSync() == ["a"] }
                try #require(holds != nil, "a never bound the VIP:\n\(lab.logs())")
                let alone = await lab.waitUntil(.seconds(5)) { await lab.members() == [] }
                try #require(alone != nil, "the lease never listed no members:\n\(lab.logs())")
                // The takeover wrote the members and answered with them, so the failsafe is in use at once: no wait
                // for a's first renew (before the takeover answered with them, CI found the database stopped before
                // that renew answered: no failsafe yet, so a fenced).
                try lab.stopDatabase()
                try await Task.sleep(for: .seconds(1))
                try lab.start("b")
                try await Task.sleep(for: .seconds(5))
                #expect(lab.holdersSync() == ["a"], "\(lab.logs())")
                try lab.restartDatabase()
                let joined = await lab.waitUntil(.seconds(10)) { await lab.members() == ["b"] }
                #expect(joined != nil, "b never became a member:\n\(lab.logs())")
                try await Task.sleep(for: .seconds(1))
                #expect(lab.holdersSync() == ["a"])
                #expect(sampler.doubleSamples == 0)
            }
        }

        @Test("failsafe.maxDuration reached: the active fences at the cap, counted from its last renew")
        func capReached() async throws {
            try await Self.withFailsafePair("fscap", maxDuration: "3s") { lab, _, _ in
                let stopped = now()
                try lab.stopDatabase()
                let released = await lab.waitUntil(.seconds(8)) { lab.holdersSync().isEmpty }
                let at = try #require(released, "a kept the VIP past failsafe.maxDuration:\n\(lab.logs())")
                print("failsafe.maxDuration 3 s: a released the VIP \(format(at - stopped)) after the database stopped")
                #expect(at - stopped >= 2.5, "fenced before the cap: the rounds did not extend")
                #expect(at - stopped <= 3.0 + 1.0)
                try lab.restartDatabase()
                let left = await lab.waitUntil(.seconds(15)) {
                    (await lab.statusJSON())?["events"].map { "\($0)".contains("fenced at failsafe.maxDuration") }
                        ?? false
                }
                let kinds = await lab.eventKinds()
                #expect(left != nil, "no failsafe-left naming the cap: \(kinds)")
            }
        }
    }
}
