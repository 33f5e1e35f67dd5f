import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The `Date` header of the HTTP responses (RFC 9110 IMF-fixdate, `Sun, 06 Nov 1994 08:49:37 GMT`), formatted when
/// a response needs it and kept for the rest of that second.
///
/// Hummingbird's `Application.run` keeps the same header fresh with a timer that fires every second whether or not
/// a request comes (its `DateCache`); an idle node answers a few requests a minute, so the timer was most of its
/// wake-ups (issue 16). Here the cost moves to the first response in each second: one `clock_gettime` and, at most
/// once a second, formatting 29 characters.
public final class HTTPDate: Sendable {
    private let cached = Mutex<(second: Int64, text: String)>((.min, ""))

    /// Creates an empty cache: the first response formats the header.
    public init() {}

    /// The header for the current second of the wall clock.
    public var header: String { header(unixSeconds: Self.wallClockSeconds()) }

    /// The header for `unixSeconds`, from the cache when the second is the one last formatted.
    public func header(unixSeconds: Int64) -> String {
        if let text = cached.withLock({ $0.second == unixSeconds ? $0.text : nil }) { return text }
        let text = Self.format(unixSeconds: unixSeconds)
        cached.withLock { $0 = (unixSeconds, text) }
        return text
    }

    /// Seconds since 1970-01-01 00:00:00 UTC on the wall clock (`CLOCK_REALTIME`).
    public static func wallClockSeconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec)
    }

    private static let weekdays = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"]  // 1970-01-01 was a Thursday
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// `unixSeconds` as an IMF-fixdate (always GMT, English names, two-digit fields, four-digit year).
    public static func format(unixSeconds: Int64) -> String {
        let days = unixSeconds >= 0 ? unixSeconds / 86_400 : (unixSeconds - 86_399) / 86_400
        let secondOfDay = unixSeconds - days * 86_400
        // Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's civil_from_days).
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shiftedMonth = (5 * dayOfYear + 2) / 153  // 0 is March
        let day = dayOfYear - (153 * shiftedMonth + 2) / 5 + 1
        let month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        let weekday = Int(((days % 7) + 7) % 7)
        func two(_ value: Int64) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let yearText = String(repeating: "0", count: max(0, 4 - "\(year)".count)) + "\(year)"
        return "\(weekdays[weekday]), \(two(day)) \(months[Int(month) - 1]) \(yearText) "
            + "\(two(secondOfDay / 3600)):\(two(secondOfDay / 60 % 60)):\(two(secondOfDay % 60)) GMT"
    }
}
