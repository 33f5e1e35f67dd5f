#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Parses and normalises textual IP addresses with `inet_pton`/`inet_ntop`.
enum IPAddressText {
    enum Family { case v4, v6 }

    static func family(of text: String) -> Family? {
        if normalized(text, family: AF_INET) != nil { return .v4 }
        if normalized(text, family: AF_INET6) != nil { return .v6 }
        return nil
    }

    /// The canonical text of an address (`2001:db8::1` for `2001:0db8:0::1`), so that the answer of
    /// the server can be compared with the configured address.
    static func canonical(_ text: String) -> String? {
        normalized(text, family: AF_INET) ?? normalized(text, family: AF_INET6)
    }

    private static func normalized(_ text: String, family: Int32) -> String? {
        var buffer = [UInt8](repeating: 0, count: 16)
        let parsed = buffer.withUnsafeMutableBytes { inet_pton(family, text, $0.baseAddress) }
        guard parsed == 1 else { return nil }
        var out = [CChar](repeating: 0, count: 64)
        let result = buffer.withUnsafeBytes { raw in
            out.withUnsafeMutableBufferPointer { inet_ntop(family, raw.baseAddress, $0.baseAddress, 64) }
        }
        guard result != nil else { return nil }
        return String(decoding: out.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
