import FoundationEssentials
import Glibc
import HotStandbyCore

/// One alert as it goes out: a single event, or a digest of many from one cluster.
public struct AlertMessage: Sendable, Equatable {
    /// The cluster the events belong to.
    public var cluster: String
    /// The events, oldest first.
    public var events: [AlertEvent]
    /// Whether this is a digest of a storm rather than one event's alert.
    public var isDigest: Bool
    /// `[hotstandby] <cluster>: <one line>`.
    public var subject: String
    /// The plain-text body.
    public var text: String

    /// The alert for one event. `clusterNow` is an optional one-paragraph status the caller can supply.
    public static func single(_ event: AlertEvent, sentBy node: String, clusterNow: String? = nil) -> AlertMessage {
        let words = AlertText(event)
        var lines: [String] = ["WHAT HAPPENED"]
        lines += words.happened
        lines += [
            "", "WHEN",
            "\(Self.readable(event.at)) (event \(event.id), epoch \(event.epoch), recorded by \(event.node))",
        ]
        lines += ["", "HOSTS"] + Self.hosts(event)
        if case .array(let steps)? = event.detail["steps"], !steps.isEmpty {
            lines += ["", "ACTIONS"] + steps.map(Self.stepLine)
        }
        lines += ["", "THE CLUSTER NOW"] + words.now
        if let clusterNow { lines += [clusterNow] }
        lines += ["", "WHAT TO DO"] + words.todo.enumerated().map { "\($0.offset + 1). \($0.element)" }
        let rest = event.detail.filter { !words.used.contains($0.key) }.sorted { $0.key < $1.key }
        if !rest.isEmpty { lines += ["", "DETAILS"] + rest.map { "  \($0.key): \($0.value.prose)" } }
        lines += [
            "", "--", "Sent by hotstandby on \(node). Each alert is sent once; `hotstandby status` shows the roles.",
        ]
        return AlertMessage(
            cluster: event.cluster,
            events: [event],
            isDigest: false,
            subject: "[hotstandby] \(event.cluster): \(words.headline)",
            text: lines.joined(separator: "\n")
        )
    }

    /// One message for a storm of events from one cluster, oldest first.
    public static func digest(
        _ events: [AlertEvent],
        sentBy node: String,
        maxPerMinute: Int,
        clusterNow: String? = nil
    ) -> AlertMessage {
        let cluster = events.first?.cluster ?? ""
        var kinds: [String] = []
        for event in events where !kinds.contains(event.kind) { kinds.append(event.kind) }
        var lines = [
            "WHAT HAPPENED",
            "\(events.count) events within a minute, more than alerts.maxPerMinute (\(maxPerMinute)): "
                + "they are summarised here, oldest first.",
            "",
            "EVENTS",
        ]
        lines += events.map { "\(Self.readable($0.at))  \($0.node)  epoch \($0.epoch)  \(AlertText($0).headline)" }
        if let important = events.last(where: { ["takeover", "fenced", "deposed", "ha-lost"].contains($0.kind) }) {
            lines += ["", "THE CLUSTER NOW (as of the last \(important.kind))"] + AlertText(important).now
        } else {
            lines += ["", "THE CLUSTER NOW"]
        }
        if let clusterNow { lines += [clusterNow] }
        let ids = events.map(\.id)
        lines += [
            "",
            "WHAT TO DO",
            "1. Run `hotstandby status` to see the roles.",
            "2. Read the events in the table hotstandby_event (ids \(ids.min() ?? 0) to \(ids.max() ?? 0)) "
                + "and the nodes' logs to find what keeps changing.",
            "", "--", "Sent by hotstandby on \(node).",
        ]
        return AlertMessage(
            cluster: cluster,
            events: events,
            isDigest: true,
            subject: "[hotstandby] \(cluster): \(events.count) events in a minute (\(kinds.joined(separator: ", ")))",
            text: lines.joined(separator: "\n")
        )
    }

