import Foundation
import HotStandbyCore
import Logging
import TestSupport

@testable import Alerts

#if canImport(Glibc)
    import Glibc
#endif

/// Environment set by `scripts/smtp-server` (see docs/alerts.md); tests that need a server skip without it.
enum TestEnv {
    static let env = ProcessInfo.processInfo.environment
    static let smtpURL = env["HOTSTANDBY_TEST_SMTP_URL"]
    static let smtpMaildir = env["HOTSTANDBY_TEST_SMTP_MAILDIR"]
    static let smtpRefuseFile = env["HOTSTANDBY_TEST_SMTP_REFUSE_FILE"]
    static let tlsURL = env["HOTSTANDBY_TEST_SMTP_TLS_URL"]
    static let tlsMaildir = env["HOTSTANDBY_TEST_SMTP_TLS_MAILDIR"]
    static let caFile = env["HOTSTANDBY_TEST_SMTP_CAFILE"]
    static let user = env["HOTSTANDBY_TEST_SMTP_USER"]
    static let passwordFile = env["HOTSTANDBY_TEST_SMTP_PASSWORD_FILE"]

    static var hasPlain: Bool { smtpURL != nil && smtpMaildir != nil && smtpRefuseFile != nil }
    static var hasTLS: Bool {
        tlsURL != nil && tlsMaildir != nil && caFile != nil && user != nil && passwordFile != nil
    }
}

let quietLogger = Logger(label: "alerts-test", factory: { _ in SwiftLogNoOpLogHandler() })

/// A cluster name no other test uses, so tests sharing a server find their own mail.
func uniqueCluster(_ prefix: String) -> String {
    "\(prefix)-\(UUID().uuidString.prefix(8).lowercased())"
}

/// One message the test server stored: the envelope, the headers and the body.
struct StoredMail {
    var headers: [String: String]
    var body: String

    var subject: String { headers["Subject"] ?? "" }
}

/// The messages in a maildir of `scripts/smtp-server` whose `X-Hotstandby-Cluster` is `cluster`.
func mails(in maildir: String, cluster: String) -> [StoredMail] {
    let names = ((try? FileManager.default.contentsOfDirectory(atPath: maildir)) ?? []).filter { !$0.hasPrefix(".") }
    return names.sorted().compactMap { name -> StoredMail? in
        guard let data = FileManager.default.contents(atPath: maildir + "/" + name) else { return nil }
        let text = String(decoding: data, as: UTF8.self).replacingOccurrences(of: "\r\n", with: "\n")
        guard let split = text.range(of: "\n\n") else { return nil }
        var headers: [String: String] = [:]
        for line in text[..<split.lowerBound].split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[String(line[..<colon])] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        guard headers["X-Hotstandby-Cluster"] == cluster else { return nil }
        return StoredMail(headers: headers, body: String(text[split.upperBound...]))
    }
}

/// Waits until `condition` holds or `seconds` pass.
func eventually(seconds: Double, _ condition: () async -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
    while ContinuousClock.now < deadline {
        if await condition() { return true }
        try? await Task.sleep(for: .milliseconds(50))
    }
    return await condition()
}

func event(
    _ id: Int64,
    cluster: String,
    kind: String = "takeover",
    node: String = "b",
    detail: [String: JSONValue]? = nil
) -> AlertEvent {
    AlertEvent(
        id: id,
        cluster: cluster,
        at: Date(timeIntervalSince1970: 1_700_000_000 + Double(id)),
        epoch: 8,
        node: node,
        kind: kind,
        detail: detail ?? [
            "from": "a", "to": "b", "previousEpoch": 7, "counter": 412, "unchangedSeconds": 60.2,
            "reason": "the heartbeat counter stayed at 412 for 60.2 s (timeout 60 s)",
            "steps": .array([
                .object(["step": "shared-folder", "ok": true, "seconds": 0.41]),
                .object(["step": "vip", "ok": false, "seconds": 0.005, "error": "ip addr add failed: no such device"]),
            ]),
            "promotionSeconds": 1.2,
        ]
    )
}

/// A port on 127.0.0.1 where nothing listens (TestSupport's `freePort`: bound to find a free one, then closed).
func closedPort() -> Int { (try? freePort()) ?? 1 }

/// A TCP listener on 127.0.0.1 that accepts connections (in the kernel's backlog) and never says a word.
final class SilentListener {
    let fd: Int32
    let port: Int

    init() {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        listen(fd, 8)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        self.fd = fd
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit { close(fd) }
}

/// A temporary folder removed at the end of the test.
func temporaryDirectory() throws -> String {
    let path = NSTemporaryDirectory() + "alerts-test-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

func writeFile(_ path: String, _ contents: String, mode: Int) throws {
    try contents.write(toFile: path, atomically: false, encoding: .utf8)
    try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
}
