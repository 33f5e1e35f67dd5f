import FoundationEssentials
import Glibc
import HotStandbyConfig
import HotStandbyCore
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// `health.beat.socket`: a Unix datagram socket the application sends a datagram to at least every
/// `health.beat.timeout` (`hotstandby beat`, or one line of Python, Go or shell): the application's own
/// heartbeat, like systemd's `WATCHDOG=1`. A thread of its own waits on the socket, so a flood of beats
/// never touches the heartbeat's path; the health check reads the time of the last one.
final class BeatListener: Sendable {
    /// The socket's path.
    let path: String
    private let last = Mutex<(at: ContinuousClock.Instant?, count: Int)>((nil, 0))
    private let problem = Mutex<String?>(nil)

    /// Binds the socket (replacing a stale socket file a crashed run left) with mode 0660 and starts the
    /// thread. A failure to bind is kept as `bindProblem` (the node is then not eligible), never fatal.
    init(path: String) {
        self.path = path
        bind()
    }

    /// Binds the socket again when the last attempt failed; returns the problem that remains, or nil.
    func bindIfNeeded() -> String? {
        guard bindProblem != nil else { return nil }
        bind()
        return bindProblem
    }

    private func bind() {
        problem.withLock { $0 = nil }
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else {
            problem.withLock {
                $0 = "health.beat.socket: '\(path)': cannot create a socket (\(String(cString: strerror(errno))))"
            }
            return
        }
        var info = stat()
        if lstat(path, &info) == 0 {
            guard (info.st_mode & S_IFMT) == S_IFSOCK else {
                close(fd)
                problem.withLock {
                    $0 = "health.beat.socket: '\(path)' exists and is not a socket; remove it or choose another path"
                }
                return
            }
            unlink(path)
        }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            for (index, byte) in path.utf8.prefix(buffer.count - 1).enumerated() { buffer[index] = byte }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard bound == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            problem.withLock { $0 = "health.beat.socket: '\(path)': cannot bind (\(reason))" }
            return
        }
        chmod(path, 0o660)
        DetachedThread.start(name: "hotstandby-beat") { [self] in
            var buffer = [UInt8](repeating: 0, count: 512)
            while true {
                let received = recv(fd, &buffer, buffer.count, 0)
                if received < 0 {
                    if errno == EINTR { continue }
                    return
                }
                self.last.withLock { $0 = (ContinuousClock.now, $0.count + 1) }
            }
        }
    }

    /// Why the socket could not be set up, or nil.
    var bindProblem: String? { problem.withLock { $0 } }

    /// When the last beat arrived, and how many arrived in all.
    var lastBeat: (at: ContinuousClock.Instant?, count: Int) { last.withLock { $0 } }

    /// Whether the application beat within `timeout` before `now`, counting from `since` (the promotion)
    /// when no beat came after it; and the detail for the check's report.
    func verdict(timeout: Duration, since: ContinuousClock.Instant?, now: ContinuousClock.Instant = .now) -> (
        passed: Bool, detail: String
    ) {
        if let problem = bindProblem { return (false, problem) }
        let beat = lastBeat.at
        let from = [beat, since].compactMap { $0 }.max() ?? now
        let silence = from.duration(to: now)
        if silence <= timeout {
            return (true, beat.map { "beat \(Self.format($0.duration(to: now))) ago" } ?? "awaiting the first beat")
        }
        if let beat, since.map({ beat >= $0 }) ?? true {
            return (
                false,
                "no beat on \(path) for \(Self.format(beat.duration(to: now))) (health.beat.timeout \(timeout.text))"
            )
        }
        return (
            false,
            "no beat on \(path) since the promotion \(Self.format(silence)) ago (health.beat.timeout \(timeout.text))"
        )
    }

    private static func format(_ duration: Duration) -> String { String(cFormat: "%.1fs", duration.secondsValue) }
}

/// The client side of the beat: one datagram, no reply.
enum BeatClient {
    /// Sends `beat` to the socket at `path`; returns why it could not, or nil.
    static func send(to path: String) -> String? {
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return "beat: cannot create a socket (\(String(cString: strerror(errno))))" }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        guard path.utf8.count < MemoryLayout.size(ofValue: address.sun_path) else {
            return "beat: '\(path)' is too long for a socket path"
        }
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            for (index, byte) in path.utf8.enumerated() { buffer[index] = byte }
        }
        let message = Array("beat".utf8)
        let sent = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                sendto(fd, message, message.count, 0, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard sent == message.count else {
            return
                "beat: cannot send to '\(path)' (\(String(cString: strerror(errno)))): is the daemon running with health.beat.socket set to it?"
        }
        return nil
    }
}
