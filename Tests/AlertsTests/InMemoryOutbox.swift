import Foundation

@testable import Alerts

/// An `AlertOutbox` in memory with the PostgreSQL outbox's claim rules (the real one is tested by the lead).
actor InMemoryOutbox: AlertOutbox {
    private var events: [AlertEvent]
    private var claims: [Int64: (node: String, until: ContinuousClock.Instant)] = [:]
    /// How many times each event was marked sent.
    private(set) var sentCount: [Int64: Int] = [:]
    /// Which node sent each event.
    private(set) var sentBy: [Int64: String] = [:]

    /// How many claims were made (rounds that reached the outbox).
    private(set) var claimCount = 0

    init(_ events: [AlertEvent]) { self.events = events }

    func add(_ event: AlertEvent) { events.append(event) }

    func claim(node: String, limit: Int, lease: Duration) async throws -> [AlertEvent] {
        claimCount += 1
        let now = ContinuousClock.now
        let free = events.filter { event in
            sentCount[event.id] == nil && (claims[event.id].map { $0.until < now || $0.node == node } ?? true)
        }
        let taken = Array(free.prefix(limit))
        for event in taken { claims[event.id] = (node, now + lease) }
        return taken
    }

    func markSent(ids: [Int64]) async throws {
        for id in ids {
            sentCount[id, default: 0] += 1
            sentBy[id] = claims[id]?.node
            claims[id] = nil
        }
    }

    func release(ids: [Int64]) async throws {
        for id in ids { claims[id] = nil }
    }

    var allSent: Bool { events.allSatisfy { sentCount[$0.id] != nil } }
    var unsent: Int { events.filter { sentCount[$0.id] == nil }.count }
}
