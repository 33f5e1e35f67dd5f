import FailoverController
import Foundation
import Heartbeat
import Logging
import ServiceLifecycle

/// `http.*`: where the HTTP endpoints listen and who may use the write endpoints.
struct HTTPSettings: Sendable {
    /// `http.listen`: `HOST:PORT` (`[::1]:8008` for IPv6). Defaults to `127.0.0.1:8008`.
    var listen: String = "127.0.0.1:8008"
    /// `http.enabled`. Defaults to true.
    var enabled: Bool = true
    /// `http.tokenFile`: a 0600 file holding the bearer token that enables `POST /switchover` and `/pause`.
    var tokenFile: String?
    /// The host part of `listen`.
    var host: String = "127.0.0.1"
    /// The port part of `listen`.
    var port: Int = 8008

    /// Reads the `http.*` keys, reporting problems through `reader`.
    static func parse(_ reader: ConfigReader) -> HTTPSettings {
        var settings = HTTPSettings()
        settings.listen = reader.string("http.listen") ?? settings.listen
        settings.enabled = reader.bool("http.enabled", default: true)
        settings.tokenFile = reader.string("http.tokenFile")
        if let (host, port) = splitHostPort(settings.listen) {
            settings.host = host
            settings.port = port
        } else {
            reader.problem("http.listen: '\(settings.listen)' is not HOST:PORT with a port from 1 to 65535 (e.g. 127.0.0.1:8008)")
        }
        if let path = settings.tokenFile, settings.enabled {
            if let problem = tokenFileProblem(path) { reader.problem("http.tokenFile: '\(path)' \(problem)") }
        }
        return settings
    }

    /// `HOST:PORT` or `[V6]:PORT`.
    static func splitHostPort(_ text: String) -> (String, Int)? {
        guard let colon = text.lastIndex(of: ":") else { return nil }
        var host = String(text[..<colon])
        guard let port = Int(text[text.index(after: colon)...]), (1...65535).contains(port) else { return nil }
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { return nil }
        return (host, port)
    }

    /// Why the token file cannot be used, or nil.
    static func tokenFileProblem(_ path: String) -> String? {
        var info = stat()
        guard stat(path, &info) == 0 else { return "does not exist or cannot be read; create it with mode 0600" }
        if info.st_mode & 0o077 != 0 {
            return "is readable by others (mode \(String(info.st_mode & 0o777, radix: 8))); run chmod 0600 on it"
        }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            return "cannot be read by this user"
        }
        if text.trimmingCharacters(in: .whitespacesAndNewlines).count < 16 {
            return "holds a token shorter than 16 characters; write a long random one (openssl rand -hex 32)"
        }
        return nil
    }
}

/// What an operator's tools talk to: HTTP health/status/metrics, sd_notify. Fed by the run loop's status.
struct OperatorSurface {
    /// Called by the run loop after every input.
    var onStatus: @Sendable (NodeStatus) -> Void
    /// Services to run beside the loop (the HTTP server and its cluster reader).
    var services: [any Service]

    init(config: Config, logger: Logger) {
        let metrics = NodeMetrics(cluster: config.cluster, node: config.node, version: HotStandby.version)
        let state = HTTPState()
        let notify = SystemdNotify()
        onStatus = { status in
            let previous = state.setStatus(status)
            metrics.observe(status, previous: previous)
            notify?.update(status)
        }
        guard config.http.enabled else {
            services = []
            return
        }
        var token: String?
        if let path = config.http.tokenFile {
            token = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let server = HTTPServer(config: config, state: state, metrics: metrics, token: token, logger: logger)
        let reader = HTTPClusterReader(
            admin: ClusterAdmin(database: config.database),
            cluster: config.cluster,
            node: config.node,
            timeout: config.failover.timeout,
            period: max(config.failover.interval, Duration.seconds(1)),
            state: state,
            metrics: metrics,
            logger: logger
        )
        services = [server.application(host: config.http.host, port: config.http.port), reader]
    }
}
