import Kumo

/// A delta of one key, as it travels: the type's stable name, the encoded delta, and the
/// changes (delta dots) it covers.
struct DeltaItem: Sendable, Codable {
    var key: String
    var type: String
    var bytes: [UInt8]
    var dots: CausalContext
    /// How many nodes hold the key; `nil`: every node.
    var replicas: Int? = nil
}

/// A whole value of one key, as it travels, with every change it covers.
struct StateItem: Sendable, Codable {
    var key: String
    var type: String
    var bytes: [UInt8]
    var applied: CausalContext
    /// How many nodes hold the key; `nil`: every node.
    var replicas: Int? = nil
}

/// Deltas for a peer, from `origin`.
struct DeltaBatch: Sendable, Codable {
    var items: [DeltaItem]
}

/// What a receiver could not apply, by key, with why.
struct Rejections: Sendable, Codable {
    var errors: [ReplicationError]
}

/// One side's digests for anti-entropy: a digest per key, so the other side can tell which keys
/// differ.
struct DigestPage: Sendable, Codable {
    var digests: [String: UInt64]
}

/// The answer to a ``DigestPage``: the answerer's states of the keys that differ or that the
/// asker lacks, and the keys it wants the asker's states of.
struct DigestAnswer: Sendable, Codable {
    var states: [StateItem]
    var wanted: [String]
}
