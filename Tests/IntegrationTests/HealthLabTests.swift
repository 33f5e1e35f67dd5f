import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The health section of a lab node: `health.check` is curl against the node's own service (Python's
/// `http.server` on port 8080), every 200 ms with a 500 ms deadline, failed after 3, healthy after 2,
/// a hold-down of 4 s; `more` is appended inside `health:`.
func healthYAML(check: String? = nil, more: String = "") -> String {
    let argv =
        check ?? #"["/usr/bin/curl", "-fsS", "--max-time", "0.4", "-o", "/dev/null", "http://127.0.0.1:8080/node"]"#
    return """
        health:
        \(argv.isEmpty ? "" : "  check: \(argv)\n")  interval: 200ms
          timeout: 500ms
          fall: 3
          rise: 2
          holdDown: 4s
        \(more)

        """
}

/// Alert e-mail to the lab's SMTP server (inside `db`), for the events named.
func labAlertsYAML(_ events: [String]) -> String {
    """
    alerts:
      email: {url: "{smtp}", startTLS: "off", from: "hotstandby@example.test", to: ["ops@example.test"], timeout: 3s}
      events: [\(events.map { "\"\($0)\"" }.joined(separator: ", "))]

    """
}

/// A string field of a JSON row, or "".
func field(_ row: [String: Any]?, _ key: String) -> String { (row?[key] as? String) ?? "" }

private func format(_ seconds: Double) -> String { String(format: "%.3f s", seconds) }

extension IntegrationSuite {
    /// Issue 15 in the namespace lab: the service is a real HTTP server on each node, reached by a client
    /// (`PREFIX-c`) through the VIP; the checks are real programs. heartbeat.interval 200ms, timeout 2s.
    /// Every test samples who holds the VIP every 10 ms and asserts that no sample had two holders.
    @Suite(
        "Health in the namespace lab (real service, real checks, as root)",
        .enabled(if: VIPLab.unavailableReason == nil, Comment(rawValue: VIPLab.unavailableReason ?? ""))
    )
    struct HealthLabTests {
        /// Starts both services, samples the holders, starts the pair and waits until the client reaches a.
        static func withServingPair(_ lab: VIPLab, _ body: (HolderSampler) async throws -> Void) async throws {
            try lab.startService(on: "a")
            try lab.startService(on: "b")
            let sampler = HolderSampler(lab: lab)
            sampler.start()
            defer { sampler.stop() }
            try await lab.startPair()
            let reaches = await lab.waitUntil(.seconds(5)) { await lab.clientAsks() == "a" }
            try #require(reaches != nil, "the client never reached the service on a through the VIP:\n\(lab.logs())")
            try await body(sampler)
            #expect(sampler.doubleSamples == 0, "two holders in \(sampler.doubleSamples) samples")
            print("[\(lab.prefix)] \(sampler.summary)")
        }

        @Test(
            "the service dies on the active: the client is answered through the VIP by b within fall × interval + hand-off + 1 s; a is standby, not eligible for its hold-down, then eligible; one stepped-down e-mail"
        )
        func serviceKilled() async throws {
            let extra = healthYAML() + labAlertsYAML(["stepped-down"])
            try await withVIPLab("svckill", extra: ["a": extra, "b": extra]) { lab in
                try await Self.withServingPair(lab) { sampler in
                    let killed = now()
                    lab.daemon("svc-a").signal(SIGKILL)
                    let answered = await lab.waitUntil(.seconds(8)) { await lab.clientAsks() == "b" }
                    let at = try #require(answered, "the client never reached b:\n\(lab.logs())")
                    // fall × health.interval = 0.6 s, the hand-off (demote, hand off, b confirms and binds) and 1 s.
                    let bound = 3 * 0.2 + 1.0 + 1.0
                    print(
                        "service kill: the client was answered by b \(format(at - killed)) after the kill (bound \(format(bound)))"
                    )
                    #expect(at - killed <= bound)
                    let a = await lab.nodeRow("a", from: "b")
                    #expect(a?["role"] as? String == "standby")
                    #expect(a?["eligible"] as? Bool == false, "a inside its hold-down: \(a ?? [:])")
                    #expect(field(a, "health").contains("hold-down"), "\(a ?? [:])")
                    let eligible = await lab.waitUntil(.seconds(8)) {
                        (await lab.nodeRow("a", from: "b"))?["eligible"] as? Bool == true
                    }
                    #expect(eligible != nil, "a never became eligible after its 4 s hold-down")
                    let kinds = await lab.eventKinds(from: "b")
                    #expect(kinds.filter { $0 == "stepped-down" }.count == 1, "\(kinds)")
                    #expect(
                        kinds.contains("service-failed") && kinds.contains("not-eligible")
                            && kinds.contains("eligible"),
                        "\(kinds)"
                    )
                    let mailed = await lab.waitUntil(.seconds(10)) {
                        lab.mails().contains { $0.contains("stepped down") }
                    }
                    #expect(mailed != nil, "no stepped-down e-mail")
                    try await Task.sleep(for: .seconds(1))
                    #expect(lab.mails().filter { $0.contains("stepped down") }.count == 1)
                    #expect(sampler.samples.last?.holders == ["b"])
                }
            }
        }

