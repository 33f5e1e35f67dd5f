import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The status page, rendered by a real headless Chromium.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct StatusPageTests {
    static let chromium = OpsEnvironment.tool("chromium", "chromium-browser")
    static var enabled: Bool { chromium != nil && OpsEnvironment.daemons }

    /// The DOM after load, and a screenshot at `screenshot`.
    func render(_ url: String, screenshot: String, window: String = "1100,700") async throws -> String {
        let flags = [
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--user-data-dir=" + NSTemporaryDirectory() + "ops-chromium",
        ]
        let dom = try await runProgram(Self.chromium!, flags + ["--dump-dom", url])
        _ = try await runProgram(
            Self.chromium!,
            flags + ["--window-size=" + window, "--screenshot=" + screenshot, url]
        )
        return dom.output
    }

    /// The `data-colour` of `node`'s row in the page.
    func colour(of node: String, in dom: String) -> String? {
        guard let row = dom.range(of: "data-node=\"\(node)\"") else { return nil }
        let rest = dom[row.upperBound...]
        guard let start = rest.range(of: "data-colour=\"") else { return nil }
        return String(rest[start.upperBound...].prefix { $0 != "\"" })
    }

    // Needs Debian's `chromium` (apt-get install chromium), PostgreSQL and the binary (scripts/test).
    @Test(
        .enabled(
            if: enabled,
            "needs Debian's chromium (apt-get install -y chromium) and scripts/test's PostgreSQL and binary"
        )
    )
    func pageShowsTheActiveNodeAndUpdates() async throws {
        let cluster = try OpsCluster("page")
        let ports = (try freePort(), try freePort())
        try await cluster.initDB(config: try cluster.config(node: "a", port: ports.0))
        let a = try cluster.start("a", port: ports.0)
        #expect(try await eventually(.seconds(10)) { try await get("http://127.0.0.1:\(ports.0)/health").code == 200 })
        let b = try cluster.start("b", port: ports.1)
        #expect(
            try await eventually(.seconds(10)) {
                try await get("http://127.0.0.1:\(ports.1)/health/standby").code == 200
            }
        )
        // Let the cluster reader see both rows.
        try await Task.sleep(for: .milliseconds(1500))

        let before = try await render(
            "http://127.0.0.1:\(ports.1)/",
            screenshot: cluster.directory + "/page-before.png"
        )
        #expect(before.contains("<b id=\"active-node\">a</b>"), "page before takeover:\n\(before)")
        #expect(colour(of: "a", in: before) == "green")
        #expect(colour(of: "b", in: before) == "grey")
        #expect(before.contains("http-equiv=\"refresh\""))

        a.stop(SIGKILL)
        #expect(try await eventually(.seconds(10)) { try await get("http://127.0.0.1:\(ports.1)/health").code == 200 })
        // The page refreshes itself every 2 s: after the takeover it shows b active and a stale (red, once a's row ages past the timeout).
        var after = ""
        let updated = try await eventually(.seconds(15)) {
            after = try await render("http://127.0.0.1:\(ports.1)/", screenshot: cluster.directory + "/page-after.png")
            return after.contains("<b id=\"active-node\">b</b>") && colour(of: "b", in: after) == "green"
                && colour(of: "a", in: after) == "red"
        }
        #expect(updated, "page after takeover:\n\(after)")
        #expect(FileManager.default.fileExists(atPath: cluster.directory + "/page-after.png"), "no screenshot")

        // Issue 17 item 7: the timeline of the last hours beside the table, drawn on the server as inline SVG:
        // a bar per epoch (a's ended when b took over, b's is active), each with who, how, why and how long
        // on hover, and the plots of this node's heartbeat age and lease-call latency; readable at phone width.
        var page = ""
        let drawn = try await eventually(.seconds(20)) {
            page = try await render(
                "http://127.0.0.1:\(ports.1)/",
                screenshot: cluster.directory + "/page-timeline-phone.png",
                window: "390,844"
            )
            return page.contains("<svg id=\"timeline\"") && page.contains("ended: active")
                && page.contains("b from") && page.contains("by takeover")
        }
        #expect(drawn, "no timeline with b's takeover:\n\(page)")
        #expect(page.contains("<rect class=\"epoch\""), "no epoch bars")
        #expect(page.contains("<svg id=\"heartbeat-age\"") && page.contains("<svg id=\"call-latency\""), "no plots")
        #expect(page.contains("name=\"viewport\""), "not set up for a phone-width window")
        #expect(FileManager.default.fileExists(atPath: cluster.directory + "/page-timeline-phone.png"), "no screenshot")
        b.stop()
    }
}
