/// A request, checked: the commands `kumo-kv` serves and their arguments. What does not parse
/// is a `-ERR` reply naming what is wrong, as redis-server words it where it can.
public enum KVCommand: Sendable, Equatable {
    public enum Condition: Sendable, Equatable { case ifAbsent, ifPresent }

    case ping(String?)
    case echo([UInt8])
    case get(String)
    /// SET key value [EX s | PX ms] [NX | XX]: `expiresIn` in milliseconds.
    case set(String, [UInt8], expiresIn: UInt64?, condition: Condition?)
    case del([String])
    case exists([String])
    case incrBy(String, Int64)
    case mget([String])
    case mset([(String, [UInt8])])
    case keys(String)
    case scan(cursor: Int, match: String?, count: Int)
    case dbsize
    case flushall
    case info
    case ttl(String, milliseconds: Bool)
    case quit
    case select(Int)
    /// COMMAND, COMMAND COUNT, COMMAND DOCS …: what redis-cli asks when it starts.
    case command
    /// CONFIG GET param: what redis-benchmark asks when it starts.
    case configGet(String)

    public static func == (lhs: KVCommand, rhs: KVCommand) -> Bool {
        switch (lhs, rhs) {
        case (.mset(let a), .mset(let b)): a.map(\.0) == b.map(\.0) && a.map(\.1) == b.map(\.1)
        default: "\(lhs)" == "\(rhs)"
        }
    }

    /// Parses a request (an array of bulk strings).
    public static func parse(_ request: RESPValue) -> Result<KVCommand, KVCommandError> {
        guard case .array(let items?) = request, !items.isEmpty else { return .failure(.init("empty or malformed request")) }
        var name = ""
        var args: [[UInt8]] = []
        args.reserveCapacity(items.count - 1)
        for (index, item) in items.enumerated() {
            let word: [UInt8]
            switch item {
            case .bulk(let bytes?): word = bytes
            case .simple(let text): word = Array(text.utf8)
            case .integer(let value): word = Array(String(value).utf8)
            default: return .failure(.init("Protocol error: a request is an array of bulk strings"))
            }
            if index == 0 {
                // ASCII lower case, in place: command names are short ASCII words.
                name = String(decoding: word.map { (65...90).contains($0) ? $0 | 0x20 : $0 }, as: UTF8.self)
            } else {
                args.append(word)
            }
        }
        do {
            return .success(try parse(name, args))
        } catch {
            return .failure(error)
        }
    }

    private static func parse(_ name: String, _ args: [[UInt8]]) throws(KVCommandError) -> KVCommand {
        func arity(_ valid: Bool) throws(KVCommandError) {
            if !valid { throw KVCommandError("wrong number of arguments for '\(name)' command") }
        }
        switch name {
        case "ping":
            try arity(args.count <= 1)
            return .ping(args.first.map { String(decoding: $0, as: UTF8.self) })
        case "echo":
            try arity(args.count == 1)
            return .echo(args[0])
        case "get":
            try arity(args.count == 1)
            return .get(try key(args[0]))
        case "set":
            try arity(args.count >= 2)
            var expiresIn: UInt64?
            var condition: Condition?
            var index = 2
            while index < args.count {
                let option = String(decoding: args[index], as: UTF8.self).uppercased()
                switch option {
                case "EX", "PX":
                    guard expiresIn == nil, index + 1 < args.count else { throw KVCommandError("syntax error") }
                    guard let amount = UInt64(String(decoding: args[index + 1], as: UTF8.self)), amount > 0, amount < 1 << 50 else {
                        throw KVCommandError("invalid expire time in 'set' command")
                    }
                    expiresIn = option == "EX" ? amount * 1000 : amount
                    index += 2
                case "NX", "XX":
                    guard condition == nil else { throw KVCommandError("syntax error") }
                    condition = option == "NX" ? .ifAbsent : .ifPresent
                    index += 1
                default:
                    throw KVCommandError("syntax error")
                }
            }
            return .set(try key(args[0]), args[1], expiresIn: expiresIn, condition: condition)
        case "del", "unlink":
            try arity(!args.isEmpty)
            return .del(try args.map(key))
        case "exists":
            try arity(!args.isEmpty)
            return .exists(try args.map(key))
        case "incr", "decr":
            try arity(args.count == 1)
            return .incrBy(try key(args[0]), name == "incr" ? 1 : -1)
        case "incrby", "decrby":
            try arity(args.count == 2)
            guard let amount = Int64(String(decoding: args[1], as: UTF8.self)), amount != .min else {
                throw KVCommandError("value is not an integer or out of range")
            }
            return .incrBy(try key(args[0]), name == "incrby" ? amount : -amount)
        case "mget":
            try arity(!args.isEmpty)
            return .mget(try args.map(key))
        case "mset":
            try arity(!args.isEmpty && args.count % 2 == 0)
            var pairs: [(String, [UInt8])] = []
            for index in stride(from: 0, to: args.count, by: 2) { pairs.append((try key(args[index]), args[index + 1])) }
            return .mset(pairs)
        case "keys":
            try arity(args.count == 1)
            return .keys(String(decoding: args[0], as: UTF8.self))
        case "scan":
            try arity(!args.isEmpty)
            guard let cursor = Int(String(decoding: args[0], as: UTF8.self)), cursor >= 0 else { throw KVCommandError("invalid cursor") }
            var match: String?
            var count = 10
            var index = 1
            while index < args.count {
                let option = String(decoding: args[index], as: UTF8.self).uppercased()
                guard index + 1 < args.count else { throw KVCommandError("syntax error") }
                switch option {
                case "MATCH": match = String(decoding: args[index + 1], as: UTF8.self)
                case "COUNT":
                    guard let value = Int(String(decoding: args[index + 1], as: UTF8.self)), value >= 1 else {
                        throw KVCommandError("value is not an integer or out of range")
                    }
                    count = min(value, 100_000)
                default: throw KVCommandError("syntax error")
                }
                index += 2
            }
            return .scan(cursor: cursor, match: match, count: count)
        case "dbsize":
            try arity(args.isEmpty)
            return .dbsize
        case "flushall", "flushdb":
            try arity(args.count <= 1)
            return .flushall
        case "info":
            return .info
        case "ttl", "pttl":
            try arity(args.count == 1)
            return .ttl(try key(args[0]), milliseconds: name == "pttl")
        case "quit":
            return .quit
        case "select":
            try arity(args.count == 1)
            guard let index = Int(String(decoding: args[0], as: UTF8.self)) else { throw KVCommandError("value is not an integer or out of range") }
            return .select(index)
        case "command":
            return .command
        case "config":
            guard args.count == 2, String(decoding: args[0], as: UTF8.self).lowercased() == "get" else {
                throw KVCommandError("only CONFIG GET is supported")
            }
            return .configGet(String(decoding: args[1], as: UTF8.self))
        default:
            let shown = args.prefix(3).map { "'\(String(decoding: $0.prefix(32), as: UTF8.self))'" }.joined(separator: " ")
            throw KVCommandError("unknown command '\(name)', with args beginning with: \(shown)")
        }
    }

