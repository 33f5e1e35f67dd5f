import FailoverController
import FoundationEssentials
import Heartbeat
import HotStandbyCore

/// The HTML status page at `/`: rendered on the server (no script), refreshes itself every 2 seconds.
///
/// Each node is a row coloured green (active and seen within the timeout), grey (standby) or red
/// (not seen within the timeout, or stopped), with its heartbeat age, the epoch and the last events.
public struct StatusPage: Sendable {
    public let node: String
    public let timeout: Duration
    public let writable: Bool

    /// The page for a `/status` document, with the timeline of the last hours (who held the role when, and this
    /// node's heartbeat age and lease-call latency) when `timeline` is given.
    public func render(
        _ document: HTTPState.Document,
        timeline: (history: [HolderEpoch], samples: [HTTPState.Sample]) = ([], []),
        now: Date = Date()
    ) -> String {
        let me = document.node
        var body = ""
        body += "<h1>hotstandby <span id=\"cluster\">\(Self.escape(document.cluster?.cluster ?? ""))</span></h1>\n"
        body +=
            "<p id=\"this-node\">This node: <b>\(Self.escape(me.node))</b> is <b class=\"role-\(Self.escape(me.role))\">"
            + "\(Self.escape(me.role))</b> in epoch \(me.epoch) — \(Self.escape(me.note)); last lease call "
            + "\(format(me.secondsSinceLastSuccess)) s ago.</p>\n"
        if let cluster = document.cluster {
            let active = cluster.activeNode ?? "none (lease released)"
            body +=
                "<p id=\"lease\">Active: <b id=\"active-node\">\(Self.escape(active))</b> · epoch \(cluster.epoch)"
                + " · counter \(cluster.counter) · lease updated \(format(cluster.leaseAgeSeconds)) s ago"
                + (cluster.paused ? " · <b class=\"paused\">PAUSED</b>" : "")
                + (cluster.handoverTo.map { " · switchover to \(Self.escape($0)) requested" } ?? "") + "</p>\n"
            body += nodesTable(cluster)
            body += Timeline(history: timeline.history, samples: timeline.samples, now: now).svg()
            body += eventsTable(cluster.events)
        }
        if let error = document.clusterError {
            body += "<p class=\"error\">Cannot read the cluster from the database: \(Self.escape(error))</p>\n"
        }
        if let age = document.clusterReadAgeSeconds {
            body += "<p class=\"small\">Cluster read \(format(age)) s ago from this node's database connection.</p>\n"
        }
        return """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8">
            <meta http-equiv="refresh" content="2">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(Self.escape(me.role)) · \(Self.escape(me.node)) · hotstandby</title>
            <style>
            body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
            body { max-width: 72em; }
            table { border-collapse: collapse; margin: 1em 0; width: 100%; }
            td, th { padding: .3em .8em; border-bottom: 1px solid #ddd; text-align: left; vertical-align: top; }
            td.wrap { white-space: normal; overflow-wrap: anywhere; }
            svg { width: 100%; height: auto; display: block; } #timeline { max-width: 50em; } .plot { max-width: 30em; }
            .scroll { overflow-x: auto; }
            .dot { display: inline-block; width: .9em; height: .9em; border-radius: 50%; }
            .green { background: #2e9d3a; } .grey { background: #999; } .red { background: #d33; } .amber { background: #e0a000; }
            .role-active { color: #2e9d3a; } .paused, .error { color: #d33; } .small { color: #777; font-size: .9em; }
            </style></head>
            <body>
            \(body)</body></html>
            """
    }

    /// The colour of a node's row: green active and fresh, red stale or stopped, grey otherwise.
    public func colour(_ row: ClusterStatus.Node, activeNode: String?) -> String {
        if row.state == "gone" || row.state == NodeRole.stopped.rawValue { return "red" }
        if row.role == NodeRole.active.rawValue && row.node == activeNode { return row.eligible ? "green" : "amber" }
        if !row.eligible { return "amber" }
        return "grey"
    }

