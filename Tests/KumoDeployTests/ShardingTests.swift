import Testing

@testable import KumoDeploy

@Suite("Shards: the pattern, the map")
struct ShardingTests {
    @Test("the first capture of the pattern is the key; a path it does not match has none")
    func pattern() throws {
        let pattern = try ShardPattern("^/users/([^/?]+)")
        #expect(pattern.key(in: "/users/alice/profile") == "alice")
        #expect(pattern.key(in: "/users/bob") == "bob")
        #expect(pattern.key(in: "/about") == nil)
        #expect(try ShardPattern("^/(a)?b").key(in: "/b") == nil)
    }

    @Test("keys spread over the shards, and shards over the backends")
    func spread() {
        let map = ShardMap(backends: ["10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80"], shardCount: 3)
        var perShard = [0, 0, 0]
        for index in 0..<3000 { perShard[map.shard(of: "user\(index)")] += 1 }
        #expect(perShard.allSatisfy { (800...1200).contains($0) }, "\(perShard)")
        let many = ShardMap(backends: ["a:1", "b:1", "c:1"], shardCount: 300)
        var perBackend: [String: Int] = [:]
        for shard in 0..<300 { perBackend[many.backend(for: shard) ?? "none", default: 0] += 1 }
        #expect(perBackend.count == 3 && perBackend.values.allSatisfy { (70...130).contains($0) }, "\(perBackend)")
    }

    @Test("a backend that dies gives up only its shards; when it returns they come back")
    func rebalance() {
        var map = ShardMap(backends: ["a:1", "b:1", "c:1", "d:1"], shardCount: 64)
        let before = map.assignment
        let changed = map.markDown("b:1")
        let again = map.markDown("b:1")
        #expect(changed && !again)
        let after = map.assignment
        for shard in 0..<64 {
            if before[shard] == "b:1" {
                #expect(after[shard] != "b:1" && after[shard] != nil)
            } else {
                #expect(after[shard] == before[shard], "shard \(shard) moved though its backend lives")
            }
        }
        #expect(map.live == ["a:1", "c:1", "d:1"])
        let back = map.markUp("b:1")
        #expect(back)
        #expect(map.assignment == before)
        for backend in map.backends { map.markDown(backend) }
        #expect(map.backend(for: 0) == nil)
    }
}
