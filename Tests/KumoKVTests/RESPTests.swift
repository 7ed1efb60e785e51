import NIOCore
import Testing

@testable import KumoKV

@Suite("RESP parser and writer")
struct RESPTests {
    let parser = RESPParser()

    func parse(_ text: String) throws -> RESPValue? {
        var buffer = ByteBuffer(string: text)
        return try parser.next(&buffer)
    }

    @Test("requests: arrays of bulk strings, and inline commands")
    func requests() throws {
        #expect(try parse("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n") == .array([.bulk("GET"), .bulk("k")]))
        #expect(try parse("PING\r\n") == .array([.bulk("PING")]))
        #expect(try parse("set  a   b\n") == .array([.bulk("set"), .bulk("a"), .bulk("b")]))
        #expect(try parse("*1\r\n$0\r\n\r\n") == .array([.bulk([])]))
        #expect(try parse("*-1\r\n") == .array(nil))
        // Binary-safe bulk strings.
        #expect(try parse("*1\r\n$4\r\na\r\nb\r\n") == .array([.bulk("a\r\nb")]))
    }

    @Test("an incomplete request consumes nothing; the rest completes it")
    func incomplete() throws {
        let whole = "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n"
        for cut in 1..<whole.utf8.count {
            var buffer = ByteBuffer(string: String(whole.utf8.prefix(cut))!)
            #expect(try parser.next(&buffer) == nil)
            #expect(buffer.readableBytes == cut)
            buffer.writeString(String(whole.utf8.dropFirst(cut))!)
            #expect(try parser.next(&buffer) == .array([.bulk("SET"), .bulk("key"), .bulk("value")]))
            #expect(buffer.readableBytes == 0)
        }
    }

    @Test("malformed requests are errors, not crashes")
    func malformed() {
        for bad in ["*2\r\n$3\r\nGET\r\n!x\r\n", "*x\r\n", "*2\r\n$-5\r\n", "*9999999999\r\n", "*1\r\n$3\r\nabcde\r\n",
                    "*1\r\n$99999999999\r\n", String(repeating: "*1\r\n", count: 20)] {
            #expect(throws: RESPError.self, "\(bad.debugDescription)") { _ = try parse(bad) }
        }
        var long = ByteBuffer(string: String(repeating: "x", count: RESPParser.maximumInline + 1))
        #expect(throws: RESPError.self) { _ = try parser.next(&long) }
    }

    @Test("the writer's output parses back to the same value")
    func roundTrip() throws {
        let values: [RESPValue] = [
            .ok, .error("ERR nope"), .integer(-42), .bulk("héllo"), .null, .array([]), .array(nil),
            .array([.bulk("a"), .integer(1), .array([.bulk(nil), .simple("x")])]),
        ]
        for value in values {
            var buffer = ByteBuffer()
            value.write(to: &buffer)
            #expect(try parser.nextReply(&buffer) == value)
            #expect(buffer.readableBytes == 0)
        }
    }

    @Test("random and truncated input: the parser returns, throws or waits; it never crashes or grows without bound")
    func fuzz() {
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("*$:+-\r\n0123456789-abc ".utf8)
        for _ in 0..<3000 {
            let count = Int.random(in: 0...64, using: &generator)
            let bytes = (0..<count).map { _ in
                Bool.random(using: &generator) ? alphabet.randomElement(using: &generator)! : UInt8.random(in: 0...255, using: &generator)
            }
            var buffer = ByteBuffer(bytes: bytes)
            var steps = 0
            while steps < 100, let value = try? parser.next(&buffer) {
                _ = value
                steps += 1
            }
        }
        // Valid pipelines cut at every byte.
        let pipeline = "*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\nECHO hi\r\n"
        for cut in 0...pipeline.utf8.count {
            var buffer = ByteBuffer(string: String(pipeline.utf8.prefix(cut))!)
            var parsed = 0
            while let value = try? parser.next(&buffer) { _ = value; parsed += 1 }
            #expect(parsed <= 3)
        }
    }
}

@Suite("KV commands")
struct KVCommandTests {
    func command(_ words: String...) -> Result<KVCommand, KVCommandError> {
        KVCommand.parse(.array(words.map { .bulk($0) }))
    }

