import Foundation
import Testing

/// The HTTP receiver that `scripts/test` starts (`scripts/webhook-server`): every POST body is a file.
enum TestWebhook {
    static let url = ProcessInfo.processInfo.environment["HOTSTANDBY_TEST_WEBHOOK_URL"]
    static let directory = ProcessInfo.processInfo.environment["HOTSTANDBY_TEST_WEBHOOK_DIR"]
    static var available: Bool { url != nil && directory != nil }

    /// The decoded JSON bodies received so far.
    static func posts() -> [[String: Any]] {
        guard let directory else { return [] }
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter {
            !$0.hasPrefix(".")
        }
        return names.sorted().compactMap { name in
            guard let data = FileManager.default.contents(atPath: directory + "/" + name) else { return nil }
            return try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        }
    }
}

extension IntegrationSuite {
    @Suite(
        "Alert webhook from the event outbox",
        .enabled(if: TestWebhook.available, "needs the webhook receiver of scripts/test")
    )
    struct WebhookDeliveryTests {
        @Test("kill -9 of the active: exactly one webhook POST for the takeover, as JSON with the event")
        func takeoverWebhook() async throws {
            let cluster = try TestCluster(name: "hook")
            let extra = """
                alerts:
                  webhook:
                    url: "\(TestWebhook.url ?? "")"
                    timeout: 3s
                """
            try await cluster.startActive("a", extra: extra)
            try await cluster.startStandby("b", extra: extra)
            try await cluster.killAndAwaitTakeover()
            func takeovers() -> [[String: Any]] {
                TestWebhook.posts().filter { post in
                    guard post["cluster"] as? String == cluster.cluster, let events = post["events"] as? [[String: Any]]
                    else {
                        return false
                    }
                    return events.contains { $0["kind"] as? String == "takeover" && $0["node"] as? String == "b" }
                }
            }
            let arrived = await cluster.waitUntil(.seconds(15)) { !takeovers().isEmpty }
            try #require(arrived != nil, "no webhook POST for b's takeover:\n\(cluster.logs())")
            try await Task.sleep(for: .seconds(3))
            let posts = takeovers()
            #expect(posts.count == 1, "\(posts.count) POSTs for one takeover")
            #expect((posts.first?["subject"] as? String)?.contains("b took over from a") == true)
        }
    }
}
