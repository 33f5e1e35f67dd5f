/// The `dns:` section of the configuration: which name to point at this node, on which server, signed
/// with which TSIG key.
///
/// Build it from the YAML, then call `validated()`; `DNSUpdater.init` validates again, so an
/// invalid configuration never reaches the server.
public struct DNSConfig: Sendable, Equatable {
    /// How updates are signed.
    public enum TSIG: Sendable, Equatable {
        /// `dns.tsig.keyFile`: a key file as `tsig-keygen` writes it (`key "name" { algorithm ...; secret "..."; };`).
        case keyFile(String)
        /// `dns.tsig.name` + `dns.tsig.algorithm` + `dns.tsig.secretFile`: the base64 secret alone in a file;
        /// a 0600 key file is written from it into the runtime folder.
        case secretFile(name: String, algorithm: String, path: String)
        /// `dns.tsig.gss: true`: GSS-TSIG (`nsupdate -g`) with the Kerberos ticket of the process,
        /// for Microsoft DNS. Not tested here.
        case gss
    }

    /// `dns.server`: host name or address of the authoritative (primary) server.
    public var server: String
    /// `dns.port`. Defaults to 53.
    public var port: Int
    /// `dns.zone`: the zone that holds the name (`example.com`).
    public var zone: String
    /// `dns.name`: the name to point, relative to the zone (`svc`) or fully qualified (`svc.example.com`).
    public var name: String
    /// `dns.ttl` in seconds for the address and the epoch record. Defaults to 30.
    public var ttl: Int
    /// `dns.address`: this node's address; an IPv4 address makes an A record, IPv6 an AAAA record.
    public var address: String
    /// `dns.tsig.*`: how updates are signed.
    public var tsig: TSIG
    /// `dns.timeout`: the deadline of one attempt (read, update, and check). Defaults to 5 seconds.
    public var timeout: Duration
    /// `dns.verifyInterval`: how often the active node checks the record and repairs drift. Defaults to 60 seconds.
    public var verifyInterval: Duration
    /// How many compare-and-set rounds one attempt may take when other writers interfere. Defaults to 3.
    public var maxRounds: Int
    /// The `nsupdate` program: a path or a name looked up in `PATH`. Defaults to `nsupdate`.
    public var nsupdatePath: String
    /// The `dig` program: a path or a name looked up in `PATH`. Defaults to `dig`.
    public var digPath: String

    /// Creates a configuration with the documented defaults.
    public init(
        server: String,
        port: Int = 53,
        zone: String,
        name: String,
        ttl: Int = 30,
        address: String,
        tsig: TSIG,
        timeout: Duration = .seconds(5),
        verifyInterval: Duration = .seconds(60),
        maxRounds: Int = 3,
        nsupdatePath: String = "nsupdate",
        digPath: String = "dig"
    ) {
        self.server = server
        self.port = port
        self.zone = zone
        self.name = name
        self.ttl = ttl
        self.address = address
        self.tsig = tsig
        self.timeout = timeout
        self.verifyInterval = verifyInterval
        self.maxRounds = maxRounds
        self.nsupdatePath = nsupdatePath
        self.digPath = digPath
    }

    /// The zone, fully qualified with a trailing dot (`example.com.`).
    public var zoneFQDN: String { Self.absolute(zone) }

    /// The name, fully qualified with a trailing dot (`svc.example.com.`).
    public var nameFQDN: String {
        if name.hasSuffix(".") { return name.lowercased() }
        let zoneBare = String(zoneFQDN.dropLast())
        let lower = name.lowercased()
        if lower == zoneBare || lower.hasSuffix("." + zoneBare) { return lower + "." }
        return lower + "." + zoneFQDN
    }

    /// The epoch record's name: `_hotstandby.` before the name.
    public var epochRecordFQDN: String { "_hotstandby." + nameFQDN }

    /// `A` for an IPv4 address, `AAAA` for IPv6, `nil` when `address` is neither.
    public var recordType: String? {
        switch IPAddressText.family(of: address) {
        case .v4: "A"
        case .v6: "AAAA"
        case nil: nil
        }
    }

    static func absolute(_ name: String) -> String {
        let lower = name.lowercased()
        return lower.hasSuffix(".") ? lower : lower + "."
    }
}
