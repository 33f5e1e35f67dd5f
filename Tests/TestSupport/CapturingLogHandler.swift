import Logging
import Synchronization

/// Keeps every log line with its level, for tests where the log is the behaviour (swift-log has no
/// in-memory handler of its own in the version used here). Shared by every test target.
public final class CapturingLogHandler: LogHandler, Sendable {
    private let lines = Mutex<[(level: Logger.Level, message: String, text: String)]>([])

    /// Creates an empty handler.
    public init() {}

    public var metadata: Logger.Metadata {
        get { [:] }
        set {}
    }
    public var logLevel: Logger.Level {
        get { .trace }
        set {}
    }
    public subscript(metadataKey _: String) -> Logger.Metadata.Value? {
        get { nil }
        set {}
    }
    public func log(event: LogEvent) {
        let text = "\(event.message) \(event.metadata ?? [:])"
        lines.withLock { $0.append((event.level, event.message.description, text)) }
    }

    /// Every line so far, with its level, oldest first.
    public var all: [(level: Logger.Level, text: String)] { lines.withLock { $0.map { ($0.level, $0.text) } } }
    /// How many lines had exactly `message` (without metadata).
    public func count(_ message: String) -> Int { lines.withLock { $0.filter { $0.message == message }.count } }
    /// The lines' text (message and metadata), oldest first.
    public var texts: [String] { all.map(\.text) }
}
