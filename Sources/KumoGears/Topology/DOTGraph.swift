/// A Graphviz DOT graph as the Topology Manager reads it: node names and labelled edges.
///
/// The subset of DOT a topology needs: `graph` or `digraph` (optionally `strict` and named),
/// node statements, edge statements and chains (`a -> b -> c`), attribute lists (only `label`
/// matters: an edge's label names the DGM its source sees its target under), graph-level
/// `key=value` statements and `graph`/`node`/`edge` defaults (ignored), quoted and bare IDs, and
/// `//`, `/* */` and `#` comments. In an undirected graph (`--`) each edge goes both ways.
public struct DOTGraph: Sendable, Equatable {
    /// An edge: `from` sees `to` as the DGM named `label`.
    public struct Edge: Sendable, Equatable, Hashable {
        public var from: String
        public var to: String
        public var label: String
    }

    /// Node names, in the order they first appear.
    public private(set) var nodes: [String] = []
    /// Edges, in order; an undirected edge appears once each way.
    public private(set) var edges: [Edge] = []
    /// Whether the graph was a `digraph`.
    public private(set) var directed = true

    /// A DOT syntax error, with the line it was found on.
    public struct SyntaxError: Error, Sendable, Equatable, CustomStringConvertible {
        public var line: Int
        public var message: String
        public var description: String { "line \(line): \(message)" }
    }

    /// Parses `text`.
    /// - Throws: ``SyntaxError`` naming the line.
    public init(parsing text: String) throws(SyntaxError) {
        var parser = Parser(tokens: try Lexer.tokens(of: text))
        try parser.parseGraph(into: &self)
    }

    /// The DGMs `node` sees: each outgoing edge's label and target, in order.
    public func neighbours(of node: String) -> [(label: String, node: String)] {
        edges.filter { $0.from == node }.map { ($0.label, $0.to) }
    }

    mutating func addNode(_ name: String) {
        if !nodes.contains(name) { nodes.append(name) }
    }

    mutating func addEdge(_ from: String, _ to: String, label: String) {
        addNode(from)
        addNode(to)
        edges.append(Edge(from: from, to: to, label: label))
        if !directed { edges.append(Edge(from: to, to: from, label: label)) }
    }

    fileprivate mutating func setDirected(_ value: Bool) { directed = value }
}

private struct Token: Equatable {
    enum Kind: Equatable {
        case id(String)
        case symbol(String)   // { } [ ] ; , = -> --
    }
    var kind: Kind
    var line: Int
}

private enum Lexer {
    static func tokens(of text: String) throws(DOTGraph.SyntaxError) -> [Token] {
        var tokens: [Token] = []
        let scalars = Array(text.unicodeScalars)
        var index = 0
        var line = 1
        func peek(_ offset: Int = 0) -> Unicode.Scalar? {
            index + offset < scalars.count ? scalars[index + offset] : nil
        }
        while let scalar = peek() {
            switch scalar {
            case "\n":
                line += 1
                index += 1
            case " ", "\t", "\r":
                index += 1
            case "#" where tokens.last?.line != line:
                while let next = peek(), next != "\n" { index += 1 }
            case "/" where peek(1) == "/":
                while let next = peek(), next != "\n" { index += 1 }
            case "/" where peek(1) == "*":
                let start = line
                index += 2
                while true {
                    guard let next = peek() else { throw DOTGraph.SyntaxError(line: start, message: "a /* comment is not closed") }
                    if next == "*", peek(1) == "/" {
                        index += 2
                        break
                    }
                    if next == "\n" { line += 1 }
                    index += 1
                }
            case "{", "}", "[", "]", ";", ",", "=":
                tokens.append(Token(kind: .symbol(String(scalar)), line: line))
                index += 1
            case "-" where peek(1) == ">" || peek(1) == "-":
                tokens.append(Token(kind: .symbol(peek(1) == ">" ? "->" : "--"), line: line))
                index += 2
            case "\"":
                let start = line
                index += 1
                var value = ""
                while true {
                    guard let next = peek() else { throw DOTGraph.SyntaxError(line: start, message: "a quoted string is not closed") }
                    index += 1
                    if next == "\"" { break }
                    if next == "\\", let escaped = peek() {
                        index += 1
                        if escaped == "\"" { value.unicodeScalars.append("\"") } else {
                            value.unicodeScalars.append("\\")
                            value.unicodeScalars.append(escaped)
                        }
                        continue
                    }
                    if next == "\n" { line += 1 }
                    value.unicodeScalars.append(next)
                }
                tokens.append(Token(kind: .id(value), line: start))
            default:
                guard isIDCharacter(scalar) else {
                    throw DOTGraph.SyntaxError(line: line, message: "unexpected character '\(scalar)'")
                }
                var value = ""
                while let next = peek(), isIDCharacter(next) {
                    value.unicodeScalars.append(next)
                    index += 1
                }
                tokens.append(Token(kind: .id(value), line: line))
            }
        }
        return tokens
    }

