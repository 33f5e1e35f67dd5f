/// The words of one event's alert: a headline, what happened, the cluster now, and what to do.
struct AlertText: Sendable, Equatable {
    /// One line for the subject, without the `[hotstandby] cluster:` prefix.
    var headline: String
    /// What happened, in sentences.
    var happened: [String]
    /// The cluster as this event leaves it.
    var now: [String]
    /// What the operator should do, in order.
    var todo: [String]
    /// The detail keys the text already used, left out of the DETAILS list.
    var used: Set<String>

    /// The text for an event; kinds not in `AlertEvent.knownKinds` get a generic text.
    init(_ event: AlertEvent) {
        let d = event.detail
        let node = event.node
        let epoch = event.epoch
        func s(_ key: String) -> String? { d[key].flatMap { $0 == .null ? nil : $0.prose } }
        let reason = s("reason")
        let error = s("error")
        var used: Set<String> = ["reason", "error", "node"]
        switch event.kind {
        case "takeover":
            let to = s("to") ?? node
            let from = s("from")
            used.formUnion(["to", "from", "previousEpoch", "counter", "unchangedSeconds", "steps", "promotionSeconds"])
            headline = "\(to) took over from \(from ?? "nobody") (epoch \(epoch))"
            happened = [
                "Node \(to) took over as active" + (from.map { " from node \($0)" } ?? "") + " in epoch \(epoch).",
                "Why: \(reason ?? "the active stopped renewing its lease").",
            ]
            if let seconds = s("promotionSeconds") { happened.append("The promotion took \(seconds) s.") }
            now = [
                "Active: \(to) (epoch \(epoch)).",
                from.map {
                    "\($0) is not active; when it comes back it stays standby (no automatic failback)."
                } ?? "No node held the lease before this takeover.",
            ]
            todo = [
                "Check that the service answers on \(to) (its address or DNS name now points there).",
                from.map {
                    "Find out why \($0) stopped renewing: is the host up, is hotstandby running there, "
                        + "can it reach the database? Read its log."
                } ?? "Find out why the lease was released (a graceful stop or `hotstandby release`).",
                "If any action under ACTIONS FAILED, fix it on \(to) now: the service may be only partly up.",
                "Once \(from ?? "the other node") is healthy, move the role back if you want with "
                    + "`hotstandby switchover --to \(from ?? "NODE")`.",
            ]
        case "resumed":
            headline = "\(node) resumed as active after a restart (epoch \(epoch))"
            happened = ["hotstandby restarted on \(node), which still held the lease, and it resumed serving."]
            now = ["Active: \(node) (epoch \(epoch)), unchanged."]
            todo = [
                "Nothing, if the restart was planned; otherwise read \(node)'s log to see why hotstandby restarted."
            ]
        case "handover-received":
            headline = "\(node) is active after a switchover (epoch \(epoch))"
            happened = ["The switchover completed: \(node) confirmed the lease and ran its promotion actions."]
            now = ["Active: \(node) (epoch \(epoch))."]
            todo = ["Check that the service answers on \(node)."]
        case "deposed":
            headline = "\(node) stepped down: another node holds a newer epoch"
            happened = [
                "Node \(node) found that another node had taken the lease and stopped serving.",
                "Why: \(reason ?? "its renew matched no row").",
            ]
            now = ["\(node) is standby. Another node is active in a newer epoch."]
            todo = [
                "Run `hotstandby status` to see which node is active and that exactly one is.",
                "Find out why \(node) could not renew in time (database latency, network, a paused VM).",
            ]
        case "fenced":
            used.formUnion(["secondsSinceLastRenewStart", "lastError"])
            headline = "\(node) fenced itself: it could not renew its lease"
            happened = [
                "Node \(node) could not complete a heartbeat in time and stopped serving by itself, "
                    + "so that two nodes never serve at once.",
                "Why: \(reason ?? "the renew deadline passed")"
                    + (s("secondsSinceLastRenewStart").map { " (last successful renew started \($0) s before)" } ?? "")
                    + ".",
            ]
            if let last = s("lastError") { happened.append("Last database error: \(last)") }
            now = [
                "\(node) is standby. A standby that can reach the database takes over after `timeout`; "
                    + "if none can, no node serves."
            ]
            todo = [
                "Check the database and the network between \(node) and the database.",
                "Watch for a takeover alert; if none comes within `timeout`, run `hotstandby status` on each node.",
            ]
        case "demoted":
            used.insert("steps")
            headline = "\(node) stopped serving (\(reason ?? "demoted"))"
            happened = ["Node \(node) ran its demotion actions. Why: \(reason ?? "not recorded")."]
            now = ["\(node) is standby or stopped."]
            todo = [
                "If any action under ACTIONS FAILED, the service or the address may still be on \(node): remove it by hand.",
                "Run `hotstandby status` to see which node is active.",
            ]
        case "released":
            headline = "\(node) released the lease (graceful stop)"
            happened = ["hotstandby on \(node) stopped gracefully and gave up the lease in epoch \(epoch)."]
            now = ["No node holds the lease until a standby takes over, which it does at once."]
            todo = [
                "Watch for the takeover alert of the standby.",
                "If this stop was not planned, find out who stopped hotstandby on \(node).",
            ]
        case "handed-off":
            let to = s("to") ?? "the named node"
            used.insert("to")
            headline = "\(node) handed the role to \(to) (switchover)"
            happened = ["Node \(node) stopped serving and handed the lease to \(to)."]
            now = ["\(to) becomes active once its first renew succeeds; \(node) is standby."]
            todo = ["Watch for the handover-received alert from \(to); if none comes, run `hotstandby status`."]
        case "switchover-requested":
            let to = s("to") ?? "another node"
            used.insert("to")
            headline = "switchover to \(to) requested"
            happened = ["An operator asked the active to hand the role to \(to)."]
            now = ["The active demotes and hands over; this takes seconds."]
            todo = ["Nothing, if this was planned. Watch for the handover-received alert."]
        case "vetoed":
            headline = "takeover by \(node) vetoed by the pre-promote hook"
            happened = [
                "The active stopped heartbeating and \(node) was due to take over, but its pre-promote hook refused.",
                "Hook said: \(reason ?? "nothing").",
            ]
            now = ["No node took over: the service may be down."]
            todo = [
                "Fix what the pre-promote hook reports on \(node); the takeover is tried again while the "
                    + "counter stays unchanged.",
                "Run `hotstandby status` on \(node) to see why it is not taking over.",
            ]
        case "ha-lost":
            headline = "no standby: a failover is not possible"
            happened = ["The active \(node) has seen no standby. Why: \(reason ?? "no standby heartbeat seen")."]
            now = ["Active: \(node) (epoch \(epoch)). Standby: none seen; if \(node) fails, nobody takes over."]
            todo = [
                "Check that the standby host is up and hotstandby runs there.",
                "Check that the standby can reach the database.",
            ]
        case "ha-restored":
            headline = "standby seen again: failover possible"
            happened = ["The active \(node) sees a standby again."]
            now = ["Active: \(node) (epoch \(epoch)), with a standby."]
            todo = ["Nothing."]
        case "database-unreachable":
            used.insert("seconds")
            headline = "\(node) cannot reach the database"
            happened = [
                "Node \(node) could not reach the database"
                    + (s("seconds").map { " for \($0) s" } ?? "") + ".",
                "Last error: \(error ?? "not recorded").",
            ]
            now = [
                "While \(node) cannot reach the database it never takes over; if it is the active, it fences "
                    + "itself after `renewDeadline`."
            ]
            todo = ["Check the database server, the network from \(node) to it, and the credentials."]
        case "database-back":
            used.insert("unreachableSeconds")
            headline = "\(node) reaches the database again"
            happened = [
                "Node \(node) reaches the database again"
                    + (s("unreachableSeconds").map { " after \($0) s" } ?? "") + "."
            ]
            now = ["Run `hotstandby status` to see the roles."]
            todo = ["Nothing, unless other alerts came with this one."]
        case "paused":
            headline = "cluster paused: no automatic takeover"
            happened = ["An operator paused the cluster (maintenance)."]
            now = ["No standby takes over while paused; the active keeps serving."]
            todo = ["Run `hotstandby resume` when the maintenance is over."]
        case "unpaused":
            headline = "cluster resumed: automatic takeover is on"
            happened = ["An operator resumed the cluster."]
            now = ["Automatic takeover is on again."]
            todo = ["Nothing."]
        case "started":
            headline = "hotstandby started on \(node)"
            happened = ["The hotstandby daemon started on \(node)."]
            now = ["\(node) decides its role at its first database read."]
            todo = ["Nothing, if this start was planned."]
        case "promoted":
            let cause = s("cause") ?? "takeover"
            used.formUnion(["cause", "steps", "promotionSeconds"])
            headline = "\(node) finished its promotion actions (epoch \(epoch))"
            happened = ["\(node) ran its promotion actions after the \(cause)."]
            if let seconds = s("promotionSeconds") { happened.append("The promotion took \(seconds) s.") }
            now = ["Active: \(node) (epoch \(epoch))."]
            todo = ["If any action under ACTIONS FAILED, fix it on \(node) now: the service may be only partly up."]
        case "action-failed":
            let step = s("step") ?? "a step"
            let phase = s("phase") ?? "an action"
            used.formUnion(["step", "phase"])
            headline = "\(step) failed during \(phase) on \(node)"
            happened = ["The \(step) step failed during \(phase) on \(node): \(error ?? "no error recorded")."]
            now = ["\(node) went on with the other steps; what \(step) does may not be in place."]
            todo = [
                "Fix the cause above on \(node) (for a VIP: `ip addr`; for DNS: the record and the key; "
                    + "for the shared folder: its mount and free space).",
                "Run `hotstandby status` to check the node's role and steps.",
            ]
        case "service-failed":
            used.formUnion(["output"])
            headline = "the service failed on \(node) (epoch \(epoch))"
            happened = ["The service on \(node) failed: \(reason ?? "its health check failed")."]
            now = [
                "\(node) holds the role; it recovers the service in place (hooks.recover) or steps down to an eligible standby."
            ]
            todo = [
                "Read \(node)'s service log; a stepped-down or staying-active alert follows with what happened next."
            ]
        case "service-recovered":
            headline = "the service on \(node) passes its check again (epoch \(epoch))"
            happened = ["The service on \(node) passes its health check again" + (reason.map { ": \($0)" } ?? "") + "."]
            now = ["Active: \(node) (epoch \(epoch)), serving."]
            todo = ["Find out why it failed: the service's log on \(node)."]
        case "recovered-in-place":
            used.formUnion(["attempt", "of"])
            headline = "hooks.recover restarted the service on \(node): no failover (epoch \(epoch))"
            happened = [
                "The service on \(node) failed, hooks.recover (attempt \(s("attempt") ?? "1") of \(s("of") ?? "1")) restarted it, and it passes its check again."
            ]
            now = ["Active: \(node) (epoch \(epoch)), unchanged."]
            todo = ["Find out why the service failed: its log on \(node)."]
        case "stepped-down":
            let to = s("to") ?? "a standby"
            used.formUnion(["to", "holdDownSeconds"])
            headline = "\(node) stepped down for a failed service; \(to) takes over (epoch \(epoch))"
            happened = [
                "\(node) could not serve: \(reason ?? "its service failed").",
                "It released the address, stopped the service and handed the lease to \(to), the best eligible standby.",
            ]
            now = [
                "Active: \(to), once it confirms the lease.",
                "\(node) is standby and not eligible for \(s("holdDownSeconds") ?? "the hold-down") s (health.holdDown).",
            ]
            todo = [
                "Check that the service answers on \(to).", "Fix the service on \(node) before the hold-down ends.",
            ]
        case "staying-active":
            used.formUnion(["why"])
            headline = "the service failed on \(node), which stays active: no eligible standby (epoch \(epoch))"
            happened = [
                "\(node) cannot serve (\(reason ?? "its service failed")) but stays active: \(s("why") ?? "no eligible standby")."
            ]
            now = ["Active: \(node), with a failed service. It steps down as soon as a standby is eligible."]
            todo = [
                "Fix the service on \(node), or make a standby eligible (`hotstandby status` says why each is not)."
            ]
        case "not-eligible":
            headline = "\(node) is not eligible to take over"
            happened = ["\(node) may not take over: \(reason ?? "see its status")."]
            now = ["\(node) stays standby; it is never chosen for a takeover or a step-down until this is fixed."]
            todo = ["Fix what the reason names on \(node); it becomes eligible again by itself."]
        case "eligible":
            headline = "\(node) is eligible to take over again"
            happened = ["\(node) passes its checks and may take over again."]
            now = ["\(node): standby, eligible."]
            todo = ["Nothing."]
        case "failback":
            let to = s("to") ?? "the preferred node"
            used.formUnion(["to", "eligibleSeconds", "after"])
            headline = "\(node) hands the role back to the preferred node \(to) (epoch \(epoch))"
            happened = [
                "\(to) has been an eligible standby for \(s("eligibleSeconds") ?? "long enough") s (failback.after \(s("after") ?? "")); \(node) hands the lease to it."
            ]
            now = ["Active: \(to), once it confirms the lease."]
            todo = ["Check that the service answers on \(to)."]
        case "address-restored":
            headline = "the virtual IP was gone from \(node) and was bound again"
            happened = [
                "\(node) is active but its virtual IP was no longer on the interface; it bound and announced it again."
            ]
            now = ["Active: \(node), with the address."]
            todo = ["Find out what removed the address (another program managing it? a network restart?)."]
        case "address-removed":
            headline = "the virtual IP was found on standby \(node) and removed"
            happened = ["\(node) is standby but the virtual IP was on its interface; it removed it."]
            now = ["The address belongs to the active only."]
            todo = [
                "Find out what put it there: another program (keepalived, NetworkManager, a script) managing the same address."
            ]
        case "failsafe-entered":
            used.formUnion(["members", "maxDurationSeconds", "secondsSinceLastRenewStart"])
            let members = s("members") ?? "no other node"
            headline = "\(node) cannot renew and rides through on failsafe (epoch \(epoch))"
            happened = [
                "The active \(node) cannot write its heartbeat to the database"
                    + (error.map { " (\($0))" } ?? "") + ".",
                "It keeps serving while every member acknowledges its failsafe beats directly: \(members).",
            ]
            now = [
                "Active: \(node), on failsafe, for at most \(s("maxDurationSeconds") ?? "failsafe.maxDuration") s "
                    + "after its last successful renew (failsafe.maxDuration); no takeover while the members ack."
            ]
            todo = [
                "Bring the database back (or \(node)'s route to it); a failsafe-left alert follows when a renew succeeds."
            ]
        case "failsafe-left":
            used.formUnion(["how", "seconds", "rounds", "acknowledgedRounds"])
            let how = s("how") ?? "ended"
            headline = "\(node) left the failsafe: \(how) after \(s("seconds") ?? "?") s (epoch \(epoch))"
            happened = [
                "The failsafe on \(node) ended (\(how)) after \(s("seconds") ?? "?") s; "
                    + "\(s("acknowledgedRounds") ?? "?") of \(s("rounds") ?? "?") rounds were acknowledged by every member."
            ]
            now =
                how == "renewed"
                ? ["Active: \(node), renewing in the database again."]
                : ["\(node) stopped serving; a member takes over once it can read the database and the timeout passed."]
            todo = how == "renewed" ? ["Find out why the database was unreachable."] : ["Run `hotstandby status`."]
        case "failsafe-peer":
            used.formUnion(["active", "counter"])
            let active = s("active") ?? "the active"
            headline = "\(active) is alive but cut off from the database; \(node) stays standby (epoch \(epoch))"
            happened = [
                "\(node) reads the database and sees \(active)'s counter stopped, but gets \(active)'s failsafe beats.",
                "So \(active) is serving and only its path to the database is broken: \(node) does not take over.",
            ]
            now = ["Active: \(active), on failsafe."]
            todo = ["Repair the route between \(active) and the database (a firewall, a switch, pg_hba)."]
        default:
            headline = "\(event.kind) on \(node)"
            happened = ["Node \(node) recorded a '\(event.kind)' event" + (reason.map { ": \($0)" } ?? "") + "."]
            now = ["Run `hotstandby status` to see the roles."]
            todo = ["Read the details below and the node's log."]
        }
        if let error, event.kind != "database-unreachable", event.kind != "action-failed" {
            happened.append("Error: \(error)")
        }
        self.used = used
    }
}
