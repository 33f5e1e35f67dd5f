import FailoverController
import Heartbeat

/// The HTML status page at `/`: rendered on the server (no script), refreshes itself every 2 seconds.
///
/// Each node is a row coloured green (active and seen within the timeout), grey (standby) or red
/// (not seen within the timeout, or stopped), with its heartbeat age, the epoch and the last events.
public struct StatusPage: Sendable {
    public let node: String
    public let timeout: Duration
    public let writable: Bool

    /// The page for a `/status` document.
    public func render(_ document: HTTPState.Document) -> String {
        let me = document.node
        var body = ""
        body += "<h1>hotstandby <span id=\"cluster\">\(escape(document.cluster?.cluster ?? ""))</span></h1>\n"
        body +=
            "<p id=\"this-node\">This node: <b>\(escape(me.node))</b> is <b class=\"role-\(escape(me.role))\">"
            + "\(escape(me.role))</b> in epoch \(me.epoch) — \(escape(me.note)); last lease call "
            + "\(format(me.secondsSinceLastSuccess)) s ago.</p>\n"
        if let cluster = document.cluster {
            let active = cluster.activeNode ?? "none (lease released)"
            body +=
                "<p id=\"lease\">Active: <b id=\"active-node\">\(escape(active))</b> · epoch \(cluster.epoch)"
                + " · counter \(cluster.counter) · lease updated \(format(cluster.leaseAgeSeconds)) s ago"
                + (cluster.paused ? " · <b class=\"paused\">PAUSED</b>" : "")
                + (cluster.handoverTo.map { " · switchover to \(escape($0)) requested" } ?? "") + "</p>\n"
            body += nodesTable(cluster)
            body += eventsTable(cluster.events)
        }
        if let error = document.clusterError {
            body += "<p class=\"error\">Cannot read the cluster from the database: \(escape(error))</p>\n"
        }
        if let age = document.clusterReadAgeSeconds {
            body += "<p class=\"small\">Cluster read \(format(age)) s ago from this node's database connection.</p>\n"
        }
        return """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8">
            <meta http-equiv="refresh" content="2">
            <title>\(escape(me.role)) · \(escape(me.node)) · hotstandby</title>
            <style>
            body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
            table { border-collapse: collapse; margin: 1em 0; }
            td, th { padding: .3em .8em; white-space: nowrap; border-bottom: 1px solid #ddd; text-align: left; }
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
            "<table id=\"nodes\"><tr><th></th><th>node</th><th>role</th><th>health</th><th>heartbeat age</th>"
            + "<th>priority</th><th>version</th><th>note</th></tr>\n"
        for row in cluster.nodes {
            let colour = colour(row, activeNode: cluster.activeNode)
            let health = row.state == row.role ? row.health : "-"
            html +=
                "<tr class=\"node \(colour)-row\" data-node=\"\(escape(row.node))\" data-role=\"\(escape(row.role))\" "
                + "data-state=\"\(escape(row.state))\" data-eligible=\"\(row.eligible)\" "
                + "data-colour=\"\(colour)\"><td><span class=\"dot \(colour)\"></span></td>"
                + "<td>\(escape(row.node))\(row.node == node ? " (this node)" : "")</td><td>\(escape(row.state))</td>"
                + "<td class=\"health\">\(escape(health))</td>"
                + "<td>\(format(row.lastSeenSeconds)) s</td><td>\(row.priority)</td>"
                + "<td>\(escape(row.version ?? ""))</td><td>\(escape(row.note))</td></tr>\n"
        }
        return html + "</table>\n"
    }

    private func eventsTable(_ events: [ClusterStatus.Event]) -> String {
        guard !events.isEmpty else { return "" }
        var html =
            "<h2>Last events</h2>\n<table id=\"events\"><tr><th>at (UTC)</th><th>epoch</th><th>node</th>"
            + "<th>event</th><th>detail</th></tr>\n"
        for event in events {
            var detail = ""
            if case .object(let fields) = event.detail {
                detail = fields.sorted { $0.key < $1.key }.filter { $0.key != "steps" }
                    .map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            }
            html +=
                "<tr><td>\(escape(event.at))</td><td>\(event.epoch)</td><td>\(escape(event.node))</td>"
                + "<td>\(escape(event.kind))</td><td>\(escape(detail))</td></tr>\n"
        }
        return html + "</table>\n"
    }

    private func format(_ seconds: Double) -> String {
        let tenths = (seconds * 10).rounded()
        return "\(Int(tenths) / 10).\(abs(Int(tenths)) % 10)"
    }

    private func escape(_ text: String) -> String {
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
