/// The durable queue of events still to alert on: `hotstandby_event` rows without `notified_at`.
///
/// Every node runs a notifier on the same outbox; claims make sure only one of them sends an event.
public protocol AlertOutbox: Sendable {
    /// Atomically claims up to `limit` unsent events whose claim is free, expired or `node`'s own, oldest
    /// first, for `lease`. Another node's claim of an event hides it until the claim expires; this node's
    /// own is taken back, since the notifier runs one round at a time and an own claim left over from an
    /// earlier round is one whose answer was lost.
    func claim(node: String, limit: Int, lease: Duration) async throws -> [AlertEvent]
    /// Records that these events were delivered (sets `notified_at`); they are never claimed again.
    func markSent(ids: [Int64]) async throws
    /// Gives up this node's claim on these events so any node may claim them at once.
    func release(ids: [Int64]) async throws
}