    /// A Message-ID that is the same for the same events, so a duplicate is recognisable.
    public func messageID(domain: String) -> String {
        let ids = events.map(\.id)
        let span = isDigest ? "\(ids.min() ?? 0)-\(ids.max() ?? 0)" : "\(ids.first ?? 0)"
        // ASCII letters and digits only: a header field of RFC 5322 is ASCII (an 'ö' went through raw).
        let safe = cluster.unicodeScalars.map {
            ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) ? String($0) : "_"
        }
        .joined()
        return "<hotstandby.\(safe).\(span)@\(domain)>"
    }

    /// The message in RFC 5322 form with CRLF line ends, as an SMTP server receives it.
    func email(from: String, to: [String], date: Date) -> [UInt8] {
        let domain = from.split(separator: "@").last.map(String.init) ?? "hotstandby.invalid"
        let headers = [
            "Date: \(Self.rfc5322(date))",
            "From: \(from)",
            "To: \(to.joined(separator: ", "))",
            "Subject: \(Self.encodeHeader(subject))",
            "Message-ID: \(messageID(domain: domain))",
            "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=utf-8",
            "Content-Transfer-Encoding: 8bit",
            "Auto-Submitted: auto-generated",
            "X-Hotstandby-Cluster: \(Self.encodeHeader(cluster))",
            "X-Hotstandby-Events: \(events.map { String($0.id) }.joined(separator: " "))",
        ]
        let body = text.replacing("\r", with: "").split(
            separator: "\n",
            omittingEmptySubsequences: false
        ).flatMap { Self.wrap(String($0)) }
        return Array(((headers + [""] + body).joined(separator: "\r\n") + "\r\n").utf8)
    }

    /// The message as the webhook's JSON body.
    func json(sentBy node: String) -> [UInt8] {
        struct Body: Encodable {
            var cluster: String
            var subject: String
            var text: String
            var digest: Bool
            var sentBy: String
            var events: [AlertEvent]
        }
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys]
        let body = Body(cluster: cluster, subject: subject, text: text, digest: isDigest, sentBy: node, events: events)
        return Array((try? encoder.encode(body)) ?? Data("{}".utf8))
    }

    private static func hosts(_ event: AlertEvent) -> [String] {
        var lines = ["Recorded by: \(event.node)"]
        for key in ["from", "to"] {
            if let value = event.detail[key], value != .null { lines.append("\(key.capitalized): \(value.prose)") }
        }
        return lines
    }

    private static func stepLine(_ step: JSONValue) -> String {
        guard case .object(let fields) = step else { return "  \(step.prose)" }
        let ok = fields["ok"] == .bool(true)
        var line = "  \(ok ? "ok  " : "FAILED") \(fields["step"]?.prose ?? "?")"
        if let seconds = fields["seconds"] { line += " (\(seconds.prose) s)" }
        if let error = fields["error"], error != .null { line += ": \(error.prose)" }
        return line
    }

    /// `2024-03-05 03:00:01 UTC`.
    static func readable(_ date: Date) -> String {
        UTCText.format(secondsSince1970: date.timeIntervalSince1970, "%Y-%m-%d %H:%M:%S UTC")
    }

    private static func rfc5322(_ date: Date) -> String {
        UTCText.format(secondsSince1970: date.timeIntervalSince1970, "%a, %d %b %Y %H:%M:%S +0000")
    }

    /// RFC 2047 for a header with non-ASCII text; control characters become spaces.
    private static func encodeHeader(_ value: String) -> String {
        let clean = String(value.unicodeScalars.map { $0.properties.generalCategory == .control ? " " : Character($0) })
        if clean.unicodeScalars.allSatisfy(\.isASCII) { return clean }
        return "=?utf-8?B?\(Data(clean.utf8).base64EncodedString())?="
    }

    /// SMTP allows 998 bytes a line; wrap longer lines (long error texts) at 900 bytes.
    private static func wrap(_ line: String) -> [String] {
        var result: [String] = []
        var current = ""
        for character in line {
            if current.utf8.count + character.utf8.count > 900 {
                result.append(current)
                current = "  "
            }
            current.append(character)
        }
        result.append(current)
        return result
    }
}