    private func nodesTable(_ cluster: ClusterStatus) -> String {
        var html =
            "<div class=\"scroll\"><table id=\"nodes\"><tr><th></th><th>node</th><th>role</th><th>health</th><th>heartbeat age</th>"
            + "<th>priority</th><th>version</th><th>note</th></tr>\n"
        for row in cluster.nodes {
            let colour = colour(row, activeNode: cluster.activeNode)
            let health = row.state == row.role ? row.health : "-"
            html +=
                "<tr class=\"node \(colour)-row\" data-node=\"\(Self.escape(row.node))\" data-role=\"\(Self.escape(row.role))\" "
                + "data-state=\"\(Self.escape(row.state))\" data-eligible=\"\(row.eligible)\" "
                + "data-colour=\"\(colour)\"><td><span class=\"dot \(colour)\"></span></td>"
                + "<td>\(Self.escape(row.node))\(row.node == node ? " (this node)" : "")</td><td>\(Self.escape(row.state))</td>"
                + "<td class=\"health wrap\">\(Self.escape(health))</td>"
                + "<td>\(format(row.lastSeenSeconds)) s</td><td>\(row.priority)</td>"
                + "<td>\(Self.escape(row.version ?? ""))</td><td class=\"wrap\">\(Self.escape(row.note))</td></tr>\n"
        }
        return html + "</table></div>\n"
    }

    private func eventsTable(_ events: [ClusterStatus.Event]) -> String {
        guard !events.isEmpty else { return "" }
        var html =
            "<h2>Last events</h2>\n<div class=\"scroll\"><table id=\"events\"><tr><th>at (UTC)</th><th>epoch</th><th>node</th>"
            + "<th>event</th><th>detail</th></tr>\n"
        for event in events {
            var detail = ""
            if case .object(let fields) = event.detail {
                detail = fields.sorted { $0.key < $1.key }.filter { $0.key != "steps" }
                    .map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            }
            html +=
                "<tr><td>\(Self.escape(event.at))</td><td>\(event.epoch)</td><td>\(Self.escape(event.node))</td>"
                + "<td>\(Self.escape(event.kind))</td><td class=\"wrap\">\(Self.escape(detail))</td></tr>\n"
        }
        return html + "</table></div>\n"
    }

    private func format(_ seconds: Double) -> String {
        let tenths = (seconds * 10).rounded()
        return "\(Int(tenths) / 10).\(abs(Int(tenths)) % 10)"
    }

    fileprivate static func escape(_ text: String) -> String {
        var out = ""
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }
}

/// The page's timeline, drawn on the server as inline SVG (no script): one lane per node with a bar for each
/// epoch it held in the last `window` (hover shows who, when, how it began and why, how long, how it ended),
/// a mark at each change of holder, and two small plots of this node's heartbeat age and lease-call latency.
struct Timeline {
    var history: [HolderEpoch]
    var samples: [HTTPState.Sample]
    var now: Date
    var window: TimeInterval

    private static let width = 600.0
    private static let lane = 30.0
    private static let left = 70.0

