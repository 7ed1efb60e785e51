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
        // The `count` best scores, best first: an insertion into a short list, no sort.
        var best: [(score: UInt64, index: Int)] = []
        best.reserveCapacity(count + 1)
        for index in nodes.indices {
            let score = Self.score(keyHash, weights[index])
            guard best.count < count || score > best[best.count - 1].score else { continue }
            var position = best.count
            while position > 0, best[position - 1].score < score { position -= 1 }
            best.insert((score, index), at: position)
            if best.count > count { best.removeLast() }
        }
        return best.map { nodes[$0.index] }
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
