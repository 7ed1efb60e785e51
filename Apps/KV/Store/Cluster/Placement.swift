import Kumo
import KumoCore

/// Which nodes hold a key: rendezvous hashing over the live nodes. Every node ranks the nodes by
/// a hash of the key and the node's address, and the first `replicas` hold it; the first is the
/// key's primary, where reads that change it (INCR, SET NX, DEL) are decided. When a node comes
/// or goes only the keys it ranks first for move, and a node restarted at its address gets its
/// keys back.
public struct Placement: Sendable, Equatable {
    /// The live nodes.
    public let nodes: [NodeID]
    /// How many nodes hold each key.
    public let replicas: Int
    private let weights: [UInt64]

    public init(nodes: [NodeID], replicas: Int) {
        let sorted = nodes.sorted { $0.description < $1.description }
        self.nodes = sorted
        self.replicas = max(1, replicas)
        self.weights = sorted.map { Self.hash($0.address.description) }
    }

    /// The nodes that hold `key`, primary first.
    public func holders(of key: String) -> [NodeID] {
        let keyHash = Self.hash(key)
        let count = min(replicas, nodes.count)
        var result: [NodeID] = []
        result.reserveCapacity(count)
        // The best `count` scores, best first, by repeated scans below the last one taken
        // (`count` is small): no sort, no buffer but the result.
        var ceiling = UInt64.max
        var ceilingIndex = Int.max
        for _ in 0..<count {
            var best: UInt64 = 0
            var bestIndex = -1
            for index in weights.indices {
                let score = Self.score(keyHash, weights[index])
                // Strictly below the last taken, ties broken by index, so each node comes once.
                let below = score < ceiling || (score == ceiling && index > ceilingIndex)
                guard below else { continue }
                if bestIndex < 0 || score > best || (score == best && index < bestIndex) {
                    best = score
                    bestIndex = index
                }
            }
            guard bestIndex >= 0 else { break }
            result.append(nodes[bestIndex])
            ceiling = best
            ceilingIndex = bestIndex
        }
        return result
    }

    /// Whether `node` holds `key`: fewer than `replicas` nodes rank above it (no allocation).
    public func holds(_ node: NodeID, _ key: String) -> Bool {
        guard let mine = nodes.firstIndex(of: node) else { return false }
        let keyHash = Self.hash(key)
        let score = Self.score(keyHash, weights[mine])
        var above = 0
        for index in weights.indices where index != mine && Self.score(keyHash, weights[index]) > score {
            above += 1
            if above >= replicas { return false }
        }
        return true
    }

    /// The key's primary.
    public func primary(of key: String) -> NodeID? { holders(of: key).first }

    static func hash(_ text: String) -> UInt64 {
        var hasher = FNV1a()
        hasher.add(text)
        return hasher.value
    }

    static func score(_ key: UInt64, _ node: UInt64) -> UInt64 {
        // SplitMix64's finaliser over both: a well-mixed, stable score.
        var z = key ^ (node &* 0x9E37_79B9_7F4A_7C15)
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
