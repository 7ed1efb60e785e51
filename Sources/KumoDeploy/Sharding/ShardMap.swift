import KumoCore

/// Which backend serves each shard: a value, with no I/O.
///
/// A key's shard is its hash modulo the shard count (fixed: a key always belongs to the same
/// shard). A shard's backend is chosen among the live backends by rendezvous hashing: each shard
/// goes to the live backend with the highest score for it, so when a backend dies only its
/// shards move (each to the next in its own order), and when it comes back they return.
public struct ShardMap: Sendable, Equatable {
    /// Every backend, live or not, as `HOST:PORT`, in the order given.
    public let backends: [String]
    /// How many shards.
    public let shardCount: Int
    private(set) var down: Set<String> = []

    /// - Precondition: `shardCount >= 1`.
    public init(backends: [String], shardCount: Int) {
        self.backends = backends
        self.shardCount = max(1, shardCount)
    }

    /// The backends believed up.
    public var live: [String] { backends.filter { !down.contains($0) } }

    /// The shard of `key`, in `0..<shardCount`.
    public func shard(of key: some StringProtocol) -> Int {
        var hash = FNV1a()
        for byte in key.utf8 { hash.add(byte) }
        return Int(Self.mix(hash.value) % UInt64(shardCount))
    }

    /// The live backend that serves `shard`, or `nil` when every backend is down.
    public func backend(for shard: Int) -> String? {
        var best: (score: UInt64, backend: String)?
        for backend in backends where !down.contains(backend) {
            let score = Self.score(shard: shard, backend: backend)
            if best.map({ score > $0.score || (score == $0.score && backend < $0.backend) }) ?? true { best = (score, backend) }
        }
        return best?.backend
    }

    /// Marks `backend` down (a connection or a probe failed); whether that changed anything.
    @discardableResult
    public mutating func markDown(_ backend: String) -> Bool {
        backends.contains(backend) && down.insert(backend).inserted
    }

    /// Marks `backend` up (a probe succeeded); whether that changed anything.
    @discardableResult
    public mutating func markUp(_ backend: String) -> Bool {
        down.remove(backend) != nil
    }

    /// The assignment of every shard, for logs and the front's `/_shards` page.
    public var assignment: [Int: String] {
        var result: [Int: String] = [:]
        for shard in 0..<shardCount { result[shard] = backend(for: shard) }
        return result
    }

    private static func score(shard: Int, backend: String) -> UInt64 {
        var hash = FNV1a()
        hash.add(backend)
        hash.add(UInt8(0))
        hash.add(UInt64(shard))
        return mix(hash.value)
    }

    /// FNV's last bytes reach the high bits weakly: a multiply-xorshift spreads them.
    private static func mix(_ value: UInt64) -> UInt64 {
        var value = value
        value ^= value >> 33
        value &*= 0xff51_afd7_ed55_8ccd
        value ^= value >> 33
        return value
    }
}
