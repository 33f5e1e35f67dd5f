import FailoverController
import Heartbeat
import Logging
import ServiceLifecycle

/// The one place that wires concrete parts to FailoverController's ports.
struct Wiring {
    var store: PostgresLeaseStore
    var recorder: any EventRecorder
    var gate: any PromotionGate
    var steps: [any RoleStep]
    var services: [any Service]
    var onStatus: @Sendable (NodeStatus) -> Void

    init(config: Config, logger: Logger) {
        let store = PostgresLeaseStore(
            database: config.database,
            identity: .init(
                cluster: config.cluster,
                node: config.node,
                priority: config.priority,
                address: config.address,
                version: HotStandby.version
            ),
            timeout: config.failover.timeout,
            logger: logger
        )
        self.store = store
        self.recorder = store
        let hooks = HookStep(hooks: config.hooks)
        self.gate = hooks
        self.steps = Self.roleSteps(config: config, hooks: hooks)
        self.services = []
        self.onStatus = { _ in }
    }

    /// The promotion steps in order: restore files, start the service, then take the address.
    /// Demotion runs them in reverse: release the address first, then stop the service.
    static func roleSteps(config: Config, hooks: HookStep) -> [any RoleStep] {
        [hooks]
    }
}
