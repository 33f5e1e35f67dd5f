import Crypto
import FailoverController
import FoundationEssentials
import HotStandbyCore

/// The failsafe's messages on the wire (issue 18): `POST /failsafe/beat` carries a beat, the answer carries the
/// member's verdict on that round. Each is `{"payload": "<JSON text>", "signature": "<hex HMAC-SHA256>"}`, signed
/// with the token every node shares (`failsafe.tokenFile`); the answer names the round and the member, so an old
/// answer cannot stand for a new round and one member's answer cannot stand for another's.
public struct FailsafeWire: Sendable {
    private let token: [UInt8]
    private var key: SymmetricKey { SymmetricKey(data: token) }

    /// A wire that signs and checks with `token` (the file's text, trimmed).
    public init(token: String) {
        self.token = Array(token.utf8)
    }

    /// Reads the token file (its mode was checked with the configuration).
    public init(tokenFile: String) throws {
        let text = try String(contentsOfFile: tokenFile, encoding: .utf8)
        self.init(token: text.trimmingWhitespace())
    }

    /// A member's answer as it travels.
    public struct Answer: Codable, Sendable, Equatable {
        /// `ack`, `no` or `refused`.
        public var verdict: String
        /// The answering node.
        public var node: String
        /// The round answered.
        public var round: String
        /// The epoch the node knows (for `no`).
        public var epoch: Int64
        /// Why, for `no` and `refused`.
        public var reason: String

        /// Creates the wire form of `answer` by `node` to `round`.
        public init(_ answer: FailsafeAnswer, node: String, round: String) {
            self.node = node
            self.round = round
            switch answer {
            case .ack:
                verdict = "ack"
                epoch = 0
                reason = ""
            case .no(let epoch, let reason):
                verdict = "no"
                self.epoch = epoch
                self.reason = reason
            case .refused(let reason):
                verdict = "refused"
                epoch = 0
                self.reason = reason
            }
        }

        /// The answer, or nil for an unknown verdict.
        public var answer: FailsafeAnswer? {
            switch verdict {
            case "ack": return .ack(round: round)
            case "no": return .no(epoch: epoch, reason: reason)
            case "refused": return .refused(reason)
            default: return nil
            }
        }
    }

    private struct Envelope: Codable {
        var payload: String
        var signature: String
    }

    /// Why a message was refused: the reason is logged and counted (`reason` label).
    public struct Refusal: Error, Sendable, Equatable {
        /// `signature`, `malformed`.
        public var label: String
        /// In words.
        public var message: String
    }

    /// The signed body of `value`.
    public func seal(_ value: some Encodable) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let payload = String(decoding: (try? encoder.encode(value)) ?? Data("{}".utf8), as: UTF8.self)
        let mac = HMAC<SHA256>.authenticationCode(for: Data(payload.utf8), using: key)
        let envelope = Envelope(payload: payload, signature: mac.map { String(cFormat: "%02x", $0) }.joined())
        return (try? encoder.encode(envelope)) ?? Data()
    }

    /// The value in a signed body, or why it is refused (a bad signature is checked in constant time).
    public func open<T: Decodable>(_ type: T.Type, from body: Data) throws(Refusal) -> T {
        guard let envelope = try? JSONDecoder().decode(Envelope.self, from: body) else {
            throw Refusal(label: "malformed", message: "the body is not a signed failsafe message")
        }
        guard let signature = Self.bytes(hex: envelope.signature),
            HMAC<SHA256>.isValidAuthenticationCode(signature, authenticating: Data(envelope.payload.utf8), using: key)
        else {
            throw Refusal(
                label: "signature",
                message: "the signature does not match failsafe.tokenFile (a different token on the sender?)"
            )
        }
        guard let value = try? JSONDecoder().decode(T.self, from: Data(envelope.payload.utf8)) else {
            throw Refusal(label: "malformed", message: "the signed payload is not a failsafe \(T.self)")
        }
        return value
    }

    private static func bytes(hex: String) -> [UInt8]? {
        let digits = Array(hex.utf8)
        guard digits.count == 64 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(32)
        var index = 0
        while index < digits.count {
            guard let high = nibble(digits[index]), let low = nibble(digits[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
            index += 2
        }
        return bytes
    }

    private static func nibble(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return digit - UInt8(ascii: "a") + 10
        default: return nil
        }
    }
}
