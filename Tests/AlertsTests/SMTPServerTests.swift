import Foundation
import Testing

@testable import Alerts

/// Alerts against the real SMTP servers of `scripts/smtp-server`. Serialized: they share the servers and the
/// plain server's refuse switch.
@Suite(.serialized, .timeLimit(.minutes(2)))
struct SMTPServerTests {
    static let recipients = ["ops@example.com", "oncall@example.org"]

    func plainSettings(maxPerMinute: Int = 10) -> AlertsSettings {
        AlertsSettings(
            email: EmailSettings(
                url: TestEnv.smtpURL ?? "",
                startTLS: .off,
                from: "hotstandby@example.com",
                to: Self.recipients,
                timeout: .seconds(5)
            ),
            maxPerMinute: maxPerMinute
        )
    }

    // Skipped without HOTSTANDBY_TEST_SMTP_URL/_MAILDIR/_REFUSE_FILE: run `scripts/smtp-server start DIR`.
    @Test(.enabled(if: TestEnv.hasPlain, "needs scripts/smtp-server (HOTSTANDBY_TEST_SMTP_URL)"))
    func takeoverAlertArrivesOnceWithItsFields() async throws {
        let cluster = uniqueCluster("takeover")
        let outbox = InMemoryOutbox([event(1, cluster: cluster)])
        let notifier = try AlertNotifier(settings: plainSettings(), node: "b", outbox: outbox, logger: quietLogger)
        #expect(try await notifier.deliverPending() == .delivered(1))
        #expect(try await notifier.deliverPending() == .idle)

        let found = mails(in: TestEnv.smtpMaildir!, cluster: cluster)
        try #require(found.count == 1)
        let mail = found[0]
        #expect(mail.subject == "[hotstandby] \(cluster): b took over from a (epoch 8)")
        #expect(mail.headers["X-Envelope-To"] == Self.recipients.joined(separator: ", "))
        #expect(mail.headers["X-Envelope-From"] == "hotstandby@example.com")
        #expect(mail.headers["From"] == "hotstandby@example.com")
        #expect(mail.headers["To"] == Self.recipients.joined(separator: ", "))
        #expect(
            mail.headers["Message-ID"]
                == "<hotstandby.\(cluster.replacingOccurrences(of: "-", with: "_")).1@example.com>"
        )
        #expect(mail.headers["Date"]?.hasSuffix("+0000") == true)
        for part in [
            "WHAT HAPPENED", "Node b took over as active from node a in epoch 8.",
            "the heartbeat counter stayed at 412 for 60.2 s", "2023-11-14 22:13:21 UTC", "THE CLUSTER NOW",
            "Active: b (epoch 8).", "WHAT TO DO", "hotstandby switchover --to a", "ok   shared-folder (0.41 s)",
            "FAILED vip (0.005 s): ip addr add failed: no such device", "The promotion took 1.2 s.",
        ] {
            #expect(mail.body.contains(part), "body lacks \(part)")
        }
        #expect(await outbox.sentCount == [1: 1])
    }

    @Test(.enabled(if: TestEnv.hasTLS, "needs scripts/smtp-server --tls-auth (HOTSTANDBY_TEST_SMTP_TLS_URL)"))
    func startTLSAndAuthDeliver() async throws {
        let cluster = uniqueCluster("tls")
        let settings = EmailSettings(
            url: TestEnv.tlsURL!,
            startTLS: .required,
            user: TestEnv.user,
            passwordFile: TestEnv.passwordFile,
            from: "hotstandby@example.com",
            to: ["ops@example.com"],
            caFile: TestEnv.caFile,
            timeout: .seconds(5)
        )
        let sender = try SMTPSender(settings: settings, node: "b", logger: quietLogger)
        try await sender.send(.single(event(2, cluster: cluster), sentBy: "b"))
        #expect(mails(in: TestEnv.tlsMaildir!, cluster: cluster).count == 1)
    }

    @Test(.enabled(if: TestEnv.hasTLS, "needs scripts/smtp-server --tls-auth (HOTSTANDBY_TEST_SMTP_TLS_URL)"))
    func wrongPasswordIsReportedInPlainWords() async throws {
        let folder = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let secret = "not-the-password-\(UUID().uuidString)"
        try writeFile(folder + "/password", secret + "\n", mode: 0o600)
        let settings = EmailSettings(
            url: TestEnv.tlsURL!,
            user: TestEnv.user,
            passwordFile: folder + "/password",
            from: "hotstandby@example.com",
            to: ["ops@example.com"],
            caFile: TestEnv.caFile,
            timeout: .seconds(5)
        )
        let sender = try SMTPSender(settings: settings, node: "b", logger: quietLogger)
        let error = await #expect(throws: AlertsError.self) {
            try await sender.send(.single(event(3, cluster: uniqueCluster("auth")), sentBy: "b"))
        }
        #expect(error?.code == .authenticationFailed)
        #expect(error?.curlCode == 67)
        #expect(error?.description.contains("authentication failed") == true)
        #expect(error?.description.contains("wrong password") == true)
        #expect(error?.description.contains(secret) == false)
    }

    @Test(.enabled(if: TestEnv.hasTLS, "needs scripts/smtp-server --tls-auth (HOTSTANDBY_TEST_SMTP_TLS_URL)"))
    func untrustedCertificateIsATLSFailure() async throws {
        let settings = EmailSettings(
            url: TestEnv.tlsURL!,
            user: TestEnv.user,
            passwordFile: TestEnv.passwordFile,
            from: "hotstandby@example.com",
            to: ["ops@example.com"],
            timeout: .seconds(5)
        )
        let sender = try SMTPSender(settings: settings, node: "b", logger: quietLogger)
        let error = await #expect(throws: AlertsError.self) {
            try await sender.send(.single(event(4, cluster: uniqueCluster("ca")), sentBy: "b"))
        }
        #expect(error?.code == .tls)
        #expect(error?.description.contains("alerts.email.caFile") == true)
    }

    @Test(.enabled(if: TestEnv.hasPlain, "needs scripts/smtp-server (HOTSTANDBY_TEST_SMTP_URL)"))
    func requiredStartTLSRefusesAPlainServer() async throws {
        let settings = EmailSettings(url: TestEnv.smtpURL!, from: "hotstandby@example.com", to: ["ops@example.com"])
        let sender = try SMTPSender(settings: settings, node: "b", logger: quietLogger)
        let error = await #expect(throws: AlertsError.self) {
            try await sender.send(.single(event(5, cluster: uniqueCluster("starttls")), sentBy: "b"))
        }
        #expect(error?.code == .tls)
        #expect(error?.description.contains("does not offer STARTTLS") == true)
    }

    @Test func closedPortIsAClearErrorAtOnce() async throws {
        let settings = EmailSettings(
            url: "smtp://127.0.0.1:\(closedPort())",
            startTLS: .off,
            from: "hotstandby@example.com",
            to: ["ops@example.com"],
            timeout: .seconds(3)
        )
        let sender = try SMTPSender(settings: settings, node: "b", logger: quietLogger)
        let started = ContinuousClock.now
        let error = await #expect(throws: AlertsError.self) {
            try await sender.send(.single(event(6, cluster: "closed"), sentBy: "b"))
        }
        #expect(ContinuousClock.now - started < .seconds(3))
        #expect(error?.code == .connectionFailed)
        #expect(error?.description.contains("connection refused") == true)
        #expect(error?.curlCode == 7)
    }

    /// The at-least-once window of SMTP: a send abandoned after the server stored the message but before
    /// its 250 reply is retried and delivered twice. A server slow to greet (just resumed with a backlog)
    /// and slow to confirm, but never silent for `alerts.email.timeout`, must not be abandoned.
    @Test(
        "a server slow to greet and slow to confirm, never silent for the timeout, gets the mail once (not abandoned after storing it)",
        .enabled(if: TestEnv.hasPlain, "needs scripts/smtp-server (HOTSTANDBY_TEST_SMTP_URL)")
    )
    func slowServerIsNotAbandonedAfterItStoredTheMail() async throws {
        let slow = URL(fileURLWithPath: TestEnv.smtpRefuseFile!).deletingLastPathComponent().path + "/slow"
        try "1.3 1.0\n".write(toFile: slow, atomically: true, encoding: .utf8)
        defer { unlink(slow) }
        let cluster = uniqueCluster("slow")
        let settings = EmailSettings(
            url: TestEnv.smtpURL!,
            startTLS: .off,
            from: "hotstandby@example.com",
            to: ["ops@example.com"],
            timeout: .seconds(2)
        )
        let sender = try SMTPSender(settings: settings, node: "b", logger: quietLogger)
        let started = ContinuousClock.now
        try await sender.send(.single(event(8, cluster: cluster), sentBy: "b"))
        let took = ContinuousClock.now - started
        #expect(took >= .milliseconds(2300), "the server's delays (1.3 s + 1.0 s) were not applied: \(took)")
        #expect(mails(in: TestEnv.smtpMaildir!, cluster: cluster).count == 1)
    }

    @Test func silentServerTimesOutWithinTheTimeout() async throws {
        let listener = SilentListener()
        let settings = EmailSettings(
            url: "smtp://127.0.0.1:\(listener.port)",
            startTLS: .off,
            from: "hotstandby@example.com",
            to: ["ops@example.com"],
            timeout: .seconds(1)
        )
        let sender = try SMTPSender(settings: settings, node: "b", logger: quietLogger)
        let started = ContinuousClock.now
        let error = await #expect(throws: AlertsError.self) {
            try await sender.send(.single(event(7, cluster: "silent"), sentBy: "b"))
        }
        let took = ContinuousClock.now - started
        #expect(took >= .milliseconds(900) && took < .seconds(3), "took \(took)")
        #expect(error?.code == .timedOut)
        #expect(error?.description.contains("alerts.email.timeout") == true)
        withExtendedLifetime(listener) {}
    }

    @Test(.enabled(if: TestEnv.hasPlain, "needs scripts/smtp-server (HOTSTANDBY_TEST_SMTP_URL)"))
    func aBurstOfFiftyBecomesOneDigest() async throws {
        let cluster = uniqueCluster("storm")
        let kinds = ["takeover", "fenced", "action-failed", "ha-lost", "database-unreachable"]
        let events = (1...50).map { event(Int64($0), cluster: cluster, kind: kinds[$0 % kinds.count]) }
        let outbox = InMemoryOutbox(events)
        let notifier = try AlertNotifier(
            settings: plainSettings(maxPerMinute: 10),
            node: "b",
            outbox: outbox,
            logger: quietLogger
        )
        #expect(try await notifier.deliverPending() == .delivered(50))
        let found = mails(in: TestEnv.smtpMaildir!, cluster: cluster)
        try #require(found.count == 1)
        #expect(found[0].subject.hasPrefix("[hotstandby] \(cluster): 50 events in a minute ("))
        #expect(found[0].body.contains("more than alerts.maxPerMinute (10)"))
        #expect(found[0].body.contains("ids 1 to 50"))
        #expect(await outbox.allSent)
    }

    @Test(.enabled(if: TestEnv.hasPlain, "needs scripts/smtp-server (HOTSTANDBY_TEST_SMTP_URL)"))
    func notifierRetriesUntilTheServerAcceptsAndSendsOnce() async throws {
        let refuse = TestEnv.smtpRefuseFile!
        try writeFile(refuse, "refusing\n", mode: 0o644)
        defer { try? FileManager.default.removeItem(atPath: refuse) }
        let cluster = uniqueCluster("retry")
        let outbox = InMemoryOutbox([event(1, cluster: cluster), event(2, cluster: cluster, kind: "ha-lost")])
        let notifier = try AlertNotifier(
            settings: plainSettings(),
            node: "b",
            outbox: outbox,
            logger: quietLogger,
            clock: ContinuousClock(),
            pollInterval: .milliseconds(100),
            initialBackoff: .milliseconds(100),
            maxBackoff: .milliseconds(400)
        )
        let running = Task { await notifier.run() }
        defer { running.cancel() }
        try await Task.sleep(for: .seconds(1))
        #expect(await outbox.unsent == 2)
        #expect(mails(in: TestEnv.smtpMaildir!, cluster: cluster).isEmpty)

        try FileManager.default.removeItem(atPath: refuse)
        #expect(await eventually(seconds: 10) { await outbox.allSent })
        try await Task.sleep(for: .milliseconds(500))
        running.cancel()
        await running.value
        #expect(mails(in: TestEnv.smtpMaildir!, cluster: cluster).count == 2)
        #expect(await outbox.sentCount == [1: 1, 2: 1])
    }

    @Test(.enabled(if: TestEnv.hasPlain, "needs scripts/smtp-server (HOTSTANDBY_TEST_SMTP_URL)"))
    func twoNotifiersOnOneOutboxNeverSendTwice() async throws {
        let cluster = uniqueCluster("pair")
        let outbox = InMemoryOutbox((1...20).map { event(Int64($0), cluster: cluster) })
        let settings = plainSettings(maxPerMinute: 1000)
        let notifiers = try ["a", "b"].map { node in
            try AlertNotifier(
                settings: settings,
                node: node,
                outbox: outbox,
                logger: quietLogger,
                clock: ContinuousClock(),
                pollInterval: .milliseconds(20),
                batchSize: 3
            )
        }
        let running = notifiers.map { notifier in Task { await notifier.run() } }
        #expect(await eventually(seconds: 20) { await outbox.allSent })
        for task in running { task.cancel() }
        for task in running { await task.value }

        let found = mails(in: TestEnv.smtpMaildir!, cluster: cluster)
        let ids = found.compactMap { $0.headers["X-Hotstandby-Events"] }.sorted { Int($0)! < Int($1)! }
        #expect(ids == (1...20).map(String.init))
        #expect(await outbox.sentCount.values.allSatisfy { $0 == 1 })
        // Both took part (each claims 3 at a time), so the claims really were contested.
        #expect(Set(await outbox.sentBy.values) == ["a", "b"])
    }
}
