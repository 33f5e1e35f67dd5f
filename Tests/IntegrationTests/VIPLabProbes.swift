import Foundation
import Synchronization
import TestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// Samples, every 10 ms on a thread of its own, which nodes hold the VIP (`ip -n NS -json addr`).
final class HolderSampler: Sendable {
    struct Sample {
        var time: Double
        var holders: Set<String>
    }

    private let lab: VIPLab
    private let state = Mutex<(samples: [Sample], stop: Bool, done: Bool)>(([], false, false))

    init(lab: VIPLab) { self.lab = lab }

    func start() {
        let thread = Thread { [self] in
            while !state.withLock({ $0.stop }) {
                let began = now()
                let holders = lab.holdersSync()
                state.withLock { $0.samples.append(Sample(time: began, holders: holders)) }
                let spent = now() - began
                if spent < 0.010 { usleep(UInt32((0.010 - spent) * 1_000_000)) }
            }
            state.withLock { $0.done = true }
        }
        thread.start()
    }

    func stop() {
        state.withLock { $0.stop = true }
        while !state.withLock({ $0.done }) { usleep(5_000) }
    }

    var samples: [Sample] { state.withLock { $0.samples } }

    /// Samples in which both nodes held the VIP.
    var doubleSamples: Int { samples.filter { $0.holders.count > 1 }.count }

    /// The longest stretch with two holders: from its first double sample to the first sample after it
    /// with fewer (an upper bound of the real window, by at most one sampling period).
    var longestDoubleWindow: Double {
        var longest = 0.0
        var since: Double?
        for sample in samples {
            if sample.holders.count > 1 {
                if since == nil { since = sample.time }
            } else if let start = since {
                longest = max(longest, sample.time - start)
                since = nil
            }
        }
        if let start = since, let last = samples.last { longest = max(longest, last.time - start) }
        return longest
    }

    /// The time of the first sample at or after `time` whose holders satisfy `predicate`.
    func first(after time: Double, where predicate: (Set<String>) -> Bool) -> Double? {
        samples.first { $0.time >= time && predicate($0.holders) }?.time
    }

    /// The time of the last sample in which `node` held the VIP.
    func lastHeld(by node: String) -> Double? { samples.last { $0.holders.contains(node) }?.time }

    var summary: String {
        let all = samples
        return
            "\(all.count) samples over \(String(format: "%.1f", (all.last?.time ?? 0) - (all.first?.time ?? 0))) s, \(doubleSamples) with two holders"
    }
}

/// `ping -D -i 0.01` from the client namespace to the VIP, its output parsed afterwards.
final class VIPPinger: Sendable {
    private let lab: VIPLab
    private let outputPath: String
    private let pid = Mutex<pid_t>(0)

    init(lab: VIPLab) {
        self.lab = lab
        outputPath = lab.directory + "/ping-\(UUID().uuidString.prefix(6)).log"
    }

    func start() throws {
        let child = try spawn(
            [
                VIPLab.ip, "netns", "exec", lab.ns("c"), "/usr/bin/ping", "-n", "-D", "-i", "0.01", "-W", "1",
                VIPLab.vip,
            ],
            outputPath: outputPath
        )
        pid.withLock { $0 = child }
    }

    func stop() {
        let child = pid.withLock { pid in
            defer { pid = 0 }
            return pid
        }
        guard child > 0 else { return }
        kill(child, SIGINT)
        var status: Int32 = 0
        while waitpid(child, &status, 0) == -1 && errno == EINTR {}
    }

    deinit { stop() }

    /// The wall-clock times of the replies so far.
    var replies: [Double] {
        let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { line -> Double? in
            guard line.contains("bytes from"), line.hasPrefix("["), let end = line.firstIndex(of: "]") else {
                return nil
            }
            return Double(line[line.index(after: line.startIndex)..<end])
        }
    }

    /// The longest time without a reply between `from` and `to`, and when the replies came back.
    func longestGap(from: Double, to: Double) -> (gap: Double, backAt: Double?) {
        let times = replies.filter { $0 <= to }
        var previous = times.last { $0 < from } ?? from
        var gap = 0.0
        var backAt: Double?
        for time in times where time >= from {
            if time - previous > gap {
                gap = time - previous
                backAt = time
            }
            previous = time
        }
        // Still silent at the end of the window.
        if to - previous > gap { return (to - previous, nil) }
        return (gap, backAt)
    }
}
