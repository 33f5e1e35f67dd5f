import FailoverController
import FoundationEssentials
import Glibc
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// sd_notify without libsystemd: datagrams to `$NOTIFY_SOCKET` (a path, or an abstract name written `@name`).
///
/// Sends `READY=1` once the node has read the lease for the first time, `STATUS=…` when the role or the
/// kind of note changes, and `WATCHDOG=1` at most every `WATCHDOG_USEC / 2` (only when systemd asked for
/// a watchdog). The run loop calls `update` after every input, at least every heartbeat interval, so a hung
/// loop stops the pings and systemd kills and restarts the process.
public final class SystemdNotify: Sendable {
    private struct State {
        public var ready = false
        public var statusKey = ""
        public var lastWatchdog: ContinuousClock.Instant?
    }

    private let socketPath: String
    private let watchdogInterval: Duration?
    private let state = Mutex(State())

    /// Creates a notifier from the environment; `nil` when `NOTIFY_SOCKET` is not set (not run by systemd).
    public init?(environment: [String: String] = ProcessInfo.processInfo.environment) {
        guard let path = environment["NOTIFY_SOCKET"], !path.isEmpty else { return nil }
        socketPath = path
        // WATCHDOG_PID, when present, names the process the watchdog is meant for.
        let forUs = environment["WATCHDOG_PID"].flatMap { Int32($0) }.map { $0 == getpid() } ?? true
        if forUs, let text = environment["WATCHDOG_USEC"], let usec = Int64(text), usec > 0 {
            watchdogInterval = .microseconds(usec / 2)
        } else {
            watchdogInterval = nil
        }
    }

    /// The systemd `STATUS=` text for a node status.
    public static func statusText(_ status: NodeStatus) -> String {
        switch status.role {
        case .active: return "active epoch \(status.epoch)"
        default: return "\(status.role.rawValue): \(status.note)"
        }
    }

    /// What must change before a new `STATUS=` is sent: the role and the note without its moving numbers.
    private static func statusKey(_ status: NodeStatus) -> String {
        if status.role == .active { return "active \(status.epoch)" }
        let note = status.note
        let cut = note.firstIndex(where: { $0 == "(" || $0 == ":" }) ?? note.endIndex
        return status.role.rawValue + " " + note[..<cut]
    }

    /// Called with every status from the run loop.
    public func update(_ status: NodeStatus, now: ContinuousClock.Instant = .now) {
        var messages: [String] = []
        state.withLock { state in
            let hasRead = status.view != nil || status.role != .standby
            if !state.ready && hasRead {
                state.ready = true
                messages.append("READY=1")
            }
            let key = Self.statusKey(status)
            if key != state.statusKey {
                state.statusKey = key
                messages.append("STATUS=" + Self.statusText(status))
            }
            if let interval = watchdogInterval, state.lastWatchdog.map({ $0.duration(to: now) >= interval }) ?? true {
                state.lastWatchdog = now
                messages.append("WATCHDOG=1")
            }
        }
        if !messages.isEmpty { send(messages.joined(separator: "\n")) }
    }

    /// Tells systemd the daemon is stopping.
    public func stopping() { send("STOPPING=1") }

    /// Sends one datagram; never blocks (MSG_DONTWAIT) and ignores failures: systemd may be gone.
    public func send(_ message: String) {
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var pathBytes = Array(socketPath.utf8)
        if pathBytes.first == UInt8(ascii: "@") { pathBytes[0] = 0 }
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard pathBytes.count < capacity else { return }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in pathBytes.enumerated() { raw[index] = byte }
        }
        let pathOffset = MemoryLayout<sockaddr_un>.offset(of: \sockaddr_un.sun_path) ?? 2
        // An abstract name is exactly its bytes; a path includes its terminating zero.
        let length = pathOffset + pathBytes.count + (pathBytes.first == 0 ? 0 : 1)
        let bytes = Array(message.utf8)
        _ = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                bytes.withUnsafeBytes { buffer in
                    sendto(fd, buffer.baseAddress, buffer.count, Int32(MSG_DONTWAIT), socketAddress, socklen_t(length))
                }
            }
        }
    }
}
