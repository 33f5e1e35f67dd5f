import Logging
import Shell

extension VIPManager {
    /// How long past `vip.probe-window` a running `ndisc6` is given before it counts as hung and is
    /// stopped: it ends by itself once the window is over, so this only covers its start-up on a loaded
    /// host (a stopped one would read as "nobody answered").
    static let neighbourProbeGrace = Duration.milliseconds(500)

    /// The argv of the IPv6 probe: `ndisc6 -1 -q -n -r 1 -w WINDOW_MS ADDR IF`. One neighbour
    /// solicitation (`-r 1`) to the address's solicited-node multicast group, waiting `vip.probe-window`
    /// (`-w`, in milliseconds) for the first advertisement (`-1`); `-q` prints only the answering
    /// link-layer address, `-n` never looks a name up in DNS.
    var neighbourProbeArguments: [String] {
        let (seconds, attoseconds) = config.probeWindow.components
        let milliseconds = seconds * 1000 + attoseconds / 1_000_000_000_000_000
        return [
            config.ndisc6Path, "-1", "-q", "-n", "-r", "1", "-w", "\(milliseconds)",
            config.address.address, config.interface.name,
        ]
    }

    /// Reads what `ndisc6` did: exit 0 = a node answered (its link-layer address is on a line of its
    /// own with `-q`, after "Target link-layer address:" without), 2 = nobody answered within the
    /// window; anything else (1: no such interface, no raw socket) is `nil`, a failure of the probe.
    static func neighbourProbeResult(exitCode: Int32?, output: String) -> ProbeResult? {
        switch exitCode {
        case 0:
            let mac = output.split(whereSeparator: { $0.isWhitespace }).first(where: { isLinkLayerAddress($0) })
            return ProbeResult(answered: true, answeredBy: mac.map { $0.lowercased() })
        case 2:
            return ProbeResult(answered: false, answeredBy: nil)
        default:
            return nil
        }
    }

    /// `02:77:00:00:00:01`: at least six groups of two hex digits separated by `:` (Ethernet has six;
    /// other link types more). An IPv6 address (`fd77::100`) never matches.
    static func isLinkLayerAddress(_ word: Substring) -> Bool {
        let groups = word.split(separator: ":", omittingEmptySubsequences: false)
        return groups.count >= 6 && groups.allSatisfy { $0.count == 2 && $0.allSatisfy(\.isHexDigit) }
    }

    /// The IPv6 probe: one neighbour solicitation for the address by `ndisc6` (see
    /// `neighbourProbeArguments`), through the command runner, stopped `neighbourProbeGrace` after the
    /// window.
    ///
    /// This host's own kernel never answers it (a solicitation is not looped back to its sender, and
    /// `ndisc6` cannot look up the local host), and `takeOver` skips the probe when the address is
    /// already bound here, as for IPv4. A hung `ndisc6` counts as "nobody answered" and is logged, as a
    /// hung `arping` does; a missing or failing one (no such interface, no `CAP_NET_RAW`) throws, as a
    /// failing `arping` does (`takeOver` then binds anyway with `vip.probe: on`, refuses with `strict`).
    func probeNeighbour() async throws(VIPError) -> ProbeResult {
        let argv = neighbourProbeArguments
        let result: CommandResult
        do {
            result = try await runner.run(
                argv,
                timeout: config.probeWindow + Self.neighbourProbeGrace,
                killGrace: .milliseconds(50)
            )
        } catch  where error.code == .timedOut {
            logger.warning(
                "the IPv6 probe did not run to the end; counted as nobody answering",
                metadata: ["error": "\(error)"]
            )
            return ProbeResult(answered: false, answeredBy: nil)
        }
        guard let answer = Self.neighbourProbeResult(exitCode: result.exitCode, output: result.output) else {
            throw VIPError(
                code: .commandFailed,
                message: "the probe failed (\(result.statusText)): \(argv.joined(separator: " ")); check "
                    + "vip.interface, that ndisc6 is installed (vip.ndisc6-path) and CAP_NET_RAW",
                output: result.output
            )
        }
        if answer.answered {
            logger.warning(
                "another host answers for the virtual IP",
                metadata: ["answered-by": "\(answer.answeredBy ?? "?")"]
            )
        }
        return answer
    }
}
