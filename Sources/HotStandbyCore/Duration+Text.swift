import FoundationEssentials

/// The one way hotstandby writes and reads a duration: as the configuration writes it.
extension Duration {
    /// A duration as written in the configuration: `250ms`, `5s`, `1m`, `1.5s`.
    public var text: String {
        let (seconds, attoseconds) = components
        // A huge configured value (the fuzzer's) must print, not trap on overflow.
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1000)
        if overflow { return "\(seconds)s" }
        let milliseconds = scaled + attoseconds / 1_000_000_000_000_000
        if milliseconds >= 60_000 && milliseconds % 60_000 == 0 { return "\(milliseconds / 60_000)m" }
        if milliseconds % 1000 == 0 { return "\(milliseconds / 1000)s" }
        if milliseconds < 1000 { return "\(milliseconds)ms" }
        return "\(Double(milliseconds) / 1000)s"
    }

    /// The duration in whole milliseconds, rounded toward zero.
    public var wholeMilliseconds: Int64 {
        let (seconds, attoseconds) = components
        // A huge configured value (the fuzzer's) must not trap.
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1000)
        if overflow { return seconds < 0 ? .min : .max }
        return scaled.addingReportingOverflow(attoseconds / 1_000_000_000_000_000).partialValue
    }

    /// The duration in seconds as a `Double`.
    public var secondsValue: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }

    /// Reads a duration as the configuration writes it (`250ms`, `5s`, `1.5s`, `1m`, `2h`; the inverse of
    /// `text`); nil for anything else (no unit, a negative or non-finite number, or one too large to count in
    /// milliseconds: `99999999999999999999999s` crashed check-config converting it to Int64).
    public init?(configText text: String) {
        let trimmed = text.trimmingBlanks()
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
        for (suffix, scale) in units where trimmed.hasSuffix(suffix) {
            let number = trimmed.dropLast(suffix.count)
            guard !number.isEmpty, number.allSatisfy({ $0.isNumber || $0 == "." }), let value = Double(number),
                value >= 0, value.isFinite, value * scale * 1000 < 9.0e18
            else { return nil }
            self = .milliseconds(Int64((value * scale * 1000).rounded()))
            return
        }
        return nil
    }
}
