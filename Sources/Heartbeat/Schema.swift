/// The database schema as numbered migrations, applied in order by `hotstandby init-db`.
///
/// Each migration runs in one transaction under an advisory lock, so two nodes running `init-db`
/// at once apply each migration exactly once. The daemon refuses to run against a schema that is
/// missing, older, or newer than `Schema.currentVersion`.
public enum Schema {
    /// One numbered change of the schema.
    public struct Migration: Sendable {
        /// The version this migration brings the schema to.
        public var version: Int
        /// What it does, recorded beside the version.
        public var description: String
        /// The SQL, one or more statements.
        public var sql: String
    }

    /// Every migration, in order.
    public static let migrations: [Migration] = [
        Migration(
            version: 1,
            description: "lease, nodes and event log",
            sql: """
                CREATE TABLE hotstandby_cluster (
                    cluster     text PRIMARY KEY,
                    epoch       bigint NOT NULL DEFAULT 0,
                    active_node text,
                    counter     bigint NOT NULL DEFAULT 0,
                    handover_to text,
                    paused      boolean NOT NULL DEFAULT false,
                    updated_at  timestamptz NOT NULL DEFAULT now()
                );
                CREATE TABLE hotstandby_node (
                    cluster    text NOT NULL,
                    node       text NOT NULL,
                    role       text NOT NULL,
                    note       text NOT NULL DEFAULT '',
                    priority   integer NOT NULL DEFAULT 100,
                    counter    bigint,
                    address    text,
                    version    text,
                    updated_at timestamptz NOT NULL DEFAULT now(),
                    PRIMARY KEY (cluster, node)
                );
                CREATE TABLE hotstandby_event (
                    id            bigserial PRIMARY KEY,
                    cluster       text NOT NULL,
                    at            timestamptz NOT NULL DEFAULT now(),
                    epoch         bigint NOT NULL,
                    node          text NOT NULL,
                    kind          text NOT NULL,
                    detail        jsonb NOT NULL DEFAULT '{}'::jsonb,
                    claimed_by    text,
                    claimed_until timestamptz,
                    notified_at   timestamptz
                );
                CREATE INDEX hotstandby_event_cluster_at ON hotstandby_event (cluster, id DESC);
                CREATE INDEX hotstandby_event_outbox ON hotstandby_event (id) WHERE notified_at IS NULL;
                """
        ),
        Migration(
            version: 2,
            description: "node health and eligibility (issue 15)",
            sql: """
                ALTER TABLE hotstandby_node
                    ADD COLUMN eligible       boolean NOT NULL DEFAULT true,
                    ADD COLUMN health         text NOT NULL DEFAULT 'unchecked',
                    ADD COLUMN eligible_since timestamptz;
                """
        ),
        Migration(
            version: 3,
            description: "failsafe members and cap, node addresses (issue 18)",
            sql: """
                ALTER TABLE hotstandby_cluster
                    ADD COLUMN members      text[],
                    ADD COLUMN failsafe_max interval;
                ALTER TABLE hotstandby_node
                    ADD COLUMN advertise text;
                """
        ),
    ]

    /// The schema version this binary is written for.
    public static var currentVersion: Int { migrations.last?.version ?? 0 }
}
