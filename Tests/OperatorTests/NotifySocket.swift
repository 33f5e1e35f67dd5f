import Dispatch
import Foundation
import Synchronization
import TestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// A unix datagram socket standing in for systemd's `$NOTIFY_SOCKET`; collects every message it gets.
final class NotifySocket: Sendable {
    /// The name to put in `NOTIFY_SOCKET` (`@name` for an abstract socket).
    let address: String
    private let fd: Int32
    private let received = Mutex<[(at: ContinuousClock.Instant, text: String)]>([])

    /// Binds a path socket in `directory`, or an abstract one when `abstract` is true.
    init(directory: String, abstract: Bool) throws {
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw HarnessError("socket failed") }
        var timeout = timeval(tv_sec: 0, tv_usec: 200_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let name = abstract ? "hotstandby-test-\(UUID().uuidString.prefix(8))" : directory + "/notify.sock"
        address = abstract ? "@" + name : name
        var bytes = Array(name.utf8)
        if abstract { bytes.insert(0, at: 0) }
        var sockAddress = sockaddr_un()
        sockAddress.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &sockAddress.sun_path) { raw in
            for (index, byte) in bytes.enumerated() { raw[index] = byte }
        }
        let length = socklen_t(
            MemoryLayout<sockaddr_un>.offset(of: \sockaddr_un.sun_path)! + bytes.count + (abstract ? 0 : 1)
        )
        let rc = withUnsafePointer(to: &sockAddress) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        guard rc == 0 else { throw HarnessError("bind \(address) failed: errno \(errno)") }
    }

    /// Receives for `duration`, off the cooperative pool.
    func receive(for duration: Duration) async {
        let fd = self.fd
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().async {
                let deadline = ContinuousClock.now.advanced(by: duration)
                var buffer = [UInt8](repeating: 0, count: 4096)
                while ContinuousClock.now < deadline {
                    let count = recv(fd, &buffer, buffer.count, 0)
                    if count > 0 {
                        let text = String(decoding: buffer[0..<count], as: UTF8.self)
                        self.received.withLock { $0.append((.now, text)) }
                    }
                }
                continuation.resume()
            }
        }
    }

    /// Every line received, each with when its datagram arrived.
    var lines: [(at: ContinuousClock.Instant, text: String)] {
        received.withLock { messages in
            messages.flatMap { message in message.text.split(separator: "\n").map { (message.at, String($0)) } }
        }
    }

    deinit { close(fd) }
}
