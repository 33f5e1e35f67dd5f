import DNSUpdater
import FailoverController
import HotStandbyConfig
import Logging
import Metrics
import SharedFolderSync
import Synchronization
import VIPManager

/// The virtual IP: released at start and first on demotion; bound, announced and re-announced while active.
struct VIPStep: RoleStep {
    let vip: VIPManager
    /// The probe a standby runs ahead of its takeover deadline, and its answer for the promotion.
    let ahead = EarlyProbe()
    var name: String { "vip" }
    /// The probe window and some slack before a takeover deadline (nil with `vip.probe: off`).
    var takeoverLead: Duration? { vip.takeoverLead }
    /// An address that cannot be bound here is this host's failure: the node steps down. Another host answering
    /// for it (`vip.probe: strict`) is not: every node would find the same.
    func failureIsLocal(_ error: any Error) -> Bool {
        (error as? VIPError)?.code != .addressInUse
    }

    func atStartup(_ context: RoleContext) async throws {
        // Nobody is active here until a renew in the epoch succeeds: a rebooted or restarted node
        // must not answer for the address before that, so drop it; promotion binds it again.
        _ = try await vip.release()
    }

    /// The duplicate-address probe, ahead of the takeover deadline (`FailoverStateMachine.Action.prepareTakeover`).
    func prepareTakeover(_ context: RoleContext) async {
        await ahead.run(vip, watchedEpoch: context.epoch)
    }

    func promote(_ context: RoleContext) async throws {
        // Only a takeover at the deadline it was prepared for uses the early probe (a released lease, a hand-off,
        // a resume and a retry probe before the bind); every promotion waits for one still running.
        if !context.prepared { await ahead.discard(epoch: context.epoch) }
        let result = try await vip.takeOver(epoch: context.epoch, ahead: context.prepared ? ahead : nil)
        if let probe = result.probe, probe.answered {
            var detail: [String: JSONValue] = ["step": "vip.probe", "node": .string(context.node)]
            let who = "another host (\(probe.answeredBy ?? "unknown MAC")) answered for \(vip.config.address.cidr)"
            if let ahead = result.probedAhead {
                detail["error"] = .string(
                    "\(who) to the probe run ahead of the takeover deadline (it \(ahead.text)); bound anyway "
                        + "(vip.probe: on)"
                )
                detail["probeStartedSecondsBeforeBind"] = ahead.startedBeforeBind.jsonSeconds
                detail["probeFinishedSecondsBeforeBind"] = ahead.finishedBeforeBind.jsonSeconds
            } else {
                detail["error"] = .string("\(who) before it was bound here; bound anyway (vip.probe: on)")
            }
            await context.record(ClusterEvent(kind: .actionFailed, epoch: context.epoch, detail: detail))
        }
    }

    func demote(_ context: RoleContext) async throws {
        _ = try await vip.release()
    }

    func whileActive(_ context: RoleContext) async {
        await vip.keepAnnounced(stillServing: context.stillServing) { said in
            await context.record(
                ClusterEvent(
                    kind: .addressRestored,
                    epoch: context.epoch,
                    detail: ["node": .string(context.node), "reason": .string(said)]
                )
            )
        }
    }

    func whileStandby(_ context: RoleContext) async {
        await vip.keepAway { said in
            await context.record(
                ClusterEvent(
                    kind: .addressRemoved,
                    epoch: context.epoch,
                    detail: ["node": .string(context.node), "reason": .string(said)]
                )
            )
        }
    }
}

/// The DNS record: pointed at this node on promotion (fenced by the epoch record), verified while active.
/// A failed update is reported and retried; it never stops the failover.
struct DNSStep: RoleStep {
    let updater: DNSUpdater
    var name: String { "dns" }

