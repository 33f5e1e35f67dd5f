import Foundation
import HotStandbyCore
import Testing

@testable import Alerts

/// Configuration, message text and the local spool: no server needed.
@Suite struct AlertsUnitTests {
    @Test func anInvalidRecipientIsRefusedWithTheKeyNamed() throws {
        for bad in [
            "ops", "ops@", "@example.com", "ops@example", "o ps@example.com", "a@b.c,d@e.f", "x@y.z\r\nBcc: e@f.g",
        ] {
            let settings = EmailSettings(
                url: "smtp://127.0.0.1:25",
                from: "h@example.com",
                to: ["ok@example.com", bad]
            )
            let error = #expect(throws: AlertsError.self) { try settings.validate() }
            #expect(error?.code == .invalidConfiguration)
            #expect(error?.description.hasPrefix("alerts.email.to: '\(bad)'") == true, "\(String(describing: error))")
        }
        try EmailSettings(url: "smtps://mail.example.com:465", from: "h@example.com", to: ["a.b+c@example.co.uk"])
            .validate()
    }

    @Test func badURLsAndKeysAreNamed() {
        let cases: [(AlertsSettings, String)] = [
            (
                AlertsSettings(email: EmailSettings(url: "http://x:25", from: "h@e.com", to: ["a@e.com"])),
                "alerts.email.url"
            ),
            (
                AlertsSettings(email: EmailSettings(url: "smtp://u:p@x:25", from: "h@e.com", to: ["a@e.com"])),
                "alerts.email.url"
            ),
            (
                AlertsSettings(email: EmailSettings(url: "smtp://x:25", from: "nope", to: ["a@e.com"])),
                "alerts.email.from"
            ),
            (AlertsSettings(email: EmailSettings(url: "smtp://x:25", from: "h@e.com", to: [])), "alerts.email.to"),
            (
                AlertsSettings(email: EmailSettings(url: "smtp://x:25", user: "u", from: "h@e.com", to: ["a@e.com"])),
                "alerts.email.passwordFile"
            ),
            (AlertsSettings(webhook: WebhookSettings(url: "ftp://x/")), "alerts.webhook.url"),
            (AlertsSettings(events: ["takeover", "takover"]), "alerts.events"),
            (AlertsSettings(maxPerMinute: 0), "alerts.maxPerMinute"),
        ]
        for (settings, key) in cases {
            let error = #expect(throws: AlertsError.self) { try settings.validate() }
            #expect(error?.description.hasPrefix(key + ":") == true, "\(String(describing: error))")
        }
    }

    @Test func aPasswordFileOthersCanReadIsRefusedWithChmodAdvice() throws {
        let folder = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/password"
        try writeFile(path, "s3cret-value\n", mode: 0o644)
        let settings = EmailSettings(
            url: "smtp://127.0.0.1:25",
            user: "alerts",
            passwordFile: path,
            from: "h@example.com",
            to: ["a@example.com"]
        )
        let error = #expect(throws: AlertsError.self) { try settings.validate() }
        #expect(error?.code == .passwordFile)
        #expect(error?.description.contains("chmod 600 \(path)") == true)
        #expect(error?.description.contains("s3cret") == false)

        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
        try settings.validate()
        #expect(try PasswordFile.read(path) == "s3cret-value")
    }

    @Test func everyKnownKindHasItsOwnText() {
        var headlines: Set<String> = []
        for kind in AlertEvent.knownKinds {
            let message = AlertMessage.single(event(1, cluster: "shop", kind: kind, detail: [:]), sentBy: "a")
            #expect(message.subject.hasPrefix("[hotstandby] shop: "))
            #expect(message.subject != "[hotstandby] shop: \(kind) on b", "\(kind) fell back to the generic text")
            for section in ["WHAT HAPPENED", "WHEN", "HOSTS", "THE CLUSTER NOW", "WHAT TO DO"] {
                #expect(message.text.contains(section), "\(kind) lacks \(section)")
            }
            headlines.insert(message.subject)
        }
        #expect(headlines.count == AlertEvent.knownKinds.count)
        let other = AlertMessage.single(event(1, cluster: "shop", kind: "new-kind", detail: ["x": 1]), sentBy: "a")
        #expect(other.subject == "[hotstandby] shop: new-kind on b")
        #expect(other.text.contains("  x: 1"))
    }

    @Test func theEmailHasHeadersAndCRLFLines() {
        let message = AlertMessage.single(event(42, cluster: "shöp"), sentBy: "b")
        let email = String(
            decoding: message.email(from: "h@example.com", to: ["a@example.com"], date: Date(timeIntervalSince1970: 0)),
            as: UTF8.self
        )
        #expect(email.contains("Date: Thu, 01 Jan 1970 00:00:00 +0000\r\n"))
        // Exactly this id (the old check's second half accepted any): ASCII only, the 'ö' replaced.
        #expect(email.contains("Message-ID: <hotstandby.sh_p.42@example.com>\r\n"), "\(email)")
        #expect(email.contains("Subject: =?utf-8?B?"))
        #expect(!email.replacingOccurrences(of: "\r\n", with: "").contains("\n"))
    }

