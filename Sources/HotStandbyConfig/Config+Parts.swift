import Alerts
import DNSUpdater
import FoundationEssentials
import SharedFolderSync
import VIPManager

/// The optional parts: each section, when present, is read into its module's configuration type.
public struct PartsConfig: Sendable {
    public var vip: VIPConfig?
    public var dns: DNSConfig?
    public var sharedFolder: SharedFolderConfig?
    public var alerts: AlertsSettings?

    public static func parse(_ reader: ConfigReader, cluster: String, stateDirectory: String) -> PartsConfig {
        var parts = PartsConfig()
        if reader.has("vip") { parts.vip = parseVIP(reader) }
        if reader.has("dns") { parts.dns = parseDNS(reader) }
        if reader.has("sharedFolder") {
            parts.sharedFolder = parseSharedFolder(reader, cluster: cluster, stateDirectory: stateDirectory)
        }
        if reader.has("alerts") { parts.alerts = parseAlerts(reader) }
        return parts
    }

    private static func parseVIP(_ reader: ConfigReader) -> VIPConfig? {
        let address = reader.requiredString("vip.address", example: "vip: {address: 10.0.0.100/24, interface: eth0}")
        let interface = reader.requiredString(
            "vip.interface",
            example: "vip: {address: 10.0.0.100/24, interface: eth0}"
        )
        let label = reader.string("vip.label")
        let count = reader.int("vip.garp.count", default: 5, range: 0...50)
        let interval = reader.duration("vip.garp.interval", default: .milliseconds(200)) ?? .milliseconds(200)
        let refresh = reader.duration("vip.garp.refresh", default: .seconds(30)) ?? .seconds(30)
        let commandTimeout = reader.duration("vip.commandTimeout", default: .seconds(2)) ?? .seconds(2)
        let probeWindow = reader.duration("vip.probeWindow", default: .milliseconds(300)) ?? .milliseconds(300)
        let ipPath = reader.string("vip.ipPath") ?? "/usr/sbin/ip"
        let arpingPath = reader.string("vip.arpingPath") ?? "/usr/bin/arping"
        let ndisc6Path = reader.string("vip.ndisc6Path") ?? "/usr/bin/ndisc6"
        var probe = VIPConfig.ProbeMode.on
        if let text = reader.string("vip.probe") {
            do {
                probe = try VIPConfig.probeMode(parsing: text)
            } catch {
                reader.problem(error.description)
            }
        }
        guard !address.isEmpty, !interface.isEmpty else { return nil }
        do {
            return try VIPConfig(
                address: address,
                interface: interface,
                label: label,
                garpCount: count,
                garpInterval: interval,
                garpRefresh: refresh,
                probe: probe,
                probeWindow: probeWindow,
                ipPath: ipPath,
                arpingPath: arpingPath,
                ndisc6Path: ndisc6Path,
                commandTimeout: commandTimeout
            )
        } catch {
            reader.problem(error.description)
            return nil
        }
    }

    private static func parseDNS(_ reader: ConfigReader) -> DNSConfig? {
        let example =
            "dns: {server: ns1.example.com, zone: example.com, name: svc, address: 192.0.2.10, tsig: {keyFile: /etc/hotstandby/tsig.key}}"
        let server = reader.requiredString("dns.server", example: example)
        let zone = reader.requiredString("dns.zone", example: example)
        let name = reader.requiredString("dns.name", example: example)
        let address = reader.requiredString("dns.address", example: example)
        let port = reader.int("dns.port", default: 53, range: 1...65535)
        let ttl = reader.int("dns.ttl", default: 30, range: 0...604_800)
        let timeout = reader.duration("dns.timeout", default: .seconds(5)) ?? .seconds(5)
        let verifyInterval = reader.duration("dns.verifyInterval", default: .seconds(60)) ?? .seconds(60)
        var tsig: DNSConfig.TSIG?
        if let keyFile = reader.string("dns.tsig.keyFile") {
            tsig = .keyFile(keyFile)
        } else if let secretFile = reader.string("dns.tsig.secretFile") {
            tsig = .secretFile(
                name: reader.requiredString("dns.tsig.name", example: "dns: {tsig: {name: hotstandby, secretFile: …}}"),
                algorithm: reader.string("dns.tsig.algorithm") ?? "hmac-sha256",
                path: secretFile
            )
        } else if reader.bool("dns.tsig.gss", default: false) {
            tsig = .gss
        } else {
            reader.problem(
                "dns.tsig: missing; give dns.tsig.keyFile (as tsig-keygen writes it), or dns.tsig.name + dns.tsig.secretFile"
            )
        }
        guard let tsig, !server.isEmpty, !zone.isEmpty, !name.isEmpty, !address.isEmpty else { return nil }
        let config = DNSConfig(
            server: server,
            port: port,
            zone: zone,
            name: name,
            ttl: ttl,
            address: address,
            tsig: tsig,
            timeout: timeout,
            verifyInterval: verifyInterval
        )
        do {
            return try config.validated()
        } catch {
            reader.problem(error.description)
            return nil
        }
    }

