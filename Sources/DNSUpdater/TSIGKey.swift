/// The key `nsupdate -k` reads: the configured key file, or one written from a secret file.
struct TSIGKey: Sendable {
    /// The path handed to `nsupdate -k`; `nil` for GSS-TSIG.
    var path: String?
    /// The key's name, for messages (`hotstandby-key`); never the secret.
    var name: String

    /// Resolves the configuration's TSIG settings into a key file.
    ///
    /// A secret file gives a key file `tsig-NAME.key` (mode 0600) in `runtimeDirectory` (mode 0700).
    static func prepare(_ tsig: DNSConfig.TSIG, runtimeDirectory: String) throws(DNSError) -> TSIGKey {
        switch tsig {
        case .keyFile(let path):
            let text = try SecretFile.readPrivate(path, key: "dns.tsig.keyFile")
            return TSIGKey(path: path, name: keyName(in: text) ?? "(unnamed)")
        case .secretFile(let name, let algorithm, let secretPath):
            let secret = try SecretFile.readPrivate(secretPath, key: "dns.tsig.secretFile").trimmingWhitespace
            try SecretFile.ensurePrivateDirectory(runtimeDirectory)
            let path = runtimeDirectory + "/tsig-\(name).key"
            let text = "key \"\(name)\" {\n\talgorithm \(algorithm.lowercased());\n\tsecret \"\(secret)\";\n};\n"
            try SecretFile.writePrivate(text, to: path)
            return TSIGKey(path: path, name: name)
        case .gss:
            return TSIGKey(path: nil, name: "GSS-TSIG")
        }
    }

    /// The name in `key "NAME" {` of a tsig-keygen file, or the `K<name>.+...` convention's name.
    static func keyName(in text: String) -> String? {
        guard let range = text.firstRange(of: "key \"") else { return nil }
        let rest = text[range.upperBound...]
        guard let end = rest.firstIndex(of: "\"") else { return nil }
        return String(rest[..<end])
    }
}
