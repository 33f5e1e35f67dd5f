import ArgumentParser
import FailoverController
import Heartbeat
import HotStandbyConfig

/// `hotstandby init-db`: creates or upgrades the schema.
struct InitDB: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init-db",
        abstract: "Create or upgrade hotstandby's tables in the database (idempotent)."
    )

    @OptionGroup var options: ConfigOption

    func run() async throws {
        let config = try options.load()
        let admin = ClusterAdmin(database: config.database)
        let existing: Int?
        do throws(PGError) {
            existing = try await admin.schemaVersion()
        } catch {
            throw ExitMessage(text: error.description)
        }
        if let version = existing, version > Schema.currentVersion {
            throw ExitMessage(
                text: "the database schema is version \(version), newer than this binary "
                    + "supports (\(Schema.currentVersion)): upgrade hotstandby on this host"
            )
        }
        do throws(PGError) {
            let applied = try await admin.migrate()
            if applied.isEmpty {
                print("schema is current (version \(Schema.currentVersion)); nothing to do")
            } else {
                print(
                    "applied migrations \(applied.map(String.init).joined(separator: ", ")); schema version \(Schema.currentVersion)"
                )
            }
        } catch {
            throw ExitMessage(text: error.description)
        }
    }
}
