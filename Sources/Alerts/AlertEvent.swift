import FoundationEssentials
import HotStandbyCore

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
    public var detail: [String: JSONValue]

    /// Creates an event.
    public init(
        id: Int64,
        cluster: String,
        at: Date,
        epoch: Int64,
        node: String,
        kind: String,
        detail: [String: JSONValue] = [:]
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
        "address-restored", "address-removed", "failsafe-entered", "failsafe-left", "failsafe-peer",
    ]

    /// The kinds that alert only when `alerts.events` names them: a daemon's start and a promotion's
    /// outcome (a failed step alerts as `action-failed`, the takeover itself as `takeover`).
    public static let quietByDefault: Set<String> = ["started", "promoted"]
}

extension JSONValue {
    /// The value as an operator reads it in an alert: `yes`/`no`, `none`, lists without brackets.
    var prose: String {
        switch self {
        case .string(let value): return value
        case .number(let value):
            return value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
        case .bool(let value): return value ? "yes" : "no"
        case .array(let values): return values.map(\.prose).joined(separator: ", ")
        case .object(let fields):
            return fields.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value.prose)" }.joined(separator: ", ")
        case .null: return "none"
        }
    }

    /// The string, or nil for any other case.
    var string: String? {
        if case .string(let value) = self { return value }
        return nil
    }
}