    /// Keys are UTF-8 text here (refused otherwise, rather than changed).
    private static func key(_ bytes: [UInt8]) throws(KVCommandError) -> String {
        guard let text = String(validating: bytes, as: UTF8.self) else { throw KVCommandError("keys must be UTF-8 text") }
        return text
    }
}

extension KVCommand {
    /// The keys a command reads or writes.
    public enum Touch: Sendable, Equatable {
        case none
        case keys([String])
        /// Every key (KEYS, SCAN, DBSIZE, FLUSHALL).
        case all
    }

    public var touches: Touch {
        switch self {
        case .ping, .echo, .info, .quit, .select, .command, .configGet: .none
        case .get(let key), .set(let key, _, _, _), .incrBy(let key, _), .ttl(let key, _): .keys([key])
        case .del(let keys), .exists(let keys), .mget(let keys): .keys(keys)
        case .mset(let pairs): .keys(pairs.map(\.0))
        case .keys, .scan, .dbsize, .flushall: .all
        }
    }

    /// Whether the command changes keys.
    public var isWrite: Bool {
        switch self {
        case .set, .mset, .del, .incrBy, .flushall: true
        default: false
        }
    }

    /// A write whose versions order it (SET without NX/XX, MSET): the later one wins anywhere.
    public var isPlainWrite: Bool {
        switch self {
        case .set(_, _, _, nil), .mset: true
        default: false
        }
    }
}

/// A request that is not a command `kumo-kv` serves: answered `-ERR message`.
public struct KVCommandError: Error, Sendable, Equatable {
    public var message: String
    public init(_ message: String) { self.message = message }
}

/// Redis's glob patterns (KEYS, SCAN MATCH): `*`, `?`, `[abc]`, `[a-z]`, `[^a]`, `\x`.
public func globMatches(_ pattern: String, _ text: String) -> Bool {
    let p = Array(pattern.unicodeScalars)
    let t = Array(text.unicodeScalars)
    // Iterative matching with backtracking to the last star: linear in practice, no recursion.
    var pi = 0, ti = 0
    var star = -1, mark = 0
    while ti < t.count {
        if pi < p.count, p[pi] == "*" {
            star = pi
            mark = ti
            pi += 1
            continue
        }
        if pi < p.count, let width = matchOne(p, pi, t[ti]) {
            pi += width
            ti += 1
            continue
        }
        guard star >= 0 else { return false }
        pi = star + 1
        mark += 1
        ti = mark
    }
    while pi < p.count, p[pi] == "*" { pi += 1 }
    return pi == p.count
}

/// Whether the pattern element at `index` matches `scalar`; the element's width if so.
private func matchOne(_ p: [Unicode.Scalar], _ index: Int, _ scalar: Unicode.Scalar) -> Int? {
    switch p[index] {
    case "?":
        return 1
    case "\\" where index + 1 < p.count:
        return p[index + 1] == scalar ? 2 : nil
    case "[":
        var i = index + 1
        var negate = false
        if i < p.count, p[i] == "^" {
            negate = true
            i += 1
        }
        var matched = false
        var first = true
        while i < p.count, p[i] != "]" || first {
            first = false
            if p[i] == "\\", i + 1 < p.count {
                if p[i + 1] == scalar { matched = true }
                i += 2
            } else if i + 2 < p.count, p[i + 1] == "-", p[i + 2] != "]" {
                if p[i].value <= scalar.value, scalar.value <= p[i + 2].value { matched = true }
                i += 3
            } else {
                if p[i] == scalar { matched = true }
                i += 1
            }
        }
        guard i < p.count else { return p[index] == scalar ? 1 : nil }  // no closing ']': a literal '['
        return matched != negate ? i - index + 1 : nil
    default:
        return p[index] == scalar ? 1 : nil
    }
}
