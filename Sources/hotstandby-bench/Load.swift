import ArgumentParser
import FailoverController
import Foundation
import Heartbeat

/// `hotstandby-bench load`: the lease's load on PostgreSQL, for `bench/lease-load`.
struct BenchLoad: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "load",
        abstract:
            "Benchmark: N clusters' renew + standby reads on K persistent connections (writes to the database).",
        discussion: """
            Each cluster sends one renew (its active) and one read per standby per interval, spread evenly \
            over the interval; a standby's read writes its row every other read (SQL.observe), as the daemon's \
            does, and is SQL.observeRead in between. Use a throwaway database: the benchmark clusters (named 900000001, ...) are reset. \
            Give the password by PGPASSWORD or .pgpass rather than in --conninfo.
            """,
    )

    @Option(help: "A libpq connection string.")
    var conninfo: String

    @Option(help: "How many clusters (N).")
    var clusters: Int

    @Option(help: "Standbys per cluster (S): 1 for two-node clusters, 3 for one active and three standbys.")
    var standbys: Int = 1

    @Option(help: "The heartbeat interval, e.g. 1s or 5s.")
    var interval: String = "1s"

    @Option(help: "How long to generate load, e.g. 20s.")
    var duration: String = "20s"

    @Option(help: "Persistent connections (K).")
    var connections: Int = 8

    @Option(help: "Each statement's deadline (default: 80% of the interval, at most 5s).")
    var callTimeout: String?

    @Flag(
        help: "Skip the set-up (schema, cluster rows): they exist from an earlier run with at least as many clusters."
    )
    var noPrepare = false

    @Flag(help: "Only set up the schema and the cluster rows, then exit.")
    var prepareOnly = false

    @Option(
        help: """
            Write the three statements as pgbench scripts (renew.sql, observe.sql, observe-read.sql) into this \
            folder, print each as NAME@WEIGHT (pgbench -f's weight, the generator's mix), then exit.
            """
    )
    var pgbenchScripts: String?

    @Flag(
        help: """
            Send the statements unnamed (planned afresh each time) instead of prepared on each connection, as \
            the daemon does through a transaction-mode pooler.
            """
    )
    var unprepared = false

    @Flag(help: "Print the report as JSON.")
    var json = false

    func run() async throws {
        let settings = LeaseLoadGenerator.Settings(
            conninfo: conninfo,
            clusters: clusters,
            standbys: standbys,
            interval: try parse(interval, "--interval"),
            duration: try parse(duration, "--duration"),
            connections: connections,
            callTimeout: try callTimeout.map { try parse($0, "--call-timeout") },
            unprepared: unprepared
        )
        let problems = settings.problems()
        guard problems.isEmpty else { throw ValidationError(problems.joined(separator: "\n")) }
        let generator = LeaseLoadGenerator(settings: settings)
        if let folder = pgbenchScripts {
            for script in generator.pgbenchScripts() {
                try script.text.write(toFile: folder + "/" + script.name, atomically: true, encoding: .utf8)
                print("\(script.name)@\(script.weight)")
            }
            return
        }
        let report: LeaseLoadGenerator.Report
        do throws(PGError) {
            if !noPrepare { try await generator.prepare() }
            if prepareOnly { return }
            report = try await generator.run()
        } catch {
            throw ExitMessage(text: error.description)
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            print(Self.text(report))
        }
    }

    private func parse(_ text: String, _ option: String) throws -> Duration {
        guard let value = Duration(configText: text) else {
            throw ValidationError("\(option): '\(text)' is not a duration; write it with a unit: 500ms, 1s, 20s")
        }
        return value
    }

    static func text(_ r: LeaseLoadGenerator.Report) -> String {
        func f(_ value: Double) -> String { String(format: "%.2f", value) }
        return """
            clusters \(r.clusters), standbys \(r.standbys), interval \(r.intervalSeconds) s, \
            connections \(r.connections), \
            \(r.statementsPerClusterPerInterval) statements per cluster per interval
            statements/s \(String(format: "%.0f", r.statementsPerSecond)) (target \(String(format: "%.0f", r.targetStatementsPerSecond))), \
            answered \(r.statements) (standby reads writing \(r.observeWrites), reading only \(r.observeReads)), \
            failed \(r.failures), over \(f(r.elapsedSeconds)) s
            renew ms p50 \(f(r.renewP50Ms)) p99 \(f(r.renewP99Ms)) max \(f(r.renewMaxMs)); \
            standby read ms p50 \(f(r.observeP50Ms)) p99 \(f(r.observeP99Ms)); send lag p99 \(f(r.sendLagP99Ms)) ms
            missed intervals \(r.missedIntervals) of \(r.renewsScheduled) renews; \
            connections sending prepared statements \(r.preparedConnections) of \(r.connections)
            """
    }
}
