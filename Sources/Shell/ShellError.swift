/// Why an external program could not be run to completion.
public struct ShellError: Error, CustomStringConvertible, Sendable {
    /// The kind of failure, opaque so cases can be added.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        /// The program could not be started (not found, not executable, no file descriptors).
        public static let spawnFailed = Code("spawn failed")
        /// The program ran past its deadline and was stopped.
        public static let timedOut = Code("timed out")
        public var description: String { name }
    }

    /// The kind of failure.
    public var code: Code
    /// The argv that was run, space-separated (never holds a secret: secrets go through files).
    public var command: String
    /// What went wrong, in words.
    public var message: String
    /// Whatever the program printed before it was stopped.
    public var output: String

    /// Creates an error.
    public init(code: Code, command: String, message: String, output: String = "") {
        self.code = code
        self.command = command
        self.message = message
        self.output = output
    }

    public var description: String { "\(command): \(message)" }
}
