/// Why a virtual-IP action or a `vip.*` setting failed.
///
/// `description` names the YAML key (when a setting is at fault), the value and what to do. It never
/// holds a secret: the VIP module handles none.
public struct VIPError: Error, CustomStringConvertible, Sendable {
    /// The kind of failure, opaque so cases can be added.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        /// A `vip.*` setting is malformed or not a plain value (the key is in `key`).
        public static let invalidSetting = Code("invalid setting")
        /// `vip.interface` names an interface this host does not have.
        public static let unknownInterface = Code("unknown interface")
        /// `ip` or `arping` ran past its deadline and was stopped.
        public static let timedOut = Code("timed out")
        /// `ip` or `arping` could not be started, or exited with an error.
        public static let commandFailed = Code("command failed")
        /// `ip` printed something this module cannot read.
        public static let unexpectedOutput = Code("unexpected output")
        /// The probe found another host answering for the address and `vip.probe` is `strict`.
        public static let addressInUse = Code("address in use")
        public var description: String { name }
    }

    /// The kind of failure.
    public var code: Code
    /// The YAML key at fault (`vip.interface`), when a setting is at fault.
    public var key: String?
    /// What went wrong and what to do, in words.
    public var message: String
    /// What the program printed, when a program failed.
    public var output: String

    /// Creates an error.
    public init(code: Code, key: String? = nil, message: String, output: String = "") {
        self.code = code
        self.key = key
        self.message = message
        self.output = output
    }

    public var description: String {
        let trimmed = output.trimmingTrailingWhitespace
        return trimmed.isEmpty ? message : "\(message) (output: \(trimmed.prefix(400)))"
    }
}

extension String {
    var trimmingTrailingWhitespace: String {
        var result = Substring(self)
        while let last = result.last, last.isWhitespace { result = result.dropLast() }
        while let first = result.first, first.isWhitespace { result = result.dropFirst() }
        return String(result)
    }
}
