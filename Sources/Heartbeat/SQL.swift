/// The statements of the protocol. Every value is a bound parameter; none is interpolated.
/// One statement per node per interval: the node's own row is folded into the renew and the read.
package enum SQL {
    /// The standby's read: refreshes its row ($3 role, $4 note, $9 eligible, $10 health) and returns the
    /// lease and its rank among live eligible standbys ($8: how recent a row must be to count).
    /// `eligible_since` keeps the start of an unbroken eligible run (for `failback`).
    /// Issue 18: it also writes the node's `http.advertise` ($11, NULL when none) and returns the lease's failsafe
    /// members (JSON) and cap (seconds).
    package static let observe = """
        WITH me AS (
            INSERT INTO hotstandby_node AS n (cluster, node, role, note, priority, address, version, counter, updated_at,
                                              eligible, health, eligible_since, advertise)
            VALUES ($1, $2, $3, $4, $5::integer, $6, $7, NULL, now(), $9::boolean, $10,
                    CASE WHEN $9::boolean THEN now() END, $11::text)
            ON CONFLICT (cluster, node) DO UPDATE
               SET role = EXCLUDED.role, note = EXCLUDED.note, priority = EXCLUDED.priority,
                   address = EXCLUDED.address, version = EXCLUDED.version, counter = NULL, updated_at = now(),
                   eligible = EXCLUDED.eligible, health = EXCLUDED.health, advertise = EXCLUDED.advertise,
                   eligible_since = CASE WHEN NOT EXCLUDED.eligible OR EXCLUDED.role <> 'standby' THEN NULL
                                         WHEN n.role = 'standby' AND n.eligible THEN COALESCE(n.eligible_since, now())
                                         ELSE now() END
        )
        SELECT c.epoch, c.active_node, c.counter, c.paused, c.handover_to,
               array_to_json(c.members)::text AS members, extract(epoch FROM c.failsafe_max) AS failsafe_max,
               (SELECT count(*) FROM hotstandby_node n
                 WHERE n.cluster = $1 AND n.node <> $2 AND n.role = 'standby' AND n.eligible
                   AND n.updated_at > now() - $8::interval
                   AND (n.priority > $5::integer OR (n.priority = $5::integer AND n.node < $2))) AS rank\(asynchronousCommit)
          FROM hotstandby_cluster c
         WHERE c.cluster = $1
        """

    /// The standby's read without its row (issue 16: written every other read): the lease, its failsafe columns
    /// and the rank among live eligible standbys ($3 this node's priority, $4 how recent a row must be).
    package static let observeRead = """
        SELECT c.epoch, c.active_node, c.counter, c.paused, c.handover_to,
               array_to_json(c.members)::text AS members, extract(epoch FROM c.failsafe_max) AS failsafe_max,
               (SELECT count(*) FROM hotstandby_node n
                 WHERE n.cluster = $1 AND n.node <> $2 AND n.role = 'standby' AND n.eligible
                   AND n.updated_at > now() - $4::interval
                   AND (n.priority > $3::integer OR (n.priority = $3::integer AND n.node < $2))) AS rank
          FROM hotstandby_cluster c
         WHERE c.cluster = $1
        """

    /// Creates a cluster's row, released (no holder), if it does not exist.
    package static let createCluster = """
        INSERT INTO hotstandby_cluster (cluster, epoch, active_node, counter, paused, updated_at)
        VALUES ($1, 0, NULL, 0, false, now())
        ON CONFLICT (cluster) DO NOTHING
        """

    /// The active's renew, fenced by epoch ($2) and holder ($3); refreshes its row ($7 eligible, $8 health)
    /// and notifies standbys; issue 18: writes the node's advertise address ($11) and returns the failsafe members
    /// and cap, the members wanted (nodes not stopped whose row is younger than $12, `timeout`) and the addresses.
    /// Returns the age of the freshest eligible standby, the best eligible standby whose
    /// row is younger than $9 (three intervals and a half second, as `switchover` asks: a step-down's target,
    /// highest priority then name) and, for `failback`, how long the preferred node $10 has been an eligible
    /// standby.
    package static let renew = renewStatement(
        asynchronous: false,
        update: """
            UPDATE hotstandby_cluster SET counter = counter + 1, updated_at = now()
             WHERE cluster = $1 AND epoch = $2::bigint AND active_node = $3
            RETURNING counter, paused, handover_to, members, failsafe_max
            """
    )

    /// The failsafe's membership change (issue 18): the renew, which also sets the members ($13, a JSON array, NULL
    /// to stop using the failsafe) and the cap ($14), checked on the counter of the last successful write ($15), so
    /// a change that commits late (after its sender gave up on it) matches no row once any later write moved the
    /// counter.
    package static let changeMembers = renewStatement(
        asynchronous: false,
        update: """
            UPDATE hotstandby_cluster
               SET counter = counter + 1, updated_at = now(),
                   members = CASE WHEN $13::text IS NULL THEN NULL
                                  ELSE ARRAY(SELECT json_array_elements_text($13::json)) END,
                   failsafe_max = $14::interval
             WHERE cluster = $1 AND epoch = $2::bigint AND active_node = $3 AND counter = $15::bigint
            RETURNING counter, paused, handover_to, members, failsafe_max
            """
    )

    /// `asynchronous`: the commit would not wait for the WAL flush. Both stay synchronous: a renew lost in a server
    /// crash is re-issued with the same counter value, which a standby that saw the lost one takes for "unchanged"
    /// (docs/protocol.md, rule 15: the CI found two actives that way). Only the standby's read is asynchronous.
    private static func renewStatement(asynchronous: Bool, update: String) -> String {
        """
        WITH r AS (
        \(update)
        ), me AS (
            INSERT INTO hotstandby_node (cluster, node, role, note, priority, address, version, counter, updated_at,
                                         eligible, health, eligible_since, advertise)
            SELECT $1, $3, 'active', 'active in epoch ' || $2::bigint::text, $4::integer, $5, $6, r.counter, now(),
                   $7::boolean, $8, NULL, $11::text FROM r
            ON CONFLICT (cluster, node) DO UPDATE
               SET role = 'active', note = EXCLUDED.note, priority = EXCLUDED.priority, address = EXCLUDED.address,
                   version = EXCLUDED.version, counter = EXCLUDED.counter, updated_at = now(),
                   eligible = EXCLUDED.eligible, health = EXCLUDED.health, eligible_since = NULL,
                   advertise = EXCLUDED.advertise
        )
        SELECT r.counter, r.paused, r.handover_to,
               array_to_json(r.members)::text AS members, extract(epoch FROM r.failsafe_max) AS failsafe_max,
               (SELECT json_agg(n.node ORDER BY n.node)::text FROM hotstandby_node n
                 WHERE n.cluster = $1 AND n.node <> $3 AND n.role <> 'stopped'
                   AND n.updated_at > now() - $12::interval) AS desired,
               (SELECT json_object_agg(n.node, n.advertise)::text FROM hotstandby_node n
                 WHERE n.cluster = $1 AND n.node <> $3 AND n.advertise IS NOT NULL) AS addresses,
               (SELECT extract(epoch FROM now() - max(n.updated_at)) FROM hotstandby_node n
                 WHERE n.cluster = $1 AND n.node <> $3 AND n.role = 'standby' AND n.eligible) AS standby_age,
               (SELECT n.node FROM hotstandby_node n
                 WHERE n.cluster = $1 AND n.node <> $3 AND n.role = 'standby' AND n.eligible
                   AND n.updated_at > now() - $9::interval
                 ORDER BY n.priority DESC, n.node LIMIT 1) AS best_standby,
               (SELECT extract(epoch FROM now() - n.eligible_since) FROM hotstandby_node n
                 WHERE n.cluster = $1 AND n.node = $10 AND n.node <> $3 AND n.role = 'standby' AND n.eligible
                   AND n.updated_at > now() - $9::interval) AS preferred_eligible_for,
               pg_notify('hotstandby_' || md5($1::text), r.counter::text)\(asynchronous ? asynchronousCommit : "")
          FROM r
        """
    }

    /// Appended to a statement's select list: its own transaction commits without waiting for the WAL flush
    /// (`synchronous_commit` is read at commit, and `set_config(…, true)` sets it for this transaction only).
    static let asynchronousCommit = ",\n       set_config('synchronous_commit', 'off', true) AS asynchronous_commit"

    /// The compare-and-set takeover on the values the standby saw ($3 epoch, $4 counter). Issue 18: with the
    /// failsafe on ($5, the taker's cap, not NULL) the members become every registered node but the taker.
    package static let takeOver = """
        UPDATE hotstandby_cluster
           SET epoch = epoch + 1, active_node = $2, counter = 0, handover_to = NULL, updated_at = now(),
               members = CASE WHEN $5::interval IS NULL THEN NULL
                              ELSE ARRAY(SELECT n.node FROM hotstandby_node n
                                          WHERE n.cluster = $1 AND n.node <> $2 ORDER BY n.node) END,
               failsafe_max = $5::interval
         WHERE cluster = $1 AND epoch = $3::bigint AND counter = $4::bigint AND NOT paused
        RETURNING epoch, array_to_json(members)::text AS members, extract(epoch FROM failsafe_max) AS failsafe_max,
                  (SELECT json_object_agg(n.node, n.advertise)::text FROM hotstandby_node n
                    WHERE n.cluster = $1 AND n.node <> $2 AND n.advertise IS NOT NULL) AS addresses,
                  pg_notify('hotstandby_' || md5($1::text), 'takeover')
        """

    /// The release after a graceful stop: only by the holder, in its epoch, at its last renewed counter.
    package static let release = """
        UPDATE hotstandby_cluster
           SET epoch = epoch + 1, active_node = NULL, counter = 0, handover_to = NULL, updated_at = now()
         WHERE cluster = $1 AND epoch = $2::bigint AND active_node = $3 AND counter = $4::bigint
        RETURNING epoch, pg_notify('hotstandby_' || md5($1::text), 'released')
        """

    /// The hand-off to $5 after a switchover request, with the same three conditions as the release.
    /// Issue 18: the members become every registered node but the target (when the failsafe is in use).
    package static let handOff = """
        UPDATE hotstandby_cluster
           SET epoch = epoch + 1, active_node = $5, counter = 0, handover_to = NULL, updated_at = now(),
               members = CASE WHEN members IS NULL THEN NULL
                              ELSE ARRAY(SELECT n.node FROM hotstandby_node n
                                          WHERE n.cluster = $1 AND n.node <> $5 ORDER BY n.node) END
         WHERE cluster = $1 AND epoch = $2::bigint AND active_node = $3 AND counter = $4::bigint
        RETURNING epoch, pg_notify('hotstandby_' || md5($1::text), 'handoff')
        """

    /// Appends an event ($5: the detail as JSON).
    package static let recordEvent = """
        INSERT INTO hotstandby_event (cluster, epoch, node, kind, detail)
        VALUES ($1, $2::bigint, $3, $4, $5::jsonb)
        """
}
