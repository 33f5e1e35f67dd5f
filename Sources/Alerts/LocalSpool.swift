import FoundationEssentials
import Glibc
import HotStandbyCore

/// A bounded queue on disk for events that could not be written to the database, in the node's state folder.
///
/// One JSON file per event, named by a sequence number; `drain(into:)` writes them out oldest first when the
/// database is back. A crash between writing an event and deleting its file can write it twice.
public actor LocalSpool {
    /// The spool's folder.
    public let directory: URL
    /// At most this many events are kept; more are refused.
    public let maxEvents: Int
    private var nextSequence: Int64
    /// Whether a drain is running, and the drains waiting for their turn.
    private var draining = false
    private var waiting: [CheckedContinuation<Void, Never>] = []

    /// Opens (and creates, mode 0700) the spool folder, e.g. `<stateDir>/alert-spool`.
    /// - Parameter maxEvents: the bound. Defaults to 1000.
    public init(directory: String, maxEvents: Int = 1000) throws {
        self.directory = URL(fileURLWithPath: directory, isDirectory: true)
        self.maxEvents = maxEvents
        do {
            try FileManager.default.createDirectory(
                at: self.directory,
                withIntermediateDirectories: true,
                attributes: [.posixPermissions: 0o700]
            )
        } catch {
            throw AlertsError(code: .spool, message: "alert spool '\(directory)' cannot be created: \(error)")
        }
        nextSequence = (Self.sequences(in: self.directory).last ?? 0) + 1
    }

    /// Queues an event; its `id` is replaced by a local sequence number. Throws when the spool is full.
    public func add(_ event: AlertEvent) throws {
        let existing = Self.sequences(in: directory)
        if existing.count >= maxEvents {
            throw AlertsError(
                code: .spool,
                message: "alert spool '\(directory.path)' holds \(existing.count) events, its limit; "
                    + "this '\(event.kind)' event is only in the log"
            )
        }
        var event = event
        event.id = nextSequence
        nextSequence += 1
        do {
            try Self.encoder.encode(event).write(to: file(event.id), options: .atomic)
        } catch {
            throw AlertsError(code: .spool, message: "alert spool '\(directory.path)' cannot be written: \(error)")
        }
    }

    /// How many events are waiting.
    public func count() -> Int { Self.sequences(in: directory).count }

    /// The waiting events, oldest first (unreadable files are skipped).
    public func events() -> [AlertEvent] {
        Self.sequences(in: directory).compactMap(load)
    }

    /// Hands each event to `write` oldest first and deletes it once `write` returns. Stops at the first
    /// error and rethrows it; the rest stay queued. Returns how many were written. Drains take turns (the
    /// actor lets another call in while `write` waits), so no event is handed out twice.
    public func drain(into write: @Sendable (AlertEvent) async throws -> Void) async throws -> Int {
        while draining { await withCheckedContinuation { waiting.append($0) } }
        draining = true
        defer {
            draining = false
            if !waiting.isEmpty { waiting.removeFirst().resume() }
        }
        var written = 0
        for sequence in Self.sequences(in: directory) {
            guard let event = load(sequence) else {
                try? FileManager.default.removeItem(at: file(sequence))
                continue
            }
            try await write(event)
            try? FileManager.default.removeItem(at: file(sequence))
            written += 1
        }
        return written
    }

    private func load(_ sequence: Int64) -> AlertEvent? {
        guard let data = FileManager.default.contents(atPath: file(sequence).path) else { return nil }
        return try? Self.decoder.decode(AlertEvent.self, from: data)
    }

    private func file(_ sequence: Int64) -> URL {
        directory.appendingPathComponent(String(cFormat: "%020lld.json", sequence))
    }

    private static func sequences(in directory: URL) -> [Int64] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.compactMap { name in
            name.hasSuffix(".json") ? Int64(name.dropLast(5)) : nil
        }.sorted()
    }

    private static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }

    private static var decoder: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }
}