    private static func parseSharedFolder(
        _ reader: ConfigReader,
        cluster: String,
        stateDirectory: String
    ) -> SharedFolderConfig? {
        let path = reader.requiredString(
            "sharedFolder.path",
            example: "sharedFolder: {path: /mnt/share, paths: [/var/lib/app]}"
        )
        guard let paths = reader.stringList("sharedFolder.paths"), !paths.isEmpty else {
            reader.problem("sharedFolder.paths: missing or empty; list the local files and folders to protect")
            return nil
        }
        let config = SharedFolderConfig(
            cluster: cluster,
            path: path,
            paths: paths,
            stateDirectory: stateDirectory,
            interval: reader.duration("sharedFolder.interval", default: .seconds(30)) ?? .seconds(30),
            keep: reader.int("sharedFolder.keep", default: 5, range: 1...1000),
            keepBackups: reader.int("sharedFolder.keepBackups", default: 5, range: 1...100_000),
            requireMount: reader.bool("sharedFolder.requireMount", default: true),
            encryptionKeyFile: reader.string("sharedFolder.encryptionKeyFile"),
            ioTimeout: reader.duration("sharedFolder.ioTimeout", default: .seconds(20)) ?? .seconds(20)
        )
        for problem in config.problems() { reader.problem(problem.description) }
        return config
    }

    private static func parseAlerts(_ reader: ConfigReader) -> AlertsSettings? {
        var email: EmailSettings?
        if reader.has("alerts.email") {
            var startTLS = EmailSettings.StartTLS.required
            if let text = reader.string("alerts.email.startTLS") {
                if let parsed = EmailSettings.StartTLS(rawValue: text) {
                    startTLS = parsed
                } else {
                    reader.problem("alerts.email.startTLS: '\(text)' is not one of required, opportunistic, off")
                }
            }
            email = EmailSettings(
                url: reader.requiredString(
                    "alerts.email.url",
                    example: "alerts: {email: {url: smtp://mail.example.com:587}}"
                ),
                startTLS: startTLS,
                user: reader.string("alerts.email.user"),
                passwordFile: reader.string("alerts.email.passwordFile"),
                from: reader.requiredString(
                    "alerts.email.from",
                    example: "alerts: {email: {from: hotstandby@example.com}}"
                ),
                to: reader.stringList("alerts.email.to")
                    ?? {
                        reader.problem("alerts.email.to: missing; give a list of addresses, e.g. [ops@example.com]")
                        return []
                    }(),
                caFile: reader.string("alerts.email.caFile"),
                timeout: reader.duration("alerts.email.timeout", default: .seconds(15)) ?? .seconds(15)
            )
        }
        var webhook: WebhookSettings?
        if reader.has("alerts.webhook") {
            webhook = WebhookSettings(
                url: reader.requiredString(
                    "alerts.webhook.url",
                    example: "alerts: {webhook: {url: https://hooks.example.com/x}}"
                ),
                caFile: reader.string("alerts.webhook.caFile"),
                timeout: reader.duration("alerts.webhook.timeout", default: .seconds(10)) ?? .seconds(10)
            )
        }
        let events = reader.stringList("alerts.events").map(Set.init)
        let settings = AlertsSettings(
            email: email,
            webhook: webhook,
            events: events,
            maxPerMinute: reader.int("alerts.maxPerMinute", default: 10, range: 1...10_000)
        )
        do {
            try settings.validate()
        } catch {
            reader.problem("\(error)")
        }
        return settings
    }
}
