import Dispatch
import FoundationEssentials
import Glibc
import HotStandbyCore
import Logging
import Synchronization

/// Where log lines wait for the writer: a bounded buffer that one thread drains to a file descriptor.
///
/// `StreamLogHandler` writes under a lock with a blocking `write`: when whatever reads standard error
/// stalls (journald back-pressure, a full pipe nobody reads), every logging task stops with it, the run
/// loop and its fencing included. Here a log call only appends to the buffer (a short, bounded critical
/// section) and returns; the writer thread does the blocking writes. When the buffer is full a line is
/// dropped and counted, and the writer reports the count in the next line it writes.
public final class LogSink: Sendable {
    private struct State {
        public var lines: [String] = []
        public var bytes = 0
        public var dropped = 0
        /// Lines taken by the writer and not yet written.
        public var writing = 0
    }

    /// The process's sink for standard error, started at its first use.
    public static let standardError = LogSink()

    private let state = Mutex(State())
    private let wake = DispatchSemaphore(value: 0)
    private let descriptor: Int32
    /// The most bytes of lines that wait; more are dropped. Defaults to 1 MiB.
    public let capacity: Int

    /// Creates a sink writing to `descriptor` (standard error by default) and starts its writer thread.
    public init(descriptor: Int32 = 2, capacity: Int = 1 << 20) {
        self.descriptor = descriptor
        self.capacity = capacity
        DetachedThread.start(name: "hotstandby-log") { [self] in self.drain() }
    }

    /// How many lines were dropped so far because the buffer was full.
    public var droppedCount: Int { state.withLock { $0.dropped } }

    /// Queues one line (with its newline); never waits for the writer.
    public func enqueue(_ line: String) {
        let queued = state.withLock { state -> Bool in
            guard state.bytes + line.utf8.count <= capacity else {
                state.dropped += 1
                return false
            }
            state.lines.append(line)
            state.bytes += line.utf8.count
            return true
        }
        if queued { wake.signal() }
    }

    /// Waits, at most `limit`, until every queued line is written: before the process exits.
    public func flush(within limit: Duration = .seconds(1)) {
        let deadline = ContinuousClock.now.advanced(by: limit)
        while ContinuousClock.now < deadline {
            if state.withLock({ $0.lines.isEmpty && $0.writing == 0 }) { return }
            usleep(5_000)
        }
    }

    private func drain() {
        var reportedDrops = 0
        while true {
            wake.wait()
            let (lines, dropped) = state.withLock { state -> ([String], Int) in
                defer {
                    state.writing = state.lines.count
                    state.lines.removeAll(keepingCapacity: true)
                    state.bytes = 0
                }
                return (state.lines, state.dropped)
            }
            defer { state.withLock { $0.writing = 0 } }
            var text = lines.joined()
            if dropped > reportedDrops {
                text +=
                    "\(LogFormat.timestamp()) warning hotstandby.log : dropped=\(dropped - reportedDrops) "
                    + "log lines dropped: standard error was not read fast enough\n"
                reportedDrops = dropped
            }
            writeAll(Array(text.utf8))
        }
    }

    private func writeAll(_ bytes: [UInt8]) {
        var offset = 0
        bytes.withUnsafeBytes { buffer in
            while offset < buffer.count {
                let written = write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    return  // a closed or broken descriptor: nothing to do but drop the lines
                }
                offset += written
            }
        }
    }
}

/// A log handler that never blocks its caller: it formats the line and hands it to a `LogSink`.
public struct NonBlockingLogHandler: LogHandler {
    public let label: String
    public let sink: LogSink
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { $1 } }
        if let extra = event.metadata { merged.merge(extra) { $1 } }
        let fields = merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        sink.enqueue(
            "\(LogFormat.timestamp()) \(event.level) \(label) :\(fields.isEmpty ? "" : " " + fields) \(event.message)\n"
        )
    }
}

/// The line format's timestamp: local ISO 8601 to the second, as StreamLogHandler wrote it.
public enum LogFormat {
    public static func timestamp() -> String {
        var now = time(nil)
        var parts = tm()
        localtime_r(&now, &parts)
        var buffer = [Int8](repeating: 0, count: 32)
        let count = strftime(&buffer, buffer.count, "%Y-%m-%dT%H:%M:%S%z", &parts)
        return String(decoding: buffer.prefix(count).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