    @Test("two drains at once take turns: each spooled event is written once, in order")
    func concurrentDrainsTakeTurns() async throws {
        let folder = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let spool = try LocalSpool(directory: folder + "/alert-spool")
        for kind in ["takeover", "failsafe-entered", "failsafe-left"] {
            try await spool.add(event(0, cluster: "shop", kind: kind))
        }
        let collected = Collected()
        // The writer waits, as a database write does: the actor lets the other drain in meanwhile.
        let write: @Sendable (AlertEvent) async throws -> Void = { event in
            try await Task.sleep(for: .milliseconds(50))
            await collected.add(event.kind)
        }
        async let first = spool.drain(into: write)
        async let second = spool.drain(into: write)
        let counts = try await [first, second]
        #expect(counts.sorted() == [0, 3], "\(counts)")
        #expect(await collected.kinds == ["takeover", "failsafe-entered", "failsafe-left"])
        #expect(await spool.count() == 0)
    }

    @Test func theSpoolIsBoundedAndDrainsInOrder() async throws {
        let folder = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let spool = try LocalSpool(directory: folder + "/alert-spool", maxEvents: 3)
        for kind in ["takeover", "action-failed", "database-unreachable"] {
            try await spool.add(event(0, cluster: "shop", kind: kind))
        }
        let error = await #expect(throws: AlertsError.self) {
            try await spool.add(event(0, cluster: "shop", kind: "fenced"))
        }
        #expect(error?.code == .spool)

        // A new spool on the same folder (a restart) sees the same events.
        let reopened = try LocalSpool(directory: folder + "/alert-spool", maxEvents: 3)
        #expect(await reopened.count() == 3)
        let collected = Collected()
        let failing = await #expect(throws: AlertsError.self) {
            _ = try await reopened.drain { event in
                if event.kind == "action-failed" { throw AlertsError(code: .transferFailed, message: "db down") }
                await collected.add(event.kind)
            }
        }
        #expect(failing != nil)
        #expect(await reopened.count() == 2)
        let written = try await reopened.drain { await collected.add($0.kind) }
        #expect(written == 2)
        #expect(await collected.kinds == ["takeover", "action-failed", "database-unreachable"])
        #expect(await reopened.count() == 0)
    }

    @Test func eventsNotInTheFilterAreMarkedWithoutSending() async throws {
        let outbox = InMemoryOutbox([event(1, cluster: "c", kind: "started"), event(2, cluster: "c", kind: "paused")])
        let settings = AlertsSettings(events: ["takeover"])
        let notifier = try AlertNotifier(settings: settings, node: "a", outbox: outbox, logger: quietLogger)
        #expect(try await notifier.deliverPending() == .delivered(2))
        #expect(await outbox.allSent)
    }

    @Test("an idle notifier claims once per poll; an event this node recorded is sent at once, not at the next poll")
    func eventRecordedWakesTheIdleNotifier() async throws {
        let outbox = InMemoryOutbox([])
        let sent = SentMessages()
        let notifier = try AlertNotifier(
            settings: AlertsSettings(webhook: WebhookSettings(url: "http://127.0.0.1:1/hook")),
            node: "a",
            outbox: outbox,
            logger: quietLogger,
            clock: ContinuousClock(),
            transports: [sent],
            pollInterval: .seconds(3600)
        )
        let running = Task { await notifier.run() }
        defer { running.cancel() }
        #expect(await eventually(seconds: 5) { await outbox.claimCount == 1 })
        // Idle: no second claim within the poll (the daemon's used to claim every 2 s to find nothing).
        try await Task.sleep(for: .milliseconds(500))
        #expect(await outbox.claimCount == 1)
        await outbox.add(event(1, cluster: "c"))
        notifier.eventRecorded()
        #expect(await eventually(seconds: 5) { await outbox.allSent })
        #expect(await sent.count == 1)
        // A signal that comes while the notifier is busy is not lost: it looks again after its round.
        await outbox.add(event(2, cluster: "c"))
        notifier.eventRecorded()
        #expect(await eventually(seconds: 5) { await outbox.allSent })
        running.cancel()
        await running.value
    }

    @Test func decodesTheJSONBDetail() throws {
        let detail = try JSONValue.decodeObject(json: #"{"from":"a","counter":412,"steps":[{"ok":true}],"x":null}"#)
        #expect(detail["from"] == "a")
        #expect(detail["counter"] == 412)
        #expect(detail["steps"] == .array([.object(["ok": true])]))
        #expect(detail["x"] == JSONValue.null)
    }
}

/// A transport that keeps what it was given.
actor SentMessages: AlertTransport {
    nonisolated var name: String { "test" }
    private(set) var count = 0
    func send(_ message: AlertMessage) async throws { count += 1 }
}

actor Collected {
    var kinds: [String] = []
    func add(_ kind: String) { kinds.append(kind) }
}
