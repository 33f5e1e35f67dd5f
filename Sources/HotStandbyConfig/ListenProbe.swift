import FoundationEssentials
import Glibc

#if canImport(Glibc)
    import Glibc
#endif

/// Binds `http.listen` once, and lets it go, before the daemon starts anything, so that an address another
/// program holds (a second hotstandby on the same host) or may not use is refused with one line naming the
/// key, the value and the fix, rather than NIO's `bind(descriptor:ptr:bytes:)` error from inside the
/// service group after the loop may already have started.
public enum ListenProbe {
    /// Why `settings.listen` cannot be bound, or nil when it can (or when HTTP is disabled).
    public static func problem(_ settings: HTTPSettings) -> String? {
        guard settings.enabled else { return nil }
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_NUMERICSERV
        var found: UnsafeMutablePointer<addrinfo>?
        let resolved = getaddrinfo(settings.host, String(settings.port), &hints, &found)
        guard resolved == 0, let first = found else {
            let reason = String(cString: gai_strerror(resolved))
            return "http.listen \(settings.listen): cannot resolve '\(settings.host)' (\(reason)); set http.listen "
                + "to an address of this host"
        }
        defer { freeaddrinfo(found) }
        let fd = socket(first.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        // As the server's own socket does (NIO's so_reuseaddr): a port left in TIME_WAIT is not "in use".
        var one: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        guard bind(fd, first.pointee.ai_addr, first.pointee.ai_addrlen) != 0 else { return nil }
        return message(listen: settings.listen, port: settings.port, errno: errno)
    }

    /// The refusal for a bind of `listen` that failed with `errno`.
    public static func message(listen: String, port: Int, errno code: Int32) -> String {
        switch code {
        case EADDRINUSE:
            return "http.listen \(listen): address already in use — another hotstandby on this host? set http.listen"
        case EACCES:
            let why = port < 1024 ? " (ports below 1024 need root or CAP_NET_BIND_SERVICE)" : ""
            return "http.listen \(listen): permission denied\(why); set http.listen to a port above 1023"
        case EADDRNOTAVAIL:
            return "http.listen \(listen): no interface of this host has that address (ip addr show lists them); "
                + "set http.listen"
        default:
            return "http.listen \(listen): cannot bind (\(String(cString: strerror(code)))); set http.listen"
        }
    }
}