    /// `2026-12-02T01:02:03.456Z` (or without the fraction) as a date.
    static func date(_ text: String) -> Date? {
        (try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text))
            ?? (try? Date.ISO8601FormatStyle().parse(text))
    }

    /// Where the axis starts: the first epoch in the window (at least a minute back), at most `window` back.
    private let start: Date

    init(history: [HolderEpoch], samples: [HTTPState.Sample], now: Date, window: TimeInterval = HTTPState.window) {
        self.history = history
        self.samples = samples
        self.now = now
        self.window = window
        let first = history.compactMap { Self.date($0.since) }.min() ?? now.addingTimeInterval(-window)
        start = max(min(first, now.addingTimeInterval(-60)), now.addingTimeInterval(-window))
    }

    /// The x of `date` on the axis (`start` at `left`, now at `width`).
    private func x(_ date: Date) -> Double {
        let span = max(now.timeIntervalSince(start), 1)
        let fraction = min(max(date.timeIntervalSince(start) / span, 0), 1)
        return Self.left + fraction * (Self.width - Self.left)
    }

    /// The axis' span in words: `12 min`, `3.5 h`.
    private var spanText: String {
        let seconds = now.timeIntervalSince(start)
        return seconds < 3600 ? "\(Int((seconds / 60).rounded())) min" : String(cFormat: "%.1f h", seconds / 3600)
    }

    func svg() -> String {
        let epochs = history.filter { Self.date($0.since) != nil }
        var nodes: [String] = []
        for epoch in epochs where !nodes.contains(epoch.node) { nodes.append(epoch.node) }
        var html = "<h2>Who held the role (last \(Int(window / 3600)) h)</h2>\n"
        guard !nodes.isEmpty else {
            return html + "<p class=\"small\" id=\"timeline-empty\">No change of holder in the window.</p>\n"
        }
        let height = Double(nodes.count) * Self.lane + 24
        html +=
            "<svg id=\"timeline\" viewBox=\"0 0 \(Int(Self.width)) \(Int(height))\" role=\"img\" "
            + "aria-label=\"holders of the lease over time\">\n"
        for (index, node) in nodes.enumerated() {
            let y = Double(index) * Self.lane
            html += "<text x=\"0\" y=\"\(Int(y + 20))\" font-size=\"16\">\(StatusPage.escape(node))</text>\n"
            html +=
                "<line x1=\"\(Int(Self.left))\" y1=\"\(Int(y + 15))\" x2=\"\(Int(Self.width))\" y2=\"\(Int(y + 15))\" stroke=\"#eee\"/>\n"
        }
        for epoch in epochs {
            guard let since = Self.date(epoch.since), let lane = nodes.firstIndex(of: epoch.node) else { continue }
            let until =
                epoch.until.flatMap(Self.date)
                ?? (epoch.ended == "active" ? now : since.addingTimeInterval(epoch.heldSeconds ?? 0))
            let x0 = x(since)
            let x1 = max(x(until), x0 + 2)
            let y = Double(lane) * Self.lane + 5
            let colour =
                epoch.ended == "active"
                ? "#2e9d3a" : epoch.ended == "fenced" || epoch.ended == "taken over" ? "#d33" : "#7a9cc6"
            let held = epoch.heldSeconds.map { String(cFormat: "%.1f s", $0) } ?? "unknown"
            let tip =
                "epoch \(epoch.epoch): \(epoch.node) from \(epoch.since) by \(epoch.how) (\(epoch.why)); held \(held); ended: \(epoch.ended)"
            html +=
                "<rect class=\"epoch\" data-epoch=\"\(epoch.epoch)\" x=\"\(Int(x0))\" y=\"\(Int(y))\" width=\"\(Int(x1 - x0))\" "
                + "height=\"20\" fill=\"\(colour)\"><title>\(StatusPage.escape(tip))</title></rect>\n"
            // The change of holder that began it: a mark with its reason.
            html +=
                "<path class=\"mark\" d=\"M\(Int(x0)) \(Int(y - 3)) l4 -3 l-8 0 z\" fill=\"#222\"><title>"
                + "\(StatusPage.escape("\(epoch.how) → \(epoch.node): \(epoch.why)"))</title></path>\n"
        }
        let axisY = Double(nodes.count) * Self.lane + 18
        html +=
            "<text x=\"\(Int(Self.left))\" y=\"\(Int(axisY))\" font-size=\"13\" fill=\"#777\">−\(spanText)</text>"
            + "<text x=\"\(Int(Self.width - 32))\" y=\"\(Int(axisY))\" font-size=\"13\" fill=\"#777\">now</text>\n</svg>\n"
        return html + plots()
    }

    /// This node's heartbeat age and lease-call latency as two small line plots.
    private func plots() -> String {
        let recent = samples.filter { now.timeIntervalSince($0.at) <= window }
        guard recent.count >= 2 else { return "" }
        var html = "<div class=\"plot\">"
        html += plot(id: "heartbeat-age", title: "heartbeat age (s)", values: recent.map { ($0.at, $0.heartbeatAge) })
        html += plot(
            id: "call-latency",
            title: "lease call latency (ms)",
            values: recent.compactMap { s in s.callSeconds.map { (s.at, $0 * 1000) } }
        )
        return html + "</div>\n"
    }

    private func plot(id: String, title: String, values: [(Date, Double)]) -> String {
        guard let first = values.first?.0, let last = values.last?.0, last > first else { return "" }
        let top = max(values.map(\.1).max() ?? 1, 0.001)
        let span = last.timeIntervalSince(first)
        let points = values.map { date, value in
            String(cFormat: "%.1f,%.1f", 40 + date.timeIntervalSince(first) / span * 350, 55 - value / top * 45)
        }.joined(separator: " ")
        return "<svg id=\"\(id)\" viewBox=\"0 0 400 70\" role=\"img\" aria-label=\"\(title)\">"
            + "<text x=\"0\" y=\"12\" font-size=\"11\">\(title): max \(String(cFormat: "%.3g", top))</text>"
            + "<polyline fill=\"none\" stroke=\"#2e6fd3\" stroke-width=\"1.2\" points=\"\(points)\"/>"
            + "<line x1=\"40\" y1=\"55\" x2=\"390\" y2=\"55\" stroke=\"#ccc\"/></svg>"
    }
}
