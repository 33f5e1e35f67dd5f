import Foundation
import HotStandbyConfig
import PropertyBased
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The bad-input catalogue as properties: random and hostile configuration documents read by `Config.parse`
/// in this process (what `hotstandby check-config` runs), which must never crash and must name the key it
/// refuses; the properties that need the database (`check-config --database`, `register`) run the real binary.
///
/// Documents are written as JSON (JSON is YAML), so any string, however hostile, reaches the parser intact.
@Suite("Configuration fuzzing (property-based, the real binary)", .serialized, .timeLimit(.minutes(5)))
struct ConfigFuzzTests {
    /// A valid configuration with every part configured, as (dotted key, JSON value) leaves.
    static func leaves(in directory: String) -> [(key: String, json: String)] {
        [
            ("cluster", #""fuzz""#), ("node", #""a""#), ("priority", "100"), ("address", #""127.0.0.1""#),
            ("stateDirectory", json(directory + "/state")), ("logLevel", #""info""#),
            ("database.conninfo", #""host=127.0.0.1 port=5432 dbname=hs user=hs""#),
            ("database.callTimeout", #""400ms""#), ("database.listen", "true"),
            ("heartbeat.interval", #""500ms""#), ("heartbeat.timeout", #""3s""#),
            ("hooks.promote", #"["/bin/true", "active"]"#), ("hooks.demote", #"["/bin/true"]"#),
            ("hooks.timeout", #""10s""#),
            ("hooks.demoteTimeout", #""800ms""#),
            ("vip.address", #""127.0.0.77/8""#), ("vip.interface", #""lo""#), ("vip.garp.count", "5"),
            ("vip.garp.interval", #""200ms""#), ("vip.garp.refresh", #""30s""#), ("vip.probe", #""on""#),
            ("dns.server", #""127.0.0.1""#), ("dns.port", "53"), ("dns.zone", #""example.test""#),
            ("dns.name", #""svc""#),
            ("dns.ttl", "30"), ("dns.address", #""127.0.0.1""#), ("dns.tsig.keyFile", json(directory + "/tsig.key")),
            ("dns.timeout", #""5s""#),
            ("sharedFolder.path", json(directory + "/share")), ("sharedFolder.paths", "[\(json(directory + "/data"))]"),
            ("sharedFolder.interval", #""30s""#), ("sharedFolder.keep", "5"), ("sharedFolder.requireMount", "true"),
            ("alerts.email.url", #""smtp://127.0.0.1:2525""#), ("alerts.email.startTLS", #""off""#),
            ("alerts.email.user", #""hs""#), ("alerts.email.passwordFile", json(directory + "/smtp-pw")),
            ("alerts.email.from", #""hs@example.test""#), ("alerts.email.to", #"["ops@example.test"]"#),
            ("alerts.email.timeout", #""15s""#), ("alerts.maxPerMinute", "10"),
            ("http.listen", #""127.0.0.1:8008""#),
            ("health.check", #"["/bin/true", "--check"]"#), ("health.standbyCheck", #"["/bin/true"]"#),
            ("health.interval", #""500ms""#), ("health.timeout", #""400ms""#), ("health.fall", "3"),
            ("health.rise", "2"),
            ("health.recoverAttempts", "1"), ("health.holdDown", #""10s""#),
            ("health.beat.socket", json(directory + "/beat.sock")), ("health.beat.timeout", #""10s""#),
            ("hooks.recover", #"["/bin/true"]"#), ("failback.preferred", #""b""#), ("failback.after", #""10m""#),
        ]
    }

    /// Keys whose values are checked together: a refusal may name any key of the group.
    static let related: [[String]] = [
        [
            "heartbeat.interval", "heartbeat.timeout", "heartbeat.renewDeadline", "database.callTimeout",
            "hooks.timeout", "hooks.demoteTimeout",
        ],
        ["sharedFolder.path", "sharedFolder.paths"],
        ["hooks.recover", "health.recoverAttempts"],
        ["health.beat.socket", "health.beat.timeout", "health.beat"],
        ["failback.preferred", "failback.after", "failback"],
    ]

    /// `text` as a JSON string that is also valid YAML: JSON leaves DEL and the C1 controls raw, which YAML
    /// forbids, so those are escaped too (the value, not the document, is what is under test).
    static func json(_ text: String) -> String {
        let data = try! JSONSerialization.data(withJSONObject: [text], options: [.withoutEscapingSlashes])
        let encoded = String(decoding: data.dropFirst().dropLast(), as: UTF8.self)
        return String(
            encoded.unicodeScalars.flatMap { scalar -> [Unicode.Scalar] in
                (0x7f...0x9f).contains(scalar.value)
                    ? Array(String(format: "\\u%04x", scalar.value).unicodeScalars) : [scalar]
            }.map(Character.init)
        )
    }

    /// Nests dotted leaves into one JSON document.
    static func document(_ leaves: [(key: String, json: String)]) -> String {
        var order: [String] = []
        var groups: [String: [(key: String, json: String)]] = [:]
        var values: [String: String] = [:]
        for leaf in leaves {
            let parts = leaf.key.split(separator: ".", maxSplits: 1).map(String.init)
            if !order.contains(parts[0]) { order.append(parts[0]) }
            if parts.count == 1 {
                values[parts[0]] = leaf.json
            } else {
                groups[parts[0], default: []].append((parts[1], leaf.json))
            }
        }
        let members = order.map { name in "\(json(name)): " + (values[name] ?? document(groups[name] ?? [])) }
        return "{" + members.joined(separator: ", ") + "}"
    }

    /// The files a valid document points at: a TSIG key and an SMTP password (0600), a marked share.
    static func prepare(_ name: String) throws -> String {
        let directory = try TestEnvironment.workDirectory(name)
        try "key \"hs\" {\n\talgorithm hmac-sha256;\n\tsecret \"c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0\";\n};\n"
            .write(toFile: directory + "/tsig.key", atomically: true, encoding: .utf8)
        try "secret\n".write(toFile: directory + "/smtp-pw", atomically: true, encoding: .utf8)
        chmod(directory + "/tsig.key", 0o600)
        chmod(directory + "/smtp-pw", 0o600)
        for folder in ["share", "data", "state"] {
            try FileManager.default.createDirectory(atPath: directory + "/" + folder, withIntermediateDirectories: true)
        }
        try "cluster=fuzz\n".write(toFile: directory + "/share/.hotstandby-share", atomically: true, encoding: .utf8)
        return directory
    }

    /// Reads `text` as the configuration file `directory/fuzz.yaml` in this process, as `check-config` does;
    /// returns 0 and `OK`, or 1 and `Error: ` with the refusal (what the binary prints).
    static func check(_ text: String, in directory: String) -> (status: Int32, output: String) {
        let path = directory + "/fuzz.yaml"
        do {
            _ = try Config.parse(yaml: text, path: path)
            return (0, "\(path): OK")
        } catch {
            return (1, "Error: \(error)")
        }
    }

    // MARK: - Generators

    /// Characters that break naive quoting, argv building and SQL: quotes, separators, option dashes,
    /// shell metacharacters, non-ASCII and right-to-left marks, control characters.
    static let hostileCharacters: [Character] =
        Array(#"'"`$(){};|&<>\ -_=%./:@#*?!~^[],"#) + ["\n", "\t", "\r", "\u{0}", "\u{7f}", "é", "🙂", "\u{202E}", "日"]
        + Array("abcxyz019")

    static let hostileString = Gen<Character?>.element(of: hostileCharacters).map { $0! }.string(of: 0...40).map {
        json($0)
    }

    static let hostileFixed = Gen<String?>.element(of: [
        "null", "true", "false", "0", "-1", "1.5", "1e400", "-0.0", "99999999999999999999999999", "[]", "{}",
        "[1, [2, [3]]]", #"{"x": {"y": 1}}"#, #"[null]"#, #""""#, #"" ""#, #""--help""#, #""-c""#, #""lo; reboot""#,
        #""$(reboot)""#, #""`id`""#, #""eth0 label x""#, #""' OR 1=1 --""#, #""../../etc/passwd""#, #""-5s""#,
        #""0s""#, #""1ns""#, #""999999999999h""#, #""5 parsecs""#, #""1.5.5s""#, #""10.0.0.1/33""#, #""::/0""#,
        #""/""#, #""relative/path""#, #""smtp://""#, #""http://127.0.0.1:99999""#,
        json(String(repeating: "a", count: 5000)), json(String(repeating: "-", count: 300)),
    ]).map { $0! }

    static let hostileValue = Gen.oneOf(hostileString, hostileFixed)

    // MARK: - Properties

    @Test(
        "one key of a valid document replaced by a hostile value: never a crash; a refusal names that key"
    )
    func hostileValueForOneKey() async throws {
        let directory = try Self.prepare("fuzz-value")
        let base = Self.leaves(in: directory)
        let valid = Self.check(Self.document(base), in: directory)
        try #require(valid.status == 0, "the base document must be valid: \(valid.output)")
        let keys = Gen<Int?>.element(of: Array(base.indices)).map { $0! }
        var refused = 0
        var accepted = 0
        await propertyCheck(count: 150, input: keys, Self.hostileValue) { index, value in
            var leaves = base
            leaves[index].json = value
            let key = base[index].key
            let result = Self.check(Self.document(leaves), in: directory)
            guard result.status != 0 else {  // an acceptable value (a name with quotes, say)
                accepted += 1
                return
            }
            refused += 1
            let group = Self.related.first { $0.contains(key) } ?? [key]
            #expect(
                group.contains { result.output.contains($0) },
                "\(key) = \(value.prefix(200)): the message does not name \(key): \(result.output)"
            )
        }
        print("hostile values: \(refused) refused, each naming its key; \(accepted) accepted")
        // Most hostile values must be refused, or the property checked nothing.
        #expect(refused > accepted, "only \(refused) of \(refused + accepted) hostile values were refused")
    }

    @Test(
        "a misspelt or unknown key anywhere: refused, named in full"
    )
    func unknownKeys() async throws {
        let directory = try Self.prepare("fuzz-unknown")
        let base = Self.leaves(in: directory)
        let sections = [
            "", "database.", "heartbeat.", "hooks.", "vip.", "vip.garp.", "dns.", "dns.tsig.", "sharedFolder.",
            "alerts.", "alerts.email.", "http.",
        ]
        let section = Gen<String?>.element(of: sections).map { $0! }
        let name = Gen.lowercaseLetter.string(of: 1...12).map { "x" + $0 }
        await propertyCheck(count: 40, input: section, name) { section, name in
            let key = section + name
            let result = Self.check(Self.document(base + [(key, "1")]), in: directory)
            #expect(result.status == 1 && result.output.contains("\(key): unknown key"), "\(key): \(result.output)")
        }
    }

    /// A random document from `seed`: sections and keys (known and made up) nested up to three deep, with
    /// hostile values. Built from a seed so that a failure names a seed that reproduces it.
    static func randomDocument(seed: UInt64) -> String {
        var rng = SplitMix(seed: seed)
        let names = [
            "cluster", "node", "database", "conninfo", "heartbeat", "interval", "timeout", "renewDeadline", "vip",
            "address", "interface", "garp", "dns", "tsig", "keyFile", "sharedFolder", "paths", "alerts", "email",
            "to", "hooks", "promote", "http", "listen", "priority", "x", "", "-", "a b", "'", "日本",
        ]
        let scalars = [
            "null", "true", "0", "-1", "1e400", #""""#, #""5s""#, #""-5s""#, #""lo""#, #""--help""#,
            #""host=127.0.0.1""#, #""/tmp""#, #""' OR 1=1 --""#, #""a\nb""#, "[]", "{}", #"["/bin/true"]"#,
        ]
        func value(_ depth: Int) -> String {
            switch rng.next() % (depth >= 3 ? 2 : 4) {
            case 0: return scalars[Int(rng.next() % UInt64(scalars.count))]
            case 1:
                return json(
                    String(
                        (0..<Int(rng.next() % 12)).map { _ in
                            hostileCharacters[Int(rng.next() % UInt64(hostileCharacters.count))]
                        }
                    )
                )
            case 2: return "[" + (0..<Int(rng.next() % 3)).map { _ in value(depth + 1) }.joined(separator: ", ") + "]"
            default: return map(depth + 1)
            }
        }
        func map(_ depth: Int) -> String {
            let members = (0..<Int(rng.next() % 5)).map { _ in
                json(names[Int(rng.next() % UInt64(names.count))]) + ": " + value(depth)
            }
            return "{" + members.joined(separator: ", ") + "}"
        }
        return map(0)
    }

    @Test(
        "random documents: never a crash; a refusal says what is wrong in the file"
    )
    func randomDocuments() async throws {
        let directory = try Self.prepare("fuzz-random")
        await propertyCheck(count: 100, input: Gen.uint64()) { seed in
            let text = Self.randomDocument(seed: seed)
            let result = Self.check(text, in: directory)
            if result.status == 1 {
                #expect(result.output.hasPrefix("Error: \(directory)/fuzz.yaml: "), "seed \(seed): \(result.output)")
                // Some key is named: a missing required one, or one that occurs in the document.
                let named =
                    result.output.contains("cluster") || result.output.contains("node")
                    || result.output.contains("database.conninfo") || result.output.contains("unknown key")
                    || result.output.contains("not valid YAML") || result.output.contains("expected a mapping")
                    || result.output.contains("written more than once")
                #expect(named, "seed \(seed): no key named in: \(result.output)\n--- document\n\(text)")
            }
        }
    }

    @Test(
        "random bytes as the configuration file: refused with a message that names the file, never a crash"
    )
    func randomBytes() async throws {
        let directory = try Self.prepare("fuzz-bytes")
        let path = directory + "/bytes.yaml"
        await propertyCheck(count: 50, input: Gen<UInt8>.value(in: 0...255).array(of: 0...400)) { bytes in
            guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else {
                Issue.record("could not write \(path)")
                return
            }
            do {
                _ = try Config.load(path: path)
                Issue.record("\(bytes.count) random bytes were accepted as a configuration")
            } catch {
                #expect("\(error)".contains(path), "the message does not name the file: \(error)")
            }
        }
    }

    static let hostileName = Gen<Character?>
        .element(of: hostileCharacters.filter { !($0.unicodeScalars.first!.properties.generalCategory == .control) })
        .map { $0! }.string(of: 1...40)

    @Test(
        "cluster and node names with quotes, spaces and SQL are bound parameters: stored and shown verbatim",
        .enabled(if: TestEnvironment.daemons, TestEnvironment.daemonsReason)
    )
    func hostileNamesAreStoredVerbatim() async throws {
        let directory = try Self.prepare("fuzz-names")
        let path = directory + "/names.yaml"
        // The schema first: this suite runs beside the module tests, possibly before any other test created it
        // (CI found every `register` refused by a missing schema, and the property counted nothing).
        try Self.document([
            ("cluster", #""names""#), ("node", #""a""#), ("database.conninfo", Self.json(TestEnvironment.conninfo!)),
        ])
        .write(toFile: path, atomically: true, encoding: .utf8)
        let created = try await runProgram(TestEnvironment.binary!, ["init-db", "--config", path])
        try #require(created.status == 0, "init-db failed: \(created.output)")
        var verbatim = 0
        await propertyCheck(count: 25, input: Self.hostileName, Self.hostileName) { cluster, node in
            let text = Self.document([
                ("cluster", Self.json(cluster)), ("node", Self.json(node)),
                ("database.conninfo", Self.json(TestEnvironment.conninfo!)),
            ])
            do {
                try text.write(toFile: path, atomically: true, encoding: .utf8)
                let registered = try await runProgram(TestEnvironment.binary!, ["register", "--config", path])
                guard registered.status == 0 else {
                    // Refused names must say why, naming the key (`cluster:` or `node:`), not fail for another reason.
                    #expect(
                        registered.output.contains("cluster:") || registered.output.contains("node:"),
                        "\(registered.output)"
                    )
                    return
                }
                let status = try await runProgram(TestEnvironment.binary!, ["status", "--json", "--config", path])
                let object = try JSONSerialization.jsonObject(with: Data(status.output.utf8)) as? [String: Any]
                #expect(
                    object?["cluster"] as? String == cluster,
                    "cluster \(Self.json(cluster)) came back as \(status.output)"
                )
                let nodes = (object?["nodes"] as? [[String: Any]] ?? []).compactMap { $0["node"] as? String }
                #expect(nodes == [node], "node \(Self.json(node)) came back as \(nodes)")
                if object?["cluster"] as? String == cluster && nodes == [node] { verbatim += 1 }
            } catch {
                Issue.record("\(error)")
            }
        }
        print("hostile names: \(verbatim) of 25 pairs stored and shown verbatim")
        #expect(verbatim >= 20, "only \(verbatim) of 25 hostile name pairs were accepted and came back verbatim")
    }
}

extension ConfigFuzzTests {
    /// Passwords made of random words joined by spaces, quotes, `=` and backslashes: many make the
    /// connection string unparsable, and libpq's parse errors quote pieces of the string.
    static let hostilePassword = Gen.oneOf(
        Gen.lowercaseLetter.string(of: 5...8),
        Gen<String?>.element(of: [" ", "'", "\"", "=", "\\", "%", " = "]).map { $0! }
    ).array(of: 1...6).map { $0.joined() }

    @Test(
        "a password in database.conninfo, however mangled, never appears in an error (check-config --database)",
        .enabled(if: TestEnvironment.hasBinary, TestEnvironment.binaryReason)
    )
    func passwordNeverPrinted() async throws {
        let directory = try Self.prepare("fuzz-password")
        let port = try freePort()  // nothing listens: a parsable string fails with "connection refused"
        var unparsable = 0
        await propertyCheck(count: 40, input: Self.hostilePassword) { password in
            if await Self.checkPasswordNotPrinted(password, port: port, directory: directory) { unparsable += 1 }
        }
        print(
            "passwords: \(unparsable) of 40 connection strings unparsable, the rest refused by the server; none printed"
        )
        #expect(
            unparsable > 0,
            "no generated password made the connection string unparsable: the property tested less than it claims"
        )
    }

    @Test(
        "passwords the property found printed, kept as examples: quotes and = inside libpq's quoted fragment",
        .enabled(if: TestEnvironment.hasBinary, TestEnvironment.binaryReason),
        arguments: [#"''"pscwl"#, #"'='"pscwl="#, #"'"abcdef"#, #"''="abcdef"#]
    )
    func foundPasswordsNeverPrinted(password: String) async throws {
        let directory = try Self.prepare("fuzz-password-found")
        let unparsable = await Self.checkPasswordNotPrinted(password, port: try freePort(), directory: directory)
        #expect(
            unparsable,
            "\(Self.json(password)) no longer makes the connection string unparsable: the example tests less than it claims"
        )
    }

    /// Runs `check-config --database` with `password` in the conninfo and checks no word of it (five letters
    /// or more) is printed. Returns whether libpq could not parse the string.
    static func checkPasswordNotPrinted(_ password: String, port: Int, directory: String) async -> Bool {
        let conninfo = "host=127.0.0.1 port=\(port) user=hs connect_timeout=1 password=\(password)"
        let text = Self.document([("cluster", #""c""#), ("node", #""a""#), ("database.conninfo", Self.json(conninfo))])
        let path = directory + "/password-\(UUID().uuidString.prefix(8)).yaml"
        guard (try? text.write(toFile: path, atomically: true, encoding: .utf8)) != nil,
            let result = try? await runProgram(
                TestEnvironment.binary!,
                ["check-config", "--database", "--config", path]
            )
        else {
            Issue.record("could not run check-config")
            return false
        }
        #expect(result.status == 1, "\(result.output)")
        let words = password.split { !$0.isLetter }.filter { $0.count >= 5 }
        for word in words {
            #expect(
                !result.output.contains(word),
                "password \(Self.json(password)): '\(String(word))' printed in: \(result.output)"
            )
        }
        return result.output.contains("libpq cannot parse it")
    }
}

/// SplitMix64: a small seeded generator, so a random document is reproducible from its seed.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
