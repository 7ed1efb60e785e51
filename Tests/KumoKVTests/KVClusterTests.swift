import Kumo
import KumoKV
import KumoTestKit
import Testing

/// Three store nodes in this process, with their RESP ports; clients over real sockets.
@Suite("KV across nodes", .timeLimit(.minutes(2)))
struct KVClusterTests {
    struct Node {
        var kv: KVNode
        var server: RESPServer
    }

    /// `downAfter`: short only for the tests that kill a node; on a loaded machine (the whole
    /// suite at once) a starved node can look unreachable for a second.
    func start(_ count: Int, replicas: Int = 2, downAfter: Duration = .seconds(8)) async throws -> (TestCluster, [Node]) {
        let cluster = try await TestCluster.start(nodes: count, downAfter: downAfter)
        try await cluster.waitForConvergence()
        var nodes: [Node] = []
        for system in cluster.nodes {
            let kv = try await KVNode.start(on: system, replicas: replicas, store: try KVStore())
            nodes.append(Node(kv: kv, server: try await RESPServer.start(node: kv, host: "127.0.0.1", port: 0)))
        }
        try await waitUntil("every node places keys over all \(count)") { nodes.allSatisfy { $0.kv.placement.nodes.count == count } }
        return (cluster, nodes)
    }

    func waitUntil(_ what: String, timeout: Duration = .seconds(15), _ condition: () async -> Bool) async throws {
        let clock = ContinuousClock()
        let end = clock.now + timeout
        while clock.now < end {
            if await condition() { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        Issue.record("timed out waiting until \(what)")
    }

    func stop(_ cluster: TestCluster, _ nodes: [Node]) async {
        for node in nodes {
            await node.server.close()
            node.kv.close()
        }
        await cluster.shutdown()
    }

    @Test("every command, from any node; keys sharded over the nodes, each on two of them")
    func commandsAndSharding() async throws {
        let (cluster, nodes) = try await start(3)
        let client = try await RESPClient.connect(port: nodes[0].server.port)
        let other = try await RESPClient.connect(port: nodes[2].server.port)
        #expect(try await client.call("PING") == .simple("PONG"))
        #expect(try await client.call("ECHO", "hi").text == "hi")
        for index in 0..<60 { #expect(try await client.call("SET", "key\(index)", "value\(index)") == .ok) }
        for index in 0..<60 { #expect(try await other.call("GET", "key\(index)").text == "value\(index)") }
        // Each key lives on exactly two nodes, and every node holds some.
        for index in 0..<60 {
            #expect(nodes.filter { $0.kv.store.value("key\(index)") != nil }.count == 2)
        }
        #expect(nodes.allSatisfy { $0.kv.store.count > 0 && $0.kv.store.count < 60 })

        #expect(try await other.call("SET", "n", "10") == .ok)
        #expect(try await client.call("INCR", "n") == .integer(11))
        #expect(try await other.call("INCRBY", "n", "5") == .integer(16))
        #expect(try await client.call("DECR", "n") == .integer(15))
        #expect(try await client.call("INCR", "key1") == .error("ERR value is not an integer or out of range"))
        #expect(try await client.call("SET", "fresh", "1", "NX") == .ok)
        #expect(try await other.call("SET", "fresh", "2", "NX") == .null)
        #expect(try await other.call("SET", "missing", "2", "XX") == .null)
        #expect(try await client.call("SET", "brief", "x", "PX", "150") == .ok)
        if case .integer(let left) = try await client.call("PTTL", "brief") { #expect(left > 0 && left <= 150) }
        try await Task.sleep(for: .milliseconds(250))
        #expect(try await other.call("GET", "brief") == .null)
        #expect(try await client.call("TTL", "key1") == .integer(-1))

        // MSET and MGET across shards (Redis Cluster refuses them with CROSSSLOT).
        #expect(try await client.call("MSET", "m1", "a", "m2", "b", "m3", "c") == .ok)
        let values = try await other.call("MGET", "m1", "m2", "nothing", "m3")
        #expect(values == .array([.bulk("a"), .bulk("b"), .null, .bulk("c")]))
        #expect(try await other.call("EXISTS", "m1", "m2", "nothing") == .integer(2))
        #expect(try await client.call("DEL", "m1", "m2", "nothing") == .integer(2))
        #expect(try await other.call("GET", "m1") == .null)

        #expect(try await client.call("DBSIZE") == .integer(60 + 3))  // key0…59, n, fresh, m3
        if case .array(let keys?) = try await other.call("KEYS", "key1*") { #expect(keys.count == 11) }
        var cursor = "0"
        var scanned: [String] = []
        repeat {
            guard case .array(let reply?) = try await client.call("SCAN", cursor, "MATCH", "key*", "COUNT", "7"),
                case .array(let page?) = reply[1]
            else { break }
            scanned += page.compactMap(\.text)
            cursor = reply[0].text ?? "0"
        } while cursor != "0"
        #expect(Set(scanned).count == 60)

        // Errors are RESP errors; the connection goes on.
        #expect(try await client.call("GET") == .error("ERR wrong number of arguments for 'get' command"))
        #expect(try await client.call("NOSUCH").description.contains("unknown command"))
        #expect(try await client.call("FLUSHALL") == .ok)
        #expect(try await other.call("DBSIZE") == .integer(0))
        #expect(try await client.call("QUIT") == .ok)
        try await waitUntil("the server closed the connection") { client.isClosed }
        await other.close()
        await stop(cluster, nodes)
    }

    @Test("pipelined requests are answered in order, across shards")
    func pipelining() async throws {
        let (cluster, nodes) = try await start(3)
        let client = try await RESPClient.connect(port: nodes[1].server.port)
        let sets = (0..<200).map { ["SET", "p\($0)", "v\($0)"] }
        #expect(try await client.pipeline(sets).allSatisfy { $0 == .ok })
        let gets = (0..<200).map { ["GET", "p\($0)"] }
        #expect(try await client.pipeline(gets).map(\.text) == (0..<200).map { "v\($0)" })
        // Within a pipeline, a read sees the writes before it, as at redis-server, whichever
        // nodes hold the keys.
        var mixed: [[String]] = []
        var expected: [RESPValue] = []
        for index in 0..<40 {
            let key = "mixed\(index)"
            mixed += [["SET", key, "a"], ["GET", key], ["SET", key, "b"], ["SET", key, "c"], ["GET", key],
                      ["INCR", "counter"], ["DEL", key], ["GET", key], ["SET", key, "d", "NX"], ["GET", key]]
            expected += [.ok, .bulk("a"), .ok, .ok, .bulk("c"), .integer(Int64(index + 1)), .integer(1), .null, .ok, .bulk("d")]
        }
        let got = try await client.pipeline(mixed)
        for (index, (reply, want)) in zip(got, expected).enumerated() where reply != want {
            Issue.record("request \(index) \(mixed[index]): \(reply), expected \(want)")
        }
        await client.close()
        await stop(cluster, nodes)
    }

    @Test("a malformed request closes only its connection")
    func malformed() async throws {
        let (cluster, nodes) = try await start(1)
        let bad = try await RESPClient.connect(port: nodes[0].server.port)
        let good = try await RESPClient.connect(port: nodes[0].server.port)
        try await bad.send(raw: Array("*1\r\n$2\r\nPING\r\n".utf8))
        let reply = try await bad.nextReply()
        #expect(reply.description.contains("Protocol error"))
        try await waitUntil("the bad connection closed") { bad.isClosed }
        #expect(try await good.call("PING") == .simple("PONG"))
        await good.close()
        await stop(cluster, nodes)
    }

    @Test("a dead node's keys are re-replicated from the survivors; every acknowledged write stays readable")
    func reReplication() async throws {
        let (cluster, nodes) = try await start(3, downAfter: .seconds(3))
        let client = try await RESPClient.connect(port: nodes[0].server.port)
        for index in 0..<100 { #expect(try await client.call("SET", "r\(index)", "v\(index)") == .ok) }
        await cluster.kill(2)
        try await waitUntil("the survivors place keys over two nodes") {
            nodes[0].kv.placement.nodes.count == 2 && nodes[1].kv.placement.nodes.count == 2
        }
        // Every key is again on both survivors.
        try await waitUntil("every key is on both survivors") {
            (0..<100).allSatisfy { index in nodes[0].kv.store.value("r\(index)") != nil && nodes[1].kv.store.value("r\(index)") != nil }
        }
        let reader = try await RESPClient.connect(port: nodes[1].server.port)
        for index in 0..<100 { #expect(try await reader.call("GET", "r\(index)").text == "v\(index)") }
        #expect(try await client.call("SET", "after", "death") == .ok)
        #expect(try await reader.call("GET", "after").text == "death")
        await client.close()
        await reader.close()
        await stop(cluster, Array(nodes.prefix(2)))
    }
}

extension RESPValue: CustomStringConvertible {
    public var description: String {
        switch self {
        case .simple(let text): "+\(text)"
        case .error(let text): "-\(text)"
        case .integer(let value): ":\(value)"
        case .bulk(nil): "(nil)"
        case .bulk(let bytes?): "\"\(String(decoding: bytes, as: UTF8.self))\""
        case .array(nil): "(nil array)"
        case .array(let values?): "[\(values.map(\.description).joined(separator: ", "))]"
        }
    }
}