    static func isIDCharacter(_ scalar: Unicode.Scalar) -> Bool {
        scalar == "_" || scalar == "." || scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || scalar.value > 127
    }
}

private struct Parser {
    let tokens: [Token]
    var position = 0

    init(tokens: [Token]) { self.tokens = tokens }

    var lastLine: Int { tokens.last?.line ?? 1 }

    func peek() -> Token? { position < tokens.count ? tokens[position] : nil }

    mutating func next() -> Token? {
        defer { position += 1 }
        return peek()
    }

    func error(_ message: String, at token: Token? = nil) -> DOTGraph.SyntaxError {
        DOTGraph.SyntaxError(line: (token ?? peek())?.line ?? lastLine, message: message)
    }

    mutating func expect(_ symbol: String) throws(DOTGraph.SyntaxError) {
        guard let token = next(), token.kind == .symbol(symbol) else {
            throw error("expected '\(symbol)'", at: position - 1 < tokens.count ? tokens[position - 1] : nil)
        }
    }

    mutating func id() throws(DOTGraph.SyntaxError) -> String {
        guard let token = next(), case .id(let value) = token.kind else {
            throw error("expected a name", at: position - 1 < tokens.count ? tokens[position - 1] : nil)
        }
        return value
    }

    func isSymbol(_ symbol: String) -> Bool { peek()?.kind == .symbol(symbol) }

    func isKeyword(_ word: String) -> Bool {
        if case .id(let value)? = peek()?.kind { return value.lowercased() == word }
        return false
    }

    mutating func parseGraph(into graph: inout DOTGraph) throws(DOTGraph.SyntaxError) {
        if isKeyword("strict") { position += 1 }
        if isKeyword("digraph") {
            graph.setDirected(true)
        } else if isKeyword("graph") {
            graph.setDirected(false)
        } else {
            throw error("a DOT file starts with 'graph' or 'digraph'")
        }
        position += 1
        if case .id? = peek()?.kind { position += 1 }
        try expect("{")
        while !isSymbol("}") {
            guard peek() != nil else { throw DOTGraph.SyntaxError(line: lastLine, message: "the graph's '{' is not closed") }
            try statement(into: &graph)
            if isSymbol(";") || isSymbol(",") { position += 1 }
        }
        position += 1
        if let extra = peek() { throw error("unexpected text after the graph", at: extra) }
    }

    mutating func statement(into graph: inout DOTGraph) throws(DOTGraph.SyntaxError) {
        if isKeyword("graph") || isKeyword("node") || isKeyword("edge") {
            position += 1
            _ = try attributes()
            return
        }
        if isSymbol("{") || isKeyword("subgraph") {
            throw error("subgraphs are not supported in a topology")
        }
        var chain = [try id()]
        if isSymbol("=") {
            position += 1
            _ = try id()
            return
        }
        let arrow = graph.directed ? "->" : "--"
        while isSymbol("->") || isSymbol("--") {
            guard isSymbol(arrow) else {
                throw error(graph.directed ? "a digraph's edges are written '->'" : "a graph's edges are written '--'")
            }
            position += 1
            chain.append(try id())
        }
        let attributes = isSymbol("[") ? try attributes() : [:]
        if chain.count == 1 {
            graph.addNode(chain[0])
            return
        }
        guard let label = attributes["label"], !label.isEmpty else {
            throw error("the edge \(chain[0]) \(arrow) \(chain[1]) has no label (the DGM name)", at: tokens[position - 1])
        }
        for index in 1..<chain.count { graph.addEdge(chain[index - 1], chain[index], label: label) }
    }

    mutating func attributes() throws(DOTGraph.SyntaxError) -> [String: String] {
        var result: [String: String] = [:]
        while isSymbol("[") {
            position += 1
            while !isSymbol("]") {
                guard peek() != nil else { throw DOTGraph.SyntaxError(line: lastLine, message: "an attribute list's '[' is not closed") }
                let key = try id()
                try expect("=")
                result[key] = try id()
                if isSymbol(",") || isSymbol(";") { position += 1 }
            }
            position += 1
        }
        return result
    }
}
