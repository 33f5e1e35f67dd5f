import Foundation
import Testing

/// The SMTP server that `scripts/test` starts (`scripts/smtp-server`): every message is a file in its maildir.
enum TestSMTP {
    static let url = ProcessInfo.processInfo.environment["HOTSTANDBY_TEST_SMTP_URL"]
    static let maildir = ProcessInfo.processInfo.environment["HOTSTANDBY_TEST_SMTP_MAILDIR"]
    static let refuseFile = ProcessInfo.processInfo.environment["HOTSTANDBY_TEST_SMTP_REFUSE_FILE"]
    static var available: Bool { url != nil && maildir != nil && refuseFile != nil }

    /// The messages whose text contains `needle`.
    static func messages(containing needle: String) -> [String] {
        guard let maildir else { return [] }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: maildir)) ?? []
        return names.filter { !$0.hasPrefix(".") }.compactMap { name in
            try? String(contentsOfFile: maildir + "/" + name, encoding: .utf8)
        }.filter { $0.contains(needle) }
    }

    static func alertsConfig() -> String {
        """
        alerts:
          email:
            url: "\(url ?? "")"
            startTLS: "off"
            from: "hotstandby@example.test"
            to: ["ops@example.test"]
            timeout: 3s
        """
    }
}

extension IntegrationSuite {
    @Suite(
        "Alert e-mail from the event outbox",
        .enabled(if: TestSMTP.available, "needs the SMTP server of scripts/test")
    )
    struct AlertDeliveryTests {
        @Test("kill -9 of the active: exactly one takeover e-mail, with who, why and what to do")
        func takeoverEmail() async throws {
            let cluster = try TestCluster(name: "mail")
            try await cluster.startActive("a", extra: TestSMTP.alertsConfig())
            try await cluster.startStandby("b", extra: TestSMTP.alertsConfig())
            try await cluster.killAndAwaitTakeover()
            let subject = "[hotstandby] \(cluster.cluster): b took over from a"
            let arrived = await cluster.waitUntil(.seconds(15)) { !TestSMTP.messages(containing: subject).isEmpty }
            try #require(arrived != nil, "no takeover e-mail:\n\(cluster.logs())")
            // Both nodes run the notifier; give a duplicate time to appear.
            try await Task.sleep(for: .seconds(3))
            let mails = TestSMTP.messages(containing: subject)
            #expect(mails.count == 1, "\(mails.count) e-mails for one takeover")
            let mail = mails.first ?? ""
            #expect(mail.contains("Message-ID:"))
            #expect(mail.contains("Date:"))
            #expect(mail.contains("heartbeat counter stayed at"))
        }

        @Test("the SMTP server refusing during the takeover: the e-mail arrives once it accepts, once")
        func smtpDownThenUp() async throws {
            let refuse = try #require(TestSMTP.refuseFile)
            _ = FileManager.default.createFile(atPath: refuse, contents: Data())
            defer { try? FileManager.default.removeItem(atPath: refuse) }
            let cluster = try TestCluster(name: "maildown")
            try await cluster.startActive("a", extra: TestSMTP.alertsConfig())
            try await cluster.startStandby("b", extra: TestSMTP.alertsConfig())
            try await cluster.killAndAwaitTakeover()
            let subject = "[hotstandby] \(cluster.cluster): b took over from a"
            try await Task.sleep(for: .seconds(4))
            #expect(TestSMTP.messages(containing: subject).isEmpty, "sent while the server refused")
            try FileManager.default.removeItem(atPath: refuse)
            // Back-off after failures is at most a minute; with a few failures it is a few seconds.
            let arrived = await cluster.waitUntil(.seconds(40)) { !TestSMTP.messages(containing: subject).isEmpty }
            try #require(arrived != nil, "the e-mail never arrived after the server came back:\n\(cluster.logs())")
            try await Task.sleep(for: .seconds(3))
            #expect(TestSMTP.messages(containing: subject).count == 1)
        }
    }
}
