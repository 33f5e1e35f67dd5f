import Foundation

/// One event of the cluster's event log (`hotstandby_event`) as the alerts see it.
public struct AlertEvent: Sendable, Equatable, Codable {
    /// The row's id in `hotstandby_event`; in the local spool, a local sequence number that is not written.
    public var id: Int64
    /// The cluster the event belongs to.
    public var cluster: String
    /// When the event was recorded (wall clock of the node that recorded it).
    public var at: Date
    /// The epoch the event belongs to.
    public var epoch: Int64
    /// The node that recorded the event.
    public var node: String
    /// The event's kind, such as `takeover`; `AlertEvent.knownKinds` lists those with their own text.
    public var kind: String
    /// Reasons, durations and step outcomes, as stored in the `detail` jsonb column.
    public var detail: [String: AlertValue]

    /// Creates an event.
    public init(
        id: Int64,
        cluster: String,
        at: Date,
        epoch: Int64,
        node: String,
        kind: String,
        detail: [String: AlertValue] = [:]
    ) {
        self.id = id
        self.cluster = cluster
        self.at = at
        self.epoch = epoch
        self.node = node
        self.kind = kind
        self.detail = detail
    }

    /// The kinds the daemon records, each with its own alert text; `alerts.events` accepts these.
    public static let knownKinds: [String] = [
        "takeover", "resumed", "handover-received", "deposed", "fenced", "demoted", "released", "handed-off",
        "switchover-requested", "vetoed", "ha-lost", "ha-restored", "database-unreachable", "database-back",
        "paused", "unpaused", "started", "action-failed", "promoted", "service-failed", "service-recovered",
        "recovered-in-place", "stepped-down", "staying-active", "not-eligible", "eligible", "failback",
        "address-restored", "address-removed",
    ]

    /// The kinds that alert only when `alerts.events` names them: a daemon's start and a promotion's
    /// outcome (a failed step alerts as `action-failed`, the takeover itself as `takeover`).
    public static let quietByDefault: Set<String> = ["started", "promoted"]
}

/// A JSON value of an event's detail.
public enum AlertValue: Sendable, Equatable, Codable, CustomStringConvertible {
    case string(String)
    case number(Double)
    case bool(Bool)
    case array([AlertValue])
    case object([String: AlertValue])
    case null

    /// Decodes a detail object from JSON text, such as the `detail` jsonb column; `{}` when it is not an object.
    public static func decodeObject(json: String) throws -> [String: AlertValue] {
        let value = try JSONDecoder().decode(AlertValue.self, from: Data(json.utf8))
        if case .object(let fields) = value { return fields }
        return [:]
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([AlertValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: AlertValue].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .string(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .bool(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        case .null: try container.encodeNil()
        }
    }

    /// The value as an operator reads it.
    public var description: String {
        switch self {
        case .string(let value): return value
        case .number(let value):
            return value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
        case .bool(let value): return value ? "yes" : "no"
        case .array(let values): return values.map(\.description).joined(separator: ", ")
        case .object(let fields):
            return fields.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ")
        case .null: return "none"
        }
    }

    /// The string, or nil for any other case.
    var string: String? {
        if case .string(let value) = self { return value }
        return nil
    }
}

extension AlertValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral,
    ExpressibleByBooleanLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .number(Double(value)) }
    public init(floatLiteral value: Double) { self = .number(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
}
