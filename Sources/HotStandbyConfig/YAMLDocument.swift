import CYAML

/// One node of a YAML document, as libyaml's loader composed it (anchors and aliases resolved).
///
/// The configuration is read through libyaml rather than Yams: Yams' constructors need Foundation (with ICU),
/// and the daemon otherwise links only FoundationEssentials (docs/performance.md, Footprint). The reader needs
/// nothing but the tree: every value is read as text and checked by the key that asks for it.
public enum YAMLNode: Sendable, Equatable {
    /// A single value; `plain` when it was written without quotes (and may therefore mean null).
    case scalar(String, plain: Bool, tag: String)
    case sequence([YAMLNode])
    /// The pairs in the order of the document; keys that are not single values are kept as `nil`.
    case mapping([Pair])

    public struct Pair: Sendable, Equatable {
        public var key: String?
        public var value: YAMLNode
    }

    public var mapping: [Pair]? {
        if case .mapping(let pairs) = self { return pairs }
        return nil
    }

    public var sequence: [YAMLNode]? {
        if case .sequence(let items) = self { return items }
        return nil
    }

    /// The text of a single value.
    public var scalar: String? {
        if case .scalar(let text, _, _) = self { return text }
        return nil
    }

    /// YAML's null: `~`, `null` or nothing, unquoted, or the explicit `!!null` tag.
    public var isNull: Bool {
        guard case .scalar(let text, let plain, let tag) = self else { return false }
        if tag == "tag:yaml.org,2002:null" { return true }
        return plain && ["", "~", "null", "Null", "NULL"].contains(text)
    }

    /// The value of `key` in a mapping (the last one when a key is repeated; the reader reports repeats).
    public subscript(key: String) -> YAMLNode? {
        mapping?.last(where: { $0.key == key })?.value
    }
}

/// A YAML text that libyaml could not load: its problem and where (line and column counted from 1).
public struct YAMLSyntaxError: Error, CustomStringConvertible {
    public var problem: String
    public var line: Int
    public var column: Int

    public var description: String { "\(problem) at line \(line), column \(column)" }
}

public enum YAMLDocument {
    /// The deepest nesting and the most nodes a document may expand to: an alias can point at its own
    /// ancestor or be repeated to build an exponential tree ("billion laughs"); a configuration needs neither.
    static let maximumDepth = 64
    static let maximumNodes = 100_000

    /// Loads the first document of `text`; nil for an empty text. A second document is an error.
    public static func load(_ text: String) throws(YAMLSyntaxError) -> YAMLNode? {
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else {
            throw YAMLSyntaxError(problem: "libyaml could not start (out of memory)", line: 0, column: 0)
        }
        defer { yaml_parser_delete(&parser) }
        let bytes = Array(text.utf8)
        return try bytes.withUnsafeBufferPointer { (buffer) throws(YAMLSyntaxError) -> YAMLNode? in
            yaml_parser_set_input_string(&parser, buffer.baseAddress, buffer.count)
            let first = try document(&parser)
            if first != nil, try document(&parser) != nil {
                throw YAMLSyntaxError(
                    problem: "more than one document (a second `---`); write one mapping of keys",
                    line: Int(parser.mark.line) + 1,
                    column: Int(parser.mark.column) + 1
                )
            }
            return first
        }
    }

    /// The next document of the stream as a tree, nil at the end of the stream.
    private static func document(_ parser: inout yaml_parser_t) throws(YAMLSyntaxError) -> YAMLNode? {
        var document = yaml_document_t()
        guard yaml_parser_load(&parser, &document) == 1 else { throw syntaxError(parser) }
        defer { yaml_document_delete(&document) }
        guard let root = yaml_document_get_root_node(&document) else { return nil }
        var budget = maximumNodes
        return try tree(root, in: &document, depth: 0, budget: &budget)
    }

    private static func tree(
        _ node: UnsafeMutablePointer<yaml_node_t>,
        in document: inout yaml_document_t,
        depth: Int,
        budget: inout Int
    ) throws(YAMLSyntaxError) -> YAMLNode {
        budget -= 1
        let mark = node.pointee.start_mark
        guard depth < maximumDepth, budget >= 0 else {
            throw YAMLSyntaxError(
                problem: depth >= maximumDepth
                    ? "nested deeper than \(maximumDepth) levels (an alias inside its own anchor?)"
                    : "expands to more than \(maximumNodes) values (aliases repeated?)",
                line: Int(mark.line) + 1,
                column: Int(mark.column) + 1
            )
        }
        let tag = node.pointee.tag.map { String(cString: $0) } ?? ""
        switch node.pointee.type {
        case YAML_SEQUENCE_NODE:
            var items: [YAMLNode] = []
            var item = node.pointee.data.sequence.items.start
            while let current = item, current < node.pointee.data.sequence.items.top {
                if let child = yaml_document_get_node(&document, current.pointee) {
                    items.append(try tree(child, in: &document, depth: depth + 1, budget: &budget))
                }
                item = current + 1
            }
            return .sequence(items)
        case YAML_MAPPING_NODE:
            var pairs: [YAMLNode.Pair] = []
            var pair = node.pointee.data.mapping.pairs.start
            while let current = pair, current < node.pointee.data.mapping.pairs.top {
                if let keyNode = yaml_document_get_node(&document, current.pointee.key),
                    let valueNode = yaml_document_get_node(&document, current.pointee.value)
                {
                    let key = try tree(keyNode, in: &document, depth: depth + 1, budget: &budget)
                    let value = try tree(valueNode, in: &document, depth: depth + 1, budget: &budget)
                    pairs.append(YAMLNode.Pair(key: key.scalar, value: value))
                }
                pair = current + 1
            }
            return .mapping(pairs)
        default:
            let scalar = node.pointee.data.scalar
            let text = String(
                decoding: UnsafeBufferPointer(start: scalar.value, count: scalar.length),
                as: UTF8.self
            )
            return .scalar(text, plain: scalar.style == YAML_PLAIN_SCALAR_STYLE, tag: tag)
        }
    }

    private static func syntaxError(_ parser: yaml_parser_t) -> YAMLSyntaxError {
        var problem = parser.problem.map { String(cString: $0) } ?? "not valid YAML"
        if let context = parser.context.map({ String(cString: $0) }) {
            problem += " " + context
        }
        let mark = parser.problem_mark
        return YAMLSyntaxError(problem: problem, line: Int(mark.line) + 1, column: Int(mark.column) + 1)
    }
}