    @Test("every command parses, with its options")
    func commands() {
        #expect(command("PING") == .success(.ping(nil)))
        #expect(command("set", "k", "v", "EX", "10", "NX") == .success(.set("k", Array("v".utf8), expiresIn: 10_000, condition: .ifAbsent)))
        #expect(command("SET", "k", "v", "px", "5", "xx") == .success(.set("k", Array("v".utf8), expiresIn: 5, condition: .ifPresent)))
        #expect(command("INCR", "n") == .success(.incrBy("n", 1)))
        #expect(command("DECRBY", "n", "7") == .success(.incrBy("n", -7)))
        #expect(command("MSET", "a", "1", "b", "2") == .success(.mset([("a", Array("1".utf8)), ("b", Array("2".utf8))])))
        #expect(command("SCAN", "0", "MATCH", "k*", "COUNT", "100") == .success(.scan(cursor: 0, match: "k*", count: 100)))
        #expect(command("DEL", "a", "b") == .success(.del(["a", "b"])))
    }

    @Test("bad arguments are -ERR replies worded as redis-server words them")
    func errors() {
        func message(_ result: Result<KVCommand, KVCommandError>) -> String? {
            if case .failure(let error) = result { return error.message }
            return nil
        }
        #expect(message(command("GET")) == "wrong number of arguments for 'get' command")
        #expect(message(command("SET", "k", "v", "EX", "0")) == "invalid expire time in 'set' command")
        #expect(message(command("SET", "k", "v", "NX", "XX")) == "syntax error")
        #expect(message(command("INCRBY", "k", "x")) == "value is not an integer or out of range")
        #expect(message(command("MSET", "a")) == "wrong number of arguments for 'mset' command")
        #expect(message(command("NOPE", "x"))?.hasPrefix("unknown command 'nope'") == true)
        #expect(message(KVCommand.parse(.array([.bulk("GET"), .bulk([0xFF])]))) == "keys must be UTF-8 text")
    }

    @Test("glob patterns as Redis has them")
    func globs() {
        #expect(globMatches("*", "anything"))
        #expect(globMatches("user:*", "user:42") && !globMatches("user:*", "usr:42"))
        #expect(globMatches("h?llo", "hello") && !globMatches("h?llo", "hllo"))
        #expect(globMatches("h[ae]llo", "hallo") && !globMatches("h[ae]llo", "hillo"))
        #expect(globMatches("h[^e]llo", "hallo") && !globMatches("h[^e]llo", "hello"))
        #expect(globMatches("h[a-c]llo", "hbllo") && !globMatches("h[a-c]llo", "hdllo"))
        #expect(globMatches("a\\*b", "a*b") && !globMatches("a\\*b", "axb"))
        #expect(globMatches("*a*b*c*", "xxaxxbxxcxx") && !globMatches("*a*b*c*", "xxcxxbxxa"))
    }
}

@Suite("RESP fast path for GET and SET")
struct RESPFastPathTests {
    let parser = RESPParser()

    @Test("GET and SET are read straight from the bytes; anything else, or a cut request, is left to the general parser")
    func fastPath() {
        var set = ByteBuffer(string: "*3\r\n$3\r\nset\r\n$3\r\nkey\r\n$5\r\nva\r\nl\r\nrest")
        let read = parser.nextGetOrSet(&set)
        #expect(read?.key == Array("key".utf8) && read?.value == Array("va\r\nl".utf8))
        #expect(set.readableBytes == 4)
        var get = ByteBuffer(string: "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n")
        let got = parser.nextGetOrSet(&get)
        #expect(got?.key == Array("k".utf8) && got?.value == nil && get.readableBytes == 0)
        let whole = "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n"
        for cut in 0..<whole.utf8.count {
            var buffer = ByteBuffer(string: String(whole.utf8.prefix(cut))!)
            #expect(parser.nextGetOrSet(&buffer) == nil)
            #expect(buffer.readableBytes == cut)
        }
        for other in ["*2\r\n$3\r\nDEL\r\n$1\r\nk\r\n", "*3\r\n$3\r\nGET\r\n$1\r\nk\r\n$1\r\nx\r\n", "PING\r\n",
                      "*3\r\n$3\r\nSET\r\n$x\r\nk\r\n$1\r\nv\r\n", "*3\r\n$3\r\nSET\r\n$1\r\nkk\r\n$1\r\nv\r\n"] {
            var buffer = ByteBuffer(string: other)
            #expect(parser.nextGetOrSet(&buffer) == nil, "\(other.debugDescription)")
            #expect(buffer.readableBytes == other.utf8.count)
        }
    }

    @Test("random bytes never crash the fast path, and it consumes only what it returns")
    func random() {
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("*$23\r\nSETGsetg0123456789kv".utf8)
        for _ in 0..<5000 {
            let bytes = (0..<Int.random(in: 0...40, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! }
            var buffer = ByteBuffer(bytes: bytes)
            if parser.nextGetOrSet(&buffer) == nil { #expect(buffer.readableBytes == bytes.count) }
        }
    }
}
