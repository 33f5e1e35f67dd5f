import FailoverController
import FoundationEssentials
import Glibc
import HotStandbyCore

/// The systemd watchdog as the second fence, for a daemon that is stopped (SIGSTOP, a debugger) while its
/// host runs on: systemd sends `WatchdogSignal` `WatchdogSec` after the last `WATCHDOG=1`, SIGKILL
/// `TimeoutAbortSec` later (SIGKILL ends a stopped process), and `ExecStopPost=hotstandby release` drops
/// the address and runs the demote hook.
///
/// The last renew that succeeded started at `s`; a standby takes over no earlier than `s + timeout` (its
/// clock). The last ping comes at most one interval after `s` (the loop pings after every input, and the
/// renews come every interval), so the address is gone by
/// `s + interval + WatchdogSec + TimeoutAbortSec + release`, and the service is stopped by the end of the
/// release. Safe when
///
///     interval + WatchdogSec + TimeoutAbortSec + release + drift < timeout
///
/// with `release` = the release's start-up (500 ms allowed) + the demote hook's time, and one interval of
/// drift. And so that a healthy daemon is never killed: `WatchdogSec > 2 × interval` (it pings at most
/// every `WatchdogSec / 2`, and at least once per interval after that).
public struct WatchdogFit {
    /// `WatchdogSec`, `TimeoutAbortSec` (or `TimeoutStopSec`, its default) and where they were read.
    public struct UnitValues: Equatable {
        public var watchdog: Duration?
        public var abort: Duration?
        public var files: [String]
    }

    /// The unit files systemd would read for hotstandby.service, in the order it applies them.
    public static let defaultUnitPaths = [
        "/usr/lib/systemd/system/hotstandby.service", "/lib/systemd/system/hotstandby.service",
        "/etc/systemd/system/hotstandby.service",
    ]

    /// Reads the values from `paths` and the drop-ins beside the last of them that exist; later files win.
    public static func read(paths: [String]) -> UnitValues {
        var values = UnitValues(watchdog: nil, abort: nil, files: [])
        var stopTimeout: Duration?
        var files: [String] = []
        for path in paths where FileManager.default.fileExists(atPath: path) {
            files.append(path)
        }
        for path in paths {
            let dropins = path + ".d"
            if let names = try? FileManager.default.contentsOfDirectory(atPath: dropins) {
                files += names.filter { $0.hasSuffix(".conf") }.sorted().map { dropins + "/" + $0 }
            }
        }
        for file in files {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { continue }
            for raw in text.split(separator: "\n") {
                let line = raw.trimmingBlanks()
                guard let equals = line.firstIndex(of: "="), !line.hasPrefix("#") else { continue }
                let key = line[..<equals].trimmingBlanks()
                let value = line[line.index(after: equals)...].trimmingBlanks()
                switch key {
                case "WatchdogSec": values.watchdog = systemdDuration(value)
                case "TimeoutAbortSec": values.abort = systemdDuration(value)
                case "TimeoutStopSec", "TimeoutSec": stopTimeout = systemdDuration(value)
                default: break
                }
            }
        }
        // systemd: TimeoutAbortSec defaults to TimeoutStopSec, which defaults to 90 s.
        if values.abort == nil { values.abort = stopTimeout ?? (files.isEmpty ? nil : .seconds(90)) }
        values.files = files
        return values
    }

    /// A systemd time span: `10s`, `500ms`, `1min 30s`, a bare number of seconds; nil for `infinity` or junk.
    public static func systemdDuration(_ text: String) -> Duration? {
        // Whole milliseconds; nil for what cannot be one (`1e30`, `inf`, negative), not a trap converting it.
        func milliseconds(_ value: Double) -> Duration? {
            guard value.isFinite, value >= 0, value < 9.0e15 else { return nil }
            return .milliseconds(Int64(value))
        }
        if let seconds = Double(text) { return milliseconds(seconds * 1000) }
        var total = Duration.zero
        let units: [(String, Double)] = [("ms", 0.001), ("min", 60), ("s", 1), ("h", 3600)]
        for part in text.split(separator: " ") {
            guard let unit = units.first(where: { part.hasSuffix($0.0) }),
                let number = Double(part.dropLast(unit.0.count)),
                let value = milliseconds(number * unit.1 * 1000)
            else { return nil }
            total += value
        }
        return total
    }

    /// The warnings for these values and heartbeat; empty when they fit (or no unit is installed).
    public static func warnings(_ unit: UnitValues, failover: FailoverSettings, demoteTime: Duration) -> [String] {
        guard !unit.files.isEmpty else { return [] }
        let from = unit.files.joined(separator: ", ")
        guard let watchdog = unit.watchdog, watchdog > .zero else {
            return ["the unit (\(from)) sets no WatchdogSec: a stopped daemon keeps the address until it runs again"]
        }
        var warnings: [String] = []
        let interval = failover.interval
        if watchdog <= interval * 2 {
            warnings.append(
                "WatchdogSec=\(watchdog.text) (\(from)) is not longer than 2 × heartbeat.interval (\(interval.text)): "
                    + "systemd may kill a healthy daemon; set WatchdogSec above \((interval * 2).text)"
            )
        }
        let abort = unit.abort ?? .seconds(90)
        let release = Duration.milliseconds(500) + demoteTime
        let drift = max(interval, .milliseconds(100))
        let total = interval + watchdog + abort + release + drift
        if total >= failover.timeout {
            let room = failover.timeout - interval - release - drift
            warnings.append(
                "WatchdogSec=\(watchdog.text) + TimeoutAbortSec=\(abort.text) (\(from)) do not fit heartbeat.timeout "
                    + "(\(failover.timeout.text)): a stopped daemon is killed and released only after "
                    + "interval \(interval.text) + \(watchdog.text) + \(abort.text) + release \(release.text) + drift "
                    + "\(drift.text) = \(total.text), when a standby may already serve; "
                    + (room > .zero
                        ? "keep WatchdogSec + TimeoutAbortSec below \(room.text) (a drop-in in /etc/systemd/system/hotstandby.service.d/)"
                        : "raise heartbeat.timeout")
            )
        }
        return warnings
    }
}
