import DNSUpdater
import FailoverController
import FoundationEssentials
import Glibc
import SharedFolderSync
import Shell
import VIPManager

/// What this host's configured parts need, checked at start, every minute by the daemon, and by
/// `check-config --host`: the interface exists; `ip`, `arping`, `ndisc6`, `nsupdate` exist where their
/// part is configured; key and password files are readable and not world-readable; the shared folder is
/// there (mounted, with `requireMount`); the beat socket's folder exists. Each problem names the key and
/// the value. A problem makes the node not eligible; it never stops the daemon.
public struct HostPrerequisites: Sendable {
    public let config: Config

    /// Checks what `config` needs of this host.
    public init(config: Config) { self.config = config }

    /// Every problem found, in key order; empty when all hold. Each probe that touches something that
    /// may hang (a share, `ip`) runs as a process with a deadline.
    public func problems() async -> [String] {
        var problems: [String] = []
        if let vip = config.parts.vip {
            // arping announces an IPv4 address (and probes it); ndisc6 only probes an IPv6 one.
            var programs = [("vip.ipPath", vip.ipPath)]
            if vip.address.family == .ipv4 { programs.append(("vip.arpingPath", vip.arpingPath)) }
            if vip.address.family == .ipv6 && vip.probe != .off { programs.append(("vip.ndisc6Path", vip.ndisc6Path)) }
            problems += programProblems(programs)
            if problems.isEmpty {
                do throws(VIPError) {
                    _ = try await vip.checkHost()
                } catch {
                    problems.append(error.message)
                }
            }
        }
        if let dns = config.parts.dns {
            // Not configuration keys: the DNS part runs `nsupdate` and `dig` (bind9-dnsutils) from PATH.
            problems += programProblems([
                ("dns (nsupdate, from bind9-dnsutils)", dns.nsupdatePath),
                ("dns (dig, from bind9-dnsutils)", dns.digPath),
            ])
            switch dns.tsig {
            case .keyFile(let path): problems += secretFileProblems("dns.tsig.keyFile", path)
            case .secretFile(_, _, let path): problems += secretFileProblems("dns.tsig.secretFile", path)
            case .gss: break
            }
        }
        if let path = config.parts.alerts?.email?.passwordFile {
            problems += secretFileProblems("alerts.email.passwordFile", path)
        }
        if let path = config.http.tokenFile, config.http.enabled {
            problems += secretFileProblems("http.tokenFile", path)
        }
        if let shared = config.parts.sharedFolder {
            if let path = shared.encryptionKeyFile {
                problems += secretFileProblems("sharedFolder.encryptionKeyFile", path)
            }
            problems += await shareProblems(shared.path, requireMount: shared.requireMount)
        }
        if let socket = config.health.beatSocket {
            // The socket's folder: "/" for "/x.sock", "." for a bare name (the key requires an absolute path).
            let folder = socket.lastIndex(of: "/").map { $0 == socket.startIndex ? "/" : String(socket[..<$0]) } ?? "."
            var info = stat()
            if stat(folder, &info) != 0 || (info.st_mode & S_IFMT) != S_IFDIR {
                problems.append(
                    "health.beat.socket: the folder '\(folder)' does not exist (systemd's RuntimeDirectory= makes it)"
                )
            }
        }
        return problems
    }

    /// Programs that must exist and be executable; a bare name is looked up in `PATH`.
    private func programProblems(_ programs: [(key: String, path: String)]) -> [String] {
        programs.compactMap { key, path in
            if path.hasPrefix("/") {
                return FileManager.default.isExecutableFile(atPath: path)
                    ? nil : "\(key): '\(path)' is not an executable file on this host"
            }
            let found = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/sbin:/usr/bin:/sbin:/bin")
                .split(separator: ":").contains { FileManager.default.isExecutableFile(atPath: "\($0)/\(path)") }
            return found ? nil : "\(key): '\(path)' is not found in PATH on this host"
        }
    }

    /// A key or password file: readable by this user, not readable by others.
    private func secretFileProblems(_ key: String, _ path: String) -> [String] {
        var info = stat()
        guard stat(path, &info) == 0 else { return ["\(key): '\(path)' does not exist"] }
        guard access(path, R_OK) == 0 else { return ["\(key): '\(path)' cannot be read by this user"] }
        if info.st_mode & 0o007 != 0 {
            return [
                "\(key): '\(path)' is readable by others (mode \(String(info.st_mode & 0o777, radix: 8))); run chmod 0600 on it"
            ]
        }
        return []
    }

    /// The share: a folder (and a mount point with `requireMount`), asked of a process with a deadline so
    /// a hung network mount cannot hang the check.
    private func shareProblems(_ path: String, requireMount: Bool) async -> [String] {
        let isFolder = await run(["/usr/bin/test", "-d", path])
        switch isFolder {
        case .timedOut:
            return ["sharedFolder.path: '\(path)' did not answer within 5s (a hung network mount?)"]
        case .failed:
            return ["sharedFolder.path: '\(path)' does not exist or is not a folder: mount the share"]
        case .passed:
            break
        }
        guard requireMount, !FileManager.default.fileExists(atPath: path + "/" + SharedFolderConfig.markerFileName)
        else {
            return []
        }
        if case .failed = await run(["/usr/bin/mountpoint", "-q", path]) {
            return [
                "sharedFolder.path: '\(path)' is not a mount point and holds no \(SharedFolderConfig.markerFileName) "
                    + "marker (sharedFolder.requireMount is on): mount the share"
            ]
        }
        return []
    }

    private enum Outcome { case passed, failed, timedOut }

    private func run(_ argv: [String]) async -> Outcome {
        do {
            return try await Command(argv, timeout: .seconds(5), killGrace: .milliseconds(100)).run().succeeded
                ? .passed : .failed
        } catch {
            return error.code == .timedOut ? .timedOut : .failed
        }
    }
}
