import FailoverController
import FoundationEssentials

/// `failsafe.*` (issue 18): the active rides through a database outage while every member acknowledges it.
public struct FailsafeConfig: Sendable {
    /// `failsafe.enabled`. Defaults to false.
    public var enabled = false
    /// `failsafe.tokenFile`: a 0600 file with the secret every node shares; beats and answers are signed with it.
    public var tokenFile: String?
    /// `failsafe.maxDuration`: the longest ride-through of one outage. Defaults to 15 minutes.
    public var maxDuration: Duration = .seconds(900)

    /// The settings the state machine runs with (a fresh round-id nonce), nil when the failsafe is off.
    public var settings: FailsafeSettings? {
        enabled ? FailsafeSettings(maxDuration: maxDuration, nonce: UInt64.random(in: 1...UInt64.max)) : nil
    }

    /// Reads `failsafe.*`; `http` must already be parsed (the beats arrive on `http.listen`).
    static func parse(_ reader: ConfigReader, http: HTTPSettings) -> FailsafeConfig {
        var config = FailsafeConfig()
        config.enabled = reader.bool("failsafe.enabled", default: false)
        config.tokenFile = reader.string("failsafe.tokenFile")
        let written = reader.duration("failsafe.maxDuration", default: nil)
        config.maxDuration = written ?? config.maxDuration
        guard config.enabled else { return config }
        if let path = config.tokenFile {
            if let problem = HTTPSettings.tokenFileProblem(path) {
                reader.problem("failsafe.tokenFile: '\(path)' \(problem)")
            }
        } else {
            reader.problem(
                "failsafe.tokenFile: missing; failsafe.enabled needs the secret every node shares, e.g. "
                    + "`failsafe: {tokenFile: /etc/hotstandby/failsafe.token}` (mode 0600; openssl rand -hex 32)"
            )
        }
        if !http.enabled {
            reader.problem("failsafe.enabled: the beats arrive on http.listen, but http.enabled is false")
        }
        if http.advertise == nil {
            reader.problem(
                "http.advertise: missing; with failsafe.enabled and http.listen '\(http.listen)' (every address) the "
                    + "other nodes need the address that reaches this one, e.g. `http: {advertise: http://10.0.0.1:8008}`"
            )
        }
        // failsafe.maxDuration < heartbeat.timeout is refused by FailoverSettings.problems, which names both keys.
        return config
    }
}