        @Test("hooks.recover restarts the service on the active: no failover, one recovered-in-place event")
        func recoveredInPlace() async throws {
            // The recover hook starts a fresh http.server in a's namespace (the hook runs inside it) and returns
            // once it answers, as `systemctl restart` of a Type=notify service does.
            let extraA =
                healthYAML(more: "  recoverAttempts: 1")
                    + """
                    hooks:
                      recover: ["/bin/sh", "-c", "cd {dir}/www-a && { setsid /usr/bin/python3 -m http.server 8080 --bind 0.0.0.0 >/dev/null 2>&1 < /dev/null & echo $! > {dir}/recovered.pid; } && for i in $(seq 100); do /usr/bin/curl -fs -o /dev/null http://127.0.0.1:8080/node && exit 0; sleep 0.1; done; exit 1"]

                    """
            try await withVIPLab("recover", extra: ["a": extraA, "b": healthYAML()]) { lab in
                try await Self.withServingPair(lab) { sampler in
                    lab.daemon("svc-a").signal(SIGKILL)
                    let recovered = await lab.waitUntil(.seconds(8)) {
                        (await lab.eventKinds()).contains("recovered-in-place")
                    }
                    #expect(recovered != nil, "no recovered-in-place:\n\(lab.logs())")
                    let asked = await lab.clientAsks()
                    #expect(asked == "a")
                    let kinds = await lab.eventKinds()
                    #expect(!kinds.contains("stepped-down") && !kinds.contains("handover-received"), "\(kinds)")
                    #expect(kinds.filter { $0 == "recovered-in-place" }.count == 1)
                    #expect(Set(sampler.samples.suffix(20).flatMap(\.holders)) == ["a"])
                }
                // The hook's server is not one of the lab's processes: end it by the PID the hook wrote.
                if let text = try? String(contentsOfFile: lab.directory + "/recovered.pid", encoding: .utf8),
                    let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines))
                {
                    kill(pid, SIGKILL)
                }
            }
        }

        @Test(
            "a hung check (sleep 1017) fails at health.timeout with its process group ended; the heartbeat keeps its period; a steps down"
        )
        func hungCheck() async throws {
            let hang =
                #"["/bin/sh", "-c", "if [ -e {dir}/hang ]; then sleep 1017; fi; exec /usr/bin/curl -fsS --max-time 0.4 -o /dev/null http://127.0.0.1:8080/node"]"#
            try await withVIPLab("hang", extra: ["a": healthYAML(check: hang), "b": healthYAML(check: hang)]) { lab in
                try await Self.withServingPair(lab) { sampler in
                    let before = (await lab.statusJSON())?["counter"] as? Int ?? 0
                    let started = now()
                    _ = FileManager.default.createFile(atPath: lab.directory + "/hang", contents: nil)
                    try await Task.sleep(for: .milliseconds(1200))
                    let during = (await lab.statusJSON())?["counter"] as? Int ?? 0
                    let elapsed = now() - started
                    // Two hung checks so far; the counter went on at about one renew per 200 ms.
                    #expect(
                        Double(during - before) >= elapsed / 0.2 * 0.6,
                        "counter \(before) → \(during) in \(format(elapsed))"
                    )
                    let moved = await lab.waitUntil(.seconds(6)) { lab.holdersSync() == ["b"] }
                    try FileManager.default.removeItem(atPath: lab.directory + "/hang")
                    let removed = now()
                    let at = try #require(moved, "a never stepped down:\n\(lab.logs())")
                    // fall × (interval + timeout) at most, and the hand-off.
                    #expect(at - started <= 3 * 0.7 + 2.0, "moved after \(format(at - started))")
                    let reason = (await lab.statusJSON(from: "b"))?["events"] as? [[String: Any]]
                    let failed = reason?.first { ($0["kind"] as? String) == "service-failed" }
                    #expect("\(failed ?? [:])".contains("did not finish within 500ms"), "\(failed ?? [:])")
                    // b's own check may have started its sleep just before the file went: it is within its deadline
                    // (500 ms) for that long. Every hung check must be gone by then (the kill is at the deadline; 1 s of
                    // slack for a loaded machine).
                    let gone = await lab.waitUntil(.seconds(3)) {
                        ((try? await runProgram("/usr/bin/pgrep", ["-f", "sleep 1017"]))?.output ?? "x").isEmpty
                    }
                    let left = try await runProgram("/usr/bin/pgrep", ["-f", "sleep 1017"])
                    #expect(gone != nil, "a hung check's process outlived its deadline: \(left.output)")
                    if let gone {
                        #expect(
                            gone - removed <= 0.5 + 1.0,
                            "the last hung check ended \(format(gone - removed)) after"
                        )
                    }
                    _ = sampler
                }
            }
        }

        @Test(
            "a standby whose standbyCheck fails does not take over after kill -9 of the active, and status says why; fixed, it takes over"
        )
        func standbyNotReady() async throws {
            let extraB = healthYAML(more: "  standbyCheck: [\"/usr/bin/test\", \"-e\", \"{dir}/b-ready\"]")
            try await withVIPLab("notready", extra: ["a": healthYAML(), "b": extraB]) { lab in
                try await Self.withServingPair(lab) { sampler in
                    let notEligible = await lab.waitUntil(.seconds(5)) {
                        (await lab.nodeRow("b"))?["eligible"] as? Bool == false
                    }
                    try #require(notEligible != nil, "b never reported itself not eligible")
                    lab.daemon("a").signal(SIGKILL)
                    _ = try await lab.hotstandby(in: "a", ["release", "--config", lab.configPath("a")])
                    try await Task.sleep(for: lab.timeout * 2)
                    #expect(lab.holdersSync().isEmpty, "b took over while not eligible")
                    let row = await lab.nodeRow("b", from: "b")
                    #expect(
                        field(row, "health").contains("not eligible: health.standbyCheck failed 3 times"),
                        "\(row ?? [:])"
                    )
                    let text = try await lab.hotstandby(in: "b", ["status", "--config", lab.configPath("b")])
                    #expect(text.output.contains("not eligible: health.standbyCheck"), "\(text.output)")
                    _ = FileManager.default.createFile(atPath: lab.directory + "/b-ready", contents: nil)
                    let took = await lab.waitUntil(.seconds(5)) { lab.holdersSync() == ["b"] }
                    #expect(took != nil, "b never took over once ready:\n\(lab.logs())")
                    _ = sampler
                }
            }
        }

        @Test("both services broken: the role moves at most once per holdDown")
        func noPingPong() async throws {
            try await withVIPLab("pingpong", extra: ["a": healthYAML(), "b": healthYAML()]) { lab in
                try await Self.withServingPair(lab) { sampler in
                    lab.daemon("svc-b").signal(SIGKILL)
                    lab.daemon("svc-a").signal(SIGKILL)
                    let started = now()
                    try await Task.sleep(for: .seconds(11))
                    // The moves: the sample times at which the holder changed to another node.
                    var moves: [Double] = []
                    var last: Set<String>?
                    for sample in sampler.samples where sample.time >= started && sample.holders.count == 1 {
                        if let previous = last, previous != sample.holders { moves.append(sample.time) }
                        last = sample.holders
                    }
                    print("ping-pong: moves at \(moves.map { format($0 - started) }) after both services died")
                    #expect(!moves.isEmpty, "the role never left a's dead service")
                    #expect(moves.count <= 3, "\(moves.count) moves in 11 s with a 4 s hold-down")
                    for (first, second) in zip(moves, moves.dropFirst()) {
                        #expect(second - first >= 4.0 - 0.3, "two moves \(format(second - first)) apart")
                    }
                }
            }
        }

        @Test(
            "the application's beat: no beat → failover; the new active never beats → it fails after beat.timeout and steps down once a is eligible again"
        )
        func beat() async throws {
            func beatYAML(_ node: String) -> String {
                healthYAML(check: "", more: "  beat: {socket: \"{dir}/\(node)-beat.sock\", timeout: 1s}")
            }
            try await withVIPLab("beat", extra: ["a": beatYAML("a"), "b": beatYAML("b")]) { lab in
                let beater = [
                    "/bin/sh", "-c",
                    "while :; do \(TestEnvironment.binary!) beat --socket \(lab.directory)/a-beat.sock; sleep 0.2; done",
                ]
                try lab.startProcess("beat-a", in: "a", beater)
                try await Self.withServingPair(lab) { sampler in
                    try await Task.sleep(for: .seconds(2))
                    #expect(lab.holdersSync() == ["a"], "a beats: it keeps the role")
                    lab.daemon("beat-a").signal(SIGKILL)
                    let stopped = now()
                    let moved = await lab.waitUntil(.seconds(6)) { lab.holdersSync() == ["b"] }
                    let at = try #require(moved, "no failover after the beat stopped:\n\(lab.logs())")
                    // beat.timeout 1 s, then fall × interval, the hand-off and 1 s.
                    #expect(at - stopped <= 1.0 + 0.6 + 2.0, "moved \(format(at - stopped)) after the last beat")
                    try lab.startProcess("beat-a2", in: "a", beater)
                    // b never beats: its service fails beat.timeout after its promotion; a is in hold-down (4 s)
                    // until about 4 s after the move, then the role goes back to the beating a.
                    let back = await lab.waitUntil(.seconds(10)) { lab.holdersSync() == ["a"] }
                    #expect(back != nil, "the role never went back to the beating a:\n\(lab.logs())")
                    let events = (await lab.statusJSON())?["events"] as? [[String: Any]] ?? []
                    let failedB = events.first {
                        ($0["kind"] as? String) == "service-failed" && ($0["node"] as? String) == "b"
                    }
                    #expect("\(failedB ?? [:])".contains("since the promotion"), "\(failedB ?? [:])")
                    _ = sampler
                }
            }
        }

        @Test(
            "the VIP follows reality: removed from the active, it is bound again within vip.garp.refresh (address-restored); found on the standby, it is removed there (address-removed)"
        )
        func addressFollowsReality() async throws {
            try await withVIPLab("reality") { lab in
                try await lab.startPair()
                let removed = now()
                try await lab.exec(in: "a", [VIPLab.ip, "addr", "del", "\(lab.vip)/\(lab.vipPrefix)", "dev", "eth0"])
                #expect(lab.holdersSync().isEmpty)
                let rebound = await lab.waitUntil(lab.refresh + .seconds(2)) { lab.holdersSync() == ["a"] }
                let at = try #require(rebound, "a never bound its address again:\n\(lab.logs())")
                print(
                    "reality: a bound the VIP again \(format(at - removed)) after it was removed (refresh \(lab.refresh))"
                )
                #expect(at - removed <= lab.refresh.inSeconds + 1.5)
                // Another program puts the address on the standby: b removes it.
                let added = now()
                try await lab.exec(in: "b", [VIPLab.ip, "addr", "add", "\(lab.vip)/\(lab.vipPrefix)", "dev", "eth0"])
                let gone = await lab.waitUntil(lab.refresh + .seconds(2)) { lab.holdersSync() == ["a"] }
                let goneAt = try #require(gone, "b kept the address:\n\(lab.logs())")
                print("reality: b removed the foreign VIP \(format(goneAt - added)) after it appeared")
                #expect(goneAt - added <= lab.refresh.inSeconds + 1.5)
                let kinds = await lab.eventKinds()
                #expect(kinds.contains("address-restored") && kinds.contains("address-removed"), "\(kinds)")
            }
        }

        @Test(
            "a standby whose vip.interface does not exist is not eligible, naming the key; an active whose address cannot be bound hands the lease on"
        )
        func hostPrerequisites() async throws {
            // b: an interface that is not there. a: an `ip` that refuses `addr add` (everything else is the real one).
            let wrapper = "{dir}/ip-no-add"
            try await withVIPLab("prereq", extra: ["b": healthYAML()]) { lab in
                try lab.startService(on: "a")
                try lab.startService(on: "b")
                // b first, with eth9: not eligible, so it never takes the released lease.
                var yamlB = try String(contentsOfFile: lab.configPath("b"), encoding: .utf8)
                yamlB = yamlB.replacingOccurrences(of: "interface: eth0", with: "interface: eth9")
                try yamlB.write(toFile: lab.configPath("b"), atomically: true, encoding: .utf8)
                let check = try await lab.hotstandby(
                    in: "b",
                    ["check-config", "--host", "--config", lab.configPath("b")]
                )
                #expect(
                    check.status != 0 && check.output.contains("vip.interface 'eth9' does not exist"),
                    "\(check.output)"
                )
                try lab.start("b")
                let reported = await lab.waitUntil(.seconds(5)) {
                    field(await lab.nodeRow("b", from: "b"), "health").contains(
                        "not eligible: vip.interface 'eth9' does not exist"
                    )
                }
                let rowB = await lab.nodeRow("b", from: "b")
                #expect(reported != nil, "b's row: \(rowB ?? [:])")
                try await Task.sleep(for: .seconds(1))
                #expect(lab.holdersSync().isEmpty, "a not eligible b took the released lease")
                // Now a, whose `ip addr add` fails: it takes the lease, cannot bind, and with no eligible standby
                // stays active and retries; once b is fixed and eligible, a hands the lease on.
                let script =
                    "#!/bin/sh\nfor w in \"$@\"; do [ \"$w\" = add ] && { echo 'RTNETLINK answers: Operation not permitted' >&2; exit 2; }; done\nexec /usr/sbin/ip \"$@\"\n"
                let path = wrapper.replacingOccurrences(of: "{dir}", with: lab.directory)
                try script.write(toFile: path, atomically: true, encoding: .utf8)
                chmod(path, 0o755)
                var yamlA = try String(contentsOfFile: lab.configPath("a"), encoding: .utf8)
                yamlA = yamlA.replacingOccurrences(
                    of: "  interface: eth0\n",
                    with: "  interface: eth0\n  ipPath: \(path)\n"
                )
                try yamlA.write(toFile: lab.configPath("a"), atomically: true, encoding: .utf8)
                let sampler = HolderSampler(lab: lab)
                sampler.start()
                defer { sampler.stop() }
                try lab.start("a")
                let staying = await lab.waitUntil(.seconds(5)) {
                    (await lab.eventKinds(from: "b")).contains("staying-active")
                }
                #expect(staying != nil, "a never said it stays active with a failed promotion:\n\(lab.logs())")
                #expect(lab.holdersSync().isEmpty)
                // Fix b: its interface back to eth0, restart its daemon.
                lab.daemon("b").signal(SIGTERM)
                _ = await lab.waitUntil(.seconds(5)) { !lab.daemon("b").isRunning }
                try yamlB.replacingOccurrences(of: "interface: eth9", with: "interface: eth0").write(
                    toFile: lab.configPath("b"),
                    atomically: true,
                    encoding: .utf8
                )
                try lab.start("b")
                let handed = await lab.waitUntil(.seconds(8)) { lab.holdersSync() == ["b"] }
                #expect(handed != nil, "a never handed the lease to the fixed b:\n\(lab.logs())")
                let kinds = await lab.eventKinds(from: "b")
                #expect(kinds.contains("stepped-down"), "\(kinds)")
                let asked = await lab.clientAsks()
                #expect(asked == "b")
                #expect(sampler.doubleSamples == 0)
                // The status of a node whose daemon exited, and of one that was killed.
                lab.daemon("b").signal(SIGTERM)
                lab.daemon("a").signal(SIGKILL)
                let states = await lab.waitUntil(lab.timeout + .seconds(4)) {
                    let a = await lab.nodeRow("a", from: "b")
                    let b = await lab.nodeRow("b", from: "b")
                    return a?["state"] as? String == "gone" && b?["state"] as? String == "stopped"
                }
                let (rowA, rowB2) = (await lab.nodeRow("a", from: "b"), await lab.nodeRow("b", from: "b"))
                #expect(states != nil, "a: \(rowA ?? [:]) b: \(rowB2 ?? [:])")
                let text = try await lab.hotstandby(in: "b", ["status", "--config", lab.configPath("b")])
                #expect(text.output.contains("gone (last"), "\(text.output)")
            }
        }
    }
}
