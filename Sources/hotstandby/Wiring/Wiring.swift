import Alerts
import DNSUpdater
import FailoverController
import Heartbeat
import HotStandbyConfig
import Logging
import Operator
import ServiceLifecycle
import SharedFolderSync
import VIPManager

/// The one place that wires concrete parts to FailoverController's ports.
struct Wiring {
    var store: PostgresLeaseStore
    var recorder: any EventRecorder
    var gate: any PromotionGate
    var plan: PromotionPlan
    var services: [any Service]
    var onStatus: @Sendable (NodeStatus) -> Void
    var health: any HealthProbe
    /// The failsafe's beats out and in (issue 18); nil when it is off.
    var peers: (any FailsafePeers)?
    var inbox: FailsafeInbox?
    /// The node's one connection for everything but the heartbeat and the listener (issue 16).
    var shared: ConnectionSlot

    init(config: Config, logger: Logger) throws {
        // Issue 16: besides the heartbeat's and the listener's, the node's one connection, opened on demand and
        // closed when idle: the event log, the alert outbox, the status reader, the HTTP write routes.
        var sharedSettings = config.database
        sharedSettings.callTimeout = max(config.database.callTimeout, .seconds(3))
        sharedSettings.connectTimeout = max(config.database.connectTimeout, .seconds(3))
        let shared = ConnectionSlot(settings: sharedSettings, shared: true)
        self.shared = shared
        let store = PostgresLeaseStore(
            database: config.database,
            identity: .init(
                cluster: config.cluster,
                node: config.node,
                priority: config.priority,
                address: config.address,
                version: HotStandby.version,
                preferred: {
                    if case .preferred(let node, _) = config.failover.health.failback { return node }
                    return nil
                }(),
                advertise: config.failsafe.enabled ? config.http.advertise : nil,
                failsafeMax: config.failover.failsafe?.maxDuration
            ),
            timeout: config.failover.timeout,
            logger: logger,
            interval: config.failover.interval,
            shared: shared
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
        var notifier: AlertNotifier<ContinuousClock>?
        if let alerts = config.parts.alerts {
            notifier = try AlertNotifier(
                settings: alerts,
                node: config.node,
                outbox: PGAlertOutbox(
                    outbox: EventOutbox(database: config.database, cluster: config.cluster, slot: shared)
                ),
                logger: logger
            )
        }
        if let notifier { services.append(NotifierService(notifier: notifier)) }
        // This node's events wake its notifier at once; other nodes' (and the CLI's) it finds at its next poll.
        let written: @Sendable () -> Void = { [notifier] in notifier?.eventRecorded() }
        let spooled = SpoolSignal()
        let drainer = SpoolDrainer(store: store, spool: spool, written: written, logger: logger)
        services.append(SpoolDrainService(drainer: drainer, spooled: spooled))
        self.recorder = SpoolingRecorder(
            store: store,
            drainer: drainer,
            spooled: spooled,
            written: written,
            cluster: config.cluster,
            node: config.node,
            logger: logger
        )
        let hooks = HookStep(hooks: config.hooks)
        self.gate = hooks
        self.plan = try Self.plan(config: config, hooks: hooks, logger: logger)
        self.health = HealthMonitor(config: config, logger: logger)
        var failsafe: (wire: FailsafeWire, inbox: FailsafeInbox)?
        if config.failsafe.enabled, let path = config.failsafe.tokenFile {
            do {
                failsafe = (try FailsafeWire(tokenFile: path), FailsafeInbox())
            } catch {
                throw ExitMessage(text: "failsafe.tokenFile: '\(path)' cannot be read: \(error)")
            }
        }
        self.peers = failsafe.map { FailsafeClient(wire: $0.wire) }
        self.inbox = failsafe?.inbox
        let surface = OperatorSurface(
            config: config,
            version: HotStandby.version,
            logger: logger,
            failsafe: failsafe,
            shared: shared
        )
        self.services = services + surface.services
        self.onStatus = surface.onStatus
    }

    /// The role steps in their slots; `PromotionPlan` owns their order (restore → service → address →
    /// name on promotion, the reverse on demotion).
    static func plan(config: Config, hooks: HookStep, logger: Logger) throws -> PromotionPlan {
        PromotionPlan(
            restore: try config.parts.sharedFolder.map {
                SharedFolderStep(sync: try SharedFolderSync(config: $0, logger: logger), interval: $0.interval)
            },
            service: hooks,
            address: config.parts.vip.map { VIPStep(vip: VIPManager(config: $0, logger: logger)) },
            name: try config.parts.dns.map {
                DNSStep(
                    updater: try DNSUpdater(
                        config: $0,
                        runtimeDirectory: config.stateDirectory + "/run",
                        logger: logger
                    )
                )
            }
        )
    }
}
