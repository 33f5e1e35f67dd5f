/// What one `point` or `verify` did, for the event log, the log lines and the alert.
public struct DNSUpdateReport: Sendable, Equatable {
    /// The fully qualified name that was pointed, with its trailing dot (`svc.example.com.`).
    public var name: String
    /// The address the name now answers with.
    public var address: String
    /// The epoch written into the epoch record.
    public var epoch: Int64
    /// The node written into the epoch record.
    public var node: String
    /// The epoch record as read before the update, `nil` when there was none.
    public var previous: EpochRecord?
    /// False when `verify` found the record already right and sent no update.
    public var changed: Bool
    /// How many compare-and-set rounds it took (1 unless another node wrote in between).
    public var rounds: Int
    /// From the first read to the moment the authoritative server answered with the new address.
    public var duration: Duration
    /// From the accepted update to the moment the authoritative server answered with the new address.
    public var confirmDuration: Duration

    /// Creates a report.
    public init(
        name: String,
        address: String,
        epoch: Int64,
        node: String,
        previous: EpochRecord?,
        changed: Bool,
        rounds: Int,
        duration: Duration,
        confirmDuration: Duration
    ) {
        self.name = name
        self.address = address
        self.epoch = epoch
        self.node = node
        self.previous = previous
        self.changed = changed
        self.rounds = rounds
        self.duration = duration
        self.confirmDuration = confirmDuration
    }
}
