import HotStandbyCore

extension DNSConfig {
    /// The TSIG algorithms `nsupdate` accepts in a key file.
    public static let tsigAlgorithms: Set<String> = [
        "hmac-md5", "hmac-sha1", "hmac-sha224", "hmac-sha256", "hmac-sha384", "hmac-sha512",
    ]

    /// Checks every setting and the key or secret file (present, readable, mode 0600 or stricter).
    ///
    /// - Returns: the same configuration, so a caller can write `let config = try raw.validated()`.
    /// - Throws: `DNSError` with code `.invalidConfig` naming the YAML key and its value, or
    ///   `.insecureKeyFile` with the `chmod` to run.
    @discardableResult
    public func validated() throws(DNSError) -> DNSConfig {
        guard Self.isHostOrAddress(server) else {
            throw invalid("dns.server", server, "give the host name or address of the zone's primary server")
        }
        guard (1...65535).contains(port) else {
            throw invalid("dns.port", "\(port)", "use a port between 1 and 65535 (DNS uses 53)")
        }
        guard Self.isDomainName(zone) else {
            throw invalid("dns.zone", zone, "give the zone that holds the name, e.g. example.com")
        }
        guard Self.isDomainName(name) else {
            throw invalid("dns.name", name, "give the name to point, e.g. svc or svc.example.com")
        }
        guard (1...86_400).contains(ttl) else {
            throw invalid("dns.ttl", "\(ttl)", "use a TTL between 1 and 86400 seconds; 30 is advised")
        }
        guard recordType != nil else {
            throw invalid("dns.address", address, "give this node's IPv4 or IPv6 address")
        }
        guard timeout > .zero else {
            throw invalid("dns.timeout", timeout.text, "use a positive duration such as 5s")
        }
        guard verifyInterval > .zero else {
            throw invalid("dns.verifyInterval", verifyInterval.text, "use a positive duration such as 60s")
        }
        guard maxRounds >= 1 else {
            throw invalid("dns.maxRounds", "\(maxRounds)", "use 1 or more")
        }
        switch tsig {
        case .keyFile(let path):
            guard !path.isEmpty else {
                throw invalid("dns.tsig.keyFile", path, "give the path of a tsig-keygen key file")
            }
            let text = try SecretFile.readPrivate(path, key: "dns.tsig.keyFile")
            guard text.contains("secret") || text.contains("Key:") else {
                throw invalid(
                    "dns.tsig.keyFile",
                    path,
                    "the file holds no TSIG key; create one with `tsig-keygen -a hmac-sha256 NAME > \(path)`"
                )
            }
        case .secretFile(let keyName, let algorithm, let path):
            guard Self.isDomainName(keyName) else {
                throw invalid("dns.tsig.name", keyName, "give the key's name as the server knows it")
            }
            guard Self.tsigAlgorithms.contains(algorithm.lowercased()) else {
                throw invalid(
                    "dns.tsig.algorithm",
                    algorithm,
                    "use one of \(Self.tsigAlgorithms.sorted().joined(separator: ", ")); hmac-sha256 is advised"
                )
            }
            guard !path.isEmpty else { throw invalid("dns.tsig.secretFile", path, "give the path of the secret file") }
            let secret = try SecretFile.readPrivate(path, key: "dns.tsig.secretFile")
            guard Self.isBase64(secret.trimmingWhitespace) else {
                throw invalid(
                    "dns.tsig.secretFile",
                    path,
                    "the file must hold only the base64 secret (the `secret` value of tsig-keygen's output)"
                )
            }
        case .gss:
            break
        }
        return self
    }

    private func invalid(_ key: String, _ value: String, _ advice: String) -> DNSError {
        DNSError(.invalidConfig, "\(key) '\(value)' is not valid: \(advice)")
    }

    static func isDomainName(_ text: String) -> Bool {
        let bare = text.hasSuffix(".") ? String(text.dropLast()) : text
        guard !bare.isEmpty, bare.utf8.count <= 253 else { return false }
        return bare.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
            !label.isEmpty && label.count <= 63 && !label.hasPrefix("-")
                && label.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }
        }
    }

    static func isHostOrAddress(_ text: String) -> Bool {
        IPAddressText.family(of: text) != nil || isDomainName(text)
    }

    static func isBase64(_ text: String) -> Bool {
        !text.isEmpty && text.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "+/=".contains($0)) }
    }
}

extension String {
    var trimmingWhitespace: String {
        var s = Substring(self)
        while let first = s.first, first.isWhitespace { s.removeFirst() }
        while let last = s.last, last.isWhitespace { s.removeLast() }
        return String(s)
    }
}
