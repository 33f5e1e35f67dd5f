import Foundation

extension Duration {
    /// Reads a duration as the configuration writes it (`250ms`, `5s`, `1.5s`, `1m`, `2h`; the inverse of
    /// `text`); nil for anything else (no unit, a negative or non-finite number, or one too large to count in
    /// milliseconds: `99999999999999999999999s` crashed check-config converting it to Int64).
    public init?(configText text: String) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
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
