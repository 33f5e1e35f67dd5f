import FoundationEssentials
import Glibc
import HotStandbyCore

/// `http.*`: where the HTTP endpoints listen and who may use the write endpoints.
public struct HTTPSettings: Sendable {
    /// `http.listen`: `HOST:PORT` (`[::1]:8008` for IPv6). Defaults to `127.0.0.1:8008`.
    public var listen: String = "127.0.0.1:8008"
    /// `http.enabled`. Defaults to true.
    public var enabled: Bool = true
    /// `http.tokenFile`: a 0600 file holding the bearer token that enables `POST /switchover` and `/pause`.
    public var tokenFile: String?
    /// The host part of `listen`.
    public var host: String = "127.0.0.1"
    /// The port part of `listen`.
    public var port: Int = 8008
    /// `http.advertise`: how the other nodes reach this one (`http://HOST:PORT`), for the failsafe's beats.
    /// Defaults to `http://` + `listen` unless `listen` is every address (`0.0.0.0`, `::`); nil then.
    public var advertise: String?

    /// Reads the `http.*` keys, reporting problems through `reader`.
    public static func parse(_ reader: ConfigReader) -> HTTPSettings {
        var settings = HTTPSettings()
        settings.listen = reader.string("http.listen") ?? settings.listen
        settings.enabled = reader.bool("http.enabled", default: true)
        settings.tokenFile = reader.string("http.tokenFile")
        if let (host, port) = splitHostPort(settings.listen) {
            settings.host = host
            settings.port = port
        } else {
            reader.problem(
                "http.listen: '\(settings.listen)' is not HOST:PORT with a port from 1 to 65535 (e.g. 127.0.0.1:8008)"
            )
        }
        if let written = reader.string("http.advertise") {
            if let problem = advertiseProblem(written) {
                reader.problem("http.advertise: '\(written)' \(problem)")
            } else {
                settings.advertise = written.hasSuffix("/") ? String(written.dropLast()) : written
            }
        } else if !["0.0.0.0", "::", ""].contains(settings.host) {
            settings.advertise =
                "http://" + (settings.host.contains(":") ? "[\(settings.host)]" : settings.host)
                + ":\(settings.port)"
        }
        if let path = settings.tokenFile, settings.enabled {
            if let problem = tokenFileProblem(path) { reader.problem("http.tokenFile: '\(path)' \(problem)") }
        }
        return settings
    }

    /// Why `http.advertise` cannot be used, or nil: it must be `http://HOST:PORT` (no path, no credentials).
    public static func advertiseProblem(_ text: String) -> String? {
        guard text.hasPrefix("http://") else { return "must start with http:// (e.g. http://10.0.0.1:8008)" }
        var rest = String(text.dropFirst("http://".count))
        if rest.hasSuffix("/") { rest.removeLast() }
        if rest.contains("/") || rest.contains("@") || rest.contains("?") {
            return "must be http://HOST:PORT with no path, user or query"
        }
        guard splitHostPort(rest) != nil else { return "must be http://HOST:PORT with a port from 1 to 65535" }
        return nil
    }

    /// `HOST:PORT` or `[V6]:PORT`.
    public static func splitHostPort(_ text: String) -> (String, Int)? {
        guard let colon = text.lastIndex(of: ":") else { return nil }
        var host = String(text[..<colon])
        guard let port = Int(text[text.index(after: colon)...]), (1...65535).contains(port) else { return nil }
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { return nil }
        return (host, port)
    }

    /// Why the token file cannot be used, or nil.
    public static func tokenFileProblem(_ path: String) -> String? {
        var info = stat()
        guard stat(path, &info) == 0 else { return "does not exist or cannot be read; create it with mode 0600" }
        if info.st_mode & 0o077 != 0 {
            return "is readable by others (mode \(String(info.st_mode & 0o777, radix: 8))); run chmod 0600 on it"
        }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            return "cannot be read by this user"
        }
        if text.trimmingWhitespace().count < 16 {
            return "holds a token shorter than 16 characters; write a long random one (openssl rand -hex 32)"
        }
        return nil
    }
}
