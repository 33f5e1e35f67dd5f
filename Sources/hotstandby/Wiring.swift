import Alerts
import DNSUpdater
import FailoverController
import Heartbeat
import Logging
import ServiceLifecycle
import SharedFolderSync
import VIPManager

/// The one place that wires concrete parts to FailoverController's ports.
struct Wiring {
    var store: PostgresLeaseStore
    var recorder: any EventRecorder
    var gate: any PromotionGate
    var steps: [any RoleStep]
    var services: [any Service]
    var onStatus: @Sendable (NodeStatus) -> Void

    init(config: Config, logger: Logger) throws {
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
        var services: [any Service] = []
        let spool: LocalSpool
        do {
            spool = try LocalSpool(directory: config.alertSpoolDirectory)
        } catch {
            // Refuse rather than run on: events raised while the database is down would be lost.
            throw ExitMessage(
                text: "stateDirectory: cannot create the event spool \(config.alertSpoolDirectory) (\(error)); "
                    + "create the folder, writable by the hotstandby user, or set stateDirectory"
            )
        }
        services.append(SpoolDrainService(store: store, spool: spool, logger: logger))
        self.recorder = SpoolingRecorder(store: store, spool: spool, cluster: config.cluster, node: config.node, logger: logger)
        if let alerts = config.parts.alerts {
            let notifier = try AlertNotifier(
                settings: alerts,
                node: config.node,
                outbox: PGAlertOutbox(outbox: EventOutbox(database: config.database, cluster: config.cluster)),
                logger: logger
            )
            services.append(NotifierService(notifier: notifier))
        }
        let hooks = HookStep(hooks: config.hooks)
        self.gate = hooks
        self.steps = try Self.roleSteps(config: config, hooks: hooks, logger: logger)
        let surface = OperatorSurface(config: config, logger: logger)
        self.services = services + surface.services
        self.onStatus = surface.onStatus
    }

    /// The promotion steps in order: restore files, start the service, then take the address and
    /// the name. Demotion runs them in reverse: the address goes first, then the service stops.
    static func roleSteps(config: Config, hooks: HookStep, logger: Logger) throws -> [any RoleStep] {
        var steps: [any RoleStep] = []
        if let shared = config.parts.sharedFolder {
            steps.append(
                SharedFolderStep(
                    sync: try SharedFolderSync(config: shared, logger: logger),
                    interval: shared.interval
                )
            )
        }
        steps.append(hooks)
        if let vip = config.parts.vip {
            steps.append(VIPStep(vip: VIPManager(config: vip, logger: logger)))
        }
        if let dns = config.parts.dns {
            steps.append(DNSStep(updater: try DNSUpdater(config: dns, runtimeDirectory: config.stateDirectory + "/run", logger: logger)))
        }
        return steps
    }
}
