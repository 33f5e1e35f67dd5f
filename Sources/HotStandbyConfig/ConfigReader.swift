import HotStandbyCore

/// A configuration problem: names the file, the key and the value, and says what is expected.
public struct ConfigError: Error, CustomStringConvertible {
    public var problems: [String]
    public var file: String

    public var description: String {
        if problems.count == 1 { return "\(file): \(problems[0])" }
        return "\(file): \(problems.count) problems:\n" + problems.map { "  - \($0)" }.joined(separator: "\n")
    }
}

/// Reads typed values out of a YAML document by dotted key, collecting every problem (not just the
/// first) and reporting keys nobody asked for, so a typo (`heartbeat.intervall`) is caught.
public final class ConfigReader {
    private let root: YAMLNode?
    private(set) var problems: [String] = []
    private var consumed: Set<String> = []

    public init(yaml: String) {
        do {
            root = try YAMLDocument.load(yaml)
        } catch {
            root = nil
            problems.append("not valid YAML: \(error)")
        }
        if let root, root.mapping == nil {
            problems.append("the document must be a mapping of keys (cluster:, node:, database:, …)")
        }
        if let root { reportRepeatedKeys(root, prefix: "") }
    }

    /// A key written twice in one mapping: YAML leaves it undefined which one wins, so it is refused.
    private func reportRepeatedKeys(_ node: YAMLNode, prefix: String) {
        guard let pairs = node.mapping else { return }
        var seen: Set<String> = []
        for pair in pairs {
            let key = prefix.isEmpty ? (pair.key ?? "?") : prefix + "." + (pair.key ?? "?")
            if let name = pair.key, !seen.insert(name).inserted {
                problems.append("\(key): written more than once (keep one)")
            }
            reportRepeatedKeys(pair.value, prefix: key)
        }
    }

    public func problem(_ text: String) { problems.append(text) }

    /// The node at a dotted key, or nil when absent; the key counts as known.
    public func node(_ key: String) -> YAMLNode? {
        consumed.insert(key)
        return lookup(key)
    }

    private func lookup(_ key: String) -> YAMLNode? {
        var current = root
        for part in key.split(separator: ".") {
            current = current?[String(part)]
        }
        if current?.isNull == true { return nil }
        return current
    }

    /// Whether the key is present (without marking it known: its own keys are still checked).
    public func has(_ key: String) -> Bool { lookup(key) != nil }

    public func string(_ key: String) -> String? {
        guard let node = node(key) else { return nil }
        guard let scalar = node.scalar else {
            problem("\(key): expected a single value, found \(kind(node))")
            return nil
        }
        return scalar
    }

    public func requiredString(_ key: String, example: String) -> String {
        guard let value = string(key) else {
            if !problems.contains(where: { $0.hasPrefix(key + ":") }) {
                problem("\(key): missing; write for example `\(example)`")
            }
            return ""
        }
        if value.trimmingBlanks().isEmpty {
            problem("\(key): must not be empty")
        }
        return value
    }

    public func int(_ key: String, default value: Int, range: ClosedRange<Int>) -> Int {
        guard let text = string(key) else { return value }
        guard let parsed = Int(text), range.contains(parsed) else {
            problem("\(key): '\(text)' is not a whole number from \(range.lowerBound) to \(range.upperBound)")
            return value
        }
        return parsed
    }

    public func bool(_ key: String, default value: Bool) -> Bool {
        guard let text = string(key) else { return value }
        switch text.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default:
            problem("\(key): '\(text)' is not true or false")
            return value
        }
    }

    public func duration(_ key: String, default value: Duration?) -> Duration? {
        guard let text = string(key) else { return value }
        guard let parsed = Self.parseDuration(text) else {
            problem("\(key): '\(text)' is not a duration; write it with a unit: 500ms, 5s, 1m, 1h")
            return value
        }
        return parsed
    }

    /// A list of strings (an argv): `[/usr/bin/systemctl, start, app]`.
    public func stringList(_ key: String) -> [String]? {
        guard let node = node(key) else { return nil }
        guard let sequence = node.sequence else {
            problem("\(key): expected a list such as [\"/usr/bin/systemctl\", \"start\", \"app\"], found \(kind(node))")
            return nil
        }
        var values: [String] = []
        for (index, item) in sequence.enumerated() {
            guard let scalar = item.scalar else {
                problem("\(key)[\(index)]: expected a single value, found \(kind(item))")
                continue
            }
            values.append(scalar)
        }
        return values
    }

    /// Reports keys present in the document that no reader asked for (typos, misplaced keys).
    /// Keys under `opaque` prefixes are not checked here.
    public func reportUnknownKeys(opaque: Set<String> = []) {
        guard let mapping = root?.mapping else { return }
        func walk(_ mapping: [YAMLNode.Pair], prefix: String) {
            for pair in mapping {
                let value = pair.value
                let key = prefix.isEmpty ? (pair.key ?? "?") : prefix + "." + (pair.key ?? "?")
                if opaque.contains(key) { continue }
                if let child = value.mapping {
                    walk(child, prefix: key)
                } else if !consumed.contains(key) {
                    problem("\(key): unknown key (check its spelling and indentation)")
                }
            }
        }
        walk(mapping, prefix: "")
    }

    private func kind(_ node: YAMLNode) -> String {
        switch node {
        case .scalar: return "a single value"
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        }
    }

    /// Parses `500ms`, `5s`, `1.5s`, `2m`, `1h`.
    public static func parseDuration(_ text: String) -> Duration? { Duration(configText: text) }
}
