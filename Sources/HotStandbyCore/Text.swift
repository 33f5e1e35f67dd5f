#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

// The few text helpers the daemon used Foundation for. Foundation's versions need the whole of Foundation
// (with ICU) on Linux; the daemon links FoundationEssentials only (docs/performance.md, Footprint).

extension StringProtocol {
    /// The text without white space (spaces, tabs, newlines, any Unicode space) at either end.
    public func trimmingWhitespace() -> String {
        trimming { $0.isWhitespace }
    }

    /// The text without spaces and tabs (any Unicode space, but not newlines) at either end.
    public func trimmingBlanks() -> String {
        trimming { $0.isWhitespace && !$0.isNewline }
    }

    /// The text followed by spaces up to `width` characters (a table's column); longer text is left whole.
    public func padded(to width: Int) -> String {
        count >= width ? String(self) : String(self) + String(repeating: " ", count: width - count)
    }

    private func trimming(_ drop: (Character) -> Bool) -> String {
        guard let first = firstIndex(where: { !drop($0) }), let last = lastIndex(where: { !drop($0) }) else {
            return ""
        }
        return String(self[first...last])
    }
}

extension String {
    /// `printf`-style formatting of numbers (`%.1f`, `%02x`, `%020lld`): C's `vsnprintf`, no locale.
    public init(cFormat format: String, _ arguments: any CVarArg...) {
        self = Self.formatted(format, arguments)
    }

    private static func formatted(_ format: String, _ arguments: [any CVarArg]) -> String {
        var capacity = 64
        while true {
            let written: (String?, Int) = withUnsafeTemporaryAllocation(of: CChar.self, capacity: capacity) { buffer in
                let count = withVaList(arguments) { vsnprintf(buffer.baseAddress, capacity, format, $0) }
                guard count >= 0, Int(count) < capacity else { return (nil, Int(count)) }
                let bytes = UnsafeRawBufferPointer(start: buffer.baseAddress, count: Int(count))
                return (String(decoding: bytes, as: UTF8.self), Int(count))
            }
            if let text = written.0 { return text }
            capacity = Swift.max(capacity * 2, written.1 + 1)
        }
    }
}

/// A moment as text in UTC, with C's `strftime` in the C locale (English day and month names).
public enum UTCText {
    /// `pattern` is strftime's: `%Y-%m-%d %H:%M:%S`, `%a, %d %b %Y %H:%M:%S +0000`, …
    public static func format(secondsSince1970 seconds: Double, _ pattern: String) -> String {
        var time = time_t(seconds.rounded(.down))
        var parts = tm()
        gmtime_r(&time, &parts)
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: 128) { buffer in
            let count = strftime(buffer.baseAddress, 128, pattern, &parts)
            return String(decoding: UnsafeRawBufferPointer(start: buffer.baseAddress, count: count), as: UTF8.self)
        }
    }
}