    func promote(_ context: RoleContext) async throws {
        do {
            let report = try await updater.point(epoch: context.epoch, node: context.node)
            context.logger.notice("dns record updated", metadata: ["report": "\(report)"])
        } catch {
            // whileActive retries at once with back-off (checkFirst), so the failover goes on.
            await context.record(
                ClusterEvent(
                    kind: .actionFailed,
                    epoch: context.epoch,
                    detail: ["step": "dns", "node": .string(context.node), "error": .string(error.description)]
                )
            )
        }
    }

    func demote(_ context: RoleContext) async throws {
        // Nothing: the next active overwrites the record, fenced by its newer epoch.
    }

    func whileActive(_ context: RoleContext) async {
        await updater.keepVerified(
            epoch: context.epoch,
            node: context.node,
            checkFirst: true,
            stillActive: context.stillServing
        ) {
            result in
            if case .failure(let error) = result {
                context.logger.warning("dns verification failed", metadata: ["error": "\(error)"])
            }
        }
    }
}

/// Snapshots of local files in the shared folder: restored before the promote hook, published while
/// active, pulled into the local cache while standing by.
struct SharedFolderStep: RoleStep {
    let sync: SharedFolderSync
    let interval: Duration
    var name: String { "restore" }

    func promote(_ context: RoleContext) async throws {
        let report = try await sync.restore()
        for rejected in report.rejected {
            await alert(context, "snapshot rejected: \(rejected)")
        }
        if let shareError = report.shareError {
            if let refused = report.cacheRefused {
                await alert(context, "the share could not be read (\(shareError)) and nothing was restored: \(refused)")
            } else {
                await alert(context, "the share could not be read; restored from the local cache: \(shareError)")
            }
        }
        if let pruneError = report.backupPruneError {
            // The restore succeeded; old backups pile up on the local disk until this is fixed.
            await alert(context, "old restore backups could not be removed: \(pruneError)")
        }
        context.logger.notice(
            "restored from the shared folder",
            metadata: [
                "files": "\(report.filesWritten)", "unchanged": "\(report.filesUnchanged)",
                "backup": "\(report.backupFolder ?? "none needed")",
            ]
        )
    }

    func demote(_ context: RoleContext) async throws {}

    func whileActive(_ context: RoleContext) async {
        let epoch = context.epoch
        var failing = false
        while !Task.isCancelled {
            do {
                let info = try await sync.publish(
                    epoch: epoch,
                    node: context.node,
                    leaseStillHeld: context.stillServing
                )
                context.logger.debug("snapshot published", metadata: ["snapshot": "\(info)"])
                failing = false
            } catch {
                context.logger.warning("snapshot publish failed", metadata: ["error": "\(error)"])
                // One alert when publishing starts failing, not one per interval; it is retried regardless.
                if !failing { await alert(context, "publishing a snapshot failed (retrying every interval): \(error)") }
                failing = true
            }
            await exportAges()
            try? await Task.sleep(for: interval)
        }
    }

    func whileStandby(_ context: RoleContext) async {
        while !Task.isCancelled {
            do {
                let report = try await sync.pull()
                for rejected in report.rejected { await alert(context, "snapshot rejected: \(rejected)") }
            } catch {
                context.logger.warning("snapshot pull failed", metadata: ["error": "\(error)"])
            }
            await exportAges()
            try? await Task.sleep(for: interval)
        }
    }

    /// Exports the newest snapshot's age and the local cache's age.
    private func exportAges() async {
        let status = await sync.status()
        if let age = status.newest?.ageSeconds {
            Gauge(label: "hotstandby_snapshot_age_seconds").record(age)
        }
        if let age = status.cacheAgeSeconds {
            Gauge(label: "hotstandby_snapshot_cache_age_seconds").record(age)
        }
    }

    private func alert(_ context: RoleContext, _ text: String) async {
        await context.record(
            ClusterEvent(
                kind: .actionFailed,
                epoch: context.epoch,
                detail: ["step": "sharedFolder", "node": .string(context.node), "error": .string(text)]
            )
        )
    }
}
