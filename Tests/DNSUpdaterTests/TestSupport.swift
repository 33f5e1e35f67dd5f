import Logging
import Shell
import Synchronization

@testable import DNSUpdater

#if canImport(Glibc)
    import Glibc
    import TestSupport
#elseif canImport(Musl)
    import Musl
#endif

/// The BIND server `scripts/bind start DIR` started, read from the variables it prints.
struct TestDNSServer: Sendable {
    var server: String
    var port: Int
    var zone: String
    var keyFile: String
    var badKeyFile: String
    var dir: String?
    var script: String?

    static let current: TestDNSServer? = {
        func env(_ name: String) -> String? {
            guard let value = getenv(name) else { return nil }
            let text = String(cString: value)
            return text.isEmpty ? nil : text
        }
        guard let server = env("HOTSTANDBY_TEST_DNS_SERVER"),
            let port = env("HOTSTANDBY_TEST_DNS_PORT").flatMap(Int.init),
            let zone = env("HOTSTANDBY_TEST_DNS_ZONE"), let keyFile = env("HOTSTANDBY_TEST_DNS_KEYFILE"),
            let badKeyFile = env("HOTSTANDBY_TEST_DNS_BADKEYFILE")
        else { return nil }
        return TestDNSServer(
            server: server,
            port: port,
            zone: zone,
            keyFile: keyFile,
            badKeyFile: badKeyFile,
            dir: env("HOTSTANDBY_TEST_DNS_DIR"),
            script: env("HOTSTANDBY_TEST_DNS_SCRIPT")
        )
    }()

    static var available: Bool { current != nil }
    static var restartable: Bool { current?.dir != nil && current?.script != nil }

    func config(
        name: String,
        address: String,
        keyFile: String? = nil,
        timeout: Duration = .seconds(3)
    ) -> DNSConfig {
        DNSConfig(
            server: server,
            port: port,
            zone: zone,
            name: name,
            ttl: 30,
            address: address,
            tsig: .keyFile(keyFile ?? self.keyFile),
            timeout: timeout
        )
    }

    func updater(name: String, address: String, keyFile: String? = nil, logger: Logger = quietLogger) throws
        -> DNSUpdater
    {
        try DNSUpdater(
            config: config(name: name, address: address, keyFile: keyFile),
            runtimeDirectory: scratch(),
            logger: logger
        )
    }

    /// Removes the name's address records and its epoch record, unconditionally (test set-up only).
    func reset(_ fqdn: String) async throws {
        try await rawUpdate([
            "update delete \(fqdn) A", "update delete \(fqdn) AAAA", "update delete _hotstandby.\(fqdn) TXT",
        ])
    }

    /// Sends update lines with the granted key, no prerequisite (a test's stand-in for "someone else").
    func rawUpdate(_ lines: [String]) async throws {
        let script =
            (["server \(server) \(port)", "zone \(zone)."] + lines + ["send", "quit"]).joined(separator: "\n") + "\n"
        let result = try await Command(["nsupdate", "-v", "-k", keyFile], standardInput: script, timeout: .seconds(5))
            .run()
        guard result.succeeded else { throw TestFailure("nsupdate failed: \(result.output)") }
    }

    /// What `dig` sees, straight from the server (independent of the module under test).
    func dig(_ fqdn: String, _ type: String) async throws -> [String] {
        let result = try await Command(
            ["dig", "@\(server)", "-p", "\(port)", "+tcp", "+short", "+time=2", "+tries=1", fqdn, type],
            timeout: .seconds(5)
        ).run()
        guard result.succeeded else { throw TestFailure("dig failed: \(result.output)") }
        return result.output.split(separator: "\n").map(String.init).sorted()
    }

    func control(_ action: String) async throws -> String {
        guard let dir, let script else { throw TestFailure("HOTSTANDBY_TEST_DNS_DIR/SCRIPT not set") }
        let result = try await Command([script, action, dir], timeout: .seconds(20)).run()
        guard result.succeeded else { throw TestFailure("\(script) \(action) failed: \(result.output)") }
        return result.output
    }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

let quietLogger = Logger(label: "dns-test", factory: { _ in SwiftLogNoOpLogHandler() })

/// A fresh private folder under /tmp.
func scratch() -> String {
    var template = Array("/tmp/hotstandby-dns-test-XXXXXX".utf8CString)
    let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
    precondition(made != nil, "mkdtemp failed")
    return template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
}

/// Writes a file with the given mode.
func writeFile(_ path: String, _ text: String, mode: mode_t) {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode)
    precondition(fd >= 0, "cannot write \(path)")
    _ = text.withCString { write(fd, $0, strlen($0)) }
    fchmod(fd, mode)
    close(fd)
}

func readFile(_ path: String) -> String {
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { return "" }
    defer { close(fd) }
    var buffer = [UInt8](repeating: 0, count: 65536)
    let count = read(fd, &buffer, buffer.count)
    return String(decoding: buffer.prefix(max(count, 0)), as: UTF8.self)
}

func fileMode(_ path: String) -> mode_t {
    var info = stat()
    stat(path, &info)
    return info.st_mode & 0o777
}

/// A value shared with `@Sendable` closures in a test.
final class Shared<Value: Sendable>: Sendable {
    private let value: Mutex<Value>
    init(_ value: Value) { self.value = Mutex(value) }
    func update<R: Sendable>(_ body: @Sendable (inout Value) -> R) -> R { value.withLock { body(&$0) } }
    var current: Value { value.withLock { $0 } }
}

/// Polls `condition` every 20 ms for up to `limit`.
func waitUntil(limit: Duration = .seconds(5), _ condition: @Sendable () -> Bool) async throws {
    let deadline = ContinuousClock.now + limit
    while !condition() {
        guard ContinuousClock.now < deadline else { throw TestFailure("condition not met within \(limit)") }
        try await Task.sleep(for: .milliseconds(20))
    }
}
