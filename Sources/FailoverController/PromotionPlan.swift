/// The order of the role steps, which safety depends on: a promotion restores the files, starts the
/// service, then takes the address and the name; a demotion goes the other way, so the address is
/// released before the service stops and the service stops before anything else is touched.
///
/// The order is this type's, not an array's a caller happens to build: each step has its slot.
public struct PromotionPlan: Sendable {
    /// Restores the newest files (the shared folder), first on promotion.
    public var restore: (any RoleStep)?
    /// Starts and stops the service (the hooks).
    public var service: (any RoleStep)?
    /// Binds and releases the virtual IP.
    public var address: (any RoleStep)?
    /// Points the DNS name at this node.
    public var name: (any RoleStep)?

    /// Creates a plan; any slot may be empty.
    public init(
        restore: (any RoleStep)? = nil,
        service: (any RoleStep)? = nil,
        address: (any RoleStep)? = nil,
        name: (any RoleStep)? = nil
    ) {
        self.restore = restore
        self.service = service
        self.address = address
        self.name = name
    }

    /// Restore → service → address → name.
    public var promotion: [any RoleStep] { [restore, service, address, name].compactMap { $0 } }

    /// The steps a failed promotion may try again, in order: service → address → name (the files are never
    /// restored again over a service that may already have written); the loop runs only those that failed.
    public var retry: [any RoleStep] { [service, address, name].compactMap { $0 } }

    /// Name → address → service → restore: the address goes first, then the service stops.
    public var demotion: [any RoleStep] { promotion.reversed() }

    /// Every step once, in promotion order (for start-up clean-up and the background duties).
    public var all: [any RoleStep] { promotion }

    /// The longest `takeoverLead` of the promotion steps; nil when none prepares anything.
    public var takeoverLead: Duration? { promotion.compactMap(\.takeoverLead).max() }
}
